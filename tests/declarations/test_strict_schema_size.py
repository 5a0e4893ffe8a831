"""The service's size limits of a strict schema: validate refuses one past each limit and
accepts one right at it (the limit is the service's, so off by one is a 400 or a refusal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistops import limits

from .helpers import run, write_project

pytestmark = pytest.mark.usefixtures("offline")


def strict_object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema as strict mode wants it."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def nested(levels: int) -> dict[str, Any]:
    """``levels`` objects, each the only property of the one around it."""
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = strict_object({"next": node})
    return node


def wide(properties: int) -> dict[str, Any]:
    """One object of ``properties`` string properties."""
    return strict_object({f"p{i}": {"type": "string"} for i in range(properties)})


def with_enum(values: int) -> dict[str, Any]:
    """One string property with ``values`` enum values."""
    return strict_object({"code": {"type": "string", "enum": [f"v{i}" for i in range(values)]}})


CASES = {
    "depth": (nested, limits.STRICT_SCHEMA_DEPTH_MAX, "levels of object nesting"),
    "properties": (wide, limits.STRICT_SCHEMA_PROPERTIES_MAX, "object properties in all"),
    "enum values": (with_enum, limits.STRICT_SCHEMA_ENUM_VALUES_MAX, "enum values in all"),
}


def validate(tmp_path: Path, schema: dict[str, Any]) -> Any:
    root = write_project(tmp_path / "p", {"functions/lookup.json": json.dumps(schema, indent=1)})
    return run("validate", "-C", root)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_strict_schema_at_the_limit_passes_and_one_past_it_is_refused(
    name: str, tmp_path: Path
) -> None:
    build, most, what = CASES[name]
    assert validate(tmp_path / "at", build(most)).exit_code == 0

    past = validate(tmp_path / "past", build(most + 1))

    assert past.exit_code == 1, past.output
    want = f"strict mode takes at most {most:,} {what}; this schema has {most + 1:,}"
    assert want in past.stderr, past.stderr
    assert "functions/lookup.json:" in past.stderr


def test_names_and_enum_values_have_a_character_budget(tmp_path: Path) -> None:
    # 1,000 enum values of 121 characters: within the count, past the 120,000 characters
    values = [f"{i:04d}".ljust(121, "x") for i in range(1000)]
    schema = strict_object({"code": {"type": "string", "enum": values}})

    result = validate(tmp_path, schema)

    assert result.exit_code == 1, result.output
    assert "at most 120,000 characters of names and enum values" in result.stderr


def test_the_limits_apply_to_strict_schemas_only(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"functions/lookup.json": json.dumps(nested(limits.STRICT_SCHEMA_DEPTH_MAX + 1))},
    )
    manifest = root / "assistants/helper/assistant.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("strict: true", "strict: false"),
        encoding="utf-8",
    )
    assert run("validate", "-C", root).exit_code == 0
