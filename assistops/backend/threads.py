"""Threads: ``/v1/threads`` (create with messages, retrieve, modify, delete).

``tool_resources`` is resolved by :mod:`assistops.backend.tools` (``{}`` when absent; named
files and vector stores must exist; the ``vector_stores`` helper creates a store).
Deleting a thread deletes its messages, runs and run steps.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assistops.backend import tools
from assistops.backend.conversation import MESSAGE, RUN, STEP, THREAD, require_thread
from assistops.backend.core import Backend
from assistops.backend.messages import CreateMessage, add_message
from assistops.backend.parsing import Body, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_metadata, deleted, public


class CreateThread(Body):
    """``CreateThreadRequest``."""

    messages: list[CreateMessage] = Field(default_factory=list)
    tool_resources: tools.ToolResources | None = None
    metadata: Any = None


class ModifyThread(Body):
    """``ModifyThreadRequest``: tool_resources and metadata replace what was there."""

    tool_resources: tools.ModifyToolResources | None = None
    metadata: Any = None


def create_thread(backend: Backend, request: CreateThread, param: str = "") -> Doc:
    """Validate and store a thread with its initial messages."""
    metadata = check_metadata(request.metadata, f"{param}metadata") or {}
    with backend.store.transaction():
        doc: Doc = {
            "id": backend.new_id("thread_"),
            "object": "thread",
            "created_at": backend.now(),
            "metadata": metadata,
            "tool_resources": tools.resolve_tool_resources(backend, request.tool_resources),
        }
        backend.store.insert(THREAD, doc)
        for i, message in enumerate(request.messages):
            add_message(backend, doc["id"], message, f"{param}messages[{i}].")
    return doc


def delete_thread(backend: Backend, thread_id: str) -> None:
    """Remove a thread and everything in it."""
    with backend.store.transaction():
        require_thread(backend, thread_id)
        for run in backend.store.all(RUN, parent=thread_id):
            backend.store.delete_children(STEP, run["id"])
        backend.store.delete_children(RUN, thread_id)
        backend.store.delete_children(MESSAGE, thread_id)
        backend.store.delete(THREAD, thread_id)


def _create(backend: Backend, call: Call) -> Doc:
    return public(create_thread(backend, parse(CreateThread, call.body)))


def _retrieve(backend: Backend, call: Call) -> Doc:
    return public(require_thread(backend, call.params["thread_id"]))


def _modify(backend: Backend, call: Call) -> Doc:
    thread_id = call.params["thread_id"]
    request = parse(ModifyThread, call.body)
    with backend.store.transaction():
        doc = require_thread(backend, thread_id)
        if "metadata" in request.model_fields_set:
            doc["metadata"] = check_metadata(request.metadata) or {}
        if "tool_resources" in request.model_fields_set:
            doc["tool_resources"] = tools.resolve_tool_resources(backend, request.tool_resources)
        return public(backend.store.put(THREAD, doc))


def _delete(backend: Backend, call: Call) -> Doc:
    delete_thread(backend, call.params["thread_id"])
    return deleted(call.params["thread_id"], "thread.deleted")


ROUTES: list[Route] = [
    Route("POST", "/threads", _create),
    Route("GET", "/threads/{thread_id}", _retrieve),
    Route("POST", "/threads/{thread_id}", _modify),
    Route("DELETE", "/threads/{thread_id}", _delete),
]
