"""Engine tests run the CLI against the shared backend with a canary key set."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import KEY, KEY_ENV, example_project

from assistops.backend import RunningBackend


@pytest.fixture
def project(tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example project wired to the (reset) test backend."""
    monkeypatch.setenv(KEY_ENV, KEY)
    return example_project(tmp_path, backend)
