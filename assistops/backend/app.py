"""The ASGI app: route matching, auth, counting, faults, body decoding, errors and headers.

Handlers (in the resource modules) only parse and serialize; this module turns what
they return or raise into HTTP: JSON 200, raw bytes, or a Starlette response; every
:class:`BackendError` as the OpenAI envelope with its status; ``x-request-id`` on every
response; ``openai-poll-after-ms`` on GETs of routes marked ``poll``. A path or method
with no route is 404 "Invalid URL (METHOD /path)", as the service answers (no 405). Paths under
``/__assistops/`` are the control plane: not counted, never faulted, no auth.

The same routes answer under a Foundry project, as Azure's classic agents do:
``/api/projects/<project>/<route>?api-version=v1`` is ``/v1/<route>`` (counted and faulted under
the ``/v1`` template). There ``api-version`` is required: without it, or with another value, the
answer is 400 ``MissingApiVersionParameter`` / ``UnsupportedApiVersionValue``, worded as
Microsoft's Azure REST API guidelines prescribe. When the backend has a key, a Foundry request
may carry it as ``Authorization: Bearer <key>`` (where Entra ID tokens go) or ``api-key: <key>``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from assistops.backend.core import Backend
from assistops.backend.faults import FaultSpec
from assistops.backend.parsing import file_too_large
from assistops.backend.routing import (
    FOUNDRY_API_VERSIONS,
    Call,
    Raw,
    Reply,
    Route,
    foundry_route,
)
from assistops.backend.store import Store
from assistops.backend.uploads import read_multipart
from assistops.errors import BackendError

log = logging.getLogger("assistops.backend")

_INTERNAL = BackendError(
    500,
    "The server had an error while processing your request. Sorry about that!",
    type="server_error",
)
# Azure's answer to a request without a valid token or key
_FOUNDRY_UNAUTHORIZED = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://ai.azure.com), or have expired."
)


class BackendApp:
    """ASGI application serving ``/v1`` routes and the ``/__assistops`` control plane."""

    def __init__(self, backend: Backend, routes: Sequence[Route], control: Sequence[Route]):
        self.backend = backend
        self.routes = list(routes)
        self.control_routes = list(control)
        self._v1 = [(r, r.compile()) for r in self.routes]
        self._control = [(r, r.compile()) for r in self.control_routes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not part of the protocol
        request = Request(scope, receive)
        request_id = "req_" + uuid.uuid4().hex
        path = scope["path"]
        response: Response | None
        if path.startswith("/__assistops/"):
            response = await self._serve(request, self._control, path)
            await self._send(response, request_id, scope, receive, send)
            return
        try:  # a /v1 request is in flight (faults.record) until its answer is sent
            if (route := foundry_route(path)) is not None:
                response = await self._serve_v1(request, send, route, foundry=True)
            else:
                response = await self._serve_v1(request, send, path)
            await self._send(response, request_id, scope, receive, send)
        finally:
            self.backend.faults.leave()

    @staticmethod
    async def _send(
        response: Response | None, request_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if response is None:
            return  # connection dropped on purpose
        response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    async def _serve_v1(
        self, request: Request, send: Send, path: str, *, foundry: bool = False
    ) -> Response | None:
        """Serve ``path`` (a ``/v1`` path; for a Foundry request, the one it stands for)."""
        method = request.method
        match = self._match(self._v1, method, path)
        template = match[0].template if match else f"{method} {request.url.path}"
        faults = self.backend.faults.record(template)
        delay = sum(f.latency_ms for f in faults if f.kind == "latency")
        if delay:
            await asyncio.sleep(delay / 1000)
        for fault in faults:
            if fault.kind == "drop":
                await _drop(send)
                return None
            if fault.kind in ("rate_limit", "error"):
                return _fault_response(fault)
        if foundry and (refused := _check_api_version(request)) is not None:
            return refused
        if (denied := self._check_auth(request, foundry=foundry)) is not None:
            return denied
        response = await self._serve(request, self._v1, path)
        for fault in faults:
            if fault.kind == "commit_then_drop":
                await _drop(send)
                return None
            if fault.kind == "commit_then_error":
                return _fault_response(fault)
        return response

    def _check_auth(self, request: Request, *, foundry: bool = False) -> Response | None:
        key = self.backend.api_key
        if key is None:
            return None
        given = request.headers.get("authorization", "")
        if given == f"Bearer {key}":
            return None
        if foundry:
            if request.headers.get("api-key") == key:
                return None
            return _error_response(BackendError(401, _FOUNDRY_UNAUTHORIZED, code="unauthorized"))
        message = (
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            if not given
            else "Incorrect API key provided. Check the key the backend was started with."
        )
        error = BackendError(401, message, param=None, code="invalid_api_key")
        return _error_response(error)

    @staticmethod
    def _match(
        table: Sequence[tuple[Route, Any]], method: str, path: str
    ) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in table:
            if route.method == method and (m := pattern.match(path)):
                return route, m.groupdict()
        return None

    async def _serve(
        self,
        request: Request,
        table: Sequence[tuple[Route, Any]],
        path: str,
    ) -> Response:
        method = request.method
        match = self._match(table, method, path)
        if match is None:
            return _error_response(BackendError(404, f"Invalid URL ({method} {request.url.path})"))
        route, params = match
        try:
            reading = _read_call(
                request, route, params, self.backend.store, self.backend.upload_bytes_max
            )
            async with reading as call:
                reply = await _invoke(route, self.backend, call)
        except BackendError as error:
            return _error_response(error)
        except ClientDisconnect:
            # the client left mid-body (what it sent is already dropped): nobody to answer
            return Response(status_code=400)
        except Exception:
            log.exception("unhandled error in %s", route.template)
            return _error_response(_INTERNAL)
        response = _to_response(reply)
        if route.poll and method == "GET":
            response.headers["openai-poll-after-ms"] = str(self.backend.poll_after_ms)
        return response


def _check_api_version(request: Request) -> Response | None:
    """A Foundry project path needs ``?api-version=`` with a version it serves (Azure's 400s)."""
    version = request.query_params.get("api-version")
    if version in FOUNDRY_API_VERSIONS:
        return None
    if not version:
        error = BackendError(
            400,
            "The api-version query parameter (?api-version=) is required for all requests.",
            param="api-version",
            code="MissingApiVersionParameter",
        )
    else:
        supported = ", ".join(FOUNDRY_API_VERSIONS)
        error = BackendError(
            400,
            f"Unsupported api-version '{version}'. The supported api-versions are '{supported}'.",
            param="api-version",
            code="UnsupportedApiVersionValue",
        )
    return _error_response(error)


async def _invoke(route: Route, backend: Backend, call: Call) -> Reply:
    if inspect.iscoroutinefunction(route.handler):
        result: Reply = await route.handler(backend, call)
        return result
    handler = cast(Callable[[Backend, Call], Reply], route.handler)
    done = call.done
    if done is None:
        reply: Reply = await anyio.to_thread.run_sync(handler, backend, call)
        return reply

    def handle_then_clean_up() -> Reply:
        try:
            return handler(backend, call)
        finally:
            done()  # in this thread: one hop for the upload instead of two

    return await anyio.to_thread.run_sync(handle_then_clean_up)


# a multipart body larger than the largest upload by more than this cannot be a valid one
# (the text fields, part headers and boundaries of the SDK's uploads are a few hundred bytes)
_MULTIPART_OVERHEAD_MAX = 64 * 1024


@asynccontextmanager
async def _read_call(
    request: Request, route: Route, params: dict[str, str], store: Store, upload_max: int
) -> AsyncIterator[Call]:
    """The parsed request; a multipart body's file parts are written to the store as they
    arrive (:mod:`.uploads`), and what the handler does not keep is removed at the end.

    A body whose declared length is over ``upload_max`` by more than any multipart framing
    is refused without being parsed, after it is drained: answering while the client is
    still sending would break its connection, and the SDK retries a broken connection.
    """
    common: dict[str, Any] = {
        "method": request.method,
        "path": request.url.path,
        "template": route.template,
        "params": params,
        "query": request.query_params,
        "headers": request.headers,
    }
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > upload_max + _MULTIPART_OVERHEAD_MAX:
            async for _ in request.stream():
                pass  # read and dropped, never stored
            raise file_too_large()
        reading = read_multipart(request.stream(), content_type, store, upload_max)
        async with reading as parts:
            yield Call(
                **common, body=None, form=parts.fields, files=parts.files, done=parts.discard
            )
        return
    raw = await request.body()
    if not raw.strip():
        yield Call(**common, body={})
        return
    try:
        body = json.loads(raw)
    except ValueError:
        raise BackendError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON "
            "payload, but what was sent was not valid JSON.",
        ) from None
    yield Call(**common, body=body)


def _to_response(reply: Reply) -> Response:
    if isinstance(reply, Response):
        return reply
    if isinstance(reply, Raw):
        return Response(reply.data, media_type=reply.media_type)
    return JSONResponse(reply)


def _error_response(error: BackendError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error.envelope(), status_code=error.status, headers=headers)


def _fault_response(fault: FaultSpec) -> Response:
    headers: dict[str, str] = {}
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    if fault.retry_after is not None:
        headers["retry-after"] = f"{fault.retry_after:g}"
    if fault.kind == "rate_limit":
        headers.setdefault("retry-after", "1")
        error = BackendError(
            429,
            "Rate limit reached for requests (injected by the assistops backend).",
            type="requests",
            code="rate_limit_exceeded",
        )
        return _error_response(error, headers)
    error = BackendError(
        fault.status, fault.message, type=fault.code or "server_error", code=fault.code
    )
    return _error_response(error, headers)


async def _drop(send: Send) -> None:
    """Close the client connection without a response (uvicorn's transport)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("the 'drop' fault needs the backend to run under uvicorn")
    transport.abort()
    # let uvicorn see the connection as lost, so it does not answer 500 on our behalf
    for _ in range(3):
        await asyncio.sleep(0)
