"""The fault matrix: each apply phase x each fault, through the CLI against the backend.

For every cell the first apply either completes or stops with one clear error naming the
call, and a second apply (faults cleared) converges: exactly one object per declared
resource, nothing owned left behind, and an empty plan. Faults hit one call (the SDK's retry
then succeeds) unless the cell says every try. The matrix and its outcomes are listed in the
issue's closing note. A 429 ``insufficient_quota`` is injected with its code: it must fail
fast (one call, no retry) and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from engine_helpers import all_assistants, run, sdk

from assistops.backend import BackendControl, RunningBackend
from assistops.providers import clients

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
RELEASES_ENV = """
  releases:
    provider: openai
    api: responses
    base_url: {base_url}
    api_key_env: ASSISTOPS_TEST_KEY
    leave_out: [description]
    variables:
      support_email: support@releases.example
      escalation: Escalate in the releases queue.
"""
ENVS = {"test": "", "agents": AGENTS_ENV, "releases": RELEASES_ENV}


@dataclass(frozen=True)
class Cell:
    """One phase of apply: where it runs, the route its write takes, and how to reach it."""

    env: str
    route: str
    first: int = 1  # which call of the route (a release is the 7th file posted)
    prepare: Callable[[Path], None] | None = None  # apply, then change the project


def _applied_then(change: Callable[[Path], None], env: str = "test") -> Callable[[Path], None]:
    def prepare(root: Path) -> None:
        result = run(root, "apply", "-e", env, "--auto-approve")
        assert result.exit_code == 0, result.output
        change(root)

    return prepare


def _edit_instructions(root: Path) -> None:
    template = root / "support" / "instructions.md.j2"
    template.write_text(template.read_text() + "\nAlways be brief.\n")


def _remove_triage(root: Path) -> None:
    (root / "triage" / "assistant.yaml").unlink()


PHASES: dict[str, Cell] = {
    "upload": Cell("test", "POST /v1/files", first=2),
    "store-create": Cell("test", "POST /v1/vector_stores"),
    "attach": Cell("test", "POST /v1/vector_stores/{vector_store_id}/file_batches"),
    "assistant-create": Cell("test", "POST /v1/assistants", first=2),
    "agent-create": Cell("agents", "POST /v1/agents", first=2),
    "release-publish": Cell("releases", "POST /v1/files", first=7),
    "update": Cell(
        "test", "POST /v1/assistants/{assistant_id}", prepare=_applied_then(_edit_instructions)
    ),
    "delete": Cell(
        "test", "DELETE /v1/assistants/{assistant_id}", prepare=_applied_then(_remove_triage)
    ),
}
# kind and options of the fault, and whether the first apply must already succeed
FAULTS: dict[str, tuple[dict[str, Any], bool]] = {
    "429-retry-after": ({"kind": "rate_limit", "retry_after": 0.2}, True),
    "500": ({"kind": "error", "retry_after": 0.05}, True),
    "500-every-try": ({"kind": "error", "retry_after": 0.05, "times": 3}, False),
    "4xx": ({"kind": "error", "status": 400, "message": "Invalid request (injected)."}, False),
    # waiting does not refill a quota: not retried, and said at once
    "429-insufficient-quota": (
        {
            "kind": "error",
            "status": 429,
            "code": "insufficient_quota",
            "message": "You exceeded your current quota, please check your plan.",
        },
        False,
    ),
    "timeout": ({"kind": "latency", "latency_ms": 1500}, True),
    "drop": ({"kind": "drop"}, True),
    "commit-then-500": ({"kind": "commit_then_error", "retry_after": 0.05}, True),
    "commit-then-drop": ({"kind": "commit_then_drop"}, True),
}


def census(client: openai.OpenAI, env: str) -> dict[str, int]:
    """Objects per kind in the environment."""
    stores = client.vector_stores.list(limit=100).data
    out = {
        "stores": len(stores),
        "indexed": sum(s.file_counts.completed for s in stores),
        "uploads": len(client.files.list(purpose="assistants").data),
        "releases": len(client.files.list(purpose="batch").data),
    }
    if env == "test":
        out["assistants"] = len(all_assistants(client))
    if env == "agents":
        out["agents"] = len(client.beta.agents.list(limit=100).data)
    return out


def _expected(env: str, phase: str) -> dict[str, int]:
    """What the example project leaves, from its declarations: 1 store of 4 files, 2 CSVs for
    the analyst's code interpreter (not on agents), 3 assistants (2 once triage is removed)."""
    out = {"stores": 1, "indexed": 4, "uploads": 4 if env == "agents" else 6, "releases": 0}
    if env == "test":
        out["assistants"] = 2 if phase == "delete" else 3
    if env == "agents":
        out["agents"] = 3
    if env == "releases":
        out["releases"] = 1
    return out


@pytest.fixture
def environments(project: Path, backend: RunningBackend) -> Path:
    """The example project with an agents and a responses environment too."""
    with (project / "assistops.yaml").open("a", encoding="utf-8") as handle:
        for text in ENVS.values():
            handle.write(text.format(base_url=backend.base_url))
    return project


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("phase", PHASES)
def test_a_fault_in_each_phase_stops_clearly_or_completes_and_the_next_apply_converges(
    environments: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
    fault: str,
) -> None:
    cell = PHASES[phase]
    timeout = clients.REQUEST_TIMEOUT
    options, must_complete = FAULTS[fault]
    options = dict(options)
    if options["kind"] == "latency":
        # a call slower than the client's timeout: the SDK gives up and retries it (the server
        # still does the work of the first one: the ambiguous case)
        monkeypatch.setattr(clients, "REQUEST_TIMEOUT", httpx2.Timeout(0.5, connect=0.5))
    if cell.prepare is not None:
        cell.prepare(environments)
    control.add_fault(options.pop("kind"), cell.route, first=cell.first, **options)
    first = run(environments, "apply", "-e", cell.env, "--auto-approve")
    fired = [f["fired"] for f in control.faults()]
    control.clear_faults()
    assert fired == [1] or fired == [options.get("times", 1)], (fired, first.output)
    if must_complete:
        assert first.exit_code == 0, first.output
    elif first.exit_code != 0:
        error = first.output[first.output.index("Error:") :]
        assert cell.route.split(" ")[0] in error and " -> " in error, error
        assert "Traceback" not in first.output
    if fault == "429-insufficient-quota":
        assert first.exit_code == 1 and "quota" in first.output, first.output
    monkeypatch.setattr(clients, "REQUEST_TIMEOUT", timeout)  # the next apply runs as usual
    second = run(environments, "apply", "-e", cell.env, "--auto-approve")
    assert second.exit_code == 0, (first.output, second.output)
    assert census(sdk(backend), cell.env) == _expected(cell.env, phase), (
        first.output,
        second.output,
    )
    final = run(environments, "plan", "-e", cell.env, "--detailed-exitcode")
    assert final.exit_code == 0, final.output


def test_retry_after_is_honoured_and_a_4xx_is_not_retried(
    environments: Path, control: BackendControl
) -> None:
    control.add_fault("rate_limit", "POST /v1/files", retry_after=0.2)
    control.add_fault("error", "POST /v1/vector_stores", status=400, message="Invalid (injected).")
    control.clear_requests()
    result = run(environments, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 1
    counts = control.requests()
    assert counts["POST /v1/files"] == 6 + 1  # six contents, one 429 retried after its wait
    assert counts["POST /v1/vector_stores"] == 1  # a 400 fails fast: no retry
    error = result.output[result.output.index("Error:") :]
    assert "POST /v1/vector_stores -> 400" in error and "Invalid (injected)" in error, error
    assert [f["fired"] for f in control.faults()] == [1, 1]
