"""Runs through the real SDK: the responder's decisions, polling, tools, steps, rules."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx2
import jsonschema
import openai
import pytest
from openai.types.beta import Assistant, Thread

from assistops.backend import BackendControl

RUN_PATH = "GET /v1/threads/{thread_id}/runs/{run_id}"

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "when": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "note": {"type": "string"},
        },
        "required": ["city", "unit", "days", "country", "when", "tags"],
        "additionalProperties": False,
    },
}
STRICT_LOOKUP: dict[str, Any] = {
    "name": "lookup_order",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "include_items": {"type": "boolean"},
            "channel": {"anyOf": [{"type": "null"}, {"type": "string", "enum": ["web", "shop"]}]},
        },
        "required": ["order_id", "include_items", "channel"],
        "additionalProperties": False,
    },
}


def _assistant(client: openai.OpenAI, **kw: Any) -> Assistant:
    kw.setdefault("model", "gpt-4o")
    return client.beta.assistants.create(**kw)


def _thread(client: openai.OpenAI, text: str, **kw: Any) -> Thread:
    message: Any = {"role": "user", "content": text, **kw}
    return client.beta.threads.create(messages=[message])


def _last_text(client: openai.OpenAI, thread_id: str) -> str:
    message = client.beta.threads.messages.list(thread_id, limit=1).data[0]
    assert message.role == "assistant"
    block = message.content[0]
    assert block.type == "text"
    return block.text.value


def _bad_request(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    body: dict[str, Any] = info.value.body  # type: ignore[assignment]
    assert body["type"] == "invalid_request_error"
    return body


def test_plain_run_completes_with_the_echo_and_full_run_object(client: openai.OpenAI) -> None:
    assistant = _assistant(client, instructions="Be brief.", temperature=0.5)
    thread = _thread(client, "What is assistops?")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, additional_instructions="Say hi."
    )
    assert run.status == "completed" and run.object == "thread.run"
    assert run.id.startswith("run_") and run.thread_id == thread.id
    assert (run.model, run.temperature, run.top_p) == ("gpt-4o", 0.5, 1.0)
    assert run.instructions == "Be brief.\nSay hi."
    assert run.started_at is not None and run.completed_at is not None
    assert (run.expires_at, run.last_error, run.required_action) == (None, None, None)
    assert run.usage is not None and run.usage.total_tokens == (
        run.usage.prompt_tokens + run.usage.completion_tokens
    )
    # one token per 4 characters, rounded up: the reply, and instructions + thread text
    assert run.usage.completion_tokens == math.ceil(len("Echo: What is assistops?") / 4)
    assert run.usage.prompt_tokens == math.ceil(len("Be brief.\nSay hi.\nWhat is assistops?") / 4)
    assert run.truncation_strategy is not None and run.truncation_strategy.type == "auto"
    assert (run.tool_choice, run.parallel_tool_calls, run.response_format) == ("auto", True, "auto")
    assert _last_text(client, thread.id) == "Echo: What is assistops?"


def test_create_and_poll_polls_when_runs_move_on_reads(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.set_run_processing("reads", reads=1)
    assistant = _assistant(client)
    thread = _thread(client, "hello")
    created = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert created.status == "queued"
    assert client.beta.threads.messages.list(thread.id).data[0].role == "user"  # no reply yet
    client.beta.threads.runs.cancel(created.id, thread_id=thread.id)
    client.beta.threads.runs.retrieve(created.id, thread_id=thread.id)  # -> cancelled

    control.clear_requests()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    # one read moves queued -> in_progress (not terminal, so the SDK polls again), the next
    # one runs the responder
    assert control.requests()[RUN_PATH] == 2
    assert _last_text(client, thread.id) == "Echo: hello"
    raw = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert raw.headers["openai-poll-after-ms"] == "10"


def test_function_call_arguments_satisfy_the_schema_and_outputs_complete_the_run(
    client: openai.OpenAI,
) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "What's the weather in Paris?")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    assert run.expires_at is not None and run.usage is None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather"]
    arguments = json.loads(calls[0].function.arguments)
    jsonschema.validate(arguments, WEATHER["parameters"])
    assert "note" not in arguments  # only required properties when not strict

    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": '{"temp": 21}'}],
    )
    assert done.status == "completed"
    assert _last_text(client, thread.id) == 'get_weather returned: {"temp": 21}'

    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert all(s.status == "completed" and s.usage is not None for s in steps)
    details = steps[0].step_details
    assert details.type == "tool_calls"
    call = details.tool_calls[0]
    assert call.type == "function" and call.id == calls[0].id
    assert call.function.output == '{"temp": 21}'
    message_step = steps[1].step_details
    assert message_step.type == "message_creation"
    message = client.beta.threads.messages.retrieve(
        message_step.message_creation.message_id, thread_id=thread.id
    )
    assert message.run_id == run.id and message.status == "completed"
    fetched = client.beta.threads.runs.steps.retrieve(
        steps[0].id, thread_id=thread.id, run_id=run.id
    )
    assert fetched.model_dump() == steps[0].model_dump()
    assert done.usage is not None
    assert done.usage.total_tokens == sum(s.usage.total_tokens for s in steps if s.usage)


def test_strict_functions_get_every_property_and_mentions_pick_the_calls(
    client: openai.OpenAI,
) -> None:
    tools: Any = [
        {"type": "function", "function": WEATHER},
        {"type": "function", "function": STRICT_LOOKUP},
    ]
    assistant = _assistant(client, tools=tools)
    thread = _thread(client, "Please lookup_order 42 and get_weather for Oslo")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "lookup_order"]
    strict_args = json.loads(calls[1].function.arguments)
    jsonschema.validate(strict_args, STRICT_LOOKUP["parameters"])
    assert set(strict_args) == {"order_id", "include_items", "channel"}
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    client.beta.threads.messages.create(
        thread.id, role="user", content="lookup_order and get_weather"
    )
    single = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, parallel_tool_calls=False
    )
    assert single.required_action is not None
    assert len(single.required_action.submit_tool_outputs.tool_calls) == 1


def test_tool_choice_none_replies_and_named_function_is_called(client: openai.OpenAI) -> None:
    tools: Any = [
        {"type": "function", "function": WEATHER},
        {"type": "function", "function": STRICT_LOOKUP},
    ]
    assistant = _assistant(client, tools=tools)
    thread = _thread(client, "hi")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="none"
    )
    assert run.status == "completed" and _last_text(client, thread.id) == "Echo: hi"
    named = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "function", "function": {"name": "lookup_order"}},
    )
    assert named.required_action is not None
    assert named.required_action.submit_tool_outputs.tool_calls[0].function.name == "lookup_order"


def test_scripted_replies_per_thread_message_and_queue(
    client: openai.OpenAI, control: BackendControl
) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    scripted = json.dumps([{"reply": "first answer"}, {"reply": "later answers"}])
    thread = client.beta.threads.create(metadata={"assistops_script": scripted})
    answers = []
    for text in ("a", "b", "c"):
        client.beta.threads.messages.create(thread.id, role="user", content=text)
        client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        answers.append(_last_text(client, thread.id))
    assert answers == ["first answer", "later answers", "later answers"]

    # a message's own script wins over the thread's
    client.beta.threads.messages.create(
        thread.id, role="user", content="d", metadata={"assistops_script": '{"reply": "mine"}'}
    )
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert _last_text(client, thread.id) == "mine"

    # the control-plane queue wins over both, one directive per decision point
    other = _thread(client, "weather?")
    assert (
        control.script(
            {"call": "get_weather", "arguments": {"city": "Rome"}},
            {"reply": "It is sunny in Rome."},
            thread_id=other.id,
        )
        == 2
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=other.id, assistant_id=assistant.id)
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert json.loads(call.function.arguments) == {"city": "Rome"}
    client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=other.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
    )
    assert _last_text(client, other.id) == "It is sunny in Rome."


def test_scripted_failures_and_bad_scripts(client: openai.OpenAI, control: BackendControl) -> None:
    assistant = _assistant(client)
    thread = _thread(client, "x")
    control.script({"fail": {"code": "rate_limit_exceeded", "message": "slow down"}})
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.failed_at is not None
    assert run.last_error is not None
    assert (run.last_error.code, run.last_error.message) == ("rate_limit_exceeded", "slow down")

    control.script({"incomplete": "max_completion_tokens"})
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "incomplete" and run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"

    client.beta.threads.messages.create(
        thread.id, role="user", content="y", metadata={"assistops_script": '{"call": "nope"}'}
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "invalid_prompt" and "nope" in run.last_error.message

    with pytest.raises(httpx2.HTTPStatusError) as refused:
        control.script({"dance": True})
    assert refused.value.response.status_code == 400
    assert refused.value.response.json()["error"]["param"] == "replies[0]"


def test_cancel_moves_through_cancelling(client: openai.OpenAI, control: BackendControl) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "weather")
    waiting = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    cancelling = client.beta.threads.runs.cancel(waiting.id, thread_id=thread.id)
    assert cancelling.status == "cancelling" and cancelling.required_action is None
    cancelled = client.beta.threads.runs.retrieve(waiting.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    step = client.beta.threads.runs.steps.list(waiting.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at is not None

    control.set_run_processing("reads", reads=1)
    queued = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert client.beta.threads.runs.cancel(queued.id, thread_id=thread.id).status == "cancelling"
    assert client.beta.threads.runs.retrieve(queued.id, thread_id=thread.id).status == "cancelled"
    body = _bad_request(lambda: client.beta.threads.runs.cancel(queued.id, thread_id=thread.id))
    assert body["message"] == "Cannot cancel run with status 'cancelled'."


def test_one_active_run_per_thread_and_no_messages_meanwhile(client: openai.OpenAI) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "weather")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    body = _bad_request(
        lambda: client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    )
    assert body["message"] == f"Thread {thread.id} already has an active run {run.id}."
    body = _bad_request(
        lambda: client.beta.threads.messages.create(thread.id, role="user", content="more")
    )
    assert body["message"] == f"Can't add messages to {thread.id} while a run {run.id} is active."
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    client.beta.threads.messages.create(thread.id, role="user", content="more")


def test_requires_action_expires_after_ten_minutes(
    client: openai.OpenAI, control: BackendControl
) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "weather")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.expires_at == run.created_at + 600
    control.advance_clock(601)
    expired = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert expired.status == "expired" and expired.required_action is None
    body = _bad_request(
        lambda: client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
        )
    )
    assert body["message"] == 'Runs in status "expired" do not accept tool outputs.'


def test_run_request_errors(client: openai.OpenAI) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "x")
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_missing")
    assert info.value.body["message"] == "No assistant found with id 'asst_missing'."  # type: ignore[index]
    body = _bad_request(
        lambda: client.beta.threads.runs.create(thread_id=thread.id, assistant_id="x")
    )
    assert body["param"] == "assistant_id"
    many: Any = [{"type": "code_interpreter"}] * 21
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, tools=many
        )
    )
    assert (body["param"], body["code"]) == ("tools", "array_above_max_length")
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    )
    assert body["param"] == "tool_choice"
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, temperature=3
        )
    )
    assert (body["param"], body["code"]) == ("temperature", "decimal_above_max_value")
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, metadata={"k" * 65: "v"}
        )
    )
    assert body["param"] == "metadata." + "k" * 65
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.retrieve("run_missing", thread_id=thread.id)

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    body = _bad_request(
        lambda: client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_other", "output": ""}]
        )
    )
    assert body["param"] == "tool_outputs[0].tool_call_id"
    body = _bad_request(
        lambda: client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[]
        )
    )
    assert body["param"] == "tool_outputs"


def test_runs_list_modify_and_create_thread_and_run(client: openai.OpenAI) -> None:
    assistant = _assistant(client)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "new thread"}]},
        metadata={"suite": "runs"},
    )
    assert run.status == "completed" and run.metadata == {"suite": "runs"}
    assert _last_text(client, run.thread_id) == "Echo: new thread"
    updated = client.beta.threads.runs.update(run.id, thread_id=run.thread_id, metadata={"a": "b"})
    assert updated.metadata == {"a": "b"}
    second = client.beta.threads.runs.create_and_poll(
        thread_id=run.thread_id, assistant_id=assistant.id
    )
    listed = client.beta.threads.runs.list(run.thread_id, order="asc")
    assert [r.id for r in listed.data] == [run.id, second.id] and not listed.has_more


def test_json_schema_response_format_replies_with_a_valid_instance(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["answer", "confidence"],
        "additionalProperties": False,
    }
    assistant = _assistant(
        client,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": True},
        },
    )
    thread = _thread(client, "hi")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    jsonschema.validate(json.loads(_last_text(client, thread.id)), schema)


def test_code_interpreter_records_a_canned_step(client: openai.OpenAI) -> None:
    assistant = _assistant(client, tools=[{"type": "code_interpreter"}])
    thread = _thread(client, "use code_interpreter to print(1 + 1)")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    assert step.step_details.type == "tool_calls"
    call = step.step_details.tool_calls[0]
    assert call.type == "code_interpreter"
    assert call.code_interpreter.input == "use code_interpreter to print(1 + 1)"
    [logs] = call.code_interpreter.outputs
    assert logs.type == "logs"
    assert _last_text(client, thread.id) == f"code_interpreter logs: {logs.logs}"


def test_run_overrides_leave_the_assistant_alone(client: openai.OpenAI) -> None:
    assistant = _assistant(
        client, instructions="A", tools=[{"type": "function", "function": WEATHER}]
    )
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        model="gpt-4.1-mini",
        instructions="B",
        tools=[{"type": "code_interpreter"}],
        additional_messages=[{"role": "user", "content": "added by the run"}],
        top_p=0.5,
        max_completion_tokens=256,
        truncation_strategy={"type": "last_messages", "last_messages": 3},
    )
    assert run.status == "completed"  # no function tool on this run: plain reply
    assert (run.model, run.instructions, run.top_p) == ("gpt-4.1-mini", "B", 0.5)
    assert [t.type for t in run.tools] == ["code_interpreter"]
    assert run.max_completion_tokens == 256
    assert run.truncation_strategy is not None and run.truncation_strategy.last_messages == 3
    assert _last_text(client, thread.id) == "Echo: added by the run"
    again = client.beta.assistants.retrieve(assistant.id)
    assert again.instructions == "A" and [t.type for t in again.tools] == ["function"]
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, max_prompt_tokens=10
        )
    )
    assert body["param"] == "max_prompt_tokens"


def test_steps_paginate(client: openai.OpenAI, control: BackendControl) -> None:
    assistant = _assistant(client, tools=[{"type": "function", "function": WEATHER}])
    thread = _thread(client, "x")
    control.script({"call": "get_weather"}, {"call": "get_weather"}, thread_id=thread.id)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    for _ in range(2):
        assert run.required_action is not None
        call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call_id, "output": "1"}],
        )
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, limit=1, order="asc")
    assert len(steps.data) == 1 and steps.has_more
    walked = list(
        client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, limit=1, order="asc")
    )
    assert [s.type for s in walked] == ["tool_calls", "tool_calls", "message_creation"]
    assert _last_text(client, thread.id) == "get_weather returned: 1\nget_weather returned: 1"
