"""The Responses request an assistant declaration becomes (``client.responses.create``).

After the Assistants API's sunset an application can run an assistant declaration itself, one
``POST /v1/responses`` per turn. :func:`request_of` is that request, a pure function of the
assistant's spec: model, instructions, tools in the Responses shape (functions flattened with
``strict`` explicit, file_search with its ``vector_store_ids`` inside the tool, code_interpreter
with a container of its files), ``text.format`` from ``response_format``, ``reasoning.effort``,
temperature, top_p and the user's metadata. References go through ``resolve``: ``render`` shows
them as ``${vector_store.handbook}`` and ``${file.assistant.<name>:<path>}``; a later release
kind can fill in ids. :func:`unsupported` names what a request cannot express, with the fix.

Used by ``assistops render --format responses`` (through ``api.responses_requests``). This module
is a mapping, not a kind: nothing here is planned or deployed, and no ownership tags are added
(a response is not an object assistops manages; metadata is the user's, sent as declared).

The shapes follow the openai SDK's request types (``openai.types.responses``):
``FunctionToolParam`` requires ``parameters`` and ``strict`` (both nullable), so both are always
sent; ``strict`` is ``false`` unless declared, because the Responses API makes an omitted one
strict while the Assistants API did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistops.kinds.assistant import AssistantSpec

#: What a function's parameters are when an assistant declares none.
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

#: The rankers a Responses file_search takes (``FileSearchToolParam.ranking_options.ranker``).
RESPONSES_RANKERS = ("auto", "default-2024-11-15")

#: What a responses environment may leave out on purpose (``leave_out``): the rest of what a
#: request cannot express has a fix.
LEAVE_OUT = ("description",)

#: A declared web_search ``mode`` as the Responses tool's ``external_web_access``.
_WEB_ACCESS = {"live": True, "cached": False}

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Unsupported:
    """Something declared that a Responses request cannot express; ``loc`` is the field in the
    assistant's declaration (as ``render.merge.Merged.locate`` takes it)."""

    loc: Loc
    message: str
    hint: str


def reference(address: str) -> str:
    """``${address}``: a logical reference, as ``render`` shows it."""
    return "${" + address + "}"


def request_of(spec: AssistantSpec, *, resolve: Callable[[str], str] = reference) -> dict[str, Any]:
    """The body of ``POST /v1/responses`` (``client.responses.create(**body)``) for ``spec``,
    without the turn's ``input``. What it cannot express is left out (see :func:`unsupported`)."""
    out: dict[str, Any] = {"model": spec.model}
    if spec.instructions is not None:
        out["instructions"] = spec.instructions
    tools = [t for t in (_tool(tool, spec, resolve) for tool in spec.tools) if t is not None]
    if tools:
        out["tools"] = tools
    text_format = text_format_of(spec.response_format)
    if text_format is not None:
        out["text"] = {"format": text_format}
    if spec.reasoning_effort is not None:
        out["reasoning"] = {"effort": spec.reasoning_effort}
    for key in ("temperature", "top_p"):
        value = getattr(spec, key)
        if value is not None:
            out[key] = value
    if spec.metadata:
        out["metadata"] = dict(spec.metadata)
    return out


def text_format_of(response_format: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """``response_format`` as ``text.format`` (None when unset or ``auto``: the default, text).

    A json_schema is flattened: ``{type: json_schema, name, schema, description?, strict?}``.
    """
    if response_format is None or response_format == "auto":
        return None
    if isinstance(response_format, str):
        return {"type": response_format}
    if response_format.get("type") != "json_schema":
        return {"type": response_format.get("type")}
    js = response_format.get("json_schema") or {}
    out: dict[str, Any] = {"type": "json_schema", "name": js.get("name")}
    if js.get("description") is not None:
        out["description"] = js["description"]
    out["schema"] = js.get("schema") or {}
    if js.get("strict") is not None:
        out["strict"] = js["strict"]
    return out


def _tool(
    tool: dict[str, Any], spec: AssistantSpec, resolve: Callable[[str], str]
) -> dict[str, Any] | None:
    kind = tool.get("type")
    if kind == "function":
        fn = tool.get("function") or {}
        out: dict[str, Any] = {"type": "function", "name": fn.get("name")}
        if fn.get("description"):
            out["description"] = fn["description"]
        out["parameters"] = fn.get("parameters") or NO_PARAMETERS
        out["strict"] = bool(fn.get("strict"))
        return out
    if kind == "file_search":
        body = tool.get("file_search") or {}
        stores = [resolve(spec.vector_store)] if spec.vector_store else []
        out = {"type": "file_search", "vector_store_ids": stores}
        if body.get("max_num_results") is not None:
            out["max_num_results"] = body["max_num_results"]
        ranking = body.get("ranking_options")
        if ranking:
            kept = {k: v for k, v in ranking.items() if v is not None}
            if kept.get("ranker") not in (None, *RESPONSES_RANKERS):
                del kept["ranker"]
            if kept:
                out["ranking_options"] = kept
        return out
    if kind == "code_interpreter":
        files = [resolve(a) for a in spec.code_interpreter_files]
        return {"type": "code_interpreter", "container": {"type": "auto", "file_ids": files}}
    if kind == "mcp":
        transport = tool.get("transport") or {}
        if transport.get("type") != "http":
            return None
        out = {"type": "mcp", "server_label": tool.get("server_label")}
        out["server_url"] = transport.get("server_url")
        if transport.get("headers"):
            out["headers"] = dict(transport["headers"])
        if tool.get("allowed_tools") is not None:
            out["allowed_tools"] = list(tool["allowed_tools"])
        return out
    if kind == "web_search":
        if tool.get("mode") == "disabled":
            return None
        out = {"type": "web_search"}
        if tool.get("allowed_domains") is not None:
            out["filters"] = {"allowed_domains": list(tool["allowed_domains"])}
        if tool.get("context_size") is not None:
            out["search_context_size"] = tool["context_size"]
        if tool.get("location") is not None:
            out["user_location"] = {"type": "approximate", **tool["location"]}
        if tool.get("mode") in _WEB_ACCESS:
            out["external_web_access"] = _WEB_ACCESS[tool["mode"]]
        return out
    return None


def unsupported(spec: AssistantSpec) -> list[Unsupported]:
    """What ``spec`` declares that a Responses request cannot express, each with the fix."""
    out: list[Unsupported] = [
        Unsupported(
            ("display_name",),
            f"a Responses request has no name: '{spec.display_name}' is not sent",
            "nothing to fix unless your app needs it: it stays in the declaration; an app that "
            "shows it keeps it itself (metadata is yours and is sent as declared)",
        )
    ]
    if spec.description is not None:
        out.append(
            Unsupported(
                ("description",),
                "a Responses request has no description: it is not sent",
                "nothing to fix unless the model should read it: say it in the instructions",
            )
        )
    for i, tool in enumerate(spec.tools):
        out += _tool_unsupported(i, tool, spec)
    return out


def _tool_unsupported(i: int, tool: dict[str, Any], spec: AssistantSpec) -> list[Unsupported]:
    kind = tool.get("type")
    out: list[Unsupported] = []
    if kind == "file_search":
        if spec.vector_store is None:
            out.append(
                Unsupported(
                    ("tools", i, "file_search"),
                    "a Responses file_search searches only the vector stores named in the tool, "
                    "and this one names none",
                    "declare its vector_store",
                )
            )
        ranker = ((tool.get("file_search") or {}).get("ranking_options") or {}).get("ranker")
        if ranker is not None and ranker not in RESPONSES_RANKERS:
            out.append(
                Unsupported(
                    ("tools", i, "file_search", "ranking_options", "ranker"),
                    f"the Responses API has no ranker '{ranker}' (it takes "
                    f"{', '.join(RESPONSES_RANKERS)}): it is not sent",
                    "declare ranker: auto, or leave the ranker out",
                )
            )
    elif kind == "mcp":
        transport = tool.get("transport") or {}
        if transport.get("type") != "http":
            out.append(
                Unsupported(
                    ("tools", i, "mcp", "transport"),
                    "a Responses mcp tool reaches a remote server over HTTP only: this "
                    f"{transport.get('type')} server is not sent",
                    "serve it over HTTP and declare transport: {type: http, server_url: ...}",
                )
            )
        for key in ("required", "connection_origin"):
            if tool.get(key) is not None:
                out.append(
                    Unsupported(
                        ("tools", i, "mcp", key),
                        f"a Responses mcp tool has no {key}: it is not sent",
                        "nothing to fix: it applies to OpenAI agents only",
                    )
                )
    elif kind == "web_search" and tool.get("mode") == "disabled":
        out.append(
            Unsupported(
                ("tools", i, "web_search", "mode"),
                "a Responses request has no disabled web_search: the tool is not sent",
                "remove the tool, or declare mode: cached (no live access) or live",
            )
        )
    return out
