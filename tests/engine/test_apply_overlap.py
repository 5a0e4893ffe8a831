"""Apply overlaps independent calls across phases, seen from the server's request log: a store
is created while files upload, and an assistant that uses no store does not wait for another
store's indexing (``test_apply_order`` checks the graph; this checks the wire)."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import run

from assistops.backend import BackendControl

UPLOAD = "POST /v1/files"
CREATE_STORE = "POST /v1/vector_stores"
POLL = "GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"
CREATE_ASSISTANT = "POST /v1/assistants"


def test_independent_calls_overlap_across_phases(project: Path, control: BackendControl) -> None:
    control.set_processing("reads", reads=3)  # the handbook indexes over three polls
    control.add_fault("latency", "*", times=None, latency_ms=40)
    control.clear_requests()
    result = run(project, "apply", "-e", "test", "--auto-approve", "--concurrency", "2")
    control.clear_faults()
    assert result.exit_code == 0, result.output
    routes = [r["route"] for r in control.request_log()]

    def at(route: str) -> list[int]:
        return [n for n, seen in enumerate(routes) if seen == route]

    uploads, stores, polls, creates = at(UPLOAD), at(CREATE_STORE), at(POLL), at(CREATE_ASSISTANT)
    assert len(uploads) == 6 and len(stores) == 1 and len(creates) == 3, routes
    assert len(polls) >= 2, routes  # the batch was still indexing when first polled
    # the store is created while the files still upload, not after them
    assert stores[0] < uploads[-1], routes
    # triage and analyst use no store: created before the handbook finished indexing
    assert sum(c < polls[-1] for c in creates) == 2, routes
    # support searches the handbook: created once the last poll said it was indexed
    assert creates[-1] > polls[-1], routes
