"""Factories for planner unit tests: desired specs, and live objects as apply leaves them.

Desired side: :func:`make_file`, :func:`make_store`, :func:`make_assistant` return specs as
render makes them; :func:`desired` holds them in a :class:`DesiredState`.

Live side: a :class:`World` holds what a provider would list (uploads, stores, the files of
each store, assistants) as wire dicts. Every tag, attribute and upload name is computed with
the kinds' own functions (``vector_store.body``, ``assistant.body``, ``file.file_attributes``,
``file.upload_filename``), so :func:`applied` gives exactly what apply leaves behind and a plan
of it against the same desired state is empty; a test then perturbs one thing. :func:`discover`
reads a world through ``engine.live.read_live`` with :class:`FakeReader`, the way plan does.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from assistops.engine.live import read_live
from assistops.engine.plan import Plan
from assistops.engine.planner import build_plan
from assistops.kinds import agent, assistant, vector_store
from assistops.kinds.agent import AgentSpec
from assistops.kinds.assistant import AssistantSpec, assistant_address
from assistops.kinds.base import LiveState
from assistops.kinds.changes import ResourceChange
from assistops.kinds.file import FileSpec, file_address, file_attributes, upload_filename
from assistops.kinds.spec import DesiredState, Spec
from assistops.kinds.vector_store import VectorStoreSpec, vector_store_address
from assistops.limits import AUTO_CHUNK_OVERLAP, AUTO_CHUNK_SIZE
from assistops.providers.base import Json, Reader

PROJECT, ENV, REVISION = "acme", "prod", "c0ffee1"
#: ``file_search.ranking_options`` the service fills in when none is sent
DEFAULT_RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
STATIC_400 = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100},
}


# -- desired side -------------------------------------------------------------------------------


def sha256_of(content: str) -> str:
    """The sha256 of a text file's content."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def make_file(owner: str, path: str, content: str | None = None, **overrides: Any) -> FileSpec:
    """A file of ``owner`` (``vector_store.<name>`` or ``assistant.<name>``); its content
    defaults to a line naming the path, so different paths have different contents."""
    text = f"# {path}\n" if content is None else content
    fields: dict[str, Any] = {
        "address": file_address(owner, path),
        "name": path,
        "owner": owner,
        "path": path,
        "sha256": sha256_of(text),
        "bytes": len(text.encode("utf-8")),
    }
    return FileSpec(**(fields | overrides))


def make_store(name: str, *files: FileSpec, **overrides: Any) -> VectorStoreSpec:
    """``vector_store.<name>`` holding ``files`` (they must be its files)."""
    address = vector_store_address(name)
    assert all(f.owner == address for f in files), "files of another owner"
    fields: dict[str, Any] = {
        "address": address,
        "name": name,
        "display_name": name.title(),
        "files": tuple(f.address for f in files),
    }
    return VectorStoreSpec(**(fields | overrides))


def make_assistant(name: str = "support", **overrides: Any) -> AssistantSpec:
    """``assistant.<name>`` with a model and instructions; ``vector_store`` (an address) adds the
    file_search tool, ``code_interpreter_files`` (file addresses) the code interpreter."""
    tools: list[dict[str, Any]] = []
    if overrides.get("code_interpreter_files"):
        tools.append({"type": "code_interpreter"})
    if overrides.get("vector_store"):
        tools.append({"type": "file_search", "file_search": {}})
    fields: dict[str, Any] = {
        "address": assistant_address(name),
        "name": name,
        "display_name": name.title(),
        "model": "gpt-4o-mini",
        "instructions": f"You are the {name} assistant of Acme.",
        "tools": tuple(tools),
    }
    fields |= overrides
    if "code_interpreter_files" in fields:
        fields["code_interpreter_files"] = tuple(fields["code_interpreter_files"])
    return AssistantSpec(**fields)


def desired(
    *specs: Spec,
    project: str = PROJECT,
    environment: str = ENV,
    revision: str = REVISION,
    api: str = "assistants",
) -> DesiredState:
    """The desired state holding ``specs`` (in the order given, as render keeps it)."""
    resources = {s.address: s for s in specs}
    assert len(resources) == len(specs), "two specs with one address"
    for spec in specs:
        refs: list[str] = []
        if isinstance(spec, VectorStoreSpec):
            refs = list(spec.files)
        elif isinstance(spec, AssistantSpec):
            refs = [
                *spec.code_interpreter_files,
                *([spec.vector_store] if spec.vector_store else []),
            ]
        missing = [r for r in refs if r not in resources]
        assert not missing, f"{spec.address} refers to undeclared {missing}"
    return DesiredState(
        project=project, environment=environment, api=api, revision=revision, resources=resources
    )


def files_of(state: DesiredState) -> dict[str, FileSpec]:
    """The file specs of a desired state by address."""
    return {a: s for a, s in state.resources.items() if isinstance(s, FileSpec)}


# -- live side ----------------------------------------------------------------------------------


def resolved_chunking(chunking: dict[str, Any] | None) -> Json:
    """A ``chunking_strategy`` as the service returns it (auto resolves to static 800/400)."""
    if chunking is None or chunking.get("type") == "auto":
        return {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": AUTO_CHUNK_SIZE,
                "chunk_overlap_tokens": AUTO_CHUNK_OVERLAP,
            },
        }
    return copy.deepcopy(chunking)


def _served_tools(tools: list[dict[str, Any]]) -> list[Json]:
    """Tools as the service returns them: its defaults filled in."""
    out: list[Json] = []
    for tool in tools:
        tool = copy.deepcopy(tool)
        if tool.get("type") == "file_search":
            tool.setdefault("file_search", {}).setdefault("ranking_options", dict(DEFAULT_RANKING))
        elif tool.get("type") == "function":
            tool["function"].setdefault("strict", False)
        out.append(tool)
    return out


def _tag(raw: Json) -> str:
    return str((raw.get("metadata") or {}).get("assistops", ""))


@dataclass
class World:
    """What a provider would list, as wire dicts, in creation order (oldest first)."""

    files: list[Json] = field(default_factory=list)
    stores: list[Json] = field(default_factory=list)
    store_files: dict[str, list[Json]] = field(default_factory=dict)
    assistants: list[Json] = field(default_factory=list)
    agents: list[Json] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_700_000_000))
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _new(self, prefix: str) -> tuple[str, int]:
        return f"{prefix}_{next(self._serial):03d}", next(self._clock)

    # uploads

    def upload(self, f: FileSpec, *, project: str = PROJECT, environment: str = ENV) -> Json:
        """A new upload of ``f``'s content, named as apply names it."""
        file_id, now = self._new("file")
        raw: Json = {
            "id": file_id,
            "object": "file",
            "bytes": f.bytes,
            "created_at": now,
            "filename": upload_filename(f, project=project, environment=environment),
            "purpose": "assistants",
            "status": "processed",
            "status_details": None,
        }
        self.files.append(raw)
        return raw

    def foreign_upload(self, filename: str, size: int = 10) -> Json:
        """An upload whose name is not ours (or is another project's)."""
        file_id, now = self._new("file")
        raw: Json = {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": now,
            "filename": filename,
            "purpose": "assistants",
            "status": "processed",
            "status_details": None,
        }
        self.files.append(raw)
        return raw

    def upload_of(self, sha256: str) -> Json | None:
        """The oldest upload whose name records this content."""
        return next((u for u in self.files if f".{sha256[:16]}." in u["filename"]), None)

    # stores

    def add_store(
        self,
        spec: VectorStoreSpec,
        *,
        project: str = PROJECT,
        environment: str = ENV,
        revision: str = REVISION,
        status: str = "completed",
    ) -> Json:
        """A store created from ``spec`` with ``vector_store.body`` (so with its tags)."""
        sent = vector_store.body(spec, project=project, environment=environment, revision=revision)
        store_id, now = self._new("vs")
        raw: Json = {
            "id": store_id,
            "object": "vector_store",
            "created_at": now,
            "name": sent["name"],
            "metadata": sent["metadata"],
            "expires_after": sent.get("expires_after"),
            "expires_at": None,
            "last_active_at": now,
            "status": status,
            "usage_bytes": 0,
            "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0},
        }
        if raw["expires_after"] is not None:
            raw["expires_at"] = now + raw["expires_after"]["days"] * 86_400
        self.stores.append(raw)
        self.store_files[store_id] = []
        return raw

    def store(self, address: str) -> Json:
        """The only store tagged for acme/prod with ``address``."""
        [raw] = [s for s in self.stores if _tag(s) == f"{PROJECT}/{ENV}/{address}"]
        return raw

    def attach(
        self,
        store: Json,
        upload: Json,
        *,
        attributes: dict[str, Any] | None = None,
        chunking: dict[str, Any] | None = None,
        status: str = "completed",
    ) -> Json:
        """``upload`` attached to ``store`` (an entry has the upload's id)."""
        entry: Json = {
            "id": upload["id"],
            "object": "vector_store.file",
            "created_at": next(self._clock),
            "vector_store_id": store["id"],
            "status": status,
            "usage_bytes": upload["bytes"] if status == "completed" else 0,
            "last_error": None
            if status != "failed"
            else {"code": "server_error", "message": "indexing failed"},
            "chunking_strategy": resolved_chunking(chunking),
            "attributes": dict(attributes or {}),
        }
        self.store_files[store["id"]].append(entry)
        return entry

    def attach_file(
        self, store: Json, f: FileSpec, upload: Json, chunking: dict[str, Any] | None = None
    ) -> Json:
        """``f`` attached as apply attaches it: ``file.file_attributes`` and the store's
        chunking."""
        return self.attach(store, upload, attributes=file_attributes(f), chunking=chunking)

    def entry(self, store_address: str, path: str) -> Json:
        """The only entry of a store whose path attribute is ``path``."""
        store = self.store(store_address)
        [raw] = [
            e
            for e in self.store_files[store["id"]]
            if (e.get("attributes") or {}).get("assistops_path") == path
        ]
        return raw

    # assistants

    def add_assistant(
        self,
        spec: AssistantSpec,
        state: DesiredState,
        ids: dict[str, str],
        *,
        project: str = PROJECT,
        environment: str = ENV,
        revision: str = REVISION,
    ) -> Json:
        """An assistant created from ``spec`` with ``assistant.body``; ``ids`` resolves the
        addresses it refers to (store address -> store id, file address -> upload id)."""
        sent = assistant.body(
            spec,
            project=project,
            environment=environment,
            revision=revision,
            resolve=ids.__getitem__,
            files=files_of(state),
        )
        assistant_id, now = self._new("asst")
        raw: Json = {
            "id": assistant_id,
            "object": "assistant",
            "created_at": now,
            "name": sent["name"],
            "description": sent.get("description"),
            "model": sent["model"],
            "instructions": sent.get("instructions"),
            "tools": _served_tools(sent["tools"]),
            "tool_resources": sent.get("tool_resources", {}),
            "metadata": sent["metadata"],
            "temperature": sent.get("temperature", 1.0),
            "top_p": sent.get("top_p", 1.0),
            "response_format": sent.get("response_format", "auto"),
        }
        self.assistants.append(raw)
        return raw

    def add_agent(
        self,
        spec: AgentSpec,
        *,
        project: str = PROJECT,
        environment: str = ENV,
        revision: str = REVISION,
    ) -> Json:
        """An agent created from ``spec`` with ``agent.body``, with the fields the service
        resolves (function tools' defer_loading, mcp's connection origin, text verbosity)."""
        sent = agent.body(spec, project=project, environment=environment, revision=revision)
        agent_id, now = self._new("agent")
        tools = []
        for tool in sent["tools"]:
            served = dict(tool)
            if served["type"] == "function":
                served.setdefault("defer_loading", False)
            if served["type"] == "mcp":
                served.setdefault("connection_origin", "service")
                served.setdefault("required", False)
                served.setdefault("request_metadata", {})
            tools.append(served)
        raw: Json = {
            "id": agent_id,
            "object": "agent",
            "created_at": now,
            "updated_at": now,
            "name": sent["name"],
            "model": sent["model"],
            "instructions": sent.get("instructions"),
            "metadata": sent["metadata"],
            "reasoning": {"effort": (sent.get("reasoning") or {}).get("effort"), "summary": None},
            "text": {
                "format": (sent.get("text") or {}).get("format") or {"type": "text"},
                "verbosity": "medium",
            },
            "tools": tools,
            "service_tier": "auto",
            "multi_agent": {"enabled": False},
        }
        self.agents.append(raw)
        return raw

    def assistant(self, address: str) -> Json:
        """The only assistant tagged for acme/prod with ``address``."""
        [raw] = [a for a in self.assistants if _tag(a) == f"{PROJECT}/{ENV}/{address}"]
        return raw


def applied(state: DesiredState, world: World | None = None) -> World:
    """``world`` (new by default) after apply of ``state`` from nothing: every content uploaded
    once, each store created with its files attached and indexed, each assistant created."""
    world = world or World()
    where = {"project": state.project, "environment": state.environment}
    ids: dict[str, str] = {}
    uploads: dict[str, Json] = {}
    for f in state.of_type(FileSpec):
        if f.sha256 not in uploads:
            uploads[f.sha256] = world.upload(f, **where)
        ids[f.address] = uploads[f.sha256]["id"]
    for store in state.of_type(VectorStoreSpec):
        raw = world.add_store(store, revision=state.revision, **where)
        ids[store.address] = raw["id"]
        for address in store.files:
            held = state.resources[address]
            assert isinstance(held, FileSpec)
            world.attach_file(raw, held, uploads[held.sha256], store.chunking)
    for spec in state.of_type(AssistantSpec):
        world.add_assistant(spec, state, ids, revision=state.revision, **where)
    return world


class FakeReader(Reader):
    """A :class:`Reader` over a :class:`World`: the list calls discovery makes, nothing else."""

    label = "fake"

    def __init__(self, world: World) -> None:
        self.world = world

    def list_assistants(self) -> list[Json]:
        """Every assistant, oldest first."""
        return list(self.world.assistants)

    def list_agents(self) -> list[Json]:
        """Every agent, oldest first."""
        return list(self.world.agents)

    def retrieve_agent(self, agent_id: str) -> Json:
        raise AssertionError("discovery lists; it never retrieves")

    def list_vector_stores(self) -> list[Json]:
        """Every store, oldest first."""
        return list(self.world.stores)

    def list_vector_store_files(self, vector_store_id: str) -> list[Json]:
        """Every file of one store."""
        return list(self.world.store_files[vector_store_id])

    def list_files(self, purpose: str = "assistants") -> list[Json]:
        """Every upload of one purpose."""
        return [f for f in self.world.files if f.get("purpose", "assistants") == purpose]

    def file_content(self, file_id: str) -> bytes:
        """The content of a downloadable file (releases)."""
        return self.world.contents[file_id]

    def retrieve_assistant(self, assistant_id: str) -> Json:
        raise AssertionError("discovery lists; it never retrieves")

    def retrieve_vector_store(self, vector_store_id: str) -> Json:
        raise AssertionError("discovery lists; it never retrieves")

    def vector_store_file_content(self, vector_store_id: str, file_id: str) -> str:
        raise AssertionError("discovery never reads contents")


def discover(
    world: World, project: str = PROJECT, environment: str = ENV, api: str = "assistants"
) -> LiveState:
    """The live state plan reads from ``world`` (``engine.live.read_live``)."""
    return read_live(FakeReader(world), project, environment, api=api)


def plan_of(
    state: DesiredState, world: World | LiveState, targets: list[str] | None = None
) -> Plan:
    """``build_plan`` of ``state`` against ``world`` (discovered) or a live state."""
    live = world if isinstance(world, LiveState) else discover(world, api=state.api)
    return build_plan(state, live, provider="local", targets=targets)


# -- reading plans ------------------------------------------------------------------------------


def ops(plan: Plan) -> list[str]:
    """The ops of the plan's steps, in run order."""
    return [s.op for s in plan.steps]


def steps(plan: Plan, op: str) -> list[Any]:
    """The steps with one op."""
    return [s for s in plan.steps if s.op == op]


def change(plan: Plan, address: str) -> ResourceChange:
    """The only resource change of ``address``."""
    found = [r for r in plan.resources if r.address == address]
    assert len(found) == 1, f"{address}: {found}"
    return found[0]


def actions(plan: Plan) -> dict[str, str]:
    """Address -> action of every resource that changes."""
    return {r.address: r.action for r in plan.resources if r.action != "no-op"}


def mentions(plan: Plan, object_id: str, *, resources: bool = False) -> bool:
    """Whether a step of the plan (with ``resources``, or a resource change) names
    ``object_id``."""
    dumped = [s.model_dump(mode="json") for s in plan.steps]
    if resources:
        dumped += [r.model_dump(mode="json") for r in plan.resources]
    return object_id in json.dumps(dumped)
