"""Start-up of the ``assistops`` command: the cyclic garbage collector while modules import.

A command imports over a thousand modules (the SDK's types alone are hundreds of pydantic
classes) whose objects live until the process ends. Left alone, the collector scans them again
and again while they import, and once more at exit: about a fifth of a no-op ``plan -e local``.
So the CLI holds collections while it starts, and :func:`settled` freezes what the imports made
(``gc.freeze``): later collections, the last one at exit included, skip it. A command that
opens a provider holds on until the provider is open (the SDK is the largest import); every
other command collects from the moment its module is loaded, ``serve`` included. Only the CLI
opts in; a program that uses assistops as a library keeps its collector as it was.
"""

from __future__ import annotations

import gc

_opted_in = False


def hold_collection() -> None:
    """Called by the CLI's entry point: no collections until the command's module is imported."""
    global _opted_in
    _opted_in = True
    gc.disable()


def settled(*, more_to_come: bool = False) -> None:
    """A phase of imports is done (the command's module, then the provider's): freeze the
    objects that exist and collect as usual from here, or, with ``more_to_come`` (a command
    that opens a provider, which imports the SDK and calls this again), keep holding.
    Nothing unless the CLI opted in."""
    if _opted_in:
        gc.freeze()
        if not more_to_come:
            gc.enable()
