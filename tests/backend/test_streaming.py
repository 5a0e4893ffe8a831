"""Streaming runs: server-sent events read by the SDK's stream and event-handler paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jsonschema
import openai
from openai import AssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Message, Text, TextDelta
from openai.types.beta.threads.runs import RunStep, ToolCall

FUNCTION: Any = {
    "name": "get_time",
    "parameters": {
        "type": "object",
        "properties": {"zone": {"type": "string", "enum": ["UTC", "CET"]}},
        "required": ["zone"],
    },
}

REPLY_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
REPLY_TAIL = ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]


class Recorder(AssistantEventHandler):
    """Keeps what the SDK's callbacks report."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.texts_done: list[str] = []
        self.tool_calls: list[ToolCall] = []
        self.steps_done: list[RunStep] = []
        self.messages_done: list[Message] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Text) -> None:
        self.texts_done.append(text.value)

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.tool_calls.append(tool_call)

    def on_run_step_done(self, run_step: RunStep) -> None:
        self.steps_done.append(run_step)

    def on_message_done(self, message: Message) -> None:
        self.messages_done.append(message)


def _without_deltas(names: Sequence[str]) -> list[str]:
    return [n for n in names if n != "thread.message.delta"]


def test_runs_stream_feeds_the_event_handler(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    long_text = " ".join(f"word{i}" for i in range(20))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": long_text}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Recorder()
    ) as stream:
        stream.until_done()
        final_run = stream.get_final_run()
        final_messages = stream.get_final_messages()
        final_steps = stream.get_final_run_steps()
    expected = f"Echo: {long_text}"
    assert stream.events.count("thread.message.delta") > 1  # the text arrives in pieces
    assert _without_deltas(stream.events) == REPLY_EVENTS + REPLY_TAIL
    assert "".join(stream.deltas) == expected
    assert stream.texts_done == [expected]
    assert final_run.status == "completed" and final_run.usage is not None
    [message] = final_messages
    assert message.status == "completed" and message.run_id == final_run.id
    assert message.content[0].type == "text" and message.content[0].text.value == expected
    assert [s.type for s in final_steps] == ["message_creation"]
    # what was streamed is what is stored
    stored = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert stored.model_dump() == message.model_dump()
    assert (
        client.beta.threads.runs.retrieve(final_run.id, thread_id=thread.id).status == "completed"
    )


def test_create_with_stream_true_yields_typed_events(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    stream = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, stream=True
    )
    with stream:
        events = list(stream)
    names = [e.event for e in events]
    assert _without_deltas(names) == REPLY_EVENTS + REPLY_TAIL
    created = events[0]
    assert created.event == "thread.run.created" and created.data.status == "queued"
    delta = next(e for e in events if e.event == "thread.message.delta")
    assert delta.data.object == "thread.message.delta"
    assert delta.data.delta.content is not None
    assert delta.data.delta.content[0].type == "text"


def test_tool_calls_stream_then_submit_tool_outputs_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(
        model="gpt-4o", tools=[{"type": "function", "function": FUNCTION}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "time?"}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Recorder()
    ) as first:
        first.until_done()
        run = first.get_final_run()
    assert run.status == "requires_action" and run.required_action is not None
    assert first.events[-1] == "thread.run.requires_action"
    assert "thread.run.step.delta" in first.events
    [call] = first.tool_calls
    assert call.type == "function" and call.function.name == "get_time"
    jsonschema.validate(json.loads(call.function.arguments), FUNCTION["parameters"])

    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "12:00"}],
        event_handler=Recorder(),
    ) as second:
        second.until_done()
        done = second.get_final_run()
    assert done.status == "completed"
    assert second.events[:4] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
    ]
    assert "".join(second.deltas) == "get_time returned: 12:00"
    tool_step = second.steps_done[0]
    assert tool_step.step_details.type == "tool_calls"
    finished_call = tool_step.step_details.tool_calls[0]
    assert finished_call.type == "function" and finished_call.function.output == "12:00"


def test_create_and_run_stream_announces_the_thread(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "fresh"}]},
        event_handler=Recorder(),
    ) as stream:
        stream.until_done()
    assert stream.events[0] == "thread.created"
    assert _without_deltas(stream.events[1:]) == REPLY_EVENTS + REPLY_TAIL
    assert "".join(stream.deltas) == "Echo: fresh"


def test_scripted_failure_streams_run_failed(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    script = json.dumps({"fail": {"code": "server_error", "message": "boom"}})
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "x", "metadata": {"assistops_script": script}}]
    )
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Recorder()
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert stream.events == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.failed",
    ]
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.message == "boom"
