"""Request counting and fault injection, by route template and by call number.

A fault names a route template (``"POST /v1/assistants"``, or ``"*"`` for every ``/v1``
route) and which of the calls to that route it hits, counted from when it was added:
``first`` (1-based) and ``times`` (how many consecutive calls; ``None`` = every call
from ``first`` on). ``{"first": 3}`` hits only the 3rd call; ``{"first": 2, "times": 3}``
calls 2..4. Kinds:

- ``latency``: wait ``latency_ms`` then answer normally;
- ``rate_limit``: 429 ``rate_limit_exceeded`` with ``retry-after: <retry_after>`` (1 s);
- ``error``: ``status`` (500) ``server_error``, or the error ``code`` (and type) given, e.g.
  429 ``insufficient_quota``; ``should_retry`` sets ``x-should-retry``,
  ``retry_after`` (seconds, may be fractional) adds ``retry-after`` so retries are quick;
- ``drop``: close the connection without answering (the SDK sees a connection error);
- ``commit_then_error`` / ``commit_then_drop``: do the work, then answer 500 / drop, so
  the SDK's retry repeats a change that already happened.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "latency", "rate_limit", "error", "drop", "commit_then_error", "commit_then_drop"
]


class FaultSpec(BaseModel):
    """One injected fault, as posted to ``/__assistops/faults``."""

    model_config = ConfigDict(extra="forbid")

    route: str = "*"
    kind: FaultKind
    first: int = Field(default=1, ge=1)
    times: int | None = Field(default=1, ge=1)
    latency_ms: int = Field(default=0, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    status: int = Field(default=500, ge=400, le=599)
    should_retry: bool | None = None
    message: str = "The server had an error while processing your request. Sorry about that!"
    code: str | None = Field(
        default=None, description="error: the envelope's code (and type), e.g. insufficient_quota."
    )


class _Armed:
    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.seen = 0
        self.fired = 0

    def hit(self, template: str) -> bool:
        if self.spec.route not in ("*", template):
            return False
        self.seen += 1
        last = None if self.spec.times is None else self.spec.first + self.spec.times - 1
        if self.seen < self.spec.first or (last is not None and self.seen > last):
            return False
        self.fired += 1
        return True


class Faults:
    """The armed faults, the per-route request counts and the log of arrivals; thread-safe.

    The log has one entry per request, in arrival order: its route, when it arrived (the
    server's monotonic clock, seconds) and how many requests were in flight then, itself
    included: what a client's concurrency looks like from the server.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._counts: Counter[str] = Counter()
        self._in_flight = 0
        self._log: list[dict[str, object]] = []

    def record(self, template: str) -> list[FaultSpec]:
        """Count one call to ``template`` (in flight until :meth:`leave`) and return the
        faults it triggers."""
        with self._lock:
            self._counts[template] += 1
            self._in_flight += 1
            self._log.append(
                {"route": template, "at": time.monotonic(), "in_flight": self._in_flight}
            )
            return [a.spec for a in self._armed if a.hit(template)]

    def leave(self) -> None:
        """A recorded call was answered (or dropped)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def log(self) -> list[dict[str, object]]:
        """Every request since the counts were cleared, in arrival order."""
        with self._lock:
            return list(self._log)

    def add(self, spec: FaultSpec) -> None:
        """Arm a fault; its call numbering starts now."""
        with self._lock:
            self._armed.append(_Armed(spec))

    def describe(self) -> list[dict[str, object]]:
        """The armed faults with how many calls each has seen and hit."""
        with self._lock:
            return [{**a.spec.model_dump(), "seen": a.seen, "fired": a.fired} for a in self._armed]

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def counts(self) -> dict[str, object]:
        """``{"total": n, "routes": {"POST /v1/assistants": k, ...}}``."""
        with self._lock:
            routes = dict(sorted(self._counts.items()))
            return {"total": sum(routes.values()), "routes": routes}

    def clear_counts(self) -> None:
        """Start counting (and logging) from zero."""
        with self._lock:
            self._counts.clear()
            self._log.clear()
