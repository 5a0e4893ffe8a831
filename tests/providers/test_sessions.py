"""The conversation calls of the providers (threads, streamed runs, tool outputs, run steps,
streamed Responses) through the real SDK against the local backend over HTTP."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistops.backend import RunningBackend
from assistops.backend.conversation import THREAD
from assistops.errors import ProviderError
from assistops.providers.openai_provider import OpenAIProvider
from assistops.providers.sessions import Sessions, sessions_of

FUNCTION: Any = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "parameters": {
            "type": "object",
            "properties": {"order_number": {"type": "string"}},
            "required": ["order_number"],
        },
    },
}


@pytest.fixture
def sessions(client: openai.OpenAI) -> Sessions:
    return sessions_of(OpenAIProvider(client, "local (test)"))


def test_a_streamed_run_pauses_for_a_function_and_resumes_with_its_output(
    client: openai.OpenAI, sessions: Sessions, backend: RunningBackend
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[FUNCTION])
    thread_id = sessions.create_thread({"purpose": "test"})
    sessions.add_message(thread_id, "Please lookup_order A-1")

    first = list(sessions.stream_run(thread_id, assistant.id))
    names = [e.name for e in first]
    assert names[-1] == "thread.run.requires_action"
    run = first[-1].data
    [call] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "lookup_order"

    second = list(sessions.stream_tool_outputs(thread_id, run["id"], [(call["id"], "shipped")]))
    assert second[-1].name == "thread.run.completed"
    text = "".join(
        part["text"]["value"]
        for e in second
        if e.name == "thread.message.delta"
        for part in e.data["delta"]["content"]
    )
    assert text == "lookup_order returned: shipped"
    steps = sessions.run_steps(thread_id, run["id"])
    assert [s["type"] for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0]["step_details"]["tool_calls"][0]["function"]["output"] == "shipped"

    sessions.delete_thread(thread_id)
    sessions.delete_thread(thread_id)  # already gone is fine
    assert backend.backend.store.all(THREAD) == []


def test_run_steps_carry_the_text_of_file_search_results(
    client: openai.OpenAI, sessions: Sessions
) -> None:
    upload = client.files.create(
        file=("returns.md", b"Returns are accepted for 30 days."), purpose="assistants"
    )
    store = client.vector_stores.create(file_ids=[upload.id])
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread_id = sessions.create_thread()
    sessions.add_message(thread_id, "How many days for returns?")
    events = list(sessions.stream_run(thread_id, assistant.id))
    run_id = events[0].data["id"]
    [search, _message] = sessions.run_steps(thread_id, run_id)
    [result] = search["step_details"]["tool_calls"][0]["file_search"]["results"]
    assert result["file_id"] == upload.id
    assert result["content"][0]["text"] == "Returns are accepted for 30 days."
    sessions.delete_thread(thread_id)


def test_responses_stream_and_are_deleted(client: openai.OpenAI, sessions: Sessions) -> None:
    request = {"model": "gpt-4o", "instructions": "Be brief."}
    events = list(sessions.stream_response(request, "hello", metadata={"k": "v"}))
    done = events[-1]
    assert done.name == "response.completed"
    response = done.data["response"]
    assert response["metadata"] == {"k": "v"}
    follow = list(sessions.stream_response(request, "again", previous_response_id=response["id"]))
    assert follow[-1].data["response"]["previous_response_id"] == response["id"]
    sessions.delete_response(response["id"])
    sessions.delete_response(response["id"])  # already gone is fine
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response["id"])


def test_a_refused_run_is_a_provider_error(sessions: Sessions) -> None:
    thread_id = sessions.create_thread()
    with pytest.raises(ProviderError, match="asst_missing"):
        list(sessions.stream_run(thread_id, "asst_missing"))
    sessions.delete_thread(thread_id)
