"""The vendored OpenAPI subset is a valid document, documented, and reproducible."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from contract.scripts import load_script
from openapi_spec_validator import validate

HERE = Path(__file__).parent
SUBSET = HERE / "openapi-subset.json"
# the full description is not part of the repository; CI skips the regeneration check
SOURCE = Path(os.environ.get("ASSISTOPS_OPENAPI_SOURCE", "/work/shared/openai-openapi.yaml"))


def _script() -> ModuleType:
    return load_script("vendor_openapi")


@pytest.fixture(scope="module")
def subset() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SUBSET.read_text(encoding="utf-8"))
    return document


def test_subset_passes_openapi_spec_validator(subset: dict[str, Any]) -> None:
    validate(subset)


def test_subset_covers_the_protocol_paths_and_nothing_else(subset: dict[str, Any]) -> None:
    prefixes = ("/assistants", "/files", "/vector_stores", "/threads")
    responses = {"/responses": {"post"}, "/responses/{response_id}": {"get", "delete"}}
    assert all(path.startswith(prefixes) or path in responses for path in subset["paths"])
    for prefix in prefixes:
        assert any(path.startswith(prefix) for path in subset["paths"]), prefix
    for path, methods in responses.items():
        assert set(subset["paths"][path]) - {"parameters"} == methods, path
    text = SUBSET.read_text(encoding="utf-8")
    assert '"x-oaiMeta"' not in text
    assert '"nullable"' not in text


def test_every_reference_resolves(subset: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(subset):
        node: Any = subset
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"dangling {ref}"
            node = node[part]


def test_every_patch_is_recorded_and_documented(subset: dict[str, Any]) -> None:
    script = _script()
    recorded = [p["id"] for p in subset["x-assistops-patches"]]
    assert recorded == [p.id for p in script.PATCHES]
    doc = (HERE / "KNOWN_DEVIATIONS.md").read_text(encoding="utf-8")
    for patch_id in recorded:
        assert f"`{patch_id}`" in doc, f"{patch_id} is not explained in KNOWN_DEVIATIONS.md"
    assert subset["x-assistops-source"]["commit"] in doc
    assert (
        (HERE / "LICENSE-openai-openapi").read_text(encoding="utf-8").startswith("The MIT License")
    )


def test_nullable_patch_handles_the_three_forms() -> None:
    script = _script()
    doc = {
        "paths": {},
        "components": {
            "schemas": {
                "A": {"type": "string", "nullable": True, "description": "d"},
                "B": {"allOf": [{"$ref": "#/components/schemas/A"}, {"nullable": True}]},
                "C": {"$ref": "#/components/schemas/A", "nullable": True},
                "D": {"type": "integer", "nullable": False},
            }
        },
    }
    assert script.patch_nullable(doc) == 4
    schemas = doc["components"]["schemas"]
    null = {"type": "null"}
    assert schemas["A"] == {"description": "d", "anyOf": [{"type": "string"}, null]}
    assert schemas["B"] == {"anyOf": [{"$ref": "#/components/schemas/A"}, null]}
    assert schemas["C"] == {"anyOf": [{"$ref": "#/components/schemas/A"}, null]}
    assert schemas["D"] == {"type": "integer"}


@pytest.mark.skipif(not SOURCE.exists(), reason=f"full description not at {SOURCE}")
def test_subset_is_reproducible_from_the_source() -> None:
    script = _script()
    assert script.main([str(SOURCE), "--out", str(SUBSET), "--check"]) == 0
