"""Streamed runs answered by a model (issue 13, part 6): deltas as the upstream makes them."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import AssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Text, TextDelta
from openai.types.beta.threads.runs import ToolCall, ToolCallDelta

from .scripted_upstream import ScriptedUpstream, Turn
from .test_model_runs import LOOKUP, _tools


class Seen(AssistantEventHandler):
    """What the SDK's event handler reports."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.texts: list[str] = []
        self.argument_deltas: list[str] = []
        self.calls_done: list[ToolCall] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Text) -> None:
        self.texts.append(text.value)

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        if delta.type == "function" and delta.function and delta.function.arguments:
            self.argument_deltas.append(delta.function.arguments)

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.calls_done.append(tool_call)


def test_text_deltas_arrive_while_the_model_is_still_writing(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(text=["Hel", "lo", " wor", "ld"], hold_after=2))
    assistant = sdk.beta.assistants.create(model="tiny-chat")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    seen: list[str] = []
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for event in stream:
            seen.append(event.event)
            if (
                event.event == "thread.message.delta"
                and "".join(
                    p.text.value or ""
                    for p in event.data.delta.content or []
                    if p.type == "text"  # type: ignore[union-attr]
                )
                == "lo"
            ):
                # two pieces are here and the upstream is holding the rest: they were
                # streamed as produced, not collected until the model finished
                assert upstream.finished == 0
                upstream.release()
        final = stream.get_final_run()
    assert final.status == "completed"
    deltas = [e for e in seen if e == "thread.message.delta"]
    assert len(deltas) == 4
    assert seen[:7] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
    ]
    assert seen[-3:] == [
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]


def test_the_event_handler_sees_a_streamed_function_call_and_the_answer(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(
        Turn(text=["Checking."], calls=[("lookup_order", {"order_id": "C-3"})]),
        Turn(text=["C-3 ", "shipped ", "today."]),
    )
    assistant = sdk.beta.assistants.create(model="tiny-chat", tools=_tools(LOOKUP))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "C-3?"}])
    first = Seen()
    with sdk.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=first
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "requires_action"
    assert first.texts == ["Checking."]
    assert first.events == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        *["thread.run.step.delta"] * (1 + len(first.argument_deltas)),
        "thread.run.requires_action",
    ]
    assert json.loads("".join(first.argument_deltas)) == {"order_id": "C-3"}
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    second = Seen()
    with sdk.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "shipped"}],
        event_handler=second,
    ) as stream:
        stream.until_done()
        final: Any = stream.get_final_run()
    assert final.status == "completed"
    assert second.deltas == ["C-3 ", "shipped ", "today."]
    assert second.texts == ["C-3 shipped today."]
    assert second.events[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert second.events[-1] == "thread.run.completed"


def test_create_and_run_streams_the_new_thread_first(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = sdk.beta.assistants.create(model="tiny-chat")
    seen = Seen()
    with sdk.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "ping pong"}]},
        event_handler=seen,
    ) as stream:
        stream.until_done()
    assert seen.events[0] == "thread.created"
    assert seen.texts == ["Echo: ping pong"]
    assert seen.deltas == ["Echo: ", "ping ", "pong"]
