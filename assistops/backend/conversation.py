"""Where threads, messages, runs and run steps live in the store, and how to find them.

Kinds: ``thread`` (no parent), ``message`` and ``run`` (parent = thread id),
``run_step`` (parent = run id). The lookups raise the service's 404s, so handlers of
every module in the conversation family share one wording.
"""

from __future__ import annotations

from assistops.backend.core import Backend
from assistops.backend.parsing import invalid, not_found
from assistops.backend.rules import Doc

THREAD, MESSAGE, RUN, STEP = "thread", "message", "run", "run_step"
ACTIVE_RUN_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


def require_thread(backend: Backend, thread_id: str) -> Doc:
    """The thread document, or 404."""
    doc = backend.store.get(THREAD, thread_id)
    if doc is None:
        raise not_found(f"No thread found with id '{thread_id}'.")
    return doc


def require_message(backend: Backend, thread_id: str, message_id: str) -> Doc:
    """The message document (its thread must exist), or 404."""
    require_thread(backend, thread_id)
    doc = backend.store.get(MESSAGE, message_id, parent=thread_id)
    if doc is None:
        raise not_found(f"No message found with id '{message_id}'.")
    return doc


def require_run(backend: Backend, thread_id: str, run_id: str) -> Doc:
    """The run document (its thread must exist), or 404."""
    require_thread(backend, thread_id)
    doc = backend.store.get(RUN, run_id, parent=thread_id)
    if doc is None:
        raise not_found(f"No run found with id '{run_id}'.")
    return doc


def expire_if_overdue(backend: Backend, run: Doc) -> Doc:
    """Mark an active run past its ``expires_at`` (and its open steps) ``expired``."""
    now = backend.now()
    if run["status"] not in ACTIVE_RUN_STATUSES or run["expires_at"] is None:
        return run
    if now < run["expires_at"]:
        return run
    with backend.store.transaction():
        for step in backend.store.all(STEP, parent=run["id"]):
            if step["status"] == "in_progress":
                step.update(status="expired", expired_at=now)
                backend.store.put(STEP, step, parent=run["id"])
        run.update(status="expired", required_action=None)
        backend.store.put(RUN, run, parent=run["thread_id"])
    return run


def active_run(backend: Backend, thread_id: str) -> Doc | None:
    """The thread's run that is still going (at most one), if any."""
    for run in backend.store.all(RUN, parent=thread_id):
        if expire_if_overdue(backend, run)["status"] in ACTIVE_RUN_STATUSES:
            return run
    return None


def refuse_if_active(backend: Backend, thread_id: str, *, adding_message: bool) -> None:
    """400 when the thread has an active run (one run at a time, no messages meanwhile)."""
    run = active_run(backend, thread_id)
    if run is None:
        return
    if adding_message:
        raise invalid(None, f"Can't add messages to {thread_id} while a run {run['id']} is active.")
    raise invalid(None, f"Thread {thread_id} already has an active run {run['id']}.")
