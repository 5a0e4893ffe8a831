"""Resolve an environment's provider settings (URLs, variable names) without opening anything.

Only the *names* of the variables holding secrets are kept here; the key itself is read when
the provider is opened and never stored in settings, plans or messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from assistops.config.models import Environment
from assistops.config.project import Project

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
AZURE_KEY_ENV = "AZURE_OPENAI_API_KEY"
AZURE_ENDPOINT_ENV = "AZURE_AI_PROJECT_ENDPOINT"
AZURE_VERSION_ENV = "OPENAI_API_VERSION"
STATE_DIR = ".assistops"
MEMORY = ":memory:"

#: Foundry classic agents ("Agents v1", Azure AI Agent Service) take this api-version.
FOUNDRY_API_VERSION = "v1"
FOUNDRY_ENDPOINT_EXAMPLE = "https://<resource>.services.ai.azure.com/api/projects/<project>"
#: Azure OpenAI's resource-scoped Assistants API (``<res>.openai.azure.com/openai``) ended then.
AZURE_ASSISTANTS_RETIRED = "2026-08-26"
#: ...and Foundry classic agents, which speak the same protocol, are retired then.
FOUNDRY_CLASSIC_RETIRES = "2027-03-31"

Kind = Literal["local", "openai", "azure"]
Auth = Literal["entra", "key"]

_PROJECT_PATH = re.compile(r"/api/projects/[^/]+")
_AZURE_OPENAI_HOSTS = (".cognitiveservices.azure.com", ".services.ai.azure.com")


def is_foundry_project(url: str) -> bool:
    """``url`` is a Foundry project endpoint: its path is ``/api/projects/<project>``.

    Only the path counts, so a compatible server (the local backend) is one too.
    """
    return _PROJECT_PATH.fullmatch(urlparse(url).path.rstrip("/")) is not None


def is_retired_azure_openai(url: str) -> bool:
    """``url`` is Azure OpenAI's resource-scoped Assistants API, retired on 2026-08-26:
    any ``*.openai.azure.com`` URL, or an ``/openai`` path (or none) on the other hosts of an
    Azure OpenAI resource."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    path = parsed.path.rstrip("/")
    if host.endswith(".openai.azure.com"):
        return True
    if host.endswith(".cognitiveservices.azure.com") and not path:
        return True
    return host.endswith(_AZURE_OPENAI_HOSTS) and (path == "/openai" or path.startswith("/openai/"))


def is_foundry_host(url: str) -> bool:
    """``url`` is on a Foundry resource (``*.services.ai.azure.com``)."""
    return (urlparse(url).hostname or "").lower().endswith(".services.ai.azure.com")


@dataclass(frozen=True)
class ProviderSettings:
    """Where an environment's provider lives, for connecting and for messages."""

    environment: str
    kind: Kind
    label: str  # e.g. "openai (https://api.openai.com/v1)", "local (.assistops/dev.db)"
    base_url: str | None = None  # openai; azure: declared, or the value of endpoint_env
    key_env: str | None = None  # the variable holding the API key (never the key); None: no key
    endpoint_env: str | None = None  # azure: the variable holding the endpoint
    api_version: str | None = None  # azure
    auth: Auth | None = None  # azure: Entra ID bearer tokens, or a key
    refusal: str | None = None  # why these settings cannot work (said before reading any key)
    database: str = ""  # local: project-relative SQLite path, or ":memory:"


def default_database(env_name: str) -> str:
    """The local provider's database when the environment does not name one."""
    return f"{STATE_DIR}/{env_name}.db"


def resolve_settings(
    project: Project, env_name: str, environ: Mapping[str, str]
) -> ProviderSettings:
    """The settings of ``env_name`` (raises ConfigError for an unknown environment)."""
    env = project.environment(env_name)
    if env.provider == "local":
        database = env.database or default_database(env_name)
        return ProviderSettings(env_name, "local", f"local ({database})", database=database)
    if env.provider == "openai":
        base_url = (
            env.base_url or environ.get(OPENAI_BASE_URL_ENV) or DEFAULT_OPENAI_BASE_URL
        ).rstrip("/")
        return ProviderSettings(
            env_name,
            "openai",
            f"openai ({base_url})",
            base_url=base_url,
            key_env=env.api_key_env or OPENAI_KEY_ENV,
        )
    return _azure(env_name, env, environ)


def _azure(env_name: str, env: Environment, environ: Mapping[str, str]) -> ProviderSettings:
    """An azure environment: the endpoint (declared, else from its variable) decides the
    defaults. A Foundry project endpoint authenticates with Entra ID and takes api-version v1;
    any other endpoint takes a key and needs its api_version. ``api_key_env`` implies a key."""
    endpoint_env = env.azure_endpoint_env or AZURE_ENDPOINT_ENV
    base_url = (env.base_url or environ.get(endpoint_env) or "").rstrip("/") or None
    foundry = base_url is None or is_foundry_project(base_url)
    auth: Auth = env.auth or ("key" if env.api_key_env or not foundry else "entra")
    api_version = env.api_version
    if api_version is None and base_url is not None:
        api_version = FOUNDRY_API_VERSION if foundry else environ.get(AZURE_VERSION_ENV) or None
    label = f"azure ({base_url or f'${endpoint_env} unset'})"
    refusal = None
    if base_url is not None and is_retired_azure_openai(base_url):
        refusal = (
            f"environment '{env_name}' ({label}): Azure OpenAI's Assistants API was retired on "
            f"{AZURE_ASSISTANTS_RETIRED}; point it at a Foundry project endpoint instead "
            f"({FOUNDRY_ENDPOINT_EXAMPLE}, Foundry classic agents, until "
            f"{FOUNDRY_CLASSIC_RETIRES})"
        )
    return ProviderSettings(
        env_name,
        "azure",
        label,
        base_url=base_url,
        key_env=(env.api_key_env or AZURE_KEY_ENV) if auth == "key" else None,
        endpoint_env=endpoint_env,
        api_version=api_version,
        auth=auth,
        refusal=refusal,
    )
