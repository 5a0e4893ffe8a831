"""The server keeps what it acknowledged: a SIGKILL under concurrent writes loses nothing, and
its database carries a schema version that migrates forward (and refuses a newer one)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from assistops.backend import start_server
from assistops.backend import store as store_module
from assistops.backend.store import CHUNK_BYTES, SCHEMA_VERSION
from assistops.errors import DatabaseError

ASSISTOPS = str(Path(sys.executable).with_name("assistops"))


def _serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [ASSISTOPS, "serve", "--port", "0", "--db", str(db)],
        cwd=db.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("assistops local backend on http://127.0.0.1:"), first
    return proc, first.rsplit(" ", 1)[1].strip()


@pytest.mark.slow
def test_every_acknowledged_write_survives_a_sigkill_under_load(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    proc, base_url = _serve(db)
    acknowledged: list[tuple[str, str]] = []  # (kind, id) the server answered 200 for
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        client = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=5)
        i = 0
        while not stop.is_set():
            try:
                if i % 2:
                    made = client.files.create(
                        file=(f"w{n}-{i}.md", f"# note {n}.{i}\n".encode()), purpose="assistants"
                    )
                    kind = "file"
                else:
                    made = client.vector_stores.create(name=f"w{n}-{i}")  # type: ignore[assignment]
                    kind = "vector_store"
            except openai.APIError:
                return  # the server is gone: what was not answered was not acknowledged
            with lock:
                acknowledged.append((kind, made.id))
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        while len(acknowledged) < 60:  # a bounded load, then the kill in mid-flight
            threading.Event().wait(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=15)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with start_server(str(db)) as again:
        client = openai.OpenAI(base_url=again.base_url, api_key="local", max_retries=0)
        files = {f.id: f for f in client.files.list(purpose="assistants")}
        for kind, object_id in acknowledged:
            if kind == "file":
                assert object_id in files, object_id
                assert files[object_id].bytes > 0
            else:
                assert client.vector_stores.retrieve(object_id).id == object_id


def test_a_new_database_records_its_schema_version(tmp_path: Path) -> None:
    with start_server(str(tmp_path / "new.db")):
        pass
    version = sqlite3.connect(tmp_path / "new.db").execute("PRAGMA user_version").fetchone()
    assert version == (SCHEMA_VERSION,)


def test_a_database_without_a_version_migrates_forward_and_keeps_its_objects(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    with start_server(str(db)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
        store = client.vector_stores.create(name="kept")
        upload = client.files.create(file=("kept.md", b"# kept\n"), purpose="assistants")
    # what releases before the version was recorded left: the same tables, user_version 0
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA user_version = 0")
    raw.commit()
    raw.close()

    with start_server(str(db)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
        assert client.vector_stores.retrieve(store.id).name == "kept"
        assert client.files.retrieve(upload.id).filename == "kept.md"
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()
    assert version == (SCHEMA_VERSION,)


def test_a_database_of_a_newer_version_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    with start_server(str(db)):
        pass
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()

    with pytest.raises(DatabaseError, match="written by a newer assistops") as caught:
        start_server(str(db))
    assert "upgrade assistops" in str(caught.value)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
    done = subprocess.run(
        [ASSISTOPS, "serve", "--port", "0", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "written by a newer assistops" in done.stderr and "Traceback" not in done.stderr


# the tables release 1 of the schema wrote (assistops.backend.store before schema 2), verbatim
_SCHEMA_1 = """
CREATE TABLE docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (kind, parent, id)
);
CREATE INDEX docs_by_id ON docs (kind, id);
CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL);
PRAGMA user_version = 1;
"""


def _file_doc(file_id: str, size: int, created_at: int) -> str:
    return json.dumps(
        {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": created_at,
            "filename": f"{file_id}.jsonl",
            "purpose": "batch",
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
    )


def test_a_schema_1_database_migrates_its_blobs_into_chunks_and_keeps_its_lists(
    tmp_path: Path,
) -> None:
    db = tmp_path / "v1.db"
    big = bytes(range(256)) * (CHUNK_BYTES * 2 // 256) + b"tail"  # 2 chunks and 4 bytes
    contents = {"file-big": big, "file-small": b"# small\n", "file-empty": b""}
    raw = sqlite3.connect(db)
    raw.executescript(_SCHEMA_1)
    for n, (file_id, data) in enumerate(contents.items()):
        raw.execute(
            "INSERT INTO docs (kind, parent, id, created_at, body) VALUES ('file', '', ?, ?, ?)",
            (file_id, 1_700_000_000 + n, _file_doc(file_id, len(data), 1_700_000_000 + n)),
        )
        raw.execute("INSERT INTO blobs (id, data) VALUES (?, ?)", (file_id, data))
    raw.commit()
    raw.close()

    with start_server(str(db)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
        for file_id, data in contents.items():
            assert client.files.content(file_id).content == data
        store = server.backend.store
        assert [store.blob_chunk_count(i) for i in contents] == [3, 1, 1]
        listed = client.files.list(order="asc", limit=2)
        assert [f.id for f in listed.data] == ["file-big", "file-small"]
        assert [f.id for f in client.files.list(after="file-big", order="asc")] == [
            "file-small",
            "file-empty",
        ]
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "blobs" not in tables and {"blob_chunks", "blob_heads", "tombstones"} <= tables
    check.close()


def test_a_failed_migration_leaves_the_schema_1_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "v1.db"
    raw = sqlite3.connect(db)
    raw.executescript(_SCHEMA_1)
    raw.execute("INSERT INTO blobs (id, data) VALUES ('file-a', x'00ff')")
    raw.commit()
    raw.close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM blobs")
        raise sqlite3.OperationalError("disk full (simulated)")

    monkeypatch.setattr(store_module, "MIGRATIONS", (store_module.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        store_module.Store(db)
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA user_version").fetchone() == (1,)
    assert check.execute("SELECT data FROM blobs").fetchall() == [(b"\x00\xff",)]
    check.close()


def test_chunks_of_an_upload_cut_short_never_become_a_file(tmp_path: Path) -> None:
    db = tmp_path / "cut.db"
    store = store_module.Store(db)

    def dies_midway() -> Iterator[bytes]:
        yield b"a" * CHUNK_BYTES * 2
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        store.write_chunks("file-cut", dies_midway())
    assert store.blob_chunk_count("file-cut") == 0  # removed at once
    # chunks committed and then the process killed before the file's transaction: written
    # here and left without their head, as a SIGKILL between the two would leave them
    store.write_chunks("file-killed", [b"b" * (CHUNK_BYTES + 1)])
    assert store.blob_chunk_count("file-killed") == 2
    assert store.get_blob("file-killed") is None and list(store.iter_blob("file-killed")) == []
    store.close()

    with start_server(str(db)) as server:
        assert server.backend.store.blob_chunk_count("file-killed") == 0
        client = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
        assert client.files.list().data == []
