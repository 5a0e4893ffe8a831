"""How a model's streamed turns become a run's steps, messages and events, as they arrive.

:class:`LiveRun` is the run engine's side of a run answered by an upstream model
(:mod:`.model_runner` drives it). Every change is one short store transaction that first
re-reads the run, so a cancellation or an expiry recorded meanwhile stops the model
(:class:`RunStopped`), and publishes the events it emitted once committed:

* text → a ``message_creation`` step and an ``in_progress`` assistant message (created
  with the first piece), one ``thread.message.delta`` per piece;
* a tool call → the open message is completed first (a model may write, then call), then
  a ``tool_calls`` step (created with the turn's first call) and one
  ``thread.run.step.delta`` for the call's start and for each piece of its arguments;
* file-search results and code_interpreter executions → the call's results or outputs, the
  step completed once every call of the turn the server (or a hosted tool) runs has them;
  a code_interpreter call's ``input`` is streamed as the model writes the code (one
  ``thread.run.step.delta`` per new piece), its ``outputs`` in one delta when it has run;
* a hosted code_interpreter call (the Responses API's own tool) is recorded the same way,
  from the upstream's events, and is never sent back to the model as a call.

Files code_interpreter wrote: a ``sandbox:/mnt/data/<name>`` link the model writes becomes a
``file_path`` annotation when its message completes, and the file an attachment of it.

Citations: the results handed to the model label each passage ``【<search>:<n>†<file>】``;
a label the model writes back becomes a ``file_citation`` annotation on exactly that text
(``start_index``/``end_index`` in the message), sent in the delta that carries it.

Usage: a model call's usage is reported on the last step it produced (steps it closed
earlier report zeros), so the run's usage, their sum, is what the upstream counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from assistops.backend import run_engine
from assistops.backend.conversation import MESSAGE, RUN, STEP
from assistops.backend.core import Backend
from assistops.backend.messages import message_doc, text_part
from assistops.backend.retrieval import Hit
from assistops.backend.rules import Doc, public
from assistops.backend.streaming import EventLog, LiveEventLog
from assistops.backend.upstream import Usage

FILE_SEARCH = "file_search"  # the function name the model calls to search
CODE_INTERPRETER = "code_interpreter"  # the function name the model calls to run code
_LABEL = re.compile(r"【(\d+):(\d+)†[^】\n]{0,200}】")
_SANDBOX_LINK = re.compile(r"sandbox:/mnt/data/([^\s)\]\"'<>]+)")
_HOLD_MAX = 240  # characters held back while a label may be coming


class RunStopped(Exception):
    """The run is no longer ``in_progress`` (cancelled, expired, ...): stop the model."""


@dataclass
class _Call:
    call_id: str
    name: str
    arguments: str = ""
    hosted: bool = False  # run by the upstream itself (never sent back as a call)
    sent_code: int = 0  # characters of a code_interpreter call's input already streamed


@dataclass
class _Turn:
    """What the model produced in the current call."""

    text: str = ""
    calls: dict[int, _Call] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)  # ids of the steps it produced


class LiveRun:
    """A run being answered by a model, recorded as it streams."""

    def __init__(self, backend: Backend, thread_id: str, run_id: str, log: EventLog) -> None:
        self.backend = backend
        self.thread_id = thread_id
        self.run_id = run_id
        self.log = log
        self._turn = _Turn()
        self._message: Doc | None = None
        self._message_step: Doc | None = None
        self._held = ""  # text not sent yet: a citation label may be starting
        self._call_step: Doc | None = None
        self._last_message: Doc | None = None
        self._done: set[str] = set()  # calls the server (or a hosted tool) has answered
        self.spoiled = False  # the last reply broke response_format: leave it incomplete

    # -- plumbing ----------------------------------------------------------------------

    @contextmanager
    def change(self, *, require: str | None = "in_progress") -> Iterator[Doc]:
        """One transaction on the fresh run document (saved after), then publish."""
        store = self.backend.store
        with store.transaction():
            run = store.get(RUN, self.run_id, parent=self.thread_id)
            if run is None:
                raise RunStopped("the run was deleted")
            if require is not None and run["status"] != require:
                raise RunStopped(run["status"])
            yield run
            store.put(RUN, run, parent=self.thread_id)
        self.publish()

    def publish(self) -> None:
        """Let the client see what was committed."""
        if isinstance(self.log, LiveEventLog):
            self.log.publish()

    def close_stream(self) -> None:
        """End a streaming client's stream (after publishing everything)."""
        if isinstance(self.log, LiveEventLog):
            self.log.close()

    def _put(self, kind: str, doc: Doc, parent: str) -> None:
        self.backend.store.put(kind, doc, parent=parent)

    # -- text --------------------------------------------------------------------------

    def text(self, piece: str) -> None:
        """A piece of the reply (labels held back until complete)."""
        if not piece:
            return
        self._turn.text += piece
        self._held += piece
        send = self._held
        opening = send.rfind("【")
        if opening != -1 and "】" not in send[opening:] and len(send) - opening < _HOLD_MAX:
            send, self._held = send[:opening], send[opening:]
        else:
            self._held = ""
        if send:
            with self.change() as run:
                self._send_text(run, send)

    def _send_text(self, run: Doc, piece: str) -> None:
        if self._message is None:
            self._open_message(run)
        assert self._message is not None
        part = self._message["content"][0]["text"] if self._message["content"] else None
        before = part["value"] if part else ""
        sources = run.get("_sources", {})
        annotations = [
            {
                "type": "file_citation",
                "text": m.group(),
                "file_citation": {"file_id": sources[f"{m[1]}:{m[2]}"]},
                "start_index": len(before) + m.start(),
                "end_index": len(before) + m.end(),
            }
            for m in _LABEL.finditer(piece)
            if f"{m[1]}:{m[2]}" in sources
        ]
        known = part["annotations"] if part else []
        text: Doc = {"value": piece}
        if annotations:
            text["annotations"] = [
                {"index": len(known) + i, **a} for i, a in enumerate(annotations)
            ]
        delta: Doc = {"content": [{"index": 0, "type": "text", "text": text}]}
        if part is None:
            delta["role"] = "assistant"
        self.log.emit(
            "thread.message.delta",
            {"id": self._message["id"], "object": "thread.message.delta", "delta": delta},
        )
        self._message["content"] = [text_part(before + piece, [*known, *annotations])]
        self._put(MESSAGE, self._message, self.thread_id)

    def _open_message(self, run: Doc) -> None:
        message = message_doc(
            self.backend,
            self.thread_id,
            role="assistant",
            content=[],
            status="in_progress",
            assistant_id=run["assistant_id"],
            run_id=run["id"],
        )
        step = run_engine.new_step(
            self.backend,
            run,
            {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
        )
        self.backend.store.insert(STEP, step, parent=run["id"])
        self.backend.store.insert(MESSAGE, message, parent=self.thread_id)
        self.log.emit("thread.run.step.created", public(step))
        self.log.emit("thread.run.step.in_progress", public(step))
        self.log.emit("thread.message.created", public(message))
        self.log.emit("thread.message.in_progress", public(message))
        self._message, self._message_step = message, step
        self._turn.steps.append(step["id"])

    def _flush_held(self, run: Doc) -> None:
        if self._held:
            held, self._held = self._held, ""
            self._send_text(run, held)

    def _close_message(self, run: Doc, usage: Usage | None, *, cut: bool = False) -> None:
        """Complete the open message and its step (``usage``: None reports zeros).

        ``cut``: the model hit its token limit, so the message is ``incomplete``.
        """
        self._flush_held(run)
        if self._message is None or self._message_step is None:
            return
        now = self.backend.now()
        message, step = self._message, self._message_step
        if not message["content"]:
            message["content"] = [text_part("", [])]
        _link_outputs(message, run.get("_outputs", {}))
        if cut:
            message.update(
                status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"}
            )
            self._put(MESSAGE, message, self.thread_id)
            self.log.emit("thread.message.incomplete", public(message))
        else:
            message.update(status="completed", completed_at=now)
            self._put(MESSAGE, message, self.thread_id)
            self.log.emit("thread.message.completed", public(message))
        self._last_message = message
        step.update(status="completed", completed_at=now, usage=(usage or Usage()).wire())
        self._put(STEP, step, run["id"])
        self.log.emit("thread.run.step.completed", public(step))
        transcript = run.setdefault("_transcript", [])
        transcript.append({"type": "text", "text": message["content"][0]["text"]["value"]})
        self._message = self._message_step = None

    def abandon_message(self, run: Doc, reason: str) -> None:
        """Leave the open message ``incomplete`` (the run failed or was cancelled)."""
        self._flush_held(run)
        if self._message is None and self.spoiled and self._last_message is not None:
            self._message, self._last_message = self._last_message, None
            self._message["completed_at"] = None
        if self._message is None:
            return
        now = self.backend.now()
        if not self._message["content"]:
            self._message["content"] = [text_part("", [])]
        self._message.update(
            status="incomplete", incomplete_at=now, incomplete_details={"reason": reason}
        )
        self._put(MESSAGE, self._message, self.thread_id)
        self.log.emit("thread.message.incomplete", public(self._message))
        self._message = self._message_step = None

    # -- tool calls --------------------------------------------------------------------

    def call_start(self, index: int, name: str, *, hosted: bool = False) -> None:
        """The model begins tool call ``index`` (``hosted``: the upstream runs it itself)."""
        with self.change() as run:
            self._close_message(run, None)
            call = _Call(self.backend.new_id("call_"), name, hosted=hosted)
            self._turn.calls[index] = call
            if self._call_step is None:
                step = run_engine.new_step(
                    self.backend, run, {"type": "tool_calls", "tool_calls": []}
                )
                self.backend.store.insert(STEP, step, parent=run["id"])
                self.log.emit("thread.run.step.created", run_engine.step_view(step))
                self.log.emit("thread.run.step.in_progress", run_engine.step_view(step))
                self._call_step = step
                self._turn.steps.append(step["id"])
            step = self._call_step
            position = len(step["step_details"]["tool_calls"])
            step["step_details"]["tool_calls"].append(_wire_call(call))
            self._put(STEP, step, run["id"])
            self._step_delta(step, {"index": position, **_wire_call(call)})

    def call_arguments(self, index: int, piece: str) -> None:
        """A piece of call ``index``'s arguments (file-search queries are not streamed)."""
        call = self._turn.calls.get(index)
        if call is None or not piece:
            return
        call.arguments += piece
        if call.name == FILE_SEARCH:
            return
        if call.name == CODE_INTERPRETER:
            self._code_input(call, call.arguments if call.hosted else partial_code(call.arguments))
            return
        with self.change() as run:
            step = self._call_step
            assert step is not None
            calls = step["step_details"]["tool_calls"]
            position = next(i for i, c in enumerate(calls) if c["id"] == call.call_id)
            calls[position]["function"]["arguments"] = call.arguments
            self._put(STEP, step, run["id"])
            delta = {"index": position, "type": "function", "function": {"arguments": piece}}
            self._step_delta(step, delta)

    def _code_input(self, call: _Call, code: str) -> None:
        """Stream what is new of a code_interpreter call's ``input``."""
        if len(code) <= call.sent_code:
            return
        piece, call.sent_code = code[call.sent_code :], len(code)
        with self.change() as run:
            step = self._call_step
            assert step is not None
            position, doc = self._find(step, call.call_id)
            doc["code_interpreter"]["input"] = code
            self._put(STEP, step, run["id"])
            delta = {"index": position, "type": "code_interpreter"}
            self._step_delta(step, {**delta, "code_interpreter": {"input": piece}})

    @staticmethod
    def _find(step: Doc, call_id: str) -> tuple[int, Doc]:
        calls = step["step_details"]["tool_calls"]
        return next((i, c) for i, c in enumerate(calls) if c["id"] == call_id)

    def code_done(self, call_id: str, code: str, outputs: Sequence[Doc], told: str | None) -> None:
        """Record a code_interpreter execution: its ``outputs`` and (``told``) what the model
        was given back as the call's output (``None`` for a hosted call)."""
        call = next((c for c in self._turn.calls.values() if c.call_id == call_id), None)
        if call is not None:  # still streaming (a hosted call): send what is left of the input
            self._code_input(call, code)
        with self.change() as run:
            step = self._call_step
            assert step is not None
            position, doc = self._find(step, call_id)
            doc["code_interpreter"].update(input=code, outputs=list(outputs))
            self._put(STEP, step, run["id"])
            if outputs:
                indexed = [{"index": i, **o} for i, o in enumerate(outputs)]
                delta = {"index": position, "type": "code_interpreter"}
                self._step_delta(step, {**delta, "code_interpreter": {"outputs": indexed}})
            if told is not None:
                run.setdefault("_transcript", []).append(
                    {"type": "output", "call_id": call_id, "output": told}
                )
            self._done.add(call_id)
            self._complete_if_answered(run)

    def output_files(self, produced: Doc) -> None:
        """Files code wrote (``name`` → file id), for the links the model writes to them."""
        with self.change() as run:
            run.setdefault("_outputs", {}).update(produced)

    def _complete_if_answered(self, run: Doc) -> None:
        """Complete the open step once every call in it has been answered by the server."""
        step = self._call_step
        assert step is not None
        calls = step["step_details"]["tool_calls"]
        if all(c["type"] != "function" and c["id"] in self._done for c in calls):
            self._complete_call_step(run)

    def _step_delta(self, step: Doc, call: Doc) -> None:
        self.log.emit(
            "thread.run.step.delta",
            {
                "id": step["id"],
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}},
            },
        )

    # -- the end of a model call -------------------------------------------------------

    def peek(self) -> tuple[str, list[tuple[str, str, str]]]:
        """The current call's text and its calls as ``(call_id, name, arguments)``."""
        calls = [
            (c.call_id, c.name, c.arguments) for c in self._turn.calls.values() if not c.hosted
        ]
        return self._turn.text, calls

    def end_turn(self, usage: Usage, *, cut: bool = False) -> None:
        """Close what the model call left open and report its ``usage``."""
        _, calls = self.peek()
        with self.change() as run:
            last = self._turn.steps[-1] if self._turn.steps else None
            if self._message_step is not None and self._message_step["id"] == last:
                self._close_message(run, usage, cut=cut)
            else:
                self._close_message(run, None, cut=cut)
            step = self._call_step
            if step is not None:
                step["_usage"] = usage.wire()
                self._put(STEP, step, run["id"])
                run.setdefault("_transcript", []).append(
                    {
                        "type": "calls",
                        "calls": [{"id": i, "name": n, "arguments": a} for i, n, a in calls],
                    }
                )
            elif last is None:
                # the model said nothing at all: still one (empty) message, as a reply
                self._open_message(run)
                self._close_message(run, usage)
        self._turn = _Turn()

    def file_search_done(
        self, call_id: str, query: str, hits: Sequence[Hit], ranking: Doc, output: str, labels: Doc
    ) -> None:
        """Record a file search the server ran for the model (and what the model was told)."""
        with self.change() as run:
            step = self._call_step
            assert step is not None
            for call in step["step_details"]["tool_calls"]:
                if call["id"] == call_id:
                    call["file_search"] = {
                        "ranking_options": ranking,
                        "results": [
                            {
                                "file_id": h.file_id,
                                "file_name": h.filename,
                                "score": h.score,
                                "content": [{"type": "text", "text": h.text}],
                            }
                            for h in hits
                        ],
                    }
            self._put(STEP, step, run["id"])
            run.setdefault("_sources", {}).update(labels)
            run.setdefault("_transcript", []).append(
                {"type": "output", "call_id": call_id, "output": output}
            )
            run["_searches"] = run.get("_searches", 0) + 1
            self._done.add(call_id)
            self._complete_if_answered(run)

    def _complete_call_step(self, run: Doc) -> None:
        step = self._call_step
        assert step is not None
        step.update(
            status="completed", completed_at=self.backend.now(), usage=step.pop("_usage", None)
        )
        self._put(STEP, step, run["id"])
        self.log.emit("thread.run.step.completed", run_engine.step_view(step, run["_include"]))
        self._call_step = None

    def require_action(self, run: Doc) -> None:
        """Pause the run for the function calls of the open step."""
        step = self._call_step
        assert step is not None
        required = [
            {
                "id": c["id"],
                "type": "function",
                "function": {
                    "name": c["function"]["name"],
                    "arguments": c["function"]["arguments"],
                },
            }
            for c in step["step_details"]["tool_calls"]
            if c["type"] == "function"
        ]
        run.update(
            status="requires_action",
            required_action={
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": required},
            },
            _pending_step=step["id"],
        )
        self.log.emit("thread.run.requires_action", public(run))
        self._call_step = None

    def call_id(self, index: int) -> str:
        """The id of the current model call's tool call ``index``."""
        return self._turn.calls[index].call_id

    @property
    def searches(self) -> int:
        """How many file searches this run has run (labels are numbered by it)."""
        run = self.backend.store.get(RUN, self.run_id, parent=self.thread_id) or {}
        return int(run.get("_searches", 0))


def _wire_call(call: _Call) -> Doc:
    """A call as a step holds it when it starts (a file search's results come later)."""
    if call.name == FILE_SEARCH:
        return {"id": call.call_id, "type": "file_search", "file_search": {}}
    if call.name == CODE_INTERPRETER:
        return {
            "id": call.call_id,
            "type": "code_interpreter",
            "code_interpreter": {"input": "", "outputs": []},
        }
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": "", "output": None},
    }


def partial_code(arguments: str) -> str:
    """The ``code`` of a code_interpreter call's arguments, as far as they have arrived.

    The arguments are JSON (``{"code": "..."}``) streamed in pieces: the string is decoded
    up to its last complete escape, so the input can be streamed as the model writes it.
    """
    match = re.search(r'"code"\s*:\s*"', arguments)
    if match is None:
        return ""
    body = arguments[match.end() :]
    end = 0
    escaped = False
    for i, ch in enumerate(body):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
            continue
        elif ch == '"':
            return _decode_json_string(body[:i])
        end = i + 1
    # cut an unfinished escape (a lone backslash or a partial \uXXXX) off the end
    text = body[:end]
    unfinished = re.search(r"\\u[0-9a-fA-F]{0,3}$", text)
    if unfinished:
        text = text[: unfinished.start()]
    return _decode_json_string(text)


def _decode_json_string(raw: str) -> str:
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return str(value)


def _link_outputs(message: Doc, outputs: Doc) -> None:
    """``file_path`` annotations on ``sandbox:/mnt/data/<name>`` links to files code wrote."""
    if not outputs:
        return
    text = message["content"][0]["text"]
    annotations = text["annotations"]
    attached = {a["file_id"] for a in message.get("attachments") or []}
    for match in _SANDBOX_LINK.finditer(text["value"]):
        file_id = outputs.get(match[1].rstrip(".,;:"))
        if file_id is None:
            continue
        link = match[0][: len("sandbox:/mnt/data/") + len(match[1].rstrip(".,;:"))]
        annotations.append(
            {
                "type": "file_path",
                "text": link,
                "file_path": {"file_id": file_id},
                "start_index": match.start(),
                "end_index": match.start() + len(link),
            }
        )
        if file_id not in attached:
            attached.add(file_id)
            message["attachments"] = [
                *(message.get("attachments") or []),
                {"file_id": file_id, "tools": [{"type": "code_interpreter"}]},
            ]
