"""The ``azure`` provider: Foundry classic agents through the SDK's ``AzureOpenAI`` client.

A Foundry project endpoint (``https://<resource>.services.ai.azure.com/api/projects/<project>``)
is the client's ``base_url`` as is, so every route goes to ``<endpoint>/assistants``,
``/files``, ``/vector_stores`` ... with ``?api-version=v1`` (the client's default query). Azure
OpenAI's resource-scoped Assistants API (``<resource>.openai.azure.com/openai``, which
``AzureOpenAI(azure_endpoint=...)`` builds) was retired on 2026-08-26 and is refused before any
call.

Authentication (the environment's ``auth``):

- ``entra``: Entra ID bearer tokens for the scope ``https://ai.azure.com/.default``, from
  azure-identity's ``DefaultAzureCredential`` (the ``[azure]`` extra). :class:`BearerTokens` is
  the client's ``azure_ad_token_provider``: it asks the credential again when the token is five
  minutes from expiry, so a long apply outlives any one token.
- ``key``: the key in ``api_key_env``, sent as an ``api-key`` header, where keys are accepted
  (an API gateway, a compatible server; Foundry's agents take Entra ID only).

Neither a key nor a token ever reaches a message: both are registered with
:func:`~assistops.providers.redact.protect` when read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import openai

from assistops.errors import ProviderError
from assistops.providers.clients import (
    MAX_RETRIES,
    REQUEST_TIMEOUT,
    make_async_http_client,
    make_http_client,
)
from assistops.providers.openai_provider import OpenAIProvider
from assistops.providers.redact import protect, scrub
from assistops.providers.settings import (
    FOUNDRY_ENDPOINT_EXAMPLE,
    ProviderSettings,
    is_foundry_project,
)

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")

#: The Entra ID scope of Foundry's data plane (agents, threads, files, vector stores).
ENTRA_SCOPE = "https://ai.azure.com/.default"
#: A token is renewed this many seconds before it expires (azure-core's own margin).
REFRESH_MARGIN = 300
INSTALL_HINT = "pip install 'assistops[azure]'"
_MAX_SERVICE_MESSAGE = 300


class AccessTokenLike(Protocol):
    """What a credential's ``get_token`` returns (azure-core's ``AccessToken``)."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


class TokenCredential(Protocol):
    """An Entra ID credential (azure-core's ``TokenCredential``): ``get_token(scope)``."""

    def get_token(self, *scopes: str) -> AccessTokenLike: ...


def default_credential(settings: ProviderSettings) -> TokenCredential:
    """azure-identity's ``DefaultAzureCredential`` (environment variables, workload or managed
    identity, the Azure CLI's sign-in, ...), or one clear line saying how to install it."""
    missing = False
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        missing = True
    if missing:  # raised outside the handler: no ImportError in the chain
        raise ProviderError(
            f"environment '{settings.environment}' ({settings.label}) authenticates with Entra "
            f"ID (auth: entra), which needs azure-identity: {INSTALL_HINT}"
        )
    credential: TokenCredential = DefaultAzureCredential()
    return credential


#: Makes the Entra ID credential of an ``auth: entra`` environment, once per opened provider.
#: The tests put a credential of their own here (with ``monkeypatch``, as they add
#: ``clients.OBSERVERS``); nothing else changes it.
CREDENTIAL_FACTORY: Callable[[ProviderSettings], TokenCredential] = default_credential


class BearerTokens:
    """``azure_ad_token_provider`` for ``AzureOpenAI``: a token for ``scope``, reused until
    :data:`REFRESH_MARGIN` seconds before it expires, then asked for again (thread-safe: apply
    calls from several threads). A credential that fails is one key-free ProviderError line."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        label: str,
        scope: str = ENTRA_SCOPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credential = credential
        self.label = label
        self.scope = scope
        self.clock = clock
        self._lock = threading.Lock()
        self._token: AccessTokenLike | None = None

    def __call__(self) -> str:
        with self._lock:
            current = self._token
            if current is None or current.expires_on - self.clock() <= REFRESH_MARGIN:
                current = self._token = self._fetch()
            return current.token

    def _fetch(self) -> AccessTokenLike:
        error: ProviderError | None = None
        try:
            token = self.credential.get_token(self.scope)
        except Exception as exc:  # any credential's failure, reported as one line
            error = ProviderError(
                scrub(
                    f"{self.label}: could not get an Entra ID token for {self.scope}: "
                    f"{_first_line(exc)}; sign in with 'az login', or set the variables of a "
                    "service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) "
                    "or run with a managed identity"
                )
            )
        if error is not None:
            raise error from None
        protect(token.token)
        return token


class AzureProvider(OpenAIProvider):
    """:class:`OpenAIProvider` over ``AzureOpenAI``: refusals (401, 403) say what to do about
    the environment's way of authenticating, and :meth:`close` closes the credential too."""

    def __init__(
        self,
        client: openai.AzureOpenAI,
        settings: ProviderSettings,
        *,
        async_client: Callable[[], openai.AsyncAzureOpenAI],
        credential: TokenCredential | None = None,
    ) -> None:
        super().__init__(
            client,
            settings.label,
            async_client=async_client,
            key_env=settings.key_env,
            environment=settings.environment,
        )
        self.settings = settings
        self.credential = credential
        if settings.auth == "entra":  # the client's api_key is the SDK's placeholder
            self._ctx = replace(self._ctx, secrets=())

    def _error(self, exc: openai.OpenAIError, retries: int | None = None) -> ProviderError:
        """A refused key or token says what to check for this kind of endpoint."""
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            advice = self._auth_advice(exc.status_code)
            if advice is not None:
                return ProviderError(_refusal(exc, self.label, advice, self._ctx.secrets))
        return super()._error(exc, retries)

    def _auth_advice(self, status: int) -> str | None:
        where = f"environments.{self.settings.environment}"
        if self.settings.auth == "entra":
            if status == 401:
                return (
                    f"the Entra ID token for {ENTRA_SCOPE} was refused: sign in again "
                    f"('az login'), check which identity DefaultAzureCredential uses, and that "
                    f"{where}.base_url is your project's endpoint"
                )
            return (
                "the signed-in identity may not use this Foundry project: give it the "
                "'Azure AI User' role on the project"
            )
        if self.settings.base_url and is_foundry_project(self.settings.base_url):
            return (
                f"check the key in the environment variable {self.settings.key_env}; Foundry "
                f"agents take Entra ID tokens, not keys: set {where}.auth to entra "
                f"({INSTALL_HINT})"
            )
        return None

    def close(self) -> None:
        """Close the SDK client, then the credential (azure-identity's keep HTTP sessions)."""
        try:
            super().close()
        finally:
            _close(self.credential)


def open_azure(settings: ProviderSettings, key: str | None, root: Path) -> AzureProvider:
    """An :class:`AzureProvider` for an ``azure`` environment (``key`` only with auth: key)."""
    env = settings.environment
    url = settings.base_url
    if not url:
        raise ProviderError(
            f"environment '{env}' (azure) needs an endpoint: set the environment variable "
            f"{settings.endpoint_env} to your Foundry project endpoint "
            f"({FOUNDRY_ENDPOINT_EXAMPLE}), or declare base_url in assistops.yaml"
        )
    if settings.refusal is not None:  # open_provider says it first; this is for direct callers
        raise ProviderError(settings.refusal)
    if not settings.api_version:
        raise ProviderError(
            f"environment '{env}' ({settings.label}) needs api_version in assistops.yaml "
            "(or the environment variable OPENAI_API_VERSION)"
        )
    credential: TokenCredential | None = None
    auth: dict[str, Any]
    if settings.auth == "entra":
        credential = CREDENTIAL_FACTORY(settings)
        auth = {"azure_ad_token_provider": BearerTokens(credential, label=settings.label)}
    else:
        assert key is not None  # open_provider read it from settings.key_env
        auth = {"api_key": key}
    common: dict[str, Any] = {
        "base_url": url,
        "api_version": settings.api_version,
        "max_retries": MAX_RETRIES,
        "timeout": REQUEST_TIMEOUT,
        **auth,
    }

    def async_client() -> openai.AsyncAzureOpenAI:
        # the sync token provider is called on the loop; a renewal (hourly) holds it briefly
        return openai.AsyncAzureOpenAI(http_client=make_async_http_client(), **common)

    http_client = make_http_client()
    try:
        client = openai.AzureOpenAI(http_client=http_client, **common)
    except BaseException:
        http_client.close()
        _close(credential)
        raise
    return AzureProvider(client, settings, async_client=async_client, credential=credential)


def _close(credential: TokenCredential | None) -> None:
    closer: Any = getattr(credential, "close", None)
    if callable(closer):
        closer()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _refusal(exc: openai.APIStatusError, label: str, advice: str, secrets: tuple[str, ...]) -> str:
    """One line like the shared translation's: who, the call, the status, the service's words."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else body
    said = str(message if message else exc.message).strip()
    if len(said) > _MAX_SERVICE_MESSAGE:
        said = said[:_MAX_SERVICE_MESSAGE] + "..."
    status = exc.status_code
    text = (
        f"{label}: {exc.request.method} {exc.request.url.path} -> {status} "
        f"{HTTPStatus(status).phrase}: {said.rstrip('.') or 'no message'}; {advice}"
    )
    return scrub(" ".join(text.split()), secrets)
