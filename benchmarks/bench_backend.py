"""Benchmarks of the local backend at scale: lists, retrieves and deletes with many objects
stored, paging through everything, the clean-up loop, and large uploads.

    python benchmarks/bench_backend.py [--quick] [--sizes 100,4000,40000] [--output PATH]

Everything goes over real HTTP with the official SDK to ``assistops serve`` in another
process (a database file in a temporary folder, as ``serve`` is used), one request at a
time from one client unless said otherwise, so requests per second is 1 / mean latency.

1. **Seeding** the sizes (default 100, 4,000, 40,000 assistants, each size topping up the
   previous): through the API, ``--seed-threads`` SDK clients creating concurrently; every
   object is made by ``POST /v1/assistants`` as a user's would be.
2. At each size, ``--requests`` times each: the first page of the list (``limit`` 20,
   newest first), a page deep in the list (``after`` = the id in the middle), a retrieve of
   a random id, and a delete of a random id (the deleted ones are created again after, so the
   size holds). Requests per second and p50/p99 latency.
3. **Paging through everything** with the SDK's auto-pager, 100 per page: total time and
   time per page (paging is linear when the time per page does not grow with the size).
4. **The clean-up loop** at the largest size:
   ``for a in client.beta.assistants.list(): client.beta.assistants.delete(a.id)``. Each next
   page's cursor is an id just deleted; it must visit every object once and end empty.
5. **Uploads**, on a fresh server process (its peak RSS is ``VmHWM`` of
   ``/proc/<pid>/status``, read after each step): a ``--upload-mib`` file (500 MiB, under
   the service's 512 MiB) generated in a temporary file and streamed by the SDK from the open
   file, then downloaded as a stream and compared by sha256; then a file of
   ``--oversize-mib`` (513 MiB), which must be the service's 400 "File is too large.", sent
   once although the client retries (``max_retries=2``): requests counted by the control plane.

The machine is shared: wall numbers are noisy, so compare sizes within one run. The script
stops with a message if a check fails (a wrong count, a lost object, an upload that did not
round-trip); it cleans up its server process and temporary files in every case.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openai

from assistops.backend import BackendControl

ASSISTOPS = str(Path(sys.executable).with_name("assistops"))
MIB = 1024 * 1024

# issue 14's numbers before this work (list of 4,000: every page decoded every row; 1 GiB
# upload: one SQLite blob over SQLite's limit, a 500 and the SDK re-sending it twice)
BASELINE = {
    "list_4000": "17 requests/s, p50 451 ms",
    "upload_896": "succeeded, server peak 2.75 GiB",
    "upload_1024": "500 (SQLite blob limit), re-sent twice by the SDK, server peak 3.1 GiB",
}


class BenchFailure(Exception):
    """A check the benchmark relies on failed: the numbers would mean nothing."""


@dataclass
class Server:
    """``assistops serve`` in another process."""

    proc: subprocess.Popen[str]
    base_url: str

    @property
    def control_url(self) -> str:
        """The control plane of this server."""
        return self.base_url.removesuffix("/v1") + "/__assistops"

    def status_kib(self, field: str) -> int:
        """A ``/proc/<pid>/status`` field in KiB (``VmHWM``: peak RSS; ``VmRSS``: now)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise BenchFailure(f"no {field} in /proc/{self.proc.pid}/status")

    def peak_mib(self) -> float:
        """The server's peak resident memory so far, in MiB."""
        return self.status_kib("VmHWM") / 1024


@contextmanager
def serve(folder: Path) -> Iterator[Server]:
    """Start ``assistops serve --db folder/server.db`` and stop it at the end, whatever happens."""
    proc = subprocess.Popen(
        [ASSISTOPS, "serve", "--port", "0", "--db", str(folder / "server.db")],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "local backend on http" not in first:
            raise BenchFailure(f"assistops serve did not start: {first!r}")
        yield Server(proc, first.rsplit(" ", 1)[1].strip())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def client_for(server: Server, **kw: object) -> openai.OpenAI:
    """An SDK client of ``server`` (``kw`` to ``openai.OpenAI``)."""
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 600)
    return openai.OpenAI(base_url=server.base_url, api_key="bench", **kw)  # type: ignore[arg-type]


@dataclass
class Stats:
    """Latencies of ``n`` sequential requests."""

    n: int
    seconds: list[float]

    @property
    def per_second(self) -> float:
        """Requests per second, one at a time."""
        return len(self.seconds) / sum(self.seconds)

    def pct(self, q: float) -> float:
        """The ``q`` quantile in milliseconds."""
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    def cell(self) -> str:
        """``requests/s | p50 | p99`` for a table row."""
        return f"{self.per_second:,.0f} | {self.pct(0.5):.2f} | {self.pct(0.99):.2f}"


def timed(fn: Callable[[int], object], n: int) -> Stats:
    """Call ``fn(i)`` ``n`` times, one after the other, timing each call."""
    seconds = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        seconds.append(time.perf_counter() - start)
    return Stats(n, seconds)


def seed(server: Server, count: int, threads: int) -> tuple[list[str], float]:
    """Create ``count`` assistants through the API with ``threads`` clients at once."""
    clients = [client_for(server) for _ in range(threads)]
    start = time.perf_counter()

    def make(i: int) -> str:
        made = clients[i % threads].beta.assistants.create(model="gpt-4o", name=f"a{i}")
        return made.id

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(make, range(count)))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    return ids, elapsed


@dataclass
class SizeResult:
    """Everything measured at one size."""

    size: int
    seed_seconds: float
    seeded: int
    first_page: Stats
    deep_page: Stats
    retrieve: Stats
    delete: Stats
    walk_seconds: float
    walk_pages: int
    load: float = 0.0  # the machine's 1-minute load average when this size was done


def measure_size(
    server: Server, ids: list[str], size: int, requests: int, rng: random.Random
) -> SizeResult:
    """Lists, retrieves and deletes with ``size`` assistants stored (``ids``, oldest first)."""
    client = client_for(server)
    first = timed(lambda _: client.beta.assistants.list(), requests)
    middle = ids[len(ids) // 2]
    deep = timed(lambda _: client.beta.assistants.list(after=middle), requests)
    picks = [rng.choice(ids) for _ in range(requests)]
    retrieve = timed(lambda i: client.beta.assistants.retrieve(picks[i]), requests)
    doomed = rng.sample(ids, min(requests, size // 4))
    delete = timed(lambda i: client.beta.assistants.delete(doomed[i]), len(doomed))
    gone = set(doomed)
    ids[:] = [i for i in ids if i not in gone]
    again, _ = seed(server, len(doomed), 4)  # the size holds for the next steps
    ids.extend(again)
    start = time.perf_counter()
    seen = sum(1 for _ in client.beta.assistants.list(limit=100))
    walk = time.perf_counter() - start
    if seen != size:
        raise BenchFailure(f"paging through {size} assistants visited {seen}")
    client.close()
    return SizeResult(size, 0.0, 0, first, deep, retrieve, delete, walk, math.ceil(size / 100))


def clean_up_loop(server: Server, size: int) -> tuple[float, dict[str, int]]:
    """The loop that deletes while it pages, over ``size`` assistants; must end empty."""
    control = BackendControl(server.control_url)
    control.clear_requests()
    client = client_for(server)
    start = time.perf_counter()
    visited = 0
    for assistant in client.beta.assistants.list():
        client.beta.assistants.delete(assistant.id)
        visited += 1
    elapsed = time.perf_counter() - start
    left = client.beta.assistants.list().data
    counts = control.requests()
    control.close()
    client.close()
    if visited != size or left:
        raise BenchFailure(f"the clean-up loop visited {visited} of {size}; {len(left)} left")
    return elapsed, counts


def write_file(path: Path, mib: int) -> str:
    """A ``mib`` MiB file of non-repeating 1 MiB blocks; returns its sha256."""
    digest = hashlib.sha256()
    block = bytearray(os.urandom(MIB))
    with path.open("wb") as out:
        for n in range(mib):
            block[:8] = n.to_bytes(8, "big")  # every block differs
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


@dataclass
class UploadResult:
    """The large-upload steps, with the server's peak RSS after each."""

    mib: int
    oversize_mib: int
    start_peak: float
    upload_seconds: float
    upload_peak: float
    download_seconds: float
    download_peak: float
    oversize_status: int
    oversize_body: object
    oversize_requests: int
    oversize_seconds: float
    oversize_peak: float


def measure_uploads(folder: Path, mib: int, oversize_mib: int) -> UploadResult:
    """Upload ``mib`` MiB and stream it back, then try ``oversize_mib`` MiB, on a new server."""
    with serve(folder) as server:
        control = BackendControl(server.control_url)
        client = client_for(server, max_retries=2)  # the SDK's default retries
        start_peak = server.peak_mib()
        path = folder / "upload.bin"
        expected = write_file(path, mib)
        start = time.perf_counter()
        with path.open("rb") as handle:  # the SDK streams an open file
            made = client.files.create(file=handle, purpose="batch")
        upload_seconds = time.perf_counter() - start
        upload_peak = server.peak_mib()
        if made.bytes != mib * MIB:
            raise BenchFailure(f"the upload reports {made.bytes} bytes, not {mib * MIB}")
        path.unlink()
        digest = hashlib.sha256()
        start = time.perf_counter()
        with client.files.with_streaming_response.content(made.id) as response:
            for piece in response.iter_bytes(MIB):
                digest.update(piece)
        download_seconds = time.perf_counter() - start
        download_peak = server.peak_mib()
        if digest.hexdigest() != expected:
            raise BenchFailure("the downloaded content differs from the upload")
        client.files.delete(made.id)

        write_file(path, oversize_mib)
        control.clear_requests()
        start = time.perf_counter()
        status, body = 200, None
        try:
            with path.open("rb") as handle:
                client.files.create(file=handle, purpose="batch")
        except openai.APIStatusError as error:
            status, body = error.status_code, error.body
        oversize_seconds = time.perf_counter() - start
        path.unlink()
        sent = control.requests().get("POST /v1/files", 0)
        if status != 400 or sent != 1:
            raise BenchFailure(f"the oversize upload answered {status}, sent {sent} times")
        result = UploadResult(
            mib,
            oversize_mib,
            start_peak,
            upload_seconds,
            upload_peak,
            download_seconds,
            download_peak,
            status,
            body,
            sent,
            oversize_seconds,
            server.peak_mib(),
        )
        control.close()
        client.close()
        return result


def report(
    sizes: list[SizeResult],
    cleanup: tuple[int, float, dict[str, int]] | None,
    upload: UploadResult | None,
    args: argparse.Namespace,
) -> str:
    """The results as Markdown."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Local backend at scale",
        "",
        f"`python benchmarks/bench_backend.py {' '.join(args.argv)}`".replace(" `", "`"),
        f"({when}; {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores,"
        " shared: wall numbers are noisy, compare within a run). `assistops serve` in another"
        " process with a database file; the official SDK over loopback HTTP, one request at a"
        " time (requests/s = 1 / mean latency). Seeding: through the API, "
        f"{args.seed_threads} clients at once.",
        "",
        f"## Lists, retrieve, delete ({args.requests} requests each)",
        "",
        "| stored | operation | requests/s | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in sizes:
        for name, stats in (
            ("list, first page (20)", r.first_page),
            ("list, page after the middle", r.deep_page),
            ("retrieve", r.retrieve),
            (f"delete ({r.delete.n})", r.delete),
        ):
            lines.append(f"| {r.size:,} | {name} | {stats.cell()} |")
    lines += [
        "",
        f"Baseline (issue 14, before): list of 4,000: {BASELINE['list_4000']}; every page"
        " decoded every row. Target: p50 under 10 ms at 4,000 and at 40,000.",
        "",
        "## Paging through everything (SDK auto-pager, 100 per page)",
        "",
        "| stored | seeded in s | pages | total s | ms per page | load average |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sizes:
        per_page = 1000 * r.walk_seconds / r.walk_pages
        lines.append(
            f"| {r.size:,} | {r.seed_seconds:.1f} ({r.seeded:,} made) | {r.walk_pages:,} |"
            f" {r.walk_seconds:.2f} | {per_page:.2f} | {r.load:.1f} |"
        )
    lines += [
        "",
        "Linear when the time per page does not grow with the number stored. Load average: the"
        f" machine's (1 minute, {os.cpu_count()} cores) when the size was measured; above the"
        " core count, other work shared the CPU and the latencies of that size are inflated.",
        "",
    ]
    if cleanup is not None:
        size, seconds, counts = cleanup
        lists = counts.get("GET /v1/assistants", 0)
        deletes = counts.get("DELETE /v1/assistants/{assistant_id}", 0)
        lines += [
            "## The clean-up loop",
            "",
            "`for a in client.beta.assistants.list(): client.beta.assistants.delete(a.id)` over"
            f" {size:,} assistants: completed in {seconds:.1f} s, every object visited once,"
            f" the list empty after; {lists:,} list requests (the last one the emptiness"
            f' check) and {deletes:,} deletes. Before: the second page failed with 400 "no'
            ' object with id".',
            "",
        ]
    if upload is not None:
        u = upload
        lines += [
            "## Large uploads (a fresh server process; peak RSS = VmHWM)",
            "",
            "| step | seconds | server peak RSS MiB |",
            "|---|---:|---:|",
            f"| server started | | {u.start_peak:.0f} |",
            f"| upload {u.mib} MiB, streamed by the SDK from the open file | "
            f"{u.upload_seconds:.1f} | {u.upload_peak:.0f} |",
            f"| download it as a stream, sha256 equal | {u.download_seconds:.1f} |"
            f" {u.download_peak:.0f} |",
            f"| upload {u.oversize_mib} MiB: {u.oversize_status}, sent {u.oversize_requests}"
            f" time(s) with `max_retries=2` | {u.oversize_seconds:.1f} | {u.oversize_peak:.0f} |",
            "",
            f"The oversize answer: `{u.oversize_body}`.",
            "",
            f"Baseline (issue 14, before): 896 MiB upload {BASELINE['upload_896']}; 1 GiB upload"
            f" {BASELINE['upload_1024']}. Target: 500 MB with server memory under 200 MiB; over"
            " 512 MB refused with the service's error and never retried.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the Markdown and write it to ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 100,1000,4000; 50 requests")
    parser.add_argument("--sizes", help="comma-separated sizes (default 100,4000,40000)")
    parser.add_argument("--requests", type=int, help="requests per operation (default 200)")
    parser.add_argument("--seed-threads", type=int, default=8)
    parser.add_argument("--upload-mib", type=int, default=500)
    parser.add_argument("--oversize-mib", type=int, default=513)
    parser.add_argument("--no-upload", action="store_true", help="skip the large uploads")
    parser.add_argument("--no-cleanup", action="store_true", help="skip the clean-up loop")
    parser.add_argument("--output", type=Path, help="write the Markdown here")
    parser.add_argument("--seed", type=int, default=14, help="random choice of ids")
    # the SDK marks the Assistants API deprecated; the benchmark measures it all the same
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv
    default_sizes = "100,1000,4000" if args.quick else "100,4000,40000"
    sizes = sorted(int(s) for s in (args.sizes or default_sizes).split(","))
    args.requests = args.requests or (50 if args.quick else 200)
    rng = random.Random(args.seed)

    results: list[SizeResult] = []
    cleanup = None
    upload = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backend-") as tmp:
            folder = Path(tmp)
            (folder / "lists").mkdir()
            with serve(folder / "lists") as server:
                ids: list[str] = []
                for size in sizes:
                    made, seconds = seed(server, size - len(ids), args.seed_threads)
                    ids.extend(made)
                    print(
                        f"{size:>6,} stored (seeded {len(made):,} in {seconds:.1f} s)", flush=True
                    )
                    result = measure_size(server, ids, size, args.requests, rng)
                    result.seed_seconds, result.seeded = seconds, len(made)
                    result.load = os.getloadavg()[0]
                    results.append(result)
                    print(
                        f"        first page {result.first_page.cell()}  |  retrieve"
                        f" {result.retrieve.cell()}  |  walk {result.walk_seconds:.2f} s",
                        flush=True,
                    )
                if not args.no_cleanup:
                    seconds, counts = clean_up_loop(server, sizes[-1])
                    cleanup = (sizes[-1], seconds, counts)
                    print(f"clean-up loop over {sizes[-1]:,}: {seconds:.1f} s", flush=True)
            if not args.no_upload:
                (folder / "uploads").mkdir()
                upload = measure_uploads(folder / "uploads", args.upload_mib, args.oversize_mib)
                print(
                    f"upload {upload.mib} MiB: peak {upload.upload_peak:.0f} MiB; "
                    f"{upload.oversize_mib} MiB: {upload.oversize_status} sent "
                    f"{upload.oversize_requests}x",
                    flush=True,
                )
    except BenchFailure as failure:
        print(f"bench_backend: {failure}", file=sys.stderr)
        return 1
    text = report(results, cleanup, upload, args)
    print()
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
        print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
