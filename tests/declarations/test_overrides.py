"""Layers and per-environment overrides: maps merge, lists replace, null unsets, origins kept.

Precedence, lowest first: project ``defaults`` < environment ``defaults`` < the assistant's
own file < the environment's ``overrides``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .helpers import reported, run, write_project
from .test_render import body_of, render_json, user_metadata

pytestmark = pytest.mark.usefixtures("offline")

PROJECT = """\
project: demo
variables:
  company: Demo Ltd
  greeting: Hello from the project
  signature: The project
defaults:
  model: gpt-4o-mini
  temperature: 0.5
  metadata:
    team: platform
    cost_center: cc-1
environments:
  local:
    provider: local
  prod:
    provider: openai
    base_url: https://assistants.demo.example/v1
    variables:
      greeting: Hello from prod
      signature: Prod
    defaults:
      top_p: 0.8
      metadata:
        stage: prod
        cost_center: cc-2
    overrides:
      assistants:
        helper:
          description: null
          temperature: null
          tools:
            - function:
                name: lookup
                parameters: functions/lookup.json
                strict: true
          metadata:
            tier: gold
            team: support-prod
      vector_stores:
        docs:
          files: [knowledge/docs/intro.md]
          metadata:
            region: eu
"""

ASSISTANT = """\
name: helper
description: Answers questions from the docs.
instructions: "{{ greeting }} / {{ signature }} / {{ company }}"
variables:
  signature: The assistant
tools:
  - file_search:
      vector_store: docs
  - function:
      name: lookup
      parameters: functions/lookup.json
      strict: true
metadata:
  team: support
  owner: alice
"""

STORE = """\
files:
  - knowledge/docs/*.md
metadata:
  source: docs
"""


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        {
            "assistops.yaml": PROJECT,
            "assistants/helper/assistant.yaml": ASSISTANT,
            "knowledge/docs.yaml": STORE,
            "knowledge/docs/faq.md": "# FAQ\n",
        },
    )


def helper(root: Path, env: str) -> dict[str, Any]:
    return body_of(render_json(root, env, "helper"), "assistant.helper")


def test_maps_merge_key_by_key_and_later_layers_win(layered: Path) -> None:
    assert user_metadata(helper(layered, "local")) == {
        "team": "support",  # the assistant beats the project defaults
        "cost_center": "cc-1",
        "owner": "alice",
    }
    assert user_metadata(helper(layered, "prod")) == {
        "team": "support-prod",  # the override beats the assistant
        "cost_center": "cc-2",  # the environment's defaults beat the project's
        "stage": "prod",
        "owner": "alice",
        "tier": "gold",
    }


def test_lists_replace_whole(layered: Path) -> None:
    local, prod = helper(layered, "local"), helper(layered, "prod")

    assert [t["type"] for t in local["tools"]] == ["file_search", "function"]
    assert [t["type"] for t in prod["tools"]] == ["function"]
    assert "tool_resources" not in prod  # no file_search, so no vector store either
    store = render_json(layered, "prod", "docs")
    assert [p["address"] for p in store if p["request"] == "POST /v1/files"] == [
        "file.docs:knowledge/docs/intro.md"
    ]
    assert (
        len([p for p in render_json(layered, "local", "docs") if p["request"] == "POST /v1/files"])
        == 2
    )


def test_null_unsets_a_field(layered: Path) -> None:
    local, prod = helper(layered, "local"), helper(layered, "prod")

    assert local["description"] == "Answers questions from the docs."
    assert local["temperature"] == 0.5
    assert "description" not in prod
    assert "temperature" not in prod
    assert prod["top_p"] == 0.8 and "top_p" not in local


def test_variables_layer_project_then_environment_then_assistant(layered: Path) -> None:
    assert helper(layered, "local")["instructions"] == (
        "Hello from the project / The assistant / Demo Ltd"
    )
    assert helper(layered, "prod")["instructions"] == "Hello from prod / The assistant / Demo Ltd"


def test_vector_store_overrides_merge_metadata(layered: Path) -> None:
    local = body_of(render_json(layered, "local", "docs"), "vector_store.docs")
    prod = body_of(render_json(layered, "prod", "docs"), "vector_store.docs")

    assert user_metadata(local) == {"source": "docs"}
    assert user_metadata(prod) == {"source": "docs", "region": "eu"}


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of ``text`` that contains ``needle``."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, needle
    return lines[0]


def test_problems_from_an_override_point_at_assistops_yaml(layered: Path) -> None:
    project = PROJECT.replace(
        "            team: support-prod\n", "            team: support-prod\n          top_p: 7\n"
    )
    project = project.replace("      top_p: 0.8\n", "      top_p: 0.8\n      temperature: -1\n")
    write_project(layered, {"assistops.yaml": project})

    result = run("validate", "-C", layered)

    assert result.exit_code == 1
    assert [p.split("\n")[0] for p in reported(result)] == [
        # each layer is checked as written, as an editor checks it against the published
        # schema: 'temperature: -1' is refused even though the override's null unsets it
        f"assistops.yaml:{line_of(project, 'temperature: -1')}: "
        "environments.prod.defaults.temperature: -1 is out of range",
        f"assistops.yaml:{line_of(project, 'top_p: 7')}: "
        "environments.prod.overrides.assistants.helper.top_p: 7 is out of range",
        "2 problems found.",
    ]


def test_a_problem_in_environment_defaults_names_that_layer(tmp_path: Path) -> None:
    project = PROJECT.replace("      top_p: 0.8\n", "      top_p: 1.8\n")
    root = write_project(
        tmp_path,
        {
            "assistops.yaml": project,
            "assistants/helper/assistant.yaml": ASSISTANT,
            "knowledge/docs.yaml": STORE,
        },
    )

    result = run("validate", "-C", root, "-e", "prod")

    assert [p.split("\n")[0] for p in reported(result)] == [
        f"assistops.yaml:{line_of(project, 'top_p: 1.8')}: environments.prod.defaults.top_p: "
        "1.8 is out of range",
        "1 problem found.",
    ]


def test_a_type_error_in_an_override_is_refused_before_merging(tmp_path: Path) -> None:
    project = PROJECT.replace("            tier: gold\n", "            tier: 1\n")
    root = write_project(tmp_path, {"assistops.yaml": project})

    result = run("validate", "-C", root, "-e", "local")  # even when prod is not checked

    assert [p.split("\n")[0] for p in reported(result)] == [
        f"assistops.yaml:{line_of(project, 'tier: 1')}: "
        "environments.prod.overrides.assistants.helper.metadata.tier: "
        "expected a string, got '1' which YAML reads as an integer",
        "1 problem found.",
    ]


def test_a_limit_broken_in_an_override_is_located_in_assistops_yaml(layered: Path) -> None:
    project = PROJECT.replace("          temperature: null\n", "          temperature: 2.5\n")
    project = project.replace(
        "            region: eu\n", "            region: eu\n          expires_after_days: 0\n"
    )
    write_project(layered, {"assistops.yaml": project})

    result = run("validate", "-C", layered, "-e", "local")  # the layer is checked as written

    assert reported(result) == [
        f"assistops.yaml:{line_of(project, 'temperature: 2.5')}: "
        "environments.prod.overrides.assistants.helper.temperature: 2.5 is out of range\n"
        "    hint: use 0.0 to 2.0",
        f"assistops.yaml:{line_of(project, 'expires_after_days: 0')}: "
        "environments.prod.overrides.vector_stores.docs.expires_after_days: 0 is out of range\n"
        "    hint: use 1 to 365",
        "2 problems found.",
    ]


def test_a_limit_broken_under_overrides_is_located_in_the_file_that_set_it(layered: Path) -> None:
    # the prod override merges over helper's metadata: the long value is still helper's own
    assistant = ASSISTANT.replace("  owner: alice\n", "  owner: " + "a" * 513 + "\n")
    write_project(layered, {"assistants/helper/assistant.yaml": assistant})

    result = run("validate", "-C", layered)

    assert reported(result) == [
        f"assistants/helper/assistant.yaml:{line_of(assistant, 'owner:')}: metadata.owner: "
        "value is 513 characters; the limit is 512\n"
        "    hint: shorten the value to at most 512 characters",
        "1 problem found.",
    ]
