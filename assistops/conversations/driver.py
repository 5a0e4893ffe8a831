"""One conversation with a deployed assistant, turn by turn: the engine of ``test`` and ``chat``.

A :class:`Conversation` sends a user message and follows the streamed events until the answer
is complete: text as it arrives, tool calls as they happen, ``requires_action`` answered by
the caller's :data:`AnswerFn` (a test's canned outputs and handlers, or a person), the run's
end and its ``last_error``. Then it reads the run's steps, so a failed check can show how the
assistant got there. Two protocols, one result (:class:`~.results.TurnResult`):

- ``assistants``: a thread, one streamed run per turn (``submit_tool_outputs`` streamed too);
- ``responses``: ``responses.create(**request, input=..., previous_response_id=...)``, one
  response per round trip, chained; its output items are its steps.

``close()`` deletes what the conversation created (the thread, or every response); the runner
calls it in a ``finally``, so a failing or interrupted test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistops.conversations.results import (
    Citation,
    RunInfo,
    SearchResult,
    Step,
    ToolCall,
    TurnResult,
)
from assistops.errors import ProviderError
from assistops.kinds.tags import UploadName
from assistops.providers.base import Json
from assistops.providers.sessions import Sessions, StreamEvent

#: ``(function name, arguments JSON) -> (output, answered_by)``.
AnswerFn = Callable[[str, str], tuple[str, str]]

RUN_ENDS = ("completed", "failed", "incomplete", "expired", "cancelled")


class Listener(Protocol):
    """What a person watching the conversation sees as it happens (``chat``)."""

    def text(self, delta: str) -> None:
        """A piece of the reply, as it arrives."""

    def tool(self, call: ToolCall) -> None:
        """A tool call, once it is known (a function's output not yet)."""

    def output(self, call: ToolCall) -> None:
        """A function call's output, once it was submitted."""


class Silent:
    """A :class:`Listener` that shows nothing (tests)."""

    def text(self, delta: str) -> None:
        """Nothing."""

    def tool(self, call: ToolCall) -> None:
        """Nothing."""

    def output(self, call: ToolCall) -> None:
        """Nothing."""


class Stopped(Exception):
    """The turn stopped before its end: timed out, or interrupted."""


class TurnError(Exception):
    """The turn cannot go on (a function nobody answers, a handler that raised)."""


@dataclass
class FileIndex:
    """Upload id -> (filename, project path): how citations and search results name files."""

    names: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, uploads: list[Json], paths_by_sha16: dict[str, str]) -> FileIndex:
        """From the environment's uploads and the declared files' sha256 prefixes."""
        index = cls()
        for raw in uploads:
            file_id, filename = str(raw.get("id")), str(raw.get("filename") or "")
            index.names[file_id] = filename
            name = UploadName.parse(filename)
            if name is not None and name.sha16 in paths_by_sha16:
                index.paths[file_id] = paths_by_sha16[name.sha16]
        return index

    def path(self, file_id: str) -> str | None:
        """The project path of an upload, when it serves a declared file."""
        return self.paths.get(file_id)


@dataclass
class Clock:
    """The deadline of one attempt and the flag that interrupts it."""

    deadline: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    timeout: float | None = None

    def remaining(self) -> float | None:
        """Seconds left (None: no deadline); Stopped when none are."""
        self.check()
        return None if self.deadline is None else max(0.001, self.deadline - time.monotonic())

    def check(self) -> None:
        """Stopped when interrupted or past the deadline."""
        if self.cancelled.is_set():
            raise Stopped("interrupted")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise Stopped(f"timed out after {self.timeout:g}s")

    def expired(self) -> bool:
        """Past the deadline (a provider timeout then means the test's timeout)."""
        return self.deadline is not None and time.monotonic() >= self.deadline


class Conversation(ABC):
    """A conversation with one deployed assistant."""

    def __init__(self, sessions: Sessions, files: FileIndex) -> None:
        self.sessions = sessions
        self.files = files

    @property
    @abstractmethod
    def id(self) -> str:
        """The thread, or the first response ('' before the first turn)."""

    @abstractmethod
    def send(
        self,
        text: str,
        *,
        answer: AnswerFn,
        metadata: dict[str, str] | None = None,
        listener: Listener | None = None,
        clock: Clock | None = None,
    ) -> TurnResult:
        """One user message and everything the assistant did about it (no checks)."""

    @abstractmethod
    def last_steps(self) -> list[Step]:
        """The steps of the latest turn (``chat``'s ``/steps``)."""

    @abstractmethod
    def close(self) -> None:
        """Delete what the conversation created; safe to call twice."""

    def _events(self, events: Iterator[StreamEvent], clock: Clock) -> Iterator[StreamEvent]:
        try:
            for event in events:
                clock.check()
                if event.name == "error":
                    raise TurnError(f"the stream reported an error: {event.data}")
                yield event
        except ProviderError as exc:
            if clock.expired():
                raise Stopped(f"timed out after {clock.timeout:g}s") from None
            raise TurnError(str(exc)) from None

    def _answer(
        self, answer: AnswerFn, call: ToolCall, listener: Listener, clock: Clock
    ) -> ToolCall:
        listener.tool(call)
        try:
            output, by = answer(call.name, call.arguments)
        except TurnError:
            raise
        except Exception as exc:
            raise TurnError(
                f"the handler of {call.name} raised {type(exc).__name__}: {exc}"
            ) from None
        clock.check()
        done = call.model_copy(update={"output": output, "answered_by": by})
        listener.output(done)
        return done


# -- the Assistants protocol ----------------------------------------------------------------------


class ThreadConversation(Conversation):
    """A thread of an assistant; one streamed run per turn."""

    def __init__(
        self,
        sessions: Sessions,
        assistant_id: str,
        files: FileIndex,
        *,
        thread_metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(sessions, files)
        self.assistant_id = assistant_id
        self.thread_metadata = thread_metadata or {}
        self.thread_id = ""
        self._steps: list[Step] = []
        self._active_run = ""
        self._lock = threading.Lock()
        self._closed = False

    @property
    def id(self) -> str:
        """The thread's id."""
        return self.thread_id

    def _thread(self) -> str:
        with self._lock:
            if self._closed:
                raise Stopped("interrupted")
            if not self.thread_id:
                self.thread_id = self.sessions.create_thread(self.thread_metadata)
            return self.thread_id

    def send(
        self,
        text: str,
        *,
        answer: AnswerFn,
        metadata: dict[str, str] | None = None,
        listener: Listener | None = None,
        clock: Clock | None = None,
    ) -> TurnResult:
        """Add the message, stream a run, answer its function calls, read its steps."""
        clock = clock or Clock()
        listener = listener or Silent()
        thread_id = self._thread()
        self.sessions.add_message(thread_id, text, metadata)
        answered: dict[str, ToolCall] = {}
        run: Json = {}
        message: Json | None = None
        error = ""
        events = self._events(
            self.sessions.stream_run(thread_id, self.assistant_id, timeout=clock.remaining()),
            clock,
        )
        try:
            while True:
                pending: list[ToolCall] = []
                for event in events:
                    data = event.data
                    if event.name.startswith("thread.run.") and "step" not in event.name:
                        run = data
                        self._active_run = str(data.get("id") or "")
                    if event.name == "thread.message.delta":
                        for part in (data.get("delta") or {}).get("content") or []:
                            value = (part.get("text") or {}).get("value")
                            if value:
                                listener.text(value)
                    elif event.name == "thread.message.completed":
                        message = data
                    elif event.name == "thread.run.step.completed":
                        for call in _step_calls(data, self.files):
                            if call.type != "function":
                                listener.tool(call)
                    elif event.name == "thread.run.requires_action":
                        required = (data.get("required_action") or {}).get(
                            "submit_tool_outputs"
                        ) or {}
                        pending = [
                            ToolCall(
                                type="function",
                                id=str(c.get("id")),
                                name=str((c.get("function") or {}).get("name")),
                                arguments=str((c.get("function") or {}).get("arguments") or ""),
                            )
                            for c in required.get("tool_calls") or []
                        ]
                if not pending:
                    break
                outputs = []
                for call in pending:
                    done = self._answer(answer, call, listener, clock)
                    answered[call.id] = done
                    outputs.append((call.id, done.output or ""))
                events = self._events(
                    self.sessions.stream_tool_outputs(
                        thread_id, str(run.get("id")), outputs, timeout=clock.remaining()
                    ),
                    clock,
                )
        except (Stopped, TurnError, KeyboardInterrupt) as exc:
            self._cancel(thread_id)
            if not isinstance(exc, TurnError):
                raise
            error = str(exc)
        run_id = str(run.get("id") or "")
        steps = self._read_steps(thread_id, run_id, answered) if run_id else []
        self._steps = steps
        self._active_run = ""
        reply, citations = _message_text(message, self.files)
        status = str(run.get("status") or "")
        if not error and status and status != "completed":
            error = _ended(status, run.get("last_error"), run.get("incomplete_details"))
        return TurnResult(
            user=text,
            reply=reply,
            citations=citations,
            tool_calls=[c for s in steps for c in s.tool_calls],
            steps=steps,
            runs=[_run_info(run)] if run_id else [],
            error=error,
        )

    def _cancel(self, thread_id: str) -> None:
        if self._active_run:
            # a cancel that fails is fine: the thread is deleted next, with its run
            with contextlib.suppress(ProviderError):
                self.sessions.cancel_run(thread_id, self._active_run)

    def _read_steps(self, thread_id: str, run_id: str, answered: dict[str, ToolCall]) -> list[Step]:
        try:
            raw = self.sessions.run_steps(thread_id, run_id)
        except ProviderError:
            return []
        steps = []
        for step in raw:
            calls = [
                c.model_copy(update={"answered_by": answered[c.id].answered_by})
                if c.id in answered
                else c
                for c in _step_calls(step, self.files)
            ]
            details = step.get("step_details") or {}
            steps.append(
                Step(
                    id=str(step.get("id")),
                    type=str(step.get("type")),
                    status=str(step.get("status") or ""),
                    run_id=run_id,
                    tool_calls=calls,
                    message_id=str((details.get("message_creation") or {}).get("message_id") or ""),
                    last_error=step.get("last_error"),
                )
            )
        return steps

    def last_steps(self) -> list[Step]:
        """The latest run's steps."""
        return list(self._steps)

    def close(self) -> None:
        """Cancel the active run, if any, and delete the thread."""
        with self._lock:
            self._closed = True
            thread_id, self.thread_id = self.thread_id, ""
        if thread_id:
            self._cancel(thread_id)
            self.sessions.delete_thread(thread_id)


def _step_calls(step: Json, files: FileIndex) -> list[ToolCall]:
    details = step.get("step_details") or {}
    if details.get("type") != "tool_calls":
        return []
    out = []
    for call in details.get("tool_calls") or []:
        kind = call.get("type")
        if kind == "function":
            fn = call.get("function") or {}
            output = fn.get("output")
            out.append(
                ToolCall(
                    type="function",
                    id=str(call.get("id")),
                    name=str(fn.get("name")),
                    arguments=str(fn.get("arguments") or ""),
                    output=None if output is None else str(output),
                )
            )
        elif kind == "file_search":
            fs = call.get("file_search") or {}
            results = [
                SearchResult(
                    file_id=str(r.get("file_id")),
                    file_name=str(r.get("file_name") or ""),
                    path=files.path(str(r.get("file_id"))),
                    score=r.get("score"),
                    text="".join(str(c.get("text") or "") for c in r.get("content") or []),
                )
                for r in fs.get("results") or []
            ]
            out.append(ToolCall(type="file_search", id=str(call.get("id")), results=results))
        elif kind == "code_interpreter":
            ci = call.get("code_interpreter") or {}
            logs = "\n".join(
                str(o.get("logs")) for o in ci.get("outputs") or [] if o.get("type") == "logs"
            )
            out.append(
                ToolCall(
                    type="code_interpreter",
                    id=str(call.get("id")),
                    input=str(ci.get("input") or ""),
                    logs=logs,
                )
            )
    return out


def _message_text(message: Json | None, files: FileIndex) -> tuple[str, list[Citation]]:
    if message is None:
        return "", []
    texts: list[str] = []
    citations: list[Citation] = []
    for part in message.get("content") or []:
        if part.get("type") != "text":
            continue
        text = part.get("text") or {}
        texts.append(str(text.get("value") or ""))
        for annotation in text.get("annotations") or []:
            if annotation.get("type") == "file_citation":
                file_id = str((annotation.get("file_citation") or {}).get("file_id"))
                citations.append(
                    Citation(
                        file_id=file_id,
                        file_name=files.names.get(file_id, ""),
                        path=files.path(file_id),
                        quote=str(annotation.get("text") or ""),
                    )
                )
    return "".join(texts), citations


def _run_info(run: Json) -> RunInfo:
    return RunInfo(
        id=str(run.get("id")),
        status=str(run.get("status") or ""),
        last_error=run.get("last_error") or run.get("error"),
        incomplete_details=run.get("incomplete_details"),
    )


def _ended(status: str, last_error: Any, incomplete: Any) -> str:
    if last_error:
        return (
            f"the run ended '{status}': {last_error.get('code')}: {last_error.get('message')}"
            if isinstance(last_error, dict)
            else f"the run ended '{status}': {last_error}"
        )
    if incomplete:
        return f"the run ended '{status}': {json.dumps(incomplete, sort_keys=True)}"
    return f"the run ended '{status}'"


# -- the Responses API ---------------------------------------------------------------------------


class ResponsesConversation(Conversation):
    """Chained responses of one released request (``previous_response_id``)."""

    def __init__(self, sessions: Sessions, request: Json, files: FileIndex) -> None:
        super().__init__(sessions, files)
        self.request = request
        self.created: list[str] = []
        self._last = ""
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._closed = False
        self._first = ""

    @property
    def id(self) -> str:
        """The first response of the chain."""
        if self._first:
            return self._first
        return self.created[0] if self.created else ""

    def send(
        self,
        text: str,
        *,
        answer: AnswerFn,
        metadata: dict[str, str] | None = None,
        listener: Listener | None = None,
        clock: Clock | None = None,
    ) -> TurnResult:
        """Create responses until one needs no function output."""
        clock = clock or Clock()
        listener = listener or Silent()
        given: str | list[Json] = text
        steps: list[Step] = []
        runs: list[RunInfo] = []
        reply, error = "", ""
        citations: list[Citation] = []
        try:
            while True:
                response, items = self._one(given, metadata, listener, clock)
                runs.append(_run_info(response))
                calls: list[ToolCall] = []
                outputs: list[Json] = []
                for item in items:
                    step_calls: list[ToolCall] = []
                    kind = str(item.get("type"))
                    if kind == "function_call":
                        call = ToolCall(
                            type="function",
                            id=str(item.get("call_id")),
                            name=str(item.get("name")),
                            arguments=str(item.get("arguments") or ""),
                        )
                        done = self._answer(answer, call, listener, clock)
                        outputs.append(
                            {
                                "type": "function_call_output",
                                "call_id": call.id,
                                "output": done.output or "",
                            }
                        )
                        step_calls.append(done)
                    elif kind == "file_search_call":
                        step_calls.append(self._search(item))
                        listener.tool(step_calls[-1])
                    elif kind == "code_interpreter_call":
                        step_calls.append(
                            ToolCall(
                                type="code_interpreter",
                                id=str(item.get("id")),
                                input=str(item.get("code") or ""),
                            )
                        )
                        listener.tool(step_calls[-1])
                    elif kind == "message":
                        reply, citations = self._message(item)
                    calls += step_calls
                    steps.append(
                        Step(
                            id=str(item.get("id") or item.get("call_id") or ""),
                            type=kind,
                            status=str(item.get("status") or ""),
                            run_id=str(response.get("id")),
                            tool_calls=step_calls,
                            message_id=str(item.get("id")) if kind == "message" else "",
                        )
                    )
                status = str(response.get("status") or "")
                if status != "completed":
                    error = _ended(
                        status, response.get("error"), response.get("incomplete_details")
                    )
                    break
                if not outputs:
                    break
                given = outputs
        except TurnError as exc:
            error = str(exc)
        self._steps = steps
        return TurnResult(
            user=text,
            reply=reply,
            citations=citations,
            tool_calls=[c for s in steps for c in s.tool_calls],
            steps=steps,
            runs=runs,
            error=error,
        )

    def _one(
        self,
        given: str | list[Json],
        metadata: dict[str, str] | None,
        listener: Listener,
        clock: Clock,
    ) -> tuple[Json, list[Json]]:
        events = self._events(
            self.sessions.stream_response(
                self.request,
                given,
                previous_response_id=self._last or None,
                metadata=metadata,
                timeout=clock.remaining(),
            ),
            clock,
        )
        response: Json = {}
        items: list[Json] = []
        for event in events:
            data = event.data
            if event.name == "response.created":
                response = data.get("response") or {}
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self.created.append(str(response.get("id")))
                        self._first = self._first or self.created[0]
                if closed:  # closed meanwhile (interrupted): this one goes too
                    self.sessions.delete_response(str(response.get("id")))
                    raise Stopped("interrupted")
            elif event.name == "response.output_text.delta":
                listener.text(str(data.get("delta") or ""))
            elif event.name == "response.output_item.done":
                items.append(data.get("item") or {})
            elif event.name in ("response.completed", "response.failed", "response.incomplete"):
                response = data.get("response") or response
        if not response:
            raise TurnError("the response stream ended before the response was created")
        self._last = str(response.get("id"))
        return response, items

    def _search(self, item: Json) -> ToolCall:
        results = [
            SearchResult(
                file_id=str(r.get("file_id")),
                file_name=str(r.get("filename") or ""),
                path=self.files.path(str(r.get("file_id"))),
                score=r.get("score"),
                text=str(r.get("text") or ""),
            )
            for r in item.get("results") or []
        ]
        return ToolCall(
            type="file_search",
            id=str(item.get("id")),
            queries=[str(q) for q in item.get("queries") or []],
            results=results,
        )

    def _message(self, item: Json) -> tuple[str, list[Citation]]:
        texts: list[str] = []
        citations: list[Citation] = []
        for part in item.get("content") or []:
            if part.get("type") != "output_text":
                continue
            texts.append(str(part.get("text") or ""))
            for annotation in part.get("annotations") or []:
                if annotation.get("type") == "file_citation":
                    file_id = str(annotation.get("file_id"))
                    citations.append(
                        Citation(
                            file_id=file_id,
                            file_name=str(annotation.get("filename") or ""),
                            path=self.files.path(file_id),
                        )
                    )
        return "".join(texts), citations

    def last_steps(self) -> list[Step]:
        """The latest turn's output items."""
        return list(self._steps)

    def close(self) -> None:
        """Delete every response the conversation created."""
        with self._lock:
            self._closed = True
            created, self.created = self.created, []
        self._last = ""
        for response_id in created:
            self.sessions.delete_response(response_id)
