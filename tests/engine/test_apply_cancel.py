"""Apply's graph cancelled (a second Ctrl-C, or the provider closed): nothing new starts."""

from __future__ import annotations

import asyncio
from typing import Any

from assistops.engine.apply import ApplyResult, _Graph, _Run
from assistops.kinds.base import Phase

PHASE = Phase(10, "test")


class _Step:
    """A step that takes a while; ``stubborn`` carries on when cancelled (as a cancel lost
    in a library would)."""

    phase = PHASE
    op = "test_step"

    def __init__(self, address: str, log: list[str], *, stubborn: bool = False) -> None:
        self.address = address
        self.log = log
        self.stubborn = stubborn

    async def run(self, ctx: Any) -> None:
        self.log.append(f"start {self.address}")
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            if not self.stubborn:
                raise
            await asyncio.sleep(0.05)
        self.log.append(f"end {self.address}")


class _Visitor:
    def emit(self, event: Any) -> None:
        pass

    async def visit(self, step: Any) -> None:
        await step.run(self)


def test_a_cancelled_graph_starts_nothing_even_when_a_step_ignores_the_cancel() -> None:
    log: list[str] = []

    async def main() -> list[asyncio.Task[Any]]:
        before = asyncio.all_tasks()
        run = _Run(1, _Visitor(), ApplyResult())  # type: ignore[arg-type]
        steps: list[Any] = [_Step("a", log, stubborn=True), _Step("b", log), _Step("c", log)]
        graph = _Graph(steps, [set(), set(), set()], run)
        task = asyncio.create_task(graph.run())
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            log.append("cancelled")
        await asyncio.sleep(0.3)  # a step started after the cancel would show here
        return [t for t in asyncio.all_tasks() - before if not t.done()]

    left = asyncio.run(asyncio.wait_for(main(), 10))
    assert log == ["start a", "end a", "cancelled"]
    assert left == []


def test_a_cancelled_error_raised_inside_a_step_is_its_failure_not_a_hang() -> None:
    class _Raises(_Step):
        async def run(self, ctx: Any) -> None:
            raise asyncio.CancelledError  # from inside, the task itself was not cancelled

    async def main() -> _Graph:
        run = _Run(1, _Visitor(), ApplyResult())  # type: ignore[arg-type]
        steps: list[Any] = [_Raises("a", []), _Step("b", [])]
        graph = _Graph(steps, [set(), set()], run)
        await graph.run()
        return graph

    graph = asyncio.run(asyncio.wait_for(main(), 10))
    assert [failure.step.address for failure in graph.failures] == ["a"]
