"""A 429 during apply lowers how many calls are in flight, as the server sees it; a 429
``insufficient_quota`` fails at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import KEY, KEY_ENV, run

from assistops.backend import BackendControl, RunningBackend

CREATE = "POST /v1/assistants"
LATENCY_MS = 100
RETRY_AFTER = 0.5


def _project(tmp_path: Path, backend: RunningBackend, assistants: int) -> Path:
    """``assistants`` assistants that use no store: every create is ready at once."""
    root = tmp_path / "many"
    (root / "assistants").mkdir(parents=True)
    (root / "assistops.yaml").write_text(
        "project: many\n"
        "paths:\n"
        '  assistants: ["assistants/*/assistant.yaml"]\n'
        "defaults:\n"
        "  model: gpt-4o-mini\n"
        "environments:\n"
        "  test:\n"
        "    provider: openai\n"
        f"    base_url: {backend.base_url}\n"
        f"    api_key_env: {KEY_ENV}\n",
        encoding="utf-8",
    )
    for a in range(assistants):
        folder = root / "assistants" / f"a{a:02d}"
        folder.mkdir()
        (folder / "instructions.md.j2").write_text(f"Assistant {a}.\n", encoding="utf-8")
        (folder / "assistant.yaml").write_text(f"name: a{a:02d}\n", encoding="utf-8")
    return root


@pytest.fixture
def many(tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, KEY)
    return _project(tmp_path, backend, 24)


def test_a_rate_limit_halves_the_calls_in_flight_then_they_grow_back(
    many: Path, control: BackendControl
) -> None:
    control.add_fault("latency", "*", times=None, latency_ms=LATENCY_MS)
    # the 9th create (after a first wave of 8 in flight) is rate limited
    control.add_fault("rate_limit", CREATE, first=9, retry_after=RETRY_AFTER)
    control.clear_requests()

    result = run(many, "apply", "-e", "test", "--auto-approve", "--concurrency", "8")

    assert result.exit_code == 0, result.output
    creates = [r for r in control.request_log() if r["route"] == CREATE]
    assert len(creates) == 24 + 1  # one create each, and the limited one once more
    limited = creates[8]
    before = max(r["in_flight"] for r in creates[:8])
    # everything that arrived once the 429 was answered and its Retry-After passed was
    # started by the lowered width: 8 // 2, and one more after 4 successes
    resumed = limited["at"] + LATENCY_MS / 1000 + RETRY_AFTER
    after = [r["in_flight"] for r in creates if r["at"] >= resumed]
    assert before >= 6, creates[:8]  # the first wave went out at (about) full width
    assert after and max(after[:4]) <= 4 and max(after) <= 5, after
    assert run(many, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def test_insufficient_quota_is_not_retried_and_starts_nothing_more(
    many: Path, control: BackendControl
) -> None:
    control.add_fault("error", CREATE, status=429, code="insufficient_quota", first=3)
    control.clear_requests()

    result = run(many, "apply", "-e", "test", "--auto-approve", "--concurrency", "1")

    assert result.exit_code == 1
    assert control.requests()[CREATE] == 3  # two created, the third refused once, no retry
    assert "not retried" in result.output and "billing" in result.output
