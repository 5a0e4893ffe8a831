"""Helpers for engine tests: a copy of the example project wired to the test backend."""

from __future__ import annotations

import shutil
from pathlib import Path

import openai
from click.testing import CliRunner, Result

from assistops.backend import RunningBackend
from assistops.cli.main import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "assistants"
KEY_ENV = "ASSISTOPS_TEST_KEY"
# split so that no committed line looks like a real key to secret scanners
KEY = "-".join(("sk", "canary", "0123456789abcdefghijklmnop"))


def example_project(tmp_path: Path, backend: RunningBackend) -> Path:
    """The example project, copied, with environments ``test`` and ``guarded`` (protected)
    pointing at ``backend`` through the openai provider."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "\n  test:\n"
            "    provider: openai\n"
            f"    base_url: {backend.base_url}\n"
            f"    api_key_env: {KEY_ENV}\n"
            "    variables:\n"
            "      support_email: support@test.example\n"
            "      escalation: Escalate in the test queue.\n"
            "\n  guarded:\n"
            "    provider: openai\n"
            f"    base_url: {backend.base_url}\n"
            f"    api_key_env: {KEY_ENV}\n"
            "    protected: true\n"
            "    variables:\n"
            "      support_email: support@guarded.example\n"
            "      escalation: Escalate in the guarded queue.\n"
        )
    return root


def run(root: Path, *args: str) -> Result:
    """Run the CLI in ``root`` as a user would (no terminal on stdin)."""
    return CliRunner().invoke(
        cli, ["-h"] if not args else [*args[:1], "-C", str(root), *args[1:]], catch_exceptions=False
    )


def sdk(backend: RunningBackend) -> openai.OpenAI:
    """A plain SDK client for making changes 'outside assistops'."""
    return openai.OpenAI(base_url=backend.base_url, api_key=KEY, max_retries=0)


def all_assistants(client: openai.OpenAI) -> list[object]:
    """Every assistant on the backend."""
    return list(client.beta.assistants.list(limit=100))
