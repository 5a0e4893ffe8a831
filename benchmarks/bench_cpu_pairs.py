"""Client CPU of one scale apply, round by round beside another build and the SDK's floor.

    python benchmarks/bench_cpu_pairs.py --against PATH [--rounds N] [--latency MS]
                                         [--output PATH]

This machine's speed moves by a factor of two to three within minutes (a pure-Python loop of
10**7 steps takes 0.27 s in one hour and 0.74 s in the next), which buries a 10% change in
client CPU under the noise of runs minutes apart. So each round measures, back to back on the
same backend, in an order that rotates every round:

- one apply from empty of the scale project (``bench_scale.FULL``: 200 assistants, 20 stores,
  2,000 files) at the default concurrency by the ``assistops`` beside this python (this build);
- the same by ``--against`` (another build's ``assistops`` script, an older checkout's
  virtualenv);
- the SDK's floor for the same requests (``bench_sdk_floor``: the SDK alone, no assistops);
- the machine's speed: that loop, in a fresh process.

It reports every round, the medians, and the median of each round's ratios (this build over
the other, this build over the floor; and the two applies' wall times, both against this
build's server): ratios of runs seconds apart survive the machine's
drift that absolute seconds do not. Every apply must end verified and at the request bound.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import bench_scale
import bench_sdk_floor
from bench_engine import Run, apply_bound, over
from bench_projects import KEY_ENV, Shape, synthetic_project

from assistops.backend import BackendControl

HERE = Path(__file__).resolve().parent
THIS = Path(sys.executable).parent / "assistops"
SPEED_PROBE = "import time\nt = time.process_time()\nfor _ in range(10**7): pass\n"
SPEED_PROBE += "print(time.process_time() - t)"


def speed() -> float:
    """CPU seconds of a 10**7-step loop in a fresh process: this minute's machine speed."""
    done = subprocess.run(
        [sys.executable, "-c", SPEED_PROBE], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def apply_cpu(
    script: Path, shape: Shape, control: BackendControl, latency: int
) -> tuple[float, float]:
    """One apply from empty by ``script`` at its default concurrency: (wall, CPU, requests)."""
    bench_scale.ASSISTOPS = script
    wall, cpu, counts, _ = bench_scale.apply_once(shape, control, latency, None)
    off = over(Run(counts, 0.0), apply_bound(shape))
    if off != "none":
        raise RuntimeError(f"{script}: requests off the bound: {off}")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    """Measure the rounds, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--against", type=Path, required=True, help="the other build's script")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--latency", type=int, default=20, help="injected ms per request")
    parser.add_argument(
        "--output", type=Path, default=HERE / "RESULTS-cpu-pairs.md", help="where to write"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault(KEY_ENV, "sk-bench-not-a-secret")
    server = bench_scale.Server()
    rounds: list[dict[str, float]] = []
    try:
        with (
            BackendControl(server.control_url) as control,
            tempfile.TemporaryDirectory(prefix="assistops-pairs-") as tmp,
        ):
            shape = synthetic_project(Path(tmp), server.base_url, bench_scale.FULL)
            apply_cpu(THIS, shape, control, 0)  # warm the disk cache and the server
            apply_cpu(args.against, shape, control, 0)
            for n in range(args.rounds):
                row: dict[str, float] = {"speed": speed()}
                order = ["this", "other", "floor"]
                for what in order[n % 3 :] + order[: n % 3]:
                    if what == "floor":
                        parts = bench_sdk_floor.measure_once(
                            server, control, shape.root, args.latency
                        )
                        row["floor"] = parts["total"]
                    else:
                        script = THIS if what == "this" else args.against
                        row[f"{what} wall"], row[what] = apply_cpu(
                            script, shape, control, args.latency
                        )
                rounds.append(row)
                print(
                    f"round {n + 1}/{args.rounds}: speed {row['speed']:.2f} s, this "
                    f"{row['this']:.2f} s, other {row['other']:.2f} s, floor {row['floor']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        server.stop()
    text = report(rounds, args)
    print(text)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


def report(rounds: list[dict[str, float]], args: argparse.Namespace) -> str:
    """The rounds, their medians and the medians of their ratios, as Markdown."""

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top] / r[bottom] for r in rounds)

    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Client CPU of one scale apply, round by round beside another build and the floor",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `python "
        f"benchmarks/bench_cpu_pairs.py --against {args.against} --rounds {args.rounds}`; "
        f"this build: `{THIS}` (benchmarks at {commit or 'unknown'})",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- Project: {bench_scale.FULL.assistants} assistants, {bench_scale.FULL.stores} stores "
        f"of {bench_scale.FULL.files_per_store} files; `assistops serve --db :memory:`, "
        f"{args.latency} ms injected per request; each apply at its build's default "
        "concurrency, from empty, verified, at the request bound. CPU = user + system time of "
        "the client process. Speed: CPU seconds of a 10**7-step Python loop in that round "
        "(lower is a faster machine).",
        "",
        "| round | speed | this build | the other build | SDK floor | this / other | "
        "this / floor | wall: this | wall: other | wall: this / other |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(rounds, 1):
        lines.append(
            f"| {n} | {r['speed']:.2f} s | {r['this']:.2f} s | {r['other']:.2f} s | "
            f"{r['floor']:.2f} s | {r['this'] / r['other']:.3f} | {r['this'] / r['floor']:.3f} | "
            f"{r['this wall']:.2f} s | {r['other wall']:.2f} s | "
            f"{r['this wall'] / r['other wall']:.3f} |"
        )
    lines.append(
        f"| median | {med('speed'):.2f} s | {med('this'):.2f} s | {med('other'):.2f} s | "
        f"{med('floor'):.2f} s | {ratio('this', 'other'):.3f} | {ratio('this', 'floor'):.3f} | "
        f"{med('this wall'):.2f} s | {med('other wall'):.2f} s | "
        f"{ratio('this wall', 'other wall'):.3f} |"
    )
    lines += [
        "",
        f"This build spends {100 * (1 - ratio('this', 'other')):.1f}% less client CPU than the "
        f"other (median of the rounds' ratios), and {ratio('this', 'floor'):.2f} times what "
        "the SDK alone costs for the same requests. Its apply takes "
        f"{ratio('this wall', 'other wall'):.2f} of the other's wall time (the median of the "
        "rounds' ratios), each build at its own default concurrency, against the same server "
        "(this build's `assistops serve`).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
