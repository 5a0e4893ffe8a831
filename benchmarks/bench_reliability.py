"""Reliability trials: SIGKILL at each write, and two applies at once, on every environment API.

    python benchmarks/bench_reliability.py kill          # SIGKILL apply at each of its writes
    python benchmarks/bench_reliability.py concurrency   # two applies at once, 20 trials each
    python benchmarks/bench_reliability.py all --output benchmarks/RELIABILITY.md

Each trial runs ``assistops apply`` as a subprocess against a backend in this process (the
openai provider over loopback: no lock, as for a remote service) with the example project on
an ``assistants``, an ``agents`` and a ``responses`` environment (bench_projects.py).

**Kill.** A clean apply is measured first: which write routes it calls and how often. Then for
each write (route, n), the backend delays the n-th call of that route by 1.5 s; when the call
has reached the server the apply is killed with SIGKILL (the server still commits the write:
the ambiguous case, a create whose answer is lost). After the delayed call is done a fresh
apply must exit 0, and the census must be exact: one assistant or agent per declaration, one
store, one upload per content, one release (responses), a store holding every file indexed,
and an empty plan.

**Concurrency.** Two applies start at once with 20 ms of latency on every call (so their
writes interleave); both must end with exit 0, or exit 1 saying another apply ran at the same
time, and the census must be exact with no third apply.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import openai

from assistops.api import CONCURRENT
from assistops.backend import BackendControl, start_server
from assistops.cli.main import cli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_projects import (
    ENVIRONMENT,
    KEY_ENV,
    Shape,
    example_project,
)

KEY = "bench-key"
APPLY = (sys.executable, "-m", "assistops", "apply", "-e", ENVIRONMENT, "--auto-approve")
APIS = ("assistants", "agents", "responses")
DELAY_MS = 1500


@dataclass
class Tally:
    """Trials and outcomes of one experiment on one API."""

    api: str
    trials: int = 0
    converged: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def census(client: openai.OpenAI, api: str) -> dict[str, int]:
    """What the environment holds, per kind of object."""
    out = {
        "stores": len(client.vector_stores.list(limit=100).data),
        "uploads": len(client.files.list(purpose="assistants").data),
        "releases": len(client.files.list(purpose="batch").data),
    }
    if api == "assistants":
        out["assistants"] = len(list(client.beta.assistants.list(limit=100)))
    if api == "agents":
        out["agents"] = len(client.beta.agents.list(limit=100).data)
    [store] = client.vector_stores.list(limit=100).data or [None]
    out["indexed"] = store.file_counts.completed if store is not None else 0
    return out


def expected(shape: Shape) -> dict[str, int]:
    """The census of a converged environment, from the project's files alone."""
    out = {
        "stores": shape.stores,
        "uploads": shape.uploads,
        "releases": 1 if shape.api == "responses" else 0,
        "indexed": sum(shape.store_files),
    }
    if shape.api in ("assistants", "agents"):
        out[shape.api] = shape.assistants
    return out


def plan_is_empty(root: Path) -> bool:
    """``plan --detailed-exitcode`` exits 0, in this process."""
    from click.testing import CliRunner

    result = CliRunner().invoke(
        cli, ["plan", "-C", str(root), "-e", ENVIRONMENT, "--detailed-exitcode"]
    )
    return result.exit_code == 0


def start(root: Path) -> subprocess.Popen[str]:
    """``assistops apply`` in ``root`` as a subprocess."""
    return subprocess.Popen(
        [*APPLY, "-C", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, KEY_ENV: KEY},
    )


def writes_of(control: BackendControl) -> list[tuple[str, int]]:
    """Every (write route, n) a clean apply made, from the request counts."""
    out = []
    for route, count in sorted(control.requests().items()):
        if route.split(" ")[0] in ("POST", "DELETE"):
            out.extend((route, n) for n in range(1, count + 1))
    return out


def kill_trials(control: BackendControl, client: openai.OpenAI, base_url: str, api: str) -> Tally:
    """SIGKILL apply while each of its writes is in flight, then apply again."""
    tally = Tally(api)
    with tempfile.TemporaryDirectory() as tmp:
        control.reset()
        shape = example_project(Path(tmp), base_url, api)
        assert start(shape.root).wait() == 0
        writes = writes_of(control)
    for route, n in writes:
        with tempfile.TemporaryDirectory() as tmp:
            control.reset()
            shape = example_project(Path(tmp), base_url, api)
            control.add_fault("latency", route, first=n, latency_ms=DELAY_MS)
            proc = start(shape.root)
            while not any(f["fired"] for f in control.faults()) and proc.poll() is None:
                time.sleep(0.01)
            killed = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            time.sleep(DELAY_MS / 1000 + 0.5)  # the write in flight is committed meanwhile
            control.clear_faults()
            again = start(shape.root)
            out = again.communicate()[0]
            got = census(client, api)
            ok = again.returncode == 0 and got == expected(shape) and plan_is_empty(shape.root)
            tally.trials += 1
            tally.converged += ok
            tally.outcomes[f"{route} #{n}: {'converged' if ok else 'NOT converged'}"] += 1
            if not ok or not killed:
                tally.failures.append(f"{route} #{n} killed={killed}: {got} {out[-300:]}")
    return tally


def concurrency_trials(
    control: BackendControl, client: openai.OpenAI, base_url: str, api: str, trials: int
) -> Tally:
    """Two applies at once, ``trials`` times."""
    tally = Tally(api)
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            control.reset()
            shape = example_project(Path(tmp), base_url, api)
            control.add_fault("latency", "*", latency_ms=20, times=None)
            procs = [start(shape.root), start(shape.root)]
            results = [(p.wait(), p.communicate()[0]) for p in procs]
            control.clear_faults()
            plain = all(code == 0 or CONCURRENT in out for code, out in results)
            got = census(client, api)
            ok = plain and got == expected(shape) and plan_is_empty(shape.root)
            tally.trials += 1
            tally.converged += ok
            codes = "+".join(str(code) for code, _ in sorted(results))
            said = sum("converged with it" in out for _, out in results)
            tally.outcomes[f"exit {codes}, {said} said it converged with another apply"] += 1
            if not ok:
                tally.failures.append(f"{got} {[out[-300:] for _, out in results]}")
    return tally


def report(title: str, tallies: list[Tally]) -> str:
    """A markdown section of tallies."""
    lines = [f"## {title}", "", "| api | trials | converged | outcomes |", "|---|---|---|---|"]
    for t in tallies:
        outcomes = "; ".join(f"{k} x{v}" for k, v in sorted(t.outcomes.items()))
        lines.append(f"| {t.api} | {t.trials} | {t.converged} | {outcomes} |")
    for t in tallies:
        lines += [f"- {t.api}: {f}" for f in t.failures]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the chosen experiments; exit 1 unless every trial converged."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("kill", "concurrency", "all"))
    parser.add_argument("--trials", type=int, default=20, help="concurrency trials per API")
    parser.add_argument("--api", action="append", choices=sorted(APIS))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    apis = args.api or list(APIS)
    os.environ[KEY_ENV] = KEY
    sections = []
    with start_server(":memory:") as running, BackendControl(running.control_url) as control:
        client = openai.OpenAI(base_url=running.base_url, api_key=KEY, max_retries=0)
        if args.what in ("kill", "all"):
            tallies = [kill_trials(control, client, running.base_url, api) for api in apis]
            sections.append(report("SIGKILL at each write, then apply again", tallies))
            print(sections[-1], flush=True)
        if args.what in ("concurrency", "all"):
            tallies = [
                concurrency_trials(control, client, running.base_url, api, args.trials)
                for api in apis
            ]
            sections.append(report("Two applies at once (20 ms per call)", tallies))
            print(sections[-1], flush=True)
    if args.output:
        args.output.write_text("# Reliability trials\n\n" + "\n".join(sections))
    failed = any("NOT" in s or "\n- " in s for s in sections)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
