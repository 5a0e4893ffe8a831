"""Failures become one clear, key-free ProviderError line: what, status, why, what to do."""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
from provider_support import CANARY, plain_client

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.errors import ProviderError, SunsetError
from assistops.providers import OpenAIProvider
from assistops.providers.clients import make_async_http_client, make_http_client

pytestmark = pytest.mark.usefixtures("contract_checked")


def assert_key_free(error: BaseException, key: str = CANARY) -> None:
    """Neither the message, the repr, the traceback nor the chain may hold the key."""
    assert error.__cause__ is None
    assert error.__context__ is None
    shown = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    assert key not in shown
    assert key[:10] not in shown  # not even the masked echo "sk-canary-***ghij"
    assert "\n" not in str(error)  # one line


@pytest.fixture
def provider(client: openai.OpenAI) -> Iterator[OpenAIProvider]:
    with OpenAIProvider(client, "test (backend)", key_env="TEST_KEY_VAR") as opened:
        yield opened


def remote(
    handler: httpx2.MockTransport, *, environment: str | None = None, max_retries: int = 2
) -> OpenAIProvider:
    """A provider for api.openai.com whose HTTP goes to a test double of that service."""
    settings: dict[str, Any] = {
        "base_url": "https://api.openai.com/v1",
        "api_key": CANARY,
        "max_retries": max_retries,
    }
    sdk = openai.OpenAI(http_client=make_http_client(transport=handler), **settings)
    return OpenAIProvider(
        sdk,
        "openai (https://api.openai.com/v1)",
        async_client=lambda: openai.AsyncOpenAI(
            http_client=make_async_http_client(transport=handler), **settings
        ),
        key_env="OPENAI_API_KEY",
        environment=environment,
    )


def error_reply(
    status: int, message: str, code: str | None = None, **headers: str
) -> httpx2.Response:
    body = {
        "error": {
            "message": message,
            "type": code or "invalid_request_error",
            "param": None,
            "code": code,
        }
    }
    return httpx2.Response(status, json=body, headers=headers)


def test_401_names_the_variable_and_never_the_key() -> None:
    with start_server(":memory:", api_key="the-server-key-0123456789") as locked:
        sdk = plain_client(locked, api_key=CANARY)
        with (
            OpenAIProvider(sdk, "openai (locked)", key_env="ASSISTOPS_TEST_KEY") as provider,
            pytest.raises(ProviderError) as info,
        ):
            provider.list_assistants()
    error = info.value
    assert type(error) is ProviderError
    message = str(error)
    assert message.startswith("openai (locked): GET /v1/assistants -> 401 Unauthorized: ")
    assert "Incorrect API key provided" in message
    assert "check the API key in the environment variable ASSISTOPS_TEST_KEY" in message
    assert_key_free(error)


def test_a_key_echoed_in_an_error_body_is_scrubbed(
    backend: RunningBackend, control: BackendControl
) -> None:
    echo = f"Bad header 'Authorization: Bearer {CANARY}' (key {CANARY[:10]}***{CANARY[-4:]})"
    control.add_fault("error", "POST /v1/assistants", status=400, message=echo)
    with (
        OpenAIProvider(plain_client(backend, api_key=CANARY), "t", key_env="K") as provider,
        pytest.raises(ProviderError) as info,
    ):
        provider.create_assistant({"model": "gpt-4o"})
    assert "Bearer [redacted]" in str(info.value)
    assert_key_free(info.value)


def test_openai_style_masked_key_in_a_401_is_scrubbed() -> None:
    masked = f"Incorrect API key provided: {CANARY[:8]}{'*' * 18}{CANARY[-4:]}."
    with (
        remote(httpx2.MockTransport(lambda r: error_reply(401, masked, "invalid_api_key"))) as p,
        pytest.raises(ProviderError) as info,
    ):
        p.list_vector_stores()
    assert "Incorrect API key provided: [redacted]" in str(info.value)
    assert "OPENAI_API_KEY" in str(info.value)
    assert CANARY[:8] not in str(info.value)
    assert_key_free(info.value)


# a list goes through the synchronous client, a write through the async one over aiohttp,
# whose transport calls every failure to connect a timeout
@pytest.mark.parametrize(
    ("call", "request_line"),
    [
        pytest.param(lambda p: p.list_assistants(), "GET /v1/assistants", id="list"),
        pytest.param(
            lambda p: p.create_assistant({"model": "m"}), "POST /v1/assistants", id="write"
        ),
        pytest.param(lambda p: p.upload_file("a.md", b"a"), "POST /v1/files", id="upload"),
    ],
)
def test_connection_error_names_the_url(
    call: Callable[[OpenAIProvider], object], request_line: str
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    sdk = openai.OpenAI(base_url=url, api_key=CANARY, max_retries=0)
    with OpenAIProvider(sdk, f"openai ({url})") as provider, pytest.raises(ProviderError) as info:
        call(provider)
    message = str(info.value)
    assert f"could not reach {url}" in message
    assert "timed out" not in message
    assert request_line in message
    assert "base_url" in message
    assert_key_free(info.value)


def test_sunset_404_on_assistants_explains_what_to_do() -> None:
    seen: list[str] = []

    def service(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url.path}")
        return error_reply(404, "Invalid URL (GET /v1/assistants)", "invalid_url")

    with remote(httpx2.MockTransport(service), environment="prod") as provider:
        with pytest.raises(SunsetError) as info:
            provider.list_assistants()
        with pytest.raises(SunsetError):  # a delete must not pass for "already gone"
            provider.delete_assistant("asst_1")
    message = str(info.value)
    assert "sunset on 2026-08-26" in message
    assert "environments.prod.base_url" in message and "assistops.yaml" in message
    assert "Azure Foundry" in message and "provider: local" in message
    assert seen == ["GET /v1/assistants", "DELETE /v1/assistants/asst_1"]  # 404s are not retried
    assert_key_free(info.value)


def test_404_elsewhere_is_not_the_sunset(provider: OpenAIProvider) -> None:
    # vector stores stay live on api.openai.com: a 404 there is just "not found"
    service = httpx2.MockTransport(lambda r: error_reply(404, "No vector store found"))
    with remote(service) as openai_provider, pytest.raises(ProviderError) as info:
        openai_provider.retrieve_vector_store("vs_1")
    assert not isinstance(info.value, SunsetError)
    assert "404 Not Found: No vector store found" in str(info.value)
    # and an /assistants 404 from any other host is an ordinary one too
    with pytest.raises(ProviderError) as local:
        provider.retrieve_assistant("asst_missing")
    assert not isinstance(local.value, SunsetError)
    assert "GET /v1/assistants/asst_missing -> 404" in str(local.value)


def test_insufficient_quota_is_not_retried_and_says_billing() -> None:
    calls: list[str] = []

    def service(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return error_reply(429, "You exceeded your current quota.", "insufficient_quota")

    with remote(httpx2.MockTransport(service)) as provider, pytest.raises(ProviderError) as info:
        provider.upload_file("a.txt", b"a")
    assert calls == ["/v1/files"]
    message = str(info.value)
    assert "POST /v1/files -> 429 Too Many Requests: You exceeded your current quota" in message
    assert "billing" in message and "OPENAI_API_KEY" in message and "not retried" in message
    assert_key_free(info.value)


# a list goes through the synchronous client, a write through the async one on the loop: on
# both the SDK must leave the 429 to the provider (else 3 x 3 calls)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda p: p.list_files(), id="list"),
        pytest.param(lambda p: p.create_vector_store({"name": "s"}), id="write"),
    ],
)
def test_an_ordinary_429_is_retried_by_the_provider_after_its_wait(
    call: Callable[[OpenAIProvider], object],
) -> None:
    calls: list[str] = []

    def service(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return error_reply(
            429, "Rate limit reached", "rate_limit_exceeded", **{"retry-after-ms": "1"}
        )

    with remote(httpx2.MockTransport(service)) as provider, pytest.raises(ProviderError) as info:
        call(provider)
    assert len(calls) == 3  # the first try and two retries (the provider's, through its limiter)
    assert "still rate limited after 2 retries" in str(info.value)


def test_server_errors_are_retried_then_reported(
    provider: OpenAIProvider, control: BackendControl
) -> None:
    control.add_fault("error", "GET /v1/vector_stores", times=None, retry_after=0.01)
    with pytest.raises(ProviderError) as info:
        provider.list_vector_stores()
    assert control.requests()["GET /v1/vector_stores"] == 3
    message = str(info.value)
    assert "GET /v1/vector_stores -> 500 Internal Server Error" in message
    assert "after 2 retries" in message and "run again" in message


def test_a_refused_value_names_the_field(provider: OpenAIProvider) -> None:
    with pytest.raises(ProviderError) as info:
        provider.create_assistant({"model": "gpt-4o", "temperature": 5})
    message = str(info.value)
    assert "POST /v1/assistants -> 400 Bad Request" in message
    assert "'temperature'" in message


def test_a_list_that_times_out_says_it_timed_out_not_that_the_server_is_unreachable() -> None:
    # the synchronous client (lists, streamed uploads) reports a real timeout as one; only
    # the aiohttp path reports connection failures as timeouts that need unmasking
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    accepting = threading.Thread(
        target=lambda: held.append(server.accept()[0]), daemon=True
    )  # accepts and never answers
    accepting.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    sdk = openai.OpenAI(base_url=url, api_key=CANARY, max_retries=0, timeout=0.5)
    try:
        with (
            OpenAIProvider(sdk, f"openai ({url})") as provider,
            pytest.raises(ProviderError) as info,
        ):
            provider.list_vector_stores()
    finally:
        for conn in held:
            conn.close()
        server.close()
    message = str(info.value)
    assert f"timed out talking to {url}" in message, message
    assert "could not reach" not in message
    assert_key_free(info.value)
