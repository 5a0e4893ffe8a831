"""A small typed client of the control plane, for tests and benchmarks."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx2


class BackendControl:
    """Talks to ``/__assistops`` of a running backend (``RunningBackend.control_url``)."""

    def __init__(self, control_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx2.Client(base_url=control_url.rstrip("/") + "/", timeout=timeout)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget every object, fault, count and setting."""
        self._call("POST", "reset")

    def seed(self, seed: int | None, frozen_at: int | None = None) -> None:
        """Deterministic ids (and ``created_at`` when ``frozen_at`` is given)."""
        self._call("POST", "seed", {"seed": seed, "frozen_at": frozen_at})

    def advance_clock(self, seconds: int) -> int:
        """Move the backend's time forward; returns its new ``now``."""
        now: int = self._call("POST", "clock", {"advance": seconds})["now"]
        return now

    def requests(self) -> dict[str, int]:
        """Request counts per route template, plus ``"total"``."""
        data = self._call("GET", "requests")
        counts: dict[str, int] = dict(data["routes"])
        counts["total"] = data["total"]
        return counts

    def request_log(self) -> list[dict[str, Any]]:
        """Every request since the counts were cleared, in arrival order: ``route``, ``at``
        (the server's monotonic clock, seconds) and ``in_flight`` (itself included)."""
        log: list[dict[str, Any]] = self._call("GET", "requests/log")["requests"]
        return log

    def clear_requests(self) -> None:
        """Counts (and the log) back to zero."""
        self._call("DELETE", "requests")

    def add_fault(
        self,
        kind: str,
        route: str = "*",
        *,
        first: int = 1,
        times: int | None = 1,
        **options: Any,
    ) -> None:
        """Arm a fault on ``route`` for calls ``first`` .. ``first + times - 1``.

        ``options``: ``latency_ms``, ``retry_after``, ``status``, ``should_retry``, ``message``.
        """
        body = {"kind": kind, "route": route, "first": first, "times": times, **options}
        self._call("POST", "faults", body)

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, with how many calls each has seen and hit."""
        faults: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "faults")

    def set_processing(
        self,
        mode: str = "immediate",
        *,
        reads: int = 1,
        fail_pattern: str | None = None,
        **options: Any,
    ) -> None:
        """Vector-store file processing: ``immediate`` or ``reads`` (after N reads)."""
        body = {"mode": mode, "reads": reads, "fail_pattern": fail_pattern, **options}
        self._call("POST", "processing", body)

    def script(self, *replies: dict[str, Any], thread_id: str | None = None) -> int:
        """Queue responder replies (``{"reply": ...}``, ``{"call": ...}``, ``{"fail": ...}``)
        for runs on ``thread_id`` (any thread when ``None``); returns the queue depth."""
        body = {"thread_id": thread_id, "replies": list(replies)}
        depth: int = self._call("POST", "script", body)["queued"]
        return depth

    def set_run_processing(self, mode: str = "immediate", *, reads: int = 1) -> None:
        """Runs move ``immediate``-ly, or one status per ``reads`` GETs of the run."""
        self._call("POST", "run_processing", {"mode": mode, "reads": reads})

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> BackendControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
