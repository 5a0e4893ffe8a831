"""Fixtures of the conversation tests: the example project copied, with environments on the
session's backend (reached over HTTP as a remote server, so its store can be inspected)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistops.backend import RunningBackend

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "assistants"
KEY_ENV = "CONVTEST_KEY"
VARIABLES = (
    "    variables:\n"
    "      support_email: support@acme.localhost\n"
    "      escalation: Escalation is simulated here.\n"
)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The repository's example project, copied (its own local databases, none yet)."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops", "__pycache__"))
    return root


@pytest.fixture
def remote(example: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project with environments 'remote' (assistants) and 'remote-responses' on
    the session's backend, as an 'openai' provider with a key variable."""
    monkeypatch.setenv(KEY_ENV, "convtest-key")
    extra = (
        f"  remote:\n    provider: openai\n    base_url: {backend.base_url}\n"
        f"    api_key_env: {KEY_ENV}\n{VARIABLES}"
        f"  remote-responses:\n    provider: openai\n    api: responses\n"
        f"    leave_out: [description]\n    base_url: {backend.base_url}\n"
        f"    api_key_env: {KEY_ENV}\n{VARIABLES}"
    )
    config = example / "assistops.yaml"
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return example
