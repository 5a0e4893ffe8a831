"""SDK client construction shared by the openai, azure and local providers.

Each provider holds two clients over the same settings: the SDK's synchronous ``OpenAI`` (lists,
downloads, conversations) and its ``AsyncOpenAI`` over aiohttp for the calls apply makes by the
thousand (writes, retrieves, uploads, deletes; see ``event_loop.py``), which cost less than half
the client CPU there (aiohttp parses HTTP in C).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from assistops.providers.failures import is_quota

# Per request: long enough for a large upload, short enough that CI fails clearly (the SDK's
# own default is 10 minutes). Retries stay at the SDK default (2).
REQUEST_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
MAX_RETRIES = 2

#: Extra httpx2 event hooks (``{"request": [...], "response": [...]}``) put on every client
#: made from now on. The test suite registers its OpenAPI contract validator here, so every
#: exchange assistops itself makes is checked against the official description. On the async
#: clients each hook is called with the message already read (``aread``).
OBSERVERS: list[dict[str, list[Callable[[Any], None]]]] = []

# a context variable, not a thread-local: the async calls run in the event loop's tasks, which
# take the caller's values (event_loop.CallLoop.run)
_OWN: ContextVar[bool] = ContextVar("assistops_own_rate_limits", default=False)


@contextmanager
def own_rate_limits() -> Iterator[None]:
    """While a provider call runs in this context, the SDK retries no 429: the provider
    retries rate limits itself, through its limiter, so they lower the width in flight
    instead of being retried at full width (``limiter.py``). Other calls on the same client
    (conversations) keep the SDK's own retries."""
    token = _OWN.set(True)
    try:
        yield
    finally:
        _OWN.reset(token)


def _no_retry(response: httpx2.Response, content: bytes | None) -> None:
    """Mark a 429 the SDK must not retry: an ``insufficient_quota`` (waiting will not help) or
    any 429 of a call that retries rate limits itself."""
    if _OWN.get():
        response.headers["x-should-retry"] = "false"
        return
    try:
        body = json.loads(content or b"")
    except ValueError:
        return
    error = body.get("error", body) if isinstance(body, dict) else None
    if is_quota(error):
        response.headers["x-should-retry"] = "false"


def _refuse_quota_retry(response: httpx2.Response) -> None:
    if response.status_code == 429:
        _no_retry(response, None if _OWN.get() else response.read())


async def _refuse_quota_retry_async(response: httpx2.Response) -> None:
    if response.status_code == 429:
        _no_retry(response, None if _OWN.get() else await response.aread())


def _observer_hooks() -> dict[str, list[Callable[[Any], None]]]:
    hooks: dict[str, list[Callable[[Any], None]]] = {"request": [], "response": []}
    for observer in OBSERVERS:
        for event, functions in observer.items():
            hooks.setdefault(event, []).extend(functions)
    return hooks


def speaks_tls(base_url: str | None) -> bool:
    """Whether a client of ``base_url`` can ever use TLS: not for a plain ``http://`` URL
    (the SDK follows no redirects, so it never reaches an ``https`` one from there); None,
    the SDK's default, is OpenAI's ``https`` URL."""
    return base_url is None or urlsplit(base_url).scheme.lower() != "http"


def make_http_client(
    transport: httpx2.BaseTransport | None = None, *, plain_http: bool = False
) -> httpx2.Client:
    """The HTTP client of every provider's synchronous SDK client (``transport`` for tests).

    ``plain_http``: for a provider on a plain ``http://`` URL (the embedded backend,
    ``assistops serve``). Its client never speaks TLS, so it is spared loading the system's
    trusted roots (a fifth of a no-op local ``plan``'s work); an ``https`` URL would fail
    verification, never pass unchecked."""
    hooks = _observer_hooks()
    # the quota check marks the response before observers and the SDK's retry logic see it
    hooks["response"].insert(0, _refuse_quota_retry)
    verify: ssl.SSLContext | bool = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if plain_http else True
    return openai.DefaultHttpx2Client(
        timeout=REQUEST_TIMEOUT, transport=transport, event_hooks=hooks, verify=verify
    )


def _read_first(hook: Callable[[Any], None]) -> Callable[[Any], Awaitable[None]]:
    async def call(message: httpx2.Request | httpx2.Response) -> None:
        await message.aread()
        hook(message)

    return call


def make_async_http_client(
    transport: httpx2.AsyncBaseTransport | None = None,
) -> httpx2.AsyncClient:
    """The HTTP client of every provider's ``AsyncOpenAI``: the SDK's aiohttp client (the
    ``openai[aiohttp]`` extra), or ``transport`` (tests)."""
    hooks: dict[str, list[Callable[[Any], Awaitable[None]]]] = {
        event: [_read_first(hook) for hook in functions]
        for event, functions in _observer_hooks().items()
    }
    hooks.setdefault("response", []).insert(0, _refuse_quota_retry_async)
    return openai.DefaultAioHttpClient(
        timeout=REQUEST_TIMEOUT, transport=transport, event_hooks=hooks
    )
