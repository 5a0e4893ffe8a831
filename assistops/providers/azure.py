"""The ``azure`` provider: the SDK's ``AzureOpenAI`` client wrapped in :class:`OpenAIProvider`.

``AzureOpenAI`` sends the key in an ``api-key`` header and adds ``?api-version=`` to every
request; with ``azure_endpoint`` it prefixes routes with ``/openai``. When the environment
declares ``base_url`` that URL is used as is (any compatible server, e.g. ``.../openai/v1``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai

from assistops.errors import ProviderError
from assistops.providers.clients import MAX_RETRIES, REQUEST_TIMEOUT, make_http_client
from assistops.providers.openai_provider import OpenAIProvider
from assistops.providers.settings import ProviderSettings

if TYPE_CHECKING:
    from pathlib import Path


def open_azure(settings: ProviderSettings, key: str | None, root: Path) -> OpenAIProvider:
    """An :class:`OpenAIProvider` over ``AzureOpenAI`` built from resolved settings."""
    assert key is not None  # the settings of a remote provider name its key variable
    env = settings.environment
    endpoint = settings.azure_endpoint
    if not settings.base_url and not endpoint:
        raise ProviderError(
            f"environment '{env}' (azure) needs an endpoint: set the environment variable "
            f"{settings.endpoint_env}, or base_url in assistops.yaml"
        )
    if not settings.api_version:
        raise ProviderError(
            f"environment '{env}' (azure) needs api_version in assistops.yaml "
            "(or the environment variable OPENAI_API_VERSION)"
        )
    http_client = make_http_client()
    try:
        if settings.base_url:
            client = openai.AzureOpenAI(
                base_url=settings.base_url,
                api_key=key,
                api_version=settings.api_version,
                max_retries=MAX_RETRIES,
                timeout=REQUEST_TIMEOUT,
                http_client=http_client,
            )
        else:
            assert endpoint is not None  # checked above
            client = openai.AzureOpenAI(
                azure_endpoint=endpoint,
                api_key=key,
                api_version=settings.api_version,
                max_retries=MAX_RETRIES,
                timeout=REQUEST_TIMEOUT,
                http_client=http_client,
            )
    except BaseException:
        http_client.close()
        raise
    return OpenAIProvider(client, settings.label, key_env=settings.key_env, environment=env)
