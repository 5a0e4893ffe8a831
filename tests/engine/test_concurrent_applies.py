"""Two applies at once on one environment whose provider has no lock (the test backend
reached over HTTP, as a remote service is): both end, the environment ends with exactly one
object per declared resource and nothing else, and each apply either succeeds or says that
another apply ran at the same time and what to run. The 20-trial tally is
``python benchmarks/bench_reliability.py concurrency``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import KEY, KEY_ENV, all_assistants, example_project, run, sdk

from assistops.api import CONCURRENT
from assistops.backend import BackendControl, RunningBackend

TRIALS = 2
APPLY = (sys.executable, "-m", "assistops", "apply")


def _apply(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*APPLY, "-C", str(root), "-e", "test", "--auto-approve", "--no-color"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
    )


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(TRIALS))
def test_two_applies_at_once_converge_and_say_so(
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
    trial: int,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    root = example_project(tmp_path, backend)
    # a little latency on every call, so that the two applies interleave their writes
    control.add_fault("latency", "*", latency_ms=20, times=None)
    applies = [_apply(root), _apply(root)]
    outputs = [(p.wait(timeout=300), p.communicate()[0]) for p in applies]
    control.clear_faults()
    for code, output in outputs:
        assert code == 0 or CONCURRENT in output, output
    client = sdk(backend)
    assert len(all_assistants(client)) == 3, outputs
    assert len(client.vector_stores.list().data) == 1, outputs
    assert len(client.files.list(purpose="assistants").data) == 6, outputs
    [store] = client.vector_stores.list().data
    assert store.file_counts.completed == 4 and store.file_counts.total == 4, outputs
    final = run(root, "plan", "-e", "test", "--detailed-exitcode")
    assert final.exit_code == 0, (final.output, outputs)
