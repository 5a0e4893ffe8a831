"""The corpus of bad inputs: each file in bad_inputs/ is a broken project (see its README.md).

For every case, ``assistops validate`` runs through the CLI with no API key and no network and
must exit 1 reporting exactly the expected problems, each as ``file:line: field: message`` with
its hint, in the text output and in ``--format json`` alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistops.config.yamlio import parse_yaml

from .helpers import reported, run, write_project

CASES_DIR = Path(__file__).parent / "bad_inputs"
CASE_KEYS = {"description", "env", "files", "symlinks", "outside", "expect"}
EXPECT_KEYS = {"file", "line", "field", "message", "hint"}
MIN_CASES = 25


@dataclass(frozen=True)
class Expected:
    """One problem validate must report."""

    file: str
    line: int
    field: str
    message: str
    hint: str

    def prefix(self) -> str:
        """How the problem's line starts in the text output."""
        where = f"{self.file}:{self.line}: "
        return where + (f"{self.field}: " if self.field else "")


@dataclass(frozen=True)
class Case:
    """A bad input: files overlaid on the base project, and the problems expected."""

    name: str
    description: str
    env: str | None
    files: dict[str, str | None]
    symlinks: dict[str, str]
    outside: dict[str, str]
    expect: tuple[Expected, ...]


def load_case(path: Path) -> Case:
    """Parse one case file strictly: unknown keys are mistakes in the corpus."""
    data: Any = parse_yaml(path.read_text(encoding="utf-8"), path.name).data
    assert isinstance(data, dict), f"{path.name}: a case is a mapping"
    assert set(data) <= CASE_KEYS, f"{path.name}: unknown keys {set(data) - CASE_KEYS}"
    assert data.get("description"), f"{path.name}: say what the case is about"
    assert data.get("expect"), f"{path.name}: expect at least one problem"
    expect = []
    for item in data["expect"]:
        assert set(item) <= EXPECT_KEYS, f"{path.name}: unknown keys {set(item) - EXPECT_KEYS}"
        assert {"file", "line", "field", "message"} <= set(item), f"{path.name}: {item}"
        assert isinstance(item["line"], int), f"{path.name}: every problem names its line"
        expect.append(
            Expected(
                item["file"], item["line"], item["field"], item["message"], item.get("hint", "")
            )
        )
    return Case(
        name=path.stem,
        description=data["description"],
        env=data.get("env"),
        files=data.get("files") or {},
        symlinks=data.get("symlinks") or {},
        outside=data.get("outside") or {},
        expect=tuple(expect),
    )


CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))


def build(case: Case, tmp_path: Path) -> Path:
    """Write the case's project into ``tmp_path/project`` (and its outside files beside it)."""
    for rel, text in case.outside.items():
        target = tmp_path / "outside" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return write_project(tmp_path / "project", case.files, case.symlinks)


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("case_file", CASE_FILES, ids=lambda p: p.stem)
def test_bad_input_is_reported_with_file_line_and_field(case_file: Path, tmp_path: Path) -> None:
    case = load_case(case_file)
    root = build(case, tmp_path)
    env = ["-e", case.env] if case.env else []

    result = run("validate", "-C", root, *env)

    assert result.exit_code == 1, result.output
    problems = reported(result)
    assert problems[-1] == f"{len(case.expect)} problem{'s' if len(case.expect) > 1 else ''} found."
    problems = problems[:-1]
    listing = "\n".join(problems)
    assert len(problems) == len(case.expect), f"{case.description}; reported:\n{listing}"
    for want in case.expect:
        first_lines = [p.split("\n")[0] for p in problems]
        hits = [
            p
            for p, first in zip(problems, first_lines, strict=True)
            if first.startswith(want.prefix()) and want.message in first[len(want.prefix()) :]
        ]
        assert hits, f"no '{want.prefix()}...{want.message}' in:\n{listing}"
        if want.hint:
            assert any(want.hint in p.partition("\n    hint: ")[2] for p in hits), listing
    assert result.stdout == ""  # problems go to stderr; nothing claims the project is valid


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("case_file", CASE_FILES, ids=lambda p: p.stem)
def test_bad_input_json_report_agrees(case_file: Path, tmp_path: Path) -> None:
    case = load_case(case_file)
    root = build(case, tmp_path)
    env = ["-e", case.env] if case.env else []

    result = run("validate", "-C", root, "--format", "json", *env)

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    # every problem says how to fix it, not only what is wrong
    assert all(p["hint"] for p in report["problems"]), report["problems"]
    for want in case.expect:
        assert any(
            p["file"] == want.file
            and p["line"] == want.line
            and p["field"] == want.field
            and want.message in p["message"]
            and want.hint in p["hint"]
            for p in report["problems"]
        ), (want, report["problems"])


def test_the_corpus_has_enough_distinct_cases() -> None:
    cases = [load_case(p) for p in CASE_FILES]
    assert len(cases) >= MIN_CASES
    assert len({c.description for c in cases}) == len(cases), "two cases say the same thing"
    problems = {c.expect for c in cases}
    assert len(problems) == len(cases), "two cases expect the very same problems"
    assert all(c.files or c.symlinks for c in cases), "a case must break something"


def test_the_base_project_is_valid(tmp_path: Path) -> None:
    # every case overlays this project: if it were broken, the cases would prove nothing
    root = write_project(tmp_path)
    result = run("validate", "-C", root)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "demo: valid in 2 environments (local, prod)"
