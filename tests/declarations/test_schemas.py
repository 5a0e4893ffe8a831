"""The published JSON Schemas in schemas/: current, valid, used by the example files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from assistops.config.yamlio import parse_yaml
from assistops.schemas import SCHEMAS, render_all

from .helpers import EXAMPLE, REPO, SCHEMA_DIR

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")

# every YAML declaration of the example project, with the schema it must name
EXAMPLE_FILES = {
    "assistops.yaml": "project.schema.json",
    **{
        p.relative_to(EXAMPLE).as_posix(): "assistant.schema.json"
        for p in sorted(EXAMPLE.glob("*/assistant.yaml"))
    },
    **{
        p.relative_to(EXAMPLE).as_posix(): "vector-store.schema.json"
        for p in sorted(EXAMPLE.glob("knowledge/*.yaml"))
    },
    **{
        p.relative_to(EXAMPLE).as_posix(): "conversation-test.schema.json"
        for p in sorted(EXAMPLE.glob("*/tests/*.yaml"))
    },
}


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = parse_yaml((SCHEMA_DIR / name).read_text(encoding="utf-8"), name).data
    return data


def test_committed_schemas_match_the_models() -> None:
    expected = render_all()

    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}

    assert sorted(committed) == sorted(expected), "run scripts/generate_schemas.py"
    for name, text in expected.items():
        assert committed[name] == text, f"schemas/{name} is stale: run scripts/generate_schemas.py"


def test_the_script_writes_what_render_all_returns(tmp_path: Path) -> None:
    # run a copy, so the script's "schemas/ beside scripts/" lands in tmp_path
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "generate_schemas.py", tmp_path / "scripts")

    done = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "generate_schemas.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "schemas").iterdir()}
    assert written == render_all()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schemas_are_valid_draft_2020_12(name: str) -> None:
    published = schema(name)

    Draft202012Validator.check_schema(published)
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert published["additionalProperties"] is False  # unknown keys are flagged in editors


def test_every_example_file_is_listed() -> None:
    yaml_files = {p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*.yaml")}

    assert yaml_files == set(EXAMPLE_FILES)
    assert len([s for s in EXAMPLE_FILES.values() if s == "assistant.schema.json"]) >= 3


@pytest.mark.parametrize(("rel", "schema_name"), sorted(EXAMPLE_FILES.items()))
def test_example_files_name_their_schema(rel: str, schema_name: str) -> None:
    path = EXAMPLE / rel
    first = path.read_text(encoding="utf-8").splitlines()[0]

    match = MODELINE.match(first)
    assert match, f"{rel} does not start with a yaml-language-server schema comment"
    target = (path.parent / match.group(1)).resolve()
    assert target.is_file(), f"{rel} points at {match.group(1)}, which does not exist"
    assert target == (SCHEMA_DIR / schema_name).resolve()


@pytest.mark.parametrize(("rel", "schema_name"), sorted(EXAMPLE_FILES.items()))
def test_example_files_validate_against_the_published_schemas(rel: str, schema_name: str) -> None:
    data = parse_yaml((EXAMPLE / rel).read_text(encoding="utf-8"), rel).data
    validator = Draft202012Validator(schema(schema_name))

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]

    assert errors == []


@pytest.mark.parametrize(
    ("schema_name", "document", "where"),
    [
        ("project.schema.json", {"project": "demo", "environmnets": {}}, []),
        ("project.schema.json", {"project": "Demo Project"}, ["project"]),
        (
            "project.schema.json",
            {"project": "demo", "environments": {"prod": {"provider": "anthropic"}}},
            ["environments", "prod", "provider"],
        ),
        ("assistant.schema.json", {"temperature": "warm"}, ["temperature"]),
        ("assistant.schema.json", {"tools": [{"function": {"description": "x"}}]}, None),
        ("assistant.schema.json", {"metadata": {"version": 1.1}}, ["metadata"]),
        ("vector-store.schema.json", {"files": "knowledge/*.md"}, ["files"]),
        ("vector-store.schema.json", {"chunking": "semantic"}, ["chunking"]),
    ],
)
def test_published_schemas_reject_bad_documents(
    schema_name: str, document: dict[str, Any], where: list[str] | None
) -> None:
    errors = list(Draft202012Validator(schema(schema_name)).iter_errors(document))

    assert errors
    if where is not None:
        assert list(errors[0].absolute_path) == where
