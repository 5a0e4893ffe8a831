"""One object that knows how to print: rich for people, plain for pipes.

Colour follows one rule everywhere, prompts included (:func:`use_color`).
"""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console

from assistops.cli.options import current


def use_color(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never with ``--no-color``, ``NO_COLOR`` or ``TERM=dumb``."""
    stream = stream if stream is not None else sys.stdout
    if current().no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def can_redraw(stream: IO[str] | None = None) -> bool:
    """Whether a live display (a progress bar redrawn in place) may run on ``stream``."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def make_console(stream: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that drops colour by :func:`use_color`'s rule."""
    target = stream if stream is not None else (sys.stderr if stderr else sys.stdout)
    color = use_color(target)
    return Console(
        file=target,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        no_color=not color,
        color_system="auto" if color else None,
    )
