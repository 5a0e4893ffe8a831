"""Environments are what the project declares: no implicit ``local``; ``-e`` defaults to the
first one declared (or $ASSISTOPS_ENV)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import run


@pytest.fixture
def dev_only(project: Path) -> Path:
    """The init project with its one environment named dev instead of local."""
    config = project / "assistops.yaml"
    config.write_text(config.read_text().replace("  local:\n", "  dev:\n"))
    return project


def test_a_project_with_only_dev_validates_cleanly(dev_only: Path) -> None:
    result = run("validate", "-C", dev_only)

    assert result.exit_code == 0, result.output
    assert result.stdout == "demo: valid in 1 environment (dev)\n"
    assert result.stderr == ""


def test_a_project_with_only_dev_plans_it_without_e(dev_only: Path) -> None:
    result = run("plan", "-C", dev_only, "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["environment"] == "dev"


def test_an_undeclared_local_does_not_exist(dev_only: Path) -> None:
    result = run("plan", "-C", dev_only, "-e", "local")

    assert result.exit_code == 1
    assert "no environment named 'local'" in result.stderr
    assert "use one of: dev" in result.stderr


def test_unknown_environment_offers_only_the_declared_ones(dev_only: Path) -> None:
    result = run("plan", "-C", dev_only, "-e", "deb")

    assert result.exit_code == 1
    assert "hint: did you mean 'dev'? use one of: dev" in result.stderr
    assert "local" not in result.stderr


def test_e_defaults_to_the_first_declared_environment(project: Path) -> None:
    config = project / "assistops.yaml"
    config.write_text(
        config.read_text().replace(
            "environments:\n",
            "environments:\n  sandbox:\n    provider: local\n"
            "    variables: {greeting: Hi from the sandbox}\n",
        )
    )

    default = run("render", "-C", project, "--format", "json", "assistant")
    chosen = run("render", "-C", project, "--format", "json", "assistant", "-e", "local")
    by_variable = run(
        "render", "-C", project, "--format", "json", "assistant", env={"ASSISTOPS_ENV": "local"}
    )

    assert default.exit_code == chosen.exit_code == by_variable.exit_code == 0
    assert "Hi from the sandbox" in json.loads(default.stdout)[0]["body"]["instructions"]
    assert "Hello from the local" in json.loads(chosen.stdout)[0]["body"]["instructions"]
    assert json.loads(by_variable.stdout) == json.loads(chosen.stdout)


def test_a_project_without_environments_says_how_to_declare_one(project: Path) -> None:
    config = project / "assistops.yaml"
    text = config.read_text()
    config.write_text(text[: text.index("# The environments")])

    checked = run("validate", "-C", project)
    planned = run("plan", "-C", project)

    assert checked.exit_code == planned.exit_code == 1
    for result in (checked, planned):
        assert "no environment is declared" in result.stderr
        assert "environments: {local: {provider: local}}" in result.stderr


def test_render_no_longer_requires_e(project: Path) -> None:
    result = run("render", "-C", project, "docs")

    assert result.exit_code == 0, result.output
    assert "address: vector_store.docs" in result.stdout
