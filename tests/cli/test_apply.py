"""apply, destroy, plan --destroy, saved plans, --target, import: what a person reads."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import run

UPLOAD = "file.docs:knowledge/docs/getting-started.md"


def test_auto_approve_shows_one_line_per_resource_before_acting(project: Path) -> None:
    result = run("apply", "-C", project, "--auto-approve")

    assert result.exit_code == 0, result.output
    plan, done = result.stdout.split("Apply complete", 1)
    assert plan.splitlines()[1:] == [
        "  + vector_store.docs",
        f"  + {UPLOAD}",
        "  + assistant.assistant",
        "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy.",
    ]
    assert done.endswith("Verified: a fresh plan shows no changes.\n")


def test_progress_says_each_step_as_it_finishes_in_dependency_order(project: Path) -> None:
    result = run("apply", "-C", project, "--auto-approve")

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    phases = {
        "- upload files (1)": f"  upload file: {UPLOAD}",
        "- vector stores (1)": "  create vector store: vector_store.docs",
        "- attach and index files (1)": "  attach files: vector_store.docs (1/1 files indexed)",
        "- assistants (1)": "  create assistant: assistant.assistant",
    }
    assert sorted(lines) == sorted([*phases, *phases.values()])
    for header, step in phases.items():
        assert lines.index(header) < lines.index(step)  # a phase is named when it starts
    # the upload and the store are independent (either may finish first); the batch needs
    # both, and the assistant searches the store once it is indexed
    upload, store, attach, assistant = (lines.index(step) for step in phases.values())
    assert max(upload, store) < attach < assistant


def test_an_update_line_names_the_changed_fields(project: Path) -> None:
    assert run("apply", "-C", project, "--auto-approve").exit_code == 0
    yaml = project / "assistants" / "assistant" / "assistant.yaml"
    text = yaml.read_text()
    assert "temperature: 0.2\n" in text
    yaml.write_text(text.replace("temperature: 0.2\n", "temperature: 0.5\n"))

    result = run("apply", "-C", project, "--auto-approve")

    assert result.exit_code == 0, result.output
    assert "  ~ assistant.assistant (asst_" in result.stdout
    assert "): temperature\n" in result.stdout


def test_plan_destroy_speaks_of_destroying_not_of_undeclared(project: Path) -> None:
    assert run("apply", "-C", project, "--auto-approve").exit_code == 0

    result = run("plan", "-C", project, "--destroy")

    assert result.exit_code == 0, result.output
    assert "no longer declared" not in result.stdout
    assert "file.unused" not in result.stdout
    assert f"  # {UPLOAD} will be destroyed\n" in result.stdout
    assert "  # assistant.assistant will be destroyed\n" in result.stdout
    assert "no declared file has this content" not in result.stdout
    assert result.stdout.endswith("Plan: 0 to add, 0 to change, 0 to replace, 3 to destroy.\n")


def test_destroy_says_what_is_left_and_how_to_confirm(project: Path) -> None:
    assert run("apply", "-C", project, "--auto-approve").exit_code == 0

    refused = run("destroy", "-C", project)
    done = run("destroy", "-C", project, "--auto-approve")
    again = run("destroy", "-C", project, "--auto-approve")

    assert refused.exit_code == 1
    assert "saved plan" not in refused.stderr
    assert "Review 'assistops plan --destroy', then run assistops destroy --auto-approve" in (
        refused.stderr
    )
    assert done.exit_code == 0, done.output
    assert f"  - {UPLOAD} (file-" in done.stdout
    assert "Verified: a fresh plan shows no changes" not in done.stdout
    assert done.stdout.endswith("Verified: nothing assistops manages is left in local.\n")
    assert again.stdout == "No changes: nothing assistops manages is left in demo/local.\n"


def test_a_saved_destroy_plan_applies_as_a_destroy(project: Path) -> None:
    assert run("apply", "-C", project, "--auto-approve").exit_code == 0
    saved = project / "destroy.json"
    assert run("plan", "-C", project, "--destroy", "--out", saved).exit_code == 0
    assert json.loads(saved.read_text())["destroy"] is True

    result = run("apply", "-C", project, saved)

    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 added, 0 changed, 0 replaced, 3 destroyed." in result.stdout
    assert json.loads(run("status", "-C", project, "--format", "json").stdout)["resources"] == [
        {
            "action": "create",
            "address": a,
            "applied_at": None,
            "digest": None,
            "drift": False,
            "id": None,
            "kind": k,
            "revision": None,
            "state": "not created yet",
        }
        for a, k in (
            ("vector_store.docs", "vector_store"),
            (UPLOAD, "file"),
            ("assistant.assistant", "assistant"),
        )
    ]


def test_a_plan_saved_for_one_environment_is_refused_for_another(project: Path) -> None:
    config = project / "assistops.yaml"
    config.write_text(
        config.read_text().replace(
            "  # any Assistants",
            "  dev:\n    provider: local\n    variables: {greeting: Hi}\n  # any Assistants",
        )
    )
    saved = project / "dev.json"
    assert run("plan", "-C", project, "-e", "dev", "--out", saved).exit_code == 0

    refused = run("apply", "-C", project, saved, "-e", "local")

    assert refused.exit_code == 1
    assert f"{saved} was made for environment 'dev', not 'local'; nothing was changed" in (
        refused.stderr
    )
    dev = json.loads(run("status", "-C", project, "-e", "dev", "--format", "json").stdout)
    assert dev["in_sync"] is False  # nothing was applied to dev either
    applied = run("apply", "-C", project, saved)  # without -e: the plan's environment
    assert applied.exit_code == 0, applied.output
    assert "environment dev" in applied.stdout


def test_target_takes_a_name_as_render_does_and_says_what_it_left_out(project: Path) -> None:
    (project / "knowledge" / "more.yaml").write_text("files:\n  - knowledge/docs/*.md\n")

    by_name = run("plan", "-C", project, "--target", "docs", "--format", "json")
    text = run("plan", "-C", project, "--target", "docs")

    assert by_name.exit_code == text.exit_code == 0, by_name.output
    doc = json.loads(by_name.stdout)
    assert doc["targets"] == ["vector_store.docs"]
    assert {r["address"] for r in doc["resources"]} == {"vector_store.docs", UPLOAD}
    assert doc["left_out"] == 3  # the assistant, the other store and its file
    assert (
        "Note: --target limited this plan to vector_store.docs and what it needs; 3 other "
        "changes of the project are left out (plan without --target to see them)."
    ) in text.stderr


def test_an_unknown_target_gets_a_did_you_mean(project: Path) -> None:
    result = run("plan", "-C", project, "--target", "assistant.asistant")

    assert result.exit_code == 1
    assert "unknown target assistant.asistant; did you mean 'assistant.assistant'?" in (
        result.stderr
    )


def test_importing_an_id_that_does_not_exist_says_so(project: Path) -> None:
    result = run("import", "-C", project, "-e", "local", "asst_doesnotexist")

    assert result.exit_code == 1
    assert "deleted outside assistops" not in result.stderr
    assert "run plan again" not in result.stderr
    assert "there is no assistant 'asst_doesnotexist' in environment 'local'" in result.stderr
    assert "nothing was written" in result.stderr


def test_plan_full_unfolds_long_values(project: Path) -> None:
    long = "\n".join(f"Rule {n}: be precise." for n in range(40))
    (project / "assistants" / "assistant" / "instructions.md.j2").write_text(long + "\n")

    folded = run("plan", "-C", project)
    full = run("plan", "-C", project, "--full")

    assert folded.exit_code == full.exit_code == 0
    assert "… (28 more lines)" in folded.stdout and "Rule 39" not in folded.stdout
    assert "more lines" not in full.stdout
    assert all(f"Rule {n}: be precise." in full.stdout for n in range(40))
