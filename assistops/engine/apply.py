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
flight (fewer for a while after a rate limit: ``providers/limiter.py``). Each step runs itself
(``StepBase.run``) against this visitor. Anything apply creates is recorded in a registry, so
later steps resolve ``${vector_store.x}`` and ``${sha:...}`` references to ids. A failure or an
interrupt lets the steps in flight finish, starts nothing new, and reports what was done:
every step is idempotent against a fresh plan, so running apply again converges.
"""

from __future__ import annotations

import heapq
import queue
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
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
    """Runs steps: the :class:`~assistops.kinds.base.ApplyContext` every step's ``run`` gets."""

    def __init__(self, writer: Writer, root: Path, options: ApplyOptions) -> None:
        self.writer = writer
        self.root = root
        self.options = options
        self.index_timeout = options.index_timeout
        self.poll_min = options.poll_min
        self.poll_max = options.poll_max
        self.registry: dict[str, str] = {}
        self.lock = threading.Lock()
        self._events = threading.Lock()

    def emit(self, event: Event) -> None:
        # one event at a time: whoever displays them need not be thread-safe
        if self.options.on_event is not None:
            with self._events:
                self.options.on_event(event)

    def progress(self, address: str, done: int, total: int) -> None:
        self.emit(Event("index", address, "indexing", done, total))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            match = _REF.match(value)
            if match is None:
                return value
            key = match.group(1)
            with self.lock:
                if key not in self.registry:
                    raise PlanError(f"internal: reference {value} was not created before use")
                return self.registry[key]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def record(self, key: str, object_id: str) -> None:
        with self.lock:
            self.registry[key] = object_id

    def visit(self, step: Step) -> None:
        step.run(self)
        self.emit(Event("step", step.address, _describe(step)))


def apply_plan(plan: Plan, writer: Writer, root: Path, options: ApplyOptions) -> ApplyResult:
    """Carry out ``plan``; raise ApplyError (what was done, what failed) on the first failure."""
    visitor = _Visitor(writer, root, options)
    result = ApplyResult()
    phase_of = {t: phase for phase, types in PHASES for t in types}
    unknown = [s.op for s in plan.steps if type(s) not in phase_of]
    if unknown:
        raise PlanError(f"apply does not know the steps {unknown}")
    width = max(1, options.concurrency)
    before = writer.limit(width)  # plans read at their own width again afterwards
    forward = [s for s in plan.steps if not phase_of[type(s)].removes]
    try:
        with _Workers(width) as pool:
            run = _Run(pool, width, visitor, result)
            run.graph(forward, _dependencies(forward))
            for phase, types in PHASES:
                if phase.removes:
                    steps = [s for s in plan.steps if type(s) in types]
                    run.graph(steps, [set() for _ in steps])
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


class _Workers:
    """Up to ``width`` threads running what :meth:`submit` hands them, started as the steps in
    flight need them and stopped on exit, once they are done.

    Steps are handed over on a C-level queue: the pool's Future (a Condition and its locks)
    for every step cost more than the rest of the scheduling, and apply never used it."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._todo: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def _serve(self) -> None:
        while (work := self._todo.get()) is not None:
            work()

    def submit(self, work: Callable[[], None], in_flight: int) -> None:
        """Run ``work`` on a worker; ``in_flight`` steps (this one included) now need one."""
        if len(self._threads) < min(in_flight, self.width):
            thread = threading.Thread(
                target=self._serve, name=f"assistops-apply-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._todo.put(work)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join()


class _Run:
    """Runs graphs of steps on one pool: each step once what it waits for is done.

    Workers report each finished step on a queue (one put per step), so the loop that hands
    out steps wakes once per step instead of locking every future in flight each time.
    """

    def __init__(self, pool: _Workers, width: int, visitor: _Visitor, result: ApplyResult) -> None:
        self.pool = pool
        self.width = width
        self.visitor = visitor
        self.result = result
        self.started: set[Phase] = set()
        self.finished: queue.SimpleQueue[tuple[int, BaseException | None]] = queue.SimpleQueue()

    def _task(self, i: int, step: Step) -> None:
        try:
            self.visitor.visit(step)
        except BaseException as exc:  # reported to the loop, which stops the run
            self.finished.put((i, exc))
        else:
            self.finished.put((i, None))

    def graph(self, steps: list[Step], waits_for: list[set[int]]) -> None:
        """Run ``steps``; the first failure (or Ctrl-C) stops it as ``ApplyError``."""
        waiting = [len(w) for w in waits_for]
        unblocks: list[list[int]] = [[] for _ in steps]
        for i, deps in enumerate(waits_for):
            for j in deps:
                unblocks[j].append(i)
        per_phase: dict[Phase, int] = defaultdict(int)
        for step in steps:
            per_phase[type(step).phase] += 1
        # later phases first (they finish a chain), then plan order
        ready = [(-type(s).phase.rank, i) for i, s in enumerate(steps) if not waiting[i]]
        heapq.heapify(ready)
        running: set[int] = set()
        while ready or running:
            while ready and len(running) < self.width:
                _, i = heapq.heappop(ready)
                phase = type(steps[i]).phase
                if phase not in self.started:
                    self.started.add(phase)
                    self.visitor.emit(Event("phase", message=phase.label, total=per_phase[phase]))
                running.add(i)
                self.pool.submit(partial(self._task, i, steps[i]), len(running))
            try:
                reports = [self.finished.get()]
                while not self.finished.empty():
                    reports.append(self.finished.get())
            except KeyboardInterrupt:
                self._stop(steps, running)
                raise ApplyError(
                    "interrupted: the calls in flight finished and nothing new was started; "
                    "run 'assistops apply' again to finish",
                    self.result,
                ) from None
            failures: list[tuple[Step, BaseException]] = []
            for i, exc in reports:
                running.discard(i)
                if exc is not None:
                    failures.append((steps[i], exc))
                    continue
                self.result.done.append(steps[i])
                for k in unblocks[i]:
                    waiting[k] -= 1
                    if not waiting[k]:
                        heapq.heappush(ready, (-type(steps[k]).phase.rank, k))
            if failures:
                failures += self._stop(steps, running)
                step, exc = failures[0]
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                message = _failure(step, exc, more, len(self.result.done))
                raise ApplyError(message, self.result) from exc

    def _stop(self, steps: list[Step], running: set[int]) -> list[tuple[Step, BaseException]]:
        """Let the steps in flight finish; keep what they did; return their failures."""
        failures: list[tuple[Step, BaseException]] = []
        while running:
            i, exc = self.finished.get()
            running.discard(i)
            if exc is None:
                self.result.done.append(steps[i])
            else:
                failures.append((steps[i], exc))
        self.result.created = dict(self.visitor.registry)
        return failures


def _failure(step: Step, exc: BaseException, more: str, done: int) -> str:
    """``<address>: <step> failed: <reason><more>. <n> step(s) were done; <what next>``.

    The address is said once (a reason may start with it), a reason of several lines keeps
    them, and the next step is the error's own advice when it has one.
    """
    reason = str(exc).strip().rstrip(".")
    if reason.startswith(f"{step.address}: "):
        reason = reason[len(step.address) + 2 :]
    advice = getattr(exc, "advice", None) or (
        "run 'assistops apply' again: it picks up where this one stopped"
    )
    steps = "1 step was done" if done == 1 else f"{done} steps were done"
    sep = "\n" if "\n" in reason else ". "
    return f"{step.address}: {_describe(step)} failed: {reason}{more}{sep}{steps}; {advice}"


def _describe(step: Step) -> str:
    return step.op.replace("_", " ")
