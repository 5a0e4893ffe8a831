"""Engine tests run the CLI against the shared backend with a canary key set, and every
exchange assistops makes is checked against the vendored OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contract.validator import ContractRecorder
from engine_helpers import KEY, KEY_ENV, example_project

from assistops.backend import RunningBackend
from assistops.providers import clients


@pytest.fixture(autouse=True)
def contract_checked(contract: ContractRecorder) -> Iterator[ContractRecorder]:
    """Install the contract validator on every SDK client the engine builds."""
    hooks = {k: list(v) for k, v in contract.event_hooks().items()}
    clients.OBSERVERS.append(hooks)
    try:
        yield contract
    finally:
        clients.OBSERVERS.remove(hooks)
    contract.assert_clean()


@pytest.fixture
def project(tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example project wired to the (reset) test backend."""
    monkeypatch.setenv(KEY_ENV, KEY)
    return example_project(tmp_path, backend)
