"""Start-up of the ``assistops`` command: the cyclic garbage collector while modules import.

A command imports over a thousand modules (the SDK's types alone are hundreds of pydantic
classes) whose objects live until the process ends. Left alone, the collector scans them again
and again while they import, and once more at exit: about a fifth of a no-op ``plan -e local``.
So the CLI holds collections while it starts, and :func:`settled` freezes what the imports made
(``gc.freeze``): later collections, the last one at exit included, skip it. Only the CLI opts
in; a program that uses assistops as a library keeps its collector as it was.
"""

from __future__ import annotations

import gc

_opted_in = False


def hold_collection() -> None:
    """Called by the CLI's entry point: no collections until the command's module is imported."""
    global _opted_in
    _opted_in = True
    gc.disable()


def settled() -> None:
    """A phase of imports is done (the command's module, then the provider's): freeze the
    objects that exist and collect as usual from here. Nothing unless the CLI opted in."""
    if _opted_in:
        gc.freeze()
        gc.enable()
