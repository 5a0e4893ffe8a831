"""Storage of the local backend: JSON documents and chunked blobs in SQLite, a clock and ids.

One table holds every object as a JSON document keyed by ``(kind, parent, id)``, indexed by
its list position ``(kind, parent, created_at, seq)`` so a list page is one keyset query
(:meth:`Store.page`); a deleted document leaves a *tombstone* with its position, so a cursor
naming it still says where the next page starts. File contents are stored as rows of at
most :data:`CHUNK_BYTES` (``blob_chunks``, one ``blob_heads`` row with the size), written
from a stream and read back as one: no file is ever one SQLite value (SQLite refuses values
over 1 GB) nor wholly in memory. ``Store(":memory:")`` is for tests, a file path persists
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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

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
CREATE INDEX IF NOT EXISTS docs_by_position ON docs (kind, parent, created_at, seq);
CREATE INDEX IF NOT EXISTS docs_by_expiry ON docs (kind, json_extract(body, '$.expires_at'));
CREATE TABLE IF NOT EXISTS tombstones (
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, parent, id)
);
-- a blob: its size, and the id its chunks are stored under (its own, or the upload's that
-- wrote them before the file had an id)
CREATE TABLE IF NOT EXISTS blob_heads (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    chunks TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blob_heads_by_chunks ON blob_heads (chunks);
CREATE TABLE IF NOT EXISTS blob_chunks (
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (id, seq)
);
"""

#: Bytes per stored chunk of a blob: large enough that a 512 MiB file is 512 rows, small
#: enough that a reader or writer holds one at a time.
CHUNK_BYTES = 1024 * 1024


def _chunk_blobs(db: sqlite3.Connection) -> None:
    """Split each one-value blob of a version-1 database into chunk rows.

    Read with SQLite's incremental blob I/O, one chunk at a time: a file near SQLite's 1 GB
    value limit is migrated without being held in memory (``substr`` in SQL would load the
    whole value once per chunk).
    """
    db.execute("CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL)")
    rows = db.execute("SELECT rowid, id, length(data) FROM blobs").fetchall()
    for rowid, blob_id, size in rows:
        db.execute(
            "INSERT INTO blob_heads (id, size, chunks) VALUES (?, ?, ?)", (blob_id, size, blob_id)
        )
        with db.blobopen("blobs", "data", rowid, readonly=True) as blob:
            for seq in range(max(1, -(-size // CHUNK_BYTES))):
                db.execute(
                    "INSERT INTO blob_chunks (id, seq, data) VALUES (?, ?, ?)",
                    (blob_id, seq, blob.read(CHUNK_BYTES)),
                )
    db.execute("DROP TABLE blobs")


Migration = str | Callable[[sqlite3.Connection], None]

#: The schema this code writes. MIGRATIONS[n] takes a database from version n to n + 1.
SCHEMA_VERSION = 2
MIGRATIONS: tuple[Migration, ...] = (
    # 0 -> 1: databases made before versions were recorded hold the same two tables; the
    # version is all that changes (the schema above has already been applied)
    "",
    # 1 -> 2: one-value blobs become chunks of CHUNK_BYTES (:func:`_chunk_blobs`); the new
    # indexes and tables are already made by the schema above
    _chunk_blobs,
)
assert len(MIGRATIONS) == SCHEMA_VERSION

Order = Literal["asc", "desc"]
#: A document's place in every list of its kind and parent: ``(created_at, insertion seq)``.
Position = tuple[int, int]

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
        self._db.execute("BEGIN IMMEDIATE")  # one transaction: all of it, or nothing
        try:
            for step in (_SCHEMA, *MIGRATIONS[found:]):
                if callable(step):
                    step(self._db)
                    continue
                for statement in step.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # chunks of an upload the server was killed in the middle of: never visible
            self._db.execute(
                "DELETE FROM blob_chunks WHERE id NOT IN (SELECT chunks FROM blob_heads)"
            )
            self._db.execute("COMMIT")
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
        """Forget every document, tombstone and blob."""
        with self.transaction():
            for table in ("docs", "tombstones", "blob_heads", "blob_chunks"):
                self._db.execute(f"DELETE FROM {table}")

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
        """Remove a document; ``False`` when it was not there.

        Its position stays behind as a tombstone, so a list cursor naming it keeps paging.
        """
        key = (kind, parent, id)
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO tombstones (kind, parent, id, created_at, seq) "
                "SELECT kind, parent, id, created_at, seq FROM docs "
                "WHERE kind = ? AND parent = ? AND id = ?",
                key,
            )
            cur = self._db.execute("DELETE FROM docs WHERE kind = ? AND parent = ? AND id = ?", key)
        return cur.rowcount == 1

    def delete_children(self, kind: str, parent: str) -> int:
        """Remove every document of ``kind`` under ``parent``; returns how many.

        The parent is going too, so no tombstone is kept (and old ones are dropped).
        """
        with self.transaction():
            cur = self._db.execute("DELETE FROM docs WHERE kind = ? AND parent = ?", (kind, parent))
            self._db.execute("DELETE FROM tombstones WHERE kind = ? AND parent = ?", (kind, parent))
        return cur.rowcount

    def all(
        self, kind: str, *, parent: str = "", where: Mapping[str, Any] | None = None
    ) -> list[Doc]:
        """Every document of ``kind`` under ``parent``, oldest first (for rules, not lists).

        ``where`` keeps those whose top-level field equals the value (filtered in SQL).
        """
        sql = "SELECT body FROM docs WHERE kind = ? AND parent = ?"
        args: list[Any] = [kind, parent]
        for field, value in (where or {}).items():
            sql += f" AND json_extract(body, '$.{_field(field)}') = ?"
            args.append(value)
        with self.lock:
            rows = self._db.execute(sql + " ORDER BY created_at, seq", args).fetchall()
        return [_load(r[0]) for r in rows]

    def find(self, kind: str, id: str) -> list[tuple[str, Doc]]:
        """``(parent, doc)`` for every document of ``kind`` with this id, under any parent."""
        with self.lock:
            rows = self._db.execute(
                "SELECT parent, body FROM docs WHERE kind = ? AND id = ? ORDER BY created_at, seq",
                (kind, id),
            ).fetchall()
        return [(r[0], _load(r[1])) for r in rows]

    def count(self, kind: str, *, parent: str | None = None) -> int:
        """How many documents of ``kind`` exist (under ``parent``, or all parents)."""
        with self.lock:
            if parent is None:
                row = self._db.execute("SELECT COUNT(*) FROM docs WHERE kind = ?", (kind,))
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM docs WHERE kind = ? AND parent = ?", (kind, parent)
                )
            return int(row.fetchone()[0])

    def expired(self, kind: str, now: int) -> list[Doc]:
        """Documents of ``kind`` whose ``expires_at`` is at or before ``now`` (indexed)."""
        with self.lock:
            rows = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? AND json_extract(body, '$.expires_at') <= ?"
                " ORDER BY created_at, seq",
                (kind, now),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    # list pages ---------------------------------------------------------------------

    def position(self, kind: str, id: str, *, parent: str = "") -> Position | None:
        """Where ``id`` is (or was, if deleted) in its list; ``None`` if it never was."""
        key = (kind, parent, id)
        with self.lock:
            row = self._db.execute(
                "SELECT created_at, seq FROM docs WHERE kind = ? AND parent = ? AND id = ?", key
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT created_at, seq FROM tombstones "
                    "WHERE kind = ? AND parent = ? AND id = ?",
                    key,
                ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def page(
        self,
        kind: str,
        *,
        parent: str = "",
        forward: bool = True,
        above: Position | None = None,
        below: Position | None = None,
        limit: int,
        where: Mapping[str, Any] | None = None,
        ids: Collection[str] | None = None,
    ) -> list[Doc]:
        """Up to ``limit`` documents strictly between ``above`` and ``below`` (positions).

        ``forward``: ascending from ``above``; otherwise descending from ``below``. ``where``
        keeps documents whose top-level field equals the value; ``ids`` keeps those ids.
        A page costs a page, whatever the total: the range is cut into at most three index
        seeks on ``docs_by_position`` (the rest of the bound's second, the seconds between,
        the start of the other bound's second), read in order until ``limit`` rows are in.
        One query with a row-value bound would seek by ``created_at`` alone and then skip
        every earlier row of that second: thousands when they were made in one second.
        """
        if above is not None and below is not None and above >= below:
            return []  # the window is empty (its segments below assume it is not)
        base = ["kind = ? AND parent = ?"]
        base_args: list[Any] = [kind, parent]
        for field, value in (where or {}).items():
            base.append(f"json_extract(body, '$.{_field(field)}') = ?")
            base_args.append(value)
        if ids is not None:
            chosen = list(ids)
            base.append(f"id IN ({', '.join('?' * len(chosen))})" if chosen else "0")
            base_args.extend(chosen)
        segments: list[tuple[str, list[Any]]] = []  # ascending order
        middle, middle_args = [], []
        if above is not None:
            if below is not None and below[0] == above[0]:
                segments.append(("created_at = ? AND seq > ? AND seq < ?", [*above, below[1]]))
                middle = ["0"]  # the whole window is inside one second
            else:
                segments.append(("created_at = ? AND seq > ?", list(above)))
            middle.append("created_at > ?")
            middle_args.append(above[0])
        if below is not None:
            middle.append("created_at < ?")
            middle_args.append(below[0])
        segments.append((" AND ".join(middle) or "1", middle_args))
        if below is not None and (above is None or below[0] != above[0]):
            segments.append(("created_at = ? AND seq < ?", list(below)))
        if not forward:
            segments.reverse()
        direction = "ASC" if forward else "DESC"
        rows: list[Any] = []
        with self.lock:
            for condition, args in segments:
                if len(rows) >= limit:
                    break
                sql = (
                    f"SELECT body FROM docs WHERE {' AND '.join(base)} AND {condition} "
                    f"ORDER BY created_at {direction}, seq {direction} LIMIT ?"
                )
                rows += self._db.execute(sql, [*base_args, *args, limit - len(rows)]).fetchall()
        return [_load(r[0]) for r in rows]

    # blobs --------------------------------------------------------------------------

    def write_chunks(self, id: str, chunks: Iterable[bytes] | IO[bytes]) -> int:
        """Store a new blob's bytes from a stream, not yet visible; returns the size.

        ``chunks`` is an iterable of byte strings or a binary file (read
        :data:`CHUNK_BYTES` at a time); see :class:`BlobWriter`. The blob exists for readers
        only after :meth:`commit_blob`; chunks left without one by a crash are removed when
        the store is next opened, and by a failure here at once.
        """
        source = _read_chunks(chunks) if hasattr(chunks, "read") else iter(chunks)  # type: ignore[arg-type]
        writer = BlobWriter(self, id)
        try:
            for piece in source:
                writer.write(piece)
            return writer.finish()
        except BaseException:
            writer.abort()
            raise

    def adopt_blob(self, pending: str, id: str, size: int) -> None:
        """Make the uncommitted chunks written under ``pending`` the blob ``id``.

        The head points at them: no chunk is rewritten (an UPDATE of their id would copy
        every byte again).
        """
        self.commit_blob(id, size, chunks=pending)

    def discard_chunks(self, id: str) -> None:
        """Remove chunks written under ``id`` unless a blob was made of them (adopted)."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM blob_chunks WHERE id = ? "
                "AND NOT EXISTS (SELECT 1 FROM blob_heads WHERE chunks = ?)",
                (id, id),
            )

    def iter_chunks(self, id: str) -> Iterator[bytes]:
        """The chunks stored under ``id``, committed or not (for the upload being handled)."""
        seq = 0
        while True:
            with self.lock:
                row = self._db.execute(
                    "SELECT data FROM blob_chunks WHERE id = ? AND seq = ?", (id, seq)
                ).fetchone()
            if row is None:
                return
            yield bytes(row[0])
            seq += 1

    def commit_blob(self, id: str, size: int, *, chunks: str | None = None) -> None:
        """Make the chunks written under ``chunks`` (default: ``id``) the blob ``id``."""
        with self.transaction():
            head = self._db.execute("SELECT chunks FROM blob_heads WHERE id = ?", (id,))
            row = head.fetchone()
            if row is not None and row[0] != (chunks or id):
                self._db.execute("DELETE FROM blob_chunks WHERE id = ?", (row[0],))
            self._db.execute(
                "INSERT OR REPLACE INTO blob_heads (id, size, chunks) VALUES (?, ?, ?)",
                (id, size, chunks or id),
            )

    def write_blob(self, id: str, chunks: Iterable[bytes] | IO[bytes]) -> int:
        """Store (or replace) a blob from a stream and make it visible; returns its size."""
        size = self.write_chunks(id, chunks)
        self.commit_blob(id, size)
        return size

    def put_blob(self, id: str, data: bytes) -> None:
        """Store (or replace) the bytes of a small file or cache entry, atomically.

        One transaction: two threads putting the same id (an embedding computed twice at
        once) each replace the whole blob, never interleave their chunks.
        """
        with self.transaction():
            self.write_blob(id, [data])

    def blob_size(self, id: str) -> int | None:
        """The length of a stored blob, or ``None``."""
        with self.lock:
            row = self._db.execute("SELECT size FROM blob_heads WHERE id = ?", (id,)).fetchone()
        return None if row is None else int(row[0])

    def stored_bytes(self) -> int:
        """The bytes in every stored chunk, committed or not (what blobs take up)."""
        with self.lock:
            row = self._db.execute("SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks")
            return int(row.fetchone()[0])

    def blob_chunk_count(self, id: str) -> int:
        """How many chunk rows hold the blob (or are written under ``id`` so far)."""
        with self.lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM blob_chunks WHERE id = ?", (self._chunks_of(id),)
            ).fetchone()
        return int(row[0])

    def _chunks_of(self, id: str) -> str:
        row = self._db.execute("SELECT chunks FROM blob_heads WHERE id = ?", (id,)).fetchone()
        return id if row is None else str(row[0])

    def get_blob(self, id: str) -> bytes | None:
        """The whole bytes of a file, or ``None``: for small files (use :meth:`iter_blob`)."""
        with self.lock:
            if self.blob_size(id) is None:
                return None
            return b"".join(self.iter_blob(id))

    def iter_blob(self, id: str) -> Iterator[bytes]:
        """The bytes of a file, chunk by chunk (nothing if there is none).

        Each chunk is read under the lock on its own, so a long download does not hold up
        other requests; a blob replaced or deleted meanwhile ends the stream early.
        """
        with self.lock:
            row = self._db.execute("SELECT chunks FROM blob_heads WHERE id = ?", (id,))
            head = row.fetchone()
        if head is None:
            return  # chunks still being written (or orphaned) are no blob
        yield from self.iter_chunks(str(head[0]))

    def delete_blob(self, id: str) -> None:
        """Forget the bytes of a file."""
        with self.transaction():
            self._drop_blob(id)

    def _drop_blob(self, id: str) -> None:
        self._db.execute("DELETE FROM blob_chunks WHERE id = ?", (self._chunks_of(id),))
        self._db.execute("DELETE FROM blob_chunks WHERE id = ?", (id,))
        self._db.execute("DELETE FROM blob_heads WHERE id = ?", (id,))

    def _put_chunk(self, id: str, seq: int, data: bytes) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO blob_chunks (id, seq, data) VALUES (?, ?, ?)", (id, seq, data)
            )


class BlobWriter:
    """Writes one blob's bytes as they come, in chunks of exactly :data:`CHUNK_BYTES`.

    Pieces of any size are regrouped (the last chunk shorter), so memory holds at most about
    two chunks. Each chunk is committed on its own, so a large upload does not hold the
    store's lock while it is copied (other requests go on), unless the caller holds a
    transaction. Nothing is visible until :meth:`Store.commit_blob` or
    :meth:`Store.adopt_blob`; :meth:`abort` removes what was written.
    """

    def __init__(self, store: Store, id: str, *, fresh: bool = False) -> None:
        self.store = store
        self.id = id
        self.size = 0
        self._seq = 0
        self._pending = bytearray()
        if not fresh:  # an id never used before has nothing to replace
            store.delete_blob(id)

    def write(self, piece: bytes) -> None:
        """Add bytes; full chunks are stored at once."""
        self.size += len(piece)
        if not self._pending and len(piece) == CHUNK_BYTES:
            self._put(piece)  # the common case (a file read a chunk at a time): no copy
            return
        self._pending += piece
        while len(self._pending) >= CHUNK_BYTES:
            self._put(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    def full_chunks(self) -> bool:
        """Whether :meth:`write` would store a chunk now (for a caller off the store's thread)."""
        return len(self._pending) >= CHUNK_BYTES

    def finish(self) -> int:
        """Store the last chunk (an empty blob is one empty chunk); returns the size."""
        if self._pending or self._seq == 0:
            self._put(bytes(self._pending))
            self._pending.clear()
        return self.size

    def abort(self) -> None:
        """Remove the chunks written so far (a caller's transaction would roll them back)."""
        if self.store._depth == 0:
            self.store.delete_blob(self.id)

    def _put(self, data: bytes) -> None:
        self.store._put_chunk(self.id, self._seq, data)
        self._seq += 1


def _read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while piece := handle.read(CHUNK_BYTES):
        yield piece


def _field(name: str) -> str:
    # field names come from the resource modules, never from a request: refuse anything
    # that could change the JSON path (or the SQL around it)
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain field name: {name!r}")
    return name


def _load(text: str) -> Doc:
    value: Doc = json.loads(text)
    return value
