"""The strict YAML loader: YAML 1.2 values, line marks, and the inputs it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistops.config.yamlio import MAX_FILE_BYTES, Document, load_yaml, parse_yaml
from assistops.errors import ConfigError, Problem


def refused(text: str) -> Problem:
    """The one problem ``parse_yaml`` raises for ``text``."""
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "x.yaml")
    assert len(info.value.problems) == 1
    return info.value.problems[0]


def test_yaml_11_traps_keep_the_text_that_was_written() -> None:
    doc = parse_yaml(
        "a: no\nb: yes\nc: on\nd: NO\ne: 2024-05-01\nf: 2024-05-01 10:30:00\ng: 12:30\n"
        "h: y\ni: 010\n",
        "x.yaml",
    )

    assert doc.data == {
        "a": "no",
        "b": "yes",
        "c": "on",
        "d": "NO",
        "e": "2024-05-01",
        "f": "2024-05-01 10:30:00",
        "g": "12:30",
        "h": "y",
        "i": 10,  # YAML 1.2: a leading zero is not octal
    }


def test_core_schema_values() -> None:
    doc = parse_yaml(
        "t: true\nf: False\nn: null\ntilde: ~\nempty:\nint: 42\nhex: 0x1F\noct: 0o17\n"
        "flt: 1.10\nexp: 1e3\ninf: -.inf\ns: !!str 123\nq: '1.10'\n",
        "x.yaml",
    )

    assert doc.data == {
        "t": True,
        "f": False,
        "n": None,
        "tilde": None,
        "empty": None,
        "int": 42,
        "hex": 31,
        "oct": 15,
        "flt": 1.1,
        "exp": 1000.0,
        "inf": float("-inf"),
        "s": "123",
        "q": "1.10",
    }
    # the text of every non-string scalar is kept, so messages can quote what was written
    assert doc.scalars[("flt",)] == "1.10"
    assert ("q",) not in doc.scalars


def test_every_key_and_item_keeps_its_line() -> None:
    doc = parse_yaml("# comment\nname: x\ntools:\n  - function:\n      name: f\n  - b\n", "x.yaml")

    assert doc.line_of(("name",)) == 2
    assert doc.line_of(("tools",)) == 3
    assert doc.line_of(("tools", 0)) == 4
    assert doc.line_of(("tools", 0, "function", "name")) == 5
    assert doc.line_of(("tools", 1)) == 6
    # a path that is not written falls back to its nearest ancestor
    assert doc.line_of(("tools", 0, "function", "strict")) == 4


def test_duplicate_key_names_both_lines_and_the_field() -> None:
    problem = refused("a:\n  b: 1\n  c: 2\n  b: 3\n")

    assert problem == Problem(
        "x.yaml", 4, "a.b", "duplicate key 'b' (first defined on line 2)", "keep one of them"
    )


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system ''\n", "!!python/name:os.system"),
        ("a: !custom value\n", "!custom"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x: null}\n", "!!set"),
        ("a: !!omap [x: 1]\n", "!!omap"),
    ],
)
def test_tags_outside_the_core_schema_are_refused(text: str, tag: str) -> None:
    problem = refused(text)

    assert (problem.line, problem.field) == (1, "a")
    assert problem.message == f"unsupported YAML tag '{tag}'"
    assert "remove the tag" in problem.hint


def test_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefg"[i]
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    problem = refused("\n".join(lines) + "\n")

    assert problem.message.startswith("document expands to more than")
    assert problem.field in {"f", "g", "h"}
    assert problem.line == "abcdefgh".index(problem.field) + 1


def test_anchors_aliases_and_merge_keys_still_work() -> None:
    doc = parse_yaml(
        "base: &base {model: m, temperature: 0.2}\n"
        "one:\n  <<: *base\n  temperature: 0.5\n"
        "two: *base\n",
        "x.yaml",
    )

    assert doc.data["one"] == {"model": "m", "temperature": 0.5}  # explicit keys win
    assert doc.data["two"] == {"model": "m", "temperature": 0.2}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('a: "open\nb: 1\n', 1, "while scanning a quoted scalar: found unexpected end of stream"),
        ("a: [1, 2\nb: 3\n", 2, "while parsing a flow sequence"),
        ("a: 1\n b: 2\n", 2, "mapping values are not allowed here"),
        ("a:\n\t- 1\n", 2, "found character '\\t' that cannot start any token"),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int, message: str) -> None:
    problem = refused(text)

    assert (problem.file, problem.line, problem.field) == ("x.yaml", line, "")
    assert problem.message.startswith("invalid YAML: ")
    assert message in problem.message
    assert problem.hint == "fix the YAML syntax"


def test_one_document_per_file() -> None:
    problem = refused("a: 1\n---\nb: 2\n")

    assert problem.line == 2
    assert "expected a single document" in problem.message


def test_complex_keys_are_refused() -> None:
    problem = refused("? [a, b]\n: x\n")

    assert problem.message == "mapping keys must be plain scalars"


def test_an_empty_file_is_none() -> None:
    assert parse_yaml("# nothing here\n", "x.yaml") == Document("x.yaml", None)


def test_huge_file_is_refused() -> None:
    problem = refused("a: " + "x" * MAX_FILE_BYTES + "\n")

    assert problem.message == f"file is larger than {MAX_FILE_BYTES} bytes"


def test_load_yaml_reports_undecodable_files(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))

    with pytest.raises(ConfigError) as info:
        load_yaml(path, "assistants/x/assistant.yaml")

    assert info.value.problems == [
        Problem(
            "assistants/x/assistant.yaml", None, "", "file is not valid UTF-8", "save it as UTF-8"
        )
    ]
