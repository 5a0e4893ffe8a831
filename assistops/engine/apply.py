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

import contextlib
import heapq
import queue
import re
import threading
from collections import defaultdict
from collections.abc import Callable
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
            # counted before it starts: a Ctrl-C inside start() may leave it running anyway,
            # and each running worker must get its own stop below
            self._threads.append(thread)
            thread.start()
        self._todo.put(work)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            with contextlib.suppress(RuntimeError):  # never started (Ctrl-C in start())
                thread.join()


class _Run:
    """Runs graphs of steps on one set of workers: each step once what it waits for is done.

    The workers schedule themselves: one that finishes a step counts down the steps waiting
    for it and takes the next ready one, so a step costs no hand-over to and from the calling
    thread (two thread wake-ups a step, more CPU than the rest of the scheduling). The calling
    thread waits until the graph is done, has failed or is interrupted.
    """

    def __init__(self, pool: _Workers, width: int, visitor: _Visitor, result: ApplyResult) -> None:
        self.pool = pool
        self.width = width
        self.visitor = visitor
        self.result = result
        self.started: set[Phase] = set()

    def graph(self, steps: list[Step], waits_for: list[set[int]]) -> None:
        """Run ``steps``; the first failure (or Ctrl-C) stops it as ``ApplyError``."""
        if not steps:
            return
        graph = _Graph(steps, waits_for, self)
        try:
            for n in range(min(self.width, len(steps))):
                self.pool.submit(graph.drain, n + 1)
            graph.wait()
        except KeyboardInterrupt:
            graph.stop()
            graph.wait()  # for the state, not for the workers: nothing to miscount
            self.result.created = dict(self.visitor.registry)
            raise ApplyError(
                "interrupted: the calls in flight finished and nothing new was started; "
                "run 'assistops apply' again to finish",
                self.result,
            ) from None
        if graph.failures:
            self.result.created = dict(self.visitor.registry)
            step, exc = graph.failures[0]
            more = f" (and {len(graph.failures) - 1} more)" if len(graph.failures) > 1 else ""
            message = _failure(step, exc, more, len(self.result.done))
            raise ApplyError(message, self.result) from exc


class _Graph:
    """One graph's state, shared by the workers under one lock: the ready steps (the later
    phase first, then plan order), how many each step still waits for, the steps running, and
    the failures (after one, nothing new starts). Workers wait on ``ready_or_over`` for a step;
    the calling thread waits on ``settled`` until none runs and none will start."""

    def __init__(self, steps: list[Step], waits_for: list[set[int]], run: _Run) -> None:
        self.steps = steps
        self.run = run
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
        self.running = 0
        self.stopped = False
        self.failures: list[tuple[Step, BaseException]] = []
        lock = threading.Lock()
        self.ready_or_over = threading.Condition(lock)
        self.settled = threading.Condition(lock)

    def _over(self) -> bool:
        return not self.running and (self.stopped or not self.ready)

    def stop(self) -> None:
        """Start nothing new; the steps running finish."""
        with self.ready_or_over:
            self.stopped = True
            self.ready_or_over.notify_all()
            if self._over():
                self.settled.notify_all()

    def wait(self) -> None:
        """Until no step runs and none will start: all done, or stopped (Ctrl-C reaches the
        caller here)."""
        with self.settled:
            while not self._over():
                self.settled.wait()

    def _fail(self, step: Step, exc: BaseException) -> None:
        # with the lock held, after the failed step stopped counting as running
        self.failures.append((step, exc))
        self.stopped = True
        self.ready_or_over.notify_all()
        if self._over():
            self.settled.notify_all()

    def _next(self) -> int | None:
        """The next step to run (its phase announced first), or None when there is none left
        to run here: all done, or stopped."""
        with self.ready_or_over:
            while not self.stopped and not self.ready:
                if not self.running:
                    return None
                self.ready_or_over.wait()
            if self.stopped:
                return None
            _, i = heapq.heappop(self.ready)
            phase = type(self.steps[i]).phase
            if phase not in self.run.started:  # announced before any of its steps ends
                self.run.started.add(phase)
                try:
                    self.run.visitor.emit(
                        Event("phase", message=phase.label, total=self.per_phase[phase])
                    )
                except BaseException as exc:  # a display that failed stops the run
                    self._fail(self.steps[i], exc)
                    return None
            self.running += 1
            return i

    def drain(self) -> None:
        """Run ready steps one after another until the graph is done or stopped."""
        while (i := self._next()) is not None:
            step = self.steps[i]
            failure: BaseException | None = None
            try:
                self.run.visitor.visit(step)
            except BaseException as exc:  # recorded: the run stops and reports it
                failure = exc
            with self.ready_or_over:
                self.running -= 1
                if failure is not None:
                    self._fail(step, failure)
                    continue
                self.run.result.done.append(step)
                freed = 0
                for k in self.unblocks[i]:
                    self.waiting[k] -= 1
                    if not self.waiting[k]:
                        heapq.heappush(self.ready, (-type(self.steps[k]).phase.rank, k))
                        freed += 1
                if self._over():
                    self.ready_or_over.notify_all()  # done: every idle worker leaves
                    self.settled.notify_all()
                elif freed:
                    self.ready_or_over.notify(freed)


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
