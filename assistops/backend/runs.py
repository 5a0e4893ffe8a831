"""Runs: ``/v1/threads/{thread_id}/runs`` and ``/v1/threads/runs``.

Create copies the assistant's model, instructions, tools, temperature, top_p and
response_format unless the request overrides them (``additional_instructions`` is
appended to the instructions on a new line; ``additional_messages`` are added to the
thread first). Limits: tools ≤20, metadata 16/64/512, temperature 0..2, top_p 0..1,
``max_*_tokens`` ≥256; a named ``tool_choice`` must name one of the run's tools. One
active run per thread: creating a run while one is active is a 400. ``stream: true``
answers with server-sent events (:mod:`.streaming`); otherwise create, submit and cancel
answer with the run as it was when accepted (``queued`` / ``cancelling``) and the run
moves on as :mod:`.run_engine` describes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.responses import Response

from assistops.backend import assistants, run_engine, tools
from assistops.backend.conversation import (
    RUN,
    expire_if_overdue,
    refuse_if_active,
    require_run,
    require_thread,
)
from assistops.backend.core import Backend
from assistops.backend.messages import CreateMessage, add_message
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, invalid, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_metadata, public
from assistops.backend.streaming import EventLog, event_stream
from assistops.backend.threads import CreateThread, create_thread
from assistops.backend.tools import ModifyToolResources, Tool
from assistops.limits import (
    INSTRUCTIONS_MAX,
    REASONING_EFFORTS,
    RUN_EXPIRY_SECONDS,
    RUN_TOKEN_BUDGET_MIN,
    RUN_TOOLS_MAX,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    TOP_P_MAX,
    TOP_P_MIN,
)


class Truncation(Body):
    """``truncation_strategy``."""

    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class NamedFunction(Body):
    name: str


class NamedToolChoice(Body):
    """``{"type": "function", "function": {"name"}}`` or a built-in tool type."""

    type: Literal["function", "code_interpreter", "file_search"]
    function: NamedFunction | None = None


class _RunOptions(Body):
    assistant_id: str
    model: str | None = None
    instructions: str | None = Field(default=None, max_length=INSTRUCTIONS_MAX)
    tools: Annotated[list[Tool], Field(max_length=RUN_TOOLS_MAX)] | None = None
    metadata: Any = None
    temperature: float | None = Field(default=None, ge=TEMPERATURE_MIN, le=TEMPERATURE_MAX)
    top_p: float | None = Field(default=None, ge=TOP_P_MIN, le=TOP_P_MAX)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=RUN_TOKEN_BUDGET_MIN)
    max_completion_tokens: int | None = Field(default=None, ge=RUN_TOKEN_BUDGET_MIN)
    truncation_strategy: Truncation | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: Any = None


class CreateRun(_RunOptions):
    """``CreateRunRequest``."""

    reasoning_effort: str | None = None
    additional_instructions: str | None = None
    additional_messages: list[CreateMessage] | None = None


class CreateThreadAndRun(_RunOptions):
    """``CreateThreadAndRunRequest``: ``tool_resources`` become the new thread's."""

    thread: CreateThread | None = None
    tool_resources: ModifyToolResources | None = None


class ModifyRun(Body):
    """``ModifyRunRequest``: only metadata."""

    metadata: Any = None


class ToolOutput(Body):
    """One item of ``tool_outputs``."""

    tool_call_id: str
    output: str = ""


class SubmitToolOutputs(Body):
    """``SubmitToolOutputsRunRequest``."""

    tool_outputs: list[ToolOutput]
    stream: bool | None = None


def include_of(call: Call) -> list[str]:
    """The ``include[]`` query values (the SDK's bracket form, or plain ``include``)."""
    return [*call.query.getlist("include[]"), *call.query.getlist("include")]


def new_run(
    backend: Backend, thread_id: str, assistant: Doc, request: _RunOptions, extra: str | None
) -> Doc:
    """A ``queued`` run on ``thread_id`` with the assistant's settings and the overrides."""
    run_tools = tools.dump_tools(request.tools) if request.tools is not None else assistant["tools"]
    instructions = request.instructions
    if instructions is None:
        instructions = assistant["instructions"] or ""
    if extra:
        instructions = f"{instructions}\n{extra}" if instructions else extra
    response_format = tools.check_response_format(request.response_format)
    tool_choice: str | Doc = "auto"
    if isinstance(request.tool_choice, NamedToolChoice):
        tool_choice = _check_tool_choice(request.tool_choice, run_tools)
    elif request.tool_choice is not None:
        tool_choice = request.tool_choice
    now = backend.now()
    truncation = request.truncation_strategy
    return {
        "id": backend.new_id("run_"),
        "object": "thread.run",
        "created_at": now,
        "thread_id": thread_id,
        "assistant_id": assistant["id"],
        "status": "queued",
        "required_action": None,
        "last_error": None,
        "expires_at": now + RUN_EXPIRY_SECONDS,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "incomplete_details": None,
        "model": request.model or assistant["model"],
        "instructions": instructions,
        "tools": run_tools,
        "metadata": check_metadata(request.metadata) or {},
        "usage": None,
        "temperature": _pick(request.temperature, assistant.get("temperature"), 1.0),
        "top_p": _pick(request.top_p, assistant.get("top_p"), 1.0),
        "max_prompt_tokens": request.max_prompt_tokens,
        "max_completion_tokens": request.max_completion_tokens,
        "truncation_strategy": truncation.model_dump()
        if truncation
        else {"type": "auto", "last_messages": None},
        "tool_choice": tool_choice,
        "parallel_tool_calls": request.parallel_tool_calls,
        "response_format": _pick(response_format, assistant.get("response_format"), "auto"),
        "_run_index": backend.store.count(RUN, parent=thread_id),
        "_include": [],
    }


def _pick(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _check_tool_choice(choice: NamedToolChoice, run_tools: list[Doc]) -> Doc:
    if choice.type == "function":
        if choice.function is None:
            raise invalid(
                "tool_choice.function",
                "Missing required parameter: 'tool_choice.function'.",
                "missing_required_parameter",
            )
        names = [t["function"]["name"] for t in run_tools if t["type"] == "function"]
        if choice.function.name not in names:
            raise invalid(
                "tool_choice",
                f"Invalid 'tool_choice': function '{choice.function.name}' is not one of the "
                "run's tools.",
                "invalid_value",
            )
        return {"type": "function", "function": {"name": choice.function.name}}
    if all(t["type"] != choice.type for t in run_tools):
        raise invalid(
            "tool_choice",
            f"Invalid 'tool_choice': the run has no '{choice.type}' tool.",
            "invalid_value",
        )
    return {"type": choice.type}


def start_run(
    backend: Backend,
    thread_id: str,
    request: CreateRun | CreateThreadAndRun,
    call: Call,
    log: EventLog,
) -> Doc:
    """Validate, store and begin a run; returns its ``queued`` snapshot."""
    assistant = assistants.get_assistant(backend, request.assistant_id)
    extra = None
    if isinstance(request, CreateRun):
        extra = request.additional_instructions
        _check_effort(request.reasoning_effort)
    run = new_run(backend, thread_id, assistant, request, extra)
    if isinstance(request, CreateRun):
        for i, message in enumerate(request.additional_messages or []):
            add_message(backend, thread_id, message, f"additional_messages[{i}].")
    run["_include"] = include_of(call)  # streamed steps carry search content only if asked
    backend.store.insert(RUN, run, parent=thread_id)
    snapshot = public(run)
    run_engine.begin(backend, run, log)
    return snapshot


def _check_effort(value: str | None) -> None:
    """``reasoning_effort`` is accepted (and, like on assistants, never returned)."""
    if value is not None and value not in REASONING_EFFORTS:
        allowed = ", ".join(f"'{v}'" for v in REASONING_EFFORTS)
        raise invalid(
            "reasoning_effort",
            f"Invalid value: '{value}'. Supported values are: {allowed}.",
            "invalid_value",
        )


def _answer(snapshot: Doc, log: EventLog) -> Doc | Response:
    return event_stream(log) if log.enabled else snapshot


# handlers ----------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc | Response:
    thread_id = call.params["thread_id"]
    request = parse(CreateRun, call.body)
    log = run_engine.event_log(backend, bool(request.stream))
    with backend.store.transaction():
        require_thread(backend, thread_id)
        refuse_if_active(backend, thread_id, adding_message=False)
        snapshot = start_run(backend, thread_id, request, call, log)
    return _answer(snapshot, log)


def _create_thread_and_run(backend: Backend, call: Call) -> Doc | Response:
    request = parse(CreateThreadAndRun, call.body)
    log = run_engine.event_log(backend, bool(request.stream))
    with backend.store.transaction():
        assistants.get_assistant(backend, request.assistant_id)
        thread = create_thread(backend, request.thread or CreateThread(), "thread.")
        if request.tool_resources is not None:
            thread["tool_resources"] = tools.resolve_tool_resources(backend, request.tool_resources)
            backend.store.put("thread", thread)
        log.emit("thread.created", public(thread))
        snapshot = start_run(backend, thread["id"], request, call, log)
    return _answer(snapshot, log)


def _list(backend: Backend, call: Call) -> Doc:
    thread_id = call.params["thread_id"]
    query = parse_list_query(call.query)
    require_thread(backend, thread_id)
    return page_store(
        backend.store,
        RUN,
        query,
        parent=thread_id,
        view=lambda r: public(expire_if_overdue(backend, r)),
    )


def _retrieve(backend: Backend, call: Call) -> Doc:
    run = require_run(backend, call.params["thread_id"], call.params["run_id"])
    return public(run_engine.on_read(backend, run))


def _modify(backend: Backend, call: Call) -> Doc:
    thread_id = call.params["thread_id"]
    request = parse(ModifyRun, call.body)
    with backend.store.transaction():
        run = require_run(backend, thread_id, call.params["run_id"])
        if "metadata" in request.model_fields_set:
            run["metadata"] = check_metadata(request.metadata) or {}
        backend.store.put(RUN, run, parent=thread_id)
    return public(run)


def _cancel(backend: Backend, call: Call) -> Doc:
    with backend.store.transaction():
        run = require_run(backend, call.params["thread_id"], call.params["run_id"])
        return run_engine.cancel(backend, run, EventLog(enabled=False))


def _submit_tool_outputs(backend: Backend, call: Call) -> Doc | Response:
    request = parse(SubmitToolOutputs, call.body)
    log = run_engine.event_log(backend, bool(request.stream))
    outputs = [(o.tool_call_id, o.output) for o in request.tool_outputs]
    with backend.store.transaction():
        run = require_run(backend, call.params["thread_id"], call.params["run_id"])
        snapshot = run_engine.submit_tool_outputs(backend, run, outputs, log)
    return _answer(snapshot, log)


ROUTES: list[Route] = [
    Route("POST", "/threads/runs", _create_thread_and_run),
    Route("POST", "/threads/{thread_id}/runs", _create),
    Route("GET", "/threads/{thread_id}/runs", _list),
    Route("GET", "/threads/{thread_id}/runs/{run_id}", _retrieve, poll=True),
    Route("POST", "/threads/{thread_id}/runs/{run_id}", _modify),
    Route("POST", "/threads/{thread_id}/runs/{run_id}/cancel", _cancel),
    Route("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", _submit_tool_outputs),
]
