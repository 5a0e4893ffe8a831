"""The provider over the official ``openai`` SDK: any server that speaks the protocol.

The azure and local providers reuse it with their own SDK client. Bodies go out as given
(``extra_body``) so the wire request is exactly the engine's dict, with no SDK-side renaming;
lists and apply's calls come back as the JSON the server sent (the SDK's generic ``get``/``post``
with ``cast_to=httpx2.Response``), conversations as ``model_dump(mode="json", by_alias=True)``
dicts of the SDK's objects, which keep fields its models do not know (they allow extras).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TypeVar
from urllib.parse import quote

import httpx2
import openai
from pydantic import BaseModel

from assistops.errors import ProviderError
from assistops.limits import FILES_LIST_LIMIT_MAX
from assistops.providers.base import AsyncWriter, Json, Writer
from assistops.providers.clients import make_async_http_client, own_rate_limits
from assistops.providers.event_loop import CallLoop
from assistops.providers.failures import CallContext, is_quota, is_sunset, provider_error
from assistops.providers.limiter import AdaptiveLimiter

if TYPE_CHECKING:
    from pathlib import Path

    from assistops.providers.settings import ProviderSettings

T = TypeVar("T")

PAGE_SIZE = 100
FILES_PAGE_SIZE = FILES_LIST_LIMIT_MAX  # GET /files pages by up to 10,000, not 100
FILE_PURPOSE: Final = "assistants"
#: The longest wait a rate limit's Retry-After is obeyed for before a call is tried again.
MAX_RATE_LIMIT_WAIT = 60.0
# request options of the SDK's generic calls (its RequestOptions type is private)
_MULTIPART: Final[Any] = {"headers": {"Content-Type": "multipart/form-data"}}
# the OpenAI-Beta headers the SDK's typed methods send
_ASSISTANTS: Final = "assistants=v2"
_AGENTS: Final = "agents=v1"
# the security option the SDK's typed methods pass (the key as a bearer token)
_BEARER: Final = {"bearer_auth": True}


# providers not closed yet: closed at exit, so a script that forgets to close one exits quietly
# instead of with aiohttp's "Unclosed client session" and the loop's thread cut off mid-call.
# Held strongly: a forgotten provider keeps its loop's thread alive anyway, and a weak set
# lost the ones a garbage collection took (the provider is in a cycle with its writes).
_open: set[OpenAIProvider] = set()


@atexit.register
def _close_forgotten() -> None:
    for provider in list(_open):
        with contextlib.suppress(Exception):
            provider.close()


# a forked child has none of its parent's loop threads: closing their providers would wait on
# a thread that is not there, forever
os.register_at_fork(after_in_child=_open.clear)


def dump(obj: BaseModel) -> Json:
    """The wire dict of an SDK object, unknown fields included."""
    # warnings off: SDK models are built loosely from whatever the server sent, and we pass
    # that through unchanged rather than complain about it
    return obj.model_dump(mode="json", by_alias=True, exclude_unset=False, warnings=False)


def _json(response: httpx2.Response) -> Json:
    """The body of a write's answer as sent: apply's calls go through the SDK's generic
    ``post``/``get``/``delete`` with ``cast_to=httpx2.Response``, which skips building and
    dumping a typed model for every call (most of a small call's client CPU)."""
    body = response.json()
    if not isinstance(body, dict):
        raise ProviderError(f"{response.request.method} {response.request.url.path}: not an object")
    return body


def _options(beta: str | None) -> Any:
    """The request options of a typed method: bearer security and its ``OpenAI-Beta``."""
    options: Any = {"security": _BEARER}
    if beta is not None:
        options["headers"] = {"OpenAI-Beta": beta}
    return options


def _path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` an id, percent-encoded as the SDK's typed methods do; an
    empty id is refused as they refuse it (``DELETE /files/`` is no delete)."""
    if not all(ids):
        raise ValueError(f"an empty id for {template.format(*('<id>' for _ in ids))}")
    return template.format(*(quote(value, safe="") for value in ids))


def _unmasked(exc: openai.APITimeoutError) -> openai.APIError:
    """The SDK's aiohttp transport reports every failure to connect (refused, DNS, TLS, a
    dropped connection) as a connect timeout: the error it really was, when it was not one."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if root is exc or isinstance(root, TimeoutError):
        return exc
    error = openai.APIConnectionError(request=exc.request)
    error.__cause__ = root  # provider_error shows it: "could not reach ... (<why>)"
    return error


def twin(client: openai.OpenAI) -> openai.AsyncOpenAI:
    """The ``AsyncOpenAI`` of a plain ``OpenAI`` client: same URL, key, retries and timeout.
    Not of an ``AzureOpenAI`` (its API version and auth would be lost): pass ``async_client``."""
    if isinstance(client, openai.AzureOpenAI):
        raise TypeError("an AzureOpenAI client needs its async_client factory (azure.open_azure)")
    return openai.AsyncOpenAI(
        base_url=client.base_url,
        api_key=client.api_key,
        max_retries=client.max_retries,
        timeout=client.timeout,
        http_client=make_async_http_client(),
    )


def retry_after(exc: openai.APIStatusError, attempt: int) -> float:
    """Seconds to wait before trying a rate-limited call again: the answer's
    ``retry-after-ms`` or ``retry-after`` (seconds), else an exponential backoff."""
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return min(MAX_RATE_LIMIT_WAIT, max(0.0, float(value) * scale))
            except ValueError:
                pass  # an HTTP date: fall back to the backoff
    return min(MAX_RATE_LIMIT_WAIT, 0.5 * 2.0**attempt)


class OpenAIProvider(Writer):
    """:class:`Writer` over a ready ``openai.OpenAI`` (or ``AzureOpenAI``) client.

    Lists, downloads and conversations use ``client``; apply's writes, retrieves, uploads and
    deletes use the ``AsyncOpenAI`` that ``async_client`` makes (by default :func:`twin`),
    built on the first such call and run on the provider's :class:`CallLoop`.
    ``key_env`` names the environment variable that held the key (401/403 messages say it);
    ``environment`` names the assistops environment (the sunset message says where to set
    ``base_url``).
    """

    def __init__(
        self,
        client: openai.OpenAI,
        label: str,
        *,
        async_client: Callable[[], openai.AsyncOpenAI] | None = None,
        key_env: str | None = None,
        environment: str | None = None,
    ) -> None:
        self.client = client
        self.label = label
        self._make_async = async_client or (lambda: twin(client))
        self._async: openai.AsyncOpenAI | None = None
        self._async_lock = threading.Lock()  # apply's workers all reach for it at once
        self._loop = CallLoop(f"assistops-calls ({label})")
        self._aio = _Writes(self)
        #: every call takes a slot; apply sets the width to its concurrency (:meth:`limit`)
        self.limiter = AdaptiveLimiter()
        key = client.api_key if isinstance(client.api_key, str) else ""
        self._ctx = CallContext(
            label=label,
            base_url=str(client.base_url).rstrip("/"),
            key_env=key_env,
            environment=environment,
            max_retries=client.max_retries,
            secrets=(key,) if key else (),
        )
        _open.add(self)

    @property
    def call_context(self) -> CallContext:
        """What error messages say about this provider (label, URL, key variable)."""
        return self._ctx

    # --- error translation ----------------------------------------------------------------

    def limit(self, width: int) -> int:
        """At most ``width`` calls in flight from now on (a rate limit lowers it for a while);
        returns the ceiling it replaces."""
        before = self.limiter.ceiling
        self.limiter.resize(width)
        return before

    def _failed(
        self, exc: openai.OpenAIError, attempt: int, generation: int
    ) -> ProviderError | None:
        """The key-free error a failed call raises, or None for a rate limit to try again:
        the limiter halves the width and holds new calls for its Retry-After, up to the
        client's ``max_retries``. ``insufficient_quota`` is not a rate limit: it fails."""
        if isinstance(exc, openai.RateLimitError):
            if is_quota(exc.body) or attempt >= self._ctx.max_retries:
                return self._error(exc, retries=attempt)
            self.limiter.limited(generation, retry_after(exc, attempt))
            return None
        return self._error(exc)

    def _error(self, exc: openai.OpenAIError, retries: int | None = None) -> ProviderError:
        """One SDK exception as a key-free :class:`ProviderError` (a subclass may say more)."""
        return provider_error(exc, self._ctx, retries=retries)

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one SDK call in a slot of the limiter. A 429 rate limit gives the slot back,
        halves the width and is tried again after its Retry-After (the SDK does not retry it
        at full width, :func:`~assistops.providers.clients.own_rate_limits`); every other
        error fails at once, as one key-free :class:`ProviderError` (:meth:`_failed`)."""
        attempt = 0
        while True:
            error: ProviderError | None = None
            with self.limiter.slot() as generation:
                try:
                    with own_rate_limits():
                        result = fn()
                except openai.OpenAIError as exc:
                    error = self._failed(exc, attempt, generation)
                    attempt += 1
                else:
                    self.limiter.succeeded(generation)
                    return result
            if error is not None:
                # raised outside the handler so neither __cause__ nor __context__ holds it
                raise error from None

    async def _acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """:meth:`_call` for a coroutine on the provider's loop: it awaits its slot."""
        attempt = 0
        while True:
            error: ProviderError | None = None
            async with self.limiter.aslot() as generation:
                try:
                    with own_rate_limits():
                        result = await fn()
                except openai.APITimeoutError as exc:  # aiohttp calls every failure a timeout
                    error = self._failed(_unmasked(exc), attempt, generation)
                except openai.OpenAIError as exc:
                    error = self._failed(exc, attempt, generation)
                    attempt += 1
                else:
                    self.limiter.succeeded(generation)
                    return result
            if error is not None:
                raise error from None

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The SDK's async client of apply's calls (made on first use)."""
        with self._async_lock:
            if self._async is None:
                self._async = self._make_async()
            return self._async

    async def _send(
        self, method: str, path: str, body: Json | None = None, beta: str | None = None
    ) -> Json:
        """One JSON call through the async client's generic methods, in a slot of the limiter
        (:meth:`_acall`), answered as the server sent it (:func:`_json`), with the
        ``OpenAI-Beta`` header its typed method would send."""
        options = _options(beta)
        client = self.async_client

        async def call() -> httpx2.Response:
            if method == "get":
                return await client.get(path, options=options, cast_to=httpx2.Response)
            return await client.post(path, body=body, options=options, cast_to=httpx2.Response)

        return _json(await self._acall(call))

    async def _delete(self, path: str, beta: str | None = None) -> None:
        """``DELETE path`` in :meth:`_acall`, where a 404 means already gone (except the
        sunset's 404)."""
        options = _options(beta)
        client = self.async_client

        async def gone_is_fine() -> None:
            try:
                await client.delete(path, options=options, cast_to=httpx2.Response)
            except openai.NotFoundError as exc:
                if is_sunset(exc):
                    raise

        await self._acall(gone_is_fine)

    def run_async(
        self, call: Callable[[], Awaitable[T]], interrupt: Callable[[], None] | None = None
    ) -> T:
        """Await ``call()`` on the provider's loop (:meth:`CallLoop.run`)."""
        return self._loop.run(call, interrupt)

    @property
    def aio(self) -> AsyncWriter:
        """The writes as coroutines on the provider's loop."""
        return self._aio

    # --- Reader ---------------------------------------------------------------------------

    def _list(self, path: str, params: Json, beta: str | None = None) -> list[Json]:
        """Every item of a cursor-paged list, oldest first, as the SDK's ``list`` asks for it
        (its query and ``OpenAI-Beta`` header) and pages it (``after`` = the last item's id,
        until ``has_more`` is false or a page is empty or ends without an id), through its
        generic ``get``.

        Items stay the dicts the server sent: the typed ``list`` builds a model for each item
        and :func:`dump` turns it back, five sixths of a long list's client CPU (and
        ``client.beta`` would import a thousand models). Each page is one call: a rate limit
        retries that page, not the list."""
        headers = {"OpenAI-Beta": beta} if beta else {}
        query = {**params, "order": "asc"}
        items: list[Json] = []

        def fetch(options: Any) -> Json:
            return _json(self.client.get(path, options=options, cast_to=httpx2.Response))

        while True:
            options = {"params": dict(query), "headers": headers, "security": _BEARER}
            page = self._call(partial(fetch, options))
            data = page.get("data")
            if not isinstance(data, list):
                raise ProviderError(f"GET {path}: a list page without 'data'")
            items.extend(data)
            last = data[-1].get("id") if data and isinstance(data[-1], dict) else None
            if page.get("has_more") is False or not last:
                return items
            query["after"] = last

    def list_assistants(self) -> list[Json]:
        """Every assistant, oldest first."""
        return self._list("/assistants", {"limit": PAGE_SIZE}, _ASSISTANTS)

    def list_vector_stores(self) -> list[Json]:
        """Every vector store, oldest first."""
        return self._list("/vector_stores", {"limit": PAGE_SIZE}, _ASSISTANTS)

    def list_vector_store_files(self, vector_store_id: str) -> list[Json]:
        """Every file of one vector store (all statuses), oldest first."""
        path = _path("/vector_stores/{}/files", vector_store_id)
        return self._list(path, {"limit": PAGE_SIZE}, _ASSISTANTS)

    def list_files(self, purpose: str = FILE_PURPOSE) -> list[Json]:
        """Every file of one purpose, oldest first."""
        return self._list("/files", {"purpose": purpose, "limit": FILES_PAGE_SIZE})

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a downloadable file."""
        return self._call(lambda: self.client.files.content(file_id).content)

    def list_agents(self) -> list[Json]:
        """Every agent, oldest first (with the ``OpenAI-Beta: agents=v1`` header)."""
        return self._list("/agents", {"limit": PAGE_SIZE}, _AGENTS)

    def retrieve_agent(self, agent_id: str) -> Json:
        """One agent by id."""
        return self._sync(self._send, "get", _path("/agents/{}", agent_id), None, _AGENTS)

    def retrieve_assistant(self, assistant_id: str) -> Json:
        """One assistant by id."""
        return self._sync(
            self._send, "get", _path("/assistants/{}", assistant_id), None, _ASSISTANTS
        )

    def retrieve_vector_store(self, vector_store_id: str) -> Json:
        """One vector store by id."""
        path = _path("/vector_stores/{}", vector_store_id)
        return self._sync(self._send, "get", path, None, _ASSISTANTS)

    def vector_store_file_content(self, vector_store_id: str, file_id: str) -> str:
        """The parsed text of a file in a vector store (its content parts joined)."""
        page = self._call(
            lambda: list(
                self.client.vector_stores.files.content(file_id, vector_store_id=vector_store_id)
            )
        )
        return "".join(part.text or "" for part in page)

    # --- Writer: each write runs as a coroutine on the loop (_Writes) ----------------------

    def _sync(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` on the provider's loop, from a thread."""
        return self._loop.run(partial(fn, *args))

    def create_assistant(self, body: Json) -> Json:
        """``POST /assistants`` with ``body`` as is."""
        return self._sync(self._aio.create_assistant, body)

    def update_assistant(self, assistant_id: str, body: Json) -> Json:
        """``POST /assistants/{id}`` with ``body`` as is."""
        return self._sync(self._aio.update_assistant, assistant_id, body)

    def delete_assistant(self, assistant_id: str) -> None:
        """``DELETE /assistants/{id}``; already gone is fine."""
        self._sync(self._aio.delete_assistant, assistant_id)

    def create_agent(self, body: Json) -> Json:
        """``POST /agents`` with ``body`` as is."""
        return self._sync(self._aio.create_agent, body)

    def update_agent(self, agent_id: str, body: Json) -> Json:
        """``POST /agents/{id}`` with ``body`` as is."""
        return self._sync(self._aio.update_agent, agent_id, body)

    def delete_agent(self, agent_id: str) -> None:
        """``DELETE /agents/{id}``; already gone is fine."""
        self._sync(self._aio.delete_agent, agent_id)

    def create_vector_store(self, body: Json) -> Json:
        """``POST /vector_stores`` with ``body`` as is."""
        return self._sync(self._aio.create_vector_store, body)

    def update_vector_store(self, vector_store_id: str, body: Json) -> Json:
        """``POST /vector_stores/{id}`` with ``body`` as is."""
        return self._sync(self._aio.update_vector_store, vector_store_id, body)

    def delete_vector_store(self, vector_store_id: str) -> None:
        """``DELETE /vector_stores/{id}``; already gone is fine."""
        self._sync(self._aio.delete_vector_store, vector_store_id)

    def upload_file(
        self, filename: str, content: bytes | BinaryIO, purpose: str = FILE_PURPOSE
    ) -> Json:
        """``POST /files`` (multipart) with ``purpose``; a file is streamed in chunks."""
        if not isinstance(content, bytes | bytearray):
            return self._upload_stream(filename, content, purpose)
        return self._sync(self._aio.upload_file, filename, content, purpose)

    def _upload_stream(self, filename: str, content: BinaryIO, purpose: str) -> Json:
        """An upload from an open file, through the synchronous client: its write timeout
        ends an upload the server stops reading (aiohttp has no write timeout: it would wait
        for the kernel's)."""
        request: Any = _upload(filename, content, purpose)
        return self._call(lambda: _json(self.client.post("/files", **request)))

    def delete_file(self, file_id: str) -> None:
        """``DELETE /files/{id}``; already gone is fine."""
        self._sync(self._aio.delete_file, file_id)

    def create_file_batch(self, vector_store_id: str, files: list[Json]) -> Json:
        """``POST /vector_stores/{id}/file_batches`` with per-file attributes and chunking."""
        return self._sync(self._aio.create_file_batch, vector_store_id, files)

    def retrieve_file_batch(self, vector_store_id: str, batch_id: str) -> Json:
        """``GET /vector_stores/{id}/file_batches/{batch_id}``."""
        return self._sync(self._aio.retrieve_file_batch, vector_store_id, batch_id)

    def list_file_batch_files(self, vector_store_id: str, batch_id: str) -> list[Json]:
        """Every file of one batch, oldest first."""
        path = _path("/vector_stores/{}/file_batches/{}/files", vector_store_id, batch_id)
        return self._list(path, {"limit": PAGE_SIZE}, _ASSISTANTS)

    def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Json
    ) -> Json:
        """``POST /vector_stores/{id}/files/{file_id}``: replace the attributes."""
        return self._sync(self._aio.update_vector_store_file, vector_store_id, file_id, attributes)

    def detach_file(self, vector_store_id: str, file_id: str) -> None:
        """``DELETE /vector_stores/{id}/files/{file_id}``; already gone is fine."""
        self._sync(self._aio.detach_file, vector_store_id, file_id)

    # --- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close both SDK clients' connections and stop the loop."""
        _open.discard(self)
        try:
            self._loop.close(self._async.close if self._async is not None else None)
        finally:
            self.client.close()

    def __enter__(self) -> OpenAIProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Writes(AsyncWriter):
    """The provider's writes as coroutines on its loop: what apply's steps await (and what
    the provider's synchronous writes hand to the loop)."""

    def __init__(self, provider: OpenAIProvider) -> None:
        self._p = provider

    async def create_assistant(self, body: Json) -> Json:
        return await self._p._send("post", "/assistants", body, _ASSISTANTS)

    async def update_assistant(self, assistant_id: str, body: Json) -> Json:
        path = _path("/assistants/{}", assistant_id)
        return await self._p._send("post", path, body, _ASSISTANTS)

    async def delete_assistant(self, assistant_id: str) -> None:
        await self._p._delete(_path("/assistants/{}", assistant_id), _ASSISTANTS)

    async def create_agent(self, body: Json) -> Json:
        return await self._p._send("post", "/agents", body, _AGENTS)

    async def update_agent(self, agent_id: str, body: Json) -> Json:
        return await self._p._send("post", _path("/agents/{}", agent_id), body, _AGENTS)

    async def delete_agent(self, agent_id: str) -> None:
        await self._p._delete(_path("/agents/{}", agent_id), _AGENTS)

    async def create_vector_store(self, body: Json) -> Json:
        return await self._p._send("post", "/vector_stores", body, _ASSISTANTS)

    async def update_vector_store(self, vector_store_id: str, body: Json) -> Json:
        path = _path("/vector_stores/{}", vector_store_id)
        return await self._p._send("post", path, body, _ASSISTANTS)

    async def delete_vector_store(self, vector_store_id: str) -> None:
        await self._p._delete(_path("/vector_stores/{}", vector_store_id), _ASSISTANTS)

    async def upload_file(
        self, filename: str, content: bytes | BinaryIO, purpose: str = FILE_PURPOSE
    ) -> Json:
        """Content up to a chunk (most knowledge files) goes through the async client; an
        open file through the synchronous one on a thread (``_upload_stream``)."""
        if not isinstance(content, bytes | bytearray):
            return await asyncio.to_thread(self._p._upload_stream, filename, content, purpose)
        request: Any = _upload(filename, content, purpose)
        client = self._p.async_client

        async def call() -> httpx2.Response:
            response: httpx2.Response = await client.post("/files", **request)
            return response

        return _json(await self._p._acall(call))

    async def delete_file(self, file_id: str) -> None:
        await self._p._delete(_path("/files/{}", file_id))

    async def create_file_batch(self, vector_store_id: str, files: list[Json]) -> Json:
        path = _path("/vector_stores/{}/file_batches", vector_store_id)
        return await self._p._send("post", path, {"files": files}, _ASSISTANTS)

    async def retrieve_file_batch(self, vector_store_id: str, batch_id: str) -> Json:
        path = _path("/vector_stores/{}/file_batches/{}", vector_store_id, batch_id)
        return await self._p._send("get", path, None, _ASSISTANTS)

    async def list_file_batch_files(self, vector_store_id: str, batch_id: str) -> list[Json]:
        # only when a batch failed: the synchronous pages, on a thread
        return await asyncio.to_thread(self._p.list_file_batch_files, vector_store_id, batch_id)

    async def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Json
    ) -> Json:
        path = _path("/vector_stores/{}/files/{}", vector_store_id, file_id)
        return await self._p._send("post", path, {"attributes": attributes}, _ASSISTANTS)

    async def detach_file(self, vector_store_id: str, file_id: str) -> None:
        path = _path("/vector_stores/{}/files/{}", vector_store_id, file_id)
        await self._p._delete(path, _ASSISTANTS)


def _upload(filename: str, content: bytes | BinaryIO, purpose: str) -> Any:
    """The generic ``post``'s arguments of a multipart ``POST /files``."""
    return {
        "body": {"purpose": purpose},
        "files": [("file", (filename, content))],
        "options": _MULTIPART,
        "cast_to": httpx2.Response,
    }


def open_openai(settings: ProviderSettings, key: str | None, root: Path) -> OpenAIProvider:
    """An :class:`OpenAIProvider` over the SDK's client for an ``openai`` environment."""
    from assistops.providers.clients import (
        MAX_RETRIES,
        REQUEST_TIMEOUT,
        make_http_client,
        speaks_tls,
    )

    assert key is not None and settings.key_env is not None  # a remote provider has a key
    client = openai.OpenAI(
        base_url=settings.base_url,
        api_key=key,
        max_retries=MAX_RETRIES,
        timeout=REQUEST_TIMEOUT,
        http_client=make_http_client(plain_http=not speaks_tls(settings.base_url)),
    )
    return OpenAIProvider(
        client, settings.label, key_env=settings.key_env, environment=settings.environment
    )
