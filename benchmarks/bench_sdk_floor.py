"""The client CPU the SDK alone costs for the scale apply's calls: the floor under assistops'.

    python benchmarks/bench_sdk_floor.py [--runs N] [--latency MS] [--output PATH]

The scale project of ``bench_scale.py`` (200 assistants, 20 stores of 100 files) makes apply
send 2,268 requests. This script sends the same kinds of request, as few as any client could,
with nothing of assistops between the SDK and the wire: in a fresh process, ``import openai``,
then one asyncio loop with ``AsyncOpenAI`` over aiohttp (the cheapest way through the SDK
measured, ``RESULTS-scale.md``) and 16 calls in flight:

- the discovery of the plan before and of the plan after (assistants, stores, files and each
  store's files, listed as JSON pages through the SDK's synchronous client);
- one multipart upload of every distinct knowledge file, with its own bytes and name;
- for each store: create, one file batch of its files, one poll; one create per assistant.

It reports the CPU (user + system) of that process: for the imports, for the calls, and in
all; the median of ``--runs`` (5). Whatever apply spends above it is assistops' own work
(reading and hashing files, rendering, planning, scheduling, threads). It also reports the
wall time of the calls, of the uploads alone, and of the process, each beside its latency
floor. This schedule is not apply's: the discoveries go one request at a time and each phase
waits for the last, so its floor is higher than apply's. The uploads alone, 16 in flight and
independent, are the clean measure of how far above the latency floor the SDK itself runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parent's alone: the measured child imports only the SDK
    from bench_scale import Server

    from assistops.backend import BackendControl

HERE = Path(__file__).resolve().parent
IN_FLIGHT = 16


def _calls(base_url: str, knowledge: Path, assistants: int) -> dict[str, float]:
    """In this (fresh) process: import the SDK, send the calls, return CPU seconds by part
    and the wall seconds of the calls and of the uploads alone."""
    start = time.process_time()
    import httpx2
    import openai

    imported = time.process_time()
    began = time.perf_counter()
    walls: dict[str, float] = {}
    sync = openai.OpenAI(api_key="sk-floor", base_url=base_url)
    client = openai.AsyncOpenAI(
        api_key="sk-floor", base_url=base_url, http_client=openai.DefaultAioHttpClient()
    )
    raw = {"cast_to": httpx2.Response}
    beta = {"headers": {"OpenAI-Beta": "assistants=v2"}}
    stores = sorted(p for p in knowledge.iterdir() if p.is_dir())
    uploads = {p.read_bytes(): p.name for s in stores for p in sorted(s.glob("*.md"))}

    def discover() -> None:
        def pages(path: str, **params: object) -> list[dict[str, object]]:
            items: list[dict[str, object]] = []
            query = {"limit": 100, "order": "asc", **params}
            while True:
                page = sync.get(path, options={"params": query, **beta}, **raw).json()
                items += page["data"]
                if not page.get("has_more") or not page["data"]:
                    return items
                query["after"] = page["data"][-1]["id"]

        pages("/assistants")
        pages("/files", purpose="assistants", limit=10_000)
        for store in pages("/vector_stores"):
            pages(f"/vector_stores/{store['id']}/files")

    async def apply() -> None:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def call(method: str, path: str, **kwargs: object) -> dict[str, object]:
            async with gate:
                response = await getattr(client, method)(path, **kwargs, **raw)
                body: dict[str, object] = response.json()
                return body

        async def upload(content: bytes, name: str) -> str:
            body = await call(
                "post",
                "/files",
                body={"purpose": "assistants"},
                files=[("file", (name, content))],
                options={"headers": {"Content-Type": "multipart/form-data"}},
            )
            return str(body["id"])

        uploading = time.perf_counter()
        ids = await asyncio.gather(*(upload(c, n) for c, n in uploads.items()))
        walls["uploads_wall"] = time.perf_counter() - uploading
        by_content = dict(zip(uploads, ids, strict=True))

        async def store(folder: Path) -> None:
            made = await call("post", "/vector_stores", body={"name": folder.name}, options=beta)
            files = [{"file_id": by_content[p.read_bytes()]} for p in sorted(folder.glob("*.md"))]
            path = f"/vector_stores/{made['id']}/file_batches"
            batch = await call("post", path, body={"files": files}, options=beta)
            await call("get", f"{path}/{batch['id']}", options=beta)

        async def assistant(n: int) -> None:
            body = {
                "model": "gpt-4o-mini",
                "name": f"a{n:03d}",
                "instructions": f"You are bench assistant number {n}.\n",
                "metadata": {"assistops:project": "bench-scale", "assistops:address": f"a{n}"},
            }
            await call("post", "/assistants", body=body, options=beta)

        await asyncio.gather(*(store(s) for s in stores))
        await asyncio.gather(*(assistant(n) for n in range(assistants)))
        await client.close()

    discover()
    asyncio.run(apply())
    discover()
    sync.close()
    done = time.process_time()
    walls["calls_wall"] = time.perf_counter() - began
    return {"imports": imported - start, "calls": done - imported, **walls}


def measure_once(server: Server, control: BackendControl, root: Path, latency: int) -> dict:
    """One fresh process on an emptied backend; its CPU by part and its requests."""
    control.reset()
    control.set_processing("reads", reads=0)
    if latency:
        control.add_fault("latency", "*", times=None, latency_ms=latency)
    control.clear_requests()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", server.base_url, str(root / "knowledge"), "200"],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    parts: dict = json.loads(done.stdout)
    parts["wall"] = wall
    parts["total"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    parts["requests"] = control.requests()["total"]
    control.clear_faults()
    return parts


def main(argv: list[str] | None = None) -> int:
    """Measure and write the table."""
    if argv is None and sys.argv[1:2] == ["--child"]:
        base_url, knowledge, assistants = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(_calls(base_url, knowledge, assistants)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes, median (5)")
    parser.add_argument("--latency", type=int, default=20, help="injected ms per request")
    parser.add_argument(
        "--output", type=Path, default=HERE / "RESULTS-sdk-floor.md", help="where to write"
    )
    args = parser.parse_args(argv)
    from bench_projects import synthetic_project
    from bench_scale import FULL, Server, write_calls

    from assistops.backend import BackendControl

    load_before = f"{os.getloadavg()[0]:.1f}"
    server = Server()
    try:
        with (
            BackendControl(server.control_url) as control,
            tempfile.TemporaryDirectory(prefix="assistops-floor-") as tmp,
        ):
            shape = synthetic_project(Path(tmp), server.base_url, FULL)
            measure_once(server, control, shape.root, 0)  # warm the disk cache and the server
            runs = [
                measure_once(server, control, shape.root, args.latency) for _ in range(args.runs)
            ]
    finally:
        server.stop()
    keys = ("imports", "calls", "total", "uploads_wall", "calls_wall", "wall")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    lo = {k: min(r[k] for r in runs) for k in med}
    hi = {k: max(r[k] for r in runs) for k in med}
    counts = sorted({r["requests"] for r in runs})
    requests = counts[0] if len(counts) == 1 else counts

    def cell(key: str) -> str:
        return f"{med[key]:.2f} s ({lo[key]:.2f}-{hi[key]:.2f})"

    upload_floor = math.ceil(shape.uploads / IN_FLIGHT) * args.latency / 1000
    # the schedule's rounds: every discovery request on its own, then the phases one by one
    discovery = (requests if isinstance(requests, int) else requests[0]) - write_calls(shape)
    rounds = discovery + math.ceil(shape.uploads / IN_FLIGHT)
    rounds += 3 * math.ceil(shape.stores / IN_FLIGHT) + math.ceil(shape.assistants / IN_FLIGHT)
    schedule_floor = rounds * args.latency / 1000
    rows = [
        f"| `import openai` (and httpx2) | {cell('imports')} | - |",
        "| the calls: two discoveries, uploads, stores, batches, polls, assistants (latency "
        f"floor of this schedule {schedule_floor:.2f} s) | {cell('calls')} | "
        f"{cell('calls_wall')} |",
        f"| of which the {shape.uploads:,} uploads, {IN_FLIGHT} in flight (latency floor "
        f"{upload_floor:.2f} s) | - | {cell('uploads_wall')} |",
        f"| the whole process (start-up and exit included) | {cell('total')} | {cell('wall')} |",
    ]
    text = "\n".join(
        [
            "# The SDK's own client CPU for the scale apply's calls",
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `python "
            "benchmarks/bench_sdk_floor.py` (repository root, project virtualenv)",
            f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; load average "
            f"{load_before} before, {os.getloadavg()[0]:.1f} after",
            f"- {shape.describe()}; `assistops serve --db :memory:` in another process, "
            f"{args.latency} ms injected per request; {requests} requests per run (apply's "
            "bound for this project is 2,268: the same calls).",
            f"- Median of {args.runs} fresh processes (min-max); CPU = user + system time.",
            "",
            "| part | client CPU | wall |",
            "|---|---|---|",
            *rows,
            "",
            "No assistops code runs in that process: this is what any client that reaches the",
            "service through the official SDK pays for these calls. `bench_scale.py`'s client",
            "CPU row minus this total is assistops' own work.",
            "",
            "The wall column is this script's schedule, not apply's: the two discoveries one",
            f"request at a time ({discovery} in all), then the uploads {IN_FLIGHT} in flight, "
            "then the stores",
            "(create, batch, poll), then the assistants; its latency floor is higher than",
            "apply's. The uploads alone, independent and 16 in flight, show how far above the",
            "latency floor the SDK itself runs on this machine.",
            "",
        ]
    )
    print(text)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
