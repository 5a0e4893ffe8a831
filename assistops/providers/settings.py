"""Resolve an environment's provider settings (URLs, variable names) without opening anything.

Only the *names* of the variables holding secrets are kept here; the key itself is read when
the provider is opened and never stored in settings, plans or messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from assistops.config.project import Project

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
AZURE_KEY_ENV = "AZURE_OPENAI_API_KEY"
AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
AZURE_VERSION_ENV = "OPENAI_API_VERSION"
STATE_DIR = ".assistops"
MEMORY = ":memory:"

Kind = Literal["local", "openai", "azure"]


@dataclass(frozen=True)
class ProviderSettings:
    """Where an environment's provider lives, for connecting and for messages."""

    environment: str
    kind: Kind
    label: str  # e.g. "openai (https://api.openai.com/v1)", "local (.assistops/dev.db)"
    base_url: str | None = None  # openai; azure when base_url is declared
    azure_endpoint: str | None = None  # azure, from endpoint_env when base_url is not declared
    key_env: str | None = None  # the variable holding the API key (never the key)
    endpoint_env: str | None = None  # azure: the variable holding the endpoint
    api_version: str | None = None  # azure
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
    endpoint_env = env.azure_endpoint_env or AZURE_ENDPOINT_ENV
    endpoint = None if env.base_url else (environ.get(endpoint_env) or None)
    where = env.base_url or endpoint or f"${endpoint_env} unset"
    return ProviderSettings(
        env_name,
        "azure",
        f"azure ({where})",
        base_url=env.base_url,
        azure_endpoint=endpoint,
        key_env=env.api_key_env or AZURE_KEY_ENV,
        endpoint_env=endpoint_env,
        api_version=env.api_version or environ.get(AZURE_VERSION_ENV) or None,
    )
