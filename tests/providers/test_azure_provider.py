"""The azure provider on a Foundry project endpoint: URL shape, api-version, Entra ID bearer
tokens (and their refresh), key auth, and errors that never hold the key or a token.

The Entra ID credential is a test double put into ``azure.CREDENTIAL_FACTORY``; the one test
of azure-identity's own ``DefaultAzureCredential`` runs when that package is installed.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from provider_support import CANARY, write_project

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.config.project import load_project
from assistops.errors import ProviderError
from assistops.providers import azure, clients, open_provider, resolve_settings
from assistops.providers.azure import REFRESH_MARGIN, BearerTokens

SCOPE = "https://ai.azure.com/.default"
PROJECT = "acme"


def token_value(n: int) -> str:
    """A JWT-shaped token: any message or log line containing one is a leak."""
    return f"eyJ0eXAiOiJKV1Qi.test-token-{n:04d}.c2lnbmF0dXJl"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_on: int


class TestCredential:
    """An Entra ID credential: numbered tokens valid for ``lifetime`` seconds."""

    __test__ = False  # not a test class

    def __init__(self, lifetime: int = 3600, tokens: Callable[[int], str] = token_value) -> None:
        self.lifetime = lifetime
        self.tokens = tokens
        self.calls: list[tuple[str, ...]] = []
        self.closed = False
        self._lock = threading.Lock()

    def get_token(self, *scopes: str) -> AccessToken:
        with self._lock:
            self.calls.append(scopes)
            n = len(self.calls)
        return AccessToken(self.tokens(n), int(time.time()) + self.lifetime)

    def close(self) -> None:
        self.closed = True


@dataclass
class Sent:
    """What went over the wire: each request's URL and auth headers."""

    requests: list[httpx2.Request]

    @property
    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]

    def header(self, name: str) -> list[str | None]:
        return [r.headers.get(name) for r in self.requests]


@pytest.fixture
def sent() -> Iterator[Sent]:
    """Record every request the providers' SDK clients send from now on."""
    record = Sent([])
    hooks: dict[str, list[Callable[[Any], None]]] = {"request": [record.requests.append]}
    clients.OBSERVERS.append(hooks)
    try:
        yield record
    finally:
        clients.OBSERVERS.remove(hooks)


@pytest.fixture
def credential(monkeypatch: pytest.MonkeyPatch) -> TestCredential:
    """The credential every ``auth: entra`` environment opened in the test gets."""
    made = TestCredential()
    monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: made)
    return made


def foundry_env(url: str, extra: str = "", name: str = "prod") -> str:
    return f"  {name}:\n    provider: azure\n    base_url: {url}\n{extra}"


def project_endpoint(backend: RunningBackend) -> str:
    return f"{backend.root_url}/api/projects/{PROJECT}"


def assert_secret_free(error: BaseException, *secrets: str) -> None:
    """Neither the message, the repr, the traceback nor the chain may hold a secret."""
    assert error.__cause__ is None
    assert error.__context__ is None
    shown = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    for secret in secrets:
        assert secret not in shown
    assert "\n" not in str(error)  # one line


# -- the wire ---------------------------------------------------------------------------------


def test_entra_requests_go_to_the_project_path_with_v1_and_a_bearer_token(
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    credential: TestCredential,
    sent: Sent,
) -> None:
    url = project_endpoint(backend)
    project = load_project(write_project(tmp_path, foundry_env(url)))
    settings = resolve_settings(project, "prod", {})
    assert (settings.auth, settings.api_version, settings.key_env) == ("entra", "v1", None)
    # no key variable is read, and none is needed
    with closing(open_provider(project, "prod", environ={})) as provider:
        assert provider.label == f"azure ({url})"
        store = provider.create_vector_store({"name": "kb"})
        upload = provider.upload_file("a.txt", b"alpha")
        provider.create_file_batch(store["id"], [{"file_id": upload["id"]}])
        provider.create_assistant({"model": "gpt-4o"})
        assert len(provider.list_assistants()) == 1
    assert credential.calls == [(SCOPE,)]  # one token serves them all
    assert credential.closed
    prefix = f"{url}/"
    assert sent.urls[:4] == [
        f"{prefix}vector_stores?api-version=v1",
        f"{prefix}files?api-version=v1",
        f"{prefix}vector_stores/{store['id']}/file_batches?api-version=v1",
        f"{prefix}assistants?api-version=v1",
    ]
    assert sent.urls[4] == f"{prefix}assistants?api-version=v1&limit=100&order=asc"
    assert set(sent.header("authorization")) == {f"Bearer {token_value(1)}"}
    assert set(sent.header("api-key")) == {None}
    assert control.requests()["POST /v1/assistants"] == 1


def test_the_sdk_builds_the_real_foundry_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credential: TestCredential
) -> None:
    seen: list[httpx2.Request] = []

    def foundry(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"object": "list", "data": [], "has_more": False})

    real = clients.make_http_client
    monkeypatch.setattr(azure, "make_http_client", lambda: real(httpx2.MockTransport(foundry)))
    url = "https://contoso.services.ai.azure.com/api/projects/support"
    project = load_project(write_project(tmp_path, foundry_env(url + "/")))
    with closing(open_provider(project, "prod", environ={})) as provider:
        assert provider.list_assistants() == []
        assert provider.list_vector_stores() == []
    assert [str(r.url) for r in seen] == [
        f"{url}/assistants?api-version=v1&limit=100&order=asc",
        f"{url}/vector_stores?api-version=v1&limit=100&order=asc",
    ]
    assert seen[0].headers["authorization"] == f"Bearer {token_value(1)}"


def test_the_endpoint_may_come_from_a_variable(
    tmp_path: Path, backend: RunningBackend, credential: TestCredential, sent: Sent
) -> None:
    url = project_endpoint(backend)
    envs = "  dev:\n    provider: azure\n  qa:\n    provider: azure\n"
    envs += "    azure_endpoint_env: QA_PROJECT_ENDPOINT\n"
    project = load_project(write_project(tmp_path, envs))
    environ = {"AZURE_AI_PROJECT_ENDPOINT": url, "QA_PROJECT_ENDPOINT": url + "/"}
    for name in ("dev", "qa"):
        with closing(open_provider(project, name, environ=environ)) as provider:
            assert provider.label == f"azure ({url})"
            assert provider.list_vector_stores() == []
    assert sent.urls == [f"{url}/vector_stores?api-version=v1&limit=100&order=asc"] * 2
    assert resolve_settings(project, "dev", {}).label == "azure ($AZURE_AI_PROJECT_ENDPOINT unset)"


def test_key_auth_sends_the_key_as_api_key(tmp_path: Path, sent: Sent) -> None:
    with start_server(":memory:", api_key=CANARY) as locked:
        extra = "    auth: key\n    api_key_env: FOUNDRY_KEY\n"
        project = load_project(
            write_project(tmp_path, foundry_env(project_endpoint(locked), extra))
        )
        settings = resolve_settings(project, "prod", {})
        assert (settings.auth, settings.key_env) == ("key", "FOUNDRY_KEY")
        with closing(open_provider(project, "prod", environ={"FOUNDRY_KEY": CANARY})) as provider:
            assert provider.create_assistant({"model": "gpt-4o"})["object"] == "assistant"
    assert sent.header("api-key") == [CANARY]
    assert sent.header("authorization") == [None]
    # api_key_env alone implies auth: key
    implied = load_project(
        write_project(tmp_path, foundry_env(project_endpoint(locked), "    api_key_env: K\n"))
    )
    assert resolve_settings(implied, "prod", {}).auth == "key"


def test_defaults_follow_the_endpoint(tmp_path: Path) -> None:
    envs = foundry_env("https://contoso.services.ai.azure.com/api/projects/support", name="a")
    envs += foundry_env("https://gateway.example/assistants/v1", name="b")
    envs += foundry_env(
        "https://contoso.services.ai.azure.com/api/projects/support",
        "    api_version: 2025-05-01\n",
        name="c",
    )
    envs += "  d:\n    provider: azure\n"
    project = load_project(write_project(tmp_path, envs))
    environ = {"OPENAI_API_VERSION": "2024-05-01-preview"}
    got = {
        name: (s.auth, s.api_version, s.key_env)
        for name in "abcd"
        for s in [resolve_settings(project, name, environ)]
    }
    assert got == {
        "a": ("entra", "v1", None),
        "b": ("key", "2024-05-01-preview", "AZURE_OPENAI_API_KEY"),
        "c": ("entra", "2025-05-01", None),
        "d": ("entra", None, None),
    }
    foundry = {"AZURE_AI_PROJECT_ENDPOINT": "https://x.services.ai.azure.com/api/projects/p"}
    assert resolve_settings(project, "d", foundry).api_version == "v1"


# -- tokens -----------------------------------------------------------------------------------


def test_a_token_is_reused_until_it_nears_expiry_then_renewed() -> None:
    now = [1_000_000.0]
    credential = TestCredential(lifetime=3600)
    # the credential's tokens expire relative to the real clock; pin them to the fake one
    credential.get_token = lambda *scopes: (  # type: ignore[method-assign]
        credential.calls.append(scopes)
        or AccessToken(token_value(len(credential.calls)), int(now[0]) + 3600)
    )
    tokens = BearerTokens(credential, label="azure (test)", clock=lambda: now[0])
    assert tokens() == token_value(1)
    now[0] += 3600 - REFRESH_MARGIN - 1  # still more than the margin left
    assert tokens() == token_value(1)
    now[0] += 1  # now within the margin: renewed before it expires
    assert tokens() == token_value(2)
    assert tokens() == token_value(2)
    assert credential.calls == [(SCOPE,), (SCOPE,)]


def test_tokens_are_renewed_between_requests_as_they_expire(
    tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch, sent: Sent
) -> None:
    short = TestCredential(lifetime=REFRESH_MARGIN)  # every token is already due for renewal
    monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: short)
    project = load_project(write_project(tmp_path, foundry_env(project_endpoint(backend))))
    with closing(open_provider(project, "prod", environ={})) as provider:
        for _ in range(3):
            provider.list_vector_stores()
    assert sent.header("authorization") == [f"Bearer {token_value(n)}" for n in (1, 2, 3)]


def test_concurrent_calls_share_one_token() -> None:
    credential = TestCredential()
    tokens = BearerTokens(credential, label="azure (test)")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(tokens())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [token_value(1)] * 16
    assert len(credential.calls) == 1


# -- errors -----------------------------------------------------------------------------------


def test_a_refused_token_says_what_to_do_and_never_shows_it(
    tmp_path: Path, credential: TestCredential
) -> None:
    with start_server(":memory:", api_key="the-server-key-0123456789") as locked:
        project = load_project(write_project(tmp_path, foundry_env(project_endpoint(locked))))
        with (
            closing(open_provider(project, "prod", environ={})) as provider,
            pytest.raises(ProviderError) as info,
        ):
            provider.list_assistants()
    message = str(info.value)
    assert message.startswith(
        f"azure ({project_endpoint(locked)}): GET /api/projects/{PROJECT}/assistants -> 401 "
        "Unauthorized: Unauthorized. Access token is missing, invalid"
    )
    assert "the Entra ID token for https://ai.azure.com/.default was refused" in message
    assert "az login" in message and "environments.prod.base_url" in message
    assert "API key" not in message  # nothing about keys: there is none
    assert_secret_free(info.value, token_value(1))


def test_a_key_refused_by_a_foundry_endpoint_points_to_entra(tmp_path: Path) -> None:
    with start_server(":memory:", api_key="the-server-key-0123456789") as locked:
        extra = "    api_key_env: FOUNDRY_KEY\n"
        project = load_project(
            write_project(tmp_path, foundry_env(project_endpoint(locked), extra))
        )
        with (
            closing(open_provider(project, "prod", environ={"FOUNDRY_KEY": CANARY})) as provider,
            pytest.raises(ProviderError) as info,
        ):
            provider.delete_assistant("asst_1")  # deletes are translated the same way
    message = str(info.value)
    assert "-> 401 Unauthorized" in message
    assert "check the key in the environment variable FOUNDRY_KEY" in message
    assert "Foundry agents take Entra ID tokens, not keys" in message
    assert "environments.prod.auth" in message and "pip install 'assistops[azure]'" in message
    assert_secret_free(info.value, CANARY, CANARY[:10])


def test_a_token_echoed_by_the_service_is_scrubbed(
    tmp_path: Path, backend: RunningBackend, control: BackendControl, credential: TestCredential
) -> None:
    echo = f"Bad header 'Authorization: Bearer {token_value(1)}'"
    control.add_fault("error", "POST /v1/assistants", status=400, message=echo)
    project = load_project(write_project(tmp_path, foundry_env(project_endpoint(backend))))
    with (
        closing(open_provider(project, "prod", environ={})) as provider,
        pytest.raises(ProviderError) as info,
    ):
        provider.create_assistant({"model": "gpt-4o"})
    assert "Bearer [redacted]" in str(info.value)
    assert_secret_free(info.value, token_value(1))


def test_a_failing_credential_is_one_clear_line(
    tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        def get_token(self, *scopes: str) -> AccessToken:
            raise RuntimeError(
                "DefaultAzureCredential failed to retrieve a token from the included "
                f"credentials.\nAttempted credentials:\n\tEnvironmentCredential: {CANARY}"
            )

    monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: Failing())
    project = load_project(write_project(tmp_path, foundry_env(project_endpoint(backend))))
    with (
        closing(open_provider(project, "prod", environ={})) as provider,
        pytest.raises(ProviderError) as info,
    ):
        provider.list_assistants()
    message = str(info.value)
    assert message == (
        f"azure ({project_endpoint(backend)}): could not get an Entra ID token for {SCOPE}: "
        "DefaultAzureCredential failed to retrieve a token from the included credentials; "
        "sign in with 'az login', or set the variables of a service principal "
        "(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) or run with a managed identity"
    )
    assert_secret_free(info.value, CANARY)


def test_entra_without_azure_identity_is_one_line_at_open_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import fails as if absent
    url = "https://contoso.services.ai.azure.com/api/projects/support"
    project = load_project(write_project(tmp_path, foundry_env(url)))
    with pytest.raises(ProviderError) as info:
        open_provider(project, "prod", environ={})
    assert str(info.value) == (
        f"environment 'prod' (azure ({url})) authenticates with Entra ID (auth: entra), which "
        "needs azure-identity: pip install 'assistops[azure]'"
    )
    assert_secret_free(info.value)


def test_endpoints_that_cannot_work_are_refused_before_any_call(
    tmp_path: Path, credential: TestCredential
) -> None:
    envs = "  dev:\n    provider: azure\n"
    envs += foundry_env("https://gateway.example/assistants", "    auth: key\n", name="gw")
    project = load_project(write_project(tmp_path, envs))
    retired = {"AZURE_AI_PROJECT_ENDPOINT": "https://contoso.openai.azure.com/"}
    with pytest.raises(ProviderError) as info:
        open_provider(project, "dev", environ=retired)
    assert "Azure OpenAI's Assistants API was retired on 2026-08-26" in str(info.value)
    assert "https://<resource>.services.ai.azure.com/api/projects/<project>" in str(info.value)
    assert "until 2027-03-31" in str(info.value)
    with pytest.raises(ProviderError, match="needs an endpoint: set the environment variable"):
        open_provider(project, "dev", environ={})
    with pytest.raises(ProviderError, match="needs api_version"):
        open_provider(project, "gw", environ={"AZURE_OPENAI_API_KEY": CANARY})
    assert credential.calls == []  # nothing was asked for a token


# -- azure-identity itself (the [azure] extra) --------------------------------------------------


FAKE_AZ = """#!{python}
import json, sys, time
assert sys.argv[1:5] == ["account", "get-access-token", "--output", "json"], sys.argv
assert sys.argv[5:7] == ["--resource", "https://ai.azure.com"], sys.argv
print(json.dumps({{"accessToken": {token!r}, "expires_on": int(time.time()) + 3600,
                  "tokenType": "Bearer"}}))
"""


def test_default_azure_credential_gets_a_token_for_the_foundry_scope(
    tmp_path: Path,
    backend: RunningBackend,
    monkeypatch: pytest.MonkeyPatch,
    sent: Sent,
) -> None:
    pytest.importorskip("azure.identity", reason="the [azure] extra is not installed")
    # azure-identity's own chain, narrowed to the Azure CLI's sign-in, whose `az` is a fake
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable, token=token_value(42)))
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    project = load_project(write_project(tmp_path, foundry_env(project_endpoint(backend))))
    with closing(open_provider(project, "prod", environ={})) as provider:
        assert provider.list_vector_stores() == []
    assert sent.header("authorization") == [f"Bearer {token_value(42)}"]
    assert json.dumps(sent.urls).count("api-version=v1") == 1
