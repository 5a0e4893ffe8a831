"""``assistops validate``: offline, every environment, every problem at once."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistops import limits
from assistops.kinds.tags import RESERVED_METADATA

from .helpers import BASE, EXAMPLE, reported, run, write_project

pytestmark = pytest.mark.usefixtures("offline")


def test_the_offline_guard_refuses_connections() -> None:
    # the guard behind every test here: if it let a connection through, "offline" would be a claim
    with pytest.raises(AssertionError, match="network connection"):
        socket.create_connection(("127.0.0.1", 9))


def test_example_project_is_valid_in_every_environment_without_keys() -> None:
    result = run("validate", "-C", EXAMPLE)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "acme-support: valid in 5 environments "
        "(local, local-agents, local-responses, staging, prod)\n"
    )
    assert result.stderr == ""


def test_env_option_selects_environments() -> None:
    one = run("validate", "-C", EXAMPLE, "-e", "prod")
    two = run("validate", "-C", EXAMPLE, "-e", "local", "-e", "staging")

    assert one.exit_code == 0
    assert one.stdout == "acme-support: valid in 1 environment (prod)\n"
    assert two.stdout == "acme-support: valid in 2 environments (local, staging)\n"


def test_env_option_checks_only_that_environment(tmp_path: Path) -> None:
    # greeting exists only in prod: local fails, prod alone passes
    project = BASE["assistops.yaml"].replace(
        "    variables:\n      greeting: Hello from local\n", ""
    )
    root = write_project(tmp_path, {"assistops.yaml": project})

    assert run("validate", "-C", root, "-e", "prod").exit_code == 0
    local = run("validate", "-C", root, "-e", "local")
    assert local.exit_code == 1
    assert "'greeting' is undefined" in local.stderr
    assert "(in environment" not in local.stderr  # only one environment was checked


def test_unknown_environment_is_a_clear_error() -> None:
    result = run("validate", "-C", EXAMPLE, "-e", "production")

    assert result.exit_code == 1
    assert reported(result) == [
        "assistops.yaml:22: environments: no environment named 'production'\n"
        "    hint: use one of: local, local-agents, local-responses, staging, prod",
        "1 problem found.",
    ]


def test_validate_finds_the_project_from_a_subfolder() -> None:
    result = run("validate", "-C", EXAMPLE / "support")

    assert result.exit_code == 0
    assert result.stdout.startswith("acme-support: valid")


def test_no_project_is_a_clear_error(tmp_path: Path) -> None:
    result = run("validate", "-C", tmp_path)

    assert result.exit_code == 1
    assert "no assistops.yaml here or in any parent folder" in result.stderr
    assert "hint: run 'assistops init'" in result.stderr


def test_every_problem_across_files_is_reported_in_one_run(tmp_path: Path) -> None:
    # a value out of range is left out so that the rest of its declaration is still rendered:
    # helper's temperature, its template and its function schema are all reported
    root = write_project(
        tmp_path,
        {
            "assistops.yaml": BASE["assistops.yaml"].replace(
                "https://assistants.demo.example/v1", "assistants.demo.example"
            ),
            "assistants/helper/assistant.yaml": BASE["assistants/helper/assistant.yaml"]
            + "temperature: 3\n",
            "assistants/helper/instructions.md.j2": "Hi {{ custmer }}.\n",
            "assistants/other/assistant.yaml": "description: " + "d" * 600 + "\n",
            "knowledge/docs.yaml": "files:\n  - knowledge/docs/*.txt\n",
            "functions/lookup.json": BASE["functions/lookup.json"].replace(
                '  "additionalProperties": false\n', '  "additionalProperties": true\n'
            ),
        },
    )

    result = run("validate", "-C", root)

    assert result.exit_code == 1
    assert [p.split("\n")[0] for p in reported(result)] == [
        "assistants/helper/assistant.yaml:12: temperature: 3 is out of range",
        "assistants/helper/instructions.md.j2:1: instructions: undefined template variable: "
        "'custmer' is undefined",
        "assistants/other/assistant.yaml:1: description: 600 characters; the limit is 512",
        "assistops.yaml:13: environments.prod.base_url: 'assistants.demo.example' is not an "
        "http(s) URL",
        "functions/lookup.json:7: tools[1].function.parameters.additionalProperties: strict "
        "mode needs "
        "'additionalProperties: false' on every object",
        "knowledge/docs.yaml:2: files[0]: 'knowledge/docs/*.txt' matches no file",
        "6 problems found.",
    ]


def test_json_report() -> None:
    result = run("validate", "-C", EXAMPLE, "--format", "json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "valid": True,
        "project": "acme-support",
        "environments": ["local", "local-agents", "local-responses", "staging", "prod"],
        "problems": [],
    }


def test_values_at_the_limits_are_valid(tmp_path: Path) -> None:
    keys = "".join(
        f"  k{i}: v\n" for i in range(limits.METADATA_MAX_KEYS - len(RESERVED_METADATA) - 1)
    )
    assistant = (
        "name: helper\n"
        f"display_name: {'n' * limits.ASSISTANT_NAME_MAX}\n"
        f"description: {'d' * limits.ASSISTANT_DESCRIPTION_MAX}\n"
        f"instructions: \"{{{{ 'x' * {limits.INSTRUCTIONS_MAX} }}}}\"\n"
        "temperature: 2\n"
        "top_p: 0\n"
        "tools:\n"
        "  - file_search: {vector_store: docs, max_num_results: 50}\n"
        "metadata:\n"
        f"  {'k' * limits.METADATA_KEY_MAX}: {'v' * limits.METADATA_VALUE_MAX}\n" + keys
    )
    store = (
        "files: [knowledge/docs/*.md]\n"
        "chunking: {max_chunk_size_tokens: 4096, chunk_overlap_tokens: 2048}\n"
        "expires_after_days: 365\n"
    )
    root = write_project(
        tmp_path, {"assistants/helper/assistant.yaml": assistant, "knowledge/docs.yaml": store}
    )

    result = run("validate", "-C", root)

    assert result.exit_code == 0, result.stderr


def test_metadata_room_counts_the_reserved_keys(tmp_path: Path) -> None:
    room = limits.METADATA_MAX_KEYS - len(RESERVED_METADATA)
    keys = "".join(f"  k{i}: v\n" for i in range(room + 1))
    root = write_project(
        tmp_path, {"knowledge/docs.yaml": "files: [knowledge/docs/*.md]\nmetadata:\n" + keys}
    )

    result = run("validate", "-C", root)

    assert reported(result)[0] == (
        f"knowledge/docs.yaml:2: metadata: {room + 1} metadata keys; at most {room} fit\n"
        f"    hint: assistops reserves {len(RESERVED_METADATA)} of the 16 keys for ownership "
        "tags; remove some"
    )


def _functions(n: int) -> str:
    items = "".join(f"  - function: {{name: f{i}}}\n" for i in range(n))
    return "name: helper\ntools:\n" + items


def test_at_most_128_tools(tmp_path: Path) -> None:
    ok = write_project(
        tmp_path / "ok", {"assistants/helper/assistant.yaml": _functions(limits.TOOLS_MAX)}
    )
    bad = write_project(
        tmp_path / "bad", {"assistants/helper/assistant.yaml": _functions(limits.TOOLS_MAX + 1)}
    )

    assert run("validate", "-C", ok).exit_code == 0
    result = run("validate", "-C", bad)
    assert reported(result) == [
        "assistants/helper/assistant.yaml:2: tools: 129 tools; the limit is 128\n"
        "    hint: remove some: at most 128 fit",
        "1 problem found.",
    ]


def _code_interpreter(tmp_path: Path, n: int) -> Path:
    files: dict[str, str | None] = {
        f"assistants/helper/data/part{i:02d}.csv": f"n\n{i}\n" for i in range(n)
    }
    files["assistants/helper/assistant.yaml"] = (
        "name: helper\ntools:\n  - code_interpreter:\n      files:\n"
        "        - assistants/helper/data/*.csv\n"
    )
    return write_project(tmp_path, files)


def test_at_most_20_code_interpreter_files(tmp_path: Path) -> None:
    ok = _code_interpreter(tmp_path / "ok", limits.CODE_INTERPRETER_FILES_MAX)
    bad = _code_interpreter(tmp_path / "bad", limits.CODE_INTERPRETER_FILES_MAX + 1)

    assert run("validate", "-C", ok).exit_code == 0
    result = run("validate", "-C", bad)
    assert reported(result) == [
        "assistants/helper/assistant.yaml:4: tools[0].code_interpreter.files: 21 "
        "code-interpreter files; the limit is 20\n    hint: narrow the globs",
        "1 problem found.",
    ]


FIELDS = [
    "name",
    "description",
    "model",
    "instructions",
    "variables",
    "tools",
    "response_format",
    "temperature",
    "metadata",
    "template",
    "function",
    "file_search",
    "code_interpreter",
    "files",
    "vector_store",
    "parameters",
    "strict",
    "json_schema",
    "schema",
    "type",
    "properties",
    "required",
    "additionalProperties",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.sampled_from(["", "x", "docs", "object", "functions/lookup.json", "{{ company }}", "../x"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner),
    max_leaves=15,
)


@settings(max_examples=40, deadline=None)
@given(assistant=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6))
def test_validate_never_crashes_on_arbitrary_declarations(
    assistant: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = write_project(
        tmp_path_factory.mktemp("fuzz"),
        {"assistants/helper/assistant.yaml": json.dumps(assistant)},  # JSON is YAML
    )

    result = run("validate", "-C", root)  # an exception would escape CliRunner here

    assert result.exit_code in (0, 1)
    assert (result.exit_code == 0) == result.stdout.startswith("demo: valid")
