"""Providers: the only code that talks to a live service (and the only importer of ``openai``).

:func:`open_provider` picks one by the environment's ``provider`` (``local``, ``openai``,
``azure``); :func:`resolve_settings` says where it points without opening it (for messages).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from assistops import startup
from assistops.config.project import Project
from assistops.errors import ProviderError
from assistops.lazy import lazy_attributes
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

__getattr__ = lazy_attributes(__name__, _LAZY)


#: The targets: provider name -> (module, function) that opens it, imported when used. Each
#: opener takes the resolved settings, the API key (None for ``local``) and the project root.
OPENERS: dict[str, tuple[str, str]] = {
    "local": ("assistops.providers.local", "open_local"),
    "openai": ("assistops.providers.openai_provider", "open_openai"),
    "azure": ("assistops.providers.azure", "open_azure"),
}


def open_provider(
    project: Project, env_name: str, *, environ: Mapping[str, str] | None = None
) -> Writer:
    """Open the provider of environment ``env_name``; ``close()`` it when done.

    ``environ`` (default ``os.environ``) supplies the key, endpoint and base URL variables.
    Raises ProviderError when a variable it needs is unset, ConfigError for an unknown
    environment.
    """
    import importlib

    from assistops.providers.redact import install_log_redaction, protect

    environ = os.environ if environ is None else environ
    settings = resolve_settings(project, env_name, environ)
    if settings.refusal is not None:
        raise ProviderError(settings.refusal)
    install_log_redaction()
    key: str | None = None
    if settings.key_env is not None:
        key = environ.get(settings.key_env, "")
        if not key:
            raise ProviderError(
                f"environment '{env_name}' ({settings.label}) needs an API key: set the "
                f"environment variable {settings.key_env} (or name another one with api_key_env "
                "in assistops.yaml)"
            )
        protect(key)
    module, function = OPENERS[settings.kind]
    opener = getattr(importlib.import_module(module), function)
    provider: Writer = opener(settings, key, project.root)
    startup.settled()  # the SDK (and the backend) imported: their objects live until exit
    return provider
