"""Responses: ``POST /v1/responses``, ``GET`` and ``DELETE /v1/responses/{response_id}``.

A response is answered at once (``status`` ``completed``, or ``incomplete``/``failed`` when
a responder script says so) by the same :func:`assistops.backend.responder.decide` that
answers runs. What the responder sees:

* the conversation: the items of the ``previous_response_id`` chain (each stored response
  keeps its input items and its output), then this request's ``input`` (a string is one
  ``user`` message); "the message" is the latest ``user`` message of it;
* ``tool_results``: the ``function_call_output`` items of this request's input, each
  matched by ``call_id`` to a ``function_call`` of the conversation;
* ``tools`` (flat function tools and ``file_search``), ``tool_choice``,
  ``parallel_tool_calls`` and ``text.format`` as the run's ``response_format``;
* the documents of the ``file_search`` tool's ``vector_store_ids`` (completed files that
  pass ``filters``);
* scripts: a directive queued through the control plane without a thread, else the
  ``assistops_script`` key of the request's ``metadata`` (a list is indexed by how many
  responses precede this one in its ``previous_response_id`` chain).

``instructions`` are the request's own and are never carried over from the previous
response. A ``store: false`` response is not kept: it cannot be retrieved, deleted or
continued. The outcome becomes output items: a ``file_search_call`` item for a search
(its ``results`` only when ``include`` asks for ``file_search_call.results``), then a
``message`` (``output_text`` with ``file_citation`` annotations) or ``function_call`` items.
With ``stream: true`` the same work is replayed as the Responses server-sent events.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag
from starlette.responses import Response

from assistops.backend import run_engine, scripts, vector_store_files, vector_stores
from assistops.backend.core import Backend
from assistops.backend.parsing import Body, invalid, not_found, parse
from assistops.backend.responder import (
    CallFunctions,
    Decision,
    Expire,
    Fail,
    FileSearchStep,
    Incomplete,
    Reply,
    RunInput,
    ToolResult,
    Turn,
    count_tokens,
    decide,
)
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_metadata, public, tag_by_type
from assistops.backend.streaming import EventLog, event_stream
from assistops.backend.vector_store_search import Filter, matches
from assistops.limits import (
    FUNCTION_NAME_MAX,
    FUNCTION_NAME_PATTERN,
    MAX_NUM_RESULTS_MAX,
    MAX_NUM_RESULTS_MIN,
    RESPONSE_CALL_ID_MAX,
    RESPONSE_MAX_OUTPUT_TOKENS_MIN,
    RESPONSE_SAFETY_IDENTIFIER_MAX,
    RESPONSE_TOOLS_MAX,
    RESPONSE_TOP_LOGPROBS_MAX,
    SCORE_THRESHOLD_MAX,
    SCORE_THRESHOLD_MIN,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    TOP_P_MAX,
    TOP_P_MIN,
    ReasoningEffort,
)

KIND = "response"
RESULTS = "file_search_call.results"
DEFAULT_RANKING = {"ranker": "auto", "score_threshold": 0.0}
Include = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]

# -- request models ---------------------------------------------------------------------


class TextPart(Body):
    """``input_text`` (or, in a replayed assistant message, ``output_text``) content."""

    type: Literal["input_text", "output_text"]
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class MessageItem(Body):
    """A message of ``input``: ``EasyInputMessage``, ``InputMessage`` or a replayed output."""

    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[TextPart]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    phase: Any = None


class FunctionCallItem(Body):
    """A ``function_call`` output item sent back as input (manual chaining)."""

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class FunctionCallOutputItem(Body):
    """``{"type": "function_call_output", "call_id", "output"}``."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=RESPONSE_CALL_ID_MAX)
    output: str
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class FileSearchCallItem(Body):
    """A ``file_search_call`` output item sent back as input (kept, not re-run)."""

    type: Literal["file_search_call"]
    id: str
    status: str | None = None
    queries: list[str] = []
    results: list[dict[str, Any]] | None = None


def _item_kind(value: Any) -> str | None:
    kind = value.get("type", "message") if isinstance(value, dict) else getattr(value, "type", None)
    return None if kind is None else f"item:{kind}"


InputItem = Annotated[
    Annotated[MessageItem, Tag("item:message")]
    | Annotated[FunctionCallItem, Tag("item:function_call")]
    | Annotated[FunctionCallOutputItem, Tag("item:function_call_output")]
    | Annotated[FileSearchCallItem, Tag("item:file_search_call")],
    Discriminator(_item_kind),
]


class FunctionTool(Body):
    """A flat function tool: ``{"type": "function", "name", "parameters", "strict"}``."""

    type: Literal["function"]
    name: str = Field(min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class RankingOptions(Body):
    """``ranking_options`` of a ``file_search`` tool."""

    ranker: Literal["auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=SCORE_THRESHOLD_MIN, le=SCORE_THRESHOLD_MAX)


class FileSearchTool(Body):
    """``{"type": "file_search", "vector_store_ids": [...], ...}``."""

    type: Literal["file_search"]
    vector_store_ids: list[str]
    max_num_results: int | None = Field(
        default=None, ge=MAX_NUM_RESULTS_MIN, le=MAX_NUM_RESULTS_MAX
    )
    ranking_options: RankingOptions | None = None
    filters: Filter | None = None


Tool = Annotated[
    Annotated[FunctionTool, Tag("tool:function")]
    | Annotated[FileSearchTool, Tag("tool:file_search")],
    tag_by_type("tool"),
]


class ToolChoiceFunction(Body):
    """``{"type": "function", "name"}``."""

    type: Literal["function"]
    name: str


class ToolChoiceFileSearch(Body):
    """``{"type": "file_search"}``."""

    type: Literal["file_search"]


ToolChoice = Annotated[
    Annotated[ToolChoiceFunction, Tag("choice:function")]
    | Annotated[ToolChoiceFileSearch, Tag("choice:file_search")],
    tag_by_type("choice"),
]


class TextFormat(Body):
    type: Literal["text"]


class JsonObjectFormat(Body):
    type: Literal["json_object"]


class JsonSchemaFormat(Body):
    """``{"type": "json_schema", "name", "schema", "strict", "description"}``."""

    type: Literal["json_schema"]
    name: str = Field(min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN)
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class TextParam(Body):
    """``text``: the output format and verbosity."""

    format: (
        Annotated[
            Annotated[TextFormat, Tag("format:text")]
            | Annotated[JsonObjectFormat, Tag("format:json_object")]
            | Annotated[JsonSchemaFormat, Tag("format:json_schema")],
            tag_by_type("format"),
        ]
        | None
    ) = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningParam(Body):
    """``reasoning``: echoed; the responder does not reason."""

    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class CreateResponse(Body):
    """``CreateResponse`` (the fields the backend serves; others are unknown parameters)."""

    model: str = Field(min_length=1)
    input: str | list[InputItem] | None = None
    instructions: str | None = None
    tools: Annotated[list[Tool], Field(max_length=RESPONSE_TOOLS_MAX)] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextParam | None = None
    reasoning: ReasoningParam | None = None
    temperature: float | None = Field(default=None, ge=TEMPERATURE_MIN, le=TEMPERATURE_MAX)
    top_p: float | None = Field(default=None, ge=TOP_P_MIN, le=TOP_P_MAX)
    top_logprobs: int | None = Field(default=None, ge=0, le=RESPONSE_TOP_LOGPROBS_MAX)
    max_output_tokens: int | None = Field(default=None, ge=RESPONSE_MAX_OUTPUT_TOKENS_MIN)
    max_tool_calls: int | None = Field(default=None, ge=1)
    metadata: Any = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[Include] | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=RESPONSE_SAFETY_IDENTIFIER_MAX)
    prompt_cache_key: str | None = None


# -- rules --------------------------------------------------------------------------------


def require_response(backend: Backend, response_id: str) -> Doc:
    """The stored response, or the service's 404."""
    doc = backend.store.get(KIND, response_id)
    if doc is None:
        raise not_found(f"Response with id '{response_id}' not found.")
    return doc


def view(doc: Doc, include: Sequence[str] = ()) -> Doc:
    """The wire response; ``file_search_call`` results only when ``include`` asks."""
    out = public(doc)
    if out["usage"] is None:  # typed as an object: absent until the response is done
        del out["usage"]
    if RESULTS in include or RESULTS in doc.get("_include", ()):
        return out
    out = copy.deepcopy(out)
    for item in out["output"]:
        if item["type"] == "file_search_call":
            item["results"] = None
    return out


def _items(request: CreateResponse) -> list[Doc]:
    """This request's input as conversation items (the stored, responder-neutral form)."""
    if request.input is None:
        return []
    if isinstance(request.input, str):
        return [{"type": "message", "role": "user", "text": request.input}]
    out: list[Doc] = []
    for item in request.input:
        if isinstance(item, MessageItem):
            text = (
                item.content
                if isinstance(item.content, str)
                else "".join(p.text for p in item.content)
            )
            out.append({"type": "message", "role": item.role, "text": text})
        elif isinstance(item, FunctionCallItem):
            out.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments,
                }
            )
        elif isinstance(item, FunctionCallOutputItem):
            out.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
            )
        else:
            out.append({"type": "file_search_call", "queries": list(item.queries)})
    return out


def _tools(backend: Backend, request: CreateResponse) -> list[Doc]:
    """The tools as the response echoes them, with the service's defaults."""
    out: list[Doc] = []
    for i, tool in enumerate(request.tools or []):
        if isinstance(tool, FunctionTool):
            out.append(
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "strict": True if tool.strict is None else tool.strict,
                }
            )
            continue
        for j, vs_id in enumerate(tool.vector_store_ids):
            if backend.store.get(vector_stores.KIND, vs_id) is None:
                raise not_found(
                    f"Vector store with id '{vs_id}' not found.",
                    f"tools[{i}].vector_store_ids[{j}]",
                )
        ranking = tool.ranking_options.model_dump() if tool.ranking_options else DEFAULT_RANKING
        doc: Doc = {
            "type": "file_search",
            "vector_store_ids": list(tool.vector_store_ids),
            "ranking_options": dict(ranking),
            "filters": tool.filters.model_dump() if tool.filters else None,
        }
        if tool.max_num_results is not None:  # typed as a plain integer: absent, not null
            doc["max_num_results"] = tool.max_num_results
        out.append(doc)
    return out


def _tool_choice(request: CreateResponse, tools: list[Doc]) -> str | Doc:
    choice = request.tool_choice
    if choice is None or isinstance(choice, str):
        return choice or "auto"
    if isinstance(choice, ToolChoiceFunction):
        names = [t["name"] for t in tools if t["type"] == "function"]
        if choice.name not in names:
            raise invalid(
                "tool_choice",
                f"Tool choice 'function' with name '{choice.name}' not found in 'tools' parameter.",
                "invalid_value",
            )
        return {"type": "function", "name": choice.name}
    if all(t["type"] != "file_search" for t in tools):
        raise invalid(
            "tool_choice",
            "Tool choice 'file_search' not found in 'tools' parameter.",
            "invalid_value",
        )
    return {"type": "file_search"}


def _text(request: CreateResponse) -> Doc:
    text = request.text or TextParam()
    fmt: Doc = {"type": "text"}
    if text.format is not None:
        fmt = text.format.model_dump(exclude_none=True, by_alias=True)
        if fmt["type"] == "json_schema":
            fmt.setdefault("strict", False)
    return {"format": fmt, "verbosity": text.verbosity or "medium"}


def _chain(backend: Backend, previous_id: str | None) -> Doc | None:
    if previous_id is None:
        return None
    previous = backend.store.get(KIND, previous_id)
    if previous is None:
        raise invalid(
            "previous_response_id",
            f"Previous response with id '{previous_id}' not found.",
            "previous_response_not_found",
        )
    return previous


def _tool_results(conversation: list[Doc], new: list[Doc]) -> list[ToolResult]:
    calls = {c["call_id"]: c for c in conversation if c["type"] == "function_call"}
    results = []
    for item in new:
        if item["type"] != "function_call_output":
            continue
        call = calls.get(item["call_id"])
        if call is None:
            raise invalid(
                "input",
                f"No tool call found for function call output with call_id {item['call_id']}.",
            )
        results.append(ToolResult(call["call_id"], call["name"], call["arguments"], item["output"]))
    return results


def _refuse_unanswered(previous: Doc | None, new: list[Doc]) -> None:
    """A response that asked for function calls must get every output before going on."""
    if previous is None:
        return
    answered = {i["call_id"] for i in new if i["type"] == "function_call_output"}
    for item in previous["output"]:
        if item["type"] == "function_call" and item["call_id"] not in answered:
            raise invalid("input", f"No tool output found for function call {item['call_id']}.")


def create(backend: Backend, request: CreateResponse, log: EventLog) -> Doc:
    """Answer ``request``; store it unless ``store`` is false. Returns the document."""
    with backend.store.transaction():
        metadata = check_metadata(request.metadata) or {}
        tools = _tools(backend, request)
        tool_choice = _tool_choice(request, tools)
        text = _text(request)
        previous = _chain(backend, request.previous_response_id)
        new = _items(request)
        _refuse_unanswered(previous, new)
        history: list[Doc] = list(previous["_conversation"]) if previous else []
        conversation = history + new
        results = _tool_results(conversation, new)
        now = backend.now()
        doc: Doc = {
            "id": backend.new_id("resp_"),
            "object": "response",
            "created_at": now,
            "status": "in_progress",
            "background": False,
            "completed_at": None,
            "error": None,
            "incomplete_details": None,
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "max_tool_calls": request.max_tool_calls,
            "model": request.model,
            "output": [],
            "parallel_tool_calls": True
            if request.parallel_tool_calls is None
            else request.parallel_tool_calls,
            "previous_response_id": request.previous_response_id,
            "prompt_cache_key": request.prompt_cache_key,
            "reasoning": {
                "effort": request.reasoning.effort if request.reasoning else None,
                "summary": request.reasoning.summary if request.reasoning else None,
            },
            "safety_identifier": request.safety_identifier,
            "service_tier": request.service_tier or "default",
            "store": request.store is not False,
            "temperature": 1.0 if request.temperature is None else request.temperature,
            "text": text,
            "tool_choice": tool_choice,
            "tools": tools,
            "top_logprobs": request.top_logprobs or 0,
            "top_p": 1.0 if request.top_p is None else request.top_p,
            "truncation": request.truncation or "disabled",
            "usage": None,
            "metadata": metadata,
            "_include": list(request.include or []),
            "_chain_index": (previous["_chain_index"] + 1) if previous else 0,
        }
        if request.user is not None:  # typed as a plain string: absent rather than null
            doc["user"] = request.user
        _emit(log, "response.created", {"response": view(doc)})
        _emit(log, "response.in_progress", {"response": view(doc)})
        decision = decide(
            RunInput(
                tools=tools,
                messages=[
                    Turn(i["role"], i["text"]) for i in conversation if i["type"] == "message"
                ],
                tool_choice=tool_choice,
                parallel_tool_calls=doc["parallel_tool_calls"],
                response_format=text["format"],
                has_vector_store=any(t["type"] == "file_search" for t in tools),
                documents=_documents(backend, tools),
                thread_metadata=metadata,
                run_index=doc["_chain_index"],
                tool_results=results,
                queued=scripts.pop(backend, scripts.ANY_THREAD),
            )
        )
        prompt = count_tokens(
            "\n".join(
                [request.instructions or ""]
                + [i.get("text") or i.get("output") or "" for i in conversation]
            )
        )
        produced = _answer(backend, doc, decision, log)
        doc["usage"] = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": produced,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + produced,
        }
        _emit(log, f"response.{doc['status']}", {"response": view(doc)})
        doc["_conversation"] = conversation + _output_items(doc["output"])
        if doc["store"]:
            backend.store.insert(KIND, doc)
    return doc


def _documents(backend: Backend, tools: list[Doc]) -> list[Any]:
    tool = next((t for t in tools if t["type"] == "file_search"), None)
    if tool is None:
        return []
    flt = parse(_FilterHolder, {"filters": tool["filters"]}).filters if tool["filters"] else None

    def accept(vs_file: Doc) -> bool:
        return flt is None or matches(flt, vs_file.get("attributes") or {})

    return run_engine.searchable_files(backend, tool["vector_store_ids"], accept=accept)


class _FilterHolder(Body):
    filters: Filter


def _output_items(output: list[Doc]) -> list[Doc]:
    """Output items in the conversation's stored form (what the next response sees)."""
    out: list[Doc] = []
    for item in output:
        if item["type"] == "message":
            text = "".join(p["text"] for p in item["content"])
            out.append({"type": "message", "role": "assistant", "text": text})
        elif item["type"] == "function_call":
            out.append({k: item[k] for k in ("type", "call_id", "name", "arguments")})
        else:
            out.append({"type": "file_search_call", "queries": item["queries"]})
    return out


# -- turning a decision into output items (and events) ----------------------------------------


def _emit(log: EventLog, kind: str, data: Doc) -> None:
    log.emit(kind, {"type": kind, "sequence_number": len(log.events), **data})


def _answer(backend: Backend, doc: Doc, decision: Decision, log: EventLog) -> int:
    """Fill ``doc``'s output and status from ``decision``; returns the output tokens."""
    produced = 0
    for step in decision.steps:
        if isinstance(step, FileSearchStep):
            _file_search_call(backend, doc, step, log)
            produced += count_tokens(step.query)
    outcome = decision.outcome
    if isinstance(outcome, Reply):
        _message(backend, doc, outcome, log)
        produced += count_tokens(outcome.text)
        _finish(backend, doc, "completed")
    elif isinstance(outcome, CallFunctions):
        for call in outcome.calls:
            _function_call(backend, doc, call.name, call.arguments, log)
            produced += count_tokens(call.name + call.arguments)
        _finish(backend, doc, "completed")
    elif isinstance(outcome, Fail):
        doc["error"] = {"code": outcome.code, "message": outcome.message}
        _finish(backend, doc, "failed")
    elif isinstance(outcome, Incomplete):
        doc["incomplete_details"] = {"reason": "max_output_tokens"}
        _finish(backend, doc, "incomplete")
    elif isinstance(outcome, Expire):
        doc["error"] = {
            "code": "server_error",
            "message": "assistops_script: the response expired (scripted).",
        }
        _finish(backend, doc, "failed")
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown outcome {outcome!r}")
    return produced


def _finish(backend: Backend, doc: Doc, status: str) -> None:
    doc["status"] = status
    if status == "completed":
        doc["completed_at"] = backend.now()


def _added(log: EventLog, doc: Doc, item: Doc) -> int:
    index = len(doc["output"])
    _emit(log, "response.output_item.added", {"output_index": index, "item": item})
    return index


def _done(log: EventLog, doc: Doc, item: Doc, index: int) -> None:
    doc["output"].append(item)
    _emit(log, "response.output_item.done", {"output_index": index, "item": item})


def _file_search_call(backend: Backend, doc: Doc, step: FileSearchStep, log: EventLog) -> None:
    item: Doc = {
        "id": backend.new_id("fs_"),
        "type": "file_search_call",
        "status": "in_progress",
        "queries": [],
        "results": None,
    }
    index = _added(log, doc, item)
    where = {"output_index": index, "item_id": item["id"]}
    _emit(log, "response.file_search_call.in_progress", where)
    _emit(log, "response.file_search_call.searching", where)
    _emit(log, "response.file_search_call.completed", where)
    attributes = _attributes(backend, doc["tools"])
    item.update(
        status="completed",
        queries=[step.query],
        results=[
            {
                "file_id": hit.file_id,
                "filename": hit.filename,
                "score": hit.score,
                "text": hit.text,
                "attributes": attributes.get(hit.file_id, {}),
            }
            for hit in step.results
        ],
    )
    shown = item if RESULTS in doc["_include"] else {**item, "results": None}
    doc["output"].append(item)
    _emit(log, "response.output_item.done", {"output_index": index, "item": shown})


def _attributes(backend: Backend, tools: list[Doc]) -> dict[str, Doc]:
    out: dict[str, Doc] = {}
    for tool in tools:
        for vs_id in tool.get("vector_store_ids") or []:
            for vs_file in backend.store.all(vector_store_files.KIND, parent=vs_id):
                out.setdefault(vs_file["id"], vs_file.get("attributes") or {})
    return out


def _message(backend: Backend, doc: Doc, reply: Reply, log: EventLog) -> None:
    item: Doc = {
        "id": backend.new_id("msg_"),
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    index = _added(log, doc, item)
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    part: Doc = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    _emit(log, "response.content_part.added", {**where, "part": part})
    for piece in run_engine.text_pieces(reply.text):
        _emit(log, "response.output_text.delta", {**where, "delta": piece, "logprobs": []})
    filenames = _filenames(backend, doc["tools"])
    annotations = [
        {
            "type": "file_citation",
            "file_id": c.file_id,
            "filename": filenames.get(c.file_id, ""),
            "index": c.end,
        }
        for c in reply.citations
    ]
    for i, annotation in enumerate(annotations):
        _emit(
            log,
            "response.output_text.annotation.added",
            {**where, "annotation_index": i, "annotation": annotation},
        )
    _emit(log, "response.output_text.done", {**where, "text": reply.text, "logprobs": []})
    part = {"type": "output_text", "text": reply.text, "annotations": annotations, "logprobs": []}
    _emit(log, "response.content_part.done", {**where, "part": part})
    item.update(status="completed", content=[part])
    _done(log, doc, item, index)


def _filenames(backend: Backend, tools: list[Doc]) -> dict[str, str]:
    return {d.file_id: d.filename for d in _documents(backend, tools)}


def _function_call(backend: Backend, doc: Doc, name: str, arguments: str, log: EventLog) -> None:
    item: Doc = {
        "id": backend.new_id("fc_"),
        "type": "function_call",
        "status": "in_progress",
        "call_id": backend.new_id("call_"),
        "name": name,
        "arguments": "",
    }
    index = _added(log, doc, item)
    where = {"item_id": item["id"], "output_index": index}
    _emit(log, "response.function_call_arguments.delta", {**where, "delta": arguments})
    _emit(
        log,
        "response.function_call_arguments.done",
        {**where, "name": name, "arguments": arguments},
    )
    item.update(status="completed", arguments=arguments)
    _done(log, doc, item, index)


# -- handlers ---------------------------------------------------------------------------------


def _include(call: Call) -> list[str]:
    return [*call.query.getlist("include[]"), *call.query.getlist("include")]


def _create(backend: Backend, call: Call) -> Doc | Response:
    request = parse(CreateResponse, call.body)
    log = EventLog(enabled=bool(request.stream))
    doc = create(backend, request, log)
    if request.stream:
        return event_stream(log, done=False)
    return view(doc)


def _retrieve(backend: Backend, call: Call) -> Doc:
    if call.query.get("stream") in ("true", "True", "1"):
        raise invalid("stream", "The local backend does not replay stored responses as streams.")
    return view(require_response(backend, call.params["response_id"]), _include(call))


def _delete(backend: Backend, call: Call) -> Doc:
    response_id = call.params["response_id"]
    with backend.store.transaction():
        require_response(backend, response_id)
        backend.store.delete(KIND, response_id)
    return {"id": response_id, "object": "response", "deleted": True}


ROUTES: list[Route] = [
    Route("POST", "/responses", _create),
    Route("GET", "/responses/{response_id}", _retrieve),
    Route("DELETE", "/responses/{response_id}", _delete),
]
