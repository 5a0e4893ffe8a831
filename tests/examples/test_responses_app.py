"""The README's Responses app, end to end: apply ``local-responses`` with the installed
``assistops``, serve its database with ``assistops serve``, run ``examples/responses_app.py``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSISTOPS = str(Path(sys.executable).with_name("assistops"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The example project applied to ``local-responses``, its database served over HTTP."""
    root = tmp_path / "assistants"
    shutil.copytree(REPO / "assistants", root, ignore=shutil.ignore_patterns(".assistops"))
    applied = subprocess.run(
        [ASSISTOPS, "apply", "-e", "local-responses", "--auto-approve"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "publish release: release.acme-support" in applied.stderr  # progress
    proc = subprocess.Popen(
        [ASSISTOPS, "serve", "--db", ".assistops/local-responses.db", "--port", "0"],
        cwd=root,
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
        proc.wait(timeout=15)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_the_app_answers_from_the_handbook_and_completes_a_function_round_trip(
    served: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    ran = subprocess.run(
        [sys.executable, str(REPO / "examples" / "responses_app.py"), "--base-url", served],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("release acme-support/local-responses at revision ")
    # the handbook answer quotes returns.md and cites it
    answer = lines.index("> How many days do I have to return an item?")
    assert "returns.md" in lines[answer + 1] and "within 30 days" in lines[answer + 1]
    assert any("[cites acme-support.local-responses." in line for line in lines[answer:])
    # the function call went to the app, and its output back to the model
    assert '  (app ran lookup_order({"include_items": true, "order_number": "A-00000"}))' in lines
    assert 'lookup_order returned: {"order_number": "A-00000", "status": "shipped"' in ran.stdout
