"""The upstream model of ``assistops serve --model-base-url``: settings, start-up check, calls.

An upstream is any OpenAI-compatible endpoint: a Chat Completions server (vLLM, Ollama,
llama.cpp's server, OpenAI itself; ``api="chat"``) or the OpenAI Responses API
(``api="responses"``). This module holds what both have in common: the settings
(:class:`UpstreamSettings`), the check made once when the server starts
(:func:`check`: a wrong URL or key is one clear line, not a failed run later), the
errors a call can end with (:class:`UpstreamFailure`, already worded as a run's
``last_error``), retries, embeddings, and file uploads for hosted tools. The wire formats
of the two APIs are :mod:`.upstream_wire`'s.

Why httpx and not the ``openai`` SDK: the backend is a server of its own and may not
import the layers above it, and the SDK is the providers' alone (import-linter and ruff's
banned-api say so). The SDK is itself a thin layer over httpx, and the two wire formats
needed here (streamed Chat Completions chunks and Responses events) are small, so the
backend speaks them directly with the same HTTP client the SDK uses.

The API key is sent as ``Authorization: Bearer`` and never appears in a message: every
text that leaves this module goes through :meth:`UpstreamSettings.scrub`.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2

from assistops.errors import UpstreamError

Api = Literal["chat", "responses"]
#: the ``last_error.code`` values a run can carry (RunObject.last_error.code)
FailCode = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
_RETRY_AFTER_MAX = 20.0  # seconds; a longer wait fails the run instead of stalling it


@dataclass(frozen=True)
class UpstreamSettings:
    """Where runs get their model from, and how it is called.

    ``model_map`` maps an assistant's (or run's) model name to the upstream's; the key
    ``"*"`` maps every other name. A name that is not mapped is sent as it is.
    """

    base_url: str
    api: Api = "chat"
    api_key: str | None = field(default=None, repr=False)
    model_map: Mapping[str, str] = field(default_factory=dict)
    embedding_model: str | None = None
    timeout: float = 600.0
    connect_timeout: float = 10.0
    max_retries: int = 2

    @property
    def root(self) -> str:
        """The base URL without a trailing slash (``http://host:port/v1``)."""
        return self.base_url.rstrip("/")

    def model_for(self, name: str) -> str:
        """The upstream model serving runs of ``name``."""
        return self.model_map.get(name) or self.model_map.get("*") or name

    def headers(self) -> dict[str, str]:
        """Request headers: the key, when there is one."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def scrub(self, text: str) -> str:
        """``text`` with the API key (should an upstream echo it) replaced by ``***``."""
        return text.replace(self.api_key, "***") if self.api_key else text

    def http_timeout(self) -> httpx2.Timeout:
        """Connect quickly or fail; then allow a slow model up to ``timeout`` between bytes."""
        return httpx2.Timeout(self.timeout, connect=self.connect_timeout)


class UpstreamFailure(Exception):
    """A model call that failed; ``code`` and ``message`` become the run's ``last_error``."""

    def __init__(
        self,
        code: FailCode,
        message: str,
        *,
        retry: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code: FailCode = code
        self.message = message
        self.retry = retry  # worth another attempt (rate limit, server error, no connection)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Usage:
    """Token counts an upstream reported for one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion."""
        return self.prompt_tokens + self.completion_tokens

    def wire(self) -> dict[str, int]:
        """The protocol's ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


# -- errors --------------------------------------------------------------------------------


def error_message(response: httpx2.Response) -> str:
    """The upstream's own wording of an error response (its envelope's message, else text)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] or response.reason_phrase
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
    return json.dumps(body)[:500]


def failure_for(settings: UpstreamSettings, response: httpx2.Response) -> UpstreamFailure:
    """The run error an upstream's error response means."""
    status = response.status_code
    said = settings.scrub(error_message(response))
    where = f"upstream {settings.root} answered {status}: {said}"
    if status == 429:
        return UpstreamFailure(
            "rate_limit_exceeded", where, retry=True, retry_after=_retry_after(response)
        )
    if status in (401, 403):
        return UpstreamFailure("server_error", f"{where} (check the server's --model-key-env)")
    if 400 <= status < 500:
        # the request built from the run was refused: too long, unknown model, bad schema
        return UpstreamFailure("invalid_prompt", where)
    return UpstreamFailure("server_error", where, retry=True, retry_after=_retry_after(response))


def transport_failure(settings: UpstreamSettings, exc: httpx2.HTTPError) -> UpstreamFailure:
    """The run error of a call that got no answer (refused, reset, timed out)."""
    if isinstance(exc, httpx2.TimeoutException):
        what = f"timed out ({type(exc).__name__}, limit {settings.timeout:g} s)"
    else:
        what = f"failed: {type(exc).__name__}: {exc}"
    # a model that stopped answering is not asked again; a refused connection may be
    retry = not isinstance(exc, httpx2.ReadTimeout)
    message = settings.scrub(f"upstream {settings.root} {what}")
    return UpstreamFailure("server_error", message, retry=retry)


def _retry_after(response: httpx2.Response) -> float | None:
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value is not None:
            try:
                return float(value) / scale
            except ValueError:
                return None
    return None


def backoff(attempt: int, retry_after: float | None) -> float | None:
    """Seconds to wait before retry ``attempt`` (1-based); ``None``: the wait is too long."""
    if retry_after is not None:
        return retry_after if 0 <= retry_after <= _RETRY_AFTER_MAX else None
    delay: float = min(8.0, 0.5 * 2 ** (attempt - 1))
    return delay * (1 - 0.25 * random.random())


# -- streaming calls ----------------------------------------------------------------------


async def stream_events(
    settings: UpstreamSettings, client: httpx2.AsyncClient, path: str, body: Mapping[str, Any]
) -> AsyncIterator[tuple[str | None, Any]]:
    """POST ``body`` with ``stream: true`` and yield ``(event name, decoded data)`` pairs.

    Retries (rate limits, server errors, refused connections) happen before the first
    event only: once the model has produced something, a failure fails the run.
    Cancelling the task that iterates closes the connection, which stops the upstream.
    """
    attempt = 0
    while True:
        try:
            async with client.stream(
                "POST",
                f"{settings.root}{path}",
                json=dict(body),
                headers=settings.headers(),
                timeout=settings.http_timeout(),
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise failure_for(settings, response)
                async for name, data in _sse(response):
                    attempt = -1  # something arrived: no more retries
                    yield name, data
                return
        except httpx2.HTTPError as exc:
            failure = transport_failure(settings, exc)
        except UpstreamFailure as exc:
            failure = exc
        if attempt < 0 or not failure.retry:
            raise failure
        attempt += 1
        wait = backoff(attempt, failure.retry_after)
        if attempt > settings.max_retries or wait is None:
            raise failure
        await asyncio.sleep(wait)


async def _sse(response: httpx2.Response) -> AsyncIterator[tuple[str | None, Any]]:
    """Server-sent events of ``response``: ``(event name or None, JSON data)``."""
    name: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                text = "\n".join(data)
                if text.strip() == "[DONE]":
                    return
                yield name, _decode(text)
            name, data = None, []
        elif line.startswith(":"):
            continue  # a comment (keep-alive)
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data and "\n".join(data).strip() != "[DONE]":
        yield name, _decode("\n".join(data))


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise UpstreamFailure(
            "server_error", f"the upstream sent an event that is not JSON: {text[:200]}"
        ) from None


# -- embeddings ---------------------------------------------------------------------------


async def embed(
    settings: UpstreamSettings, client: httpx2.AsyncClient, texts: Sequence[str]
) -> list[list[float]]:
    """Vectors of ``texts`` from the upstream's ``/embeddings`` (batches of 64)."""
    assert settings.embedding_model is not None
    out: list[list[float]] = []
    for start in range(0, len(texts), 64):
        batch = list(texts[start : start + 64])
        try:
            response = await client.post(
                f"{settings.root}/embeddings",
                json={"model": settings.embedding_model, "input": batch},
                headers=settings.headers(),
                timeout=settings.http_timeout(),
            )
        except httpx2.HTTPError as exc:
            raise transport_failure(settings, exc) from None
        if response.status_code >= 400:
            raise failure_for(settings, response)
        data = sorted(response.json()["data"], key=lambda d: d["index"])
        out.extend([float(x) for x in d["embedding"]] for d in data)
    return out


async def upload_file(
    settings: UpstreamSettings,
    client: httpx2.AsyncClient,
    filename: str,
    data: bytes,
    purpose: str = "user_data",
) -> str:
    """Upload a file to the upstream's ``/files`` (for its hosted tools); its id there."""
    try:
        response = await client.post(
            f"{settings.root}/files",
            data={"purpose": purpose},
            files={"file": (filename, data)},
            headers=settings.headers(),
            timeout=settings.http_timeout(),
        )
    except httpx2.HTTPError as exc:
        raise transport_failure(settings, exc) from None
    if response.status_code >= 400:
        raise failure_for(settings, response)
    return str(response.json()["id"])


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity (0 for a zero vector)."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


# -- the start-up check -------------------------------------------------------------------


def check(settings: UpstreamSettings) -> list[str]:
    """Verify the upstream before serving; the models it lists, or one clear error.

    ``GET /models`` proves the URL is an OpenAI-compatible API and the key is accepted;
    the models named by ``model_map`` (and the embedding model) must be among those listed
    (a server that lists none is taken at its word). With an embedding model, one small
    ``/embeddings`` call proves it answers.
    """
    where = settings.root
    try:
        with httpx2.Client(timeout=httpx2.Timeout(settings.connect_timeout)) as http:
            response = http.get(f"{where}/models", headers=settings.headers())
            if response.status_code in (401, 403):
                raise UpstreamError(
                    f"--model-base-url {where} refused the key ({response.status_code}: "
                    f"{settings.scrub(error_message(response))}); check --model-key-env"
                )
            if response.status_code >= 400:
                raise UpstreamError(
                    f"--model-base-url {where} is not an OpenAI-compatible API: GET /models "
                    f"answered {response.status_code} ({settings.scrub(error_message(response))}"
                    "); the URL usually ends in /v1"
                )
            try:
                listed = [str(m["id"]) for m in response.json()["data"]]
            except (ValueError, KeyError, TypeError):
                raise UpstreamError(
                    f"--model-base-url {where} is not an OpenAI-compatible API: GET /models "
                    "did not answer a model list; the URL usually ends in /v1"
                ) from None
            wanted = [*settings.model_map.values()]
            if settings.embedding_model:
                wanted.append(settings.embedding_model)
            missing = [m for m in dict.fromkeys(wanted) if listed and m not in listed]
            if missing:
                raise UpstreamError(
                    f"--model-base-url {where} does not serve {', '.join(missing)} "
                    f"(it serves: {', '.join(listed[:20])})"
                )
            if settings.embedding_model:
                _check_embeddings(settings, http)
    except httpx2.HTTPError as exc:
        reason = settings.scrub(str(exc)) or type(exc).__name__
        raise UpstreamError(
            f"--model-base-url {where} cannot be reached ({reason}); is the model server "
            "running, and is the URL right?"
        ) from None
    return listed


def _check_embeddings(settings: UpstreamSettings, http: httpx2.Client) -> None:
    response = http.post(
        f"{settings.root}/embeddings",
        json={"model": settings.embedding_model, "input": ["assistops start-up check"]},
        headers=settings.headers(),
    )
    if response.status_code >= 400:
        raise UpstreamError(
            f"--embedding-model {settings.embedding_model}: POST /embeddings answered "
            f"{response.status_code} ({settings.scrub(error_message(response))})"
        )
