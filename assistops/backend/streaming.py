"""Server-sent events of the Assistants protocol (``stream: true`` on runs) and of responses.

Every event is ``event: <name>`` plus one ``data:`` line holding the JSON object the
event carries (a run, a run step, a message, a delta, a thread); the stream ends with
``event: done`` / ``data: [DONE]``, as the service sends it. The run engine collects the
events while it works (:class:`EventLog`), holding the store's lock, and the response
replays them once the work is committed, so a stream never shows uncommitted state.

A run answered by an upstream model (``assistops serve --model-base-url``) works in the
background while its stream is open: its :class:`LiveEventLog` hands each committed batch
of events to the response as the model produces them (:meth:`LiveEventLog.publish`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
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


class LiveEventLog(EventLog):
    """Events that reach the client while the run goes on (one streaming response).

    ``emit`` records an event as pending; ``publish`` (called once the transaction that
    produced them has committed) makes the pending events visible to :meth:`follow`;
    ``close`` ends the stream after what was published.
    """

    def __init__(self) -> None:
        super().__init__(enabled=True)
        self._lock = threading.Lock()
        self._visible = 0
        self._closed = False
        self._wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Record ``name`` (pending until :meth:`publish`)."""
        with self._lock:
            super().emit(name, data)

    def publish(self) -> None:
        """Show every event recorded so far to the client."""
        with self._lock:
            self._visible = len(self.events)
            self._wake()

    def close(self) -> None:
        """Publish what is recorded, then end the stream."""
        with self._lock:
            self._visible = len(self.events)
            self._closed = True
            self._wake()

    @property
    def closed(self) -> bool:
        """Whether the stream has ended."""
        return self._closed

    def _wake(self) -> None:
        for loop, event in self._wakers:
            loop.call_soon_threadsafe(event.set)

    async def follow(self) -> AsyncIterator[bytes]:
        """The frames of the published events as they come, then ``done``."""
        loop = asyncio.get_running_loop()
        waker = asyncio.Event()
        with self._lock:
            self._wakers.append((loop, waker))
        sent = 0
        try:
            while True:
                with self._lock:
                    batch = self.events[sent : self._visible]
                    sent = self._visible
                    closed = self._closed
                    if not batch and not closed:
                        waker.clear()
                for name, data in batch:
                    yield encode(name, data)
                if closed:
                    break
                if not batch:
                    await waker.wait()
            yield DONE
        finally:
            with self._lock:
                self._wakers.remove((loop, waker))


def event_stream(log: EventLog, *, done: bool = True) -> StreamingResponse:
    """The ``text/event-stream`` response replaying ``log`` (following it, when live).

    Assistants streams end with ``event: done`` / ``data: [DONE]``; Responses streams end
    after their last event (``response.completed``, ...), as the service sends them.
    """
    if isinstance(log, LiveEventLog):
        # the run's worker publishes what the request recorded once it holds the store
        return StreamingResponse(
            log.follow(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )
    return StreamingResponse(
        frames(list(log.events), done),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )
