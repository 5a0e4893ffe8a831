"""Runs answered by a model: ``assistops serve`` with an upstream (issue 13, parts 2 and 3).

Every test drives the official SDK over real HTTP against a backend whose runs the
scripted upstream answers; most run once per upstream API (Chat Completions, Responses).
"""

from __future__ import annotations

import json
from typing import Any

import openai

from .scripted_upstream import ScriptedUpstream, Turn


def _assistant(sdk: openai.OpenAI, **kw: Any) -> Any:
    kw.setdefault("model", "tiny-chat")
    return sdk.beta.assistants.create(**kw)


def test_a_run_completes_with_the_models_reply_and_its_usage(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(text=["Hello", " there"], usage=(31, 4)))
    assistant = _assistant(sdk, instructions="Be brief.")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert run.last_error is None
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (31, 4)
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    assert reply.role == "assistant" and reply.run_id == run.id
    assert reply.content[0].text.value == "Hello there"  # type: ignore[union-attr]
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert [s.type for s in steps] == ["message_creation"]
    assert steps[0].usage is not None and steps[0].usage.total_tokens == 35
    [sent] = upstream.requests
    assert sent["model"] == "tiny-chat"
    if api == "chat":
        assert sent["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ]
    else:
        assert sent["instructions"] == "Be brief."
        assert sent["input"] == [{"role": "user", "content": "Hi"}]


def _run(sdk: openai.OpenAI, assistant_id: str, content: str = "Hi", **kw: Any) -> Any:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": content}])
    return sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, **kw
    )


def test_run_settings_reach_the_model(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    upstream.script(Turn(text=['{"answer": "yes"}']))
    assistant = _assistant(sdk, instructions="Base.", temperature=0.2)
    thread = sdk.beta.threads.create(
        messages=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": "three"},
        ]
    )
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_instructions="Extra.",
        top_p=0.5,
        max_completion_tokens=300,
        truncation_strategy={"type": "last_messages", "last_messages": 2},
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        },
    )
    assert run.status == "completed"
    [sent] = upstream.requests
    assert (sent["temperature"], sent["top_p"]) == (0.2, 0.5)
    if api == "chat":
        assert sent["messages"] == [
            {"role": "system", "content": "Base.\nExtra."},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": "three"},
        ]
        assert sent["max_tokens"] == 300
        assert sent["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        }
    else:
        assert sent["instructions"] == "Base.\nExtra."
        assert [i["content"] for i in sent["input"]] == ["two", "three"]
        assert sent["max_output_tokens"] == 300
        assert sent["text"]["format"]["schema"] == schema


def test_a_reply_that_breaks_the_json_schema_fails_the_run(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(text=['{"answer": 42}']))
    assistant = _assistant(
        sdk,
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "verdict",
                "schema": {
                    "type": "object",
                    "properties": {"answer": {"type": "string"}},
                    "required": ["answer"],
                },
            },
        },
    )
    run = _run(sdk, assistant.id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "does not match the response_format schema 'verdict'" in run.last_error.message
    reply = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="desc").data[0]
    assert reply.status == "incomplete"
    assert reply.incomplete_details is not None
    assert reply.incomplete_details.reason == "run_failed"


def test_an_upstream_rate_limit_fails_the_run_with_its_code_and_message(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    limited = Turn(error=(429, "Slow down, tiny-chat is busy."), headers={"retry-after": "0"})
    upstream.script(limited, limited, limited)  # the first try and both retries
    run = _run(sdk, _assistant(sdk).id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "rate_limit_exceeded"
    assert "Slow down, tiny-chat is busy." in run.last_error.message
    assert len(upstream.requests) == 3


def test_an_upstream_server_error_is_retried_then_the_run_completes(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(error=(503, "warming up"), headers={"retry-after": "0"}))
    run = _run(sdk, _assistant(sdk).id, "again")
    assert run.status == "completed"
    assert len(upstream.requests) == 2


def test_a_refused_request_fails_at_once_with_invalid_prompt(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(error=(400, "This model's maximum context length is 2048 tokens.")))
    run = _run(sdk, _assistant(sdk).id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "invalid_prompt"
    assert "maximum context length is 2048 tokens" in run.last_error.message
    assert len(upstream.requests) == 1


def test_an_unreachable_upstream_fails_the_run_with_server_error(
    upstream: ScriptedUpstream,
) -> None:
    from assistops.backend import UpstreamSettings, start_server

    from .conftest import make_client

    dead = UpstreamSettings(base_url="http://127.0.0.1:9/v1", max_retries=0, connect_timeout=2)
    with start_server(upstream=dead) as running, make_client(running) as client:
        run = _run(client, _assistant(client).id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "127.0.0.1:9" in run.last_error.message and "ConnectError" in run.last_error.message


def test_the_model_stopping_at_its_token_limit_makes_the_run_incomplete(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(text=["Once upon a"], finish="length"))
    run = _run(sdk, _assistant(sdk).id, max_completion_tokens=256)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    reply = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="desc").data[0]
    assert reply.status == "incomplete"
    assert reply.content[0].text.value == "Once upon a"  # type: ignore[union-attr]


def test_a_prompt_past_max_prompt_tokens_makes_the_run_incomplete(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(text=["ok"], usage=(900, 2)))
    run = _run(sdk, _assistant(sdk).id, max_prompt_tokens=512)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_prompt_tokens"
    assert run.usage is not None and run.usage.prompt_tokens == 900


def test_cancelling_a_run_stops_its_upstream_call(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(text=["Thinking", " hard"], hold_after=1))
    assistant = _assistant(sdk)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Think"}])
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                break  # the model is mid-reply, held by the upstream
        cancelling = sdk.beta.threads.runs.cancel(run_id=stream.current_run.id, thread_id=thread.id)  # type: ignore[union-attr]
        assert cancelling.status == "cancelling"
        rest = [event.event for event in stream]
    assert rest[-1] == "thread.run.cancelled"
    run = sdk.beta.threads.runs.retrieve(run_id=cancelling.id, thread_id=thread.id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    assert upstream.disconnects == 1 and upstream.finished == 0
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    assert reply.status == "incomplete"
    assert reply.incomplete_details is not None
    assert reply.incomplete_details.reason == "run_cancelled"
    assert reply.content[0].text.value == "Thinking"  # type: ignore[union-attr]


# -- function calling (part 3) ---------------------------------------------------------------

LOOKUP = {
    "name": "lookup_order",
    "description": "Find an order.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
    "strict": True,
}
WEATHER = {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _tools(*functions: dict[str, Any]) -> list[Any]:
    return [{"type": "function", "function": f} for f in functions]


def test_function_calls_loop_until_the_model_answers(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(calls=[("lookup_order", {"order_id": "A-7"})], usage=(40, 12)))
    assistant = _assistant(sdk, tools=_tools(LOOKUP))
    run = _run(sdk, assistant.id, "Where is A-7?")
    assert run.status == "requires_action"
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {"order_id": "A-7"}
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "shipped"}],
    )
    assert run.status == "completed"
    assert run.usage is not None and run.usage.prompt_tokens == 40 + 21
    reply = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="desc").data[0]
    assert reply.content[0].text.value == "Tool said: shipped"  # type: ignore[union-attr]
    first, second = upstream.requests
    if api == "chat":
        assert first["tools"][0]["function"]["strict"] is True
        assert first["tool_choice"] == "auto" and first["parallel_tool_calls"] is True
        assert second["messages"][-2:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "lookup_order", "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "shipped"},
        ]
    else:
        assert first["tools"][0]["name"] == "lookup_order"
        assert second["input"][-2:] == [
            {
                "type": "function_call",
                "call_id": call.id,
                "name": "lookup_order",
                "arguments": call.function.arguments,
            },
            {"type": "function_call_output", "call_id": call.id, "output": "shipped"},
        ]
    steps = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc")
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    assert steps.data[0].step_details.tool_calls[0].function.output == "shipped"  # type: ignore[union-attr]


def test_several_calls_at_once(sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str) -> None:
    upstream.script(
        Turn(calls=[("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})])
    )
    assistant = _assistant(sdk, tools=_tools(WEATHER))
    run = _run(sdk, assistant.id, "Oslo and Rome?")
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Oslo", "Rome"]
    assert len({c.id for c in calls}) == 2
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": c.id, "output": f"sunny {i}"} for i, c in enumerate(calls)],
    )
    assert run.status == "completed"
    sent = upstream.requests[1]
    outputs = (
        [m["content"] for m in sent["messages"] if m["role"] == "tool"]
        if api == "chat"
        else [i["output"] for i in sent["input"] if i.get("type") == "function_call_output"]
    )
    assert outputs == ["sunny 0", "sunny 1"]


def test_a_call_after_text_keeps_the_text_and_pauses_for_the_call(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(
        Turn(text=["Let me check", " that."], calls=[("lookup_order", {"order_id": "B-2"})]),
        Turn(text=["It shipped."]),
    )
    assistant = _assistant(sdk, tools=_tools(LOOKUP))
    run = _run(sdk, assistant.id, "B-2?")
    assert run.status == "requires_action"
    messages = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="asc").data
    assert [m.content[0].text.value for m in messages] == ["B-2?", "Let me check that."]  # type: ignore[union-attr]
    assert messages[1].status == "completed"
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
    )
    assert run.status == "completed"
    messages = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="asc").data
    assert [m.content[0].text.value for m in messages][1:] == ["Let me check that.", "It shipped."]  # type: ignore[union-attr]
    steps = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc")
    assert [s.type for s in steps.data] == ["message_creation", "tool_calls", "message_creation"]
    second = upstream.requests[1]
    if api == "chat":
        assert second["messages"][-3]["content"] == "Let me check that."
    else:
        assert second["input"][-3]["content"] == "Let me check that."


def test_strict_arguments_that_break_the_schema_fail_the_run(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(calls=[("lookup_order", {"order": 7})]))
    run = _run(sdk, _assistant(sdk, tools=_tools(LOOKUP)).id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert (
        "lookup_order" in run.last_error.message
        and "'order_id' is a required" in run.last_error.message
    )


def test_a_call_of_a_function_the_run_does_not_have_fails_the_run(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Turn(calls=[("delete_everything", {})]))
    run = _run(sdk, _assistant(sdk, tools=_tools(WEATHER)).id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert "'delete_everything', which is not one of the run's tools" in run.last_error.message


def test_tool_choice_and_parallel_tool_calls_reach_the_model(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(calls=[("get_weather", {"city": "Oslo"})]))
    assistant = _assistant(sdk, tools=_tools(WEATHER, LOOKUP))
    run = _run(
        sdk,
        assistant.id,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
    )
    assert run.status == "requires_action"
    [sent] = upstream.requests
    assert sent["parallel_tool_calls"] is False
    if api == "chat":
        assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    else:
        assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}
    sdk.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
    none = _run(sdk, assistant.id, tool_choice="none")
    assert none.status == "completed"
    assert "tools" not in upstream.requests[-1]
