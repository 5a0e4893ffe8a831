"""How a run lives: its status machine, the steps and messages it records, its events.

Status machine::

    queued -> in_progress -> requires_action -> (outputs submitted) queued -> ...
                          -> completed | failed | incomplete | expired
    queued | in_progress | requires_action -> cancelling -> cancelled
    any active status past ``expires_at`` (created + 10 min) -> expired

``in_progress`` is where :func:`assistops.backend.responder.decide` runs and its decision
is recorded: tool-call steps (file search, code interpreter, function calls), then a
``message_creation`` step and the assistant message, or the pause/ending.

When the run moves (:class:`RunProcessing`, set through ``POST /__assistops/run_processing``):
``immediate`` (default) — right after create/submit/cancel answered with the run's
``queued``/``cancelling`` snapshot, the run goes as far as it can; ``reads`` — every
``reads``-th GET of the run moves it one status, so ``create_and_poll`` polls (with
``openai-poll-after-ms``). Streaming requests always go as far as they can, emitting
each change as a server-sent event.

Usage: each step reports ``prompt_tokens`` (instructions plus the thread's messages) and
``completion_tokens`` (what the step produced), counted by
:func:`assistops.backend.responder.count_tokens`; a finished run reports their sums.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistops.backend import assistants, files, scripts, vector_store_files
from assistops.backend.conversation import (
    MESSAGE,
    RUN,
    STEP,
    THREAD,
    expire_if_overdue,
)
from assistops.backend.core import Backend
from assistops.backend.messages import message_doc, message_text, text_part
from assistops.backend.parsing import invalid, parse
from assistops.backend.responder import (
    CallFunctions,
    CodeStep,
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
from assistops.backend.retrieval import Document
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, public
from assistops.backend.streaming import EventLog, LiveEventLog

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
_SETTINGS_KEY = "runs.processing"
_WORDS_PER_DELTA = 8


class RunProcessing(BaseModel):
    """When runs move (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["immediate", "reads"] = "immediate"
    reads: int = Field(default=1, ge=1)


def processing(backend: Backend) -> RunProcessing:
    """The backend's current run-processing settings."""
    settings = backend.extras.get(_SETTINGS_KEY)
    return settings if isinstance(settings, RunProcessing) else RunProcessing()


def set_processing(backend: Backend, settings: RunProcessing) -> None:
    """Change when runs move (until the next reset)."""
    backend.extras[_SETTINGS_KEY] = settings


def _set_processing_handler(backend: Backend, call: Call) -> Doc:
    set_processing(backend, parse(RunProcessing, call.body))
    return processing(backend).model_dump()


def _processing_handler(backend: Backend, call: Call) -> Doc:
    return processing(backend).model_dump()


CONTROL_ROUTES: list[Route] = [
    Route("POST", "/run_processing", _set_processing_handler, prefix="/__assistops"),
    Route("GET", "/run_processing", _processing_handler, prefix="/__assistops"),
]


def step_view(step: Doc, include: Sequence[str] = ()) -> Doc:
    """A run step on the wire; file-search result content only when ``include`` asks."""
    out = public(step)
    if SEARCH_CONTENT in include or step["type"] != "tool_calls":
        return out
    out = copy.deepcopy(out)
    for call in out["step_details"]["tool_calls"]:
        for result in (call.get("file_search") or {}).get("results") or []:
            result.pop("content", None)
    return out


# -- lifecycle ------------------------------------------------------------------------


def begin(backend: Backend, run: Doc, log: EventLog) -> None:
    """Announce a stored ``queued`` run, then move it as the settings (or streaming) say."""
    log.emit("thread.run.created", public(run))
    log.emit("thread.run.queued", public(run))
    _continue(backend, run, log)


def event_log(backend: Backend, stream: bool) -> EventLog:
    """The log a run request records its events in (live when a model answers the run)."""
    if stream and backend.model is not None:
        return LiveEventLog()
    return EventLog(enabled=stream)


def _continue(backend: Backend, run: Doc, log: EventLog) -> None:
    model = backend.model
    if model is not None and run["status"] == "queued":
        model.start(backend, run, log)  # it works in the background, publishing to ``log``
        return
    if model is not None and run["status"] == "cancelling" and model.cancel(run["id"]):
        return  # the model's task records the cancellation once its call has stopped
    if log.enabled or processing(backend).mode == "immediate":
        while advance(backend, run, log):
            pass


def advance(backend: Backend, run: Doc, log: EventLog) -> bool:
    """Move ``run`` one status forward; ``False`` when it waits or has ended."""
    with backend.store.transaction():
        status = run["status"]
        if status == "queued":
            run.update(status="in_progress", started_at=run["started_at"] or backend.now())
            _save(backend, run)
            log.emit("thread.run.in_progress", public(run))
            return True
        if status == "in_progress":
            _execute(backend, run, log)
            return True
        if status == "cancelling":
            end(backend, run, log, "cancelled", cancelled_at=backend.now())
            return True
        return False


def on_read(backend: Backend, run: Doc) -> Doc:
    """What a GET of the run sees: expiry applied, and in ``reads`` mode, progress."""
    run = expire_if_overdue(backend, run)
    settings = processing(backend)
    if settings.mode != "reads" or run["status"] not in ("queued", "in_progress", "cancelling"):
        return run
    with backend.store.transaction():
        run["_reads"] = run.get("_reads", 0) + 1
        if run["_reads"] >= settings.reads:
            run["_reads"] = 0
            advance(backend, run, EventLog(enabled=False))
        _save(backend, run)
    return run


def cancel(backend: Backend, run: Doc, log: EventLog) -> Doc:
    """Start cancelling an active run; returns the ``cancelling`` snapshot."""
    with backend.store.transaction():
        run = expire_if_overdue(backend, run)
        if run["status"] not in ("queued", "in_progress", "requires_action"):
            raise invalid(None, f"Cannot cancel run with status '{run['status']}'.")
        run.update(status="cancelling", required_action=None)
        _save(backend, run)
        snapshot = public(run)
        log.emit("thread.run.cancelling", snapshot)
        _continue(backend, run, log)
    return snapshot


def submit_tool_outputs(
    backend: Backend, run: Doc, outputs: Sequence[tuple[str, str]], log: EventLog
) -> Doc:
    """Record the outputs of the pending calls and resume; returns the ``queued`` snapshot."""
    with backend.store.transaction():
        run = expire_if_overdue(backend, run)
        if run["status"] != "requires_action":
            raise invalid(None, f'Runs in status "{run["status"]}" do not accept tool outputs.')
        step = backend.store.get(STEP, run["_pending_step"], parent=run["id"])
        assert step is not None  # written together with required_action
        # a step may also hold file searches the server ran: only functions await outputs
        calls = [c for c in step["step_details"]["tool_calls"] if c["type"] == "function"]
        given = dict(outputs)
        expected = [c["id"] for c in calls]
        for i, (call_id, _) in enumerate(outputs):
            if call_id not in expected:
                raise invalid(
                    f"tool_outputs[{i}].tool_call_id",
                    f"Invalid 'tool_outputs[{i}].tool_call_id': no pending tool call "
                    f"'{call_id}' in run {run['id']}.",
                    "invalid_value",
                )
        missing = [c for c in expected if c not in given]
        if missing:
            raise invalid(
                "tool_outputs",
                f"Expected tool outputs for call_ids {expected}, got {list(given)}.",
            )
        for call in calls:
            call["function"]["output"] = given[call["id"]]
        step.update(status="completed", completed_at=backend.now(), usage=step.pop("_usage", None))
        backend.store.put(STEP, step, parent=run["id"])
        log.emit("thread.run.step.completed", step_view(step, run["_include"]))
        run.setdefault("_transcript", []).extend(
            {"type": "output", "call_id": c["id"], "output": c["function"]["output"]} for c in calls
        )
        results = run.setdefault("_tool_results", [])
        results.extend(
            {"call_id": c["id"], **{k: c["function"][k] for k in ("name", "arguments", "output")}}
            for c in calls
        )
        run.update(status="queued", required_action=None)
        run.pop("_pending_step", None)
        _save(backend, run)
        snapshot = public(run)
        log.emit("thread.run.queued", snapshot)
        _continue(backend, run, log)
    return snapshot


# -- executing a decision ---------------------------------------------------------------


def _execute(backend: Backend, run: Doc, log: EventLog) -> None:
    thread = backend.store.get(THREAD, run["thread_id"]) or {}
    assistant = backend.store.get(assistants.KIND, run["assistant_id"])
    if assistant is None:
        end(
            backend,
            run,
            log,
            "failed",
            failed_at=backend.now(),
            last_error={
                "code": "server_error",
                "message": f"The assistant {run['assistant_id']} was deleted.",
            },
        )
        return
    messages = backend.store.all(MESSAGE, parent=run["thread_id"])
    documents, has_store = _searchable(backend, assistant, thread, messages)
    decision = decide(
        RunInput(
            tools=run["tools"],
            messages=[Turn(m["role"], message_text(m), m["metadata"]) for m in messages],
            tool_choice=run["tool_choice"],
            parallel_tool_calls=run["parallel_tool_calls"],
            response_format=run["response_format"],
            has_vector_store=has_store,
            documents=documents,
            thread_metadata=thread.get("metadata") or {},
            run_index=run["_run_index"],
            tool_results=[ToolResult(**r) for r in run.get("_tool_results", [])],
            queued=scripts.pop(backend, run["thread_id"]),
        )
    )
    prompt = count_tokens("\n".join([run["instructions"], *(message_text(m) for m in messages)]))
    _record(backend, run, decision, prompt, log)


def _record(backend: Backend, run: Doc, decision: Decision, prompt: int, log: EventLog) -> None:
    for tool_step in decision.steps:
        _tool_step(backend, run, tool_step, prompt, log)
    outcome = decision.outcome
    now = backend.now()
    if isinstance(outcome, Reply):
        _reply(backend, run, outcome, prompt, log)
        end(backend, run, log, "completed", completed_at=backend.now())
    elif isinstance(outcome, CallFunctions):
        _require_action(backend, run, outcome, prompt, log)
    elif isinstance(outcome, Fail):
        error = {"code": outcome.code, "message": outcome.message}
        end(backend, run, log, "failed", failed_at=now, last_error=error)
    elif isinstance(outcome, Incomplete):
        end(backend, run, log, "incomplete", incomplete_details={"reason": outcome.reason})
    elif isinstance(outcome, Expire):
        end(backend, run, log, "expired", expires_at=now)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown outcome {outcome!r}")


def end(backend: Backend, run: Doc, log: EventLog, status: str, **fields: Any) -> None:
    """Finish the run: close open steps, total the usage, emit the final event."""
    now = backend.now()
    for step in backend.store.all(STEP, parent=run["id"]):
        if step["status"] == "in_progress":
            closing = {"cancelled": "cancelled", "expired": "expired"}.get(status, "failed")
            step.update(status=closing, **{f"{closing}_at": now})
            step.pop("_usage", None)
            backend.store.put(STEP, step, parent=run["id"])
    usage = _total_usage(backend, run["id"])
    run.update(status=status, required_action=None, usage=usage, **fields)
    if status != "expired":
        run["expires_at"] = None
    _save(backend, run)
    log.emit(f"thread.run.{status}", public(run))


def _total_usage(backend: Backend, run_id: str) -> Doc:
    totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for step in backend.store.all(STEP, parent=run_id):
        for key in totals:
            totals[key] += (step["usage"] or {}).get(key, 0)
    return totals


def _usage(prompt: int, completion: int) -> Doc:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def new_step(backend: Backend, run: Doc, details: Doc) -> Doc:
    """A new ``in_progress`` step of ``run`` (not stored)."""
    return {
        "id": backend.new_id("step_"),
        "object": "thread.run.step",
        "created_at": backend.now(),
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "type": details["type"],
        "status": "in_progress",
        "step_details": details,
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "metadata": {},
        "usage": None,
    }


def _announce_tool_calls(run: Doc, step: Doc, calls: list[Doc], log: EventLog) -> None:
    """created (no calls yet) / in_progress / one delta per call, as the service streams."""
    include = run["_include"]
    step["step_details"] = {"type": "tool_calls", "tool_calls": []}
    log.emit("thread.run.step.created", step_view(step, include))
    log.emit("thread.run.step.in_progress", step_view(step, include))
    for index, call in enumerate(calls):
        step["step_details"] = {"type": "tool_calls", "tool_calls": [{"index": index, **call}]}
        delta = step_view(step, include)["step_details"]
        log.emit(
            "thread.run.step.delta",
            {"id": step["id"], "object": "thread.run.step.delta", "delta": {"step_details": delta}},
        )
    step["step_details"] = {"type": "tool_calls", "tool_calls": calls}


def _tool_step(
    backend: Backend, run: Doc, tool_step: FileSearchStep | CodeStep, prompt: int, log: EventLog
) -> None:
    step = new_step(backend, run, {"type": "tool_calls", "tool_calls": []})
    if isinstance(tool_step, FileSearchStep):
        call: Doc = {
            "id": backend.new_id("call_"),
            "type": "file_search",
            "file_search": {
                "ranking_options": {
                    "ranker": tool_step.ranker,
                    "score_threshold": tool_step.score_threshold,
                },
                "results": [
                    {
                        "file_id": hit.file_id,
                        "file_name": hit.filename,
                        "score": hit.score,
                        "content": [{"type": "text", "text": hit.text}],
                    }
                    for hit in tool_step.results
                ],
            },
        }
        produced = tool_step.query
    else:
        call = {
            "id": backend.new_id("call_"),
            "type": "code_interpreter",
            "code_interpreter": {
                "input": tool_step.input,
                "outputs": [{"type": "logs", "logs": tool_step.logs}],
            },
        }
        produced = tool_step.input
    _announce_tool_calls(run, step, [call], log)
    step.update(
        status="completed",
        completed_at=backend.now(),
        usage=_usage(prompt, count_tokens(produced)),
    )
    backend.store.insert(STEP, step, parent=run["id"])
    log.emit("thread.run.step.completed", step_view(step, run["_include"]))


def _require_action(
    backend: Backend, run: Doc, outcome: CallFunctions, prompt: int, log: EventLog
) -> None:
    step = new_step(backend, run, {"type": "tool_calls", "tool_calls": []})
    calls: list[Doc] = [
        {
            "id": backend.new_id("call_"),
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments, "output": None},
        }
        for c in outcome.calls
    ]
    _announce_tool_calls(run, step, calls, log)
    produced = "".join(c.name + c.arguments for c in outcome.calls)
    step["_usage"] = _usage(prompt, count_tokens(produced))
    backend.store.insert(STEP, step, parent=run["id"])
    required = [
        {
            "id": c["id"],
            "type": "function",
            "function": {k: c["function"][k] for k in ("name", "arguments")},
        }
        for c in calls
    ]
    run.update(
        status="requires_action",
        required_action={
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": required},
        },
        _pending_step=step["id"],
    )
    _save(backend, run)
    log.emit("thread.run.requires_action", public(run))


def _reply(backend: Backend, run: Doc, reply: Reply, prompt: int, log: EventLog) -> None:
    thread_id = run["thread_id"]
    message = message_doc(
        backend,
        thread_id,
        role="assistant",
        content=[],
        status="in_progress",
        assistant_id=run["assistant_id"],
        run_id=run["id"],
    )
    step = new_step(
        backend,
        run,
        {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
    )
    log.emit("thread.run.step.created", public(step))
    log.emit("thread.run.step.in_progress", public(step))
    log.emit("thread.message.created", public(message))
    log.emit("thread.message.in_progress", public(message))
    annotations = [
        {
            "type": "file_citation",
            "text": c.quote,
            "file_citation": {"file_id": c.file_id},
            "start_index": c.start,
            "end_index": c.end,
        }
        for c in reply.citations
    ]
    pieces = text_pieces(reply.text)
    for i, piece in enumerate(pieces):
        text: Doc = {"value": piece}
        if i == len(pieces) - 1 and annotations:
            text["annotations"] = [{"index": j, **a} for j, a in enumerate(annotations)]
        delta: Doc = {"content": [{"index": 0, "type": "text", "text": text}]}
        if i == 0:
            delta["role"] = "assistant"
        log.emit(
            "thread.message.delta",
            {"id": message["id"], "object": "thread.message.delta", "delta": delta},
        )
    now = backend.now()
    message.update(
        status="completed", completed_at=now, content=[text_part(reply.text, annotations)]
    )
    backend.store.insert(MESSAGE, message, parent=thread_id)
    log.emit("thread.message.completed", public(message))
    step.update(
        status="completed", completed_at=now, usage=_usage(prompt, count_tokens(reply.text))
    )
    backend.store.insert(STEP, step, parent=run["id"])
    log.emit("thread.run.step.completed", step_view(step, run["_include"]))


def text_pieces(text: str) -> list[str]:
    """The reply cut into deltas of a few words (whitespace kept, so they join back)."""
    words = re.findall(r"\s*\S+\s*", text) or [text]
    joined = "".join(words)
    if joined != text:  # leading/trailing whitespace only: keep the text whole
        return [text]
    return [
        "".join(words[i : i + _WORDS_PER_DELTA]) for i in range(0, len(words), _WORDS_PER_DELTA)
    ]


def _searchable(
    backend: Backend, assistant: Doc, thread: Doc, messages: list[Doc]
) -> tuple[list[Document], bool]:
    """Files the run may search (its vector stores' completed files, and attachments)."""
    store_ids: list[str] = []
    for owner in (assistant, thread):
        resources = owner.get("tool_resources") or {}
        store_ids += (resources.get("file_search") or {}).get("vector_store_ids") or []
    attached = [
        a["file_id"]
        for m in messages
        for a in m["attachments"] or []
        if any(t["type"] == "file_search" for t in a["tools"])
    ]
    return searchable_files(backend, store_ids, attached), bool(store_ids or attached)


def searchable_files(
    backend: Backend,
    store_ids: Sequence[str],
    file_ids: Sequence[str] = (),
    accept: Callable[[Doc], bool] | None = None,
) -> list[Document]:
    """The completed files of ``store_ids`` (those ``accept`` keeps), then ``file_ids``.

    Shared by runs and responses: what the responder's file search reads.
    """
    found: list[str] = []
    for vs_id in dict.fromkeys(store_ids):
        for vs_file in backend.store.all(vector_store_files.KIND, parent=vs_id):
            if vs_file["status"] == "completed" and (accept is None or accept(vs_file)):
                found.append(vs_file["id"])
    docs = []
    for file_id in dict.fromkeys([*found, *file_ids]):
        doc = backend.store.get(files.KIND, file_id)
        if doc is not None:
            text = files.content(backend, file_id).decode("utf-8", errors="replace")
            docs.append(Document(file_id, doc["filename"], text))
    return docs


def _save(backend: Backend, run: Doc) -> None:
    backend.store.put(RUN, run, parent=run["thread_id"])
