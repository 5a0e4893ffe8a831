"""``/v1/assistants``: create, retrieve, modify, delete, list.

Rules: ``model`` is required (any string). Limits: name ≤256, description ≤512,
instructions ≤256,000 characters, tools ≤128, code-interpreter files ≤20, one vector
store, metadata 16/64/512, temperature 0..2, top_p 0..1. Every field is present in
responses (``null`` when unset; ``tools`` ``[]``; temperature/top_p 1.0 and
``response_format`` ``"auto"`` by default). ``reasoning_effort`` is accepted and never
returned. Modify is partial; ``tools``, ``tool_resources`` and ``metadata`` replace
wholesale; ``null`` clears a field (back to its default). Referenced files and vector
stores must exist (404).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assistops.backend import tools as toolkit
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, invalid, not_found, parse, supported
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_id, check_metadata, deleted, public
from assistops.limits import (
    ASSISTANT_DESCRIPTION_MAX,
    ASSISTANT_NAME_MAX,
    INSTRUCTIONS_MAX,
    REASONING_EFFORTS,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    TOOLS_MAX,
    TOP_P_MAX,
    TOP_P_MIN,
)

KIND = "assistant"
PREFIX = "asst_"


class _AssistantFields(Body):
    name: str | None = Field(default=None, max_length=ASSISTANT_NAME_MAX)
    description: str | None = Field(default=None, max_length=ASSISTANT_DESCRIPTION_MAX)
    instructions: str | None = Field(default=None, max_length=INSTRUCTIONS_MAX)
    tools: list[toolkit.Tool] | None = Field(default=None, max_length=TOOLS_MAX)
    metadata: Any = None
    temperature: float | None = Field(default=None, ge=TEMPERATURE_MIN, le=TEMPERATURE_MAX)
    top_p: float | None = Field(default=None, ge=TOP_P_MIN, le=TOP_P_MAX)
    response_format: Any = None
    reasoning_effort: str | None = None


class CreateAssistant(_AssistantFields):
    """``POST /assistants``."""

    model: str
    tool_resources: toolkit.ToolResources | None = None


class ModifyAssistant(_AssistantFields):
    """``POST /assistants/{assistant_id}``."""

    model: str | None = None
    tool_resources: toolkit.ModifyToolResources | None = None


def get_assistant(backend: Backend, assistant_id: str, param: str = "assistant_id") -> Doc:
    """The stored assistant or a 404 (also used by runs)."""
    check_id(assistant_id, PREFIX, param)
    doc = backend.store.get(KIND, assistant_id)
    if doc is None:
        raise not_found(f"No assistant found with id '{assistant_id}'.")
    return doc


def _check_effort(value: str | None) -> None:
    if value is not None and value not in REASONING_EFFORTS:
        allowed = supported(REASONING_EFFORTS)
        raise invalid(
            "reasoning_effort",
            f"Invalid value: '{value}'. Supported values are: {allowed}.",
            "invalid_value",
        )


def _apply(backend: Backend, doc: Doc, body: _AssistantFields, given: set[str]) -> None:
    """Copy the given fields of ``body`` onto ``doc`` (``None`` resets to the default)."""
    _check_effort(body.reasoning_effort)
    if "metadata" in given:
        doc["metadata"] = check_metadata(body.metadata) or {}
    if "response_format" in given:
        doc["response_format"] = toolkit.check_response_format(body.response_format) or "auto"
    for name in ("name", "description", "instructions"):
        if name in given:
            doc[name] = getattr(body, name)
    model = getattr(body, "model", None)
    if "model" in given:
        if model is None:
            raise invalid(
                "model",
                "Invalid type for 'model': expected a string, but got null instead.",
                "invalid_type",
            )
        doc["model"] = model
    if "tools" in given:
        doc["tools"] = toolkit.dump_tools(body.tools or [])
    for name in ("temperature", "top_p"):
        if name in given:
            value = getattr(body, name)
            doc[name] = 1.0 if value is None else float(value)


def create_assistant(backend: Backend, body: CreateAssistant) -> Doc:
    """Validate and store a new assistant."""
    doc: Doc = {
        "id": backend.new_id(PREFIX),
        "object": "assistant",
        "created_at": backend.now(),
        "name": None,
        "description": None,
        "model": body.model,
        "instructions": None,
        "tools": [],
        "tool_resources": {},
        "metadata": {},
        "top_p": 1.0,
        "temperature": 1.0,
        "response_format": "auto",
    }
    _apply(backend, doc, body, set(body.model_fields_set))
    with backend.store.transaction():
        doc["tool_resources"] = toolkit.resolve_tool_resources(backend, body.tool_resources)
        backend.store.insert(KIND, doc)
    return doc


def modify_assistant(backend: Backend, assistant_id: str, body: ModifyAssistant) -> Doc:
    """Apply a partial update."""
    given = set(body.model_fields_set)
    with backend.store.transaction():
        doc = get_assistant(backend, assistant_id)
        _apply(backend, doc, body, given)
        if "tool_resources" in given:
            doc["tool_resources"] = toolkit.resolve_tool_resources(backend, body.tool_resources)
        backend.store.put(KIND, doc)
    return doc


# handlers -------------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    return public(create_assistant(backend, parse(CreateAssistant, call.body)))


def _retrieve(backend: Backend, call: Call) -> Doc:
    return public(get_assistant(backend, call.params["assistant_id"]))


def _modify(backend: Backend, call: Call) -> Doc:
    body = parse(ModifyAssistant, call.body)
    return public(modify_assistant(backend, call.params["assistant_id"], body))


def _delete(backend: Backend, call: Call) -> Doc:
    assistant_id = call.params["assistant_id"]
    with backend.store.transaction():
        get_assistant(backend, assistant_id)
        backend.store.delete(KIND, assistant_id)
    return deleted(assistant_id, "assistant.deleted")


def _list(backend: Backend, call: Call) -> Doc:
    q = parse_list_query(call.query)
    return page_store(backend.store, KIND, q)


ROUTES = [
    Route("POST", "/assistants", _create),
    Route("GET", "/assistants", _list),
    Route("GET", "/assistants/{assistant_id}", _retrieve),
    Route("POST", "/assistants/{assistant_id}", _modify),
    Route("DELETE", "/assistants/{assistant_id}", _delete),
]
