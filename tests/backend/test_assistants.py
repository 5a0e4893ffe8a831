"""Assistants through the real SDK: shapes, partial modify, limits, errors."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistops.backend import BackendControl


def _bad_request(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert info.value.status_code == 400
    body: dict[str, Any] = info.value.body  # type: ignore[assignment]
    assert body["type"] == "invalid_request_error"
    return body


def test_create_returns_every_field_with_defaults(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o")
    raw = created.model_dump()
    assert created.id.startswith("asst_") and len(created.id) == 29
    assert created.object == "assistant"
    assert {k: raw[k] for k in ("name", "description", "instructions")} == {
        "name": None,
        "description": None,
        "instructions": None,
    }
    assert created.tools == []
    assert created.metadata == {}
    assert created.temperature == 1.0 and created.top_p == 1.0
    assert created.response_format == "auto"
    fetched = client.beta.assistants.retrieve(created.id)
    assert fetched.model_dump() == raw


def test_tools_get_the_services_defaults_and_reasoning_effort_is_write_only(
    client: openai.OpenAI,
) -> None:
    created = client.beta.assistants.create(
        model="o3-mini",
        reasoning_effort="high",
        tools=[
            {"type": "code_interpreter"},
            {"type": "file_search", "file_search": {"max_num_results": 5}},
            {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
        ],
    )
    tools = [t.model_dump(exclude_none=True) for t in created.tools]
    assert tools[0] == {"type": "code_interpreter"}
    assert tools[1]["file_search"] == {
        "max_num_results": 5,
        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
    }
    assert tools[2]["function"] == {"name": "get_weather", "parameters": {}, "strict": False}
    raw = client.beta.assistants.with_raw_response.retrieve(created.id).http_response.json()
    assert "reasoning_effort" not in raw


def test_modify_is_partial_and_replaces_tools_resources_and_metadata(
    client: openai.OpenAI,
) -> None:
    store = client.vector_stores.create(name="kb")
    created = client.beta.assistants.create(
        model="gpt-4o",
        name="bot",
        instructions="be brief",
        temperature=0.2,
        metadata={"a": "1", "b": "2"},
        tools=[{"type": "code_interpreter"}, {"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    modified = client.beta.assistants.update(
        created.id,
        description="new",
        metadata={"c": "3"},
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": []}},
    )
    assert modified.name == "bot" and modified.instructions == "be brief"
    assert modified.temperature == 0.2
    assert modified.description == "new"
    assert modified.metadata == {"c": "3"}
    assert [t.type for t in modified.tools] == ["code_interpreter"]
    assert modified.tool_resources is not None
    assert modified.tool_resources.model_dump(exclude_none=True) == {
        "code_interpreter": {"file_ids": []}
    }
    cleared = client.beta.assistants.update(created.id, name=None, temperature=None)
    assert cleared.name is None and cleared.temperature == 1.0


def test_tool_resources_vector_stores_helper_creates_a_store(client: openai.OpenAI) -> None:
    file = client.files.create(file=("kb.md", b"# KB\nfacts"), purpose="assistants")
    created = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [file.id]}]}},
    )
    assert created.tool_resources is not None and created.tool_resources.file_search is not None
    (store_id,) = created.tool_resources.file_search.vector_store_ids or []
    store = client.vector_stores.retrieve(store_id)
    assert store.file_counts.total == 1


def test_delete_then_404(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o")
    gone = client.beta.assistants.delete(created.id)
    assert (gone.id, gone.object, gone.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.retrieve(created.id)
    assert info.value.body == {
        "message": f"No assistant found with id '{created.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.delete(created.id)


def test_wrong_id_prefix_is_refused(client: openai.OpenAI) -> None:
    body = _bad_request(lambda: client.beta.assistants.retrieve("vs_123"))
    assert body["param"] == "assistant_id"
    assert body["message"].endswith("Expected an ID that begins with 'asst'.")


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"name": "n" * 257}, "name", "string_above_max_length"),
        ({"description": "d" * 513}, "description", "string_above_max_length"),
        ({"instructions": "i" * 256_001}, "instructions", "string_above_max_length"),
        ({"tools": [{"type": "code_interpreter"}] * 129}, "tools", "array_above_max_length"),
        ({"temperature": 2.5}, "temperature", "decimal_above_max_value"),
        ({"top_p": -0.1}, "top_p", "decimal_below_min_value"),
        (
            {"metadata": {f"k{i}": "v" for i in range(17)}},
            "metadata",
            "object_above_max_properties",
        ),
        ({"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65, "invalid_property_name"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length"),
        (
            {"tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
            "tools[0].file_search.max_num_results",
            "integer_above_max_value",
        ),
        (
            {"tools": [{"type": "file_search", "file_search": {"max_num_results": 0}}]},
            "tools[0].file_search.max_num_results",
            "integer_below_min_value",
        ),
        (
            {
                "tools": [
                    {
                        "type": "file_search",
                        "file_search": {"ranking_options": {"score_threshold": 1.5}},
                    }
                ]
            },
            "tools[0].file_search.ranking_options.score_threshold",
            "decimal_above_max_value",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "has space"}}]},
            "tools[0].function.name",
            "invalid_value",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f" * 65}}]},
            "tools[0].function.name",
            "string_above_max_length",
        ),
        ({"tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        (
            {"tool_resources": {"code_interpreter": {"file_ids": ["file-x"] * 21}}},
            "tool_resources.code_interpreter.file_ids",
            "array_above_max_length",
        ),
        (
            {"tool_resources": {"file_search": {"vector_store_ids": ["vs_a", "vs_b"]}}},
            "tool_resources.file_search.vector_store_ids",
            "array_above_max_length",
        ),
        ({"response_format": "xml"}, "response_format", "invalid_value"),
        ({"reasoning_effort": "huge"}, "reasoning_effort", "invalid_value"),
    ],
)
def test_limits_are_400_with_param_path(
    client: openai.OpenAI, kwargs: dict[str, Any], param: str, code: str
) -> None:
    body = _bad_request(lambda: client.beta.assistants.create(model="gpt-4o", **kwargs))
    assert (body["param"], body["code"]) == (param, code)


def test_lengths_are_counted_in_characters(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o", name="é" * 256)
    assert created.name == "é" * 256


def test_unknown_parameters_are_refused_with_their_path(client: openai.OpenAI) -> None:
    body = _bad_request(
        lambda: client.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"file_ids": ["file-1"]}}
        )
    )
    assert body["code"] == "unknown_parameter"
    assert body["message"] == "Unknown parameter: 'tool_resources.file_search.file_ids'."
    top = _bad_request(
        lambda: client.beta.assistants.create(model="gpt-4o", extra_body={"colour": "red"})
    )
    assert (top["param"], top["message"]) == ("colour", "Unknown parameter: 'colour'.")


def test_missing_model_and_unknown_references(client: openai.OpenAI) -> None:
    body = _bad_request(lambda: client.post("/assistants", body={}, cast_to=object))
    assert (body["param"], body["code"]) == ("model", "missing_required_parameter")
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"vector_store_ids": ["vs_nope"]}}
        )
    assert info.value.body["message"] == "No vector store found with id 'vs_nope'."  # type: ignore[index]


def test_seeded_ids_and_frozen_clock_are_deterministic(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.seed(7, frozen_at=1_700_000_000)
    first = client.beta.assistants.create(model="gpt-4o")
    control.reset()
    control.seed(7, frozen_at=1_700_000_000)
    again = client.beta.assistants.create(model="gpt-4o")
    assert first.id == again.id
    assert first.created_at == again.created_at == 1_700_000_000
