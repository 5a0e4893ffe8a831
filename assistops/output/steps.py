"""The second visitor of plan steps: it says, phase by phase, what apply will do.

Apply runs each step; this module walks the same steps in the same phases (from the registry
of kinds) and has each step describe itself. A step outside every phase is an error here too,
so a new step cannot be added to a kind without saying where it runs and how it is shown.
"""

from __future__ import annotations

from assistops.engine.plan import PHASES, Plan, Step


def describe_step(step: Step) -> str:
    """One line saying what a step does."""
    return step.describe()


def explain_steps(plan: Plan) -> list[tuple[str, list[str]]]:
    """``(phase, [step descriptions])`` in the order apply runs them, empty phases left out."""
    out: list[tuple[str, list[str]]] = []
    placed = 0
    for phase, types in PHASES:
        lines = [describe_step(s) for s in plan.steps if type(s) in types]
        placed += len(lines)
        if lines:
            out.append((phase.label, lines))
    if placed != len(plan.steps):
        known = {t for _, types in PHASES for t in types}
        unknown = sorted({s.op for s in plan.steps if type(s) not in known})
        raise TypeError(f"plan steps outside every apply phase: {', '.join(unknown)}")
    return out
