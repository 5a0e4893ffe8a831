"""The agent kind: an assistant declaration deployed as an OpenAI Agent (``/v1/agents``).

In an environment whose API is ``agents``, each assistant declaration becomes one agent
(:func:`from_assistant`): its name, model, instructions, metadata (with assistops' tags),
reasoning effort, ``response_format`` as ``text.format``, and its function tools flattened as
the Agents API wants them; ``mcp`` and ``web_search`` tools pass through. What an agent cannot
hold (file_search, code_interpreter, temperature, top_p, description, strict) is refused by
``validate`` unless the environment leaves it out on purpose (``leave_out``). An agent keeps its
id on every update; everything it holds is returned by the service, so all of it is compared.

Address: ``agent.<name>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from assistops.kinds.assistant import AssistantSpec
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

AGENTS = Phase(40, "agents")
DELETE_AGENTS = Phase(70, "delete agents", removes=True)

#: What a function's parameters are when an assistant declares none (the Agents API needs one).
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

#: Values the service fills in for a tool field left unset: equal to unset when comparing.
_TOOL_DEFAULTS: dict[str, Any] = {
    "defer_loading": False,
    "required": False,
    "connection_origin": "service",
    "context_size": "medium",
    "mode": "live",
}


def agent_address(name: str) -> str:
    """``agent.<name>``."""
    return address_of("agent", name)


class AgentSpec(Spec):
    """An OpenAI agent."""

    kind: Literal["agent"] = "agent"
    display_name: str
    model: str
    instructions: str | None = None
    reasoning_effort: str | None = None
    text_format: dict[str, Any] | None = Field(
        None, description="text.format; None for ordinary text."
    )
    tools: tuple[dict[str, Any], ...] = Field(
        default_factory=tuple, description="Tools in the Agents API's (flat) shape."
    )
    metadata: dict[str, str] = Field(default_factory=dict)


# -- from declarations and from live objects ----------------------------------------------------


def from_assistant(spec: AssistantSpec) -> AgentSpec:
    """The agent an assistant declaration becomes. What an agent cannot hold is left out here;
    ``validate`` has refused it before unless the environment leaves it out on purpose."""
    tools: list[dict[str, Any]] = []
    for tool in spec.tools:
        kind = tool.get("type")
        if kind == "function":
            fn = tool.get("function") or {}
            tools.append(
                {
                    "type": "function",
                    "name": fn.get("name"),
                    "description": fn.get("description") or "",
                    "parameters": fn.get("parameters") or NO_PARAMETERS,
                }
            )
        elif kind in ("mcp", "web_search"):
            tools.append(dict(tool))
    return AgentSpec(
        address=agent_address(spec.name),
        name=spec.name,
        display_name=spec.display_name,
        model=spec.model,
        instructions=spec.instructions,
        reasoning_effort=spec.reasoning_effort,
        text_format=text_format_of(spec.response_format),
        tools=tuple(tools),
        metadata=dict(spec.metadata),
    )


def text_format_of(response_format: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """An assistant's ``response_format`` as an agent's ``text.format`` (None: ordinary text)."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"type": "json_schema", "schema": schema}
    return None


def from_live(raw: Json, address: str) -> AgentSpec:
    """A live agent as a spec."""
    text = raw.get("text") or {}
    reasoning = raw.get("reasoning") or {}
    fmt = text.get("format")
    return AgentSpec(
        address=address,
        name=address.partition(".")[2],
        display_name=str(raw.get("name") or ""),
        model=str(raw.get("model") or ""),
        instructions=raw.get("instructions") or None,
        reasoning_effort=reasoning.get("effort"),
        text_format=None
        if not fmt or fmt.get("type") == "text"
        else {k: v for k, v in fmt.items() if v is not None},
        tools=tuple(raw.get("tools") or ()),
        metadata=user_metadata(raw),
    )


def tool_key(tool: dict[str, Any]) -> str:
    """``function:<name>``, ``mcp:<server_label>`` or the tool's type."""
    kind = str(tool.get("type"))
    if kind == "function":
        return f"function:{tool.get('name')}"
    if kind == "mcp":
        return f"mcp:{tool.get('server_label')}"
    return kind


def tool_body(tool: dict[str, Any]) -> dict[str, Any]:
    """A flat tool without its type and name (its key says those), unset fields dropped."""
    return {k: v for k, v in tool.items() if k not in ("type", "name") and v is not None}


def projection(spec: AgentSpec) -> Projection:
    """What is compared of an agent: tools keyed by kind and name, ordinary text explicit."""
    return {
        "name": spec.display_name,
        "model": spec.model,
        "instructions": spec.instructions or None,
        "reasoning_effort": spec.reasoning_effort,
        "text_format": spec.text_format or {"type": "text"},
        "tools": {tool_key(t): tool_body(t) for t in spec.tools},
        "metadata": dict(spec.metadata),
    }


def align_defaults(desired: Projection, live: Projection) -> Projection:
    """Drop from ``live`` what the service filled in where ``desired`` sets nothing: tool
    fields, and the reasoning effort (the service may resolve an omitted one to the model's
    default)."""
    live = dict(live)
    if desired.get("reasoning_effort") is None:
        live["reasoning_effort"] = None
    want_tools, have_tools = desired.get("tools") or {}, dict(live.get("tools") or {})
    for key, have in have_tools.items():
        have_tools[key] = _filled_in_dropped(have, want_tools.get(key) or {})
    live["tools"] = have_tools
    return live


def _filled_in_dropped(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """``have`` without the keys ``want`` does not set whose value is empty or a default,
    nested mappings (an mcp transport, a search location) included."""
    out: dict[str, Any] = {}
    for k, v in have.items():
        if isinstance(v, dict) and isinstance(want.get(k), dict):
            out[k] = _filled_in_dropped(v, want[k])
        elif k in want or not (v is None or v in ({}, [], "", False) or _TOOL_DEFAULTS.get(k) == v):
            out[k] = v
    return out


def spec_digest(spec: AgentSpec) -> str:
    """The digest recorded in the agent's tags (an agent has no write-only field)."""
    return rev_digest(projection(spec), {})


def body(
    spec: AgentSpec, *, project: str, environment: str, revision: str, update: bool = False
) -> Json:
    """The body of ``POST /agents``; with ``update`` every field is explicit, so that a value
    set outside assistops is reset to the declared one (tools and metadata are replaced)."""
    out: Json = {"model": spec.model, "name": spec.display_name}
    if spec.instructions is not None or update:
        out["instructions"] = spec.instructions
    if spec.reasoning_effort is not None:
        out["reasoning"] = {"effort": spec.reasoning_effort}
    elif update:
        out["reasoning"] = {"effort": None}
    if spec.text_format is not None:
        out["text"] = {"format": spec.text_format}
    elif update:
        out["text"] = {"format": {"type": "text"}}
    out["tools"] = [dict(t) for t in spec.tools]
    out["metadata"] = {
        **spec.metadata,
        **ownership(
            spec.address,
            spec_digest(spec),
            project=project,
            environment=environment,
            revision=revision,
        ),
    }
    return out


# -- steps --------------------------------------------------------------------------------------


class CreateAgent(CreateStep):
    """Create an agent with its tags."""

    op: Literal["create_agent"] = "create_agent"
    phase: ClassVar[Phase] = AGENTS

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /agents``."""
        created = await ctx.writer.create_agent(stamped(self.body))
        ctx.record(self.address, created["id"])


class UpdateAgent(UpdateStep):
    """Update an agent in place (it keeps its id)."""

    op: Literal["update_agent"] = "update_agent"
    phase: ClassVar[Phase] = AGENTS

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /agents/{id}``."""
        await ctx.writer.update_agent(self.id, stamped(self.body))


class DeleteAgent(DeleteStep):
    """Delete an agent we own."""

    op: Literal["delete_agent"] = "delete_agent"
    phase: ClassVar[Phase] = DELETE_AGENTS

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /agents/{id}``."""
        await ctx.writer.delete_agent(self.id)


# -- the kind -----------------------------------------------------------------------------------


@dataclass
class AgentsLive:
    """Our agents by address."""

    agents: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))


class AgentKind(Kind[AgentSpec, AgentsLive]):
    """Agents: they refer to nothing else, so they plan on their own."""

    name: ClassVar[str] = "agent"
    spec_type: ClassVar[type[Spec]] = AgentSpec
    steps: ClassVar[tuple[type[StepBase], ...]] = (CreateAgent, UpdateAgent, DeleteAgent)
    display_rank: ClassVar[int] = 3
    apis: ClassVar[frozenset[str]] = frozenset({"agents"})

    def discover(
        self, reader: Reader, scope: Scope, pool: Executor
    ) -> Callable[[LiveState], AgentsLive]:
        """``GET /agents`` (all pages), keeping the ones tagged as ours."""
        listed = pool.submit(reader.list_agents)

        def finish(live: LiveState) -> AgentsLive:
            return AgentsLive(tagged(listed.result(), live, self.name))

        return finish

    def running(self, live: LiveState) -> list[Running]:
        """Each tagged agent with the revision and digest its tags record."""
        return running_tagged(self.name, live.part(self).agents)

    def plan(self, ctx: PlanContext) -> None:
        """Each declared agent, then the ones that are ours but no longer declared."""
        plan_declared_then_orphans(
            ctx,
            ctx.specs(AgentSpec),
            ctx.live.part(self).agents,
            lambda spec, candidates: self._agent(ctx, spec, candidates),
            lambda address, raw: self._delete(ctx, address, raw, duplicate=False),
        )

    def requests(self, spec: AgentSpec, state: DesiredState) -> list[Json]:
        """``POST /v1/agents``."""
        sent = body(
            spec, project=state.project, environment=state.environment, revision=state.revision
        )
        return [{"address": spec.address, "request": "POST /v1/agents", "body": sent}]

    def _agent(self, ctx: PlanContext, spec: AgentSpec, candidates: list[Json]) -> None:
        desired_digest = spec_digest(spec)
        want = projection(spec)

        def holds(raw: Json) -> int:
            """1 when the agent is already what is declared."""
            have = align_defaults(want, projection(from_live(raw, spec.address)))
            return 0 if ctx.compare(want, have) else 1

        keeper = pick_keeper(candidates, desired_digest, holds=holds)
        for extra in (c for c in candidates if c is not keeper):
            self._delete(ctx, spec.address, extra, duplicate=True)
        if keeper is None:
            create = body(spec, **ctx.project_context())
            ctx.steps.append(CreateAgent(address=spec.address, body=create))
            ctx.changes.append(
                ResourceChange(address=spec.address, kind=self.name, action="create", after=create)
            )
            return
        have = align_defaults(want, projection(from_live(keeper, spec.address)))
        changes = ctx.compare(want, have)
        recorded = recorded_revision(keeper)
        observed = split_rev_digest(recorded[0]) if recorded else None
        drift = bool(changes) and observed is not None and observed[0] != digest_of(have)
        stale = observed is None or observed[0] != split_rev_digest(desired_digest)[0]
        needs = bool(changes) or stale
        if needs:
            update = body(spec, update=True, **ctx.project_context())
            ctx.steps.append(UpdateAgent(address=spec.address, id=keeper["id"], body=update))
        ctx.changes.append(
            ResourceChange(
                address=spec.address,
                kind=self.name,
                action="update" if needs else "no-op",
                id=keeper["id"],
                drift=drift,
                reasons=["changed outside assistops since the last apply"] if drift else [],
                changes=changes,
            )
        )

    def _delete(self, ctx: PlanContext, address: str, raw: Json, *, duplicate: bool) -> None:
        before = {"name": raw.get("name"), "model": raw.get("model")}
        step = DeleteAgent(address=address, id=raw["id"])
        retire(ctx, step, self.name, raw, duplicate=duplicate, before=before)


KIND = AgentKind()
