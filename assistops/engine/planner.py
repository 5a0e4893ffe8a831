"""diff -> plan: every kind compares its desired specs with its live objects; steps are ordered.

The planner is a pure function of desired and live state. It hands each resource kind, in
registry order, one :class:`~assistops.kinds.base.PlanContext` (the compare function, and the
ids and references the kinds share), then lets each kind sweep what nothing uses any more, in
reverse order. Rules that make apply safe and convergent, kept by the kinds:

- only objects tagged for this project and environment are considered (see ``engine.live``);
- when two live objects claim one address, one is kept (the one in use, else the one holding
  the declared content, else the one whose recorded digest matches, else the oldest:
  ``kinds.tags.pick_keeper``) and the others are deleted as duplicates;
- uploads are content-addressed: a sha256 already uploaded is never uploaded again;
- a store's new files are attached and indexed before replaced ones are detached, and old
  stores and files are deleted only after nothing points at them;
- ids known at plan time are written into the step bodies; what apply creates is referenced as
  ``${vector_store.<name>}`` or ``${sha:<sha256>}`` and resolved when it exists.
"""

from __future__ import annotations

from assistops import kinds
from assistops.engine.diff import compare
from assistops.engine.plan import Plan, run_order
from assistops.kinds.base import LiveState, PlanContext
from assistops.kinds.spec import DesiredState


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    provider: str,
    endpoint: str = "",
    targets: list[str] | None = None,
) -> Plan:
    """Compare desired and live state and derive the steps, in the order apply runs them."""
    ctx = PlanContext(desired, live, compare)
    active = kinds.kinds_for(desired.api)
    for kind in active:
        kind.plan(ctx)
    for kind in reversed(active):
        kind.sweep(ctx)
    resources, steps = ctx.changes, ctx.steps
    if targets:
        keep = closure(desired, targets)
        resources = [r for r in resources if r.address in keep]
        steps = [s for s in steps if s.addresses() & keep]
    resources = sorted(resources, key=lambda r: (kinds.display_rank(r.kind), r.address))
    return Plan(
        project=desired.project,
        environment=desired.environment,
        provider=provider,
        endpoint=endpoint,
        api=desired.api,
        revision=desired.revision,
        config_digest=desired.config_digest(),
        resources=resources,
        steps=run_order(steps),
        fingerprints=dict(live.fingerprints),
    )


def closure(desired: DesiredState, targets: list[str]) -> set[str]:
    """The targeted addresses and everything they depend on, directly or not (a release needs
    a store, which needs its files)."""
    out: set[str] = set()
    pending = list(targets)
    while pending:
        address = pending.pop()
        if address in out:
            continue
        out.add(address)
        spec = desired.resources.get(address)
        if spec is not None:
            pending.extend(kinds.kind_named(spec.kind).depends_on(spec, desired))
    return out
