"""Run conversation tests against a :class:`~.target.Target`: concurrently, with a timeout per
attempt, repeated with a pass threshold, and never leaving a thread behind.

Every attempt (one run of a test's conversation) is a job; ``jobs`` workers take them. Each
attempt's conversation is registered while it is open and closed (its thread or responses
deleted) in a ``finally``. When the run is interrupted (Ctrl-C reaches the main thread, or the
caller sets ``cancel``), every worker is told to stop and the main thread closes every
conversation still registered itself, without waiting for a worker stuck in a slow call or in
a handler, then re-raises: the workers are daemon threads, so the process can exit.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from assistops.config.models import FunctionAnswer
from assistops.conversations.assertions import evaluate
from assistops.conversations.declarations import LoadedTest
from assistops.conversations.driver import Clock, Conversation, Stopped, TurnError
from assistops.conversations.handlers import Handler, Handlers, as_output
from assistops.conversations.results import Attempt, TestResult, TurnResult, needed_passes
from assistops.conversations.target import Target
from assistops.errors import ProviderError

#: How long an interrupted run waits for its workers to finish their own clean-up.
_DRAIN_SECONDS = 5.0


class RunnerOptions(BaseModel):
    """How tests run (the engine's part of ``api.TestOptions``)."""

    model_config = ConfigDict(frozen=True)

    jobs: int = Field(4, ge=1, le=64, description="Attempts run at the same time.")
    timeout: float | None = Field(
        None, gt=0, description="Seconds per attempt, instead of each test's own timeout."
    )


@dataclass
class _Open:
    """The conversations open right now, so an interrupt can close them all."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    conversations: set[Conversation] = field(default_factory=set)

    def add(self, conversation: Conversation) -> None:
        with self.lock:
            self.conversations.add(conversation)

    def discard(self, conversation: Conversation) -> None:
        with self.lock:
            self.conversations.discard(conversation)

    def close_all(self) -> None:
        with self.lock:
            left = list(self.conversations)
        for conversation in left:
            # best effort: nothing else can be done once interrupted
            with contextlib.suppress(ProviderError):
                conversation.close()
            self.discard(conversation)


def answerer(
    test: LoadedTest, handlers: dict[str, Handler]
) -> Callable[[str, str], tuple[str, str]]:
    """How ``test`` answers a function call: its canned output, or its handler."""
    import json

    def answer(name: str, arguments: str) -> tuple[str, str]:
        spec: FunctionAnswer | None = test.spec.functions.get(name)
        if spec is None:
            raise TurnError(
                f"the assistant called {name}({arguments}) and the test does not say how to "
                f"answer it: add 'functions: {{{name}: {{output: ...}}}}' or a handler to "
                f"{test.file}"
            )
        if spec.handler is None:
            return as_output(spec.output), "output"
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            raise TurnError(
                f"{name} was called with arguments that are not JSON: {arguments}"
            ) from None
        return as_output(handlers[spec.handler](parsed)), f"handler {spec.handler}"

    return answer


def load_handlers(tests: list[LoadedTest], handlers: Handlers) -> dict[str, Handler]:
    """Import every handler the tests name (ConfigError, located, for one that fails)."""
    out: dict[str, Handler] = {}
    for test in tests:
        for name, spec in test.spec.functions.items():
            if spec.handler is not None and spec.handler not in out:
                loc = ("functions", name, "handler")
                out[spec.handler] = handlers.get(
                    spec.handler, (test.file, test.line(loc)), f"functions.{name}.handler"
                )
    return out


def run_attempt(
    test: LoadedTest,
    number: int,
    target: Target,
    handlers: dict[str, Handler],
    *,
    timeout: float,
    cancel: threading.Event,
    opened: _Open,
) -> Attempt:
    """One run of ``test``'s conversation; whatever happens, its conversation is closed."""
    started = time.monotonic()
    clock = Clock(deadline=started + timeout, cancelled=cancel, timeout=timeout)
    conversation = target.conversation(
        test.assistant, metadata={"assistops_test": f"{test.id}#{number}"}
    )
    opened.add(conversation)
    answer = answerer(test, handlers)
    turns: list[TurnResult] = []
    error = ""
    cleaned = True
    try:
        for t, turn in enumerate(test.spec.turns):
            result = conversation.send(
                turn.user, answer=answer, metadata=turn.metadata, clock=clock
            )
            checks = [
                evaluate(
                    expectation,
                    result,
                    test.schemas.get((t, e)),
                    test.line(("turns", t, "expect", e)),
                )
                for e, expectation in enumerate(turn.expect)
            ]
            turns.append(result.model_copy(update={"checks": checks}))
            if result.error:
                break  # the next turns would talk to a conversation that went wrong
    except Stopped as exc:
        error = str(exc)
    except ProviderError as exc:
        error = str(exc)
    finally:
        conversation_id = conversation.id
        try:
            conversation.close()
        except ProviderError as exc:
            cleaned = False
            error = error or f"deleting the conversation failed: {exc}"
        opened.discard(conversation)
    passed = not error and all(t.passed for t in turns)
    return Attempt(
        number=number,
        passed=passed,
        duration_s=round(time.monotonic() - started, 3),
        conversation_id=conversation_id,
        turns=turns,
        error=error,
        cleaned_up=cleaned,
    )


def run_tests(
    tests: list[LoadedTest],
    target: Target,
    handlers: dict[str, Handler],
    options: RunnerOptions,
    *,
    cancel: threading.Event | None = None,
    on_result: Callable[[TestResult], None] | None = None,
) -> list[TestResult]:
    """Every attempt of every test, ``options.jobs`` at a time; results in the tests' order.

    ``on_result`` sees each test as soon as its last attempt is done. KeyboardInterrupt (or
    ``cancel``) stops the run: open conversations are deleted, then KeyboardInterrupt is
    raised.
    """
    cancel = cancel or threading.Event()
    opened = _Open()
    jobs: queue.Queue[tuple[int, int]] = queue.Queue()
    done: queue.Queue[tuple[int, Attempt]] = queue.Queue()
    for i, test in enumerate(tests):
        for number in range(1, test.spec.repeat + 1):
            jobs.put((i, number))
    total = jobs.qsize()

    def work() -> None:
        while not cancel.is_set():
            try:
                i, number = jobs.get_nowait()
            except queue.Empty:
                return
            test = tests[i]
            timeout = options.timeout or test.spec.timeout
            try:
                attempt = run_attempt(
                    test, number, target, handlers, timeout=timeout, cancel=cancel, opened=opened
                )
            except Exception as exc:  # a bug must not hang the run: report it as the failure
                attempt = Attempt(
                    number=number,
                    passed=False,
                    duration_s=0.0,
                    error=f"{type(exc).__name__}: {exc}",
                )
            done.put((i, attempt))

    workers = [
        threading.Thread(target=work, daemon=True, name=f"assistops-test-{n}")
        for n in range(min(options.jobs, total) or 1)
    ]
    for worker in workers:
        worker.start()
    attempts: dict[int, list[Attempt]] = {i: [] for i in range(len(tests))}
    results: dict[int, TestResult] = {}
    try:
        received = 0
        while received < total:
            try:
                i, attempt = done.get(timeout=0.2)  # short waits: Ctrl-C is seen at once
            except queue.Empty:
                if cancel.is_set():
                    raise KeyboardInterrupt from None
                continue
            received += 1
            attempts[i].append(attempt)
            if len(attempts[i]) == tests[i].spec.repeat:
                results[i] = _result(tests[i], attempts[i])
                if on_result is not None:
                    on_result(results[i])
    except KeyboardInterrupt:
        cancel.set()
        opened.close_all()
        deadline = time.monotonic() + _DRAIN_SECONDS
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        opened.close_all()  # what a worker opened while we were closing
        raise
    return [results[i] for i in range(len(tests))]


def _result(test: LoadedTest, attempts: list[Attempt]) -> TestResult:
    attempts = sorted(attempts, key=lambda a: a.number)
    passes = sum(1 for a in attempts if a.passed)
    return TestResult(
        assistant=test.assistant,
        name=test.name,
        file=test.file,
        description=test.spec.description or "",
        repeat=test.spec.repeat,
        pass_threshold=test.spec.pass_threshold,
        passed=passes >= needed_passes(test.spec.repeat, test.spec.pass_threshold),
        passes=passes,
        duration_s=round(sum(a.duration_s for a in attempts), 3),
        attempts=attempts,
    )
