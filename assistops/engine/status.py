"""What runs in an environment: each managed resource with its provider id, the revision and
digest its last apply recorded, when that was, and whether it still matches.

It joins two readings of the same live state: the plan (does each resource match the
declarations, has it drifted) and each kind's :meth:`~assistops.kinds.base.Kind.running`
records (what the objects' tags say about the apply that wrote them). Every kind the
environment's API holds is read through the registry, so agents and releases are covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistops import kinds
from assistops.engine.history import Position, position
from assistops.engine.plan import Plan
from assistops.kinds.base import LiveState, Running


@dataclass(frozen=True)
class ResourceStatus:
    """One resource as status shows it."""

    address: str
    kind: str
    id: str | None
    action: str  # what apply would do now: the plan's action
    drift: bool
    duplicate: bool
    revision: str | None
    digest: str | None
    applied_at: int | None


@dataclass(frozen=True)
class EnvironmentStatus:
    """An environment's resources and the revision it runs.

    ``revision`` is the revision of its last apply: the one recorded by the most recently
    written resource (apply writes only what changes, so older resources may record older
    revisions that render the same). ``position`` says where it stands against HEAD.
    """

    plan: Plan
    resources: list[ResourceStatus]
    revision: str | None
    revisions: list[str]
    position: Position | None
    last_applied: int | None

    @property
    def in_sync(self) -> bool:
        """The working tree's declarations match what runs (an empty plan)."""
        return not self.plan.has_changes

    @property
    def drifted(self) -> list[ResourceStatus]:
        """Resources changed outside assistops since their last apply."""
        return [r for r in self.resources if r.drift]


def running_of(live: LiveState) -> list[Running]:
    """Every kind's records of what runs, in registry order."""
    return [record for kind in kinds.kinds_for(live.api) for record in kind.running(live)]


def environment_status(plan: Plan, running: list[Running], root: Path) -> EnvironmentStatus:
    """Join the plan of an environment with the records of what runs there."""
    by_id = {r.id: r for r in running}
    by_address: dict[str, Running] = {}
    for each in running:
        by_address.setdefault(each.address, each)
    rows: list[ResourceStatus] = []
    for rc in plan.resources:
        record: Running | None = by_id.get(rc.id) if rc.id else None
        if record is None and rc.id:
            record = by_address.get(rc.address)
        rows.append(
            ResourceStatus(
                address=rc.address,
                kind=rc.kind,
                id=rc.id,
                action=rc.action,
                drift=rc.drift,
                duplicate=rc.duplicate,
                revision=record.revision if record else None,
                digest=record.digest if record else None,
                applied_at=record.applied_at if record else None,
            )
        )
    recorded = [r for r in running if r.revision is not None]
    latest = max(recorded, key=lambda r: r.applied_at or 0, default=None)
    revision = latest.revision if latest else None
    return EnvironmentStatus(
        plan=plan,
        resources=rows,
        revision=revision,
        revisions=sorted({r.revision for r in recorded if r.revision}),
        position=position(root, revision) if revision else None,
        last_applied=max((r.applied_at or 0 for r in running), default=None) or None,
    )


@dataclass(frozen=True)
class Unreadable:
    """An environment status could not read (no key, unreachable, invalid for it)."""

    environment: str
    provider: str
    message: str


@dataclass(frozen=True)
class ProjectStatus:
    """``status --all-envs``: every environment side by side, against HEAD."""

    project: str
    head: str  # the working tree's revision, as apply would record it
    environments: list[EnvironmentStatus | Unreadable] = field(default_factory=list)
