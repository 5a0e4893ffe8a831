"""plan -> changes: visit the plan's steps phase by phase with a writer.

Phases run in dependency order (uploads, stores, attach + index, assistants, then deletions in
reverse); the steps of one phase are independent and run concurrently up to a bound. Anything
apply creates is recorded in a registry, so later steps resolve ``${vector_store.x}`` and
``${sha:...}`` references to ids. A failure or an interrupt lets in-flight calls finish, starts
nothing new, and reports what was done: every step is idempotent against a fresh plan, so
running apply again converges.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistops.errors import AssistopsError, PlanError
from assistops.plan import (
    PHASES,
    AttachFiles,
    CreateAssistant,
    CreateVectorStore,
    DeleteAssistant,
    DeleteFile,
    DeleteVectorStore,
    DetachFile,
    Plan,
    Step,
    UpdateAssistant,
    UpdateFileAttributes,
    UpdateVectorStore,
    UploadFile,
)
from assistops.providers.base import Json, Writer

_REF = re.compile(r"^\$\{([^}]+)\}$")


@dataclass(frozen=True)
class Event:
    """Progress of apply, for whoever displays it."""

    kind: str  # "phase" | "step" | "index"
    address: str = ""
    message: str = ""
    done: int = 0
    total: int = 0


@dataclass
class ApplyOptions:
    """How apply runs."""

    concurrency: int = 4
    index_timeout: float = 900.0
    poll_min: float = 0.02
    poll_max: float = 1.0
    on_event: Callable[[Event], None] | None = None


@dataclass
class ApplyResult:
    """What apply did."""

    done: list[Step] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)


class ApplyError(AssistopsError):
    """Apply stopped before the end; what was done stays done, a new apply converges."""

    def __init__(self, message: str, result: ApplyResult) -> None:
        super().__init__(message)
        self.result = result


class _Visitor:
    def __init__(self, writer: Writer, root: Path, options: ApplyOptions) -> None:
        self.writer = writer
        self.root = root
        self.options = options
        self.registry: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def emit(self, event: Event) -> None:
        if self.options.on_event is not None:
            self.options.on_event(event)

    # references

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

    # the steps

    def visit(self, step: Step) -> None:
        handler = getattr(self, f"_{step.op}", None)
        if handler is None:
            raise PlanError(f"apply does not know the step '{step.op}'")
        handler(step)
        self.emit(Event("step", step.address, _describe(step)))

    def _upload_file(self, step: UploadFile) -> None:
        path = self.root / step.path
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != step.sha256:
            raise PlanError(
                f"{step.path} changed after the plan was made; run 'assistops plan' again"
            )
        uploaded = self.writer.upload_file(step.filename, data)
        self.record(f"sha:{step.sha256}", uploaded["id"])

    def _create_vector_store(self, step: CreateVectorStore) -> None:
        store = self.writer.create_vector_store(step.body)
        self.record(step.address, store["id"])

    def _update_vector_store(self, step: UpdateVectorStore) -> None:
        self.writer.update_vector_store(step.id, step.body)

    def _attach_files(self, step: AttachFiles) -> None:
        store_id = self.resolve(step.store)
        for file_id in step.detach_first:
            self.writer.detach_file(store_id, file_id)
        files = self.resolve(step.files)
        batch = self.writer.create_file_batch(store_id, files)
        total = len(files)
        delay = self.options.poll_min
        deadline = time.monotonic() + self.options.index_timeout
        while True:
            counts = batch.get("file_counts") or {}
            pending = int(counts.get("in_progress", 0))
            self.emit(Event("index", step.address, "indexing", total - pending, total))
            if pending == 0 or batch.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                raise PlanError(
                    f"{step.address}: files still indexing after {self.options.index_timeout:.0f}"
                    " s; run apply again later"
                )
            time.sleep(delay)
            delay = min(delay * 2, self.options.poll_max)
            batch = self.writer.retrieve_file_batch(store_id, batch["id"])
        failed = int((batch.get("file_counts") or {}).get("failed", 0))
        if failed:
            details = [
                f"{(f.get('attributes') or {}).get('assistops_path', f['id'])}: "
                f"{(f.get('last_error') or {}).get('message', 'failed')}"
                for f in self.writer.list_file_batch_files(store_id, batch["id"])
                if f.get("status") == "failed"
            ]
            raise PlanError(
                f"{step.address}: {failed} file(s) failed to index: " + "; ".join(details)
            )

    def _update_file_attributes(self, step: UpdateFileAttributes) -> None:
        self.writer.update_vector_store_file(step.store, step.file_id, step.attributes)

    def _detach_file(self, step: DetachFile) -> None:
        self.writer.detach_file(step.store, step.file_id)

    def _create_assistant(self, step: CreateAssistant) -> None:
        created = self.writer.create_assistant(self.resolve(step.body))
        self.record(step.address, created["id"])

    def _update_assistant(self, step: UpdateAssistant) -> None:
        self.writer.update_assistant(step.id, self.resolve(step.body))

    def _delete_assistant(self, step: DeleteAssistant) -> None:
        self.writer.delete_assistant(step.id)

    def _delete_vector_store(self, step: DeleteVectorStore) -> None:
        self.writer.delete_vector_store(step.id)

    def _delete_file(self, step: DeleteFile) -> None:
        self.writer.delete_file(step.id)


def apply_plan(plan: Plan, writer: Writer, root: Path, options: ApplyOptions) -> ApplyResult:
    """Carry out ``plan``; raise ApplyError (what was done, what failed) on the first failure."""
    visitor = _Visitor(writer, root, options)
    result = ApplyResult()
    known_ops = {op for _, ops in PHASES for op in ops}
    unknown = [s.op for s in plan.steps if s.op not in known_ops]
    if unknown:
        raise PlanError(f"apply does not know the steps {unknown}")
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        for phase, ops in PHASES:
            steps = [s for s in plan.steps if s.op in ops]
            if not steps:
                continue
            visitor.emit(Event("phase", message=phase, total=len(steps)))
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
                step, exc = failures[0]
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                raise ApplyError(
                    f"{step.address}: {_describe(step)} failed: {exc}{more}. "
                    f"{len(result.done)} step(s) were done; run 'assistops apply' again: it "
                    "picks up where this one stopped",
                    result,
                ) from exc
            result.done.extend(steps)
    result.created = dict(visitor.registry)
    return result


def _describe(step: Step) -> str:
    return step.op.replace("_", " ")


def body_of(step: Step) -> Json | None:
    """The request body a step sends, if it has one (for display)."""
    return getattr(step, "body", None)
