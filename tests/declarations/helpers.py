"""Builders shared by the declarations tests: a small valid project, and CLI runners."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from assistops.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "assistants"
SCHEMA_DIR = REPO / "schemas"

# A small project that validates in both environments: every bad input overlays it.
BASE: dict[str, str] = {
    "assistops.yaml": """\
project: demo
variables:
  company: Demo Ltd
defaults:
  model: gpt-4o-mini
environments:
  local:
    provider: local
    variables:
      greeting: Hello from local
  prod:
    provider: openai
    base_url: https://assistants.demo.example/v1
    api_key_env: DEMO_API_KEY
    variables:
      greeting: Hello from prod
""",
    "assistants/helper/assistant.yaml": """\
name: helper
description: Answers questions from the docs.
tools:
  - file_search:
      vector_store: docs
  - function:
      name: lookup
      parameters: functions/lookup.json
      strict: true
metadata:
  team: demo
""",
    "assistants/helper/instructions.md.j2": """\
{% include "partials/style.md.j2" %}
You help the customers of {{ company }}. {{ greeting }}.
""",
    "partials/style.md.j2": "Be brief.\n",
    "knowledge/docs.yaml": """\
files:
  - knowledge/docs/*.md
""",
    "knowledge/docs/intro.md": "# Intro\nDemo docs.\n",
    "functions/lookup.json": """\
{
  "type": "object",
  "properties": {
    "id": {"type": "string"}
  },
  "required": ["id"],
  "additionalProperties": false
}
""",
}


def write_project(
    root: Path,
    files: Mapping[str, str | None] | None = None,
    symlinks: Mapping[str, str] | None = None,
    *,
    base: Mapping[str, str] = BASE,
) -> Path:
    """Write ``base`` overlaid with ``files`` (``None`` deletes a base file) into ``root``.

    ``symlinks`` maps a link path to its target, written as given (relative to the link).
    """
    merged: dict[str, str | None] = {**base, **(files or {})}
    for rel, text in merged.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel, target in (symlinks or {}).items():
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
    return root


def run(*args: str | os.PathLike[str]) -> Result:
    """Invoke the ``assistops`` command group as a user would (stdout and stderr apart)."""
    return CliRunner().invoke(cli, [os.fspath(a) for a in args], catch_exceptions=False)


def reported(result: Result) -> list[str]:
    """The problem lines ``validate`` printed (text format), hints folded into their line."""
    lines: list[str] = []
    for line in result.stderr.splitlines():
        if line.startswith("    hint: ") and lines:
            lines[-1] += "\n" + line
        elif line.strip():
            lines.append(line)
    return lines
