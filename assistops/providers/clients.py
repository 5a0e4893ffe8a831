"""SDK client construction shared by the openai, azure and local providers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai

from assistops.providers.failures import is_quota

# Per request: long enough for a large upload, short enough that CI fails clearly (the SDK's
# own default is 10 minutes). Retries stay at the SDK default (2).
REQUEST_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
MAX_RETRIES = 2

#: Extra httpx2 event hooks (``{"request": [...], "response": [...]}``) put on every client
#: made from now on. The test suite registers its OpenAPI contract validator here, so every
#: exchange assistops itself makes is checked against the official description.
OBSERVERS: list[dict[str, list[Callable[[Any], None]]]] = []


_OWN = threading.local()


@contextmanager
def own_rate_limits() -> Iterator[None]:
    """While a provider call runs in this thread, the SDK retries no 429: the provider
    retries rate limits itself, through its limiter, so they lower the width in flight
    instead of being retried at full width (``limiter.py``). Other calls on the same client
    (conversations) keep the SDK's own retries."""
    _OWN.active = True
    try:
        yield
    finally:
        _OWN.active = False


def _refuse_quota_retry(response: httpx2.Response) -> None:
    """A 429 ``insufficient_quota`` will not pass by waiting: tell the SDK not to retry it;
    nor any 429 of a call that retries rate limits itself (:func:`own_rate_limits`)."""
    if response.status_code != 429:
        return
    if getattr(_OWN, "active", False):
        response.headers["x-should-retry"] = "false"
        return
    response.read()
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    error = body.get("error", body) if isinstance(body, dict) else None
    if is_quota(error):
        response.headers["x-should-retry"] = "false"


def make_http_client(transport: httpx2.BaseTransport | None = None) -> httpx2.Client:
    """The HTTP client every provider's SDK client uses (``transport`` for tests only)."""
    hooks: dict[str, list[Callable[[Any], None]]] = {"request": [], "response": []}
    for observer in OBSERVERS:
        for event, functions in observer.items():
            hooks.setdefault(event, []).extend(functions)
    # the quota check marks the response before observers and the SDK's retry logic see it
    hooks["response"].insert(0, _refuse_quota_retry)
    return openai.DefaultHttpx2Client(
        timeout=REQUEST_TIMEOUT, transport=transport, event_hooks=hooks
    )
