"""The JSON plan: the versioned contract CI scripts read."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from plan_builders import (
    PlanFactory,
    create_change,
    drift_change,
    duplicate_change,
    noop_change,
    orphan_change,
    replace_change,
    update_change,
)

from assistops.engine.plan import PHASES, Plan, ResourceChange, Step
from assistops.kinds.file import UploadFile
from assistops.kinds.vector_store import AttachFiles
from assistops.output import FORMAT_VERSION, plan_document, render_json
from assistops.output.plan_json import STEP_FIELDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"
# objects whose keys are data (request bodies, live fields), not part of the format
FREE_FORM = {
    "fingerprints",
    "resources[].after",
    "resources[].before",
    "resources[].changes[].before",
    "resources[].changes[].after",
    "steps[].body",
    "steps[].files",
    "steps[].attributes",
}


def key_paths(data: Any, prefix: str = "") -> set[str]:
    """Every key path in a document, lists written as ``[]``, free-form objects not entered."""
    out: set[str] = set()
    if prefix in FREE_FORM:
        return out
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            out |= key_paths(value, path)
    elif isinstance(data, list):
        for item in data:
            out |= key_paths(item, prefix + "[]")
    return out


def every_step_plan(plan_factory: PlanFactory) -> Plan:
    """A plan holding the upload and attach steps the fixtures do not make."""
    plan = plan_factory([create_change(), update_change(), replace_change(), orphan_change()])
    upload = UploadFile(
        address="file.handbook:docs/faq.md",
        path="docs/faq.md",
        sha256="ab" * 32,
        bytes=1234,
        filename="assistops--acme--prod--abababab--faq.md",
        serves=["file.handbook:docs/faq.md", "file.policies:docs/faq.md"],
    )
    attach = AttachFiles(
        address="vector_store.handbook",
        store="${vector_store.handbook}",
        files=[{"file_id": "${sha:" + "ab" * 32 + "}", "attributes": {"assistops_path": "x"}}],
    )
    return plan.model_copy(update={"steps": [upload, attach, *plan.steps]})


def test_top_level_fields(full_plan: Plan) -> None:
    doc = json.loads(render_json(full_plan))
    assert doc["format_version"] == FORMAT_VERSION == 1
    assert (doc["project"], doc["environment"], doc["provider"]) == ("acme", "prod", "local")
    assert doc["revision"] == "3f2a9c1"
    assert doc["config_digest"] == "d" * 16
    assert doc["summary"] == {"create": 1, "update": 2, "replace": 1, "delete": 2}
    assert doc["has_changes"] is True
    assert len(doc["resources"]) == 7  # unchanged ones too
    assert [s["op"] for s in doc["steps"]] == [s.op for s in full_plan.steps]


def test_resources_carry_flags_and_changes(full_plan: Plan) -> None:
    doc = json.loads(render_json(full_plan))
    by_id = {r["id"]: r for r in doc["resources"]}
    support = by_id["asst_support1"]
    assert support["breaking"] is True
    email = next(c for c in support["changes"] if c["path"].endswith("#/properties/email"))
    assert email == {
        "path": "tools.function:lookup_order.parameters#/properties/email",
        "before": {"type": "string"},
        "after": None,
        "breaking": "parameter 'email' removed",
    }
    assert by_id["asst_legacy1"]["orphan"] is True
    assert by_id["asst_legacy1"]["before"] == {"name": "Legacy", "model": "gpt-4"}
    assert by_id["asst_support2"]["duplicate"] is True
    assert by_id["vs_faq1"]["drift"] is True
    assert by_id["vs_pol1"]["action"] == "no-op"
    assert by_id["vs_handbook1"]["reasons"][0] == "the store expired"


def test_no_changes(empty_plan: Plan) -> None:
    doc = json.loads(render_json(empty_plan))
    assert doc["has_changes"] is False
    assert doc["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    assert doc["steps"] == []


def test_equal_plans_serialize_byte_identically(plan_factory: PlanFactory) -> None:
    def build() -> Plan:
        return plan_factory([drift_change(), create_change(), update_change(), orphan_change()])

    first, second = build(), build()
    assert first is not second
    assert render_json(first).encode() == render_json(second).encode()
    # key order of the inputs does not leak into the output
    shuffled = first.model_copy(
        update={"fingerprints": dict(reversed(list(first.fingerprints.items())))}
    )
    assert render_json(shuffled) == render_json(first)


def test_different_plans_serialize_differently(plan_factory: PlanFactory) -> None:
    assert render_json(plan_factory([create_change()])) != render_json(
        plan_factory([create_change("Other instructions.")])
    )


def test_the_document_reads_back_as_the_same_plan(
    full_plan: Plan, plan_factory: PlanFactory
) -> None:
    assert Plan.model_validate_json(render_json(full_plan)) == full_plan
    steps = every_step_plan(plan_factory)
    assert Plan.model_validate_json(render_json(steps)) == steps


def test_output_is_sorted_indented_json_with_a_final_newline(full_plan: Plan) -> None:
    text = render_json(full_plan)
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert plan_document(full_plan) == doc


def test_values_that_are_not_json_data_are_refused(plan_factory: PlanFactory) -> None:
    odd = ResourceChange(address="assistant.x", kind="assistant", action="create", after={"a": {1}})
    with pytest.raises(TypeError, match="not JSON data"):
        render_json(plan_factory([odd]))


def test_every_field_is_documented(full_plan: Plan, plan_factory: PlanFactory) -> None:
    documented = set(re.findall(r"^\| `([a-z0-9_.\[\]]+)` \|", DOC.read_text(), flags=re.M))
    emitted = key_paths(plan_document(full_plan)) | key_paths(
        plan_document(every_step_plan(plan_factory))
    )
    assert emitted - documented == set()
    # and nothing documented is missing from the output (steps vary by op: checked below)
    assert {p for p in documented - emitted if "." in p or "[]" in p} <= {
        f"steps[].{f}" for fields in STEP_FIELDS.values() for f in fields
    }


def test_every_step_type_is_part_of_the_format() -> None:
    union = typing.get_args(typing.get_args(Step)[0])
    models = {m.model_fields["op"].default: m for m in union}
    assert set(models) == set(STEP_FIELDS)
    assert {t.model_fields["op"].default for _, types in PHASES for t in types} == set(STEP_FIELDS)
    for op, model in models.items():
        # a field added to a step must be added to the format (and its documentation)
        assert set(model.model_fields) == {"op", "address", *STEP_FIELDS[op]}, op
    doc = DOC.read_text()
    for op, fields in STEP_FIELDS.items():
        row = f"| `{op}` | " + ", ".join(f"`{f}`" for f in fields) + " |"
        assert row in doc, row


def test_step_fields_in_the_document(plan_factory: PlanFactory) -> None:
    doc = plan_document(every_step_plan(plan_factory))
    upload = doc["steps"][0]
    assert upload == {
        "op": "upload_file",
        "address": "file.handbook:docs/faq.md",
        "path": "docs/faq.md",
        "sha256": "ab" * 32,
        "bytes": 1234,
        "filename": "assistops--acme--prod--abababab--faq.md",
        "serves": ["file.handbook:docs/faq.md", "file.policies:docs/faq.md"],
    }
    assert doc["steps"][1]["detach_first"] == []


def test_duplicates_and_noops_are_listed(plan_factory: PlanFactory) -> None:
    doc = plan_document(plan_factory([duplicate_change(), noop_change()]))
    assert [(r["action"], r["duplicate"]) for r in doc["resources"]] == [
        ("delete", True),
        ("no-op", False),
    ]
