"""Messages of a thread: ``/v1/threads/{thread_id}/messages``.

Request ``content`` is a string or an array of parts (``text``, ``image_file``,
``image_url``); it is stored as the message object's content array, text becoming
``{"type": "text", "text": {"value", "annotations": []}}``. Messages a user posts are
``completed`` at once (``completed_at`` null: no run produced them); the run engine
builds assistant messages through :func:`message_doc`. Adding a message while the thread
has an active run is a 400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Tag

from assistops.backend.conversation import (
    MESSAGE,
    refuse_if_active,
    require_message,
    require_thread,
)
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_metadata, deleted, public, tag_by_type

Detail = Literal["auto", "low", "high"]


class TextPart(Body):
    """``{"type": "text", "text": "..."}``."""

    type: Literal["text"]
    text: str


class ImageFile(Body):
    file_id: str
    detail: Detail = "auto"


class ImageFilePart(Body):
    """``{"type": "image_file", "image_file": {"file_id"}}``."""

    type: Literal["image_file"]
    image_file: ImageFile


class ImageUrl(Body):
    url: str
    detail: Detail = "auto"


class ImageUrlPart(Body):
    """``{"type": "image_url", "image_url": {"url"}}``."""

    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[
    Annotated[TextPart, Tag("content:text")]
    | Annotated[ImageFilePart, Tag("content:image_file")]
    | Annotated[ImageUrlPart, Tag("content:image_url")],
    tag_by_type("content"),
]


class AttachmentTool(Body):
    """A tool an attached file is for."""

    type: Literal["code_interpreter", "file_search"]


class Attachment(Body):
    """``{"file_id", "tools": [...]}``."""

    file_id: str
    tools: list[AttachmentTool]


class CreateMessage(Body):
    """``CreateMessageRequest`` (also the items of a thread's or run's ``messages``)."""

    role: Literal["user", "assistant"]
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    attachments: list[Attachment] | None = None
    metadata: Any = None


class ModifyMessage(Body):
    """``ModifyMessageRequest``: only metadata."""

    metadata: Any = None


def content_array(content: str | list[Any]) -> list[Doc]:
    """The stored content array of a request's ``content``."""
    if isinstance(content, str):
        return [text_part(content)]
    out: list[Doc] = []
    for part in content:
        if isinstance(part, TextPart):
            out.append(text_part(part.text))
        else:
            out.append(part.model_dump())
    return out


def text_part(value: str, annotations: list[Doc] | None = None) -> Doc:
    """A text content part of a message object."""
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def message_text(doc: Doc) -> str:
    """The text parts of a message, joined by newlines."""
    return "\n".join(p["text"]["value"] for p in doc["content"] if p["type"] == "text")


def message_doc(
    backend: Backend,
    thread_id: str,
    *,
    role: str,
    content: list[Doc],
    status: str = "completed",
    attachments: list[Doc] | None = None,
    metadata: dict[str, str] | None = None,
    assistant_id: str | None = None,
    run_id: str | None = None,
) -> Doc:
    """A new message object (not stored)."""
    return {
        "id": backend.new_id("msg_"),
        "object": "thread.message",
        "created_at": backend.now(),
        "thread_id": thread_id,
        "status": status,
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
        "role": role,
        "content": content,
        "assistant_id": assistant_id,
        "run_id": run_id,
        "attachments": attachments if attachments is not None else [],
        "metadata": metadata if metadata is not None else {},
    }


def add_message(
    backend: Backend, thread_id: str, request: CreateMessage, param: str = "", **fields: Any
) -> Doc:
    """Validate and store a user-supplied message (``fields`` as for :func:`message_doc`)."""
    metadata = check_metadata(request.metadata, f"{param}metadata") or {}
    attachments = (
        [a.model_dump() for a in request.attachments] if request.attachments is not None else []
    )
    doc = message_doc(
        backend,
        thread_id,
        role=request.role,
        content=content_array(request.content),
        attachments=attachments,
        metadata=metadata,
        **fields,
    )
    return backend.store.insert(MESSAGE, doc, parent=thread_id)


# handlers ----------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    thread_id = call.params["thread_id"]
    request = parse(CreateMessage, call.body)
    with backend.store.transaction():
        require_thread(backend, thread_id)
        refuse_if_active(backend, thread_id, adding_message=True)
        return public(add_message(backend, thread_id, request))


def _list(backend: Backend, call: Call) -> Doc:
    thread_id = call.params["thread_id"]
    query = parse_list_query(call.query)
    require_thread(backend, thread_id)
    run_id = call.query.get("run_id")
    where = {"run_id": run_id} if run_id else None
    return page_store(backend.store, MESSAGE, query, parent=thread_id, where=where)


def _retrieve(backend: Backend, call: Call) -> Doc:
    return public(require_message(backend, call.params["thread_id"], call.params["message_id"]))


def _modify(backend: Backend, call: Call) -> Doc:
    thread_id, message_id = call.params["thread_id"], call.params["message_id"]
    request = parse(ModifyMessage, call.body)
    with backend.store.transaction():
        doc = require_message(backend, thread_id, message_id)
        if "metadata" in request.model_fields_set:
            doc["metadata"] = check_metadata(request.metadata) or {}
        return public(backend.store.put(MESSAGE, doc, parent=thread_id))


def _delete(backend: Backend, call: Call) -> Doc:
    thread_id, message_id = call.params["thread_id"], call.params["message_id"]
    with backend.store.transaction():
        require_message(backend, thread_id, message_id)
        backend.store.delete(MESSAGE, message_id, parent=thread_id)
    return deleted(message_id, "thread.message.deleted")


ROUTES: list[Route] = [
    Route("POST", "/threads/{thread_id}/messages", _create),
    Route("GET", "/threads/{thread_id}/messages", _list),
    Route("GET", "/threads/{thread_id}/messages/{message_id}", _retrieve),
    Route("POST", "/threads/{thread_id}/messages/{message_id}", _modify),
    Route("DELETE", "/threads/{thread_id}/messages/{message_id}", _delete),
]
