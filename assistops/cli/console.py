"""One object that knows how to print: rich for people, plain for pipes."""

from __future__ import annotations

import sys
from typing import IO

from rich.console import Console


def make_console(stream: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that drops colour when not on a terminal."""
    target = stream if stream is not None else (sys.stderr if stderr else sys.stdout)
    return Console(file=target, highlight=False, soft_wrap=True, emoji=False)
