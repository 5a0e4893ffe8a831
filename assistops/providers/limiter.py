"""How many calls a provider has in flight at once, and how a rate limit lowers that.

Every call of a provider takes a slot of its :class:`AdaptiveLimiter` for as long as the
request is out. A 429 ``rate_limit_exceeded`` halves the width (not below 1) and holds every
new call back until its ``Retry-After`` has passed; the width then grows back by one for each
``width`` calls that succeed, up to the ceiling (additive increase, multiplicative decrease).
The calls that were already in flight when the width was cut do not cut it again when they
come back limited too: one burst halves it once. A 429 ``insufficient_quota`` is not a rate
limit (waiting does not help) and never reaches the limiter: it fails fast.

Threads take a slot with :meth:`AdaptiveLimiter.slot`, coroutines with
:meth:`AdaptiveLimiter.aslot` (apply's steps on the provider's loop): one count for both, so
a list on a thread and the writes on the loop share the same width.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

#: The width of a provider nobody set one for: discovery's own pool bounds its reads.
DEFAULT_WIDTH = 64


class AdaptiveLimiter:
    """A counting gate whose width a rate limit halves and successes grow back."""

    def __init__(self, ceiling: int = DEFAULT_WIDTH) -> None:
        self._cond = threading.Condition()
        self.ceiling = max(1, ceiling)
        self.width = self.ceiling
        self.in_flight = 0
        self.cuts = 0  # how many times a rate limit halved the width (for reports and tests)
        self._resume_at = 0.0
        self._generation = 0  # bumped by each cut: calls started before it do not cut again
        self._successes = 0
        # coroutines waiting for a slot: each is woken on its own loop when the count moves
        self._sleepers: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def _wake(self) -> None:
        """Every waiter looks again (with the lock held): threads and coroutines alike."""
        self._cond.notify_all()
        for loop, future in self._sleepers:
            loop.call_soon_threadsafe(_settle, future)
        self._sleepers.clear()

    def _enter(self) -> tuple[int | None, float | None]:
        """With the lock held: ``(generation, None)`` for a slot taken now, else ``(None,
        seconds)`` to wait before looking again (``None`` seconds: until woken)."""
        wait = self._resume_at - time.monotonic()
        if wait > 0:
            return None, wait
        if self.in_flight >= self.width:
            return None, None
        self.in_flight += 1
        return self._generation, None

    def _leave(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._wake()

    def resize(self, ceiling: int) -> None:
        """A new ceiling, and the width back at it (apply sets its concurrency here)."""
        with self._cond:
            self.ceiling = max(1, ceiling)
            self.width = self.ceiling
            self._successes = 0
            self._wake()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one slot while a request is out; yields the generation it started in."""
        with self._cond:
            while True:
                generation, wait = self._enter()
                if generation is not None:
                    break
                self._cond.wait(wait)
        try:
            yield generation
        finally:
            self._leave()

    @asynccontextmanager
    async def aslot(self) -> AsyncIterator[int]:
        """:meth:`slot` for a coroutine: it waits without blocking its loop."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                generation, wait = self._enter()
                if generation is not None:
                    break
                future: asyncio.Future[None] = loop.create_future()
                self._sleepers.append((loop, future))
            # a timer, not wait_for: on 3.11 wait_for can swallow a cancel that lands as the
            # future is set, and the call would go out after all
            timer = loop.call_later(wait, _settle, future) if wait is not None else None
            try:
                await future
            finally:
                if timer is not None:
                    timer.cancel()
                with self._cond:
                    if (loop, future) in self._sleepers:
                        self._sleepers.remove((loop, future))
        try:
            yield generation
        finally:
            self._leave()

    def succeeded(self, generation: int) -> None:
        """A call of ``generation`` got an answer: after ``width`` of them since the last
        change, the width grows by one."""
        with self._cond:
            if generation != self._generation or self.width >= self.ceiling:
                return
            self._successes += 1
            if self._successes >= self.width:
                self.width += 1
                self._successes = 0
                self._wake()

    def limited(self, generation: int, retry_after: float) -> None:
        """A call of ``generation`` was rate limited: halve the width (once per burst) and
        start nothing new for ``retry_after`` seconds."""
        with self._cond:
            self._resume_at = max(self._resume_at, time.monotonic() + max(0.0, retry_after))
            if generation == self._generation:
                self.width = max(1, self.width // 2)
                self._generation += 1
                self._successes = 0
                self.cuts += 1
            self._wake()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
