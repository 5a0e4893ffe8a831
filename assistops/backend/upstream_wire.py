"""One model turn on the wire: Chat Completions or Responses, in and out, streamed.

:class:`ModelRequest` is what the run engine asks of a model (API-neutral);
:func:`turn` sends it to the upstream in its API's form and yields what the model
produces as :data:`ModelEvent`\\ s, as the upstream streams them:

* :class:`TextDelta` — a piece of the reply;
* :class:`CallStart` / :class:`CallArguments` — a tool call begins (its name), then its
  arguments arrive in pieces; ``index`` tells parallel calls apart;
* :class:`HostedCodeStart` / :class:`HostedCodeDelta` / :class:`HostedCodeDone` — the
  Responses API's hosted code interpreter runs code within the turn: its code as it is
  written, then the code with its outputs (logs, images);
* :class:`TurnEnd` — why the model stopped (``stop``, ``length``, ``tool_calls``,
  ``content_filter``) and the usage the upstream reported.

Chat Completions: ``POST /chat/completions`` with ``stream: true`` and
``stream_options.include_usage`` (the usage comes in a last chunk without choices).
Responses: ``POST /responses`` with ``stream: true, store: false`` (the run's history is
sent every time, as with Chat Completions, so the upstream keeps nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2

from assistops.backend.upstream import (
    UpstreamFailure,
    UpstreamSettings,
    Usage,
    stream_events,
)

# -- what is asked -------------------------------------------------------------------------


@dataclass(frozen=True)
class UserText:
    text: str


@dataclass(frozen=True)
class AssistantText:
    text: str


@dataclass(frozen=True)
class ToolCallItem:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class AssistantCalls:
    """Tool calls the model made in one turn (replayed in order)."""

    calls: tuple[ToolCallItem, ...]


@dataclass(frozen=True)
class ToolOutputItem:
    call_id: str
    output: str


Item = UserText | AssistantText | AssistantCalls | ToolOutputItem


@dataclass(frozen=True)
class FunctionSpec:
    """A function the model may call."""

    name: str
    description: str | None
    parameters: Mapping[str, Any]
    strict: bool = False


ToolChoice = Literal["auto", "none", "required"] | str  # a bare name forces that function


@dataclass(frozen=True)
class ModelRequest:
    """One call of the model (API-neutral)."""

    model: str
    instructions: str
    items: Sequence[Item]
    functions: Sequence[FunctionSpec] = ()
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    # None, {"type": "json_object"} or {"type": "json_schema", "name", "schema", "strict"}
    response_format: Mapping[str, Any] | None = None
    # tools the upstream runs itself (Responses only): {"type": "code_interpreter", ...}
    hosted_tools: Sequence[Mapping[str, Any]] = ()


# -- what comes back -----------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CallStart:
    index: int
    name: str


@dataclass(frozen=True)
class CallArguments:
    index: int
    delta: str


@dataclass(frozen=True)
class TurnEnd:
    reason: str  # stop | length | tool_calls | content_filter
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class HostedCodeStart:
    index: int


@dataclass(frozen=True)
class HostedCodeDelta:
    index: int
    delta: str


@dataclass(frozen=True)
class HostedCodeDone:
    index: int
    code: str
    outputs: tuple[Mapping[str, Any], ...]  # {"type": "logs", "logs"} | {"type": "image", "url"}


ModelEvent = (
    TextDelta | CallStart | CallArguments | HostedCodeStart | HostedCodeDelta | HostedCodeDone
) | TurnEnd


async def turn(
    settings: UpstreamSettings, client: httpx2.AsyncClient, request: ModelRequest
) -> AsyncIterator[ModelEvent]:
    """Stream one model turn from the upstream."""
    if settings.api == "responses":
        events = stream_events(settings, client, "/responses", responses_body(request))
        async for event in _from_responses(events):
            yield event
    else:
        events = stream_events(settings, client, "/chat/completions", chat_body(request))
        async for event in _from_chat(events):
            yield event


# -- Chat Completions ----------------------------------------------------------------------


def chat_body(request: ModelRequest) -> dict[str, Any]:
    """The ``/chat/completions`` request body."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    for item in request.items:
        if isinstance(item, UserText):
            messages.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantText):
            messages.append({"role": "assistant", "content": item.text})
        elif isinstance(item, AssistantCalls):
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in item.calls
                    ],
                }
            )
        else:
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.functions and request.tool_choice != "none":
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": f.name,
                    **({"description": f.description} if f.description else {}),
                    "parameters": dict(f.parameters),
                    **({"strict": True} if f.strict else {}),
                },
            }
            for f in request.functions
        ]
        body["tool_choice"] = (
            request.tool_choice
            if request.tool_choice in ("auto", "required")
            else {"type": "function", "function": {"name": request.tool_choice}}
        )
        body["parallel_tool_calls"] = request.parallel_tool_calls
    _sampling(body, request)
    if request.max_output_tokens is not None:
        body["max_tokens"] = request.max_output_tokens
    fmt = request.response_format
    if fmt is not None and fmt.get("type") == "json_schema":
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    elif fmt is not None:
        body["response_format"] = {"type": fmt["type"]}
    return body


def _sampling(body: dict[str, Any], request: ModelRequest) -> None:
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p


async def _from_chat(events: AsyncIterator[tuple[str | None, Any]]) -> AsyncIterator[ModelEvent]:
    reason: str | None = None
    usage = Usage()
    started: set[int] = set()
    async for _, chunk in events:
        if not isinstance(chunk, Mapping):
            continue
        if isinstance(chunk.get("error"), Mapping):  # some servers report errors in-stream
            raise UpstreamFailure(
                "server_error", f"the upstream failed: {chunk['error'].get('message', chunk)}"
            )
        if isinstance(chunk.get("usage"), Mapping):
            u = chunk["usage"]
            usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield TextDelta(str(delta["content"]))
            for call in delta.get("tool_calls") or []:
                index = int(call.get("index", 0))
                fn = call.get("function") or {}
                if index not in started:
                    started.add(index)
                    yield CallStart(index, str(fn.get("name") or ""))
                if fn.get("arguments"):
                    yield CallArguments(index, str(fn["arguments"]))
            if choice.get("finish_reason"):
                reason = str(choice["finish_reason"])
    if reason is None:
        raise UpstreamFailure("server_error", "the upstream's stream ended before the model did")
    yield TurnEnd("tool_calls" if started and reason == "stop" else reason, usage)


# -- Responses -----------------------------------------------------------------------------


def responses_body(request: ModelRequest) -> dict[str, Any]:
    """The ``/responses`` request body."""
    items: list[dict[str, Any]] = []
    for item in request.items:
        if isinstance(item, UserText):
            items.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantText):
            items.append({"role": "assistant", "content": item.text})
        elif isinstance(item, AssistantCalls):
            items.extend(
                {
                    "type": "function_call",
                    "call_id": c.call_id,
                    "name": c.name,
                    "arguments": c.arguments,
                }
                for c in item.calls
            )
        else:
            items.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
            )
    body: dict[str, Any] = {
        "model": request.model,
        "input": items,
        "stream": True,
        "store": False,
    }
    if request.instructions:
        body["instructions"] = request.instructions
    hosted = [dict(t) for t in request.hosted_tools]
    if (request.functions or hosted) and request.tool_choice != "none":
        body["tools"] = [
            {
                "type": "function",
                "name": f.name,
                **({"description": f.description} if f.description else {}),
                "parameters": dict(f.parameters),
                "strict": f.strict,
            }
            for f in request.functions
        ] + hosted
        kinds = {t["type"] for t in hosted}
        body["tool_choice"] = (
            request.tool_choice
            if request.tool_choice in ("auto", "required")
            else {"type": request.tool_choice}
            if request.tool_choice in kinds
            else {"type": "function", "name": request.tool_choice}
        )
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if any(t["type"] == "code_interpreter" for t in hosted):
        body["include"] = ["code_interpreter_call.outputs"]
    _sampling(body, request)
    if request.max_output_tokens is not None:
        body["max_output_tokens"] = request.max_output_tokens
    if request.response_format is not None:
        body["text"] = {"format": dict(request.response_format)}
    return body


async def _from_responses(
    events: AsyncIterator[tuple[str | None, Any]],
) -> AsyncIterator[ModelEvent]:
    calls: dict[int, int] = {}  # output_index -> call index
    hosted: set[int] = set()  # output indexes of hosted code_interpreter calls
    async for name, data in events:
        if not isinstance(data, Mapping):
            continue
        kind = data.get("type") or name
        if kind == "response.output_text.delta":
            yield TextDelta(str(data.get("delta") or ""))
        elif kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") == "function_call":
                index = calls.setdefault(int(data.get("output_index", len(calls))), len(calls))
                yield CallStart(index, str(item.get("name") or ""))
                if item.get("arguments"):
                    yield CallArguments(index, str(item["arguments"]))
            elif item.get("type") == "code_interpreter_call":
                index = int(data.get("output_index", len(calls) + len(hosted)))
                hosted.add(index)
                yield HostedCodeStart(index)
                if item.get("code"):
                    yield HostedCodeDelta(index, str(item["code"]))
        elif kind == "response.code_interpreter_call_code.delta":
            if int(data.get("output_index", -1)) in hosted and data.get("delta"):
                yield HostedCodeDelta(int(data["output_index"]), str(data["delta"]))
        elif kind == "response.output_item.done":
            item = data.get("item") or {}
            index = int(data.get("output_index", -1))
            if item.get("type") == "code_interpreter_call" and index in hosted:
                outputs = tuple(o for o in item.get("outputs") or [] if isinstance(o, Mapping))
                yield HostedCodeDone(index, str(item.get("code") or ""), outputs)
        elif kind == "response.function_call_arguments.delta":
            known = calls.get(int(data.get("output_index", -1)))
            if known is not None and data.get("delta"):
                yield CallArguments(known, str(data["delta"]))
        elif kind in ("response.completed", "response.incomplete"):
            response = data.get("response") or {}
            u = response.get("usage") or {}
            usage = Usage(int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0))
            if kind == "response.incomplete":
                why = (response.get("incomplete_details") or {}).get("reason")
                reason = "length" if why == "max_output_tokens" else "content_filter"
            else:
                reason = "tool_calls" if calls else "stop"
            yield TurnEnd(reason, usage)
            return
        elif kind in ("response.failed", "error"):
            error = (data.get("response") or {}).get("error") or data.get("error") or data
            code = str(error.get("code") or "")
            message = str(error.get("message") or error)
            raise UpstreamFailure(
                "rate_limit_exceeded" if code == "rate_limit_exceeded" else "server_error",
                f"the upstream failed: {message}",
            )
    raise UpstreamFailure("server_error", "the upstream's stream ended before the model did")
