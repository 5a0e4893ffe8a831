"""Benchmarks of the commands as a user runs them: wall time of each process, requests of plans.

    python benchmarks/bench_commands.py [--runs 5] [--output PATH] [--no-huge] [--quick]
                                        [--against PATH]

Every command runs as its own process (``python -m assistops``, as the installed script does),
so each time includes Python's start-up and every import. Measured, each the median of
``--runs`` runs after one unmeasured warm-up run:

1. on the example project (``assistants/``, copied): ``assistops --help``, ``validate``,
   ``render`` and a no-op ``plan -e local`` (the embedded backend, SQLite, applied once first);
   beside them, as a reference, ``python -c "import openai"``: what any command that opens a
   provider pays for the official SDK before it does anything;
2. what ``plan`` imports: ``python -X importtime``, the top imports by cumulative time;
3. a no-op ``plan`` of the scale project (``Spec("scale", 200, 20, 100, 0)``: 200 assistants,
   20 stores x 100 files) against ``assistops serve --port 0 --db :memory:`` in another
   process, no latency; the requests of each run are counted by the backend's control plane and
   compared with the lower bound of list pages (``bench_engine.noop_bound``); plus the same
   plan in-process, stage by stage (load, render, read, ``build_plan``; ``build_plan`` also
   per resource, which stays flat from this project to the next when it is linear);
4. the same for the huge project (``Spec("huge", 2000, 20, 1000, 0)``: 2,000 assistants,
   20 stores x 1,000 files = 20,000 files), applied once in-process at concurrency 32 (the
   set-up, timed but not the point).

Every no-op plan must exit 0 with ``--detailed-exitcode`` (nothing to change) and stay at its
request bound, or the run stops.

``--against`` names another build's ``assistops`` script (an older checkout's virtualenv): each
command of 1 and 3 is then run by both builds in turn (not 4: an older build may take minutes
for each plan of the huge project), the order swapped every run, and the
other build's median is shown in the "before" column. The host's speed moves between hours and
machines; medians of runs seconds apart are what a before/after can be read from.
The machine is often shared: medians of a few runs are indicative, request counts are exact.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench_engine import Bound, noop_bound, over, table
from bench_projects import ENVIRONMENT, EXAMPLE, KEY_ENV, Shape, Spec, synthetic_project

HERE = Path(__file__).resolve().parent
SCALE = Spec("scale", 200, 20, 100, 0)
HUGE = Spec("huge", 2000, 20, 1000, 0)
QUICK_SCALE = Spec("scale", 50, 5, 20, 0)
QUICK_HUGE = Spec("huge", 300, 5, 200, 0)
HUGE_CONCURRENCY = 32
AGAINST: Path | None = None  # --against: another build's assistops script
#: What the issue (#14) and the lead measured before this work, shown beside the medians.
BASELINES = {
    "help": "0.16 s on main (this script)",
    "validate": "1.03 s on main (this script)",
    "render": "1.30 s on main (this script)",
    "plan -e local": "2.5 s (issue: 2 s of imports, 0.9 s embedded server start); 2.98 s on "
    "main (this script)",
    "scale plan": "5.3 s (issue); 2.6-3.9 s on main, busy machine (lead)",
    "scale build_plan": "4.5 s (issue); 0.19 s on main (lead)",
    "scale in-process": "1.25 s on main (lead): render 0.8, load 0.3, build_plan 0.19, read 0.19",
    "huge plan": "33.6 s (CPU 25.2 s) before the uploads' indexes were built once (this script)",
    "huge in-process": "89 s before that fix: load 2.7, render 2.2, read 15.9, build_plan 68.3",
}
TARGETS = {
    "plan -e local": "under 0.8 s",
    "scale plan": "under 2 s",
    "huge plan": "seconds, at the lower bound of list pages",
}
IMPORT_TOP = 15
BUILD_PLAN_RUNS = 5
#: The reference row: what any command that opens a provider pays before it does anything.
SDK_IMPORT = 'python -c "import openai"'
_SERVE_LINE = re.compile(r"assistops local backend on (http://\S+)/v1")


def assistops_cmd() -> list[str]:
    """The command line that runs assistops in this interpreter."""
    return [sys.executable, "-m", "assistops"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    args: list[str], *, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Run one process to completion and return its wall time and CPU time (user + system,
    which a busy machine disturbs less); stop on an unexpected exit."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(args, capture_output=True, env=env, timeout=900, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode not in ok:
        raise RuntimeError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}"
        )
    return wall, cpu


@dataclass
class Timing:
    """Wall times of the measured runs of one command."""

    label: str
    command: str
    walls: list[float]
    cpus: list[float]
    requests: Counter[str] = field(default_factory=Counter)
    bound: Bound | None = None
    other: Timing | None = None  # the same command by the --against build, in the same runs

    @property
    def median(self) -> float:
        """The median wall time."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """The median CPU time (user + system) of the process."""
        return statistics.median(self.cpus)

    @property
    def spread(self) -> str:
        """The fastest and slowest wall times."""
        return f"{min(self.walls):.2f}-{max(self.walls):.2f} s"


def timed(
    label: str,
    args: list[str],
    runs: int,
    *,
    env: dict[str, str] | None = None,
    shown: str = "",
    other: list[str] | None = None,
) -> Timing:
    """``runs`` measured runs after one warm-up (which fills caches: .pyc, the page cache);
    with ``other`` (the --against build's command line), that too, the order swapped every
    run."""
    run(args, env=env)
    theirs = None if other is None else (lambda: run(other, env=env))
    if theirs is not None:
        theirs()
    shown = shown or " ".join(args[2:])
    timing = alternated(label, shown, runs, lambda: run(args, env=env), theirs)
    print(f"  {label}: median {timing.median:.2f} s (CPU {timing.cpu:.2f} s)", file=sys.stderr)
    return timing


def alternated(
    label: str,
    shown: str,
    runs: int,
    mine: Callable[[], tuple[float, float]],
    theirs: Callable[[], tuple[float, float]] | None,
) -> Timing:
    """``runs`` runs of ``mine`` (and of ``theirs``, the --against build's, in turn, the
    order swapped every run): this build's timing, with the other's as its ``other``."""
    measured: dict[str, list[tuple[float, float]]] = {"mine": [], "theirs": []}
    for n in range(runs):
        pairs = [("mine", mine)] if theirs is None else [("mine", mine), ("theirs", theirs)]
        for key, measure in pairs if n % 2 == 0 else reversed(pairs):
            measured[key].append(measure())

    def timing(of: list[tuple[float, float]]) -> Timing:
        return Timing(label, shown, [w for w, _ in of], [c for _, c in of])

    out = timing(measured["mine"])
    if theirs is not None:
        out.other = timing(measured["theirs"])
    return out


def against(args: list[str]) -> list[str] | None:
    """``args`` (which start with this build's ``python -m assistops``) for the --against
    build, or None without one."""
    return None if AGAINST is None else [str(AGAINST), *args[len(assistops_cmd()) :]]


# -- 1 and 2: the example project ------------------------------------------------------------------


def example_commands(where: Path, runs: int) -> tuple[list[Timing], list[tuple[str, float, float]]]:
    """The quick commands and a no-op local plan on a copy of the example project."""
    root = where / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    base = [*assistops_cmd(), "-C", str(root)]
    print("example project: applying -e local once", file=sys.stderr)
    run([*base, "apply", "-e", "local", "--auto-approve"])
    other_base: list[str] | None = None
    if AGAINST is not None:  # its own copy: its local database may be of another schema
        other_root = where / "example-against"
        shutil.copytree(EXAMPLE, other_root, ignore=shutil.ignore_patterns(".assistops"))
        other_base = [str(AGAINST), "-C", str(other_root)]
        run([*other_base, "apply", "-e", "local", "--auto-approve"])

    def theirs(*rest: str) -> list[str] | None:
        return None if other_base is None else [*other_base, *rest]

    help_ = [*assistops_cmd(), "--help"]
    out = [
        timed("sdk import", [sys.executable, "-c", "import openai"], runs, shown=SDK_IMPORT),
        timed("help", help_, runs, shown="assistops --help", other=against(help_)),
        timed(
            "validate",
            [*base, "validate"],
            runs,
            shown="assistops validate",
            other=theirs("validate"),
        ),
        timed("render", [*base, "render"], runs, shown="assistops render", other=theirs("render")),
        timed(
            "plan -e local",
            [*base, "plan", "-e", "local", "--detailed-exitcode"],
            runs,
            shown="assistops plan -e local (no-op)",
            other=theirs("plan", "-e", "local", "--detailed-exitcode"),
        ),
    ]
    return out, import_times([*base, "plan", "-e", "local"])


def import_times(args: list[str]) -> list[tuple[str, float, float]]:
    """``-X importtime`` of one run: the imports that took longest, cumulative, as
    (module, self ms, cumulative ms), top-level imports only (nested ones are inside them)."""
    done = subprocess.run(
        [args[0], "-X", "importtime", *args[1:]], capture_output=True, timeout=300, check=False
    )
    rows: list[tuple[str, float, float]] = []
    for line in done.stderr.decode().splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative_us, name = (part for part in re.split(r"[:|]", line, maxsplit=3))
        if name.startswith("  "):  # indented: imported by the entry listed after it
            continue
        rows.append((name.strip(), int(self_us) / 1000, int(cumulative_us) / 1000))
    rows.sort(key=lambda row: -row[2])
    return rows


# -- 3 and 4: projects against assistops serve ---------------------------------------------------


@contextmanager
def served() -> Iterator[str]:
    """``assistops serve --port 0 --db :memory:`` in another process; yields its root URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    args = [*assistops_cmd(), "serve", "--port", "0", "--db", ":memory:"]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        assert server.stdout is not None
        seen = []
        for raw in server.stdout:
            line = raw.decode()
            seen.append(line)
            if match := _SERVE_LINE.search(line):
                yield match.group(1)
                return
        raise RuntimeError("assistops serve did not start:\n" + "".join(seen))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class Stages:
    """The in-process plan of one project, stage by stage (seconds)."""

    load: float
    render: float
    read: float
    build_plan: float  # the median of BUILD_PLAN_RUNS, after the two runs of every stage
    build_plan_frozen: float  # the same with the heap frozen out of the collector's scans
    resources: int  # what the plan compares: assistants, stores, files

    def per_resource_us(self, seconds: float) -> str:
        """``seconds`` of ``build_plan`` in microseconds per resource: flat from project to
        project when it is linear in resources."""
        return f"{seconds / max(self.resources, 1) * 1e6:.0f} µs"

    @property
    def total(self) -> float:
        """All four."""
        return self.load + self.render + self.read + self.build_plan


def stages(shape: Shape) -> Stages:
    """The plan of ``shape`` in this process, each stage timed (the second of two runs;
    ``build_plan`` the median of ``BUILD_PLAN_RUNS`` more on the same states, then as many
    again with everything this process holds frozen out of the cyclic collector's scans:
    the planner's own time, without the collector rescanning a heap that grows with the
    project)."""
    from assistops import api
    from assistops.engine.live import read_live
    from assistops.engine.planner import build_plan

    for _ in range(2):
        t0 = time.perf_counter()
        project = api.load(shape.root)
        t1 = time.perf_counter()
        state = api.desired(shape.root, ENVIRONMENT)
        t2 = time.perf_counter()
        reader = api.open_reader(project, ENVIRONMENT)
        try:
            live = read_live(reader, project.name, ENVIRONMENT, api=state.api)
        finally:
            reader.close()
        t3 = time.perf_counter()
        plan = build_plan(state, live, provider="openai")
        if plan.has_changes:
            raise RuntimeError(f"{shape.name}: the in-process plan is not empty")

    def median_build() -> float:
        builds = []
        for _ in range(BUILD_PLAN_RUNS):
            start = time.perf_counter()
            build_plan(state, live, provider="openai")
            builds.append(time.perf_counter() - start)
        return statistics.median(builds)

    collected = median_build()
    gc.collect()
    gc.freeze()
    try:
        frozen = median_build()
    finally:
        gc.unfreeze()
    resources = shape.assistants + shape.stores + sum(shape.store_files)
    # api.desired loads the project again: its render stage is render only
    return Stages(t1 - t0, (t2 - t1) - (t1 - t0), t3 - t2, collected, frozen, resources)


@dataclass
class Served:
    """A project planned against the served backend."""

    shape: Shape
    plan: Timing
    stages: Stages
    apply_wall: float
    concurrency: int


def served_project(
    spec: Spec, url: str, where: Path, runs: int, concurrency: int, *, compare: bool
) -> Served:
    """Write ``spec``, apply it in-process, then time its no-op plan as a command (and the
    --against build's, when ``compare``)."""
    from assistops import api
    from assistops.api import ApplyOptions
    from assistops.backend import BackendControl

    with BackendControl(f"{url}/__assistops") as control:
        control.reset()
        control.set_processing("reads", reads=0)  # batch files complete on the first read
        shape = synthetic_project(where, f"{url}/v1", spec)
        print(f"{spec.name}: applying {shape.describe()}", file=sys.stderr)
        start = time.perf_counter()
        outcome = api.apply(
            shape.root,
            ENVIRONMENT,
            confirm=lambda _: True,
            options=ApplyOptions(concurrency=concurrency),
        )
        apply_wall = time.perf_counter() - start
        if outcome.verify is None or outcome.verify.has_changes:
            raise RuntimeError(f"{spec.name}: apply did not converge")
        args = [*assistops_cmd(), "-C", str(shape.root), "plan", "-e", ENVIRONMENT]
        args.append("--detailed-exitcode")
        env = {**os.environ}
        other = against(args) if compare else None
        run(args, env=env)  # warm-up
        theirs = None if other is None else (lambda: run(other, env=env))
        if theirs is not None:
            theirs()
        counts: list[Counter[str]] = []

        def counted() -> tuple[float, float]:
            """One run of this build, its requests counted (the other's are not)."""
            control.clear_requests()
            measured = run(args, env=env)
            got = control.requests()
            got.pop("total", None)
            counts.append(Counter(got))
            return measured

        timing = alternated(f"{spec.name} plan", "assistops plan (no-op)", runs, counted, theirs)
        if any(c != counts[0] for c in counts):
            raise RuntimeError(f"{spec.name}: the runs made different requests: {counts}")
        off = over(_RunLike(counts[0]), noop_bound(shape))
        if off != "none":  # the bound is the invariant the times are read against
            raise RuntimeError(f"{spec.name}: the no-op plan is off its request bound: {off}")
        timing.requests, timing.bound = counts[0], noop_bound(shape)
        print(f"  {spec.name} plan: median {timing.median:.2f} s", file=sys.stderr)
        return Served(shape, timing, stages(shape), apply_wall, concurrency)


# -- report ------------------------------------------------------------------------------------


def secs(value: float) -> str:
    """Seconds for a table cell."""
    return f"{value:.2f} s"


def report(
    quick: list[Timing],
    imports: list[tuple[str, float, float]],
    projects: list[Served],
    runs: int,
    argv: list[str],
    *,
    sizes_as_issue: bool,
) -> str:
    """Every table, as Markdown (the issue's baselines only beside the issue's sizes)."""

    def before(key: str, timing: Timing | None = None, *, example: bool = False) -> str:
        # the example project is the same in every mode
        text = BASELINES.get(key, "-") if sizes_as_issue or example else "- (smaller project)"
        if timing is not None and timing.other is not None:
            o = timing.other
            text = f"**{o.median:.2f} s** (CPU {o.cpu:.2f} s) by `--against` in these runs; {text}"
        return text

    header = ["command", "median", "CPU", "range"]
    lines = [
        "# Command benchmarks: wall time of each process, requests of plans",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"- Reproduce: `python benchmarks/bench_commands.py{''.join(' ' + a for a in argv)}` "
        "(from the repository root, in the project's virtualenv)",
        *(
            [f"- Against: `{AGAINST}` ({_version(AGAINST)}), run in turn with this build"]
            if AGAINST is not None
            else []
        ),
        f"- Each time is the median of {runs} runs of a fresh process (`python -m assistops`), "
        "after one unmeasured warm-up run; CPU is the process's user + system time (a busy "
        "machine stretches the wall time more than the CPU time). Every no-op plan exits 0 "
        "with `--detailed-exitcode`.",
        "",
        "## 1. Quick commands and a local no-op plan (the example project)",
        "",
    ]
    rows = []
    for t in quick:
        measured = [f"`{t.command}`", secs(t.median), secs(t.cpu), t.spread]
        if t.label == "sdk import":
            rows.append([*measured, "-", "- (the SDK alone: no assistops code)"])
            continue
        rows.append([*measured, TARGETS.get(t.label, "-"), before(t.label, t, example=True)])
    lines += table([*header, "target", "before"], rows)
    lines += [
        "",
        "## 2. What `plan -e local` imports",
        "",
        f"`python -X importtime -m assistops -C example plan -e local`: the {IMPORT_TOP} "
        "top-level imports with the longest cumulative time (importtime's own overhead "
        "inflates them; a top-level import includes everything it imports). Imported inside "
        "a function, a module is top-level here too: `openai` is imported when the provider "
        "is opened, the backend when the local environment starts it.",
        "",
    ]
    total = sum(cumulative for _, _, cumulative in imports)
    rows = [[f"`{name}`", f"{cum:.0f} ms", f"{own:.1f} ms"] for name, own, cum in imports]
    lines += table(["module", "cumulative", "self"], rows[:IMPORT_TOP])
    lines += ["", f"All top-level imports: {total:.0f} ms.", ""]
    for number, served_ in enumerate(projects, start=3):
        shape, timing, st = served_.shape, served_.plan, served_.stages
        bound = timing.bound or Bound()
        key = f"{shape.name} plan"
        in_process = before(f"{shape.name} in-process")
        if shape.name == "scale" and sizes_as_issue:
            in_process += f"; build_plan {BASELINES['scale build_plan']}"
        row = [
            f"`{timing.command}`",
            secs(timing.median),
            secs(timing.cpu),
            timing.spread,
            str(sum(timing.requests.values())),
            str(bound.total),
            over(_RunLike(timing.requests), bound),
            TARGETS.get(key, "-"),
        ]
        stage_row = [secs(st.load), secs(st.render), secs(st.read), secs(st.build_plan)]
        lines += [
            f"## {number}. No-op plan of the {shape.name} project against `assistops serve`",
            "",
            f"{shape.describe()}; `assistops serve --port 0 --db :memory:` in another process, "
            f"no latency. Set up by one apply in-process at concurrency {served_.concurrency}: "
            f"{secs(served_.apply_wall)}.",
            "",
            *table([*header, "requests", "bound", "off the bound", "target"], [row]),
            "",
            f"Before: {before(key, timing)}.",
            "",
            "The same plan in-process (the second of two runs), by stage; `build_plan` is the "
            f"median of {BUILD_PLAN_RUNS} more runs on the same states, and per resource over "
            f"{st.resources:,} (assistants, stores, files); then with everything this process "
            "holds frozen out of the cyclic collector's scans (`gc.freeze`): the planner's own "
            "time.",
            "",
            *table(
                [
                    "load",
                    "render",
                    "read live",
                    "build_plan",
                    "per resource",
                    "frozen: per resource",
                    "total",
                    "before",
                ],
                [
                    [
                        *stage_row,
                        st.per_resource_us(st.build_plan),
                        st.per_resource_us(st.build_plan_frozen),
                        secs(st.total),
                        in_process,
                    ]
                ],
            ),
            "",
        ]
    return "\n".join(lines)


def _version(script: Path) -> str:
    """What ``script --version`` prints."""
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "version unknown"


@dataclass
class _RunLike:
    """What ``bench_engine.over`` reads of a run."""

    requests: Counter[str]


def main(argv: list[str] | None = None) -> int:
    """Measure everything and print (and write) the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command")
    parser.add_argument("--no-huge", action="store_true", help="skip the 2,000-assistant project")
    parser.add_argument("--quick", action="store_true", help="small projects, 3 runs; prints only")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the tables (default: benchmarks/RESULTS-commands.md; none with "
        "--quick)",
    )
    parser.add_argument(
        "--against", type=Path, default=None, help="another build's assistops script, run in turn"
    )
    args = parser.parse_args(argv)
    global AGAINST  # one other build per run
    AGAINST = args.against
    runs = 3 if args.quick else args.runs
    output = args.output or (None if args.quick else HERE / "RESULTS-commands.md")
    os.environ.setdefault(KEY_ENV, "sk-bench-not-a-secret")
    started = time.perf_counter()
    specs = [QUICK_SCALE if args.quick else SCALE]
    if not args.no_huge:
        specs.append(QUICK_HUGE if args.quick else HUGE)
    with tempfile.TemporaryDirectory(prefix="assistops-bench-commands-") as tmp:
        where = Path(tmp)
        quick, imports = example_commands(where, runs)
        projects = []
        with served() as url:
            for spec in specs:
                concurrency = HUGE_CONCURRENCY if spec is HUGE or spec is QUICK_HUGE else 8
                compare = spec is SCALE or spec is QUICK_SCALE
                projects.append(
                    served_project(spec, url, where, runs, concurrency, compare=compare)
                )
    given = list(argv if argv is not None else sys.argv[1:])
    if "--output" in given:  # where the tables went is no part of how to reproduce them
        at = given.index("--output")
        del given[at : at + 2]
    shown = given
    text = report(quick, imports, projects, runs, shown, sizes_as_issue=not args.quick)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
