"""Peak memory of ``assistops plan`` and ``apply`` with one large knowledge file.

    python benchmarks/bench_memory.py [--mb 500] [--output PATH]

Writes the example project twice to a temporary folder, once as it is and once with a
generated Markdown file of ``--mb`` megabytes in its handbook, each with an environment that
points the openai provider at an ``assistops serve`` process (so the server's memory is not
counted). Runs ``plan`` and ``apply`` of each as a subprocess of the installed ``assistops`` and
reads each one's peak resident set size from ``wait4``. The difference is what the large file
costs the client; nothing of it is kept.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "assistants"
ASSISTOPS = str(Path(sys.executable).with_name("assistops"))
KEY_ENV = "ASSISTOPS_BENCH_KEY"


def peak_mib(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; its peak RSS in MiB and its wall time in seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(args)} exited {code}:\n{err}")
    return usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def project(where: Path, name: str, base_url: str, big_mb: int) -> Path:
    """The example project with environment ``bench``; with a generated file when big_mb."""
    root = where / name
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assistops"))
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            f"\n  bench:\n    provider: openai\n    base_url: {base_url}\n"
            f"    api_key_env: {KEY_ENV}\n"
            "    variables:\n      support_email: s@bench.example\n      escalation: None.\n"
        )
    if big_mb:
        line = b"Gift cards are valid for three years from the date of purchase.\n"
        block = line * (1024 * 1024 // len(line) + 1)
        with (root / "knowledge" / "handbook" / "big.md").open("wb") as out:
            left = big_mb * 1024 * 1024
            while left > 0:
                piece = block[: min(left, len(block))]
                out.write(piece)
                left -= len(piece)
    return root


def main(argv: list[str] | None = None) -> int:
    """Measure, print a Markdown report, and write it to --output when given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the large file (MB)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault(KEY_ENV, "sk-bench-not-a-secret")
    with tempfile.TemporaryDirectory(prefix="assistops-mem-") as tmp:
        where = Path(tmp)
        server = subprocess.Popen(
            [ASSISTOPS, "serve", "--port", "0", "--db", str(where / "server.db")],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().rsplit(" ", 1)[1].strip()
            rows = []
            for name, mb in (("small", 0), ("large", args.mb)):
                root = project(where, name, base_url, mb)
                plan = peak_mib([ASSISTOPS, "plan", "-e", "bench"], root)
                apply = peak_mib([ASSISTOPS, "apply", "-e", "bench", "--auto-approve"], root)
                rows.append((name, mb, plan, apply))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if server.stdout:
                server.stdout.close()
    (_, _, plan0, apply0), (_, mb, plan1, apply1) = rows
    lines = [
        "# Peak memory with one large knowledge file",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}",
        f"- Reproduce: `python benchmarks/bench_memory.py --mb {mb}`",
        "- The example project against `assistops serve` in another process; peak RSS of the "
        "client command from `wait4` (one run each: memory does not vary the way time does).",
        "",
        "| command | example project | + one file of "
        f"{mb} MB | added by the file | wall time (small / large) |",
        "|---|---|---|---|---|",
        f"| `plan` | {plan0[0]:.0f} MiB | {plan1[0]:.0f} MiB | {plan1[0] - plan0[0]:.0f} MiB "
        f"| {plan0[1]:.1f} s / {plan1[1]:.1f} s |",
        f"| `apply` (from empty) | {apply0[0]:.0f} MiB | {apply1[0]:.0f} MiB | "
        f"{apply1[0] - apply0[0]:.0f} MiB | {apply0[1]:.1f} s / {apply1[1]:.1f} s |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
