"""The one mapping from SDK exceptions to :class:`~assistops.errors.ProviderError`.

Every message is one line: who was called (provider label, method and route), the status,
the service's own message, and what to do about it. API keys never appear in it: the
environment variable that held the key is named instead, and the finished text goes through
:func:`~assistops.providers.redact.scrub`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

import openai

from assistops.errors import ProviderError, SunsetError
from assistops.providers.redact import scrub

SUNSET_HOST = "api.openai.com"
SUNSET_DATE = "2026-08-26"
QUOTA_CODE = "insufficient_quota"
_MAX_SERVICE_MESSAGE = 300


@dataclass(frozen=True)
class CallContext:
    """What a message may say about the provider (never the key itself)."""

    label: str
    base_url: str
    key_env: str | None = None
    environment: str | None = None
    max_retries: int = 2
    secrets: tuple[str, ...] = ()


def is_sunset(exc: openai.APIStatusError) -> bool:
    """A 404 from api.openai.com on an ``/assistants`` route: the endpoint is gone."""
    url = exc.request.url
    return (
        exc.status_code == 404
        and url.host == SUNSET_HOST
        and "assistants" in url.path.strip("/").split("/")
    )


def is_quota(body: object) -> bool:
    """The error body says the account is out of quota (a 429 that retrying cannot fix)."""
    return isinstance(body, dict) and QUOTA_CODE in (body.get("code"), body.get("type"))


def provider_error(
    exc: openai.OpenAIError, ctx: CallContext, *, retries: int | None = None
) -> ProviderError:
    """Translate any SDK exception into a one-line, key-free ProviderError; ``retries`` is
    how often the provider itself tried a rate-limited call again (the SDK did not)."""
    if isinstance(exc, openai.APIError):
        call = f"{exc.request.method} {exc.request.url.path}"
    else:
        call = "the client"
    if isinstance(exc, openai.APIStatusError) and is_sunset(exc):
        return SunsetError(_clean(f"{ctx.label}: {call} -> 404: {_sunset_advice(ctx)}", ctx))
    if isinstance(exc, openai.APITimeoutError):
        text = (
            f"{ctx.label}: {call} timed out talking to {ctx.base_url} "
            f"(after {ctx.max_retries} retries): check the network, then run again"
        )
    elif isinstance(exc, openai.APIConnectionError):
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        text = (
            f"{ctx.label}: {call} could not reach {ctx.base_url}{cause} after "
            f"{ctx.max_retries} retries: check base_url in assistops.yaml and the network"
        )
    elif isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        text = f"{ctx.label}: {call} -> {status} {_phrase(status)}: {_service_message(exc)}"
        if advice := _advice(exc, ctx, retries):
            text += f"; {advice}"
    else:
        text = f"{ctx.label}: {exc}"
    answered = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    return ProviderError(_clean(text, ctx), status=answered)


def _clean(text: str, ctx: CallContext) -> str:
    return scrub(re.sub(r"\s+", " ", text).strip(), ctx.secrets)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _service_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else body
    text = str(message if message else exc.message).strip()
    if len(text) > _MAX_SERVICE_MESSAGE:
        text = text[:_MAX_SERVICE_MESSAGE] + "..."
    return text.rstrip(".") or "no message"


def _key_hint(ctx: CallContext) -> str:
    return f"the environment variable {ctx.key_env}" if ctx.key_env else "the client's API key"


def _retries(exc: openai.APIStatusError, ctx: CallContext, ours: int | None = None) -> str:
    """How many retries were really made: the provider's own (rate limits), else the SDK's,
    which the last attempt states in its header."""
    made = exc.response.request.headers.get("x-stainless-retry-count")
    count = int(made) if made is not None and made.isdigit() else ctx.max_retries
    count = count if ours is None else ours
    return "no retry" if count == 0 else f"{count} retr{'y' if count == 1 else 'ies'}"


def _advice(exc: openai.APIStatusError, ctx: CallContext, retries: int | None = None) -> str:
    status = exc.status_code
    if status == 401:
        return f"check the API key in {_key_hint(ctx)}"
    if status == 403:
        return f"the key in {_key_hint(ctx)} is not allowed to do this: check its project and role"
    if status == 404:
        return "no such object (deleted outside assistops?): run plan again to refresh"
    if status == 409:
        return "another change to this object is in progress: run again"
    if status == 429 and is_quota(exc.body):
        return (
            "the account is out of quota or credit: check the plan and billing of the account "
            f"that owns the key in {_key_hint(ctx)} (not retried)"
        )
    if status == 429:
        return (
            f"still rate limited after {_retries(exc, ctx, retries)}: wait a minute, then run again"
        )
    if status >= 500:
        return (
            f"the service failed (after {_retries(exc, ctx)}): run again, apply is safe to repeat"
        )
    if status in (400, 422) and exc.param:
        return f"the offending field is '{exc.param}'"
    return ""


def _sunset_advice(ctx: CallContext) -> str:
    where = f"environments.{ctx.environment}.base_url" if ctx.environment else "base_url"
    return (
        f"OpenAI's hosted Assistants endpoints were sunset on {SUNSET_DATE}. Set {where} in "
        "assistops.yaml to an Assistants-compatible server (Azure Foundry classic agents, a "
        "self-hosted server), or use provider: local"
    )
