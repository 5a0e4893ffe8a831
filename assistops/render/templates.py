"""Sandboxed Jinja2 rendering of instructions, confined to the project.

- ``SandboxedEnvironment`` refuses access to unsafe attributes (``__class__``, ``__globals__``...).
- ``StrictUndefined``: a misspelt variable is an error naming the variable, never empty text.
- The loader only serves files inside the project: no ``..``, no absolute names, and a symlink
  whose target leaves the project is refused (Jinja's FileSystemLoader would follow it).
- Output is capped so a runaway loop cannot build gigabytes of instructions.
"""

from __future__ import annotations

import difflib
import re
import sys
import traceback
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from assistops.config.project import unsafe_pattern
from assistops.errors import Problem
from assistops.limits import INSTRUCTIONS_MAX

# generous bound: the provider refuses more than INSTRUCTIONS_MAX characters anyway
OUTPUT_MAX = INSTRUCTIONS_MAX * 4
RANGE_MAX = 100_000
POWER_BITS_MAX = 4096


class ProjectLoader(BaseLoader):
    """Loads templates by project-relative POSIX name, refusing anything outside the project.

    A name that is not found from the project root is looked up in the partials folder, so
    ``{% include "tone.md.j2" %}`` finds ``partials/tone.md.j2``.
    """

    def __init__(self, root: Path, partials: str | None = None) -> None:
        self.root = root.resolve()
        self.folders = [""]
        if partials and not unsafe_pattern(partials):
            self.folders.append(partials.strip("/"))

    def resolve(self, name: str) -> tuple[Path, str]:
        """The file behind a template name and its project-relative path.

        Raises TemplateNotFound if the name is unsafe or names no file.
        """
        why = unsafe_pattern(name)
        if why:
            raise TemplateNotFound(f"{name} ({why})")
        for folder in self.folders:
            rel = f"{folder}/{name}" if folder else name
            path = (self.root / rel).resolve()
            if not path.is_relative_to(self.root):
                raise TemplateNotFound(f"{rel} (it resolves outside the project through a symlink)")
            if path.is_file():
                return path, rel
        raise TemplateNotFound(name)

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        path, rel = self.resolve(template)
        mtime = path.stat().st_mtime
        source = path.read_text(encoding="utf-8")
        return source, rel, lambda: path.stat().st_mtime == mtime


class TooLarge(SecurityError):
    """A template built (or was about to build) a value beyond the bounds below."""


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > RANGE_MAX:
        raise TooLarge(f"range of {len(r)} items is too long (at most {RANGE_MAX})")
    return r


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus bounds on the operators that build huge values in one step.

    ``'x' * 10**15`` or ``10 ** 10 ** 10`` would exhaust memory or CPU before any output
    reaches the length check in :func:`render`.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > OUTPUT_MAX
                ):
                    raise TooLarge(f"repetition is longer than {OUTPUT_MAX:,} items")
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() * right > POWER_BITS_MAX
        ):
            raise TooLarge(f"{left} ** {right} is too large")
        return super().call_binop(context, operator, left, right)


def make_environment(root: Path, partials: str | None = None) -> SandboxedEnvironment:
    """The Jinja environment used for every template of a project."""
    env = _Sandbox(
        loader=ProjectLoader(root, partials),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["range"] = _safe_range
    return env


def render(
    env: SandboxedEnvironment,
    *,
    template: str | None,
    inline: str | None,
    context: Mapping[str, Any],
    origin: tuple[str, int | None],
    field: str,
) -> tuple[str | None, list[Problem]]:
    """Render a template file (``template``) or inline text; return (text, problems)."""
    try:
        tpl = env.get_template(template) if template else env.from_string(inline or "")
        chunks: list[str] = []
        size = 0
        output = cast(Generator[str, None, None], tpl.generate(**context))
        for chunk in output:
            size += len(chunk)
            if size > OUTPUT_MAX:
                # raised inside the template, so the traceback names the line that was looping
                output.throw(TooLarge(f"output is longer than {OUTPUT_MAX:,} characters"))
            chunks.append(chunk)
        return "".join(chunks), []
    except TemplateNotFound as exc:
        name = exc.name if isinstance(exc.name, str) else str(exc)
        inner = _frame(exc.__traceback__, origin)
        if inner is None:
            # the declared template itself is missing (or unsafe): point at the declaration
            inner, field = origin, f"{field}.template" if template else field
        file, line = inner
        return None, [
            Problem(file, line, field, f"template not found: {name}", _not_found_hint(template))
        ]
    except TemplateSyntaxError as exc:
        file = exc.name or template or origin[0]
        line = exc.lineno if (exc.name or template) else _offset(origin, exc.lineno)
        return None, [
            Problem(
                file,
                line,
                field,
                f"template syntax error: {exc.message}",
                "check the Jinja2 tags near this line ({% %} blocks must be closed)",
            )
        ]
    except UndefinedError as exc:
        file, line = _where(sys.exc_info()[2], template, origin)
        hint = (
            "define it under 'variables' (project, environment or assistant), "
            "or guard it with {% if x is defined %}"
        )
        missing = re.fullmatch(r"'([^']+)' is undefined", exc.message or "")
        if missing:
            known = [str(k) for k in context if not str(k).startswith("_")]
            close = difflib.get_close_matches(missing.group(1), known, n=1, cutoff=0.6)
            if close:
                hint = f"did you mean '{close[0]}'? Otherwise {hint}"
        return None, [
            Problem(file, line, field, f"undefined template variable: {exc.message}", hint)
        ]
    except SecurityError as exc:
        file, line = _where(sys.exc_info()[2], template, origin)
        hint = (
            "check loops and repetitions: instructions are limited to "
            f"{INSTRUCTIONS_MAX:,} characters"
            if isinstance(exc, TooLarge)
            else "templates may only use variables and filters, not Python internals; remove it"
        )
        return None, [Problem(file, line, field, f"refused by the template sandbox: {exc}", hint)]
    except TemplateError as exc:
        file, line = _where(sys.exc_info()[2], template, origin)
        return None, [Problem(file, line, field, f"template error: {exc}", "fix the template")]
    except RecursionError:
        file, line = _where(sys.exc_info()[2], template, origin)
        return None, [
            Problem(
                file,
                line,
                field,
                "template failed: it recurses without end",
                "a macro or include calls itself; give the recursion a stopping case",
            )
        ]
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # raised by Python methods a template may call ([].pop(), "x".index("y"), ...)
        file, line = _where(sys.exc_info()[2], template, origin)
        return None, [
            Problem(
                file,
                line,
                field,
                f"template failed: {type(exc).__name__}: {exc}",
                "check the values used on this line",
            )
        ]


def _not_found_hint(template: str | None) -> str:
    return "template names are paths relative to the project root, inside the project"


def _offset(origin: tuple[str, int | None], line: int | None) -> int | None:
    # inline templates start on the line after "instructions: |"
    if origin[1] is None or line is None:
        return origin[1]
    return origin[1] + line


def _where(
    tb: TracebackType | None, template: str | None, origin: tuple[str, int | None]
) -> tuple[str, int | None]:
    """The innermost template frame of a traceback: (file, line)."""
    found = _frame(tb, origin)
    if found is not None:
        return found
    return (template, None) if template else origin


def _frame(
    tb: TracebackType | None, origin: tuple[str, int | None]
) -> tuple[str, int | None] | None:
    """(file, line) of the innermost template frame, or None when no template ran."""
    found: tuple[str, int | None] | None = None
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename == "<template>":
            found = (origin[0], _offset(origin, lineno))
        elif "__jinja_exception__" in frame.f_globals and filename:
            found = (filename, lineno)
    return found
