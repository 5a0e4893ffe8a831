"""One event loop thread per provider, where its ``AsyncOpenAI`` calls run.

The engine stays synchronous: a thread hands a call to :meth:`CallLoop.run` and waits for its
answer, while the loop keeps every call in flight over one aiohttp connection pool. Apply hands
over its whole graph of steps as one call: the steps are coroutines on this loop, so a step
costs no thread and no hand-over (``engine/apply.py``). The loop starts with the first call,
so a command that only lists never starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from assistops.errors import ProviderError
from assistops.providers.limiter import DEFAULT_WIDTH

T = TypeVar("T")

# Each waiting thread's mailbox for the task it handed over: a C-level queue, so a call costs
# no Future, Condition or lock objects (about a fifth of the hand-over's CPU). Replaced when its
# thread stops waiting early, so a late answer never reaches a later call.
_mailbox = threading.local()


def _inbox() -> queue.SimpleQueue[asyncio.Task[Any] | None]:
    inbox: queue.SimpleQueue[asyncio.Task[Any] | None] | None = getattr(_mailbox, "inbox", None)
    if inbox is None:
        inbox = _mailbox.inbox = queue.SimpleQueue()
    return inbox


class CallLoop:
    """An asyncio loop on a daemon thread, started on first use, stopped by :meth:`close`."""

    def __init__(self, name: str = "assistops-calls") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def _hand_over(self, start: Callable[[asyncio.AbstractEventLoop], None]) -> None:
        """Schedule ``start(loop)`` on the loop (started now if need be), or refuse after
        :meth:`close`. Under the lock ``close`` takes, so its shut-down is always queued
        after a start that got in: it finds the task and cancels it."""
        with self._lock:
            if self._closed:
                raise ProviderError(f"{self._name}: a call after the provider was closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                # what must not block the loop (hashing and uploading a large file, aiohttp's
                # resolver) runs here: as many at once as apply's widest concurrency, not the
                # default's cores + 4; threads start only when used
                loop.set_default_executor(
                    ThreadPoolExecutor(max_workers=DEFAULT_WIDTH, thread_name_prefix="asyncio")
                )
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            self._loop.call_soon_threadsafe(start, self._loop)

    def run(
        self, call: Callable[[], Awaitable[T]], interrupt: Callable[[], None] | None = None
    ) -> T:
        """Await ``call()`` on the loop and return its result (or raise its exception) here.

        The coroutine runs in a copy of this thread's context (``clients.own_rate_limits``).
        If this thread is interrupted while it waits (Ctrl-C), ``interrupt()`` runs on the
        loop and this waits for the call to end (apply lets its steps in flight finish), or,
        without ``interrupt`` or at a second interrupt, the call is cancelled; then the
        interrupt is raised here.
        """
        caller = contextvars.copy_context()
        inbox = _inbox()
        started: list[asyncio.Task[T]] = []

        async def invoke() -> T:
            return await call()

        def start(loop: asyncio.AbstractEventLoop) -> None:
            # the coroutine is made here, on the loop: a refused call leaves none un-awaited
            task = loop.create_task(invoke(), context=caller)
            started.append(task)
            task.add_done_callback(inbox.put)

        def wind_down(loop: asyncio.AbstractEventLoop) -> None:
            # after start (the loop runs them in order) unless start was never handed over
            if not started:
                inbox.put(None)
            elif started[0].done():
                inbox.put(started[0])  # again: the interrupt may have taken it from the inbox
            elif interrupt is not None:
                interrupt()

        def cancel(loop: asyncio.AbstractEventLoop) -> None:
            for task in started:
                task.cancel()

        try:
            self._hand_over(start)
            task = inbox.get()
        except BaseException:
            _mailbox.inbox = None  # interrupted here (Ctrl-C): nothing more reaches a later call
            if interrupt is not None:
                try:
                    self._hand_over(wind_down)
                    ended = inbox.get()
                except BaseException:  # a second interrupt, or closed meanwhile: cancel
                    pass
                else:
                    failure = ended.exception() if ended and not ended.cancelled() else None
                    if failure is not None:
                        raise failure  # what went wrong while it wound down says more
                    raise
            with contextlib.suppress(ProviderError):  # closed meanwhile: close cancels it
                self._hand_over(cancel)
            raise
        if task is None or task.cancelled():
            raise ProviderError(f"{self._name}: the provider was closed while a call was in flight")
        result: T = task.result()
        return result

    def close(self, finish: Callable[[], Awaitable[object]] | None = None) -> None:
        """Cancel what is still running, await ``finish()`` (closing the async client) on the
        loop, and stop the thread; later calls are refused. A loop never started is left
        alone."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def shut_down() -> None:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            if finish is not None:
                await finish()

        try:
            asyncio.run_coroutine_threadsafe(shut_down(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
