"""Where runs answered by an upstream model work: one event loop thread, one task per run.

A model call may take minutes, so such a run does not hold the request that started it
(nor the store's lock): :meth:`RunWorker.submit` schedules it as an asyncio task on the
worker's own loop, and the request answers at once (or streams the run's events as the
task publishes them). :meth:`RunWorker.cancel` cancels the task, which closes the
upstream connection mid-call; the task's ``on_cancel`` then records the ``cancelled``
run. The loop thread starts with the first run and stops with the backend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("assistops.backend")


class RunWorker:
    """Runs coroutines keyed by run id on a private event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._active: set[str] = set()
        self.resources: dict[str, Any] = {}  # per-loop objects (HTTP clients), made lazily

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, daemon=True, name="assistops-runs"
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(
        self,
        key: str,
        work: Callable[[], Coroutine[Any, Any, None]],
        on_cancel: Callable[[], None],
    ) -> None:
        """Start ``work()`` as the task of ``key``; ``on_cancel`` runs if it is cancelled."""
        loop = self._ensure()
        with self._lock:
            self._active.add(key)

        def start() -> None:
            task = loop.create_task(work(), name=f"run {key}")
            self._tasks[key] = task
            task.add_done_callback(lambda t: self._finished(key, t, on_cancel))

        loop.call_soon_threadsafe(start)

    def _finished(self, key: str, task: asyncio.Task[None], on_cancel: Callable[[], None]) -> None:
        self._tasks.pop(key, None)
        with self._lock:
            self._active.discard(key)
        if task.cancelled():
            try:
                on_cancel()
            except Exception:
                log.exception("recording the cancellation of %s failed", key)
        elif (exc := task.exception()) is not None:
            log.error("run %s ended with an unhandled error", key, exc_info=exc)

    def cancel(self, key: str) -> bool:
        """Cancel the task of ``key``; ``False`` when it has none (not started or ended)."""
        with self._lock:
            if key not in self._active or self._loop is None:
                return False
            loop = self._loop

        def stop() -> None:
            task = self._tasks.get(key)
            if task is not None:
                task.cancel()

        # call_soon_threadsafe keeps order: a task submitted earlier exists by now
        loop.call_soon_threadsafe(stop)
        return True

    def active(self) -> int:
        """How many runs are working."""
        with self._lock:
            return len(self._active)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coro`` on the worker's loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result(timeout)

    def close(self) -> None:
        """Cancel every task and stop the loop (their cancellations are recorded)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for resource in self.resources.values():
                closer = getattr(resource, "aclose", None)
                if closer is not None:
                    await closer()
            self.resources.clear()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
