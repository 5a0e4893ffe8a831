"""An exclusive lock for applies to one local database.

The protocol has no compare-and-swap, so two applies against one remote environment cannot be
kept apart from inside assistops (serialize them with a CI concurrency group); they are made to
converge instead (``api._reconcile_concurrent``). The embedded backend's database is a file on
this machine, though, so there a real lock is possible: a second apply fails at once and names
the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistops.errors import PlanError


@contextmanager
def exclusive(path: Path, operation: str) -> Iterator[None]:
    """Hold ``path`` locked for the duration; raise PlanError naming the holder if taken.

    The lock is the kernel's (``flock``): a holder that dies releases it, so a stale lock
    cannot outlive its process.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            try:
                info = json.loads(holder)
            except ValueError:
                info = {}
            raise PlanError(
                f"another {info.get('operation', 'apply')} holds the lock {path} (pid "
                f"{info.get('pid', '?')} on {info.get('host', '?')} since "
                f"{info.get('since', '?')}); wait for it to finish and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "operation": operation,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
