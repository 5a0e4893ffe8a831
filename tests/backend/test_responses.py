"""The Responses API (``/v1/responses``) through the real SDK.

``sdk`` parses every response with ``_strict_response_validation=True`` *and* checks every
exchange (and every streamed event) against the vendored OpenAPI subset; ``client`` is the
contract-checked client the other backend tests use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import make_client
from contract.validator import ContractRecorder
from pydantic import BaseModel

from assistops.backend import BackendControl, RunningBackend

MODEL = "gpt-4.1-mini"
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
HANDBOOK = {
    "shipping.md": (
        "# Shipping\n\n"
        "Standard shipping takes 3 to 5 business days and is free above 50 EUR.\n"
        "Express shipping takes 1 to 2 business days and costs 9.90 EUR.\n"
    ),
    "returns.md": "# Returns\n\nUnused items can be returned within 30 days of delivery.\n",
}


@pytest.fixture
def sdk(backend: RunningBackend, contract: ContractRecorder) -> Iterator[openai.OpenAI]:
    """A strict SDK client whose exchanges are contract-checked."""
    with make_client(backend, recorder=contract, _strict_response_validation=True) as client:
        yield client
    contract.assert_clean()


def _store(client: openai.OpenAI, tmp_path: Path) -> tuple[str, dict[str, str]]:
    store = client.vector_stores.create(name="handbook")
    names = {}
    for name, text in HANDBOOK.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with path.open("rb") as fh:
            uploaded = client.files.create(file=fh, purpose="assistants")
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=uploaded.id)
        names[uploaded.id] = name
    return store.id, names


def _bad(call: Any, status: int = 400) -> dict[str, Any]:
    with pytest.raises(openai.APIStatusError) as info:
        call()
    assert info.value.status_code == status
    body = info.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    return body


# -- plain answers --------------------------------------------------------------------------


def test_a_string_input_is_echoed_with_usage_and_the_request_settings(
    sdk: openai.OpenAI,
) -> None:
    response = sdk.responses.create(
        model=MODEL,
        input="Hello there",
        instructions="Be brief.",
        temperature=0.5,
        top_p=0.9,
        metadata={"app": "demo"},
        reasoning={"effort": "low"},
    )
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", MODEL)
    assert response.output_text == "Echo: Hello there"
    [message] = response.output
    assert message.type == "message"
    assert message.role == "assistant" and message.status == "completed"
    assert message.content[0].type == "output_text"
    assert message.content[0].annotations == []
    assert response.instructions == "Be brief."
    assert (response.temperature, response.top_p) == (0.5, 0.9)
    assert response.metadata == {"app": "demo"}
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.previous_response_id is None
    assert response.parallel_tool_calls is True and response.tool_choice == "auto"
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "text"
    usage = response.usage
    assert usage is not None
    # one token per 4 characters of instructions + input, and of the reply
    assert usage.input_tokens == len("Be brief.\nHello there") // 4 + 1
    assert usage.output_tokens == len("Echo: Hello there") // 4 + 1
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_the_latest_user_message_of_a_list_input_is_answered(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Echo: first"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "second"}],
            },
        ],
    )
    assert response.output_text == "Echo: second"


def test_a_scripted_reply_comes_from_metadata_or_the_control_queue(
    sdk: openai.OpenAI, control: BackendControl
) -> None:
    scripted = sdk.responses.create(
        model=MODEL,
        input="hi",
        metadata={"assistops_script": json.dumps({"reply": "Scripted."})},
    )
    assert scripted.output_text == "Scripted."
    control.script({"fail": {"code": "server_error", "message": "boom"}})
    failed = sdk.responses.create(model=MODEL, input="hi")
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == ("server_error", "boom")
    assert failed.output == []
    control.script({"incomplete": "max_completion_tokens"})
    cut = sdk.responses.create(model=MODEL, input="hi")
    assert cut.status == "incomplete"
    assert cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"


# -- structured output --------------------------------------------------------------------------


class Weather(BaseModel):
    city: str
    degrees: int
    sunny: bool


def test_json_schema_output_conforms_and_parses(sdk: openai.OpenAI) -> None:
    parsed = sdk.responses.parse(model=MODEL, input="Weather in Paris?", text_format=Weather)
    assert isinstance(parsed.output_parsed, Weather)
    assert parsed.text is not None and parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"


def test_json_object_output_wraps_the_reply(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(
        model=MODEL, input="hi", text={"format": {"type": "json_object"}}
    )
    assert json.loads(response.output_text) == {"reply": "Echo: hi"}


# -- function calls ---------------------------------------------------------------------------


def test_function_round_trip_with_previous_response_id(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(
        model=MODEL, input="What is the weather in Paris?", tools=[WEATHER]
    )
    assert first.status == "completed"
    [call] = first.output
    assert call.type == "function_call"
    assert call.name == "get_weather" and call.status == "completed"
    assert call.call_id.startswith("call_") and call.id is not None
    arguments = json.loads(call.arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("c", "f")
    assert first.output_text == ""
    assert first.tools[0].type == "function"

    second = sdk.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C"}],
        tools=[WEATHER],
    )
    assert second.previous_response_id == first.id
    assert second.output_text == "get_weather returned: 18 C"


def test_function_outputs_with_the_calls_replayed_as_input(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="get_weather please", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "get_weather please"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=[WEATHER],
    )
    assert second.output_text == "get_weather returned: sunny"


def test_tool_choice_none_and_named(client: openai.OpenAI) -> None:
    plain = client.responses.create(
        model=MODEL, input="weather?", tools=[WEATHER], tool_choice="none"
    )
    assert plain.output_text == "Echo: weather?"
    named = client.responses.create(
        model=MODEL,
        input="hello",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
    )
    assert named.output[0].type == "function_call"
    assert named.tool_choice.type == "function"  # type: ignore[union-attr]


def test_unanswered_and_unknown_calls_are_refused(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="weather", tools=[WEATHER])
    body = _bad(
        lambda: client.responses.create(
            model=MODEL, previous_response_id=first.id, input="and now?", tools=[WEATHER]
        )
    )
    assert body["param"] == "input" and "No tool output found" in body["message"]
    body = _bad(
        lambda: client.responses.create(
            model=MODEL,
            input=[{"type": "function_call_output", "call_id": "call_nope", "output": "x"}],
        )
    )
    assert body["param"] == "input"
    assert body["message"] == (
        "No tool call found for function call output with call_id call_nope."
    )


# -- file search ----------------------------------------------------------------------------


def test_file_search_answers_with_a_citation(sdk: openai.OpenAI, tmp_path: Path) -> None:
    store_id, names = _store(sdk, tmp_path)
    response = sdk.responses.create(
        model=MODEL,
        input="How many days does express shipping take?",
        tools=[{"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 5}],
        include=["file_search_call.results"],
    )
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["How many days does express shipping take?"]
    assert search.results and search.results[0].filename == "shipping.md"
    assert message.type == "message"
    text = message.content[0]
    assert text.type == "output_text"
    assert text.text.startswith('From shipping.md: "')
    [citation] = text.annotations
    assert citation.type == "file_citation"
    assert names[citation.file_id] == "shipping.md"
    assert citation.filename == "shipping.md"
    assert citation.index == len(text.text) - 1  # just after the quoted chunk


def test_file_search_results_only_when_included(client: openai.OpenAI, tmp_path: Path) -> None:
    store_id, _ = _store(client, tmp_path)
    tool: Any = {"type": "file_search", "vector_store_ids": [store_id]}
    response = client.responses.create(model=MODEL, input="returned within days", tools=[tool])
    assert response.output[0].type == "file_search_call"
    assert response.output[0].results is None
    again = client.responses.retrieve(response.id, include=["file_search_call.results"])
    assert again.output[0].type == "file_search_call"
    assert again.output[0].results and again.output[0].results[0].filename == "returns.md"


def test_file_search_filters_select_files_by_attributes(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    store_id, names = _store(client, tmp_path)
    for file_id, name in names.items():
        client.vector_stores.files.update(
            vector_store_id=store_id, file_id=file_id, attributes={"topic": name[:-3]}
        )
    response = client.responses.create(
        model=MODEL,
        input="How many days does express shipping take?",
        tools=[
            {
                "type": "file_search",
                "vector_store_ids": [store_id],
                "filters": {"type": "eq", "key": "topic", "value": "returns"},
            }
        ],
    )
    assert response.output_text.startswith('From returns.md: "')


# -- streaming --------------------------------------------------------------------------------

MESSAGE_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_stream_events_and_the_final_response(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=MODEL, input="Tell me something nice") as stream:
        events = [event.type for event in stream]
        final = stream.get_final_response()
    deduped = [e for i, e in enumerate(events) if i == 0 or e != events[i - 1]]
    assert deduped == MESSAGE_EVENTS
    assert final.status == "completed"
    assert final.output_text == "Echo: Tell me something nice"
    assert sdk.responses.retrieve(final.id).output_text == final.output_text


def test_create_stream_true_streams_function_call_arguments(client: openai.OpenAI) -> None:
    stream = client.responses.create(model=MODEL, input="weather", tools=[WEATHER], stream=True)
    events = list(stream)
    names = [e.type for e in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.output[0].type == "function_call"


def test_stream_of_a_file_search(client: openai.OpenAI, tmp_path: Path) -> None:
    store_id, _ = _store(client, tmp_path)
    with client.responses.stream(
        model=MODEL,
        input="express shipping days",
        tools=[{"type": "file_search", "vector_store_ids": [store_id]}],
    ) as stream:
        names = [event.type for event in stream]
        final = stream.get_final_response()
    assert names[2:7] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert "response.output_text.annotation.added" in names
    assert final.output[1].type == "message"


# -- chaining, retrieve, delete, store ----------------------------------------------------------


def test_previous_response_id_chains_but_does_not_carry_instructions(
    sdk: openai.OpenAI,
) -> None:
    first = sdk.responses.create(model=MODEL, input="one", instructions="Be terse.")
    second = sdk.responses.create(model=MODEL, input="two", previous_response_id=first.id)
    assert second.instructions is None
    assert second.output_text == "Echo: two"
    usage = second.usage
    assert usage is not None
    # the chain's items count as input: "one", "Echo: one", "two"
    assert usage.input_tokens == len("\none\nEcho: one\ntwo") // 4 + 1


def test_retrieve_and_delete(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input="keep me")
    fetched = sdk.responses.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()
    assert sdk.responses.delete(created.id) is None
    body = _bad(lambda: sdk.responses.retrieve(created.id), 404)
    assert body["message"] == f"Response with id '{created.id}' not found."
    _bad(lambda: sdk.responses.delete(created.id), 404)


def test_a_response_not_stored_cannot_be_retrieved_or_continued(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model=MODEL, input="forget me", store=False)
    assert response.store is False
    _bad(lambda: sdk.responses.retrieve(response.id), 404)
    body = _bad(
        lambda: sdk.responses.create(model=MODEL, input="x", previous_response_id=response.id)
    )
    assert body["code"] == "previous_response_not_found"


# -- validation -------------------------------------------------------------------------------


def test_validation_errors(client: openai.OpenAI) -> None:
    body = _bad(lambda: client.responses.create(input="hi"))  # type: ignore[call-overload]
    assert (body["param"], body["code"]) == ("model", "missing_required_parameter")
    body = _bad(
        lambda: client.responses.create(
            model=MODEL, input="hi", tools=[{"type": "code_interpreter", "container": "auto"}]
        )
    )
    assert (body["param"], body["code"]) == ("tools[0].type", "invalid_value")
    assert "'function' and 'file_search'" in body["message"]
    body = _bad(
        lambda: client.responses.create(model=MODEL, input="hi", previous_response_id="resp_x")
    )
    assert (body["param"], body["code"]) == ("previous_response_id", "previous_response_not_found")
    assert body["message"] == "Previous response with id 'resp_x' not found."
    body = _bad(
        lambda: client.responses.create(
            model=MODEL, input="hi", metadata={f"k{i}": "v" for i in range(17)}
        )
    )
    assert (body["param"], body["code"]) == ("metadata", "object_above_max_properties")
    body = _bad(lambda: client.responses.create(model=MODEL, input="hi", metadata={"k": "v" * 513}))
    assert (body["param"], body["code"]) == ("metadata.k", "string_above_max_length")
    body = _bad(
        lambda: client.responses.create(
            model=MODEL,
            input="hi",
            tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}],
        ),
        404,
    )
    assert body["param"] == "tools[0].vector_store_ids[0]"
    body = _bad(
        lambda: client.responses.create(
            model=MODEL,
            input="hi",
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "other"},
        )
    )
    assert body["param"] == "tool_choice"


# -- counts and faults ------------------------------------------------------------------------


def test_requests_are_counted_and_faults_fire(client_factory: Any, control: BackendControl) -> None:
    sdk = client_factory(max_retries=0)
    control.add_fault("error", "POST /v1/responses", should_retry=False, status=503)
    with pytest.raises(openai.InternalServerError):
        sdk.responses.create(model=MODEL, input="hi")
    created = sdk.responses.create(model=MODEL, input="hi")
    sdk.responses.retrieve(created.id)
    counts = control.requests()
    assert counts["POST /v1/responses"] == 2
    assert counts["GET /v1/responses/{response_id}"] == 1
