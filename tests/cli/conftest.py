"""Fixtures of the CLI tests: a new project, as a user gets it from ``assistops init``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import new_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh ``assistops init`` project on the embedded local backend (its own database)."""
    return new_project(tmp_path / "demo")
