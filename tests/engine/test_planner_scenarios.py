"""Planner scenarios found by trying assistops on real projects, driven through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine_helpers import run, sdk

from assistops.backend import RunningBackend

HANDBOOK = "knowledge/handbook"


def _plan_json(root: Path) -> dict:
    result = run(root, "plan", "-e", "test", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _apply(root: Path) -> str:
    result = run(root, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    return result.output


def _handbook_files(backend: RunningBackend) -> dict[str, str]:
    """Path attribute -> status of every file in the handbook store."""
    client = sdk(backend)
    [store] = [s for s in client.vector_stores.list() if s.name == "Acme customer handbook"]
    return {
        str((f.attributes or {}).get("assistops_path")): f.status
        for f in client.vector_stores.files.list(store.id, limit=100)
    }


def test_a_renamed_knowledge_file_keeps_its_entry_and_converges_in_one_apply(
    project: Path, backend: RunningBackend
) -> None:
    _apply(project)
    (project / HANDBOOK / "returns.md").rename(project / HANDBOOK / "refunds.md")
    plan = _plan_json(project)
    assert [s["op"] for s in plan["steps"]] == ["update_file_attributes"]
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["address"] == f"file.handbook:{HANDBOOK}/refunds.md"
    assert change["action"] == "update"
    assert change["reasons"] == [f"renamed from {HANDBOOK}/returns.md: the indexed file is kept"]
    assert {c["path"] for c in change["changes"]} >= {"path"}
    out = _apply(project)
    assert "Verified: a fresh plan shows no changes." in out
    files = _handbook_files(backend)
    assert sorted(files) == [
        f"{HANDBOOK}/{n}.md" for n in ("accounts", "refunds", "shipping", "warranty")
    ]
    assert set(files.values()) == {"completed"}


def test_a_renamed_file_beside_a_new_copy_of_its_old_path(
    project: Path, backend: RunningBackend
) -> None:
    """The old path comes back with other content while the old content moves away."""
    _apply(project)
    handbook = project / HANDBOOK
    shutil.move(handbook / "returns.md", handbook / "refunds.md")
    (handbook / "returns.md").write_text("# Returns\n\nReturns now go through the portal.\n")
    _apply(project)
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0
    files = _handbook_files(backend)
    assert sorted(files) == [
        f"{HANDBOOK}/{n}.md" for n in ("accounts", "refunds", "returns", "shipping", "warranty")
    ]


def test_json_steps_are_listed_in_the_order_apply_runs_them(project: Path) -> None:
    _apply(project)
    faq = project / HANDBOOK / "shipping.md"
    faq.write_text(faq.read_text() + "\nExpress shipping takes one day.\n")
    plan = _plan_json(project)
    ops = [s["op"] for s in plan["steps"]]
    assert ops == ["upload_file", "attach_files", "detach_file", "delete_file"]
    out = _apply(project)
    # apply prints each step as it finishes, phase by phase, in the same order
    ran = [
        line.strip().split(":")[0].replace(" ", "_")
        for line in out.splitlines()
        if line.startswith("  ") and " " in line.strip().split(":")[0]
    ]
    assert ran == ops, out


def test_the_json_plan_names_the_provider_as_documented(project: Path) -> None:
    plan = _plan_json(project)
    assert plan["provider"] == "openai"
    assert plan["endpoint"].startswith("http://127.0.0.1:")


def test_a_saved_plan_is_the_json_plan(project: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    shown = run(project, "plan", "-e", "test", "--format", "json", "--out", str(saved))
    assert shown.exit_code == 0, shown.output
    assert saved.read_text() == shown.stdout
    applied = run(project, "apply", str(saved), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Verified: a fresh plan shows no changes." in applied.output
