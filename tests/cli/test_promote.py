"""``status`` and ``promote`` as a team uses them: two ``local`` environments, ``staging`` and
``prod``, each with its own database, in a real git repository made here; out-of-band changes
made with the openai SDK over HTTP against the environment's database."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pytest

from assistops.backend import start_server

from .helpers import on_terminal, run

ENVIRONMENTS = """environments:
  staging:
    provider: local
    variables:
      greeting: Hello from staging
  prod:
    provider: local
    protected: true
    variables:
      greeting: Hello from prod
    overrides:
      assistants:
        assistant: {model: gpt-4o}
  agents:
    provider: local
    api: agents
    leave_out: [description, temperature, file_search, strict]
    variables:
      greeting: Hello from the agents
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its output."""
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    """Commit everything; the short sha assistops records."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "--short=12", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose folder ``demo/`` is an ``assistops init`` project with the
    environments above; one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert run("init", root / "demo", "--name", "demo").exit_code == 0
    config = root / "demo" / "assistops.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("environments:")] + ENVIRONMENTS, encoding="utf-8")
    commit(root, "a project with staging and prod")
    return root


def cli(repo: Path, *args: str) -> tuple[int, str, str]:
    """``assistops -C repo/demo ARGS``: exit code, stdout, stderr."""
    result = run("-C", repo / "demo", *args)
    return result.exit_code, result.stdout, result.stderr


def status_json(repo: Path, env: str) -> dict[str, object]:
    code, out, err = cli(repo, "status", "-e", env, "--format", "json")
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


@contextmanager
def sdk(repo: Path, env: str) -> Iterator[openai.OpenAI]:
    """The openai SDK on an environment's own database (what someone outside assistops
    would use to change it)."""
    with start_server(repo / "demo" / ".assistops" / f"{env}.db") as server:
        yield openai.OpenAI(base_url=server.base_url, api_key="outside", max_retries=0)


def the_assistant(client: openai.OpenAI) -> Any:
    (only,) = list(client.beta.assistants.list(limit=100))
    return only


def resources(document: dict[str, object]) -> list[dict[str, object]]:
    found = document["resources"]
    assert isinstance(found, list)
    return found


# -- status ---------------------------------------------------------------------------------------


def test_status_before_and_after_apply_and_after_an_out_of_band_change(repo: Path) -> None:
    head = git(repo, "rev-parse", "--short=12", "HEAD")

    before = status_json(repo, "staging")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    after = status_json(repo, "staging")
    with sdk(repo, "staging") as client:
        assistant = the_assistant(client)
        client.beta.assistants.update(assistant.id, instructions="Answer in one word.")
    drifted = status_json(repo, "staging")
    code, text, _ = cli(repo, "status", "-e", "staging")

    assert before["revision"] is None and before["in_sync"] is False
    assert {r["state"] for r in resources(before)} == {"not created yet"}
    assert after["revision"] == head and after["head"] == head
    assert after["against_head"] == {"standing": "head", "behind": 0, "description": "at HEAD"}
    assert after["in_sync"] is True and after["drifted"] == []
    for r in resources(after):
        assert r["id"] and r["applied_at"], r
        assert r["revision"] == (None if r["kind"] == "file" else head), r
        assert r["digest"], r
    by_address = {r["address"]: r for r in resources(after)}
    assert by_address["assistant.assistant"]["id"] == assistant.id
    assert drifted["drifted"] == ["assistant.assistant"]
    assert drifted["in_sync"] is False
    row = next(r for r in resources(drifted) if r["address"] == "assistant.assistant")
    assert row["drift"] is True and row["state"].startswith("drifted")
    assert code == 0
    assert f"Runs revision {head} (at HEAD)" in text
    assert f"{assistant.id}  {head}" in text
    assert "drifted: changed outside assistops" in text
    assert "(1 resource drifted)" in text


def test_status_all_envs_says_which_environment_runs_which_revision(repo: Path) -> None:
    first = git(repo, "rev-parse", "--short=12", "HEAD")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    instructions = repo / "demo" / "assistants" / "assistant" / "instructions.md.j2"
    instructions.write_text(instructions.read_text() + "\nBe brief.\n", encoding="utf-8")
    second = commit(repo, "brief answers")
    assert cli(repo, "apply", "-e", "prod", "--auto-approve")[0] == 0

    code, text, _ = cli(repo, "status", "--all-envs")
    _, out, _ = cli(repo, "status", "--all-envs", "--format", "json")
    document = json.loads(out)

    assert code == 0
    envs = {e["environment"]: e for e in document["environments"]}
    assert document["head"] == second
    assert envs["staging"]["revision"] == first
    assert envs["staging"]["against_head"]["description"] == "1 commit behind HEAD"
    assert envs["staging"]["in_sync"] is False
    assert envs["prod"]["revision"] == second
    assert envs["prod"]["against_head"]["standing"] == "head"
    assert envs["agents"]["revision"] is None
    assert document["behind_head"] == ["staging"]
    assert document["nothing_applied"] == ["agents"]
    lines = text.splitlines()
    assert lines[0] == f"demo: the working tree is at {second}"
    staging = next(line for line in lines if line.lstrip().startswith("staging "))
    assert first in staging and "1 commit behind HEAD" in staging
    prod = next(line for line in lines if line.lstrip().startswith("prod "))
    assert second in prod and "at HEAD" in prod and "in sync" in prod
    assert "Behind HEAD: staging." in lines
    assert cli(repo, "status", "--all-envs", "-e", "prod")[0] == 1


# -- promote accepted -----------------------------------------------------------------------------


def test_promote_deploys_to_prod_exactly_what_staging_runs(repo: Path) -> None:
    head = git(repo, "rev-parse", "--short=12", "HEAD")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    code, out, err = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    again = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert code == 0, err
    assert f"Promote demo from staging to prod at revision {head}." in out
    assert "staging runs " + head + " (at HEAD)" in out
    # the only differences are the environments' own settings, and they are shown
    assert 'variables.greeting: "Hello from staging" -> "Hello from prod"' in out
    assert 'overrides.assistants.assistant.model: (not set) -> "gpt-4o"' in out
    assert "+ assistant.assistant" in out
    assert "Promote complete: 3 added" in out
    assert out.endswith("Verified: a fresh plan shows no changes.\n")
    prod = status_json(repo, "prod")
    assert prod["revision"] == head and prod["in_sync"] is True
    with sdk(repo, "prod") as client:
        assistant = the_assistant(client)
        assert assistant.model == "gpt-4o"
        assert assistant.metadata["assistops"] == "demo/prod/assistant.assistant"
        digest, revision, stamp = assistant.metadata["assistops_rev"].split("@")
    # the tag records the digest, the revision and when apply sent it; status shows that time
    assert revision == head and digest and stamp.isdigit()
    row = next(r for r in resources(prod) if r["address"] == "assistant.assistant")
    applied = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["applied_at"] == applied
    with sdk(repo, "staging") as client:
        assert the_assistant(client).model == "gpt-4o-mini"
    assert again[0] == 0
    assert "No changes: it already matches in demo/prod." in again[1]


def test_promote_to_an_agents_environment(repo: Path) -> None:
    head = git(repo, "rev-parse", "--short=12", "HEAD")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    code, out, err = cli(
        repo, "promote", "--from", "staging", "--to", "agents", "--auto-approve", "--format", "json"
    )

    assert code == 0, err
    document = json.loads(out)
    assert document["command"] == "promote" and document["verified"] is True
    promotion = document["promotion"]
    assert promotion["source"]["environment"] == "staging"
    assert promotion["revision"] == head
    assert {"path": "api", "source": "assistants", "destination": "agents"}.items() <= next(
        d for d in promotion["differences"] if d["path"] == "api"
    ).items()
    agents = status_json(repo, "agents")
    assert agents["api"] == "agents" and agents["revision"] == head
    assert [r["address"] for r in resources(agents) if r["kind"] == "agent"] == ["agent.assistant"]


def test_promote_can_only_plan_and_save_the_plan(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    # outside the project's folder: a new file in it would make the working tree dirty
    saved = repo / "promote.json"

    planned = cli(
        repo, "promote", "--from", "staging", "--to", "prod", "--out", "../promote.json",
        "--detailed-exitcode", "--format", "markdown",
    )  # fmt: skip
    untouched = status_json(repo, "prod")
    applied = cli(repo, "apply", "../promote.json")
    settled = cli(repo, "promote", "--from", "staging", "--to", "prod", "--detailed-exitcode")

    assert planned[0] == 2, planned[2]
    assert planned[1].startswith("### assistops promote: `staging` → `prod` at `")
    assert "### assistops plan: `demo` / `prod`" in planned[1]
    assert "Saved the plan to " in planned[2]
    assert planned[2].endswith("demo apply ../promote.json\n")
    assert json.loads(saved.read_text())["environment"] == "prod"
    assert untouched["revision"] is None
    assert applied[0] == 0, applied[2]
    assert settled[0] == 0, settled[2]
    assert "No changes." in settled[1]
    mixed = cli(
        repo, "promote", "--from", "staging", "--to", "prod", "--out", "x.json", "--auto-approve"
    )
    assert mixed[0] == 1 and "only plan the promotion" in mixed[2]


def test_promote_honours_the_protected_flag(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    assert cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")[0] == 0
    (repo / "demo" / "knowledge" / "docs" / "getting-started.md").unlink()
    (repo / "demo" / "knowledge" / "docs" / "faq.md").write_text("# FAQ\n", encoding="utf-8")
    commit(repo, "replace the getting-started page by a FAQ")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    refused = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    allowed = cli(
        repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve", "--allow-delete"
    )

    assert refused[0] == 1
    assert "environment 'prod' is protected and the plan deletes" in refused[2]
    assert "--allow-delete" in refused[2]
    assert allowed[0] == 0, allowed[2]
    assert status_json(repo, "prod")["in_sync"] is True


def test_promote_asks_on_a_terminal_and_refuses_without_one(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    piped = cli(repo, "promote", "--from", "staging", "--to", "prod")
    code, screen = on_terminal(
        "promote", "--from", "staging", "--to", "prod", "--no-color",
        cwd=repo / "demo",
        answer=("Only 'yes' will be accepted", "yes\n"),
    )  # fmt: skip

    assert piped[0] == 1
    assert "refusing to promote without confirmation" in piped[2]
    assert code == 0, screen
    assert "Do you want to promote revision" in screen
    assert "Promote complete" in screen
    assert status_json(repo, "prod")["in_sync"] is True


# -- promote refused -------------------------------------------------------------------------------


def test_promote_refuses_a_drifted_source(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    with sdk(repo, "staging") as client:
        assistant = the_assistant(client)
        client.beta.assistants.update(assistant.id, instructions="Answer in one word.")

    code, out, err = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert code == 1
    assert out == ""
    assert "promotion from staging to prod refused; nothing was changed in prod" in err
    assert (
        f"assistant.assistant ({assistant.id}): changed outside assistops since its last "
        "apply (instructions)"
    ) in err
    assert "'assistops apply -e staging'" in err
    assert status_json(repo, "prod")["revision"] is None


def test_promote_refuses_a_working_tree_that_renders_something_else(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    instructions = repo / "demo" / "assistants" / "assistant" / "instructions.md.j2"
    instructions.write_text(instructions.read_text() + "\nBe brief.\n", encoding="utf-8")

    dirty = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    commit(repo, "brief answers")
    committed = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert dirty[0] == 1
    assert "the working tree has uncommitted changes in the project" in dirty[2]
    assert committed[0] == 1
    assert "uncommitted" not in committed[2]
    assert "assistant.assistant (asst_" in committed[2]
    assert (
        "the working tree renders something other than what staging runs (instructions)"
        in (committed[2])
    )
    assert status_json(repo, "prod")["revision"] is None


def test_promote_refuses_a_revision_that_is_not_an_ancestor_of_head(repo: Path) -> None:
    instructions = repo / "demo" / "assistants" / "assistant" / "instructions.md.j2"
    git(repo, "checkout", "-q", "-b", "feature")
    instructions.write_text(instructions.read_text() + "\nBe brief.\n", encoding="utf-8")
    feature = commit(repo, "brief answers, on a branch")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    # the same change lands on main as another commit (a squash merge): the tree renders what
    # staging runs, but the commit staging records is not in main's history
    git(repo, "checkout", "-q", "main")
    instructions.write_text(instructions.read_text() + "\nBe brief.\n", encoding="utf-8")
    commit(repo, "brief answers (squashed)")

    code, _, err = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert code == 1
    assert f"staging runs revision {feature}, not in HEAD's history" in err
    assert "assistant.assistant (asst_" in err
    assert "renders something other" not in err
    assert status_json(repo, "prod")["revision"] is None


def test_promote_refuses_what_cannot_be_promoted_before_reading_anything(repo: Path) -> None:
    same = cli(repo, "promote", "--from", "staging", "--to", "staging")
    unknown = cli(repo, "promote", "--from", "staging", "--to", "qa")
    empty = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert same[0] == 1 and "--from and --to both name 'staging'" in same[2]
    assert unknown[0] == 1 and "qa" in unknown[2] and "staging" in unknown[2]
    assert empty[0] == 1
    assert "nothing assistops manages runs in staging: apply it first" in empty[2]


def test_show_renders_saved_plans_of_several_environments_as_one_comment(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    instructions = repo / "demo" / "assistants" / "assistant" / "instructions.md.j2"
    instructions.write_text(instructions.read_text() + "\nBe brief.\n", encoding="utf-8")
    for env in ("staging", "prod"):
        assert cli(repo, "plan", "-e", env, "--out", f"../{env}.json")[0] == 0

    code, md, err = cli(repo, "show", "../staging.json", "../prod.json", "--format", "markdown")
    text = cli(repo, "show", "../prod.json")
    missing = cli(repo, "show", "../nothing.json")

    assert code == 0, err
    lines = md.splitlines()
    assert lines[0] == "## assistops plan: `demo`"
    assert lines[2] == "- `staging`: Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."
    assert lines[3] == "- `prod`: Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy."
    assert md.index("### assistops plan: `demo` / `staging`") < md.index("/ `prod`")
    assert text[0] == 0 and "environment prod" in text[1]
    assert missing[0] == 1 and "no such plan file" in missing[2]


def test_promote_refuses_a_revision_this_clone_does_not_have(repo: Path) -> None:
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0
    with sdk(repo, "staging") as client:
        assistant = the_assistant(client)
        digest = assistant.metadata["assistops_rev"].split("@")[0]
        # as if staging had been applied from a commit this clone lacks (a shallow checkout)
        metadata = {**assistant.metadata, "assistops_rev": f"{digest}@0123456789ab"}
        client.beta.assistants.update(assistant.id, metadata=metadata)

    status = status_json(repo, "staging")
    code, _, err = cli(repo, "promote", "--from", "staging", "--to", "prod", "--auto-approve")

    assert status["in_sync"] is True  # the declarations match: only the revision is unknown
    assert code == 1
    assert (
        f"assistant.assistant ({assistant.id}): staging runs revision 0123456789ab, not a commit "
        "of this repository: fetch the full history"
    ) in err
    assert "fetch-depth: 0" in err


def test_promote_to_another_provider_with_its_own_key(repo: Path) -> None:
    key = "-".join(("sk", "canary", "promote", "0123456789abcdef"))
    with start_server(":memory:", api_key=key) as server:
        config = repo / "demo" / "assistops.yaml"
        config.write_text(
            config.read_text(encoding="utf-8") + "  remote:\n"
            "    provider: openai\n"
            f"    base_url: {server.base_url}\n"
            "    api_key_env: REMOTE_KEY\n"
            "    variables:\n"
            "      greeting: Hello from afar\n",
            encoding="utf-8",
        )
        head = commit(repo, "a remote environment")
        assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

        done = run(
            "-C", repo / "demo", "promote", "--from", "staging", "--to", "remote",
            "--auto-approve", env={"REMOTE_KEY": key},
        )  # fmt: skip
        shown = run("-C", repo / "demo", "status", "--all-envs", env={"REMOTE_KEY": key})
        wrong = run(
            "-C", repo / "demo", "promote", "--from", "staging", "--to", "remote",
            "--auto-approve", env={"REMOTE_KEY": key[::-1]},
        )  # fmt: skip
        client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
        remote = the_assistant(client)

    assert done.exit_code == 0, done.stderr
    assert "Promote complete: 3 added" in done.stdout
    assert remote.metadata["assistops_rev"].split("@")[1] == head
    assert remote.metadata["assistops"] == "demo/remote/assistant.assistant"
    remote_row = next(
        line for line in shown.stdout.splitlines() if line.lstrip().startswith("remote ")
    )
    assert "openai" in remote_row and head in remote_row and "at HEAD" in remote_row
    assert wrong.exit_code == 1
    for result in (done, shown, wrong):
        assert key not in result.stdout + result.stderr
        assert key[::-1] not in result.stdout + result.stderr


# -- the tests gate -------------------------------------------------------------------------------

GATE_TEST = """\
turns:
  - user: Hello there
    expect:
      - {expectation}
"""


def test_promote_require_tests_refuses_on_a_failed_conversation_test(repo: Path) -> None:
    tests = repo / "demo" / "assistants" / "assistant" / "tests"
    tests.mkdir()
    (tests / "greets.yaml").write_text(
        GATE_TEST.format(expectation="contains: a sentence no reply has"), encoding="utf-8"
    )
    commit(repo, "a conversation test that fails")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    code, _out, err = cli(
        repo, "promote", "--from", "staging", "--to", "prod", "--require-tests", "--auto-approve"
    )

    assert code == 1
    assert "FAIL  assistant/greets" in err
    assert "user: Hello there" in err  # the failure's conversation, as 'test' prints it
    assert "conversation test assistant/greets failed (0/1 attempts passed, 1 needed)" in err
    assert "see it with 'assistops test -e staging'" in err
    assert status_json(repo, "prod")["resources"] and all(
        r["state"] == "not created yet" for r in resources(status_json(repo, "prod"))
    )


def test_promote_require_tests_promotes_when_they_pass(repo: Path) -> None:
    tests = repo / "demo" / "assistants" / "assistant" / "tests"
    tests.mkdir()
    (tests / "greets.yaml").write_text(
        GATE_TEST.format(expectation="not_contains: a sentence no reply has"), encoding="utf-8"
    )
    commit(repo, "a conversation test that passes")
    assert cli(repo, "apply", "-e", "staging", "--auto-approve")[0] == 0

    code, out, err = cli(
        repo, "promote", "--from", "staging", "--to", "prod", "--require-tests", "--auto-approve"
    )

    assert code == 0, err
    assert "PASS  assistant/greets" in err
    assert "Promote complete: 3 added" in out
