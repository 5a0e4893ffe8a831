"""plan -> changes: run the plan's steps with a writer, each as soon as what it needs is done.

The steps that create and update (uploads, stores, attach + index, assistants, agents, a
release) form a graph: a step waits for the steps of a lower phase that provide what it points
at (``StepBase.needs``/``provides``: the upload of a ``${sha:...}``, the store it searches,
created, updated and indexed), and nothing else. An assistant that uses no store starts at
once; stores are created while files upload; a store is indexed as soon as its own files are
uploaded. Among the steps that are ready, the later phase goes first (what finishes a chain
frees what waits on it), then plan order. The phases that remove (detach, retire, delete) run
after all of that, one after the other in their order, so nothing is removed before what
replaces it is in place.

At most ``concurrency`` steps run at once, and the writer holds at most that many calls in
flight (fewer for a while after a rate limit: ``providers/limiter.py``). Each step is a
coroutine (``StepBase.run``) that runs against this visitor on the writer's own loop
(``Writer.run_async``), where its calls are awaited: a step costs no thread, and the one that
finishes starts what it frees. The calling thread waits for the whole run. Anything apply
creates is recorded in a registry, so later steps resolve ``${vector_store.x}`` and
``${sha:...}`` references to ids. A failure or an interrupt lets the steps in flight finish,
starts nothing new, and reports what was done: every step is idempotent against a fresh plan,
so running apply again converges.
"""

from __future__ import annotations

import asyncio
import heapq
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistops.engine.options import ApplyOptions, Event
from assistops.engine.plan import PHASES, Plan, Step
from assistops.errors import ApplyError, PlanError
from assistops.kinds.base import Phase
from assistops.providers.base import Writer

__all__ = ["ApplyError", "ApplyOptions", "ApplyResult", "Event", "apply_plan"]

_REF = re.compile(r"^\$\{([^}]+)\}$")


@dataclass
class ApplyResult:
    """What apply did."""

    done: list[Step] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)


class _Visitor:
    """Runs steps: the :class:`~assistops.kinds.base.ApplyContext` every step's ``run`` gets.
    Used on the writer's loop only, so nothing here needs a lock."""

    def __init__(self, writer: Writer, root: Path, options: ApplyOptions) -> None:
        self.writer = writer.aio
        self.root = root
        self.options = options
        self.index_timeout = options.index_timeout
        self.poll_min = options.poll_min
        self.poll_max = options.poll_max
        self.registry: dict[str, str] = {}

    def emit(self, event: Event) -> None:
        """Show ``event``; a display that fails raises :class:`_DisplayFailed` (the run
        stops and says so, and does not blame the step it was showing)."""
        if self.options.on_event is not None:
            try:
                self.options.on_event(event)
            except BaseException as exc:
                raise _DisplayFailed(exc) from exc

    def progress(self, address: str, done: int, total: int) -> None:
        self.emit(Event("index", address, "indexing", done, total))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            match = _REF.match(value)
            if match is None:
                return value
            key = match.group(1)
            if key not in self.registry:
                raise PlanError(f"internal: reference {value} was not created before use")
            return self.registry[key]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def record(self, key: str, object_id: str) -> None:
        self.registry[key] = object_id

    async def visit(self, step: Step) -> None:
        await step.run(self)


def apply_plan(plan: Plan, writer: Writer, root: Path, options: ApplyOptions) -> ApplyResult:
    """Carry out ``plan``; raise ApplyError (what was done, what failed) on the first failure
    or when interrupted (Ctrl-C: the steps in flight finish, nothing new starts)."""
    visitor = _Visitor(writer, root, options)
    result = ApplyResult()
    phase_of = {t: phase for phase, types in PHASES for t in types}
    unknown = [s.op for s in plan.steps if type(s) not in phase_of]
    if unknown:
        raise PlanError(f"apply does not know the steps {unknown}")
    width = max(1, options.concurrency)
    forward = [s for s in plan.steps if not phase_of[type(s)].removes]
    graphs = [(forward, _dependencies(forward))]
    for phase, types in PHASES:
        if phase.removes:
            steps = [s for s in plan.steps if type(s) in types]
            graphs.append((steps, [set() for _ in steps]))
    run = _Run(width, visitor, result)
    before = writer.limit(width)  # plans read at their own width again afterwards
    try:
        writer.run_async(lambda: run.graphs(graphs), interrupt=run.stop)
    except KeyboardInterrupt:
        result.created = dict(visitor.registry)
        # read in this order: the loop sets ``cancelled`` before ``over``
        if not run.begun:  # interrupted before the run reached the loop
            said = "nothing was started"
        elif run.over and not run.cancelled:
            said = "the calls in flight finished and nothing new was started"
        else:  # interrupted again: the calls in flight were cancelled
            said = "the calls in flight were cancelled and may or may not have taken effect"
        raise ApplyError(
            f"interrupted: {said}; run 'assistops apply' again to finish", result
        ) from None
    finally:
        if before is not None:
            writer.limit(before)
    result.created = dict(visitor.registry)
    return result


def _dependencies(steps: list[Step]) -> list[set[int]]:
    """For each step, the indexes of the steps it waits for: those of a lower phase that
    provide something it needs."""
    providers: dict[str, list[int]] = defaultdict(list)
    for i, step in enumerate(steps):
        for token in step.provides():
            providers[token].append(i)
    out: list[set[int]] = []
    for step in steps:
        rank = type(step).phase.rank
        out.append(
            {
                j
                for token in step.needs()
                for j in providers.get(token, ())
                if type(steps[j]).phase.rank < rank
            }
        )
    return out


class _Run:
    """Runs graphs of steps one after another on the writer's loop, each step once what it
    waits for is done, at most ``width`` at once."""

    def __init__(self, width: int, visitor: _Visitor, result: ApplyResult) -> None:
        self.width = width
        self.visitor = visitor
        self.result = result
        self.started: set[Phase] = set()
        self.stopped = False
        #: the run reached the loop; it ended; whether by a cancel (its steps in flight cut short)
        self.begun = self.over = self.cancelled = False
        self._current: _Graph | None = None

    def stop(self) -> None:
        """Start nothing new; the steps running finish (on the loop: the interrupt)."""
        self.stopped = True
        if self._current is not None:
            self._current.stop()

    async def graphs(self, graphs: list[tuple[list[Step], list[set[int]]]]) -> None:
        """Each graph in turn; the first failure stops the run as ``ApplyError``."""
        self.begun = True
        try:
            await self._graphs(graphs)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.over = True

    async def _graphs(self, graphs: list[tuple[list[Step], list[set[int]]]]) -> None:
        for steps, waits_for in graphs:
            if self.stopped:
                return
            if not steps:
                continue
            self._current = graph = _Graph(steps, waits_for, self)
            await graph.run()
            if graph.failures:
                self.result.created = dict(self.visitor.registry)
                first = graph.failures[0]
                more = f" (and {len(graph.failures) - 1} more)" if len(graph.failures) > 1 else ""
                message = _failure(first, more, len(self.result.done))
                raise ApplyError(message, self.result) from first.exc


class _Graph:
    """One graph's state on the loop: the ready steps (the later phase first, then plan
    order), how many each step still waits for, the tasks running, and the failures (after
    one, nothing new starts). A step that ends counts down the steps waiting for it and
    starts the ready ones; :meth:`run` returns once none runs and none will start."""

    def __init__(self, steps: list[Step], waits_for: list[set[int]], run: _Run) -> None:
        self.steps = steps
        self.run_ = run
        self.waiting = [len(w) for w in waits_for]
        self.unblocks: list[list[int]] = [[] for _ in steps]
        for i, deps in enumerate(waits_for):
            for j in deps:
                self.unblocks[j].append(i)
        self.per_phase: dict[Phase, int] = defaultdict(int)
        for step in steps:
            self.per_phase[type(step).phase] += 1
        self.ready = [(-type(s).phase.rank, i) for i, s in enumerate(steps) if not self.waiting[i]]
        heapq.heapify(self.ready)
        self.running: set[asyncio.Task[None]] = set()
        self.stopped = False
        self.failures: list[_Failure] = []
        self._over: asyncio.Future[None] | None = None

    async def run(self) -> None:
        """Until no step runs and none will start: all done, failed or stopped. Cancelled
        (a second Ctrl-C, or the writer closed), it cancels its steps."""
        self._over = asyncio.get_running_loop().create_future()
        self._start_ready()
        try:
            await self._over
        except asyncio.CancelledError:
            self.stopped = True  # a step that still ends normally starts nothing
            while self.running:
                for task in self.running:
                    task.cancel()
                await asyncio.gather(*self.running, return_exceptions=True)
            raise

    def stop(self) -> None:
        """Start nothing new; the steps running finish."""
        self.stopped = True
        self._settle()

    def _settle(self) -> None:
        over = not self.running and (self.stopped or not self.ready)
        if over and self._over is not None and not self._over.done():
            self._over.set_result(None)

    def _fail(self, step: Step, exc: BaseException, *, display: bool = False) -> None:
        self.failures.append(_Failure(step, exc, display))
        self.stopped = True

    def _start_ready(self) -> None:
        """Start ready steps up to the width (each phase announced before its first step)."""
        loop = asyncio.get_running_loop()
        while not self.stopped and self.ready and len(self.running) < self.run_.width:
            _, i = heapq.heappop(self.ready)
            phase = type(self.steps[i]).phase
            if phase not in self.run_.started:  # announced before any of its steps ends
                self.run_.started.add(phase)
                try:
                    self.run_.visitor.emit(
                        Event("phase", message=phase.label, total=self.per_phase[phase])
                    )
                except _DisplayFailed as exc:  # a display that failed stops the run
                    self._fail(self.steps[i], exc.error, display=True)
                    break
            task = loop.create_task(self._step(i))
            self.running.add(task)
        self._settle()

    async def _step(self, i: int) -> None:
        step = self.steps[i]
        try:
            await self.run_.visitor.visit(step)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise
            self._fail(step, exc)  # raised inside the step, not a cancel of it
        except _DisplayFailed as exc:  # showing its progress failed, not the step itself
            self._fail(step, exc.error, display=True)
        except BaseException as exc:  # recorded: the run stops and reports it
            self._fail(step, exc)
        else:
            self.run_.result.done.append(step)
            for k in self.unblocks[i]:
                self.waiting[k] -= 1
                if not self.waiting[k]:
                    heapq.heappush(self.ready, (-type(self.steps[k]).phase.rank, k))
            try:
                self.run_.visitor.emit(Event("step", step.address, _describe(step)))
            except _DisplayFailed as exc:  # the step was done; its display failed: stop
                self._fail(step, exc.error, display=True)
        finally:
            current = asyncio.current_task()
            if current is not None:
                self.running.discard(current)
        self._start_ready()


class _DisplayFailed(Exception):
    """The progress display raised ``error`` (raised through a step that was showing it)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class _Failure:
    """What stopped a graph: ``step`` failed with ``exc``, or (``display``) showing its
    progress did, whether the step had run or not yet started."""

    step: Step
    exc: BaseException
    display: bool = False


def _failure(failure: _Failure, more: str, done: int) -> str:
    """``<address>: <step> failed: <reason><more>. <n> step(s) were done; <what next>``
    (``showing the progress failed`` when the display did, not the step).

    The address is said once (a reason may start with it), a reason of several lines keeps
    them, and the next step is the error's own advice when it has one.
    """
    step, exc = failure.step, failure.exc
    reason = str(exc).strip().rstrip(".") or type(exc).__name__
    if reason.startswith(f"{step.address}: "):
        reason = reason[len(step.address) + 2 :]
    advice = getattr(exc, "advice", None) or (
        "run 'assistops apply' again: it picks up where this one stopped"
    )
    steps = "1 step was done" if done == 1 else f"{done} steps were done"
    sep = "\n" if "\n" in reason else ". "
    what = "showing the progress failed" if failure.display else f"{_describe(step)} failed"
    return f"{step.address}: {what}: {reason}{more}{sep}{steps}; {advice}"


def _describe(step: Step) -> str:
    return step.op.replace("_", " ")
