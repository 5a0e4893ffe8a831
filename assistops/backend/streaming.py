"""Server-sent events of the Assistants protocol (``stream: true`` on runs) and of responses.

Every event is ``event: <name>`` plus one ``data:`` line holding the JSON object the
event carries (a run, a run step, a message, a delta, a thread); the stream ends with
``event: done`` / ``data: [DONE]``, as the service sends it. The run engine collects the
events while it works (:class:`EventLog`), holding the store's lock, and the response
replays them once the work is committed, so a stream never shows uncommitted state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import StreamingResponse

DONE = b"event: done\ndata: [DONE]\n\n"


@dataclass
class EventLog:
    """The events of one request, in order; disabled logs record nothing (non-streaming)."""

    enabled: bool = True
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Record ``name`` with a snapshot of ``data`` (later changes don't leak in)."""
        if self.enabled:
            self.events.append((name, copy.deepcopy(data)))

    def names(self) -> list[str]:
        """The event names recorded so far."""
        return [name for name, _ in self.events]


def encode(name: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def frames(events: Sequence[tuple[str, dict[str, Any]]], done: bool = True) -> Iterator[bytes]:
    """The wire frames of ``events`` followed (unless ``done`` is false) by the ``done`` event."""
    for name, data in events:
        yield encode(name, data)
    if done:
        yield DONE


def event_stream(log: EventLog, *, done: bool = True) -> StreamingResponse:
    """The ``text/event-stream`` response replaying ``log``.

    Assistants streams end with ``event: done`` / ``data: [DONE]``; Responses streams end
    after their last event (``response.completed``, ...), as the service sends them.
    """
    return StreamingResponse(
        frames(list(log.events), done),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )
