"""Faults injected mid-apply, then a second apply: it converges with no duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_helpers import all_assistants, run, sdk

from assistops.backend import BackendControl, RunningBackend


def _counts(backend: RunningBackend) -> tuple[int, int, int]:
    client = sdk(backend)
    return (
        len(all_assistants(client)),
        len(client.vector_stores.list(limit=100).data),
        len(list(client.files.list(purpose="assistants"))),
    )


FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("POST /v1/assistants", {"kind": "error", "first": 2, "should_retry": False}),
    ("POST /v1/assistants", {"kind": "drop", "first": 1, "times": 3}),
    ("POST /v1/assistants", {"kind": "commit_then_error", "first": 1, "times": 3}),
    ("POST /v1/files", {"kind": "commit_then_error", "first": 2}),
    ("POST /v1/files", {"kind": "drop", "first": 3, "times": 3}),
    ("POST /v1/vector_stores", {"kind": "commit_then_drop", "first": 1, "times": 3}),
    (
        "POST /v1/vector_stores/{vector_store_id}/file_batches",
        {"kind": "commit_then_error", "first": 1, "times": 3},
    ),
    (
        "GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}",
        {"kind": "error", "first": 1, "times": 5},
    ),
]


@pytest.mark.parametrize(("route", "fault"), FAULTS, ids=[f"{r}-{f['kind']}" for r, f in FAULTS])
def test_fault_mid_apply_then_apply_again_converges(
    project: Path,
    backend: RunningBackend,
    control: BackendControl,
    route: str,
    fault: dict[str, Any],
) -> None:
    options = dict(fault)
    control.add_fault(options.pop("kind"), route, **options)
    first = run(project, "apply", "-e", "test", "--auto-approve")
    control.clear_faults()
    second = run(project, "apply", "-e", "test", "--auto-approve")
    assert second.exit_code == 0, (first.output, second.output)
    assert _counts(backend) == (3, 1, 6), (first.output, second.output)
    final = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert final.exit_code == 0, final.output


def test_retried_create_duplicates_are_removed_by_the_same_apply(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    # the server commits the create and answers 500: the SDK retries and creates it again
    control.add_fault("commit_then_error", "POST /v1/assistants", first=1)
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "duplicates" in result.output
    assert _counts(backend) == (3, 1, 6)


def test_no_op_plan_uses_only_the_lower_bound_of_list_calls(
    project: Path, control: BackendControl
) -> None:
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0
    control.clear_requests()
    result = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    counts = control.requests()
    counts.pop("total", None)
    # one page each of assistants, vector stores and files, plus the one store's files
    assert counts == {
        "GET /v1/assistants": 1,
        "GET /v1/vector_stores": 1,
        "GET /v1/files": 1,
        "GET /v1/vector_stores/{vector_store_id}/files": 1,
    }


def test_the_error_says_how_many_retries_were_really_made(
    project: Path, control: BackendControl
) -> None:
    control.add_fault("error", "POST /v1/assistants", first=1, should_retry=False)
    result = run(project, "apply", "-e", "test", "--auto-approve", "--concurrency", "1")
    assert result.exit_code == 1
    assert "500" in result.output and "(after no retry)" in result.output
    control.clear_faults()
    control.add_fault("error", "POST /v1/assistants", first=1, times=3)
    result = run(project, "apply", "-e", "test", "--auto-approve", "--concurrency", "1")
    assert result.exit_code == 1
    assert "(after 2 retries)" in result.output


def test_a_store_created_twice_heals_in_the_same_apply_keeping_the_copy_in_use(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    # the server commits the create and answers 500; the SDK retries after a second, so the
    # copy apply goes on with (files attached, assistants pointing at it) is the newer one
    control.add_fault("commit_then_error", "POST /v1/vector_stores", first=1, retry_after=1.2)
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Removed duplicates" in result.output
    assert _counts(backend) == (3, 1, 6)
    client = sdk(backend)
    [store] = client.vector_stores.list().data
    assert store.file_counts.completed == 4
    support = next(a for a in all_assistants(client) if a.name == "Acme Support")  # type: ignore[attr-defined]
    assert support.tool_resources.file_search.vector_store_ids == [store.id]  # type: ignore[attr-defined]
    # nothing was indexed twice
    assert control.requests()["POST /v1/vector_stores/{vector_store_id}/file_batches"] == 1
    final = run(project, "plan", "-e", "test", "--detailed-exitcode")
    assert final.exit_code == 0, final.output
