"""The contract between a resource kind and the engine.

A kind is one module (``kinds/<kind>.py``) that owns everything about one kind of resource:
its spec, how a live object becomes that same spec (``from_live``), its request bodies, its
plan steps, how apply runs each step and how each is described. It exposes one
:class:`Kind` object, listed in the registry (``kinds/__init__.py``).

The engine drives kinds and hands them what they need; kinds never import the engine:

    discover   Reader            -> the kind's part of LiveState      (engine.live)
    plan       PlanContext       -> ResourceChanges and steps         (engine.planner)
    sweep      PlanContext       -> deletions once every kind planned
    running    LiveState         -> what runs: id, revision, digest, when applied (status,
                                    promote)
    run        a step + ApplyContext -> provider calls               (engine.apply)
    describe   a step            -> one line for people               (output)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypedDict, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from assistops.kinds.changes import (
    DUPLICATE_REASON,
    ORPHAN_REASON,
    FieldChange,
    ResourceChange,
    deletion,
)
from assistops.kinds.spec import DesiredState, Projection, Spec, digest_of
from assistops.kinds.tags import applied_at, owner_of, recorded_revision
from assistops.providers.base import AsyncWriter, Json, Reader

S = TypeVar("S", bound=Spec)
L = TypeVar("L")


class Phase(NamedTuple):
    """A phase of apply: steps of one phase are independent and run concurrently.

    Phases are ranked: creates and updates in dependency order, deletions in reverse. A step
    of a creating phase starts as soon as the steps of lower rank it depends on are done
    (:meth:`StepBase.needs`, :meth:`StepBase.provides`); a ``removes`` phase (detach, retire,
    delete) starts once everything before it is done, so nothing is removed before what
    replaces it is in place.
    """

    rank: int
    label: str
    removes: bool = False


# -- steps --------------------------------------------------------------------------------------


class ApplyContext(Protocol):
    """What apply gives a step while it runs: its writes are coroutines on the provider's
    loop, where every step runs (``engine/apply.py``), so a step never blocks (it sleeps with
    ``asyncio.sleep`` and reads a large file on a thread)."""

    writer: AsyncWriter
    root: Path
    index_timeout: float
    poll_min: float
    poll_max: float

    def resolve(self, value: Any) -> Any:
        """Replace ``${...}`` references (anywhere in ``value``) by the ids apply created."""

    def record(self, key: str, object_id: str) -> None:
        """Remember what a step created, for the references of later steps."""

    def progress(self, address: str, done: int, total: int) -> None:
        """Report progress of a long step (indexing)."""


class StepBase(BaseModel):
    """A small operation of a plan: data that apply runs and the output describes.

    Each subclass sets ``op`` (a Literal: the JSON discriminator), its ``phase``, and
    implements :meth:`run` and :meth:`describe`. Every field besides ``op`` and ``address`` is
    part of the JSON plan format (``docs/plan-format.md``).
    """

    model_config = ConfigDict(frozen=True)

    op: str
    address: str
    phase: ClassVar[Phase]

    async def run(self, ctx: ApplyContext) -> None:
        """Carry the step out (a coroutine on the provider's loop: it must not block)."""
        raise NotImplementedError(f"step {self.op} cannot run")

    def describe(self) -> str:
        """One line saying what the step does."""
        raise NotImplementedError(f"step {self.op} has no description")

    def addresses(self) -> set[str]:
        """Every address the step is part of (``--target`` keeps it when one is targeted)."""
        return {self.address}

    def provides(self) -> set[str]:
        """What a step of a later phase may wait for: the key it records for references (its
        address, ``sha:<sha256>``) and the ids of the live objects it changes."""
        return {self.address}

    def needs(self) -> set[str]:
        """What it points at: every ``${key}`` reference in its fields as ``key``, and every
        other string value (an id, among others); apply runs it after the steps of lower rank
        that provide any of them."""
        out: set[str] = set()
        for name in type(self).model_fields:
            if name not in ("op", "address"):
                _strings(getattr(self, name), out)
        return out

    @classmethod
    def json_fields(cls) -> tuple[str, ...]:
        """The fields the JSON plan format carries, besides ``op`` and ``address``."""
        return tuple(name for name in cls.model_fields if name not in ("op", "address"))


def _strings(value: Any, out: set[str]) -> None:
    """Every string in ``value`` into ``out``, a ``${key}`` reference as ``key``."""
    if isinstance(value, str):
        out.add(value[2:-1] if value.startswith("${") and value.endswith("}") else value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, out)


class CreateStep(StepBase):
    """A step that creates an object from a request body (``run`` sends it)."""

    body: dict[str, Any]

    def describe(self) -> str:
        """``create <address>``."""
        return f"create {self.address}"


class UpdateStep(StepBase):
    """A step that updates a live object in place (it keeps its id)."""

    id: str
    body: dict[str, Any]

    def provides(self) -> set[str]:
        """Its address and the id of the object it updates."""
        return {self.address, self.id}

    def describe(self) -> str:
        """``update <address> (<id>) in place``."""
        return f"update {self.address} ({self.id}) in place"


class DeleteStep(StepBase):
    """A step that deletes a live object we own."""

    id: str

    def describe(self) -> str:
        """``delete <address> (<id>)``."""
        return f"delete {self.address} ({self.id})"


def ref(address: str) -> str:
    """The placeholder for something apply creates: ``${address}``."""
    return "${" + address + "}"


# -- live state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose objects discovery looks for."""

    project: str
    environment: str


@dataclass
class LiveState:
    """What the provider holds for one project and environment, one part per kind."""

    project: str
    environment: str
    api: str = "assistants"
    parts: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    # content already on the provider under another name (adopted by import): sha256 -> file id
    adopted: dict[str, str] = field(default_factory=dict)
    # ids that live objects point at: a store's files, an assistant's code files and stores,
    # the current release's files and stores (what is in use is kept of duplicates)
    references: set[str] = field(default_factory=set)

    def part(self, kind: Kind[Any, L]) -> L:
        """The part of one kind (what its ``discover`` returned)."""
        return cast(L, self.parts[kind.name])


def fingerprint(raw: Json, volatile: frozenset[str]) -> str:
    """A digest of what matters in a live object (``volatile`` counters left out): a saved
    plan is refused when one of these changed."""
    return digest_of({k: v for k, v in raw.items() if k not in volatile})


def tagged(
    listed: list[Json], live: LiveState, kind: str, volatile: frozenset[str] = frozenset()
) -> dict[str, list[Json]]:
    """Of the listed objects, those tagged for this project and environment as
    ``<kind>.<name>``, by address; each is fingerprinted for saved plans."""
    out: dict[str, list[Json]] = defaultdict(list)
    for raw in listed:
        address = owner_of(raw, live.project, live.environment, f"{kind}.")
        if address is not None:
            out[address].append(raw)
            live.fingerprints[f"{kind}:{raw['id']}"] = fingerprint(raw, volatile)
    return out


def sorted_by_age(objects: list[Json]) -> list[Json]:
    """Oldest first, ties by id: the order used to pick which duplicate to keep."""
    return sorted(objects, key=lambda o: (o.get("created_at") or 0, str(o.get("id"))))


@dataclass(frozen=True)
class Running:
    """What runs at one address: the live object, and what the apply that wrote it recorded.

    ``revision`` and ``digest`` are None where nothing was recorded (an object tagged by hand);
    an upload has no revision (its content is its identity: ``digest`` is its sha256 prefix).
    ``applied_at`` is when apply wrote it (unix seconds): the stamp of its tag, else when the
    service created it.
    """

    address: str
    kind: str
    id: str
    revision: str | None
    digest: str | None
    applied_at: int | None


def running_tagged(kind: str, objects: dict[str, list[Json]]) -> list[Running]:
    """The :class:`Running` record of each tagged object of a kind (assistants, agents,
    stores), duplicates included, from its ``assistops_rev`` tag."""
    out: list[Running] = []
    for address, objs in objects.items():
        for raw in sorted_by_age(objs):
            recorded = recorded_revision(raw)
            when = applied_at(raw)
            if when is None:
                when = raw.get("updated_at") or raw.get("created_at")
            out.append(
                Running(
                    address=address,
                    kind=kind,
                    id=str(raw["id"]),
                    revision=recorded[1] if recorded else None,
                    digest=recorded[0] if recorded else None,
                    applied_at=int(when) if when else None,
                )
            )
    return out


# -- planning -----------------------------------------------------------------------------------

Compare = Callable[[Projection, Projection], list[FieldChange]]


class Where(TypedDict):
    """Where request bodies are sent: ``**where`` for the kinds' body builders."""

    project: str
    environment: str
    revision: str


@dataclass
class PlanContext:
    """What the planner shares with every kind while it builds one plan."""

    desired: DesiredState
    live: LiveState
    compare: Compare
    changes: list[ResourceChange] = field(default_factory=list)
    steps: list[StepBase] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # address -> id of the live object kept
    addresses: dict[str, str] = field(default_factory=dict)  # kept live id -> address
    new: set[str] = field(default_factory=set)  # addresses apply creates (or replaces)
    uploads: dict[str, str] = field(default_factory=dict)  # sha256 -> live upload serving it
    used: set[str] = field(default_factory=set)  # upload ids that stay referenced
    superseded: dict[str, str] = field(default_factory=dict)  # live id -> address replacing it
    retired: dict[str, str] = field(default_factory=dict)  # replaced or duplicate id -> address
    _specs: dict[type[Spec], dict[str, Any]] = field(default_factory=dict)

    def specs(self, spec_type: type[S]) -> dict[str, S]:
        """The desired specs of one type by address (computed once per plan)."""
        found = self._specs.get(spec_type)
        if found is None:
            found = {a: s for a, s in self.desired.resources.items() if isinstance(s, spec_type)}
            self._specs[spec_type] = found
        return cast(dict[str, S], found)

    def keep(self, address: str, object_id: str) -> None:
        """Record the live object that serves ``address`` from now on."""
        self.ids[address] = object_id
        self.addresses[object_id] = address

    def ref(self, address: str) -> str:
        """The id of a kept object, or the placeholder of one apply creates."""
        if address in self.new or address not in self.ids:
            return ref(address)
        return self.ids[address]

    def project_context(self) -> Where:
        """``project``, ``environment`` and ``revision``: where the bodies are sent."""
        return Where(
            project=self.desired.project,
            environment=self.desired.environment,
            revision=self.desired.revision,
        )


def plan_declared_then_orphans(
    ctx: PlanContext,
    specs: dict[str, S],
    live: dict[str, list[Json]],
    plan_one: Callable[[S, list[Json]], None],
    delete: Callable[[str, Json], None],
) -> None:
    """The planning loop of a kind of tagged objects: each declared spec with the live objects
    tagged with its address (oldest first), then every tagged object no longer declared."""
    for spec in specs.values():
        plan_one(spec, sorted_by_age(live.get(spec.address, [])))
    for address, objs in live.items():
        if address not in ctx.desired.resources:
            for raw in objs:
                delete(address, raw)


def retire(
    ctx: PlanContext,
    step: StepBase,
    kind: str,
    raw: Json,
    *,
    duplicate: bool,
    before: dict[str, Any],
) -> None:
    """Plan the deletion of a duplicate or an orphan: the step, and the change explaining it."""
    ctx.steps.append(step)
    ctx.changes.append(
        deletion(
            step.address,
            kind,
            raw["id"],
            duplicate=duplicate,
            before=before,
            reason=DUPLICATE_REASON if duplicate else ORPHAN_REASON,
        )
    )


# -- the kind -----------------------------------------------------------------------------------


class Kind(ABC, Generic[S, L]):
    """One resource kind. Subclasses set the class attributes and implement the hooks."""

    #: The kind's name: the first part of its addresses, ``ResourceChange.kind`` in plans.
    name: ClassVar[str]
    #: The spec type render produces for this kind.
    spec_type: ClassVar[type[Spec]]
    #: Every step type the kind's planner emits.
    steps: ClassVar[tuple[type[StepBase], ...]]
    #: Where the kind's resources appear in a plan shown to people (lower first).
    display_rank: ClassVar[int]
    #: The environment APIs (``assistants``, ``agents``, ``responses``) whose environments hold
    #: this kind: only those discover, plan and list it.
    apis: ClassVar[frozenset[str]] = frozenset({"assistants", "agents", "responses"})

    @abstractmethod
    def discover(self, reader: Reader, scope: Scope, pool: Executor) -> Callable[[LiveState], L]:
        """Start the list calls that find this kind's managed objects in ``pool``; return a
        function that waits for them and returns the kind's part of live state (called in
        registry order, so a kind sees the parts of the kinds listed before it)."""

    @abstractmethod
    def plan(self, ctx: PlanContext) -> None:
        """Compare this kind's desired specs with its live objects; record changes and steps."""

    def sweep(self, ctx: PlanContext) -> None:
        """After every kind planned (in reverse registry order): delete what nothing uses."""

    @abstractmethod
    def running(self, live: LiveState) -> list[Running]:
        """What runs of this kind in the environment (``live`` holds its discovered part): one
        record per live object, with what its last apply recorded. ``status`` shows them and
        ``promote`` checks them."""

    @abstractmethod
    def requests(self, spec: S, state: DesiredState) -> list[Json]:
        """What ``render`` shows for a spec: ``{address, request, body}`` entries, references
        as ``${address}``."""

    def depends_on(self, spec: S, state: DesiredState) -> set[str]:
        """Addresses a spec needs (for ``--target``)."""
        return set()
