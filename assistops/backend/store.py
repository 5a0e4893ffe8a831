"""Storage of the local backend: JSON documents and blobs in SQLite, a clock and ids.

One table holds every object as a JSON document keyed by ``(kind, parent, id)``; a
second holds file contents. ``Store(":memory:")`` is for tests, a file path persists
across restarts: WAL journal, every write committed before its response is sent, so an
acknowledged object survives a SIGKILL of the server. The database records its schema version
(``PRAGMA user_version``); opening one of an earlier version migrates it forward, one of a
newer version is refused. One re-entrant lock serializes every operation, and
:meth:`Store.transaction` holds it across several, so a resource rule that reads and
then writes is atomic however many uvicorn threads call it.
"""

from __future__ import annotations

import json
import random
import sqlite3
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistops.errors import DatabaseError

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (kind, parent, id)
);
CREATE INDEX IF NOT EXISTS docs_by_id ON docs (kind, id);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL);
"""

#: The schema this code writes. MIGRATIONS[n] takes a database from version n to n + 1.
SCHEMA_VERSION = 1
MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: databases made before versions were recorded hold the same two tables; the
    # version is all that changes (the schema above has already been applied)
    "",
)
assert len(MIGRATIONS) == SCHEMA_VERSION

_BASE62 = string.digits + string.ascii_letters


class Clock:
    """Unix time in whole seconds; follows the wall clock unless frozen (for determinism)."""

    def __init__(self, frozen_at: int | None = None) -> None:
        self._frozen_at = frozen_at
        self._offset = 0

    def now(self) -> int:
        """The current time, as the service reports ``created_at``."""
        base = self._frozen_at if self._frozen_at is not None else int(time.time())
        return base + self._offset

    def freeze(self, at: int | None) -> None:
        """Stop at ``at`` (``None`` follows the wall clock again); clears any advance."""
        self._frozen_at = at
        self._offset = 0

    def advance(self, seconds: int) -> None:
        """Move time forward, e.g. to expire a vector store in a test."""
        self._offset += seconds


class IdGenerator:
    """Prefix plus 24 random base62 characters, like the service; seedable."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def seed(self, seed: int | None) -> None:
        """Restart the sequence (``None`` draws from the OS)."""
        with self._lock:
            self._random = random.Random(seed)

    def new(self, prefix: str, length: int = 24) -> str:
        """A fresh id such as ``asst_3fK...``."""
        with self._lock:
            return prefix + "".join(self._random.choice(_BASE62) for _ in range(length))


class Store:
    """Documents grouped by kind and parent, ordered by ``(created_at, insertion seq)``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Bring the database to SCHEMA_VERSION, or refuse one written by a newer version."""
        found = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            self._db.close()
            raise DatabaseError(
                f"{self.path} was written by a newer assistops (database schema {found}; this "
                f"version reads up to {SCHEMA_VERSION}): upgrade assistops, or use another --db"
            )
        steps = "".join(step for step in MIGRATIONS[found:] if step)
        script = f"BEGIN IMMEDIATE;{_SCHEMA}{steps}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
        try:
            self._db.executescript(script)  # one transaction: all of it, or nothing
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and one SQLite transaction; nested calls join the outer one."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database; the store is unusable afterwards."""
        with self.lock:
            self._db.close()

    def reset(self) -> None:
        """Forget every document and blob."""
        with self.transaction():
            self._db.execute("DELETE FROM docs")
            self._db.execute("DELETE FROM blobs")

    # documents ----------------------------------------------------------------------

    def insert(self, kind: str, body: Doc, *, parent: str = "") -> Doc:
        """Add a document; ``body`` must hold ``id`` and ``created_at``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO docs (kind, parent, id, created_at, body) VALUES (?, ?, ?, ?, ?)",
                (kind, parent, body["id"], int(body["created_at"]), json.dumps(body)),
            )
        return body

    def get(self, kind: str, id: str, *, parent: str = "") -> Doc | None:
        """The document, or ``None``."""
        with self.lock:
            row = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? AND parent = ? AND id = ?",
                (kind, parent, id),
            ).fetchone()
        return None if row is None else _load(row[0])

    def put(self, kind: str, body: Doc, *, parent: str = "") -> Doc:
        """Replace an existing document's body (its order position is kept)."""
        with self.transaction():
            cur = self._db.execute(
                "UPDATE docs SET body = ? WHERE kind = ? AND parent = ? AND id = ?",
                (json.dumps(body), kind, parent, body["id"]),
            )
            if cur.rowcount != 1:
                raise KeyError(f"{kind} {parent}/{body['id']} does not exist")
        return body

    def delete(self, kind: str, id: str, *, parent: str = "") -> bool:
        """Remove a document; ``False`` when it was not there."""
        with self.transaction():
            cur = self._db.execute(
                "DELETE FROM docs WHERE kind = ? AND parent = ? AND id = ?", (kind, parent, id)
            )
        return cur.rowcount == 1

    def delete_children(self, kind: str, parent: str) -> int:
        """Remove every document of ``kind`` under ``parent``; returns how many."""
        with self.transaction():
            cur = self._db.execute("DELETE FROM docs WHERE kind = ? AND parent = ?", (kind, parent))
        return cur.rowcount

    def all(self, kind: str, *, parent: str = "") -> list[Doc]:
        """Every document of ``kind`` under ``parent``, oldest first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? AND parent = ? ORDER BY created_at, seq",
                (kind, parent),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    def find(self, kind: str, id: str) -> list[tuple[str, Doc]]:
        """``(parent, doc)`` for every document of ``kind`` with this id, under any parent."""
        with self.lock:
            rows = self._db.execute(
                "SELECT parent, body FROM docs WHERE kind = ? AND id = ? ORDER BY created_at, seq",
                (kind, id),
            ).fetchall()
        return [(r[0], _load(r[1])) for r in rows]

    def count(self, kind: str) -> int:
        """How many documents of ``kind`` exist (all parents)."""
        with self.lock:
            row = self._db.execute("SELECT COUNT(*) FROM docs WHERE kind = ?", (kind,)).fetchone()
        return int(row[0])

    # blobs --------------------------------------------------------------------------

    def put_blob(self, id: str, data: bytes) -> None:
        """Store (or replace) the bytes of a file."""
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO blobs (id, data) VALUES (?, ?)", (id, data))

    def get_blob(self, id: str) -> bytes | None:
        """The bytes of a file, or ``None``."""
        with self.lock:
            row = self._db.execute("SELECT data FROM blobs WHERE id = ?", (id,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_blob(self, id: str) -> None:
        """Forget the bytes of a file."""
        with self.transaction():
            self._db.execute("DELETE FROM blobs WHERE id = ?", (id,))


def _load(text: str) -> Doc:
    value: Doc = json.loads(text)
    return value
