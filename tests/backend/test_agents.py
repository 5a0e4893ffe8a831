"""Agents (beta ``/v1/agents``) through the real SDK, parsing every response strictly.

There is no OpenAPI description of this API, so the contract recorder (which would
flag every 2xx as "no such operation") is not used: the SDK's own types, with
``_strict_response_validation=True``, are the oracle for successful responses, and
every error body is still checked against the subset's ``ErrorResponse`` envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from conftest import make_client
from contract.validator import ERROR_SCHEMA, load_contract
from openai.types.beta import Agent

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.limits import AGENT_TOOLS_JSON_MAX_BYTES

BETA = {"OpenAI-Beta": "agents=v1"}
FUNCTION: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
MCP: dict[str, Any] = {
    "type": "mcp",
    "server_label": "docs",
    "transport": {"type": "http", "server_url": "https://mcp.example.com/mcp"},
}


def _errors_are_envelopes(response: httpx2.Response) -> None:
    if response.status_code < 400:
        return
    response.read()
    found = load_contract().check_schema(
        response.json(), ERROR_SCHEMA, op=str(response.request.url), part="error"
    )
    assert not found, found


def _strict_client(backend: RunningBackend, **kw: Any) -> openai.OpenAI:
    hooks = {"response": [_errors_are_envelopes]}
    return make_client(
        backend,
        _strict_response_validation=True,
        http_client=openai.DefaultHttpx2Client(event_hooks=hooks),
        **kw,
    )


@pytest.fixture
def sdk(backend: RunningBackend) -> Iterator[openai.OpenAI]:
    """A strict SDK client of the session's backend."""
    with _strict_client(backend) as client:
        assert client._strict_response_validation is True
        yield client


def _bad_request(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert info.value.status_code == 400
    body: dict[str, Any] = info.value.body
    assert body["type"] == "invalid_request_error"
    return body


# shapes and defaults ---------------------------------------------------------------------


def test_create_returns_every_field_resolved(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(model="gpt-5")
    assert created.id.startswith("agent_") and len(created.id) == len("agent_") + 24
    raw = sdk.beta.agents.with_raw_response.retrieve(created.id).http_response.json()
    assert raw == {
        "id": created.id,
        "object": "agent",
        "created_at": created.created_at,
        "updated_at": created.created_at,
        "name": None,
        "model": "gpt-5",
        "instructions": None,
        "tools": [],
        "metadata": {},
        "reasoning": {"effort": "medium", "summary": None},
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "service_tier": "auto",
        "multi_agent": {"enabled": False, "max_concurrent_subagents": None},
        "compaction": {"async": False},
        "experimental": {"time_awareness": False},
    }
    assert sdk.beta.agents.retrieve(created.id) == created


def test_every_tool_type_gets_its_defaults(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(
        model="gpt-5",
        tools=[
            FUNCTION,
            {**FUNCTION, "name": "later", "defer_loading": True, "async": True},
            {"type": "tool_search"},
            {"type": "programmatic_tool_calling"},
            MCP,
            {
                "type": "mcp",
                "server_label": "local",
                "transport": {"type": "stdio", "command": "npx", "cwd": "/work"},
                "allowed_tools": ["search"],
                "required": True,
            },
            {"type": "web_search", "location": {"country": "US"}},
            {"type": "computer_use"},
            {"type": "automations"},
        ],
    )
    raw = sdk.beta.agents.with_raw_response.retrieve(created.id).http_response.json()
    tools = raw["tools"]
    assert tools[0] == {**FUNCTION, "defer_loading": False}  # no "async" unless given
    assert (tools[1]["defer_loading"], tools[1]["async"]) == (True, True)
    assert tools[2] == {"type": "tool_search"}
    assert tools[3] == {"type": "programmatic_tool_calling", "enabled": True}
    assert tools[4] == {
        "type": "mcp",
        "server_label": "docs",
        "transport": {
            "type": "http",
            "server_url": "https://mcp.example.com/mcp",
            "headers": {},
        },
        "allowed_tools": None,
        "connection_origin": "service",
        "credential_id": None,
        "request_metadata": {},
        "required": False,
    }
    assert tools[5]["transport"] == {
        "type": "stdio",
        "command": "npx",
        "cwd": "/work",
        "args": [],
        "env_vars": [],
    }
    assert (tools[5]["allowed_tools"], tools[5]["required"]) == (["search"], True)
    assert tools[6] == {
        "type": "web_search",
        "allowed_domains": None,
        "context_size": "medium",
        "location": {"city": None, "country": "US", "region": None, "timezone": None},
        "mode": "live",
    }
    assert tools[7] == {"type": "computer_use", "include_screenshots": False}
    assert tools[8] == {"type": "automations"}
    assert [t.type for t in created.tools] == [t["type"] for t in tools]


def test_settings_resolve_as_given(sdk: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    created = sdk.beta.agents.create(
        model="gpt-5",
        name="support",
        instructions="Be brief.",
        metadata={"team": "care"},
        reasoning={"effort": "high", "summary": "auto"},
        text={"format": {"type": "json_schema", "schema": schema}, "verbosity": "low"},
        service_tier="flex",
        multi_agent={"enabled": True},
        compaction={"async": True},
        experimental={"time_awareness": True},
    )
    assert (created.name, created.instructions) == ("support", "Be brief.")
    assert created.reasoning.model_dump() == {"effort": "high", "summary": "auto"}
    assert created.text.format.type == "json_schema"
    assert created.text.model_dump(by_alias=True) == {
        "format": {"type": "json_schema", "schema": schema},
        "verbosity": "low",
    }
    assert created.service_tier == "flex"
    assert created.multi_agent.model_dump() == {"enabled": True, "max_concurrent_subagents": 6}
    assert created.compaction is not None and created.compaction.async_ is True
    assert created.experimental is not None and created.experimental.time_awareness is True
    capped = sdk.beta.agents.create(
        model="gpt-5", multi_agent={"enabled": True, "max_concurrent_subagents": 2}
    )
    assert capped.multi_agent.max_concurrent_subagents == 2
    off = sdk.beta.agents.create(
        model="gpt-5", multi_agent={"enabled": False, "max_concurrent_subagents": 2}
    )
    assert off.multi_agent.model_dump() == {"enabled": False, "max_concurrent_subagents": None}


def test_nulls_on_create_are_the_defaults(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(
        model="gpt-5",
        name=None,
        instructions=None,
        metadata=None,
        reasoning=None,
        text=None,
        service_tier=None,
        multi_agent=None,
        compaction=None,
        tools=None,
    )
    plain = sdk.beta.agents.create(model="gpt-5")
    ignore = {"id", "created_at", "updated_at"}
    assert created.model_dump(exclude=ignore) == plain.model_dump(exclude=ignore)


def test_lengths_are_counted_in_characters(sdk: openai.OpenAI) -> None:
    assert sdk.beta.agents.create(model="m", name="é" * 256).name == "é" * 256


# the round trip --------------------------------------------------------------------------


def test_create_retrieve_update_list_delete(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(model="gpt-5", name="first", tools=[FUNCTION])
    assert sdk.beta.agents.retrieve(created.id) == created
    updated = sdk.beta.agents.update(created.id, name="renamed")
    assert (updated.id, updated.name) == (created.id, "renamed")
    assert sdk.beta.agents.retrieve(created.id) == updated
    page = sdk.beta.agents.list()
    assert [a.id for a in page.data] == [created.id]
    assert page.has_more is False
    gone = sdk.beta.agents.delete(created.id)
    assert (gone.id, gone.object, gone.deleted) == (created.id, "agent.deleted", True)
    assert sdk.beta.agents.list().data == []
    for call in (sdk.beta.agents.retrieve, sdk.beta.agents.delete):
        with pytest.raises(openai.NotFoundError):
            call(created.id)


def test_update_is_partial_replaces_tools_and_metadata_and_keeps_the_id(
    sdk: openai.OpenAI, control: BackendControl
) -> None:
    control.seed(None, frozen_at=1_800_000_000)
    created = sdk.beta.agents.create(
        model="gpt-5",
        name="bot",
        instructions="Be brief.",
        metadata={"a": "1", "b": "2"},
        tools=[FUNCTION, MCP],
        reasoning={"effort": "low"},
        service_tier="priority",
    )
    control.advance_clock(30)
    updated = sdk.beta.agents.update(
        created.id, metadata={"c": "3"}, tools=[{"type": "web_search"}]
    )
    assert updated.id == created.id
    assert (updated.created_at, updated.updated_at) == (1_800_000_000, 1_800_000_030)
    assert updated.metadata == {"c": "3"}
    assert [t.type for t in updated.tools] == ["web_search"]
    keep = ("model", "name", "instructions", "reasoning", "text", "service_tier", "multi_agent")
    assert {k: getattr(updated, k) for k in keep} == {k: getattr(created, k) for k in keep}
    assert sdk.beta.agents.update(created.id, model="gpt-5-mini").model == "gpt-5-mini"


def test_null_resets_a_field_to_its_default(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(
        model="gpt-5",
        name="bot",
        instructions="Be brief.",
        metadata={"a": "1"},
        tools=[FUNCTION],
        reasoning={"effort": "low", "summary": "concise"},
        text={"verbosity": "high"},
        service_tier="flex",
        multi_agent={"enabled": True},
        compaction={"async": True},
    )
    cleared = sdk.beta.agents.update(
        created.id,
        name=None,
        instructions=None,
        metadata=None,
        tools=None,
        reasoning=None,
        text=None,
        service_tier=None,
        multi_agent=None,
        compaction=None,
    )
    plain = sdk.beta.agents.create(model="gpt-5")
    ignore = {"id", "created_at", "updated_at"}
    assert cleared.model_dump(exclude=ignore) == plain.model_dump(exclude=ignore)
    assert sdk.beta.agents.update(created.id, metadata={"x": "1"}).metadata == {"x": "1"}
    assert sdk.beta.agents.update(created.id, metadata={}).metadata == {}


def test_objects_replace_and_experimental_merges(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(
        model="gpt-5",
        reasoning={"effort": "high", "summary": "auto"},
        text={"format": {"type": "json_schema", "schema": {"type": "object"}}},
        experimental={"time_awareness": True},
    )
    updated = sdk.beta.agents.update(
        created.id, reasoning={"summary": "concise"}, text={"verbosity": "low"}
    )
    # a supplied object replaces the settings: what it leaves out is the default again
    assert updated.reasoning.model_dump() == {"effort": "medium", "summary": "concise"}
    assert updated.text.model_dump() == {"format": {"type": "text"}, "verbosity": "low"}
    assert updated.experimental is not None and updated.experimental.time_awareness is True
    merged = sdk.beta.agents.update(created.id, experimental={})
    assert merged.experimental is not None and merged.experimental.time_awareness is True
    off = sdk.beta.agents.update(created.id, experimental={"time_awareness": False})
    assert off.experimental is not None and off.experimental.time_awareness is False


def test_an_empty_update_only_moves_updated_at(sdk: openai.OpenAI, control: BackendControl) -> None:
    control.seed(3, frozen_at=1_800_000_000)
    created = sdk.beta.agents.create(model="gpt-5", name="bot")
    control.advance_clock(5)
    same = sdk.beta.agents.update(created.id)
    assert same.model_dump(exclude={"updated_at"}) == created.model_dump(exclude={"updated_at"})
    assert same.updated_at == created.updated_at + 5


# lists -----------------------------------------------------------------------------------


@pytest.fixture
def five(sdk: openai.OpenAI, control: BackendControl) -> list[str]:
    """Five agents, oldest first, created in the same second (order by insertion)."""
    control.seed(11, frozen_at=1_800_000_000)
    return [sdk.beta.agents.create(model="m", name=f"a{i}").id for i in range(5)]


def test_list_defaults_to_newest_first_and_twenty(sdk: openai.OpenAI, five: list[str]) -> None:
    page = sdk.beta.agents.list()
    assert [a.id for a in page.data] == five[::-1]
    assert page.has_more is False
    raw = sdk.beta.agents.with_raw_response.list(limit=2).http_response.json()
    assert raw["object"] == "list"
    assert (raw["first_id"], raw["last_id"], raw["has_more"]) == (five[4], five[3], True)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_list_pages_with_after_in_both_orders(
    sdk: openai.OpenAI, five: list[str], order: str
) -> None:
    expected = five if order == "asc" else five[::-1]
    first = sdk.beta.agents.list(limit=2, order=order)
    assert [a.id for a in first.data] == expected[:2] and first.has_more is True
    second = sdk.beta.agents.list(limit=2, order=order, after=first.data[-1].id)
    assert [a.id for a in second.data] == expected[2:4] and second.has_more is True
    last = sdk.beta.agents.list(limit=2, order=order, after=second.data[-1].id)
    assert [a.id for a in last.data] == expected[4:] and last.has_more is False
    # the SDK's auto-pager follows the same cursors
    assert [a.id for a in sdk.beta.agents.list(limit=2, order=order)] == expected


def test_list_query_errors(sdk: openai.OpenAI, five: list[str]) -> None:
    for query, param in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"order": "newest"}, "order"),
        ({"after": "agent_nope"}, "after"),
    ):
        body = _bad_request(lambda q=query: sdk.beta.agents.list(**q))
        assert body["param"] == param
    body = _bad_request(lambda: sdk.beta.agents.list(extra_query={"before": five[0]}))
    assert (body["param"], body["code"]) == ("before", "unknown_parameter")
    assert len(sdk.beta.agents.list(limit=100).data) == 5


# validation ------------------------------------------------------------------------------


def _fn(**changes: Any) -> dict[str, Any]:
    return {**FUNCTION, **changes}


def _mcp(**changes: Any) -> dict[str, Any]:
    return {**MCP, **changes}


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"model": ""}, "model", "string_below_min_length"),
        ({"name": "n" * 257}, "name", "string_above_max_length"),
        ({"name": 5}, "name", "invalid_type"),
        (
            {"metadata": {f"k{i}": "v" for i in range(17)}},
            "metadata",
            "object_above_max_properties",
        ),
        ({"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65, "invalid_property_name"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ({"metadata": ["k"]}, "metadata", "invalid_type"),
        ({"tools": {"type": "function"}}, "tools", "invalid_type"),
        ({"tools": [{"name": "f"}]}, "tools[0].type", "missing_required_parameter"),
        ({"tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        ({"tools": [_fn(name="has space")]}, "tools[0].name", "invalid_value"),
        ({"tools": [_fn(name="f" * 65)]}, "tools[0].name", "string_above_max_length"),
        ({"tools": [_fn(name="")]}, "tools[0].name", "string_below_min_length"),
        (
            {"tools": [{k: v for k, v in FUNCTION.items() if k != "description"}]},
            "tools[0].description",
            "missing_required_parameter",
        ),
        (
            {"tools": [{k: v for k, v in FUNCTION.items() if k != "parameters"}]},
            "tools[0].parameters",
            "missing_required_parameter",
        ),
        ({"tools": [_fn(parameters="{}")]}, "tools[0].parameters", "invalid_type"),
        (
            {"tools": [_fn(parameters={"type": "strng"})]},
            "tools[0].parameters",
            "invalid_function_parameters",
        ),
        (
            {"tools": [_fn(parameters={"type": "string"})]},
            "tools[0].parameters",
            "invalid_function_parameters",
        ),
        (
            {"tools": [_fn(parameters={"type": "object", "required": "city"})]},
            "tools[0].parameters",
            "invalid_function_parameters",
        ),
        ({"tools": [_fn(strict=True)]}, "tools[0].strict", "unknown_parameter"),
        ({"tools": [_fn(defer_loading="yes")]}, "tools[0].defer_loading", "invalid_type"),
        ({"tools": [_fn(), _fn()]}, "tools[1].name", "invalid_value"),
        (
            {"tools": [{k: v for k, v in MCP.items() if k != "server_label"}]},
            "tools[0].server_label",
            "missing_required_parameter",
        ),
        ({"tools": [_mcp(server_label="a b")]}, "tools[0].server_label", "invalid_value"),
        (
            {"tools": [{k: v for k, v in MCP.items() if k != "transport"}]},
            "tools[0].transport",
            "missing_required_parameter",
        ),
        (
            {"tools": [_mcp(transport={"type": "http"})]},
            "tools[0].transport.server_url",
            "missing_required_parameter",
        ),
        (
            {"tools": [_mcp(transport={"type": "http", "server_url": "ftp://x.example"})]},
            "tools[0].transport.server_url",
            "invalid_value",
        ),
        (
            {"tools": [_mcp(transport={"type": "http", "server_url": "not a url"})]},
            "tools[0].transport.server_url",
            "invalid_value",
        ),
        (
            {"tools": [_mcp(transport={"type": "websocket", "server_url": "wss://x"})]},
            "tools[0].transport.type",
            "invalid_value",
        ),
        (
            {"tools": [_mcp(transport={"type": "stdio", "command": "npx"})]},
            "tools[0].transport.cwd",
            "missing_required_parameter",
        ),
        ({"tools": [_mcp(allowed_tools="search")]}, "tools[0].allowed_tools", "invalid_type"),
        ({"tools": [_mcp(allowed_tools=[1])]}, "tools[0].allowed_tools[0]", "invalid_type"),
        ({"tools": [_mcp(), _mcp()]}, "tools[1].server_label", "invalid_value"),
        (
            {"tools": [_mcp(connection_origin="browser")]},
            "tools[0].connection_origin",
            "invalid_value",
        ),
        (
            {"tools": [{"type": "web_search", "context_size": "huge"}]},
            "tools[0].context_size",
            "invalid_value",
        ),
        ({"tools": [{"type": "web_search", "mode": "offline"}]}, "tools[0].mode", "invalid_value"),
        (
            {"tools": [{"type": "web_search", "location": {"country": "USA"}}]},
            "tools[0].location.country",
            "string_above_max_length",
        ),
        (
            {"tools": [{"type": "web_search"}, {"type": "web_search"}]},
            "tools[1].type",
            "invalid_value",
        ),
        (
            {"tools": [{"type": "computer_use", "include_screenshots": "no"}]},
            "tools[0].include_screenshots",
            "invalid_type",
        ),
        (
            {"tools": [{"type": "computer_use", "display_width": 1024}]},
            "tools[0].display_width",
            "unknown_parameter",
        ),
        ({"text": {"format": {"type": "json_object"}}}, "text.format.type", "invalid_value"),
        (
            {"text": {"format": {"type": "json_schema"}}},
            "text.format.schema",
            "missing_required_parameter",
        ),
        (
            {"text": {"format": {"type": "json_schema", "schema": "{}"}}},
            "text.format.schema",
            "invalid_type",
        ),
        (
            {"text": {"format": {"type": "json_schema", "schema": {"type": "array"}}}},
            "text.format.schema",
            "invalid_json_schema",
        ),
        (
            {"text": {"format": {"type": "json_schema", "schema": {"type": 1}}}},
            "text.format.schema",
            "invalid_json_schema",
        ),
        (
            {"text": {"format": {"type": "json_schema", "name": "x", "schema": {}}}},
            "text.format.name",
            "unknown_parameter",
        ),
        ({"text": {"verbosity": "loud"}}, "text.verbosity", "invalid_value"),
        ({"reasoning": {"effort": "huge"}}, "reasoning.effort", "invalid_value"),
        ({"reasoning": {"summary": "long"}}, "reasoning.summary", "invalid_value"),
        ({"service_tier": "scale"}, "service_tier", "invalid_value"),
        ({"multi_agent": {}}, "multi_agent.enabled", "missing_required_parameter"),
        (
            {"multi_agent": {"enabled": True, "max_concurrent_subagents": 0}},
            "multi_agent.max_concurrent_subagents",
            "integer_below_min_value",
        ),
        ({"compaction": {"async": "later"}}, "compaction.async", "invalid_type"),
        ({"experimental": None}, "experimental", "invalid_type"),
        ({"experimental": {"time_awareness": None}}, "experimental.time_awareness", "invalid_type"),
        ({"experimental": {"memory": True}}, "experimental.memory", "unknown_parameter"),
    ],
)
def test_invalid_create_is_a_400_with_param_path(
    sdk: openai.OpenAI, kwargs: dict[str, Any], param: str, code: str
) -> None:
    body = _bad_request(lambda: sdk.beta.agents.create(**{"model": "gpt-5", **kwargs}))
    assert (body["param"], body["code"]) == (param, code)
    assert sdk.beta.agents.list().data == []


@pytest.mark.parametrize("kind", ["file_search", "code_interpreter"])
def test_assistants_tools_are_refused_by_name(sdk: openai.OpenAI, kind: str) -> None:
    body = _bad_request(
        lambda: sdk.beta.agents.create(model="gpt-5", tools=[FUNCTION, {"type": kind}])
    )
    assert (body["param"], body["code"]) == ("tools[1].type", "invalid_value")
    assert f"Agents have no '{kind}' tool" in body["message"]
    # the same list as the union's own refusal of an unknown type
    unknown = _bad_request(lambda: sdk.beta.agents.create(model="gpt-5", tools=[{"type": "x"}]))
    assert body["message"].endswith(unknown["message"].split("Supported values are: ")[1])


def test_error_messages_are_worded_like_the_service(sdk: openai.OpenAI) -> None:
    missing = _bad_request(
        lambda: sdk.post("/agents", body={}, cast_to=Agent, options={"headers": BETA})
    )
    assert missing == {
        "message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "missing_required_parameter",
    }
    unknown = _bad_request(
        lambda: sdk.beta.agents.create(model="gpt-5", extra_body={"temperature": 0.2})
    )
    assert unknown["message"] == "Unknown parameter: 'temperature'."
    bad_type = _bad_request(
        lambda: sdk.beta.agents.create(model="gpt-5", tools=[{"type": "browser"}])
    )
    assert bad_type["message"] == (
        "Invalid value: 'browser'. Supported values are: 'function', 'tool_search', "
        "'programmatic_tool_calling', 'mcp', 'web_search', 'computer_use', and 'automations'."
    )
    schema = _bad_request(
        lambda: sdk.beta.agents.create(model="gpt-5", tools=[_fn(parameters={"type": "string"})])
    )
    assert schema["message"] == (
        "Invalid schema for function 'get_weather': schema must be a JSON Schema of "
        "'type: \"object\"', got 'type: \"string\"'."
    )


def test_function_parameters_may_be_empty(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(model="gpt-5", tools=[_fn(parameters={})])
    assert created.tools[0].type == "function" and created.tools[0].parameters == {}


def test_the_tool_list_is_at_most_3_mib_of_compact_json(sdk: openai.OpenAI) -> None:
    def tools_of(size: int) -> list[dict[str, Any]]:
        tool = _fn(description="")
        base = len(json.dumps([tool], separators=(",", ":")).encode())
        return [_fn(description="d" * (size - base))]

    fits = tools_of(AGENT_TOOLS_JSON_MAX_BYTES)
    assert len(json.dumps(fits, separators=(",", ":")).encode()) == AGENT_TOOLS_JSON_MAX_BYTES
    created = sdk.beta.agents.create(model="gpt-5", tools=fits)
    assert len(created.tools) == 1
    body = _bad_request(
        lambda: sdk.beta.agents.create(
            model="gpt-5",
            tools=tools_of(AGENT_TOOLS_JSON_MAX_BYTES + 1),
        )
    )
    assert (body["param"], body["code"]) == ("tools", "invalid_value")
    assert "3,145,729 bytes" in body["message"]
    update = _bad_request(
        lambda: sdk.beta.agents.update(
            created.id,
            tools=tools_of(AGENT_TOOLS_JSON_MAX_BYTES + 1),
        )
    )
    assert update["param"] == "tools"


def test_invalid_update_changes_nothing(sdk: openai.OpenAI) -> None:
    created = sdk.beta.agents.create(model="gpt-5", name="kept", tools=[FUNCTION])
    for kwargs, param in (
        ({"model": None}, "model"),
        ({"name": "n" * 257}, "name"),
        ({"tools": [FUNCTION, {"type": "file_search"}]}, "tools[1].type"),
        ({"tools": [_fn(parameters={"type": "array"})]}, "tools[0].parameters"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"reasoning": {"effort": "huge"}}, "reasoning.effort"),
        ({"experimental": None}, "experimental"),
    ):
        body = _bad_request(lambda kw=kwargs: sdk.beta.agents.update(created.id, **kw))
        assert body["param"] == param
    assert sdk.beta.agents.retrieve(created.id) == created


# unknown ids, the beta header ------------------------------------------------------------


def test_unknown_agent_is_a_404(sdk: openai.OpenAI) -> None:
    for call in (
        lambda: sdk.beta.agents.retrieve("agent_nope"),
        lambda: sdk.beta.agents.update("agent_nope", name="x"),
        lambda: sdk.beta.agents.delete("agent_nope"),
        lambda: sdk.beta.agents.retrieve("asst_abc"),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert info.value.status_code == 404
        body: dict[str, Any] = info.value.body
        assert body["type"] == "invalid_request_error" and body["param"] is None
        assert body["message"].startswith("No agent found with id '")


@pytest.mark.parametrize("name", ["sessions", "environments", "automations"])
def test_unserved_sub_resources_are_unknown_urls_not_agents(sdk: openai.OpenAI, name: str) -> None:
    for method in ("get", "post", "delete"):
        with pytest.raises(openai.NotFoundError) as info:
            kw: dict[str, Any] = {"body": {}} if method == "post" else {}
            getattr(sdk, method)(f"/agents/{name}", cast_to=object, options={"headers": BETA}, **kw)
        message = info.value.body["message"]
        assert message == f"Invalid URL ({method.upper()} /v1/agents/{name})"
    with pytest.raises(openai.NotFoundError):
        sdk.get(f"/agents/{name}/x", cast_to=object, options={"headers": BETA})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/agents", {"model": "gpt-5"}),
        ("GET", "/agents", None),
        ("GET", "/agents/{id}", None),
        ("POST", "/agents/{id}", {"name": "x"}),
        ("DELETE", "/agents/{id}", None),
    ],
)
def test_requests_without_the_beta_header_are_refused(
    sdk: openai.OpenAI,
    backend: RunningBackend,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    agent = sdk.beta.agents.create(model="gpt-5")
    url = backend.base_url + path.format(id=agent.id)
    auth = {"Authorization": "Bearer test-key"}
    with httpx2.Client() as http:
        for headers in (auth, {**auth, "OpenAI-Beta": "assistants=v2"}):
            response = http.request(method, url, json=body, headers=headers)
            assert response.status_code == 400
            assert response.json() == {
                "error": {
                    "message": "You must provide the 'OpenAI-Beta' header to access the Agents "
                    "API. Please try again by setting the header 'OpenAI-Beta: agents=v1'.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        several = {**auth, "OpenAI-Beta": "assistants=v2, agents=v1"}
        assert http.request(method, url, json=body, headers=several).status_code == 200
    if method != "DELETE":
        assert sdk.beta.agents.retrieve(agent.id).id == agent.id


# ids, time, persistence, faults ----------------------------------------------------------


def test_seeded_ids_and_frozen_clock_are_deterministic(
    sdk: openai.OpenAI, control: BackendControl
) -> None:
    control.seed(7, frozen_at=1_700_000_000)
    first = sdk.beta.agents.create(model="gpt-5")
    control.reset()
    control.seed(7, frozen_at=1_700_000_000)
    with pytest.raises(openai.BadRequestError):
        sdk.beta.agents.create(model="")  # a refused create takes no id
    again = sdk.beta.agents.create(model="gpt-5")
    assert first.id == again.id
    assert first.created_at == again.created_at == again.updated_at == 1_700_000_000


def test_sqlite_file_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state" / "local.db"
    with start_server(db) as first, _strict_client(first) as client:
        agent = client.beta.agents.create(
            model="gpt-5", name="kept", metadata={"a": "1"}, tools=[FUNCTION, MCP]
        )
        gone = client.beta.agents.create(model="gpt-5")
        client.beta.agents.delete(gone.id)
    with start_server(db) as second, _strict_client(second) as client:
        assert client.beta.agents.retrieve(agent.id) == agent
        assert [a.id for a in client.beta.agents.list()] == [agent.id]


def test_requests_are_counted_by_route(sdk: openai.OpenAI, control: BackendControl) -> None:
    agent = sdk.beta.agents.create(model="gpt-5")
    sdk.beta.agents.retrieve(agent.id)
    sdk.beta.agents.retrieve(agent.id)
    sdk.beta.agents.list()
    counts = control.requests()
    assert counts["POST /v1/agents"] == 1
    assert counts["GET /v1/agents/{agent_id}"] == 2
    assert counts["GET /v1/agents"] == 1


def test_commit_then_error_duplicates_the_create(
    sdk: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("commit_then_error", "POST /v1/agents", retry_after=0.01)
    sdk.beta.agents.create(model="gpt-5", name="only-once")
    assert [a.name for a in sdk.beta.agents.list()] == ["only-once", "only-once"]
    assert control.requests()["POST /v1/agents"] == 2


def test_rate_limit_and_error_faults_are_retried(
    sdk: openai.OpenAI, control: BackendControl
) -> None:
    agent = sdk.beta.agents.create(model="gpt-5")
    control.add_fault("rate_limit", "GET /v1/agents/{agent_id}", retry_after=0.01)
    control.add_fault("error", "POST /v1/agents/{agent_id}", retry_after=0.01)
    assert sdk.beta.agents.retrieve(agent.id).id == agent.id
    assert sdk.beta.agents.update(agent.id, name="after").name == "after"
    counts = control.requests()
    assert counts["GET /v1/agents/{agent_id}"] == 2
    assert counts["POST /v1/agents/{agent_id}"] == 2
    assert [f["fired"] for f in control.faults()] == [1, 1]


def test_drop_is_a_connection_error(backend: RunningBackend, control: BackendControl) -> None:
    control.add_fault("drop", "DELETE /v1/agents/{agent_id}")
    with _strict_client(backend, max_retries=0) as client:
        agent = client.beta.agents.create(model="gpt-5")
        with pytest.raises(openai.APIConnectionError):
            client.beta.agents.delete(agent.id)
        assert client.beta.agents.retrieve(agent.id).id == agent.id  # not deleted
