"""Threads and messages through the real SDK: shapes, CRUD, pagination, errors."""

from __future__ import annotations

from typing import Any

import openai
import pytest


def _error(call: Any, kind: type[openai.APIStatusError] = openai.BadRequestError) -> Any:
    with pytest.raises(kind) as info:
        call()
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error"
    return body


def test_thread_create_with_messages_then_retrieve_modify_delete(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "Hello", "metadata": {"n": "1"}},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi, how can I help?"}]},
        ],
        metadata={"team": "support"},
    )
    assert thread.id.startswith("thread_") and thread.object == "thread"
    assert thread.metadata == {"team": "support"}
    raw = client.beta.threads.with_raw_response.retrieve(thread.id).http_response.json()
    assert raw["tool_resources"] == {}

    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    first = messages[0]
    assert first.id.startswith("msg_") and first.object == "thread.message"
    assert first.thread_id == thread.id and first.metadata == {"n": "1"}
    assert first.content[0].model_dump() == {
        "type": "text",
        "text": {"value": "Hello", "annotations": []},
    }
    assert (first.assistant_id, first.run_id, first.attachments) == (None, None, [])

    modified = client.beta.threads.update(thread.id, metadata={"team": "sales"})
    assert modified.metadata == {"team": "sales"}
    assert client.beta.threads.retrieve(thread.id).metadata == {"team": "sales"}

    gone = client.beta.threads.delete(thread.id)
    assert (gone.id, gone.object, gone.deleted) == (thread.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.retrieve(thread.id)
    assert info.value.body == {
        "message": f"No thread found with id '{thread.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_thread_tool_resources_name_existing_stores(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="kb")
    thread = client.beta.threads.create(
        tool_resources={"file_search": {"vector_store_ids": [store.id]}}
    )
    assert thread.tool_resources is not None and thread.tool_resources.file_search is not None
    assert thread.tool_resources.file_search.vector_store_ids == [store.id]
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.create(
            tool_resources={"file_search": {"vector_store_ids": ["vs_missing"]}}
        )


def test_message_retrieve_modify_delete(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread.id, role="user", content=[{"type": "text", "text": "part one"}]
    )
    fetched = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert fetched.model_dump() == message.model_dump()
    assert fetched.status == "completed"

    updated = client.beta.threads.messages.update(
        message.id, thread_id=thread.id, metadata={"k": "v"}
    )
    assert updated.metadata == {"k": "v"}
    gone = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert (gone.object, gone.deleted) == ("thread.message.deleted", True)
    assert client.beta.threads.messages.list(thread.id).data == []


def test_messages_paginate_in_both_orders_with_cursors(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    ids = [
        client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id
        for i in range(5)
    ]
    page = client.beta.threads.messages.list(thread.id, limit=2, order="asc")
    assert [m.id for m in page.data] == ids[:2] and page.has_more
    walked = [m.id for m in client.beta.threads.messages.list(thread.id, limit=2, order="asc")]
    assert walked == ids
    newest_first = [m.id for m in client.beta.threads.messages.list(thread.id, limit=3)]
    assert newest_first == ids[::-1]
    before = client.beta.threads.messages.list(thread.id, order="asc", before=ids[3], limit=2)
    assert [m.id for m in before.data] == ids[1:3]


def test_messages_list_filters_by_run_id(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    first = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    client.beta.threads.messages.create(thread.id, role="user", content="two")
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )

    by_first = client.beta.threads.messages.list(thread.id, run_id=first.id).data
    by_second = client.beta.threads.messages.list(thread.id, run_id=second.id).data
    assert [m.content[0].text.value for m in by_first] == ["Echo: one"]  # type: ignore[union-attr]
    assert [m.content[0].text.value for m in by_second] == ["Echo: two"]  # type: ignore[union-attr]
    assert by_first[0].run_id == first.id and by_first[0].assistant_id == assistant.id
    assert len(client.beta.threads.messages.list(thread.id).data) == 4


def test_message_validation_errors_name_the_param(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    body = _error(
        lambda: client.beta.threads.messages.create(
            thread.id, role="user", content="x", metadata={f"k{i}": "v" for i in range(17)}
        )
    )
    assert (body["param"], body["code"]) == ("metadata", "object_above_max_properties")
    body = _error(
        lambda: client.beta.threads.messages.create(
            thread.id,
            role="user",
            content="x",
            extra_body={"colour": "blue"},
        )
    )
    assert (body["param"], body["code"]) == ("colour", "unknown_parameter")
    body = _error(
        lambda: client.beta.threads.create(
            messages=[{"role": "user", "content": "x", "metadata": {"k": "v" * 513}}]
        )
    )
    assert (body["param"], body["code"]) == ("messages[0].metadata.k", "string_above_max_length")
    body = _error(
        lambda: client.beta.threads.messages.create(thread.id, role="system", content="x")  # type: ignore[arg-type]
    )
    assert body["param"] == "role"
    _error(lambda: client.beta.threads.messages.list(thread.id, limit=101))


def test_unknown_message_in_known_thread_is_404(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    body = _error(
        lambda: client.beta.threads.messages.retrieve("msg_nope", thread_id=thread.id),
        openai.NotFoundError,
    )
    assert body["message"] == "No message found with id 'msg_nope'."
