"""plan, apply, import and export through the CLI on an azure environment whose endpoint is a
Foundry project of the test backend (``/api/projects/acme``, api-version v1), authenticated with
Entra ID bearer tokens from a test credential put into ``azure.CREDENTIAL_FACTORY``.

Every exchange is still checked against the OpenAPI description: a Foundry request is
validated as the ``/v1`` request it stands for.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from contract.validator import ContractRecorder
from engine_helpers import KEY, all_assistants, run, sdk

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.providers import azure, clients

ENV = "foundry"
PROJECT_PATH = "/api/projects/acme"
SCOPE = "https://ai.azure.com/.default"
_FOUNDRY = re.compile(r"^/api/projects/[^/]+(?P<route>/.*)$")


def token_value(n: int) -> str:
    """A JWT-shaped token: output containing one is a leak."""
    return f"eyJ0eXAiOiJKV1Qi.e2e-token-{n:04d}.c2lnbmF0dXJl"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_on: int


class TestCredential:
    """An Entra ID credential: numbered tokens (or always ``fixed``), valid for an hour."""

    __test__ = False

    def __init__(self, fixed: str | None = None) -> None:
        self.fixed = fixed
        self.calls: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str) -> AccessToken:
        with self._lock:
            self.calls.append(scopes)
            n = len(self.calls)
        return AccessToken(self.fixed or token_value(n), int(time.time()) + 3600)


class FoundryExchanges:
    """Contract hooks that validate a Foundry request as its ``/v1`` twin, and keep every
    request sent, so a test can check the URL shape and headers of all of them."""

    def __init__(self, recorder: ContractRecorder) -> None:
        self.recorder = recorder
        self.sent: list[httpx2.Request] = []

    def event_hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def on_request(self, request: httpx2.Request) -> None:
        request.read()
        self.sent.append(request)

    def on_response(self, response: httpx2.Response) -> None:
        request = response.request
        match = _FOUNDRY.match(request.url.path)
        if match is None:
            self.recorder.on_response(response)
            return
        query = [(k, v) for k, v in request.url.params.multi_items() if k != "api-version"]
        twin = httpx2.Request(
            request.method,
            request.url.copy_with(path="/v1" + match["route"], params=query),
            headers=request.headers,
            content=request.content,
        )
        body = response.read()
        self.recorder.on_response(
            httpx2.Response(
                response.status_code, headers=response.headers, content=body, request=twin
            )
        )


@pytest.fixture(autouse=True)
def contract_checked(contract: ContractRecorder) -> Iterator[FoundryExchanges]:
    """Overrides the engine tests' contract hooks with the Foundry-aware ones."""
    exchanges = FoundryExchanges(contract)
    hooks = exchanges.event_hooks()
    clients.OBSERVERS.append(hooks)
    try:
        yield exchanges
    finally:
        clients.OBSERVERS.remove(hooks)
    contract.assert_clean()


@pytest.fixture
def credential(monkeypatch: pytest.MonkeyPatch) -> TestCredential:
    made = TestCredential()
    monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: made)
    return made


def add_foundry_env(root: Path, backend: RunningBackend) -> str:
    """Declare environment ``foundry``: the backend's project endpoint, nothing else (auth
    and api_version are the defaults of a project endpoint)."""
    endpoint = backend.root_url + PROJECT_PATH
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            f"\n  {ENV}:\n"
            "    provider: azure\n"
            f"    base_url: {endpoint}\n"
            "    variables:\n"
            "      support_email: support@foundry.example\n"
            "      escalation: Escalate in the Foundry queue.\n"
        )
    return endpoint


@pytest.fixture
def foundry(project: Path, backend: RunningBackend, credential: TestCredential) -> Path:
    """The example project with environment ``foundry`` on the test backend."""
    add_foundry_env(project, backend)
    return project


def assert_all_foundry(exchanges: FoundryExchanges, endpoint: str, tokens: set[str]) -> None:
    """Every request went to the project endpoint with api-version v1 and a bearer token."""
    assert exchanges.sent
    for request in exchanges.sent:
        assert str(request.url).startswith(endpoint + "/"), request.url
        assert request.url.params.get_list("api-version") == ["v1"], request.url
        assert request.headers["authorization"] in {f"Bearer {t}" for t in tokens}
        assert "api-key" not in request.headers


def plan_json(root: Path) -> dict[str, Any]:
    result = run(root, "plan", "-e", ENV, "--format", "json")
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def plan_is_empty(root: Path) -> None:
    result = run(root, "plan", "-e", ENV, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_plan_apply_plan_converges_on_a_foundry_project(
    foundry: Path,
    backend: RunningBackend,
    control: BackendControl,
    credential: TestCredential,
    contract_checked: FoundryExchanges,
) -> None:
    first = plan_json(foundry)
    assert first["summary"] == {"create": 10, "update": 0, "replace": 0, "delete": 0}
    assert first["provider"] == "azure"
    assert first["endpoint"] == backend.root_url + PROJECT_PATH
    applied = run(foundry, "apply", "-e", ENV, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 10 added, 0 changed, 0 replaced, 0 destroyed." in applied.output
    assert "Verified: a fresh plan shows no changes." in applied.output
    plan_is_empty(foundry)
    endpoint = backend.root_url + PROJECT_PATH
    # each command opened the provider once and asked for one token for the Foundry scope
    assert credential.calls == [(SCOPE,)] * 3
    assert_all_foundry(contract_checked, endpoint, {token_value(n) for n in (1, 2, 3)})
    assert contract_checked.recorder.exchanges >= 19
    assert {"createAssistant", "createFile", "createVectorStoreFileBatch"} <= (
        contract_checked.recorder.seen
    )
    # counted under the /v1 templates, the objects are the backend's like any others
    assert control.requests()["POST /v1/assistants"] == 3
    client = sdk(backend)
    names = sorted(a.name for a in all_assistants(client))  # type: ignore[attr-defined]
    assert names == ["Acme Sales Analyst", "Acme Support", "Acme Ticket Triage"]
    support = next(a for a in all_assistants(client) if a.name == "Acme Support")  # type: ignore[attr-defined]
    assert support.metadata["assistops"] == f"acme-support/{ENV}/assistant.support"
    for token in (token_value(1), token_value(2)):
        assert token not in applied.output


def test_the_backend_checks_the_token(
    project: Path, monkeypatch: pytest.MonkeyPatch, contract_checked: FoundryExchanges
) -> None:
    server_token = token_value(7)
    with start_server(":memory:", api_key=server_token) as locked:
        add_foundry_env(project, locked)
        wrong = TestCredential(fixed=token_value(8))
        monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: wrong)
        refused = run(project, "plan", "-e", ENV)
        assert refused.exit_code == 1
        assert "-> 401 Unauthorized" in refused.output
        assert "the Entra ID token for https://ai.azure.com/.default was refused" in refused.output
        assert token_value(8) not in refused.output and "Traceback" not in refused.output
        right = TestCredential(fixed=server_token)
        monkeypatch.setattr(azure, "CREDENTIAL_FACTORY", lambda settings: right)
        applied = run(project, "apply", "-e", ENV, "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert "Verified: a fresh plan shows no changes." in applied.output
        plan_is_empty(project)
        assert server_token not in applied.output


def test_entra_without_azure_identity_is_one_line(
    project: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_foundry_env(project, backend)
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # as if it were not installed
    result = run(project, "plan", "-e", ENV)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: environment '{ENV}' (azure ({backend.root_url}{PROJECT_PATH})) authenticates "
        "with Entra ID (auth: entra), which needs azure-identity: pip install 'assistops[azure]'"
    ]


def test_import_adopts_an_assistant_of_the_foundry_project(
    foundry: Path, backend: RunningBackend, contract_checked: FoundryExchanges
) -> None:
    assert run(foundry, "apply", "-e", ENV, "--auto-approve").exit_code == 0
    with sdk(backend) as outside:
        bot = outside.beta.assistants.create(
            model="gpt-4o-mini",
            name="Foundry Bot",
            instructions="Answer briefly.\n",
            temperature=0.2,
            metadata={"team": "customer-experience"},
        )
        result = run(foundry, "import", "-e", ENV, bot.id, "--name", "foundry-bot")
        assert result.exit_code == 0, result.output
        assert "The next plan shows no changes" in result.output
        declared = (foundry / "foundry-bot" / "assistant.yaml").read_text()
        assert "display_name: Foundry Bot" in declared
        plan_is_empty(foundry)
        after = outside.beta.assistants.retrieve(bot.id)
    assert after.metadata["assistops"] == f"acme-support/{ENV}/assistant.foundry-bot"
    assert_all_foundry(contract_checked, backend.root_url + PROJECT_PATH, _tokens(20))


def test_export_writes_a_foundry_project_that_plans_clean(
    foundry: Path, tmp_path: Path, backend: RunningBackend
) -> None:
    assert run(foundry, "apply", "-e", ENV, "--auto-approve").exit_code == 0
    dest = tmp_path / "exported"
    result = run(foundry, "export", str(dest), "-e", ENV)
    assert result.exit_code == 0, result.output
    config = (dest / "assistops.yaml").read_text()
    assert "provider: azure" in config
    assert f"base_url: {backend.root_url}{PROJECT_PATH}" in config
    # nothing secret, and nothing the project endpoint does not need
    assert "api_key_env" not in config and "api_version" not in config
    assert KEY not in config and "eyJ" not in config
    assert run(dest, "validate").exit_code == 0
    plan_is_empty(dest)


def test_a_foundry_outage_is_retried_and_apply_still_converges(
    foundry: Path, control: BackendControl, backend: RunningBackend
) -> None:
    # faults armed on the /v1 templates hit the Foundry path too
    control.add_fault("error", "POST /v1/assistants", status=503, should_retry=True, retry_after=0)
    applied = run(foundry, "apply", "-e", ENV, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Verified: a fresh plan shows no changes." in applied.output
    faults = control.faults()
    assert faults[0]["fired"] == 1
    client: openai.OpenAI = sdk(backend)
    assert len(all_assistants(client)) == 3


def _tokens(upto: int) -> set[str]:
    return {token_value(n) for n in range(1, upto + 1)}
