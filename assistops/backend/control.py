"""The control plane, outside ``/v1`` under ``/__assistops/``: for tests and benchmarks.

========  ==========================  =================================================
method    path                        effect
========  ==========================  =================================================
GET       /__assistops/health         ``{"ok": true}`` (readiness probe)
POST      /__assistops/reset          forget every object, fault, count and setting
POST      /__assistops/seed           ``{"seed": int|null, "frozen_at": int|null}``: ids
                                      (and ``created_at``) become deterministic
POST      /__assistops/clock          ``{"advance": seconds}``: move time forward
GET       /__assistops/requests       ``{"total": n, "routes": {template: n}}``
GET       /__assistops/requests/log   ``{"requests": [{route, at, in_flight}, ...]}``: each
                                      request in arrival order, with the server's clock and
                                      how many were in flight (itself included)
DELETE    /__assistops/requests       counts and log back to zero
POST      /__assistops/faults         arm a fault (see :mod:`assistops.backend.faults`)
GET       /__assistops/faults         the armed faults with ``seen``/``fired`` counts
DELETE    /__assistops/faults         disarm all faults
POST      /__assistops/processing     vector-store file processing settings
GET       /__assistops/processing     the current settings
POST      /__assistops/script         queue responder replies (:mod:`.scripts`)
GET       /__assistops/script         the queued replies
DELETE    /__assistops/script         empty the queues
POST      /__assistops/run_processing when runs move: ``immediate`` or after ``reads``
GET       /__assistops/run_processing the current settings (:mod:`.run_engine`)
========  ==========================  =================================================

Nothing here is counted or faulted, and no API key is required.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assistops.backend import run_engine, scripts
from assistops.backend.core import Backend, Processing
from assistops.backend.faults import FaultSpec
from assistops.backend.parsing import Body, parse
from assistops.backend.routing import Call, Route


class SeedBody(Body):
    """``POST /__assistops/seed``."""

    seed: int | None = None
    frozen_at: int | None = None


class ClockBody(Body):
    """``POST /__assistops/clock``."""

    advance: int = Field(ge=0)


def _health(backend: Backend, call: Call) -> dict[str, Any]:
    return {"ok": True}


def _reset(backend: Backend, call: Call) -> dict[str, Any]:
    backend.reset()
    return {"ok": True}


def _seed(backend: Backend, call: Call) -> dict[str, Any]:
    body = parse(SeedBody, call.body)
    backend.seed(body.seed, body.frozen_at)
    return {"ok": True, "now": backend.now()}


def _clock(backend: Backend, call: Call) -> dict[str, Any]:
    body = parse(ClockBody, call.body)
    backend.clock.advance(body.advance)
    return {"ok": True, "now": backend.now()}


def _requests(backend: Backend, call: Call) -> dict[str, Any]:
    return backend.faults.counts()


def _request_log(backend: Backend, call: Call) -> dict[str, Any]:
    return {"requests": backend.faults.log()}


def _clear_requests(backend: Backend, call: Call) -> dict[str, Any]:
    backend.faults.clear_counts()
    return {"ok": True}


def _add_fault(backend: Backend, call: Call) -> dict[str, Any]:
    spec = parse(FaultSpec, call.body)
    backend.faults.add(spec)
    return spec.model_dump()


def _faults(backend: Backend, call: Call) -> dict[str, Any]:
    return {"faults": backend.faults.describe()}


def _clear_faults(backend: Backend, call: Call) -> dict[str, Any]:
    backend.faults.clear()
    return {"ok": True}


def _set_processing(backend: Backend, call: Call) -> dict[str, Any]:
    backend.processing = parse(Processing, call.body)
    return backend.processing.model_dump()


def _processing(backend: Backend, call: Call) -> dict[str, Any]:
    return backend.processing.model_dump()


def _route(method: str, path: str, handler: Any) -> Route:
    return Route(method, path, handler, prefix="/__assistops")


ROUTES: list[Route] = [
    _route("GET", "/health", _health),
    _route("POST", "/reset", _reset),
    _route("POST", "/seed", _seed),
    _route("POST", "/clock", _clock),
    _route("GET", "/requests", _requests),
    _route("GET", "/requests/log", _request_log),
    _route("DELETE", "/requests", _clear_requests),
    _route("POST", "/faults", _add_fault),
    _route("GET", "/faults", _faults),
    _route("DELETE", "/faults", _clear_faults),
    _route("POST", "/processing", _set_processing),
    _route("GET", "/processing", _processing),
    *scripts.CONTROL_ROUTES,
    *run_engine.CONTROL_ROUTES,
]
