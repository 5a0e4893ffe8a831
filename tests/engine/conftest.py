"""Engine tests run the CLI against the shared backend with a canary key set, and every
exchange assistops makes is checked against the vendored OpenAPI description."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract.validator import ContractRecorder
from engine_helpers import KEY, KEY_ENV, example_project

from assistops.backend import RunningBackend


@pytest.fixture(autouse=True)
def _every_exchange_checked(contract_checked: ContractRecorder) -> ContractRecorder:
    """Every engine test runs with the contract validator installed (tests/conftest.py)."""
    return contract_checked


@pytest.fixture
def project(tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example project wired to the (reset) test backend."""
    monkeypatch.setenv(KEY_ENV, KEY)
    return example_project(tmp_path, backend)
