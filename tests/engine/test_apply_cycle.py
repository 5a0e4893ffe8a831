"""plan -> apply -> plan through the CLI against the backend, as a user would run it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from contract.validator import ContractRecorder
from engine_helpers import KEY, all_assistants, run, sdk

from assistops.backend import BackendControl, RunningBackend


def _plan_json(root: Path, *extra: str) -> dict:
    result = run(root, "plan", "-e", "test", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _apply(root: Path, *extra: str) -> str:
    result = run(root, "apply", "-e", "test", "--auto-approve", *extra)
    assert result.exit_code == 0, result.output
    return result.output


def test_apply_from_empty_then_plan_is_empty(
    project: Path, backend: RunningBackend, contract_checked: ContractRecorder
) -> None:
    first = _plan_json(project)
    assert first["summary"] == {"create": 10, "update": 0, "replace": 0, "delete": 0}
    out = _apply(project)
    assert "Apply complete: 10 added, 0 changed, 0 replaced, 0 destroyed." in out
    assert "Verified: a fresh plan shows no changes." in out
    again = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    client = sdk(backend)
    names = sorted(a.name for a in all_assistants(client))  # type: ignore[attr-defined]
    assert names == ["Acme Sales Analyst", "Acme Support", "Acme Ticket Triage"]
    support = next(a for a in all_assistants(client) if a.name == "Acme Support")  # type: ignore[attr-defined]
    store_id = support.tool_resources.file_search.vector_store_ids[0]  # type: ignore[attr-defined]
    store = client.vector_stores.retrieve(store_id)
    assert store.file_counts.completed == 4
    assert KEY not in out
    # every exchange above was validated against the OpenAPI description
    assert contract_checked.exchanges >= 19


def test_plan_is_empty_for_every_example_assistant(project: Path) -> None:
    _apply(project)
    for target in ("assistant.support", "assistant.analyst", "assistant.triage"):
        result = run(project, "plan", "-e", "test", "--target", target, "--detailed-exitcode")
        assert result.exit_code == 0, (target, result.output)


def test_detailed_exitcode_is_2_with_changes(project: Path) -> None:
    result = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert result.exit_code == 2
    assert "Plan: 10 to add, 0 to change, 0 to replace, 0 to destroy." in result.output


def test_one_instruction_edit_plans_exactly_one_update(
    project: Path, backend: RunningBackend
) -> None:
    _apply(project)
    client = sdk(backend)
    before_ids = {a.id for a in all_assistants(client)}  # type: ignore[attr-defined]
    template = project / "support" / "instructions.md.j2"
    template.write_text(template.read_text().replace("never guess", "do not guess"))
    plan = _plan_json(project)
    assert plan["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["address"] == "assistant.support"
    assert [c["path"] for c in change["changes"]] == ["instructions"]
    text = run(project, "plan", "-e", "test", "--no-color").output
    assert "-prices, dates or policies." not in text  # context, not a change
    line = "Answer from the handbook (file search). If the handbook does not say, say so; "
    assert f"-{line}never guess" in text
    assert f"+{line}do not guess" in text
    _apply(project)
    after = {a.id for a in all_assistants(client)}  # type: ignore[attr-defined]
    assert after == before_ids  # updated in place: same ids


def test_knowledge_file_edit_uploads_once_and_swaps(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    _apply(project)
    client = sdk(backend)
    old = {f.id: f.filename for f in client.files.list(purpose="assistants")}
    doc = project / "knowledge" / "handbook" / "returns.md"
    doc.write_text(doc.read_text() + "\nStore credit never expires.\n")
    plan = _plan_json(project)
    ops = [s["op"] for s in plan["steps"]]
    assert ops.count("upload_file") == 1
    assert ops.count("attach_files") == 1 and ops.count("detach_file") == 1
    assert ops.count("delete_file") == 1
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["address"] == "file.handbook:knowledge/handbook/returns.md"
    assert change["action"] == "replace"
    control.clear_requests()
    _apply(project)
    assert control.requests().get("POST /v1/files") == 1
    now = {f.id: f.filename for f in client.files.list(purpose="assistants")}
    gone = set(old) - set(now)
    assert len(gone) == 1 and old[gone.pop()].endswith(".returns.md")
    assert len(now) == len(old)


def test_removing_a_declaration_plans_and_applies_a_delete(
    project: Path, backend: RunningBackend
) -> None:
    _apply(project)
    shutil.rmtree(project / "triage")  # the assistant and its tests
    plan = _plan_json(project)
    deletes = [r for r in plan["resources"] if r["action"] == "delete"]
    assert [d["address"] for d in deletes] == ["assistant.triage"]
    assert deletes[0]["orphan"] is True
    _apply(project)
    names = {a.name for a in all_assistants(sdk(backend))}  # type: ignore[attr-defined]
    assert "Acme Ticket Triage" not in names


def test_untagged_and_foreign_objects_are_never_touched(
    project: Path, backend: RunningBackend
) -> None:
    client = sdk(backend)
    mine = client.beta.assistants.create(
        model="gpt-4o", name="Acme Support", instructions="hand made"
    )
    foreign = client.beta.assistants.create(
        model="gpt-4o", name="Other", metadata={"assistops": "other-project/test/assistant.support"}
    )
    _apply(project)
    result = run(project, "destroy", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    left = {a.id: a for a in all_assistants(client)}  # type: ignore[attr-defined]
    assert set(left) == {mine.id, foreign.id}
    assert left[mine.id].instructions == "hand made"  # type: ignore[attr-defined]
    assert not client.vector_stores.list().data
    assert not [f for f in client.files.list(purpose="assistants")]


def test_drift_made_with_the_sdk_is_shown_and_restored(
    project: Path, backend: RunningBackend
) -> None:
    _apply(project)
    client = sdk(backend)
    support = next(a for a in all_assistants(client) if a.name == "Acme Support")  # type: ignore[attr-defined]
    client.beta.assistants.update(support.id, temperature=1.5)  # type: ignore[attr-defined]
    plan = _plan_json(project)
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["address"] == "assistant.support" and change["drift"] is True
    assert change["changes"] == [
        {"path": "temperature", "before": 1.5, "after": 0.2, "breaking": None}
    ]
    text = run(project, "plan", "-e", "test", "--no-color").output
    assert "drift" in text.lower()
    _apply(project)
    restored = client.beta.assistants.retrieve(support.id)  # type: ignore[attr-defined]
    assert restored.temperature == 0.2


def test_stale_saved_plan_is_refused(project: Path, backend: RunningBackend) -> None:
    _apply(project)
    template = project / "support" / "instructions.md.j2"
    template.write_text(template.read_text() + "\nBe kind.\n")
    plan_file = project / "plan.json"
    saved = run(project, "plan", "-e", "test", "--out", str(plan_file))
    assert saved.exit_code == 0, saved.output
    client = sdk(backend)
    support = next(a for a in all_assistants(client) if a.name == "Acme Support")  # type: ignore[attr-defined]
    client.beta.assistants.update(support.id, model="gpt-4.1")  # type: ignore[attr-defined]
    stale = run(project, "apply", "--auto-approve", str(plan_file))
    assert stale.exit_code == 1
    assert "stale" in stale.output
    assert support.id in stale.output and "assistant.support" in stale.output  # type: ignore[attr-defined]
    assert "assistops plan -e test --out" in stale.output
    assert client.beta.assistants.retrieve(support.id).model == "gpt-4.1"  # type: ignore[attr-defined]
    assert KEY not in plan_file.read_text()
    fresh = run(project, "plan", "-e", "test", "--out", str(plan_file))
    assert fresh.exit_code == 0
    applied = run(project, "apply", "--auto-approve", str(plan_file))
    assert applied.exit_code == 0, applied.output


def test_protected_environment_refuses_deletes_without_the_flag(
    project: Path, backend: RunningBackend
) -> None:
    assert run(project, "apply", "-e", "guarded", "--auto-approve").exit_code == 0
    (project / "triage" / "assistant.yaml").unlink()
    refused = run(project, "apply", "-e", "guarded", "--auto-approve")
    assert refused.exit_code == 1
    assert "protected" in refused.output and "--allow-delete" in refused.output
    assert any(a.name == "Acme Ticket Triage" for a in all_assistants(sdk(backend)))  # type: ignore[attr-defined]
    allowed = run(project, "apply", "-e", "guarded", "--auto-approve", "--allow-delete")
    assert allowed.exit_code == 0, allowed.output


def test_apply_without_a_terminal_needs_auto_approve(
    project: Path, backend: RunningBackend
) -> None:
    result = run(project, "apply", "-e", "test")
    assert result.exit_code == 1
    assert "--auto-approve" in result.output
    assert all_assistants(sdk(backend)) == []


def test_target_limits_the_plan_to_a_resource_and_its_dependencies(project: Path) -> None:
    plan = _plan_json(project, "--target", "assistant.support")
    addresses = {r["address"] for r in plan["resources"]}
    assert "assistant.support" in addresses and "vector_store.handbook" in addresses
    assert "assistant.triage" not in addresses and "assistant.analyst" not in addresses
    bad = run(project, "plan", "-e", "test", "--target", "assistant.nope")
    assert bad.exit_code == 1 and "unknown target" in bad.output


def test_optional_fields_left_unset_do_not_cause_a_perpetual_diff(project: Path) -> None:
    # a json_schema without description or strict, and a file_search tool without options
    triage = project / "triage" / "assistant.yaml"
    text = triage.read_text()
    text = text.replace(
        "    description: Category, urgency and a one-line summary of a support ticket.\n", ""
    ).replace("    strict: true\n", "")
    assert "description: Category" not in text and "strict" not in text
    triage.write_text(text)
    support = project / "support" / "assistant.yaml"
    support.write_text(
        support.read_text().replace(
            "      max_num_results: 8\n      ranking_options:\n        ranker: auto\n"
            "        score_threshold: 0.3\n",
            "",
        )
    )
    assert "max_num_results" not in support.read_text()
    _apply(project)
    result = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
