"""Benchmarks of ``assistops serve`` with a model: the server's own cost over the upstream's.

    python benchmarks/bench_serve.py [--runs 40] [--tokens 200] [--output PATH]

The upstream is the scripted model server of the tests (``tests/serve/scripted_upstream``),
which answers at once, so what is measured is assistops: the backend in memory on loopback,
its runs answered by that upstream over HTTP, driven by the official SDK.

1. **Overhead per run**: a streamed ``create_and_run`` (one short reply) through the server,
   minus the same model call made directly to the upstream (median of ``--runs``).
2. **Overhead per streamed token**: a reply of ``--tokens`` pieces through the server, minus
   the same call made directly, divided by the pieces.
3. **Runs per second with 16 concurrent threads**: 16 SDK clients, each creating and
   streaming runs on threads of its own, for ``--runs`` runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from serve.scripted_upstream import ScriptedUpstream, Turn, running_upstream  # noqa: E402

from assistops.backend import UpstreamSettings, start_server  # noqa: E402


class Direct:
    """Model calls straight to the upstream, with the async client the server itself uses."""

    def __init__(self, upstream: ScriptedUpstream) -> None:
        self.url = f"{upstream.url}/chat/completions"
        self.loop = asyncio.new_event_loop()
        self.http = httpx2.AsyncClient(timeout=30)

    async def _call(self) -> float:
        body = {
            "model": "tiny-chat",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        start = time.perf_counter()
        async with self.http.stream("POST", self.url, json=body) as response:
            async for line in response.aiter_lines():
                if line == "data: [DONE]":
                    break  # where the server stops reading too
        return time.perf_counter() - start

    def __call__(self) -> float:
        """One streamed chat completion read to its end; seconds."""
        return self.loop.run_until_complete(self._call())

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


def _served(sdk: openai.OpenAI, assistant_id: str) -> float:
    start = time.perf_counter()
    with sdk.beta.threads.create_and_run_stream(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": "hi"}]}
    ) as stream:
        stream.until_done()
        assert stream.get_final_run().status == "completed"
    return time.perf_counter() - start


def _pieces(n: int) -> Turn:
    return Turn(text=[f"w{i} " for i in range(n)])


def measure(runs: int, tokens: int) -> dict[str, float]:
    """The three numbers (seconds, or runs per second)."""
    out: dict[str, float] = {}
    with running_upstream() as upstream:
        settings = UpstreamSettings(base_url=upstream.url)
        with (
            start_server(":memory:", upstream=settings) as running,
            openai.OpenAI(base_url=running.base_url, api_key="x", max_retries=0) as sdk,
        ):
            direct_call = Direct(upstream)
            assistant = sdk.beta.assistants.create(model="tiny-chat")
            for _ in range(5):  # warm up both paths
                _served(sdk, assistant.id)
                direct_call()
            served = [_served(sdk, assistant.id) for _ in range(runs)]
            direct = [direct_call() for _ in range(runs)]
            out["run_served_ms"] = statistics.median(served) * 1000
            out["run_direct_ms"] = statistics.median(direct) * 1000
            out["run_overhead_ms"] = out["run_served_ms"] - out["run_direct_ms"]

            long_served, long_direct = [], []
            for _ in range(max(3, runs // 8)):
                upstream.script(_pieces(tokens))
                long_served.append(_served(sdk, assistant.id))
                upstream.script(_pieces(tokens))
                long_direct.append(direct_call())
            extra = statistics.median(long_served) - statistics.median(long_direct)
            out["token_overhead_ms"] = (extra - out["run_overhead_ms"] / 1000) / tokens * 1000

            clients = [
                openai.OpenAI(base_url=running.base_url, api_key="x", max_retries=0)
                for _ in range(16)
            ]
            errors: list[BaseException] = []

            def worker(client: openai.OpenAI) -> None:
                try:
                    for _ in range(runs):
                        _served(client, assistant.id)
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            for c in clients:
                c.close()
            if errors:
                raise errors[0]
            out["concurrent_runs_per_s"] = 16 * runs / wall
            out["concurrent_runs"] = 16 * runs
            direct_call.close()
    return out


def report(numbers: dict[str, float], runs: int, tokens: int) -> str:
    """The results as Markdown."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} {platform.release()}"
    )
    return "\n".join(
        [
            "# assistops serve with a model: the server's own cost",
            "",
            f"- Date: {now}; machine: {machine}, Python {platform.python_version()}",
            f"- Reproduce: `python benchmarks/bench_serve.py --runs {runs} --tokens {tokens}`",
            "- Upstream: the tests' scripted model server on loopback (answers at once); the"
            " backend in memory; SDK streams. Single runs on a shared machine: indicative.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| streamed run through serve (median of {runs}) "
            f"| {numbers['run_served_ms']:.1f} ms |",
            f"| the same model call made directly (median) | {numbers['run_direct_ms']:.1f} ms |",
            f"| **overhead per run** | **{numbers['run_overhead_ms']:.1f} ms** |",
            f"| **overhead per streamed token** ({tokens}-piece replies) "
            f"| **{numbers['token_overhead_ms']:.2f} ms** |",
            f"| **runs per second, 16 concurrent threads** ({numbers['concurrent_runs']:.0f} runs) "
            f"| **{numbers['concurrent_runs_per_s']:.1f}** |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("SERVE_RESULTS.md"))
    args = parser.parse_args()
    text = report(measure(args.runs, args.tokens), args.runs, args.tokens)
    args.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
