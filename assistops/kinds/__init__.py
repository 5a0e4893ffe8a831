"""Resource kinds, one module each, and the registry that drives the engine and the output.

``KINDS`` lists every kind in dependency order: a kind may refer to the kinds before it, is
discovered and planned after them, and its deletions are swept before theirs. Phases, step
types, the JSON step fields and the order resources are shown in all come from here; no other
module lists kinds or steps. Adding a kind is one module plus one entry below (see
``ARCHITECTURE.md``).
"""

from __future__ import annotations

from typing import Any

from assistops.kinds import agent, assistant, file, release, vector_store
from assistops.kinds.base import Kind, Phase, StepBase

KINDS: tuple[Kind[Any, Any], ...] = (
    file.KIND,
    vector_store.KIND,
    assistant.KIND,
    agent.KIND,
    release.KIND,
)


def kinds_for(api: str) -> tuple[Kind[Any, Any], ...]:
    """The kinds an environment of ``api`` holds, in registry order."""
    return tuple(kind for kind in KINDS if api in kind.apis)


def kind_named(name: str) -> Kind[Any, Any]:
    """The kind called ``name``; KeyError for an unknown one."""
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise KeyError(name)


def step_types() -> tuple[type[StepBase], ...]:
    """Every step type of every kind."""
    return tuple(step for kind in KINDS for step in kind.steps)


def phases() -> list[tuple[Phase, tuple[type[StepBase], ...]]]:
    """Apply's phases in the order they run, each with its step types."""
    by_phase: dict[Phase, list[type[StepBase]]] = {}
    for step in step_types():
        by_phase.setdefault(step.phase, []).append(step)
    return [(phase, tuple(by_phase[phase])) for phase in sorted(by_phase)]


def display_rank(kind_name: str) -> int:
    """Where resources of a kind are shown in a plan."""
    return kind_named(kind_name).display_rank


__all__ = [
    "KINDS",
    "Kind",
    "Phase",
    "StepBase",
    "display_rank",
    "kind_named",
    "kinds_for",
    "phases",
    "step_types",
]
