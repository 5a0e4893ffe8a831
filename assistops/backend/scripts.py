"""Queued responder scripts, fed through the control plane (``POST /__assistops/script``).

Body: ``{"thread_id": "thread_..." | null, "replies": [directive, ...]}`` (directives as
documented in :mod:`assistops.backend.responder`). Directives queued for a thread are
consumed, one per decision point, by runs on that thread; directives queued without a
thread by any run, after its thread's own queue is empty. ``GET`` shows the queues,
``DELETE`` empties them; a backend reset forgets them too.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import Field

from assistops.backend.core import Backend
from assistops.backend.parsing import Body, invalid, parse
from assistops.backend.responder import ScriptError, parse_directive
from assistops.backend.routing import Call, Route

_KEY = "responder.scripts"
ANY_THREAD = "*"


class QueueScript(Body):
    """``POST /__assistops/script``."""

    thread_id: str | None = None
    replies: list[dict[str, Any]] = Field(min_length=1)


def _queues(backend: Backend) -> dict[str, deque[dict[str, Any]]]:
    queues: dict[str, deque[dict[str, Any]]] = backend.extras.setdefault(_KEY, {})
    return queues


def enqueue(backend: Backend, thread_id: str | None, replies: list[dict[str, Any]]) -> int:
    """Queue ``replies`` (checked now, so a bad script is refused up front); returns the depth."""
    for i, reply in enumerate(replies):
        try:
            parse_directive(reply)
        except ScriptError as exc:
            raise invalid(
                f"replies[{i}]", f"Invalid 'replies[{i}]': {exc}.", "invalid_value"
            ) from None
    with backend.store.lock:
        queue = _queues(backend).setdefault(thread_id or ANY_THREAD, deque())
        queue.extend(replies)
        return len(queue)


def pop(backend: Backend, thread_id: str) -> dict[str, Any] | None:
    """The next directive for a run on ``thread_id``, if one is queued."""
    with backend.store.lock:
        queues = _queues(backend)
        for key in (thread_id, ANY_THREAD):
            if queues.get(key):
                return queues[key].popleft()
    return None


def _post(backend: Backend, call: Call) -> dict[str, Any]:
    body = parse(QueueScript, call.body)
    depth = enqueue(backend, body.thread_id, body.replies)
    return {"thread_id": body.thread_id, "queued": depth}


def _get(backend: Backend, call: Call) -> dict[str, Any]:
    with backend.store.lock:
        return {"queues": {k: list(v) for k, v in _queues(backend).items() if v}}


def _delete(backend: Backend, call: Call) -> dict[str, Any]:
    with backend.store.lock:
        _queues(backend).clear()
    return {"ok": True}


CONTROL_ROUTES: list[Route] = [
    Route(method, "/script", handler, prefix="/__assistops")
    for method, handler in (("POST", _post), ("GET", _get), ("DELETE", _delete))
]
