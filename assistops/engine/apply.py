"""plan -> changes: visit the plan's steps phase by phase with a writer.

Phases (from the registry of kinds) run in dependency order (uploads, stores, attach + index,
assistants, then deletions in reverse); the steps of one phase are independent and run
concurrently up to a bound. Each step runs itself (``StepBase.run``) against this visitor. Anything
apply creates is recorded in a registry, so later steps resolve ``${vector_store.x}`` and
``${sha:...}`` references to ids. A failure or an interrupt lets in-flight calls finish, starts
nothing new, and reports what was done: every step is idempotent against a fresh plan, so
running apply again converges.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistops.engine.options import ApplyOptions, Event
from assistops.engine.plan import PHASES, Plan, Step
from assistops.errors import ApplyError, PlanError
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

    def emit(self, event: Event) -> None:
        if self.options.on_event is not None:
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
    known = {t for _, types in PHASES for t in types}
    unknown = [s.op for s in plan.steps if type(s) not in known]
    if unknown:
        raise PlanError(f"apply does not know the steps {unknown}")
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        for phase, types in PHASES:
            steps = [s for s in plan.steps if type(s) in types]
            if not steps:
                continue
            visitor.emit(Event("phase", message=phase.label, total=len(steps)))
            futures: dict[Future[None], Step] = {pool.submit(visitor.visit, s): s for s in steps}
            try:
                finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                wait(futures)
                result.done.extend(
                    s
                    for f, s in futures.items()
                    if f.done() and not f.cancelled() and f.exception() is None
                )
                result.created = dict(visitor.registry)
                raise ApplyError(
                    "interrupted: the calls in flight finished and nothing new was started; "
                    "run 'assistops apply' again to finish",
                    result,
                ) from None
            failures = [(futures[f], f.exception()) for f in finished if f.exception()]
            if failures:
                for f in pending:
                    f.cancel()
                wait(pending)
                result.done.extend(
                    futures[f]
                    for f in futures
                    if f.done() and not f.cancelled() and f.exception() is None
                )
                result.created = dict(visitor.registry)
                step, exc = failures[0]
                assert exc is not None
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                raise ApplyError(_failure(step, exc, more, len(result.done)), result) from exc
            result.done.extend(steps)
    result.created = dict(visitor.registry)
    return result


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
