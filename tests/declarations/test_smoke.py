"""The installed entry points, run as a user runs them: the ``assistops`` script, ``python -m``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assistops import __version__

from .conftest import CREDENTIAL_VARS
from .helpers import EXAMPLE, write_project

SCRIPT = Path(sys.executable).with_name("assistops")

# each call starts a Python process and imports the CLI: about a second
pytestmark = pytest.mark.slow


def call(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Run a command with no credentials in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    return subprocess.run(
        [os.fspath(a) for a in args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_version() -> None:
    done = call(SCRIPT, "--version")

    assert done.returncode == 0
    assert done.stdout == f"assistops, version {__version__}\n"


def test_validate_the_example_project() -> None:
    done = call(SCRIPT, "validate", "-C", EXAMPLE)

    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "acme-support: valid in 5 environments "
        "(local, local-agents, local-responses, staging, prod)\n"
    )


def test_python_dash_m_renders_one_assistant() -> None:
    done = call(sys.executable, "-m", "assistops", "render", "-C", EXAMPLE, "-e", "prod", "support")

    assert done.returncode == 0, done.stderr
    (payload,) = yaml.safe_load(done.stdout)
    assert payload["address"] == "assistant.support"
    assert payload["body"]["model"] == "gpt-4o"
    assert payload["body"]["tool_resources"]["file_search"]["vector_store_ids"] == [
        "${vector_store.handbook}"
    ]


def test_errors_exit_1_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    root = write_project(tmp_path)

    done = call(SCRIPT, "render", "-C", root, "-e", "qa")

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Error: 1 problem in the declarations:\n"
        "assistops.yaml:6: environments: no environment named 'qa'\n"
        "    hint: use one of: local, prod\n"
    )
