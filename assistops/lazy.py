"""Names a package re-exports but imports only when first used.

A command pays for the modules it imports (the SDK alone is about half a second), so a
package's public names that live in heavy or rarely needed modules are resolved on first
access through the module's ``__getattr__`` (PEP 562). Keep the same names under
``TYPE_CHECKING`` imports so type checkers see them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` to find ``name``."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
