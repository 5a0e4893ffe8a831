"""The markdown plan of a large project: within GitHub's comment limit, the summary and one
line per resource kept, details folded and said so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistops.output import DEFAULT_LIMIT, GITHUB_COMMENT_LIMIT

from .helpers import many_changes_project, run

pytestmark = pytest.mark.slow  # 5,000 files to hash and plan


def test_5000_changes_keep_the_summary_and_a_line_per_resource(tmp_path: Path) -> None:
    root = many_changes_project(tmp_path / "big", assistants=10, stores=10, files=498)

    result = run("plan", "-C", root, "--format", "markdown")

    assert result.exit_code == 0, result.output
    md = result.stdout
    assert len(md) <= DEFAULT_LIMIT < GITHUB_COMMENT_LIMIT
    assert "**Plan: 5000 to add, 0 to change, 0 to replace, 0 to destroy.**" in md
    assert "each is one line below, grouped by address prefix; their details are folded" in md
    assert "not shown" not in md  # no resource is left out
    groups = dict(re.findall(r"^# (\S+) \((\d+)\)$", md, flags=re.M))
    assert groups["assistant."] == "10" and groups["vector_store."] == "10"
    assert groups["file.s3:knowledge/s3/"] == "498"
    lines = re.findall(r"^\+ (\S+)$", md, flags=re.M)
    assert len(lines) == 5000
    assert "p0497.md" in lines and "a009" in lines and "s9" in lines


def test_when_even_the_list_is_too_long_the_rest_is_counted(tmp_path: Path) -> None:
    root = many_changes_project(tmp_path / "big", assistants=2, stores=1, files=3000)
    for page in sorted((root / "knowledge" / "s0").iterdir()):
        page.rename(page.with_name("a-rather-long-page-name-" + page.name))

    result = run("plan", "-C", root, "--format", "markdown")

    assert result.exit_code == 0, result.output
    md = result.stdout
    assert len(md) <= DEFAULT_LIMIT
    assert "**Plan: 3003 to add, 0 to change, 0 to replace, 0 to destroy.**" in md
    shown = len(re.findall(r"^\+ ", md, flags=re.M))
    note = re.search(r"^# … (\d+) more resources not shown: see the job log$", md, flags=re.M)
    assert note is not None
    assert shown > 0 and shown + int(note.group(1)) == 3003  # each one shown or counted
