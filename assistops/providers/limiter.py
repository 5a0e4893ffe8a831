"""How many calls a provider has in flight at once, and how a rate limit lowers that.

Every call of a provider takes a slot of its :class:`AdaptiveLimiter` for as long as the
request is out. A 429 ``rate_limit_exceeded`` halves the width (not below 1) and holds every
new call back until its ``Retry-After`` has passed; the width then grows back by one for each
``width`` calls that succeed, up to the ceiling (additive increase, multiplicative decrease).
The calls that were already in flight when the width was cut do not cut it again when they
come back limited too: one burst halves it once. A 429 ``insufficient_quota`` is not a rate
limit (waiting does not help) and never reaches the limiter: it fails fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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

    def resize(self, ceiling: int) -> None:
        """A new ceiling, and the width back at it (apply sets its concurrency here)."""
        with self._cond:
            self.ceiling = max(1, ceiling)
            self.width = self.ceiling
            self._successes = 0
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one slot while a request is out; yields the generation it started in."""
        with self._cond:
            while True:
                wait = self._resume_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                elif self.in_flight >= self.width:
                    self._cond.wait()
                else:
                    break
            self.in_flight += 1
            generation = self._generation
        try:
            yield generation
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

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
                self._cond.notify_all()

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
            self._cond.notify_all()
