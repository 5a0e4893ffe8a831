"""The embedded ``local`` provider: assistops' own backend, in-process, on a loopback port.

State lives in a SQLite file (``.assistops/<env>.db`` by default, or the environment's
``database``, project-relative; ``:memory:`` keeps it in memory). The SDK talks to it over
real HTTP exactly as it would to a remote server, so local runs exercise the same code path.
"""

from __future__ import annotations

from pathlib import Path

import openai

from assistops.backend import RunningBackend, start_server
from assistops.providers.clients import MAX_RETRIES, REQUEST_TIMEOUT, make_http_client
from assistops.providers.openai_provider import OpenAIProvider
from assistops.providers.settings import MEMORY, STATE_DIR, ProviderSettings

# the backend runs without a key; the SDK insists on one
LOCAL_KEY = "local"


def prepare_state_dir(root: Path) -> Path:
    """Create ``.assistops/`` with a ``.gitignore`` of ``*`` so its databases stay untracked."""
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return state


class LocalProvider(OpenAIProvider):
    """An :class:`OpenAIProvider` whose server it owns: :meth:`close` stops it."""

    def __init__(
        self,
        running: RunningBackend,
        label: str,
        *,
        environment: str | None = None,
        database: Path | None = None,
    ) -> None:
        client = openai.OpenAI(
            base_url=running.base_url,
            api_key=LOCAL_KEY,
            max_retries=MAX_RETRIES,
            timeout=REQUEST_TIMEOUT,
            http_client=make_http_client(plain_http=True),
        )
        super().__init__(client, label, environment=environment)
        self.running = running
        self.database = database

    def lock_path(self) -> Path | None:
        """``<database>.lock`` beside the SQLite file (none for an in-memory database)."""
        if self.database is None:
            return None
        return self.database.with_name(self.database.name + ".lock")

    def close(self) -> None:
        """Close the client, then stop the server and its database."""
        try:
            super().close()
        finally:
            self.running.stop()


def open_local(settings: ProviderSettings, key: str | None, root: Path) -> LocalProvider:
    """Start the backend for a local environment of the project at ``root`` and wrap it (it
    needs no ``key``)."""
    db: str | Path = MEMORY
    if settings.database != MEMORY:
        prepare_state_dir(root)
        db = root / settings.database  # an absolute database path stays absolute
        db.parent.mkdir(parents=True, exist_ok=True)
    running = start_server(db=db, host="127.0.0.1", port=0)
    try:
        return LocalProvider(
            running,
            settings.label,
            environment=settings.environment,
            database=db if isinstance(db, Path) else None,
        )
    except BaseException:
        running.stop()
        raise
