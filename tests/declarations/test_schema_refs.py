"""``$ref`` in function and response-format schemas: resolved at render time, or refused.

The service never fetches a ``$ref``, so what render prints (and plan diffs, and apply sends)
must be self-contained: a ref to another project file is copied into the root's ``$defs`` and
rewritten to ``#/$defs/<name>``; internal refs stay as written. The failing cases are in the
bad-input corpus (``bad_inputs/schema-ref-*.yaml``); here: what is sent, and that it is diffed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import EXAMPLE, reported, run, write_project

# no key, no network; only the plan test runs the embedded backend (a loopback server)
offline = pytest.mark.usefixtures("offline")

LOOKUP = """\
{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "ship_to": {"$ref": "common/address.json"},
    "bill_to": {"$ref": "common/address.json"}
  },
  "required": ["id", "ship_to", "bill_to"],
  "additionalProperties": false
}
"""

# a referenced file with an internal ref of its own, and a ref to a third file (YAML)
ADDRESS = """\
{
  "type": "object",
  "properties": {
    "street": {"type": "string"},
    "country": {"$ref": "#/$defs/Country"}
  },
  "required": ["street", "country"],
  "additionalProperties": false,
  "$defs": {
    "Country": {"$ref": "codes.yaml#/$defs/CountryCode"}
  }
}
"""

CODES = """\
$defs:
  CountryCode:
    type: string
    enum: [DE, FR]
"""


def parameters(root: Path, env: str = "local") -> dict[str, Any]:
    """The parameters render prints for the helper's ``lookup`` function."""
    result = run("render", "-C", root, "-e", env, "--format", "json", "helper")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)[0]["body"]
    function = next(t["function"] for t in body["tools"] if t["type"] == "function")
    params: dict[str, Any] = function["parameters"]
    return params


def refs_project(tmp_path: Path, **extra: str) -> Path:
    files = {
        "functions/lookup.json": LOOKUP,
        "functions/common/address.json": ADDRESS,
        "functions/common/codes.yaml": CODES,
        **extra,
    }
    return write_project(tmp_path, files)


@offline
def test_file_refs_are_collected_into_defs_and_rewritten(tmp_path: Path) -> None:
    root = refs_project(tmp_path)

    assert run("validate", "-C", root).exit_code == 0
    params = parameters(root)

    # the ref written twice is copied once; nested refs (an internal one inside the referenced
    # file, and one to a third, YAML, file) are collected too
    assert params["properties"]["ship_to"] == {"$ref": "#/$defs/address"}
    assert params["properties"]["bill_to"] == {"$ref": "#/$defs/address"}
    assert params["$defs"] == {
        "address": {
            "type": "object",
            "properties": {
                "street": {"type": "string"},
                "country": {"$ref": "#/$defs/Country"},
            },
            "required": ["street", "country"],
            "additionalProperties": False,
        },
        "Country": {"$ref": "#/$defs/CountryCode"},
        "CountryCode": {"type": "string", "enum": ["DE", "FR"]},
    }
    # self-contained: every ref left is internal and points at something
    text = json.dumps(params)
    assert '"$ref": "common/' not in text and "codes.yaml" not in text


@offline
def test_render_yaml_shows_the_resolved_schema(tmp_path: Path) -> None:
    root = refs_project(tmp_path)

    result = run("render", "-C", root, "-e", "local", "helper")

    assert result.exit_code == 0, result.output
    assert "$ref: '#/$defs/address'" in result.stdout
    assert "common/address.json" not in result.stdout


@offline
def test_a_schema_without_file_refs_is_sent_exactly_as_written() -> None:
    # nothing changes for schemas that need no resolving: same payload, same digest
    result = run("render", "-C", EXAMPLE, "-e", "local", "--format", "json", "support")
    body = json.loads(result.stdout)[0]["body"]
    lookup = next(t["function"] for t in body["tools"] if t["type"] == "function")

    written = json.loads((EXAMPLE / "functions/lookup_order.json").read_text(encoding="utf-8"))
    assert lookup["parameters"] == written
    assert list(lookup["parameters"]) == list(written)


@offline
def test_internal_refs_are_kept_and_collected_names_never_clash(tmp_path: Path) -> None:
    lookup = """\
{
  "type": "object",
  "properties": {
    "mine": {"$ref": "#/$defs/Address"},
    "theirs": {"$ref": "common/other.json#/$defs/Address"},
    "again": {"$ref": "lookup.json#/$defs/Address"},
    "whole": {"$ref": "common/other.json"},
    "twin": {"$ref": "common/more/other.json"}
  },
  "required": ["mine", "theirs", "again", "whole", "twin"],
  "additionalProperties": false,
  "$defs": {"Address": {"type": "string"}}
}
"""
    # a whole file is copied without its own $id, $schema and $defs (collected as used)
    other = """\
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://example.com/other.json",
  "type": "array",
  "items": {"$ref": "#/$defs/Address"},
  "$defs": {"Address": {"type": "integer"}}
}
"""
    root = refs_project(
        tmp_path,
        **{
            "functions/lookup.json": lookup,
            "functions/common/other.json": other,
            "functions/common/more/other.json": '{"type": "boolean"}\n',
        },
    )

    params = parameters(root)

    assert params["properties"] == {
        "mine": {"$ref": "#/$defs/Address"},  # the root's own: kept as written
        "theirs": {"$ref": "#/$defs/other_Address"},  # Address is taken: prefixed by its file
        "again": {"$ref": "#/$defs/Address"},  # a ref to the root file by name is internal
        "whole": {"$ref": "#/$defs/other"},
        "twin": {"$ref": "#/$defs/other_2"},  # another other.json: numbered
    }
    assert params["$defs"] == {
        "Address": {"type": "string"},
        "other_Address": {"type": "integer"},
        "other": {"type": "array", "items": {"$ref": "#/$defs/other_Address"}},
        "other_2": {"type": "boolean"},
    }


@offline
def test_recursion_across_files_is_kept_finite_in_defs(tmp_path: Path) -> None:
    # node.json and leaf.json refer to each other through properties: a legal recursive schema
    node = """\
{
  "type": "object",
  "properties": {"children": {"type": "array", "items": {"$ref": "leaf.json"}}},
  "required": ["children"],
  "additionalProperties": false
}
"""
    leaf = """\
{
  "type": "object",
  "properties": {"parent": {"anyOf": [{"$ref": "node.json"}, {"type": "null"}]}},
  "required": ["parent"],
  "additionalProperties": false
}
"""
    lookup = """\
{
  "type": "object",
  "properties": {"tree": {"$ref": "tree/node.json"}},
  "required": ["tree"],
  "additionalProperties": false
}
"""
    root = write_project(
        tmp_path,
        {
            "functions/lookup.json": lookup,
            "functions/tree/node.json": node,
            "functions/tree/leaf.json": leaf,
        },
    )

    assert run("validate", "-C", root).exit_code == 0
    params = parameters(root)

    assert params["properties"]["tree"] == {"$ref": "#/$defs/node"}
    assert params["$defs"]["node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/leaf"}
    assert params["$defs"]["leaf"]["properties"]["parent"]["anyOf"][0] == {"$ref": "#/$defs/node"}
    assert set(params["$defs"]) == {"node", "leaf"}


@offline
def test_a_ref_loop_between_files_is_refused_and_render_prints_nothing(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "functions/lookup.json": LOOKUP.replace("common/address.json", "a.json"),
            "functions/a.json": '{"$ref": "b.json"}\n',
            "functions/b.json": '{"allOf": [{"$ref": "a.json"}]}\n',
        },
    )

    result = run("render", "-C", root, "-e", "local")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        "functions/b.json:1: tools[1].function.parameters.$defs.b.allOf[0].$ref: $ref cycle that "
        "never reaches a schema: functions/a.json -> functions/b.json -> functions/a.json"
    ) in result.stderr


@offline
def test_a_missing_file_is_refused_by_validate_render_and_plan(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"functions/lookup.json": LOOKUP})
    where = "functions/lookup.json:5: tools[1].function.parameters.properties.ship_to.$ref: "
    message = (
        "$ref 'common/address.json': schema file 'functions/common/address.json' does not exist"
    )

    validate = run("validate", "-C", root)
    render = run("render", "-C", root, "-e", "local")
    plan = run("plan", "-C", root, "-e", "local")

    # one problem per place the missing file is named, each at its own line
    assert reported(validate)[:2] == [
        where + message + "\n    hint: a $ref path is relative to the file it is written in "
        "(functions/lookup.json); fix the path or add the file",
        where.replace(":5:", ":6:").replace("ship_to", "bill_to")
        + message
        + "\n    hint: a $ref path is relative to the file it is written in "
        "(functions/lookup.json); fix the path or add the file",
    ]
    # offline: had plan read live state, the test would have failed on the connection
    for result in (validate, render, plan):
        assert result.exit_code == 1
        assert where + message in result.stderr
    assert render.stdout == ""


@offline
def test_a_missing_fragment_names_what_the_file_holds(tmp_path: Path) -> None:
    root = refs_project(
        tmp_path, **{"functions/common/address.json": ADDRESS.replace("#/$defs/Country", "#/x")}
    )

    result = run("validate", "-C", root)

    assert result.exit_code == 1
    assert reported(result)[:-1] == [
        "functions/common/address.json:5: tools[1].function.parameters.$defs.address.properties."
        "country.$ref: $ref '#/x' points at nothing: functions/common/address.json has no '/x'"
        "\n    hint: keys at the top level: type, properties, required, additionalProperties, $defs"
    ]


@offline
@pytest.mark.parametrize(
    "ref",
    ["http://schemas.example.com/address.json", "https://example.com/a.json#/$defs/A", "//x/y"],
)
def test_a_remote_ref_is_refused_offline(tmp_path: Path, ref: str) -> None:
    root = write_project(
        tmp_path,
        {"functions/lookup.json": LOOKUP.replace('"common/address.json"', json.dumps(ref), 1)},
    )

    result = run("validate", "-C", root, "--format", "json")

    problems = json.loads(result.stdout)["problems"]
    remote = [p for p in problems if "is a URL" in p["message"]]
    assert remote == [
        {
            "file": "functions/lookup.json",
            "line": 5,
            "field": "tools[1].function.parameters.properties.ship_to.$ref",
            "message": f"$ref '{ref}' is a URL: remote schemas are not fetched (nor would the "
            "service fetch them)",
            "hint": "save the schema in the project and refer to it by a path relative to this "
            "file, like common/address.json",
        }
    ]


@offline
def test_inline_schemas_resolve_refs_relative_to_the_yaml_file(tmp_path: Path) -> None:
    assistant = """\
name: helper
tools:
  - function:
      name: lookup
      strict: true
      parameters:
        type: object
        properties:
          ship_to: {$ref: ../../functions/common/address.json}
        required: [ship_to]
        additionalProperties: false
response_format:
  json_schema:
    name: answer
    strict: true
    schema:
      type: object
      properties:
        country: {$ref: "../../functions/common/codes.yaml#/$defs/CountryCode"}
      required: [country]
      additionalProperties: false
"""
    root = refs_project(tmp_path, **{"assistants/helper/assistant.yaml": assistant})

    result = run("render", "-C", root, "-e", "local", "--format", "json", "helper")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)[0]["body"]
    params = body["tools"][0]["function"]["parameters"]
    assert params["properties"]["ship_to"] == {"$ref": "#/$defs/address"}
    assert set(params["$defs"]) == {"address", "Country", "CountryCode"}
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["country"] == {"$ref": "#/$defs/CountryCode"}
    assert schema["$defs"] == {"CountryCode": {"type": "string", "enum": ["DE", "FR"]}}


def test_editing_a_referenced_file_shows_in_plan(tmp_path: Path) -> None:
    root = refs_project(tmp_path)
    applied = run("apply", "-C", root, "-e", "local", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert run("plan", "-C", root, "-e", "local", "--detailed-exitcode").exit_code == 0

    (root / "functions/common/codes.yaml").write_text(CODES.replace("FR]", "FR, IT]"))
    result = run("plan", "-C", root, "-e", "local", "--format", "json")

    assert result.exit_code == 0, result.output
    (change,) = [r for r in json.loads(result.stdout)["resources"] if r["action"] != "no-op"]
    assert change["address"] == "assistant.helper"
    assert [c["path"] for c in change["changes"]] == [
        "tools.function:lookup.parameters#/$defs/CountryCode/enum/2"
    ]


REFS = st.one_of(
    st.text(alphabet="ab./#$%~:[]?-_0 \\", max_size=16),
    st.sampled_from(
        [
            "#",
            "#/$defs/X",
            "#/properties",
            "a.json",
            "a.json#/$defs/X",
            "b.json#",
            "b.json#/allOf/0",
            "lookup.json#/$defs/X",
            "../functions/a.json",
            "http://[",
        ]
    ),
)
SCHEMAS = st.recursive(
    st.builds(lambda r: {"$ref": r}, REFS) | st.just({"type": "string"}),
    lambda inner: (
        st.builds(lambda xs: {"allOf": xs}, st.lists(inner, max_size=3))
        | st.builds(lambda d: {"$defs": d}, st.dictionaries(st.sampled_from(["X", "Y"]), inner))
        | st.builds(
            lambda p: {"type": "object", "properties": p}, st.dictionaries(st.text(), inner)
        )
    ),
    max_leaves=8,
)


@offline
@settings(max_examples=60, deadline=None)
@given(lookup=SCHEMAS, a=SCHEMAS, b=SCHEMAS)
def test_resolving_never_crashes_or_hangs(
    lookup: dict[str, Any],
    a: dict[str, Any],
    b: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_project(
        tmp_path_factory.mktemp("refs"),
        {
            "functions/lookup.json": json.dumps({"type": "object", **lookup}),
            "functions/a.json": json.dumps(a),
            "functions/b.json": json.dumps(b),
        },
    )

    result = run("validate", "-C", root)  # an exception would escape CliRunner here

    assert result.exit_code in (0, 1)
