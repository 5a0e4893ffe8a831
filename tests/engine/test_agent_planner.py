"""The agent kind planned as a pure function of desired and live state (no HTTP)."""

from __future__ import annotations

import pytest
from planner_factories import (
    PROJECT,
    World,
    desired,
    discover,
    make_assistant,
    make_file,
    make_store,
    ops,
    plan_of,
)

from assistops.kinds import agent
from assistops.kinds.agent import AgentSpec, from_assistant
from assistops.kinds.spec import DesiredState


@pytest.fixture(autouse=True)
def contract_checked() -> None:
    """No SDK client is built here: the engine conftest's contract recorder is not needed."""


LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order.",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    },
}
MCP = {
    "type": "mcp",
    "server_label": "tickets",
    "transport": {"type": "http", "server_url": "https://mcp.acme.example/sse"},
    "allowed_tools": ["open_ticket"],
}
FORMAT = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": {"type": "object"}}}


def make_agent(name: str = "support", **overrides: object) -> AgentSpec:
    fields: dict[str, object] = {
        "tools": (LOOKUP, MCP),
        "response_format": FORMAT,
        "reasoning_effort": "low",
        "instructions": "Help customers.",
        "metadata": {"owner": "support-team"},
    }
    fields.update(overrides)
    return from_assistant(make_assistant(name, **fields))  # type: ignore[arg-type]


def agents_state(*specs: object) -> DesiredState:
    return desired(*specs, api="agents")  # type: ignore[arg-type]


def applied(state: DesiredState) -> World:
    world = World()
    for spec in state.of_type(AgentSpec):
        world.add_agent(spec)
    return world


def test_an_assistant_becomes_an_agent_with_flat_functions_and_a_text_format() -> None:
    spec = make_agent()
    assert spec.address == "agent.support"
    assert spec.tools[0] == {
        "type": "function",
        "name": "lookup_order",
        "description": "Find an order.",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    }
    assert spec.tools[1] == MCP
    assert spec.text_format == {"type": "json_schema", "schema": {"type": "object"}}
    body = agent.body(spec, project=PROJECT, environment="prod", revision="r1")
    assert body["reasoning"] == {"effort": "low"}
    assert body["metadata"]["assistops"] == f"{PROJECT}/prod/agent.support"
    assert body["metadata"]["owner"] == "support-team"


def test_applied_agents_plan_no_steps() -> None:
    state = agents_state(make_agent(), make_agent("triage", tools=(), response_format=None))
    plan = plan_of(state, applied(state))
    assert plan.steps == []
    assert {r.action for r in plan.resources} == {"no-op"}


def test_agents_from_empty_are_created_and_assistants_are_never_listed() -> None:
    world = World()
    state = agents_state(make_agent())
    plan = plan_of(state, world)
    assert ops(plan) == ["create_agent"]
    live = discover(world, api="agents")
    assert "assistant" not in live.parts
    assert "agent" in live.parts


def test_an_instruction_edit_updates_the_agent_in_place() -> None:
    state = agents_state(make_agent())
    world = applied(state)
    edited = agents_state(make_agent(instructions="Help customers kindly."))
    plan = plan_of(edited, world)
    assert ops(plan) == ["update_agent"]
    [step] = plan.steps
    assert step.id == world.agents[0]["id"]  # type: ignore[attr-defined]
    [change] = plan.changes
    assert [c.path for c in change.changes] == ["instructions"]
    assert not change.drift


def test_an_agent_changed_outside_assistops_is_drift_and_is_restored() -> None:
    state = agents_state(make_agent())
    world = applied(state)
    world.agents[0]["model"] = "gpt-4.1"
    plan = plan_of(state, world)
    [change] = plan.changes
    assert change.drift
    assert change.reasons == ["changed outside assistops since the last apply"]
    assert ops(plan) == ["update_agent"]
    assert plan.steps[0].body["model"] == state.resources["agent.support"].model  # type: ignore[attr-defined]


def test_a_new_required_parameter_is_flagged_as_breaking() -> None:
    state = agents_state(make_agent())
    world = applied(state)
    params = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
        "required": ["email"],
    }
    changed = dict(LOOKUP, function={**LOOKUP["function"], "parameters": params})  # type: ignore[dict-item]
    plan = plan_of(agents_state(make_agent(tools=(changed, MCP))), world)
    [change] = plan.changes
    assert change.breaking
    assert {c.breaking for c in change.breaking} == {"new required parameter 'email'"}


def test_duplicate_agents_keep_the_matching_one_and_orphans_are_deleted() -> None:
    state = agents_state(make_agent())
    world = applied(state)
    world.add_agent(make_agent(instructions="an older revision"))  # newer, digest differs
    world.add_agent(make_agent("retired"))
    plan = plan_of(state, world)
    deleted = {(s.address, s.id) for s in plan.steps if s.op == "delete_agent"}  # type: ignore[attr-defined]
    assert deleted == {
        ("agent.support", world.agents[1]["id"]),
        ("agent.retired", world.agents[2]["id"]),
    }
    flags = {r.address: (r.duplicate, r.orphan) for r in plan.deletes}
    assert flags == {"agent.support": (True, False), "agent.retired": (False, True)}


def test_knowledge_only_on_an_agents_environment_lists_no_assistant_and_no_agent_change() -> None:
    doc = make_file("vector_store.handbook", "knowledge/handbook/faq.md", "# FAQ\n")
    state = agents_state(make_store("handbook", doc), doc)
    plan = plan_of(state, World())
    assert ops(plan) == ["upload_file", "create_vector_store", "attach_files"]


def test_of_two_agents_with_one_digest_the_one_still_as_declared_is_kept() -> None:
    state = agents_state(make_agent())
    world = applied(state)
    world.add_agent(make_agent())
    edited, intact = world.agents
    edited["instructions"] = "changed by hand"  # the older copy no longer holds the declaration
    plan = plan_of(state, world)
    assert ops(plan) == ["delete_agent"]
    assert plan.steps[0].id == edited["id"]  # type: ignore[attr-defined]
    kept = [r for r in plan.resources if r.id == intact["id"]]
    assert [r.action for r in kept] == ["no-op"]
