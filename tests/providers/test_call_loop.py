"""Apply's calls run on one event loop per provider: started by the first write, shared by
every worker thread, stopped with nothing left open by ``close``."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import queue
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from contract.validator import ContractRecorder

from assistops.errors import ProviderError
from assistops.providers import OpenAIProvider, event_loop
from assistops.providers.event_loop import CallLoop


def _ctrl_c_once(started: threading.Event) -> threading.Thread:
    """A thread that sends SIGINT to the main thread (what Ctrl-C does) once ``started`` is
    set; join it when done."""
    main = threading.main_thread().ident
    assert main is not None

    def interrupt() -> None:
        if started.wait(10):
            signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Thread(target=interrupt)
    timer.start()
    return timer


def loop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("assistops-calls")]


def test_lists_never_start_the_loop_and_close_stops_it(
    client: openai.OpenAI, contract_checked: ContractRecorder
) -> None:
    with OpenAIProvider(client, "test (backend)") as provider:
        assert provider.list_vector_stores() == []
        assert loop_threads() == []
        before = contract_checked.exchanges
        created = provider.create_vector_store({"name": "s"})
        assert provider.retrieve_vector_store(created["id"]) == created
        assert loop_threads() == ["assistops-calls (test (backend))"]
        # the async client's exchanges are contract-checked too
        assert contract_checked.exchanges == before + 2
    assert loop_threads() == []


def test_sixteen_workers_at_once_share_one_client_and_leave_nothing_open(
    client: openai.OpenAI,
) -> None:
    # every worker's first call reaches for the async client at the same moment: one must be
    # made, or the others' connection pools are never closed (pytest fails the test on the
    # ResourceWarning an unclosed aiohttp session gives when collected)
    start = threading.Barrier(16)

    def create(i: int) -> str:
        start.wait()
        return str(provider.create_vector_store({"name": f"s{i}"})["id"])

    with (
        OpenAIProvider(client, "test (backend)") as provider,
        ThreadPoolExecutor(16) as pool,
    ):
        ids = list(pool.map(create, range(16)))
    gc.collect()
    assert len(set(ids)) == 16
    assert loop_threads() == []


def test_a_write_after_close_is_refused_and_starts_nothing(client: openai.OpenAI) -> None:
    provider = OpenAIProvider(client, "test (backend)")
    provider.create_vector_store({"name": "s"})
    provider.close()
    with pytest.raises(ProviderError, match="after the provider was closed"):
        provider.create_vector_store({"name": "t"})
    assert loop_threads() == []


def test_an_empty_id_is_refused_before_any_request(client: openai.OpenAI) -> None:
    with OpenAIProvider(client, "test (backend)") as provider, pytest.raises(ValueError):
        provider.delete_file("")


def test_a_call_sees_its_callers_context_and_raises_its_own_error() -> None:
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")
    calls = CallLoop("test-loop")

    async def read() -> str:
        return seen.get()

    async def fail() -> str:
        raise ValueError("from the loop")

    try:
        seen.set("caller")
        assert calls.run(read) == "caller"
        with pytest.raises(ValueError, match="from the loop"):
            calls.run(fail)
        assert calls.run(read) == "caller"  # nothing left over from the failure
    finally:
        calls.close()


def test_close_while_a_call_waits_answers_it_with_a_provider_error() -> None:
    calls = CallLoop("test-loop")
    started = threading.Event()
    outcome: list[BaseException] = []

    async def hang() -> None:
        started.set()
        await asyncio.sleep(60)

    def caller() -> None:
        try:
            calls.run(hang)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(10)
    calls.close()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ProviderError)
    assert "closed while a call was in flight" in str(outcome[0])


def test_an_interrupted_caller_cancels_its_call_and_its_next_call_is_its_own() -> None:
    # Ctrl-C reaches the main thread while it waits for the loop
    assert threading.current_thread() is threading.main_thread()
    calls = CallLoop("test-loop")
    started, cancelled = threading.Event(), threading.Event()

    async def hang() -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    async def quick() -> str:
        return "mine"

    timer = _ctrl_c_once(started)  # it fires once the call has started, inside the try
    try:
        with pytest.raises(KeyboardInterrupt):
            calls.run(hang)
        assert cancelled.wait(10)
        assert calls.run(quick) == "mine"  # not the interrupted call's answer
    finally:
        timer.join()
        calls.close()


def test_an_interrupt_handler_lets_the_call_wind_down_before_the_interrupt_is_raised() -> None:
    # apply's case: Ctrl-C stops new steps, the ones in flight finish, then it is reported
    assert threading.current_thread() is threading.main_thread()
    calls = CallLoop("test-loop")
    started = threading.Event()
    finished: list[str] = []
    stop = asyncio.Event()

    async def steps() -> str:
        started.set()
        await asyncio.wait_for(stop.wait(), 10)
        await asyncio.sleep(0.05)  # the step in flight finishes after the interrupt
        finished.append("in flight")
        return "done"

    timer = _ctrl_c_once(started)  # it fires once the call has started, inside the try
    try:
        with pytest.raises(KeyboardInterrupt):
            calls.run(steps, interrupt=stop.set)
        assert finished == ["in flight"]  # ended before the interrupt reached the caller

        async def quick() -> str:
            return "mine"

        assert calls.run(quick) == "mine"
    finally:
        timer.join()
        calls.close()


class _TakenThenInterrupted:
    """A mailbox whose first ``get`` takes the answer and then raises KeyboardInterrupt: what
    a Ctrl-C landing just after the C call returned does."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.first = True

    def put(self, item: object) -> None:
        self.queue.put(item)

    def get(self) -> object:
        item = self.queue.get()
        if self.first:
            self.first = False
            raise KeyboardInterrupt
        return item


def test_an_interrupt_just_after_the_answer_was_taken_does_not_hang() -> None:
    calls = CallLoop("test-loop")
    outcome: list[str] = []

    async def quick() -> str:
        return "done"

    def caller() -> None:
        event_loop._mailbox.inbox = _TakenThenInterrupted()
        try:
            calls.run(quick, interrupt=lambda: None)
        except BaseException as exc:
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=caller, daemon=True)
    try:
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the caller waited for an answer it had already taken"
        assert outcome == ["KeyboardInterrupt"]
    finally:
        calls.close()


def test_a_failure_while_winding_down_is_raised_instead_of_the_interrupt() -> None:
    assert threading.current_thread() is threading.main_thread()
    calls = CallLoop("test-loop")
    started = threading.Event()
    stop = asyncio.Event()

    async def steps() -> str:
        started.set()
        await asyncio.wait_for(stop.wait(), 10)
        raise RuntimeError("the step in flight failed")

    timer = _ctrl_c_once(started)  # it fires once the call has started, inside the try
    try:
        with pytest.raises(RuntimeError, match="the step in flight failed"):
            calls.run(steps, interrupt=stop.set)
    finally:
        timer.join()
        calls.close()


def test_blocking_work_of_the_loop_runs_as_wide_as_apply_can() -> None:
    # large uploads run on the loop's executor: it must not cap them at cores + 4
    calls = CallLoop("test-loop")
    gate = threading.Barrier(40)  # forty at once: more than any default executor (32 at most)

    async def wide() -> int:
        def blocking() -> int:
            return gate.wait(timeout=10)

        done = await asyncio.gather(*(asyncio.to_thread(blocking) for _ in range(40)))
        return len(done)

    try:
        assert calls.run(wide) == 40
    finally:
        calls.close()
