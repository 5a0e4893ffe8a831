"""Python handlers a test names for a function: ``handler: support/tests/handlers.py:lookup``.

A handler is code of the project, run with the same trust as the project's other code (as
pytest runs a ``conftest.py``), and only by ``assistops test`` and ``assistops chat``: never by
validate, plan or apply. Loading is confined to the project: the path is project-relative,
may not leave it (no ``..``, no absolute path, no symlink out), must be a ``.py`` file, and is
imported from that file alone under a private module name, without touching ``sys.path``. Each
file is imported once per command, before the first API call, so an import error is reported
like any other declaration problem.

A handler takes the call's arguments (a dict) and returns the output: a string as is,
anything else as JSON.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from assistops.config.project import unsafe_pattern
from assistops.errors import ConfigError, Problem

Handler = Callable[[dict[str, Any]], Any]


class Handlers:
    """The handlers of one project, each module imported once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()

    def get(
        self, ref: str, origin: tuple[str, int | None] = ("", None), field: str = ""
    ) -> Handler:
        """The function ``ref`` (``path.py:function``) names; ConfigError when it cannot be
        loaded, located at ``origin`` (the file and line that name it)."""
        path, _, name = ref.rpartition(":")
        file, line = origin

        def fail(message: str, hint: str = "") -> ConfigError:
            return ConfigError([Problem(file, line, field, message, hint)])

        why = unsafe_pattern(path)
        if why or not path.endswith(".py"):
            raise fail(
                why or f"a handler is a .py file, not '{path}'", "name a file of the project"
            )
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            raise fail(f"'{path}' is a symlink to a file outside the project")
        if not target.is_file():
            raise fail(
                f"handler file '{path}' does not exist", "paths are relative to the project root"
            )
        module = self._module(path, target, fail)
        function = getattr(module, name, None)
        if not callable(function):
            defined = sorted(
                n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
            )
            raise fail(
                f"'{path}' has no function '{name}'",
                f"it defines: {', '.join(defined) or 'nothing callable'}",
            )
        handler: Handler = function
        return handler

    def _module(self, path: str, target: Path, fail: Callable[..., ConfigError]) -> ModuleType:
        with self._lock:
            if path in self._modules:
                return self._modules[path]
            # a private name: never shadows a real module, and two projects never collide
            name = "assistops_handlers_" + hashlib.sha256(str(target).encode()).hexdigest()[:16]
            spec = importlib.util.spec_from_file_location(name, target)
            if spec is None or spec.loader is None:
                raise fail(f"'{path}' cannot be imported")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pickling look their module up
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise fail(
                    f"importing '{path}' failed: {type(exc).__name__}: {exc}",
                    "run the file with python to see the traceback",
                ) from None
            self._modules[path] = module
            return module


def as_output(value: Any) -> str:
    """A function's output as the protocol carries it: a string as is, else JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
