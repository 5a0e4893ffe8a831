"""The embedded backend's database is locked while an apply writes to it."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from engine_helpers import EXAMPLE

from assistops.cli.main import cli
from assistops.engine.locking import exclusive


def test_a_second_apply_on_the_same_local_database_fails_naming_the_holder(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    lock = root / ".assistops" / "local.db.lock"
    runner = CliRunner()
    with exclusive(lock, "apply"):
        result = runner.invoke(cli, ["apply", "-C", str(root), "-e", "local", "--auto-approve"])
        assert result.exit_code == 1
        assert "holds the lock" in result.output and "pid" in result.output
    # released: the same command now runs, and a fresh plan is empty
    result = runner.invoke(cli, ["apply", "-C", str(root), "-e", "local", "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert lock.read_text() == ""  # nothing left behind that looks like a holder
    plan = runner.invoke(cli, ["plan", "-C", str(root), "-e", "local", "--detailed-exitcode"])
    assert plan.exit_code == 0, plan.output
