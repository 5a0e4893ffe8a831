"""Apply at scale: the speedup curve of ``--concurrency``, the client's CPU, requests vs bound.

    python benchmarks/bench_scale.py [--runs N] [--quick] [--latency MS] [--output PATH]
                                     [--assistops PATH]

A generated project (``bench_projects.synthetic_project``: 200 assistants, 20 stores of 100
files, the first third of the assistants searching a store; ``--quick``: 50, 5 x 20) is applied
from empty by ``assistops apply`` in its own process, against ``assistops serve`` in another,
with ``--latency`` ms (20) injected on every request by the backend's control plane. Each
concurrency (1, 2, 4, 8, 16, 32, and the default) runs ``--runs`` times (3) on an emptied
backend; the medians are reported with:

- the **floor**: the rounds of requests that cannot overlap times the latency. Apply starts a
  step once what it needs is done, so the floor is 1 discovery round, then the larger of
  ceil(calls / c) and the longest chain (upload -> batch -> poll -> assistant: 4), then the
  verifying plan's longest chain of list pages. The floor of the old phase-by-phase apply
  (``bench_engine.apply_rounds``) is shown beside it;
- the **speedup** over concurrency 1;
- the **client CPU**: user + system time of the apply process (``getrusage`` of children);
- the **requests**, counted by the backend, against ``bench_engine.apply_bound``: every run must
  stay at the bound, and every apply must end verified, or the script stops.

The machine may be shared: the load average before and after is printed with the results, and
the minimum and maximum of the runs beside each median. ``--assistops`` runs another build's
``assistops`` script (an older checkout's virtualenv) for a before/after on the same machine;
its default concurrency is read from its ``apply --help``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench_engine import Bound, Run, apply_bound, apply_rounds, list_rounds, over
from bench_projects import ENVIRONMENT, KEY_ENV, Shape, Spec, synthetic_project

from assistops.backend import BackendControl

HERE = Path(__file__).resolve().parent
ASSISTOPS = Path(sys.executable).parent / "assistops"  # --assistops changes it
FULL = Spec("scale", 200, 20, 100, 0)
QUICK = Spec("scale-quick", 50, 5, 20, 0)
CONCURRENCY = (1, 2, 4, 8, 16, 32)
#: What the issue measured on main before this work (a3f6551's parent line of work): apply
#: from empty of the full project at 20 ms, 2 cores; wall in seconds by concurrency.
BASELINE = {1: 73.9, 4: 26.1}
BASELINE_SPEEDUP = {4: 2.8, 8: 3.5, 16: 4.2}
BASELINE_CPU = 11.0
#: The chain apply cannot shorten: an upload, the store's batch, its poll, the assistant.
CHAIN = 4


def write_calls(shape: Shape) -> int:
    """The calls apply from empty makes between its plan and the verifying plan: every
    upload, 3 per store (create, batch, poll), 1 per assistant."""
    return shape.uploads + shape.stores * 3 + shape.assistants


def call_rounds(shape: Shape, concurrency: int) -> int:
    """Rounds of those calls that cannot overlap: all calls / c, or the chain."""
    return max(math.ceil(write_calls(shape) / concurrency), CHAIN)


def dependency_rounds(shape: Shape, concurrency: int) -> int:
    """Rounds of apply from empty that cannot overlap, when each step starts once what it
    needs is done: discovery, the calls, the verifying plan's lists."""
    return 1 + call_rounds(shape, concurrency) + list_rounds(shape)


@dataclass
class Measured:
    """The runs of one concurrency."""

    label: str
    concurrency: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    server_cpus: list[float] = field(default_factory=list)
    requests: list[Counter[str]] = field(default_factory=list)
    phases: list[Phases] = field(default_factory=list)

    @property
    def wall(self) -> float:
        """Median wall time, seconds."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """Median client CPU, seconds."""
        return statistics.median(self.cpus)


def default_concurrency() -> int:
    """The ``--concurrency`` default of the ``assistops`` being measured (its help says it)."""
    text = subprocess.run(
        [str(ASSISTOPS), "apply", "--help"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"--concurrency.*?\[default:\s*(\d+)", text, re.S)
    if found is None:
        raise RuntimeError(f"{ASSISTOPS} apply --help names no default concurrency")
    return int(found.group(1))


class Server:
    """``assistops serve`` on a free loopback port, in memory, in its own process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [str(ASSISTOPS), "serve", "--port", "0", "--db", ":memory:"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "assistops local backend on http://...:PORT/v1"
        self.base_url = line.rsplit(" ", 1)[-1].strip()
        if not self.base_url.startswith("http"):
            self.stop()
            raise RuntimeError(f"assistops serve did not start: {line!r}")
        self.control_url = self.base_url.rsplit("/v1", 1)[0] + "/__assistops"

    def cpu(self) -> float:
        """The server process's CPU so far (user + system), seconds; NaN off Linux."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Terminate it and wait."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Phases:
    """When one apply's output showed the plan and the last step's line (seconds after the
    process started): before the first, start-up and the plan; between them, the calls;
    after the second, the verifying plan and the exit."""

    planned: float
    applied: float


def apply_once(
    shape: Shape, control: BackendControl, latency: int, concurrency: int | None
) -> tuple[float, float, Counter[str], Phases]:
    """Apply from empty once; returns (wall, client CPU, requests by route, phases)."""
    control.reset()
    control.set_processing("reads", reads=0)  # batch files complete on the first poll
    if latency:
        control.add_fault("latency", "*", times=None, latency_ms=latency)
    control.clear_requests()
    command = [str(ASSISTOPS), "apply", "-C", str(shape.root), "-e", ENVIRONMENT, "--auto-approve"]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line when it is shown: the phases
    marks: dict[str, float] = {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # progress lines go to stderr, the plan and the summary to stdout: one stream, in order
    start = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        output = []
        shown = 0.0  # when the line before this one came
        for line in process.stdout:
            output.append(line)
            now = time.perf_counter() - start
            if line.startswith("Plan: "):
                marks.setdefault("planned", now)
            elif line.startswith("Apply complete"):  # shown after the verifying plan
                marks.setdefault("applied", shown)  # the last step's line
            shown = now
        process.wait()
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stdout = "".join(output)
    if process.returncode != 0 or "Verified: a fresh plan shows no changes." not in stdout:
        raise RuntimeError(
            f"apply at concurrency {concurrency} did not converge:\n{stdout[-4000:]}"
        )
    if len(marks) != 2:
        raise RuntimeError(f"apply's output lost its 'Plan:' or 'Apply complete' line:\n{stdout}")
    counts = control.requests()
    counts.pop("total")
    control.clear_faults()
    return wall, cpu, Counter(counts), Phases(marks["planned"], marks["applied"])


def measure(
    shape: Shape, control: BackendControl, args: argparse.Namespace, server: Server
) -> list[Measured]:
    """Every concurrency, ``args.runs`` times each, round robin (noise spreads evenly); the
    server's CPU of each run beside the client's (on 2 cores both bound the wall time)."""
    rows = [Measured(f"{c}", c) for c in args.concurrency]
    default = default_concurrency()
    rows.append(Measured(f"default ({default})", default))
    for n in range(args.runs):
        for row in rows:
            flag = None if row.label.startswith("default") else row.concurrency
            before = server.cpu()
            wall, cpu, counts, phases = apply_once(shape, control, args.latency, flag)
            row.server_cpus.append(server.cpu() - before)
            row.phases.append(phases)
            row.walls.append(wall)
            row.cpus.append(cpu)
            row.requests.append(counts)
            print(
                f"run {n + 1}/{args.runs} c={row.label}: {wall:.2f} s, cpu {cpu:.2f} s, "
                f"{sum(counts.values())} requests",
                file=sys.stderr,
                flush=True,
            )
    return rows


def check_bound(rows: list[Measured], bound: Bound) -> None:
    """Every run at the bound, or stop: a faster apply that sends more requests is no win."""
    for row in rows:
        for counts in row.requests:
            off = over(Run(counts, 0.0), bound)
            if off != "none":
                raise RuntimeError(f"c={row.label}: requests off the bound: {off}")


def earlier(path: Path) -> list[str]:
    """The date, build and table of a file an earlier run wrote, as a section of this one."""
    text = path.read_text(encoding="utf-8").splitlines()
    about = [line for line in text if line.startswith(("- Date:", "- Machine:"))]
    start = next(i for i, line in enumerate(text) if line.startswith("| concurrency"))
    end = next((i for i in range(start, len(text)) if not text[i].startswith("|")), len(text))
    return [f"## Before, measured the same way ({path.name})", "", *about, "", *text[start:end]]


def version() -> str:
    """``assistops --version`` of the script measured, and the commit of this checkout."""
    shown = subprocess.run([str(ASSISTOPS), "--version"], capture_output=True, text=True).stdout
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"({shown.strip()}; benchmarks at {commit or 'unknown'})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def phase_row(shape: Shape, row: Measured, latency: int) -> list[str]:
    """One row of the phase table: medians of the row's runs."""
    planned = statistics.median(p.planned for p in row.phases)
    calls = statistics.median(p.applied - p.planned for p in row.phases)
    after = statistics.median(w - p.applied for w, p in zip(row.walls, row.phases, strict=True))
    return [
        row.label,
        f"{planned:.2f} s",
        f"{calls:.2f} s",
        f"{call_rounds(shape, row.concurrency) * latency / 1000:.2f} s",
        f"{write_calls(shape) / calls:.0f}",
        f"{after:.2f} s",
    ]


def report(shape: Shape, rows: list[Measured], args: argparse.Namespace, loads: str) -> str:
    """The results as Markdown."""
    bound = apply_bound(shape)
    base = next(r for r in rows if r.concurrency == 1 and not r.label.startswith("default"))
    command = "python benchmarks/bench_scale.py" + (" --quick" if args.quick else "")
    command += f" --runs {args.runs}" if args.runs != 3 else ""
    command += f" --latency {args.latency}" if args.latency != 20 else ""
    lines = [
        "# Apply at scale: concurrency, client CPU, requests",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `{command}` (repository "
        f"root, project virtualenv); measured: `{ASSISTOPS}` {version()}",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average {loads}",
        f"- Project: {shape.describe()}; `assistops serve --db :memory:` in another process, "
        f"{args.latency} ms injected per request; batch files complete on the first poll.",
        f"- Each row: median of {args.runs} run(s) of `assistops apply --auto-approve` from "
        "empty as a subprocess (min-max in brackets); client CPU = user + system time of that "
        "process, server CPU the same of `assistops serve` during the run (median). Every run "
        "ended verified and at the request bound.",
        "",
        *table(
            [
                "concurrency",
                "wall",
                "floor",
                "floor, phase by phase",
                "speedup over c=1",
                "client CPU",
                "server CPU",
                "requests (bound)",
            ],
            [
                [
                    row.label,
                    f"{row.wall:.2f} s ({min(row.walls):.2f}-{max(row.walls):.2f})",
                    f"{dependency_rounds(shape, row.concurrency) * args.latency / 1000:.2f} s",
                    f"{apply_rounds(shape, row.concurrency) * args.latency / 1000:.2f} s",
                    f"{base.wall / row.wall:.1f}x",
                    f"{row.cpu:.2f} s ({min(row.cpus):.2f}-{max(row.cpus):.2f})",
                    f"{statistics.median(row.server_cpus):.2f} s",
                    f"{sum(row.requests[0].values())} ({bound.total})",
                ]
                for row in rows
            ],
        ),
        "",
        "Floor: 1 discovery round + max(ceil(calls / c), 4) + the verifying plan's longest "
        "chain of list pages, x the latency; calls = uploads + 3 per store (create, batch, "
        "poll) + 1 per assistant. The phase-by-phase floor (`bench_engine.apply_rounds`) is "
        "what the apply before this change could reach at best: each phase waited for the "
        "previous one.",
        "",
        "Where each run's wall time goes, from when its output showed the plan and the last "
        "step's line (medians): start-up (Python, imports, loading and rendering the "
        "project, reading live state, the plan) and the calls against the latency floor of "
        "the calls alone, max(ceil(calls / c), 4) rounds; then the verifying plan and the "
        "exit.",
        "",
        *table(
            [
                "concurrency",
                "start-up and plan",
                "the calls",
                "their floor",
                "calls / s",
                "verifying plan and exit",
            ],
            [phase_row(shape, row, args.latency) for row in rows],
        ),
    ]
    if args.compare is not None:
        lines += ["", *earlier(args.compare)]
    if not args.quick and args.latency == 20:
        lines += [
            "",
            "## Before (main at a3f6551, the issue's measurements on 2 cores)",
            "",
            *table(
                ["concurrency", "wall", "speedup over c=1", "client CPU"],
                [
                    ["1", f"{BASELINE[1]:.1f} s", "1.0x", ""],
                    ["4 (the default then)", f"{BASELINE[4]:.1f} s", "2.8x", f"{BASELINE_CPU} s"],
                    ["8", "", f"{BASELINE_SPEEDUP[8]}x", ""],
                    ["16", "", f"{BASELINE_SPEEDUP[16]}x", "10.7 s"],
                ],
            ),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure, check, print and write."""
    global ASSISTOPS  # one script is measured per run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per concurrency, median (3; --quick: 1)"
    )
    parser.add_argument("--quick", action="store_true", help="a smaller project, 1 run each")
    parser.add_argument("--latency", type=int, default=20, help="injected ms per request")
    parser.add_argument(
        "--concurrency",
        type=lambda text: tuple(int(c) for c in text.split(",")),
        default=CONCURRENCY,
        help="comma-separated (default 1,2,4,8,16,32; the default concurrency is added)",
    )
    parser.add_argument(
        "--assistops",
        type=Path,
        default=ASSISTOPS,
        help="the assistops script to measure (default: the one beside this python)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="a file an earlier run wrote (another build, --assistops): shown as 'before'",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write (default: benchmarks/RESULTS-scale.md; none with --quick)",
    )
    args = parser.parse_args(argv)
    ASSISTOPS = args.assistops
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if 1 not in args.concurrency:
        args.concurrency = (1, *args.concurrency)
    output = args.output or (None if args.quick else HERE / "RESULTS-scale.md")
    os.environ.setdefault(KEY_ENV, "sk-bench-not-a-secret")
    load_before = f"{os.getloadavg()[0]:.1f}"
    server = Server()
    try:
        with (
            BackendControl(server.control_url) as control,
            tempfile.TemporaryDirectory(prefix="assistops-scale-") as tmp,
        ):
            shape = synthetic_project(Path(tmp), server.base_url, QUICK if args.quick else FULL)
            print(f"benchmarking {shape.describe()}", file=sys.stderr)
            apply_once(shape, control, 0, None)  # warm the disk cache and the server
            rows = measure(shape, control, args, server)
            check_bound(rows, apply_bound(shape))
            loads = f"{load_before} before, {os.getloadavg()[0]:.1f} after"
            text = report(shape, rows, args, loads)
    finally:
        server.stop()
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
