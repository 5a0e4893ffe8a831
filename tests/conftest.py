"""Shared fixtures: one local backend per test session, reset before every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from contract.validator import ContractRecorder

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.providers import clients


def make_client(
    backend: RunningBackend, *, recorder: ContractRecorder | None = None, **kw: Any
) -> openai.OpenAI:
    """An SDK client pointed at ``backend`` (``kw`` goes to ``openai.OpenAI``).

    With ``recorder``, every exchange is validated against the vendored OpenAPI subset.
    """
    kw.setdefault("api_key", "test-key")
    kw.setdefault("max_retries", 2)
    if recorder is not None:
        kw["http_client"] = openai.DefaultHttpx2Client(event_hooks=recorder.event_hooks())
    return openai.OpenAI(base_url=backend.base_url, **kw)


@pytest.fixture(scope="session")
def _backend_server() -> Iterator[RunningBackend]:
    with start_server(":memory:") as running:
        yield running


@pytest.fixture(scope="session")
def _control_session(_backend_server: RunningBackend) -> Iterator[BackendControl]:
    with BackendControl(_backend_server.control_url) as control:
        yield control


@pytest.fixture
def backend(_backend_server: RunningBackend, _control_session: BackendControl) -> RunningBackend:
    """The session's backend (in memory), emptied and with default settings."""
    _control_session.reset()
    return _backend_server


@pytest.fixture
def control(backend: RunningBackend, _control_session: BackendControl) -> BackendControl:
    """The control plane of ``backend``: counts, faults, processing, seed."""
    return _control_session


@pytest.fixture
def contract() -> ContractRecorder:
    """Validates exchanges against the OpenAPI subset (see tests/contract/validator.py)."""
    return ContractRecorder()


@pytest.fixture
def contract_checked(contract: ContractRecorder) -> Iterator[ContractRecorder]:
    """``contract`` installed on every SDK client assistops builds from now on, the async
    clients of apply's calls too (``clients.OBSERVERS``); violations fail the test."""
    hooks = {k: list(v) for k, v in contract.event_hooks().items()}
    clients.OBSERVERS.append(hooks)
    try:
        yield contract
    finally:
        clients.OBSERVERS.remove(hooks)
    contract.assert_clean()


@pytest.fixture
def client(backend: RunningBackend, contract: ContractRecorder) -> Iterator[openai.OpenAI]:
    """The real ``openai`` SDK talking to ``backend`` over loopback HTTP, contract-checked."""
    with make_client(backend, recorder=contract) as sdk:
        yield sdk
    contract.assert_clean()  # violations the test swallowed still fail it


@pytest.fixture
def client_factory(
    backend: RunningBackend, contract: ContractRecorder
) -> Iterator[Callable[..., openai.OpenAI]]:
    """Build more SDK clients (e.g. ``max_retries=0``), contract-checked, closed after the test."""
    made: list[openai.OpenAI] = []

    def factory(**kw: Any) -> openai.OpenAI:
        kw.setdefault("recorder", contract)
        made.append(make_client(backend, **kw))
        return made[-1]

    yield factory
    for sdk in made:
        sdk.close()
    contract.assert_clean()
