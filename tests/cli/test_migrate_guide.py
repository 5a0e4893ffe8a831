"""docs/migrate.md, run as a user runs it: the installed ``assistops`` script on a copy of the
example project, from an Assistants-protocol environment to an ``agents`` and a ``responses``
one, and the release read back over HTTP from ``assistops serve``.

Every step is a subprocess (about a second each), so the module is marked slow. The exported
project is made once per module; each test retargets its own copy of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from contract.validator import ContractRecorder
from declarations.conftest import CREDENTIAL_VARS
from declarations.helpers import EXAMPLE, REPO

import assistops

SCRIPT = Path(sys.executable).with_name("assistops")
PROJECT = "acme-support"
EXAMPLE_APP = REPO / "examples" / "responses_app.py"

pytestmark = pytest.mark.slow

# what the guide's step 2 declares, before validate has been heard
RETARGET = """
  agents:
    provider: local
    api: agents
  responses:
    provider: local
    api: responses
"""
# ... and after (step 3)
RETARGETED = """
  agents:
    provider: local
    api: agents
    leave_out: [description, temperature, top_p, file_search, code_interpreter, strict]
  responses:
    provider: local
    api: responses
    leave_out: [description]
"""


def call(
    *args: str | os.PathLike[str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would: no credentials in its environment, no terminal."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    return subprocess.run(
        [os.fspath(a) for a in args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def assistops_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``assistops <command> -C root <args>``."""
    return call(SCRIPT, args[0], "-C", root, *args[1:])


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must succeed."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def apply(root: Path, environment: str) -> str:
    """``assistops apply -e <environment> --auto-approve``, which must succeed: what it shows
    (the progress is on stderr, the summary on stdout)."""
    done = assistops_cli(root, "apply", "-e", environment, "--auto-approve")
    ok(done)
    return done.stderr + done.stdout


@dataclass(frozen=True)
class Exported:
    """The source project (applied to ``local``) and what ``export`` wrote from it."""

    source: Path
    dest: Path
    output: str


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Guide, before step 1 and step 1: apply ``local``, then export it."""
    base = tmp_path_factory.mktemp("migrate")
    source = base / "migr"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns(".assistops"))
    apply(source, "local")
    dest = base / "migr-exported"
    output = ok(call(SCRIPT, "export", dest, "-C", source, "-e", "local"))
    return Exported(source, dest, output)


def retarget(exported: Exported, where: Path, environments: str) -> Path:
    """A copy of the exported project with ``environments`` declared (guide, step 2)."""
    root = where / "project"
    shutil.copytree(exported.dest, root, ignore=shutil.ignore_patterns(".assistops"))
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(environments)
    return root


@pytest.fixture
def retargeted(exported: Exported, tmp_path: Path) -> Path:
    """The exported project with the guide's agents and responses environments."""
    return retarget(exported, tmp_path, RETARGETED)


def line_of(path: Path, pattern: str) -> int:
    """The 1-based number of the first line of ``path`` matching ``pattern``."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, text):
            return number
    raise AssertionError(f"{pattern!r} not in {path}")


@contextmanager
def served(root: Path, environment: str) -> Iterator[str]:
    """``assistops serve --db .assistops/<environment>.db --port 0`` in ``root``; its URL, as
    the first line it prints says it."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    command = [os.fspath(SCRIPT), "serve", "--db", f".assistops/{environment}.db", "--port", "0"]
    proc = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("assistops local backend on http://127.0.0.1:"), first
        yield first.rsplit(" ", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


@contextmanager
def sdk(base_url: str) -> Iterator[openai.OpenAI]:
    """An app's client for ``base_url``, every exchange checked against the OpenAPI subset."""
    contract = ContractRecorder()
    http = openai.DefaultHttpx2Client(event_hooks=contract.event_hooks())
    with openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, http_client=http) as made:
        yield made
    contract.assert_clean()


def read_release_bare(client: openai.OpenAI, environment: str) -> tuple[str, dict[str, Any]]:
    """The guide's bare-SDK reading of the current release: its filename and its requests."""
    prefix = f"assistops-release.{PROJECT}.{environment}."
    releases = [f for f in client.files.list(purpose="batch") if f.filename.startswith(prefix)]
    current = max(releases, key=lambda f: int(f.filename[len(prefix) :].split(".")[0]))
    lines = client.files.content(current.id).text.splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return current.filename, {e["custom_id"]: e["body"] for e in entries}


# -- step 1: export, or import ------------------------------------------------------------------


def test_export_writes_the_environment_as_declarations_whose_plan_is_empty(
    exported: Exported,
) -> None:
    dest = exported.dest
    assert "Exported vector_store.handbook, assistant.analyst, assistant.support" in (
        exported.output
    )
    for name in ("support", "analyst", "triage"):
        assert (dest / "assistants" / name / "assistant.yaml").is_file()
    for doc in (exported.source / "knowledge" / "handbook").iterdir():
        assert (dest / "knowledge" / "handbook" / doc.name).read_bytes() == doc.read_bytes()
    config = (dest / "assistops.yaml").read_text(encoding="utf-8")
    assert f"project: {PROJECT}" in config
    assert "api: assistants" in config
    plan = assistops_cli(dest, "plan", "-e", "local", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout


def test_import_adopts_an_assistant_made_by_hand_into_existing_declarations(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    with served(root, "local") as url, sdk(url) as client:
        made = client.beta.assistants.create(
            model="gpt-4o-mini",
            name="Returns Desk",
            instructions="You handle returns for Acme.",
            temperature=0.5,
        )
    done = ok(assistops_cli(root, "import", "-e", "local", made.id))
    assert "Imported assistant.returns-desk." in done
    assert f"tagged assistant.returns-desk ({made.id})" in done
    declared = (root / "returns-desk" / "assistant.yaml").read_text(encoding="utf-8")
    assert "display_name: Returns Desk" in declared
    assert (root / "returns-desk" / "instructions.md.j2").read_text(encoding="utf-8") == (
        "You handle returns for Acme."
    )
    plan = assistops_cli(root, "plan", "-e", "local", "--target", "assistant.returns-desk")
    assert plan.returncode == 0, plan.stderr
    assert "No changes." in plan.stdout


# -- steps 2 and 3: retarget, validate ----------------------------------------------------------


def test_validate_names_each_field_an_agent_cannot_hold_with_file_line_and_fix(
    exported: Exported, tmp_path: Path
) -> None:
    root = retarget(exported, tmp_path, RETARGET)
    done = assistops_cli(root, "validate")
    assert done.returncode == 1
    support = root / "assistants" / "support" / "assistant.yaml"
    analyst = root / "assistants" / "analyst" / "assistant.yaml"
    triage = root / "assistants" / "triage" / "assistant.yaml"
    expected = [
        (support, r"^\s*- file_search:", "tools[0]", "file_search tool", "file_search"),
        (
            analyst,
            r"^\s*- code_interpreter:",
            "tools[0]",
            "code_interpreter tool",
            "code_interpreter",
        ),
        (support, r"^description:", "description", "description", "description"),
        (support, r"^temperature:", "temperature", "temperature", "temperature"),
        (triage, r"^top_p:", "top_p", "top_p", "top_p"),
        (support, r"^\s+strict: true", "tools[1].function.strict", "strict mode", "strict"),
    ]
    for path, pattern, field, what, token in expected:
        where = f"{path.relative_to(root)}:{line_of(path, pattern)}: {field}: "
        found = [line for line in done.stderr.splitlines() if line.startswith(where)]
        assert found, f"no problem at {where!r} in:\n{done.stderr}"
        assert f"an OpenAI agent has no {what}" in found[0]
        assert f"add '{token}' to environments.agents.leave_out" in done.stderr
    # nothing of the old environment; of the responses one only the descriptions it may leave out
    assert "(in environment local)" not in done.stderr
    responses = [p for p in done.stderr.splitlines() if p.endswith("(in environment responses)")]
    assert len(responses) == 3, done.stderr
    assert all(": description: a Responses request has no description" in p for p in responses)
    count = len(re.findall(r"^\S+\.yaml:\d+: ", done.stderr, flags=re.MULTILINE))
    assert f"{count} problems found." in done.stderr


def test_leave_out_makes_the_new_environments_valid(retargeted: Path) -> None:
    assert ok(assistops_cli(retargeted, "validate")) == (
        f"{PROJECT}: valid in 3 environments (local, agents, responses)\n"
    )


def test_leaving_out_less_than_an_agent_lacks_is_still_refused(
    exported: Exported, tmp_path: Path
) -> None:
    partial = RETARGETED.replace("leave_out: [description, temperature, ", "leave_out: [")
    root = retarget(exported, tmp_path, partial)
    done = assistops_cli(root, "validate", "-e", "agents")
    assert done.returncode == 1
    assert "an OpenAI agent has no description" in done.stderr
    assert "an OpenAI agent has no temperature" in done.stderr
    assert "file_search" not in done.stderr  # still listed, still left out


def test_render_names_what_a_responses_request_leaves_out(retargeted: Path) -> None:
    done = assistops_cli(
        retargeted, "render", "-e", "responses", "--format", "responses", "support"
    )
    assert done.returncode == 0, done.stderr
    path = retargeted / "assistants" / "support" / "assistant.yaml"
    rel = path.relative_to(retargeted)
    assert f"{rel}:{line_of(path, '^display_name:')}: display_name: " in done.stderr
    assert f"{rel}:{line_of(path, '^description:')}: description: " in done.stderr


def test_validate_refuses_a_description_a_responses_environment_does_not_leave_out(
    exported: Exported, tmp_path: Path
) -> None:
    root = retarget(exported, tmp_path, RETARGET)
    done = assistops_cli(root, "validate", "-e", "responses")
    assert done.returncode == 1
    assert "add 'description' to environments.responses.leave_out" in done.stderr


# -- step 4: plan and apply ---------------------------------------------------------------------


def test_the_agents_apply_converges_to_a_no_op_plan(retargeted: Path) -> None:
    applied = apply(retargeted, "agents")
    for name in ("support", "analyst", "triage"):
        assert f"create agent: agent.{name}" in applied
    assert "create assistant" not in applied
    assert "analyst/data" not in applied  # code-interpreter files are not uploaded
    assert "Verified: a fresh plan shows no changes." in applied
    plan = assistops_cli(retargeted, "plan", "-e", "agents", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout

    # step 5, to agents: the app finds its agent by the ownership tag
    with served(retargeted, "agents") as url, sdk(url) as client:
        tag = f"{PROJECT}/agents/agent.support"
        agents = list(client.beta.agents.list(limit=100))
        (support,) = [a for a in agents if (a.metadata or {}).get("assistops") == tag]
        assert support.name == "Acme Support"
        assert [t.type for t in support.tools] == ["function", "function"]
        assert sorted(a.name or "" for a in agents) == [
            "Acme Sales Analyst",
            "Acme Support",
            "Acme Ticket Triage",
        ]
        assert client.beta.assistants.list().data == []


@dataclass(frozen=True)
class Released:
    """A retargeted project whose responses environment is applied."""

    root: Path
    output: str


@pytest.fixture(scope="module")
def released(exported: Exported, tmp_path_factory: pytest.TempPathFactory) -> Released:
    root = retarget(exported, tmp_path_factory.mktemp("released"), RETARGETED)
    output = apply(root, "responses")
    return Released(root, output)


def test_the_responses_apply_publishes_a_release_and_converges(released: Released) -> None:
    out = released.output
    assert "publish release: release.acme-support" in out
    assert out.index("attach files: vector_store.handbook") < out.index("publish release")
    assert "create assistant" not in out and "create agent" not in out
    assert "Verified: a fresh plan shows no changes." in out
    plan = assistops_cli(released.root, "plan", "-e", "responses", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout


def test_the_release_loads_over_http_from_assistops_serve(released: Released) -> None:
    root = released.root
    with served(root, "responses") as url, sdk(url) as client:
        release = assistops.load_release(client, PROJECT, "responses")
        assert release.intact
        assert sorted(release.requests) == ["analyst", "support", "triage"]
        support = release.request("support")
        instructions = root / "assistants" / "support" / "instructions.md.j2"
        assert support["instructions"] == instructions.read_text(encoding="utf-8")
        (search,) = [t for t in support["tools"] if t["type"] == "file_search"]
        (store_id,) = search["vector_store_ids"]
        store = client.vector_stores.retrieve(store_id)
        assert store.name == "Acme customer handbook"
        assert store.file_counts.completed == 4
        (interpreter,) = release.request("analyst")["tools"]
        names = {client.files.retrieve(i).filename for i in interpreter["container"]["file_ids"]}
        assert {n.rsplit(".", 2)[-2] for n in names} == {"regions", "sales"}
        assert "description" not in support and "name" not in support

        # the bare SDK reads the same release
        filename, requests = read_release_bare(client, "responses")
        assert filename == (
            f"assistops-release.{PROJECT}.responses.{release.serial}.{release.revision}."
            f"{release.digest}.jsonl"
        )
        assert requests == release.requests

        response = client.responses.create(
            **support, input="How many days do I have to return an item?"
        )
        assert response.status == "completed"
        assert "30 days" in response.output_text


def test_the_example_app_answers_from_the_release(released: Released) -> None:
    with served(released.root, "responses") as url:
        done = call(sys.executable, EXAMPLE_APP, "--base-url", url, "--environment", "responses")
    out = ok(done)
    assert out.startswith(f"release {PROJECT}/responses at revision ")
    assert "> How many days do I have to return an item?" in out
    assert re.search(r"\[cites \S+returns\.md \(file-\w+\)\]", out), out
    assert "(app ran lookup_order(" in out
    assert '"status": "shipped"' in out


# -- rollback -----------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    done = call(
        "git", "-c", "user.name=guide", "-c", "user.email=guide@example.invalid", *args, cwd=root
    )
    return ok(done).strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_applying_the_earlier_revision_rolls_the_release_back(retargeted: Path) -> None:
    git(retargeted, "init", "-q")
    git(retargeted, "add", "-A")
    git(retargeted, "commit", "-qm", "migrated")
    first = git(retargeted, "rev-parse", "HEAD")
    apply(retargeted, "responses")
    template = retargeted / "assistants" / "support" / "instructions.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "Answer in one sentence.\n")
    git(retargeted, "commit", "-qam", "shorter answers")
    apply(retargeted, "responses")

    git(retargeted, "checkout", "-q", first)
    rolled = apply(retargeted, "responses")
    assert "publish release: release.acme-support" in rolled
    assert "retire release: release.acme-support" in rolled
    assert rolled.index("publish release") < rolled.index("retire release")

    with served(retargeted, "responses") as url, sdk(url) as client:
        release = assistops.load_release(client, PROJECT, "responses")
        assert first.startswith(release.revision)
        assert "one sentence" not in release.request("support")["instructions"]
        listed = [f.filename for f in client.files.list(purpose="batch")]
        assert len([n for n in listed if n.startswith("assistops-release.")]) == 1
