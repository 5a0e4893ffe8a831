"""The responder's pure parts: schema samples, retrieval chunks, decision rules, scripts."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistops.backend import responder
from assistops.backend.responder import (
    CallFunctions,
    Fail,
    Reply,
    RunInput,
    ScriptError,
    ToolResult,
    Turn,
    decide,
    parse_directive,
)
from assistops.backend.retrieval import Document, chunks, search
from assistops.backend.schema_sample import pattern_sample, sample

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "exclusiveMinimum": 3, "multipleOf": 5},
            "x": {"type": "number", "minimum": -2.5, "maximum": -1},
            "s": {"type": "string", "minLength": 12, "maxLength": 14},
            "e": {"enum": [3, "b"]},
            "c": {"const": {"k": [1]}},
            "nullable": {"type": ["null", "boolean"]},
        },
        "required": ["n", "x", "s", "e", "c", "nullable"],
    },
    {
        "$defs": {
            "item": {
                "type": "object",
                "properties": {"sku": {"$ref": "#/$defs/sku"}},
                "required": ["sku"],
            },
            "sku": {"type": "string", "pattern": "^SKU-[0-9]{4}$"},
        },
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 2}
        },
        "required": ["items"],
    },
    {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "pick": {
                "oneOf": [{"type": "string", "maxLength": 2, "minLength": 2}, {"type": "integer"}]
            },
            "both": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
                ]
            },
        },
        "required": ["when", "mail", "pick", "both"],
        "minProperties": 4,
    },
    {"type": "object", "properties": {}, "additionalProperties": False},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 3},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("strict", [False, True])
def test_samples_validate_against_their_schema(schema: dict[str, Any], strict: bool) -> None:
    jsonschema.validate(sample(schema, strict=strict), schema)


def test_sample_rules_are_the_documented_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"enum": ["c", "f"]},
            "count": {"type": "integer", "minimum": 2},
            "flag": {"type": "boolean"},
            "optional": {"type": "string"},
        },
        "required": ["city", "unit", "count", "flag"],
    }
    assert sample(schema) == {"city": "string", "unit": "c", "count": 2, "flag": True}
    assert sample(schema, strict=True)["optional"] == "string"


@pytest.mark.parametrize(
    "pattern",
    [r"^[A-Z]{3}-\d{2,}$", r"^(foo|bar)\.json$", r"[^a-z]+", r"^\+?[0-9]{7,15}$", r"\w\W\s"],
)
def test_pattern_samples_match(pattern: str) -> None:
    assert re.search(pattern, pattern_sample(pattern))


@given(st.text(alphabet=st.sampled_from("ab \n\t.x"), max_size=3000))
def test_chunks_are_exact_nonblank_substrings(text: str) -> None:
    for offset, chunk in chunks(text):
        assert text[offset : offset + len(chunk)] == chunk
        assert chunk == chunk.strip() and chunk


def test_search_ranks_by_share_of_query_terms_then_order() -> None:
    docs = [
        Document("file-a", "a.md", "Refunds take 5 days.\n\nShipping is free."),
        Document("file-b", "b.md", "Shipping refunds are fast. Shipping!"),
    ]
    hits = search("shipping refunds", docs, max_results=5)
    assert [(h.file_id, h.score) for h in hits] == [
        ("file-b", 1.0),
        ("file-a", 0.5),
        ("file-a", 0.5),
    ]
    assert search("shipping refunds", docs, max_results=5, score_threshold=0.6)[0].score == 1.0
    assert search("the of and", docs, max_results=5) == []


FUNCTION = {"type": "function", "function": {"name": "ping", "parameters": {"type": "object"}}}


def test_default_rules() -> None:
    said = [Turn("user", "hello ping")]
    plain = decide(RunInput(tools=[], messages=said))
    assert plain.outcome == Reply("Echo: hello ping")
    assert decide(RunInput(tools=[FUNCTION], messages=said, tool_choice="none")).outcome == Reply(
        "Echo: hello ping"
    )
    called = decide(RunInput(tools=[FUNCTION], messages=said)).outcome
    assert isinstance(called, CallFunctions) and called.calls[0].arguments == "{}"
    answered = decide(
        RunInput(
            tools=[FUNCTION], messages=said, tool_results=[ToolResult("c", "ping", "{}", "pong")]
        )
    )
    assert answered.outcome == Reply("ping returned: pong")
    as_json = decide(RunInput(tools=[], messages=said, response_format={"type": "json_object"}))
    assert isinstance(as_json.outcome, Reply)
    assert json.loads(as_json.outcome.text) == {"reply": "Echo: hello ping"}
    assert decide(RunInput(tools=[], messages=[])).outcome == Reply("Echo: ")


def test_script_sources_and_their_order() -> None:
    message = Turn("user", "x", {responder.SCRIPT_KEY: '{"reply": "from message"}'})
    thread_script = {responder.SCRIPT_KEY: '[{"reply": "t0"}, {"reply": "t1"}]'}
    base = RunInput(tools=[FUNCTION], messages=[message], thread_metadata=thread_script)
    assert decide(base).outcome == Reply("from message")
    queued = RunInput(tools=[FUNCTION], messages=[message], queued={"reply": "queued"})
    assert decide(queued).outcome == Reply("queued")
    plain_message = RunInput(
        tools=[], messages=[Turn("user", "x")], thread_metadata=thread_script, run_index=5
    )
    assert decide(plain_message).outcome == Reply("t1")
    broken = decide(RunInput(tools=[], messages=[Turn("user", "x", {responder.SCRIPT_KEY: "{"})]))
    assert isinstance(broken.outcome, Fail) and broken.outcome.code == "invalid_prompt"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"reply": 3},
        {"call": "f", "extra": 1},
        {"calls": []},
        {"fail": {"code": "nope", "message": "m"}},
        {"incomplete": "tired"},
        {"expire": False},
        "reply",
    ],
)
def test_malformed_directives_are_refused(raw: Any) -> None:
    with pytest.raises(ScriptError):
        parse_directive(raw)
