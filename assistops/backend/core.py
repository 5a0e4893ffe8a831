"""The backend's state: storage, clock, ids, settings, faults and counts, behind one object.

Every handler receives the :class:`Backend`. Resource rules reach storage through
``backend.store`` inside ``with backend.store.transaction():`` when they read then write,
take time from ``backend.now()`` and ids from ``backend.new_id(prefix)``.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from assistops.backend.faults import Faults
from assistops.backend.store import Clock, IdGenerator, Store
from assistops.limits import FILE_BYTES_MAX

if TYPE_CHECKING:
    from assistops.backend.streaming import EventLog

LastErrorCode = Literal["server_error", "unsupported_file", "invalid_file"]


class Processing(BaseModel):
    """How vector-store files progress from ``in_progress``.

    ``immediate``: they are ``completed`` (or ``failed``) as soon as they are attached.
    ``reads``: they stay ``in_progress`` for ``reads`` reads of their vector store (any
    GET of the store, its files, or its batches), then complete. Files whose filename
    matches ``fail_pattern`` (fnmatch) end ``failed`` with ``last_error`` instead.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["immediate", "reads"] = "immediate"
    reads: int = Field(default=1, ge=0)
    fail_pattern: str | None = None
    fail_code: LastErrorCode = "invalid_file"
    fail_message: str = "The file could not be parsed."

    def fails(self, filename: str) -> bool:
        """Whether a file with this name is set to fail processing."""
        return self.fail_pattern is not None and fnmatch.fnmatch(filename, self.fail_pattern)


class RunModel(Protocol):
    """What answers runs instead of the scripted responder (``assistops serve --model-...``).

    :class:`assistops.backend.model_runner.ModelRunner` is the one implementation.
    """

    def start(self, backend: Backend, run: dict[str, Any], log: EventLog) -> None:
        """Work on a ``queued`` run in the background, emitting its events to ``log``."""

    def cancel(self, run_id: str) -> bool:
        """Stop the run's work; ``False`` when nothing is working on it."""

    def close(self) -> None:
        """Stop all work (the server is stopping)."""


class Backend:
    """One backend instance: what every handler and resource rule works on.

    ``model``: runs are answered by this upstream model instead of the scripted
    responder (:mod:`.responder`, the default).
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        *,
        api_key: str | None = None,
        seed: int | None = None,
        frozen_at: int | None = None,
        processing: Processing | None = None,
        poll_after_ms: int = 10,
        model: RunModel | None = None,
    ) -> None:
        self.store = Store(db)
        self.clock = Clock(frozen_at)
        self.ids = IdGenerator(seed)
        self.api_key = api_key
        self.poll_after_ms = poll_after_ms
        self.processing = processing or Processing()
        self.faults = Faults()
        self.model = model
        #: the largest upload taken (the service's 512 MiB; a test may lower it, reset restores)
        self.upload_bytes_max = FILE_BYTES_MAX
        # resource modules keep extra per-backend state here (cleared by reset)
        self.extras: dict[str, Any] = {}

    def now(self) -> int:
        """The current unix time in seconds."""
        return self.clock.now()

    def new_id(self, prefix: str) -> str:
        """A fresh id: ``new_id("asst_")``."""
        return self.ids.new(prefix)

    def reset(self) -> None:
        """Back to empty: no objects, faults, counts, scripts; default settings and clock."""
        self.store.reset()
        self.faults.clear()
        self.faults.clear_counts()
        self.processing = Processing()
        self.clock.freeze(None)
        self.upload_bytes_max = FILE_BYTES_MAX
        self.extras.clear()

    def seed(self, seed: int | None, frozen_at: int | None = None) -> None:
        """Make ids (and, with ``frozen_at``, ``created_at``) deterministic."""
        self.ids.seed(seed)
        self.clock.freeze(frozen_at)

    def close(self) -> None:
        """Stop the model's work, then release the database."""
        if self.model is not None:
            self.model.close()
        self.store.close()
