"""Providers: the only code that talks to a live service (and the only importer of ``openai``).

:func:`open_provider` picks one by the environment's ``provider`` (``local``, ``openai``,
``azure``); :func:`resolve_settings` says where it points without opening it (for messages).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from assistops.config.project import Project
from assistops.errors import ProviderError
from assistops.providers.base import Json, Reader, Writer
from assistops.providers.settings import ProviderSettings, resolve_settings

if TYPE_CHECKING:
    from assistops.providers.local import LocalProvider
    from assistops.providers.openai_provider import OpenAIProvider
    from assistops.providers.redact import scrub

__all__ = [
    "Json",
    "LocalProvider",
    "OpenAIProvider",
    "ProviderSettings",
    "Reader",
    "Writer",
    "open_provider",
    "resolve_settings",
    "scrub",
]

# the SDK takes about half a second to import: only commands that reach a provider pay for it
_LAZY = {
    "LocalProvider": "assistops.providers.local",
    "OpenAIProvider": "assistops.providers.openai_provider",
    "scrub": "assistops.providers.redact",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistops.providers' has no attribute {name!r}")


def open_provider(
    project: Project, env_name: str, *, environ: Mapping[str, str] | None = None
) -> Writer:
    """Open the provider of environment ``env_name``; ``close()`` it when done.

    ``environ`` (default ``os.environ``) supplies the key, endpoint and base URL variables.
    Raises ProviderError when a variable it needs is unset, ConfigError for an unknown
    environment.
    """
    import openai

    from assistops.providers.azure import open_azure
    from assistops.providers.clients import MAX_RETRIES, REQUEST_TIMEOUT, make_http_client
    from assistops.providers.local import open_local
    from assistops.providers.openai_provider import OpenAIProvider
    from assistops.providers.redact import install_log_redaction, protect

    environ = os.environ if environ is None else environ
    settings = resolve_settings(project, env_name, environ)
    install_log_redaction()
    if settings.kind == "local":
        return open_local(project.root, settings)
    assert settings.key_env is not None  # resolved for every remote kind
    key = environ.get(settings.key_env, "")
    if not key:
        raise ProviderError(
            f"environment '{env_name}' ({settings.label}) needs an API key: set the environment "
            f"variable {settings.key_env} (or name another one with api_key_env in assistops.yaml)"
        )
    protect(key)
    if settings.kind == "azure":
        return open_azure(settings, key)
    client = openai.OpenAI(
        base_url=settings.base_url,
        api_key=key,
        max_retries=MAX_RETRIES,
        timeout=REQUEST_TIMEOUT,
        http_client=make_http_client(),
    )
    return OpenAIProvider(client, settings.label, key_env=settings.key_env, environment=env_name)
