"""The assistant kind: an Assistants-protocol assistant, tagged as ours.

An assistant carries the ``assistops``/``assistops_rev`` metadata tags. It refers to at most
one vector store (file_search) and to code-interpreter files by address; both resolve to ids
when the plan is made (or to references ``${...}`` to what apply creates).

Address: ``assistant.<name>``; its code-interpreter files are ``file.assistant.<name>:<path>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from assistops import limits
from assistops.kinds import file as file_kind
from assistops.kinds import vector_store as store_kind
from assistops.kinds.base import (
    ApplyContext,
    CreateStep,
    DeleteStep,
    Kind,
    LiveState,
    Phase,
    PlanContext,
    Running,
    Scope,
    StepBase,
    UpdateStep,
    plan_declared_then_orphans,
    retire,
    running_tagged,
    tagged,
)
from assistops.kinds.changes import ResourceChange
from assistops.kinds.file import FileSpec, file_ref, from_live_upload
from assistops.kinds.spec import DesiredState, Projection, Spec, address_of, digest_of
from assistops.kinds.tags import (
    ownership,
    pick_keeper,
    recorded_revision,
    rev_digest,
    split_rev_digest,
    stamped,
    user_metadata,
)
from assistops.providers.base import Json, Reader

ASSISTANTS = Phase(40, "assistants")
DELETE_ASSISTANTS = Phase(70, "delete assistants", removes=True)

#: Rankers the service treats as its default: declaring none compares equal to either.
DEFAULT_RANKERS = limits.RANKERS


def assistant_address(name: str) -> str:
    """``assistant.<name>``."""
    return address_of("assistant", name)


class AssistantSpec(Spec):
    """An assistant, with its references to a vector store and code-interpreter files."""

    kind: Literal["assistant"] = "assistant"
    display_name: str
    description: str | None = None
    model: str
    instructions: str | None = None
    tools: tuple[dict[str, Any], ...] = Field(
        default_factory=tuple, description="Tools in the provider's shape."
    )
    response_format: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    vector_store: str | None = Field(None, description="Address of the file_search store.")
    code_interpreter_files: tuple[str, ...] = Field(default_factory=tuple)


# -- live objects as specs, and what is compared ------------------------------------------------


def code_interpreter_ids(raw: Json) -> list[str]:
    """The file ids of a live assistant's code interpreter."""
    resources = raw.get("tool_resources") or {}
    return list(((resources.get("code_interpreter") or {}).get("file_ids")) or [])


def store_ids(raw: Json) -> list[str]:
    """The vector-store ids of a live assistant's file_search."""
    resources = raw.get("tool_resources") or {}
    return list(((resources.get("file_search") or {}).get("vector_store_ids")) or [])


def from_live(
    raw: Json,
    address: str,
    *,
    store_of: Callable[[str], str],
    uploads: dict[str, Json],
    desired_files: list[FileSpec],
) -> tuple[AssistantSpec, dict[str, FileSpec]]:
    """A live assistant as a spec, with the specs of the code-interpreter files it holds.

    ``store_of`` names a store id (its address, or ``id:<id>`` when it is not one we keep);
    ``uploads`` are our uploads by id; ``desired_files`` are the assistant's declared code
    files, so an unchanged file keeps its declared path. reasoning_effort is write-only (the
    service never returns it) and is tracked through the recorded digest instead.
    """
    stores = store_ids(raw)
    known = {f.sha256[:16]: f for f in desired_files}
    files: dict[str, FileSpec] = {}
    for file_id in code_interpreter_ids(raw):
        held = from_live_upload(uploads.get(file_id) or {"id": file_id}, address, known)
        files[f"{held.address}#{file_id}"] = held
    temperature, top_p = raw.get("temperature"), raw.get("top_p")
    live = AssistantSpec(
        address=address,
        name=address.partition(".")[2],
        display_name=str(raw.get("name") or ""),
        description=raw.get("description") or None,
        model=str(raw.get("model") or ""),
        instructions=raw.get("instructions") or None,
        tools=tuple(raw.get("tools") or ()),
        response_format=raw.get("response_format"),
        temperature=None if temperature is None else float(temperature),
        top_p=None if top_p is None else float(top_p),
        metadata=user_metadata(raw),
        vector_store=store_of(stores[0]) if stores else None,
        code_interpreter_files=tuple(files),
    )
    return live, files


def tool_key(tool: dict[str, Any]) -> str:
    """``code_interpreter``, ``file_search`` or ``function:<name>``."""
    if tool.get("type") == "function":
        return f"function:{(tool.get('function') or {}).get('name')}"
    return str(tool.get("type"))


def tool_body(tool: dict[str, Any]) -> dict[str, Any]:
    """What is compared of a tool (its type is in its key)."""
    kind = tool.get("type")
    if kind == "file_search":
        return {k: v for k, v in (tool.get("file_search") or {}).items() if v is not None}
    if kind == "function":
        fn = tool.get("function") or {}
        out: dict[str, Any] = {"strict": bool(fn.get("strict"))}
        if fn.get("description"):
            out["description"] = fn["description"]
        if fn.get("parameters") is not None:
            out["parameters"] = fn["parameters"]
        return out
    return {}


def response_format_projection(value: Any) -> Any:
    """``None``/"auto" alike, a bare type as ``{"type": ...}``, unset json_schema fields and
    ``strict: false`` dropped (the SDK reports absent keys as null)."""
    if value is None or value == "auto":
        return "auto"
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict) and isinstance(value.get("json_schema"), dict):
        inner = {k: v for k, v in value["json_schema"].items() if v is not None}
        if inner.get("strict") is False:
            del inner["strict"]
        return {**value, "json_schema": inner}
    return value


def projection(spec: AssistantSpec, files: dict[str, FileSpec]) -> Projection:
    """The observable fields of an assistant, normalized: server defaults explicit
    (temperature 1, top_p 1, response_format "auto"), tools keyed by kind and name."""
    return {
        "name": spec.display_name,
        "description": spec.description or None,
        "model": spec.model,
        "instructions": spec.instructions or None,
        "tools": {tool_key(t): tool_body(t) for t in spec.tools},
        "response_format": response_format_projection(spec.response_format),
        "temperature": 1.0 if spec.temperature is None else float(spec.temperature),
        "top_p": 1.0 if spec.top_p is None else float(spec.top_p),
        "metadata": dict(spec.metadata),
        "vector_store": spec.vector_store,
        "code_interpreter_files": sorted(files[a].label() for a in spec.code_interpreter_files),
    }


def write_only(spec: AssistantSpec) -> Projection:
    """Fields the service accepts but never returns."""
    return {"reasoning_effort": spec.reasoning_effort}


def align_defaults(desired: Projection, live: Projection) -> Projection:
    """Drop from ``live`` the server-filled values that ``desired`` leaves to the server."""
    live = dict(live)
    tools_d, tools_l = desired.get("tools"), live.get("tools")
    if isinstance(tools_d, dict) and isinstance(tools_l, dict):
        tools_l = {k: dict(v) for k, v in tools_l.items()}
        want, have = tools_d.get("file_search"), tools_l.get("file_search")
        if want is not None and have is not None:
            if "max_num_results" not in want:
                have.pop("max_num_results", None)
            ranking = have.get("ranking_options")
            if "ranking_options" not in want and (
                ranking is None
                or (ranking.get("ranker") in DEFAULT_RANKERS and not ranking.get("score_threshold"))
            ):
                have.pop("ranking_options", None)
        live["tools"] = tools_l
    return live


def spec_digest(spec: AssistantSpec, files: dict[str, FileSpec]) -> str:
    """The digest recorded in the assistant's tags."""
    return rev_digest(projection(spec, files), write_only(spec))


def owner_tags(
    spec: AssistantSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    files: dict[str, FileSpec],
) -> dict[str, str]:
    """The reserved metadata keys of a managed assistant."""
    digest = spec_digest(spec, files)
    return ownership(
        spec.address, digest, project=project, environment=environment, revision=revision
    )


def body(
    spec: AssistantSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    resolve: Callable[[str], str],
    files: dict[str, FileSpec],
    update: bool = False,
) -> Json:
    """The body of ``POST /assistants``; with ``update`` every field is explicit, so that a
    value set outside assistops is reset to the declared one (or to the server default)."""
    out: Json = {"model": spec.model, "name": spec.display_name}
    for key in ("description", "instructions", "temperature", "top_p", "reasoning_effort"):
        value = getattr(spec, key)
        if value is not None:
            out[key] = value
        elif update and key in ("description", "instructions"):
            out[key] = None
    if update:
        out.setdefault("temperature", 1.0)
        out.setdefault("top_p", 1.0)
    out["tools"] = [dict(t) for t in spec.tools]
    resources: dict[str, Any] = {}
    if spec.code_interpreter_files or update:
        resources["code_interpreter"] = {
            "file_ids": [resolve(a) for a in spec.code_interpreter_files]
        }
    if spec.vector_store or update:
        stores = [resolve(spec.vector_store)] if spec.vector_store else []
        resources["file_search"] = {"vector_store_ids": stores}
    if resources:
        out["tool_resources"] = resources
    if spec.response_format is not None:
        out["response_format"] = spec.response_format
    elif update:
        out["response_format"] = "auto"
    metadata = dict(spec.metadata)
    metadata.update(
        owner_tags(spec, project=project, environment=environment, revision=revision, files=files)
    )
    out["metadata"] = metadata
    return out


# -- steps --------------------------------------------------------------------------------------


class CreateAssistant(CreateStep):
    """Create an assistant with its tags; references are resolved at apply."""

    op: Literal["create_assistant"] = "create_assistant"
    phase: ClassVar[Phase] = ASSISTANTS

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /assistants``."""
        created = await ctx.writer.create_assistant(stamped(ctx.resolve(self.body)))
        ctx.record(self.address, created["id"])


class UpdateAssistant(UpdateStep):
    """Update an assistant in place (it keeps its id)."""

    op: Literal["update_assistant"] = "update_assistant"
    phase: ClassVar[Phase] = ASSISTANTS

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /assistants/{id}``."""
        await ctx.writer.update_assistant(self.id, stamped(ctx.resolve(self.body)))


class DeleteAssistant(DeleteStep):
    """Delete an assistant we own."""

    op: Literal["delete_assistant"] = "delete_assistant"
    phase: ClassVar[Phase] = DELETE_ASSISTANTS

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /assistants/{id}``."""
        await ctx.writer.delete_assistant(self.id)


# -- the kind -----------------------------------------------------------------------------------


@dataclass
class AssistantsLive:
    """Our assistants by address."""

    assistants: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))


class AssistantKind(Kind[AssistantSpec, AssistantsLive]):
    """Assistants: planned after the stores and files they refer to."""

    name: ClassVar[str] = "assistant"
    spec_type: ClassVar[type[Spec]] = AssistantSpec
    steps: ClassVar[tuple[type[StepBase], ...]] = (
        CreateAssistant,
        UpdateAssistant,
        DeleteAssistant,
    )
    display_rank: ClassVar[int] = 3
    apis: ClassVar[frozenset[str]] = frozenset({"assistants"})

    def discover(
        self, reader: Reader, scope: Scope, pool: Executor
    ) -> Callable[[LiveState], AssistantsLive]:
        """``GET /assistants`` (all pages), keeping the ones tagged as ours."""
        listed = pool.submit(reader.list_assistants)

        def finish(live: LiveState) -> AssistantsLive:
            part = AssistantsLive(tagged(listed.result(), live, self.name))
            for objs in part.assistants.values():
                for raw in objs:
                    live.references.update(code_interpreter_ids(raw))
                    live.references.update(store_ids(raw))
            return part

        return finish

    def plan(self, ctx: PlanContext) -> None:
        """Each declared assistant, then the ones that are ours but no longer declared."""
        plan_declared_then_orphans(
            ctx,
            ctx.specs(AssistantSpec),
            ctx.live.part(self).assistants,
            lambda spec, candidates: self._assistant(ctx, spec, candidates),
            lambda address, raw: self._delete(ctx, address, raw, duplicate=False),
        )

    def running(self, live: LiveState) -> list[Running]:
        """Each tagged assistant with the revision and digest its tags record."""
        return running_tagged(self.name, live.part(self).assistants)

    def requests(self, spec: AssistantSpec, state: DesiredState) -> list[Json]:
        """``POST /v1/assistants``, references shown as ``${address}``."""
        files = {a: s for a, s in state.resources.items() if isinstance(s, FileSpec)}
        sent = body(
            spec,
            project=state.project,
            environment=state.environment,
            revision=state.revision,
            resolve=lambda address: "${" + address + "}",
            files=files,
        )
        return [{"address": spec.address, "request": "POST /v1/assistants", "body": sent}]

    def depends_on(self, spec: AssistantSpec, state: DesiredState) -> set[str]:
        """Its code-interpreter files, its store and the store's files."""
        out = set(spec.code_interpreter_files)
        if spec.vector_store:
            out.add(spec.vector_store)
            store = state.resources.get(spec.vector_store)
            if isinstance(store, store_kind.VectorStoreSpec):
                out.update(store.files)
        return out

    # -- planning one assistant ------------------------------------------------------------

    def _assistant(self, ctx: PlanContext, spec: AssistantSpec, candidates: list[Json]) -> None:
        files = ctx.specs(FileSpec)
        desired_digest = spec_digest(spec, files)
        uploads = ctx.live.part(file_kind.KIND).by_id()

        def store_of(store_id: str) -> str:
            address = ctx.addresses.get(store_id)
            return address if address and address not in ctx.new else f"id:{store_id}"

        def compared(
            raw: Json,
        ) -> tuple[Projection, Projection, AssistantSpec, dict[str, FileSpec]]:
            """What is declared, what ``raw`` holds (and ``raw`` as a spec, with its files)."""
            live, live_files = from_live(
                raw,
                spec.address,
                store_of=store_of,
                uploads=uploads,
                desired_files=[files[a] for a in spec.code_interpreter_files],
            )
            want = projection(spec, files)
            return want, align_defaults(want, projection(live, live_files)), live, live_files

        def holds(raw: Json) -> int:
            """1 when the assistant is already what is declared (kept store included)."""
            want, have, _, _ = compared(raw)
            return 0 if ctx.compare(want, have) else 1

        keeper = pick_keeper(candidates, desired_digest, holds=holds)
        for extra in (c for c in candidates if c is not keeper):
            self._delete(ctx, spec.address, extra, duplicate=True)
        self._code_files(ctx, spec, keeper)

        def resolve(address: str) -> str:
            if address in files:
                return file_ref(ctx, files[address])
            return ctx.ref(address)

        if keeper is None:
            create = body(spec, resolve=resolve, files=files, **ctx.project_context())
            ctx.steps.append(CreateAssistant(address=spec.address, body=create))
            ctx.changes.append(
                ResourceChange(address=spec.address, kind=self.name, action="create", after=create)
            )
            return

        want, have, live, live_files = compared(keeper)
        changes = ctx.compare(want, have)
        recorded = recorded_revision(keeper)
        observed = split_rev_digest(recorded[0]) if recorded else None
        # a store being replaced (or removed as a duplicate) still counts as the declared one:
        # what apply left is compared with what it recorded, so that is not drift
        held = live.vector_store or ""
        if held.startswith("id:") and held[3:] in ctx.retired:
            live = live.model_copy(update={"vector_store": ctx.retired[held[3:]]})
        as_left = align_defaults(want, projection(live, live_files))
        drift = bool(changes) and observed is not None and observed[0] != digest_of(as_left)
        reasons = []
        if observed is not None and observed[1] != digest_of(write_only(spec))[:8]:
            reasons.append("reasoning_effort changed (the service does not return it)")
        if spec.vector_store in ctx.new:
            reasons.append(f"{spec.vector_store} gets a new id")
        if drift:
            reasons.insert(0, "changed outside assistops since the last apply")
        stale = observed is None or observed[0] != split_rev_digest(desired_digest)[0]
        needs = bool(changes) or bool(reasons) or stale
        if not needs:
            ctx.used.update(code_interpreter_ids(keeper))
        else:
            update = body(spec, resolve=resolve, files=files, update=True, **ctx.project_context())
            ctx.steps.append(UpdateAssistant(address=spec.address, id=keeper["id"], body=update))
        ctx.changes.append(
            ResourceChange(
                address=spec.address,
                kind=self.name,
                action="update" if needs else "no-op",
                id=keeper["id"],
                drift=drift,
                reasons=reasons,
                changes=changes,
            )
        )

    def _code_files(self, ctx: PlanContext, spec: AssistantSpec, keeper: Json | None) -> None:
        """A change per code-interpreter file: unchanged when the assistant holds its content."""
        live_shas: set[str] = set()
        if keeper is not None:
            sha16_of = ctx.live.part(file_kind.KIND).sha16_of()
            live_shas = {sha16_of[i] for i in code_interpreter_ids(keeper) if i in sha16_of}
        files = ctx.specs(FileSpec)
        for address in spec.code_interpreter_files:
            f = files[address]
            if f.sha256[:16] in live_shas:
                ctx.changes.append(
                    ResourceChange(
                        address=address,
                        kind=file_kind.KIND.name,
                        action="no-op",
                        id=ctx.uploads.get(f.sha256),
                    )
                )
                continue
            ctx.changes.append(
                ResourceChange(
                    address=address,
                    kind=file_kind.KIND.name,
                    action="create",
                    after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
                )
            )

    def _delete(self, ctx: PlanContext, address: str, raw: Json, *, duplicate: bool) -> None:
        before = {"name": raw.get("name"), "model": raw.get("model")}
        step = DeleteAssistant(address=address, id=raw["id"])
        retire(ctx, step, self.name, raw, duplicate=duplicate, before=before)


KIND = AssistantKind()
