"""Assistants deployed as OpenAI agents: the CLI against the backend's /v1/agents over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner
from engine_helpers import EXAMPLE, KEY, run

from assistops.backend import BackendControl, RunningBackend
from assistops.cli.main import cli

AGENTS_ENV = """
  agents:
    provider: openai
    api: agents
    base_url: {base_url}
    api_key_env: ASSISTOPS_TEST_KEY
    leave_out: [description, temperature, top_p, file_search, code_interpreter, strict]
    variables:
      support_email: support@agents.example
      escalation: Escalate in the agents queue.
"""


@pytest.fixture
def agents_project(project: Path, backend: RunningBackend) -> Path:
    """The example project with an environment ``agents`` on the backend's Agents API."""
    with (project / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(AGENTS_ENV.format(base_url=backend.base_url))
    return project


@pytest.fixture
def agents_sdk(backend: RunningBackend) -> openai.OpenAI:
    """A plain SDK client that parses every response strictly (the SDK types are the contract)."""
    return openai.OpenAI(
        base_url=backend.base_url, api_key=KEY, max_retries=0, _strict_response_validation=True
    )


def _plan_json(root: Path, *extra: str) -> dict:
    result = run(root, "plan", "-e", "agents", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _apply(root: Path, *extra: str) -> str:
    result = run(root, "apply", "-e", "agents", "--auto-approve", *extra)
    assert result.exit_code == 0, result.output
    return result.output


def _agents(client: openai.OpenAI) -> dict[str, object]:
    return {a.name: a for a in client.beta.agents.list(limit=100)}


def test_apply_from_empty_creates_agents_and_never_calls_the_assistants_api(
    agents_project: Path, agents_sdk: openai.OpenAI, control: BackendControl
) -> None:
    plan = _plan_json(agents_project)
    assert plan["api"] == "agents"
    assert plan["summary"] == {"create": 8, "update": 0, "replace": 0, "delete": 0}
    text = run(agents_project, "plan", "-e", "agents", "--no-color").output
    assert text.startswith("assistops plan: project acme-support, environment agents (as agents)")
    assert sorted(r["address"] for r in plan["resources"] if r["kind"] == "agent") == [
        "agent.analyst",
        "agent.support",
        "agent.triage",
    ]
    control.clear_requests()
    out = _apply(agents_project)
    assert "Verified: a fresh plan shows no changes." in out
    routes = control.requests()
    assert not [r for r in routes if "/assistants" in r or "/threads" in r], routes
    assert routes.get("POST /v1/agents") == 3
    agents = _agents(agents_sdk)
    support = agents["Acme Support"]
    assert support.metadata["assistops"] == "acme-support/agents/agent.support"  # type: ignore[attr-defined]
    assert support.metadata["team"] == "customer-experience"  # type: ignore[attr-defined]
    assert [t.name for t in support.tools] == ["lookup_order", "create_ticket"]  # type: ignore[attr-defined]
    triage = agents["Acme Ticket Triage"]
    assert triage.text.format.type == "json_schema"  # type: ignore[attr-defined]
    assert agents["Acme Sales Analyst"].reasoning.effort == "low"  # type: ignore[attr-defined]
    again = run(agents_project, "plan", "-e", "agents", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_an_instruction_edit_updates_the_agent_in_place(
    agents_project: Path, agents_sdk: openai.OpenAI
) -> None:
    _apply(agents_project)
    before = _agents(agents_sdk)["Acme Support"].id  # type: ignore[attr-defined]
    template = agents_project / "support" / "instructions.md.j2"
    template.write_text(template.read_text().replace("never guess", "do not guess"))
    plan = _plan_json(agents_project)
    assert [s["op"] for s in plan["steps"]] == ["update_agent"]
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["address"] == "agent.support"
    assert [c["path"] for c in change["changes"]] == ["instructions"]
    text = run(agents_project, "plan", "-e", "agents", "--no-color").output
    line = "Answer from the handbook (file search). If the handbook does not say, say so; "
    assert f"+{line}do not guess" in text and f"-{line}never guess" in text
    _apply(agents_project)
    assert _agents(agents_sdk)["Acme Support"].id == before  # type: ignore[attr-defined]


def test_drift_made_with_the_sdk_is_shown_and_restored(
    agents_project: Path, agents_sdk: openai.OpenAI
) -> None:
    _apply(agents_project)
    support = _agents(agents_sdk)["Acme Support"]
    agents_sdk.beta.agents.update(support.id, model="gpt-4.1")  # type: ignore[attr-defined]
    plan = _plan_json(agents_project)
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["drift"] is True
    assert change["changes"] == [
        {"path": "model", "before": "gpt-4.1", "after": "gpt-4o-mini", "breaking": None}
    ]
    _apply(agents_project)
    assert agents_sdk.beta.agents.retrieve(support.id).model == "gpt-4o-mini"  # type: ignore[attr-defined]


def test_a_saved_plan_is_refused_when_an_agent_moved(
    agents_project: Path, agents_sdk: openai.OpenAI, tmp_path: Path
) -> None:
    _apply(agents_project)
    template = agents_project / "triage" / "assistant.yaml"
    template.write_text(template.read_text().replace("Classify", "Sort"))
    saved = tmp_path / "plan.json"
    assert run(agents_project, "plan", "-e", "agents", "--out", str(saved)).exit_code == 0
    support = _agents(agents_sdk)["Acme Support"]
    agents_sdk.beta.agents.update(support.id, metadata={**support.metadata, "x": "y"})  # type: ignore[attr-defined]
    result = run(agents_project, "apply", str(saved), "--auto-approve")
    assert result.exit_code == 1
    assert "is stale" in result.output and "agent.support" in result.output


def test_a_create_retried_after_a_committed_error_leaves_no_duplicate(
    agents_project: Path, agents_sdk: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("commit_then_error", "POST /v1/agents", first=1)
    out = _apply(agents_project)
    assert "Verified: a fresh plan shows no changes." in out
    names = [a.name for a in agents_sdk.beta.agents.list(limit=100)]
    assert sorted(names) == ["Acme Sales Analyst", "Acme Support", "Acme Ticket Triage"]


def test_destroy_removes_only_our_agents(agents_project: Path, agents_sdk: openai.OpenAI) -> None:
    mine = agents_sdk.beta.agents.create(model="gpt-4o", name="Hand made")
    _apply(agents_project)
    result = run(agents_project, "destroy", "-e", "agents", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert [a.id for a in agents_sdk.beta.agents.list(limit=100)] == [mine.id]


def test_import_of_an_untagged_agent_plans_clean(
    agents_project: Path, agents_sdk: openai.OpenAI, backend: RunningBackend
) -> None:
    # a project whose only environment deploys agents: an mcp tool fits in every environment
    (agents_project / "assistops.yaml").write_text(
        "project: acme-support\ndefaults:\n  model: gpt-4o-mini\nenvironments:\n"
        "  local: {provider: local, api: agents}" + AGENTS_ENV.format(base_url=backend.base_url)
    )
    made = agents_sdk.beta.agents.create(
        model="gpt-4o",
        name="Partner Desk",
        instructions="Answer partners.",
        metadata={"owner": "partners"},
        reasoning={"effort": "medium"},
        tools=[
            {
                "type": "function",
                "name": "find_partner",
                "description": "Find a partner by name.",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
            {
                "type": "mcp",
                "server_label": "crm",
                "transport": {"type": "http", "server_url": "https://crm.acme.example/mcp"},
            },
        ],
    )
    result = run(agents_project, "import", "-e", "agents", made.id, "--name", "partners")
    assert result.exit_code == 0, result.output
    declared = (agents_project / "assistants" / "partners" / "assistant.yaml").read_text()
    assert "mcp:" in declared and "server_label: crm" in declared
    after = agents_sdk.beta.agents.retrieve(made.id)
    assert after.metadata["assistops"] == "acme-support/agents/agent.partners"
    assert after.metadata["owner"] == "partners"
    plan = _plan_json(agents_project, "--target", "agent.partners")
    assert [(r["address"], r["action"]) for r in plan["resources"]] == [("agent.partners", "no-op")]
    assert plan["steps"] == []


def test_export_of_an_agents_environment_plans_clean(agents_project: Path, tmp_path: Path) -> None:
    _apply(agents_project)
    dest = tmp_path / "exported"
    result = run(agents_project, "export", str(dest), "-e", "agents")
    assert result.exit_code == 0, result.output
    assert "api: agents" in (dest / "assistops.yaml").read_text()
    assert run(dest, "validate").exit_code == 0
    result = run(dest, "plan", "-e", "agents", "--detailed-exitcode")
    assert result.exit_code == 0, result.output


def test_a_knowledge_only_project_on_agents_lists_neither_assistants_nor_threads(
    agents_project: Path, control: BackendControl
) -> None:
    for name in ("support", "analyst", "triage"):
        for path in sorted((agents_project / name).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (agents_project / name).rmdir()
    control.clear_requests()
    _apply(agents_project)
    routes = control.requests()
    assert not [r for r in routes if "/assistants" in r or "/threads" in r], routes
    assert routes.get("POST /v1/vector_stores") == 1


def test_an_apply_killed_while_creating_agents_converges_with_no_duplicate(
    agents_project: Path, agents_sdk: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("latency", "*", times=None, latency_ms=150)
    env = {**os.environ, "ASSISTOPS_TEST_KEY": KEY}
    command = [sys.executable, "-m", "assistops", "apply", "-C", str(agents_project)]
    child = subprocess.Popen(
        [*command, "-e", "agents", "--auto-approve", "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and control.requests().get("POST /v1/agents", 0) < 2:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    control.clear_faults()
    assert 0 < len(list(agents_sdk.beta.agents.list(limit=100))) < 3  # really interrupted
    _apply(agents_project)
    names = sorted(a.name or "" for a in agents_sdk.beta.agents.list(limit=100))
    assert names == ["Acme Sales Analyst", "Acme Support", "Acme Ticket Triage"]
    assert run(agents_project, "plan", "-e", "agents", "--detailed-exitcode").exit_code == 0


def test_the_example_projects_local_agents_environment_applies_and_plans_clean(
    tmp_path: Path,
) -> None:
    """The example's local-agents environment: the embedded backend, no key, no network."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    runner = CliRunner()
    applied = runner.invoke(cli, ["apply", "-C", str(root), "-e", "local-agents", "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert "create agent: agent.support" in applied.output
    assert "Verified: a fresh plan shows no changes." in applied.output
    plan = runner.invoke(
        cli, ["plan", "-C", str(root), "-e", "local-agents", "--detailed-exitcode"]
    )
    assert plan.exit_code == 0, plan.output
    assert "No changes" in plan.output
