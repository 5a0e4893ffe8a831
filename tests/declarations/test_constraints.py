"""Constraints live in the models: an editor (the published schema) flags what validate flags.

Each case writes one value into a declaration of the base project, once just past a limit and
once right at it. The published JSON Schema of that file, applied as an editor applies it, and
``assistops validate`` must agree: both refuse the first, both accept the second. Validate's
problem names the file, line and field and says what is allowed.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from assistops import limits
from assistops.config.yamlio import parse_yaml

from .helpers import BASE, REPO, SCHEMA_DIR, run, write_project

pytestmark = pytest.mark.usefixtures("offline")

ASSISTANT = "assistants/helper/assistant.yaml"
STORE = "knowledge/docs.yaml"
PROJECT = "assistops.yaml"
SCHEMA_OF = {
    ASSISTANT: "assistant.schema.json",
    STORE: "vector-store.schema.json",
    PROJECT: "project.schema.json",
}


@dataclass(frozen=True)
class Case:
    """A declaration with ``{v}`` where the value goes, and where validate reports it."""

    file: str
    template: str
    bad: str
    good: str
    field: str
    hint: str  # substring of validate's hint: what is allowed
    line: int | None = None  # default: the template's line that holds {v}

    def text(self, value: str) -> str:
        return self.template.replace("{v}", value)

    def where(self) -> int:
        if self.line is not None:
            return self.line
        return next(i for i, ln in enumerate(self.template.splitlines(), 1) if "{v}" in ln)


def _functions(n: int) -> str:
    return "".join(f"  - function: {{name: f{i}}}\n" for i in range(n))


OVERRIDE = BASE[PROJECT] + "    overrides:\n      assistants:\n        helper:\n          {v}\n"

CASES = {
    "temperature": Case(
        ASSISTANT, "name: helper\ntemperature: {v}\n", "2.5", "2", "temperature", "use 0.0 to 2.0"
    ),
    "top_p": Case(ASSISTANT, "name: helper\ntop_p: {v}\n", "-0.1", "0", "top_p", "0.0 to 1.0"),
    "display_name": Case(
        ASSISTANT,
        "name: helper\ndisplay_name: {v}\n",
        "n" * (limits.ASSISTANT_NAME_MAX + 1),
        "n" * limits.ASSISTANT_NAME_MAX,
        "display_name",
        f"at most {limits.ASSISTANT_NAME_MAX} characters",
    ),
    "description": Case(
        ASSISTANT,
        "name: helper\ndescription: {v}\n",
        "d" * (limits.ASSISTANT_DESCRIPTION_MAX + 1),
        "d" * limits.ASSISTANT_DESCRIPTION_MAX,
        "description",
        f"at most {limits.ASSISTANT_DESCRIPTION_MAX} characters",
    ),
    "metadata-key": Case(
        ASSISTANT,
        "name: helper\nmetadata:\n  {v}: x\n",
        "k" * (limits.METADATA_KEY_MAX + 1),
        "k" * limits.METADATA_KEY_MAX,
        "metadata." + "k" * (limits.METADATA_KEY_MAX + 1),
        f"shorten the key to at most {limits.METADATA_KEY_MAX} characters",
    ),
    "metadata-value": Case(
        ASSISTANT,
        "name: helper\nmetadata:\n  notes: {v}\n",
        "v" * (limits.METADATA_VALUE_MAX + 1),
        "v" * limits.METADATA_VALUE_MAX,
        "metadata.notes",
        f"shorten the value to at most {limits.METADATA_VALUE_MAX} characters",
    ),
    "max_num_results": Case(
        ASSISTANT,
        "name: helper\ntools:\n  - file_search:\n      vector_store: docs\n"
        "      max_num_results: {v}\n",
        str(limits.MAX_NUM_RESULTS_MAX + 1),
        str(limits.MAX_NUM_RESULTS_MAX),
        "tools[0].file_search.max_num_results",
        f"use {limits.MAX_NUM_RESULTS_MIN} to {limits.MAX_NUM_RESULTS_MAX}",
    ),
    "score_threshold": Case(
        ASSISTANT,
        "name: helper\ntools:\n  - file_search:\n      vector_store: docs\n"
        "      ranking_options: {score_threshold: {v}}\n",
        "1.5",
        "1",
        "tools[0].file_search.ranking_options.score_threshold",
        "use 0.0 to 1.0",
    ),
    "function-name": Case(
        ASSISTANT,
        "name: helper\ntools:\n  - function:\n      name: {v}\n",
        "look up",
        "f" * limits.FUNCTION_NAME_MAX,
        "tools[0].function.name",
        "letters, digits, '_' or '-'",
    ),
    "response-format-name": Case(
        ASSISTANT,
        "name: helper\nresponse_format:\n  json_schema:\n    name: {v}\n"
        "    schema: {type: object}\n",
        "r" * (limits.FUNCTION_NAME_MAX + 1),
        "r" * limits.FUNCTION_NAME_MAX,
        "response_format.json_schema.name",
        f"use 1 to {limits.FUNCTION_NAME_MAX} letters",
    ),
    "tools": Case(
        ASSISTANT,
        "name: helper\ntools:\n{v}",
        _functions(limits.TOOLS_MAX + 1),
        _functions(limits.TOOLS_MAX),
        "tools",
        f"at most {limits.TOOLS_MAX}",
        line=2,
    ),
    "chunk-size": Case(
        STORE,
        "files: [knowledge/docs/*.md]\nchunking: {max_chunk_size_tokens: {v}, "
        "chunk_overlap_tokens: 0}\n",
        str(limits.STATIC_CHUNK_MIN - 1),
        str(limits.STATIC_CHUNK_MIN),
        "chunking.max_chunk_size_tokens",
        f"use {limits.STATIC_CHUNK_MIN} to {limits.STATIC_CHUNK_MAX}",
    ),
    "chunk-overlap": Case(
        STORE,
        "files: [knowledge/docs/*.md]\nchunking:\n  max_chunk_size_tokens: 800\n"
        "  chunk_overlap_tokens: {v}\n",
        "-1",
        "0",
        "chunking.chunk_overlap_tokens",
        "use 0 or more",
    ),
    "expiry": Case(
        STORE,
        "files: [knowledge/docs/*.md]\nexpires_after_days: {v}\n",
        str(limits.VECTOR_STORE_EXPIRY_DAYS_MAX + 1),
        str(limits.VECTOR_STORE_EXPIRY_DAYS_MAX),
        "expires_after_days",
        f"use {limits.VECTOR_STORE_EXPIRY_DAYS_MIN} to {limits.VECTOR_STORE_EXPIRY_DAYS_MAX}",
    ),
    "attribute-value": Case(
        STORE,
        "files: [knowledge/docs/*.md]\nattributes:\n  notes: {v}\n",
        "a" * (limits.ATTRIBUTE_VALUE_MAX + 1),
        "a" * limits.ATTRIBUTE_VALUE_MAX,
        "attributes.notes",
        f"at most {limits.ATTRIBUTE_VALUE_MAX} characters",
    ),
    "override-temperature": Case(
        PROJECT,
        OVERRIDE.replace("{v}", "temperature: {v}"),
        "3",
        "0",
        "environments.prod.overrides.assistants.helper.temperature",
        "use 0.0 to 2.0",
    ),
    "override-metadata-value": Case(
        PROJECT,
        OVERRIDE.replace("{v}", "metadata: {release: {v}}"),
        "r" * (limits.METADATA_VALUE_MAX + 1),
        "r" * limits.METADATA_VALUE_MAX,
        "environments.prod.overrides.assistants.helper.metadata.release",
        f"at most {limits.METADATA_VALUE_MAX} characters",
    ),
}


def editor_errors(case: Case, text: str) -> list[list[Any]]:
    """Where the published schema flags the file, as an editor reads it (paths of the errors)."""
    data = parse_yaml(text, case.file).data
    schema = json.loads((SCHEMA_DIR / SCHEMA_OF[case.file]).read_text(encoding="utf-8"))
    return [list(e.absolute_path) for e in Draft202012Validator(schema).iter_errors(data)]


def validate(case: Case, text: str, tmp_path: Path) -> Any:
    root = write_project(tmp_path, {case.file: text})
    result = run("validate", "-C", root, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_schema_and_validate_refuse_the_same_value(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    text = case.text(case.bad)

    flagged = editor_errors(case, text)
    report = validate(case, text, tmp_path)

    assert flagged, f"the published schema accepts {name}={case.bad[:20]!r}"
    assert report["valid"] is False
    [problem] = report["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == (
        case.file,
        case.where(),
        case.field,
    )
    assert case.hint in problem["hint"], problem
    # the editor marks the same place, or the mapping/list that holds it
    parts = [p for p in case.field.replace("[", ".").replace("]", "").split(".") if p]
    assert all([str(p) for p in path] == parts[: len(path)] for path in flagged), flagged


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_schema_and_validate_accept_the_value_at_the_limit(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    text = case.text(case.good)

    assert editor_errors(case, text) == []
    report = validate(case, text, tmp_path)
    assert report["valid"] is True, report["problems"]


# -- limits.py is the only place each number is written ---------------------------------------

LIMITS = {
    value
    for name, value in vars(limits).items()
    if name.isupper() and isinstance(value, int | float) and not isinstance(value, bool)
}
EVERYDAY = {0, 1, 2}  # as whole numbers: indexes, "half of the chunk size"
FILES = [
    "assistops/config/models.py",
    "assistops/render/validate.py",
    "assistops/config/problems.py",
]


@pytest.mark.parametrize("rel", FILES)
def test_the_limits_are_written_only_in_limits_py(rel: str) -> None:
    source = (REPO / rel).read_text(encoding="utf-8")

    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NUMBER:
            value = float(token.string.replace("_", ""))
            if value in LIMITS and (value not in EVERYDAY or "." in token.string):
                found.append(f"{rel}:{token.start[0]}: {token.string}")
        elif token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
            found += [
                f"{rel}:{token.start[0]}: {word:g} in {token.string}"
                for word in _numbers(token.string)
                if word in LIMITS and word >= 10  # "1 to 64" style prose, not "[0]"
            ]

    assert found == [], "use the constants of assistops/limits.py"


def _numbers(text: str) -> list[float]:
    """The numbers written as words in ``text`` (not digits inside a name such as sha256)."""
    return [float(m) for m in re.findall(r"(?<![\w.])\d+(?![\w.])", text)]


def test_the_published_schemas_carry_the_limits() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json"))

    for keyword in ("minimum", "maximum", "maxLength", "maxItems", "pattern", "propertyNames"):
        assert f'"{keyword}"' in text, keyword
