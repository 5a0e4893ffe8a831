"""Benchmarks of plan and apply: HTTP requests against their lower bound, wall time with latency.

    python benchmarks/bench_engine.py [--quick] [--output PATH] [--latency MS]

For each project (the example project and synthetic ones, see ``bench_projects``) a local
backend in memory serves the openai provider, and the backend's control plane counts every
request by route. Scenarios:

1. apply from empty, at 0 ms and at ``--latency`` ms injected per request, concurrency 1, 4, 8;
2. a no-op plan right after;
3. one instruction edit applied;
4. one knowledge file edit applied.

Every request count is compared with a lower bound derived from the project's files alone
(:func:`apply_bound`, :func:`list_terms`), and every wall time at latency with a floor: the
round trips that cannot overlap times the latency. Vector-store files are ``in_progress`` when
attached and complete on the store's first read, so indexing costs exactly one poll.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench_projects import (
    ENVIRONMENT,
    KEY_ENV,
    Shape,
    Spec,
    example_project,
    synthetic_project,
)

from assistops import api
from assistops.api import ApplyOptions
from assistops.backend import BackendControl, start_server
from assistops.limits import FILES_LIST_LIMIT_MAX, LIST_LIMIT_MAX

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 4, 8)
EDIT_CONCURRENCY = 4

ASSISTANTS = "GET /v1/assistants"
STORES = "GET /v1/vector_stores"
FILES = "GET /v1/files"
STORE_FILES = "GET /v1/vector_stores/{vector_store_id}/files"
UPLOAD = "POST /v1/files"
CREATE_STORE = "POST /v1/vector_stores"
BATCH = "POST /v1/vector_stores/{vector_store_id}/file_batches"
POLL = "GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"
CREATE_ASSISTANT = "POST /v1/assistants"
UPDATE_ASSISTANT = "POST /v1/assistants/{assistant_id}"
AGENTS = "GET /v1/agents"
CREATE_AGENT = "POST /v1/agents"
UPDATE_AGENT = "POST /v1/agents/{agent_id}"
CONTENT = "GET /v1/files/{file_id}/content"
DETACH = "DELETE /v1/vector_stores/{vector_store_id}/files/{file_id}"
DELETE_FILE = "DELETE /v1/files/{file_id}"

FULL = [Spec("synthetic", 30, 3, 40, 4), Spec("paging", 120, 1, 5, 0)]
QUICK = [Spec("synthetic", 10, 2, 10, 2), Spec("paging", 101, 1, 2, 0)]


def pages(items: int, size: int) -> int:
    """Requests to list ``items`` objects ``size`` per page: an empty list still costs one."""
    return max(1, math.ceil(items / size))


# -- lower bounds -------------------------------------------------------------------------------


@dataclass
class Bound:
    """A lower bound on requests, as terms: (route, count, why)."""

    terms: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, route: str, count: int, why: str) -> None:
        """One term of the bound."""
        if count:
            self.terms.append((route, count, why))

    def extend(self, other: Bound, prefix: str) -> None:
        """Every term of ``other``, its reason prefixed."""
        for route, count, why in other.terms:
            self.add(route, count, f"{prefix}: {why}")

    def by_route(self) -> Counter[str]:
        """The bound per route."""
        out: Counter[str] = Counter()
        for route, count, _ in self.terms:
            out[route] += count
        return out

    @property
    def total(self) -> int:
        """The whole bound."""
        return sum(count for _, count, _ in self.terms)


def list_terms(
    assistants: int,
    store_files: list[int],
    uploads: int,
    api: str = "assistants",
    releases: int = 0,
) -> Bound:
    """What discovery must list: every page of assistants (or agents), stores and files, and
    each store's files (100 per page; ``GET /files`` takes up to 10,000 per page); in a
    responses environment the files of purpose batch and the current release's content."""
    bound = Bound()
    if api == "agents":
        bound.add(AGENTS, pages(assistants, LIST_LIMIT_MAX), "pages of agents (100)")
    elif api == "responses":
        bound.add(FILES, pages(releases, FILES_LIST_LIMIT_MAX), "pages of batch files (10,000)")
        bound.add(CONTENT, min(releases, 1), "the current release's content (for the diff)")
    else:
        bound.add(ASSISTANTS, pages(assistants, LIST_LIMIT_MAX), "pages of assistants (100)")
    bound.add(STORES, pages(len(store_files), LIST_LIMIT_MAX), "pages of stores (100)")
    bound.add(FILES, pages(uploads, FILES_LIST_LIMIT_MAX), "pages of files (10,000)")
    bound.add(
        STORE_FILES,
        sum(pages(n, LIST_LIMIT_MAX) for n in store_files),
        "per store, pages of its files (100)",
    )
    return bound


def noop_bound(shape: Shape) -> Bound:
    """A plan of a converged project: its lists, nothing else."""
    releases = 1 if shape.api == "responses" else 0
    return list_terms(shape.assistants, shape.store_files, shape.uploads, shape.api, releases)


def apply_bound(shape: Shape) -> Bound:
    """Apply from empty: discovery of an empty backend, the creates, one poll, verify."""
    bound = Bound()
    bound.extend(list_terms(0, [], 0, shape.api), "discovery (empty backend)")
    bound.add(UPLOAD, shape.uploads, "one upload per distinct content")
    bound.add(CREATE_STORE, shape.stores, "one create per store")
    bound.add(BATCH, shape.stores, "one file batch per store (<= 2,000 files)")
    bound.add(POLL, shape.stores, ">= 1 poll per batch (files are in_progress at create)")
    if shape.api == "agents":
        bound.add(CREATE_AGENT, shape.assistants, "one create per agent")
    elif shape.api == "responses":
        bound.add(UPLOAD, 1, "the release: one file holding every request")
    else:
        bound.add(CREATE_ASSISTANT, shape.assistants, "one create per assistant")
    bound.extend(noop_bound(shape), "verifying plan")
    return bound


def instruction_bound(shape: Shape) -> Bound:
    """One instruction edit: plan lists, one update, verify lists."""
    bound = Bound()
    bound.extend(noop_bound(shape), "plan")
    if shape.api == "responses":
        bound.add(UPLOAD, 1, "publish the new release")
        bound.add(DELETE_FILE, 1, "delete the previous release")
    else:
        bound.add(UPDATE_AGENT if shape.api == "agents" else UPDATE_ASSISTANT, 1, "one update")
    bound.extend(noop_bound(shape), "verifying plan")
    return bound


def knowledge_bound(shape: Shape) -> Bound:
    """One knowledge file edit: the new content indexed, the old one detached and deleted."""
    bound = Bound()
    bound.extend(noop_bound(shape), "plan")
    bound.add(UPLOAD, 1, "the new content")
    bound.add(BATCH, 1, "attach it")
    bound.add(POLL, 1, ">= 1 poll")
    bound.add(DETACH, 1, "detach the old content")
    bound.add(DELETE_FILE, 1, "delete the old upload")
    bound.extend(noop_bound(shape), "verifying plan")
    return bound


# -- latency floors: round trips that cannot overlap ----------------------------------------------


def list_rounds(shape: Shape) -> int:
    """Discovery's critical path: the longest of the three paged lists, the store-file lists
    starting once the stores are known."""
    store_files = max((pages(n, LIST_LIMIT_MAX) for n in shape.store_files), default=0)
    return max(
        # a release: the list, then its content
        2 if shape.api == "responses" else pages(shape.assistants, LIST_LIMIT_MAX),
        pages(shape.stores, LIST_LIMIT_MAX) + store_files,
        pages(shape.uploads, FILES_LIST_LIMIT_MAX),
    )


def apply_rounds(shape: Shape, concurrency: int) -> int:
    """Apply from empty with ``concurrency`` calls in flight: 1 discovery round, uploads and
    store creates (independent), batch then poll per store, assistant creates, verify."""
    c = concurrency
    return (
        1
        + math.ceil((shape.uploads + shape.stores) / c)
        + 2 * math.ceil(shape.stores / c)
        + (1 if shape.api == "responses" else math.ceil(shape.assistants / c))
        + list_rounds(shape)
    )


def instruction_rounds(shape: Shape) -> int:
    """Plan, one update (a release: publish, then delete the previous one), verify."""
    return 2 * list_rounds(shape) + (2 if shape.api == "responses" else 1)


def knowledge_rounds(shape: Shape) -> int:
    """Plan; upload, batch, poll, detach, delete one after the other; verify."""
    return 2 * list_rounds(shape) + 5


@dataclass(frozen=True)
class Scenario:
    """A scenario run after apply from empty, with its bound and latency floor."""

    key: str
    title: str
    bound: Callable[[Shape], Bound]
    rounds: Callable[[Shape], int]


SCENARIOS = [
    Scenario("noop", "2. No-op plan", noop_bound, list_rounds),
    Scenario("instruction", "3. One instruction edit", instruction_bound, instruction_rounds),
    Scenario("knowledge", "4. One knowledge file edit", knowledge_bound, knowledge_rounds),
]


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured call: requests by route and wall time in seconds."""

    requests: Counter[str]
    wall: float

    @property
    def total(self) -> int:
        """All requests."""
        return sum(self.requests.values())


class Bench:
    """A backend plus its control plane, and the runs measured against it."""

    def __init__(self, control: BackendControl) -> None:
        self.control = control

    def fresh(self) -> None:
        """Empty backend; batch files complete on the store's first read."""
        self.control.reset()
        self.control.set_processing("reads", reads=0)

    def measure(self, latency_ms: int, action: Callable[[], None]) -> Run:
        """Run ``action`` with ``latency_ms`` added to every request; count its requests."""
        self.control.clear_faults()
        if latency_ms:
            self.control.add_fault("latency", "*", times=None, latency_ms=latency_ms)
        self.control.clear_requests()
        start = time.perf_counter()
        action()
        wall = time.perf_counter() - start
        counts = self.control.requests()
        self.control.clear_faults()
        counts.pop("total")
        return Run(Counter(counts), wall)


def apply_ok(shape: Shape, concurrency: int) -> Callable[[], None]:
    """Apply everything and insist the verifying plan is empty (else the numbers mean nothing)."""

    def action() -> None:
        options = ApplyOptions(concurrency=concurrency)
        outcome = api.apply(shape.root, ENVIRONMENT, confirm=lambda _: True, options=options)
        if outcome.verify is None or outcome.verify.has_changes:
            raise RuntimeError(f"{shape.name}: apply did not converge")

    return action


def plan_noop(shape: Shape) -> Callable[[], None]:
    """Plan, and insist there is nothing to do."""

    def action() -> None:
        if api.plan(shape.root, ENVIRONMENT).has_changes:
            raise RuntimeError(f"{shape.name}: the plan after apply is not empty")

    return action


def append_line(path: Path | None, text: str) -> None:
    """Edit a file of the project."""
    if path is None:
        raise RuntimeError("the project has no file for this edit")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{text}\n")


@dataclass
class Result:
    """Every run of one project."""

    shape: Shape
    apply: dict[tuple[int, int], Run] = field(default_factory=dict)  # (latency, concurrency)
    # "noop", "instruction", "knowledge" -> latency -> run
    runs: dict[str, dict[int, Run]] = field(default_factory=lambda: defaultdict(dict))


def bench_project(bench: Bench, shape: Shape, latency: int) -> Result:
    """All four scenarios for one project."""
    result = Result(shape)
    for lat in (0, latency):
        for c in CONCURRENCY:
            bench.fresh()
            result.apply[lat, c] = bench.measure(lat, apply_ok(shape, c))
    # the backend now holds the project applied (last run); edits build on it
    for lat in (0, latency):
        result.runs["noop"][lat] = bench.measure(lat, plan_noop(shape))
    for n, lat in enumerate((0, latency)):
        append_line(shape.instructions_file, f"Instruction edit {n}.")
        result.runs["instruction"][lat] = bench.measure(lat, apply_ok(shape, EDIT_CONCURRENCY))
        append_line(shape.knowledge_file, f"Knowledge edit {n}.")
        result.runs["knowledge"][lat] = bench.measure(lat, apply_ok(shape, EDIT_CONCURRENCY))
    return result


# -- report ---------------------------------------------------------------------------------------


def short(route: str) -> str:
    """``GET /v1/vector_stores/{vector_store_id}/files`` -> ``GET vector_stores/{id}/files``."""
    out = route.replace("/v1/", "")
    for name in ("vector_store_id", "batch_id", "assistant_id", "agent_id", "file_id"):
        out = out.replace("{" + name + "}", "{id}")
    return out


def over(run: Run, bound: Bound) -> str:
    """Routes whose count differs from the bound: ``GET files 3 (bound 2)``."""
    want = bound.by_route()
    diffs = [
        f"`{short(r)}` {run.requests[r]} (bound {want[r]})"
        for r in sorted(set(run.requests) | set(want))
        if run.requests[r] != want[r]
    ]
    return "; ".join(diffs) or "none"


def seconds(run: Run) -> str:
    """Wall time for a table cell."""
    return f"{run.wall:.2f} s"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def scenario_table(scenario: Scenario, results: list[Result], latency: int) -> list[str]:
    """Requests (counted at 0 ms, checked at latency) and wall times of one scenario."""
    rows = []
    for r in results:
        runs = r.runs[scenario.key]
        bound = scenario.bound(r.shape)
        floor = scenario.rounds(r.shape) * latency / 1000
        same = runs[0].requests == runs[latency].requests
        rows.append(
            [
                r.shape.name,
                str(runs[0].total),
                str(bound.total),
                over(runs[0], bound) + ("" if same else " (runs differ)"),
                seconds(runs[0]),
                f"{runs[latency].wall:.2f} s ({floor:.2f} s)",
            ]
        )
    header = ["project", "requests", "lower bound", "routes off the bound", "0 ms"]
    return table([*header, f"{latency} ms (floor)"], rows)


def preamble(latency: int, quick: bool) -> list[str]:
    """Title, date, machine and how to reproduce."""
    return [
        "# Engine benchmarks: requests and wall time",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; mode: {'quick' if quick else 'full'}",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- Reproduce: `python benchmarks/bench_engine.py{' --quick' if quick else ''}` "
        "(from the repository root, in the project's virtualenv)",
        f"- Backend: in memory on loopback, {latency} ms injected per request in the latency "
        "runs; batch files complete on the first poll. Single runs on a shared machine: wall "
        "times are indicative, request counts are exact.",
        "- Floor: the round trips that cannot overlap x the latency. A run at latency takes "
        "about floor + its 0 ms time (client and server CPU); more than that is waiting that "
        "could have overlapped.",
    ]


def apply_tables(results: list[Result], latency: int) -> list[str]:
    """Apply from empty: requests against the bound, the bound's terms, wall times."""
    rows = []
    for r in results:
        run = r.apply[0, EDIT_CONCURRENCY]
        bound = apply_bound(r.shape)
        same = all(x.requests == run.requests for x in r.apply.values())
        rows.append(
            [
                r.shape.name,
                r.shape.describe(),
                str(run.total),
                str(bound.total),
                over(run, bound) + ("" if same else " (counts differ between runs)"),
            ]
        )
    lines = [
        "## 1. Apply from empty: requests",
        "",
        f"Counted at concurrency {EDIT_CONCURRENCY}, 0 ms; the other five runs are checked to "
        "match.",
        "",
        *table(["project", "size", "requests", "lower bound", "routes off the bound"], rows),
        "",
        "### Where the lower bound comes from",
        "",
    ]
    terms: dict[str, list[str]] = {}  # "route\twhy" -> count per project
    for i, r in enumerate(results):
        for route, count, why in apply_bound(r.shape).terms:
            terms.setdefault(f"`{short(route)}`\t{why}", ["0"] * len(results))[i] = str(count)
    rows = [[*key.split("\t"), *counts] for key, counts in terms.items()]
    rows.append(["**total**", "", *(f"**{apply_bound(r.shape).total}**" for r in results)])
    lines += table(["route", "term", *(r.shape.name for r in results)], rows)
    lines += [
        "",
        "## 1. Apply from empty: wall time",
        "",
        "Floor at concurrency c: 1 discovery round, ceil((uploads + stores) / c), "
        "2 x ceil(stores / c) (batch, then poll), ceil(assistants / c), then the verifying "
        "plan's longest chain of list pages.",
        "",
    ]
    header = ["project", *(f"c={c} 0 ms" for c in CONCURRENCY)]
    header += [f"c={c} {latency} ms (floor)" for c in CONCURRENCY]
    rows = []
    for r in results:
        row = [r.shape.name, *(seconds(r.apply[0, c]) for c in CONCURRENCY)]
        row += [
            f"{r.apply[latency, c].wall:.2f} s ({apply_rounds(r.shape, c) * latency / 1000:.2f} s)"
            for c in CONCURRENCY
        ]
        rows.append(row)
    return lines + table(header, rows)


def report(results: list[Result], latency: int, quick: bool) -> str:
    """Every table, as Markdown."""
    lines = [*preamble(latency, quick), "", *apply_tables(results, latency)]
    for scenario in SCENARIOS:
        lines += ["", f"## {scenario.title}", "", *scenario_table(scenario, results, latency)]
    lines += [
        "",
        "Bounds: no-op plan = pages(assistants / 100) + pages(stores / 100) + "
        "pages(files / 10,000) + per store pages(its files / 100), at least 1 request per list. "
        "Instruction edit = 2 x those lists + 1 update. Knowledge edit = 2 x lists + 1 upload "
        f"+ 1 batch + 1 poll + 1 detach + 1 file delete. Edits run at concurrency "
        f"{EDIT_CONCURRENCY}; their floors are 2 x the plan's list chain + 1 (instruction) or "
        "+ 5 (knowledge: upload, batch, poll, detach, delete depend on each other).",
        "",
        "A responses environment lists agents or assistants not at all: its no-op plan lists the "
        "files of purpose batch (1 page) and downloads the current release (1), after the list "
        "(2 rounds); its instruction edit publishes a new release (1 upload) and deletes the "
        "previous one (1), one after the other; a knowledge edit leaves the release as it is "
        "(it names the store, not its files).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print (and write) the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller projects (~40 s)")
    parser.add_argument("--latency", type=int, default=50, help="injected ms per request")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the tables (default: benchmarks/RESULTS-engine.md; none with --quick)",
    )
    args = parser.parse_args(argv)
    output = args.output or (None if args.quick else HERE / "RESULTS-engine.md")
    os.environ.setdefault(KEY_ENV, "sk-bench-not-a-secret")
    started = time.perf_counter()
    results = []
    with (
        start_server(":memory:") as backend,
        BackendControl(backend.control_url) as control,
        tempfile.TemporaryDirectory(prefix="assistops-bench-") as tmp,
    ):
        where = Path(tmp)
        bench = Bench(control)
        warm = example_project(where / "warm", backend.base_url)
        bench.fresh()
        apply_ok(warm, EDIT_CONCURRENCY)()  # imports, templates, connections: not measured
        shapes = [
            example_project(where, backend.base_url),
            example_project(where, backend.base_url, "agents"),
            example_project(where, backend.base_url, "responses"),
        ]
        shapes += [synthetic_project(where, backend.base_url, s) for s in QUICK if args.quick]
        shapes += [synthetic_project(where, backend.base_url, s) for s in FULL if not args.quick]
        for shape in shapes:
            print(f"benchmarking {shape.name}: {shape.describe()}", file=sys.stderr)
            results.append(bench_project(bench, shape, args.latency))
    text = report(results, args.latency, args.quick)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
