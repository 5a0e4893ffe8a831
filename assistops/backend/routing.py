"""What a resource module hands to the app: routes, and what a handler receives and returns.

A handler is ``handler(backend, call) -> Reply``. It runs in a worker thread (so it may
block on the store's lock); an ``async def`` handler runs on the event loop instead.
It returns a JSON-able ``dict`` (sent as 200), :class:`Raw` bytes, or any Starlette
``Response`` (e.g. a ``StreamingResponse`` for server-sent events). It refuses a request
by raising :class:`assistops.errors.BackendError`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

if TYPE_CHECKING:
    from assistops.backend.core import Backend
    from assistops.backend.store import Store

#: Foundry classic agents (Azure AI Agent Service) serve the same protocol under a project:
#: ``/api/projects/<project>/assistants?api-version=v1`` is ``/v1/assistants``.
FOUNDRY_API_VERSIONS = ("v1",)
_FOUNDRY_PATH = re.compile(r"^/api/projects/(?P<project>[^/]+)(?P<route>/.*)$")


def foundry_route(path: str) -> str | None:
    """The ``/v1`` path a Foundry project path stands for (``None`` for any other path).

    Every project shares the one store: the project segment is accepted, not isolated.
    """
    match = _FOUNDRY_PATH.match(path)
    return None if match is None else "/v1" + match["route"]


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart body, already in the store as uncommitted chunks.

    A handler keeps it with ``store.adopt_blob(upload.blob, file_id, upload.size)``; chunks
    not adopted are removed when the request ends (:mod:`.uploads`).
    """

    filename: str
    content_type: str
    store: Store
    blob: str  # the id its chunks are stored under
    size: int

    def chunks(self) -> Iterator[bytes]:
        """The part's bytes, one stored chunk at a time."""
        return self.store.iter_chunks(self.blob)

    @property
    def data(self) -> bytes:
        """The whole part in memory: for small parts only."""
        return b"".join(self.chunks())


@dataclass(frozen=True)
class Call:
    """A parsed request: path parameters, query, headers and the body already read."""

    method: str
    path: str
    template: str  # e.g. "GET /v1/vector_stores/{vector_store_id}/files"
    params: Mapping[str, str]
    query: QueryParams
    headers: Mapping[str, str]
    body: Any = None  # the decoded JSON body ({} when empty); None for multipart
    form: Mapping[str, str] = field(default_factory=dict)  # multipart text fields
    files: Mapping[str, Upload] = field(default_factory=dict)  # multipart file parts
    #: run in the handler's thread once it returns or raises (the upload's clean-up)
    done: Callable[[], None] | None = None


@dataclass(frozen=True)
class Raw:
    """Bytes sent as they are (file content)."""

    data: bytes
    media_type: str = "application/octet-stream"


Reply = dict[str, Any] | Raw | Response
Handler = Callable[["Backend", Call], Reply] | Callable[["Backend", Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """``method`` + ``path`` (relative to ``/v1``, with ``{name}`` parameters) → handler.

    ``poll=True`` adds ``openai-poll-after-ms`` to GET responses so SDK pollers are quick.
    ``prefix`` is ``/v1`` for the protocol and ``/__assistops`` for the control plane.
    """

    method: str
    path: str
    handler: Handler
    poll: bool = False
    prefix: str = "/v1"

    @property
    def template(self) -> str:
        """The name used by request counts and faults: ``"POST /v1/assistants"``."""
        return f"{self.method} {self.prefix}{self.path}"

    def compile(self) -> re.Pattern[str]:
        """A regex matching the concrete path, capturing each parameter by name."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{re.escape(self.prefix)}{pattern}$")
