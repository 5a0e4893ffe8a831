"""``assistops init``: a new project that validates out of the box, and nothing overwritten."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from .helpers import run

pytestmark = pytest.mark.usefixtures("offline")

SKELETON_FILES = {
    ".gitignore",
    "assistops.yaml",
    "assistants/assistant/assistant.yaml",
    "assistants/assistant/instructions.md.j2",
    "functions/get_weather.json",
    "knowledge/docs.yaml",
    "knowledge/docs/getting-started.md",
    "partials/style.md.j2",
    "schemas/conversation-test.schema.json",
    "schemas/assistant.schema.json",
    "schemas/project.schema.json",
    "schemas/vector-store.schema.json",
}


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_then_validate_passes(tmp_path: Path) -> None:
    folder = tmp_path / "My Assistants"

    result = run("init", folder)

    assert result.exit_code == 0, result.output
    assert files_under(folder) == SKELETON_FILES
    assert f"Next: cd {shlex.quote(str(folder))} && assistops validate" in result.stdout
    check = run("validate", "-C", folder)
    assert check.exit_code == 0, check.output
    # the project is named after the folder
    assert check.stdout == "my-assistants: valid in 1 environment (local)\n"


def test_the_new_project_renders_for_local(tmp_path: Path) -> None:
    run("init", tmp_path, "--name", "weather")

    result = run("render", "-C", tmp_path, "-e", "local", "--format", "json")

    assert result.exit_code == 0, result.output
    payloads = json.loads(result.stdout)
    assistant = next(p["body"] for p in payloads if p["address"] == "assistant.assistant")
    assert assistant["metadata"]["assistops"] == "weather/local/assistant.assistant"
    assert "Hello from the local environment" in assistant["instructions"]
    assert assistant["tool_resources"] == {
        "file_search": {"vector_store_ids": ["${vector_store.docs}"]}
    }
    assert [t["function"]["name"] for t in assistant["tools"] if t["type"] == "function"] == [
        "get_weather"
    ]


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run("init", tmp_path).exit_code == 0
    mine = tmp_path / "assistops.yaml"
    mine.write_text("project: mine\n", encoding="utf-8")

    result = run("init", tmp_path)

    assert result.exit_code == 1
    assert "refusing to overwrite existing files" in result.stderr
    assert f"{tmp_path / 'assistops.yaml'}" in result.stderr
    assert mine.read_text(encoding="utf-8") == "project: mine\n"


def test_init_refuses_when_any_one_file_exists_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "style.md.j2").write_text("mine\n", encoding="utf-8")

    result = run("init", tmp_path)

    assert result.exit_code == 1
    assert files_under(tmp_path) == {"partials/style.md.j2"}


def test_init_keeps_unrelated_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# mine\n", encoding="utf-8")

    assert run("init", tmp_path, "--name", "demo").exit_code == 0
    assert files_under(tmp_path) == SKELETON_FILES | {"README.md"}


def test_init_refuses_an_invalid_name(tmp_path: Path) -> None:
    result = run("init", tmp_path / "x", "--name", "Bad Name")

    assert result.exit_code == 1
    assert "'Bad Name' is not a valid project name" in result.stderr
    assert not (tmp_path / "x").exists()
