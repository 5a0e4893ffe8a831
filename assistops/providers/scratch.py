"""Providers that are not an environment's: a throwaway backend, or a server given by URL.

``assistops test --working-tree`` deploys the working tree to one of these, runs the tests
there and removes what it deployed, so a pull request's configuration is tested before it is
deployed anywhere.
"""

from __future__ import annotations

import openai

from assistops import startup
from assistops.backend import start_server
from assistops.providers.clients import MAX_RETRIES, REQUEST_TIMEOUT, make_http_client
from assistops.providers.local import LOCAL_KEY, LocalProvider
from assistops.providers.openai_provider import OpenAIProvider
from assistops.providers.redact import install_log_redaction, protect


def open_scratch() -> LocalProvider:
    """A new local backend in memory, on a loopback port; ``close()`` stops it and forgets
    everything it held."""
    running = start_server(db=":memory:", host="127.0.0.1", port=0)
    try:
        provider = LocalProvider(running, "local (throwaway, in memory)")
    except BaseException:
        running.stop()
        raise
    startup.settled()  # as open_provider: the SDK and the backend are imported
    return provider


def open_server(
    base_url: str, key: str | None = None, *, key_env: str | None = None
) -> OpenAIProvider:
    """A provider over any server that speaks the protocol at ``base_url`` (``assistops serve``,
    which needs no key unless started with one)."""
    install_log_redaction()
    if key:
        protect(key)
    client = openai.OpenAI(
        base_url=base_url.rstrip("/"),
        api_key=key or LOCAL_KEY,
        max_retries=MAX_RETRIES,
        timeout=REQUEST_TIMEOUT,
        http_client=make_http_client(),
    )
    startup.settled()  # as open_provider: the SDK is imported
    return OpenAIProvider(client, f"openai ({base_url.rstrip('/')})", key_env=key_env)
