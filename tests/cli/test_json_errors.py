"""With ``--format json`` an error is a JSON document on stdout too (docs/cli.md), for
validate, plan, apply and status alike; the message stays on stderr for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import run

SHAPE = {"error", "exit_code"}


def error_of(stdout: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(stdout)
    assert set(doc) >= SHAPE
    assert doc["exit_code"] == 1
    assert set(doc["error"]) == {"code", "message", "problems"}
    return doc


@pytest.mark.parametrize("args", [["validate"], ["plan"], ["apply", "--auto-approve"], ["status"]])
def test_bad_declarations_are_a_json_error(project: Path, args: list[str]) -> None:
    (project / "assistants" / "assistant" / "assistant.yaml").write_text(
        "name: assistant\nmodle: x\n"
    )

    result = run(args[0], "-C", project, "--format", "json", *args[1:])

    assert result.exit_code == 1
    doc = error_of(result.stdout)
    assert doc["error"]["code"] == "config"
    (problem,) = doc["error"]["problems"]
    assert problem == {
        "file": "assistants/assistant/assistant.yaml",
        "line": 2,
        "field": "modle",
        "message": "unknown key 'modle'",
        "hint": "did you mean 'model'?",
    }
    assert "modle" in result.stderr  # and people still read it on stderr


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "status"])
def test_an_unknown_environment_is_a_json_error(project: Path, command: str) -> None:
    extra = ["--auto-approve"] if command == "apply" else []
    result = run(command, "-C", project, "--format", "json", "-e", "nope", *extra)

    assert result.exit_code == 1
    doc = error_of(result.stdout)
    assert doc["error"]["problems"][0]["message"] == "no environment named 'nope'"


def test_no_project_is_a_json_error(tmp_path: Path) -> None:
    result = run("plan", "-C", tmp_path, "--format", "json")

    assert result.exit_code == 1
    assert "no assistops.yaml" in error_of(result.stdout)["error"]["message"]


def test_a_plan_error_has_its_code(project: Path) -> None:
    result = run("plan", "-C", project, "--format", "json", "--target", "nothing")

    assert result.exit_code == 1
    doc = error_of(result.stdout)
    assert doc["error"]["code"] == "plan"
    assert doc["error"]["message"].startswith("unknown target nothing")


def test_apply_json_without_auto_approve_is_a_usage_error(project: Path) -> None:
    result = run("apply", "-C", project, "--format", "json")

    assert result.exit_code == 1
    assert error_of(result.stdout)["error"]["code"] == "usage"


def test_apply_and_status_in_json(project: Path) -> None:
    applied = run("apply", "-C", project, "--format", "json", "--auto-approve")
    status = run("status", "-C", project, "--format", "json")

    assert applied.exit_code == status.exit_code == 0, applied.output
    doc = json.loads(applied.stdout)
    assert (doc["command"], doc["applied"], doc["verified"]) == ("apply", True, True)
    assert doc["summary"] == {"create": 3, "update": 0, "replace": 0, "delete": 0}
    assert doc["plan"]["environment"] == "local"
    state = json.loads(status.stdout)
    assert state["in_sync"] is True
    assert {r["state"] for r in state["resources"]} == {"in sync"}
    assert len(state["resources"]) == 3
