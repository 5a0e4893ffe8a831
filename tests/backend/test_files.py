"""Files through the real SDK: multipart upload, list, content, expiry, delete cascade."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistops.backend import BackendControl, RunningBackend


def test_upload_reports_exact_bytes_filename_and_status(client: openai.OpenAI) -> None:
    data = "héllo wörld\n".encode()
    file = client.files.create(file=("notes.md", data, "text/markdown"), purpose="assistants")
    assert file.id.startswith("file-")
    assert (file.object, file.bytes, file.filename) == ("file", len(data), "notes.md")
    assert (file.purpose, file.status, file.expires_at) == ("assistants", "processed", None)
    assert client.files.retrieve(file.id) == file


def test_expires_after_sets_expires_at_and_expired_files_disappear(
    client: openai.OpenAI, control: BackendControl
) -> None:
    file = client.files.create(
        file=("tmp.txt", b"x"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert file.expires_at == file.created_at + 3600
    control.advance_clock(3600)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file.id)
    assert client.files.list().data == []


def test_expires_after_bounds(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(
            file=("tmp.txt", b"x"),
            purpose="assistants",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert info.value.body["param"] == "expires_after.seconds"  # type: ignore[index]
    assert info.value.code == "integer_below_min_value"


def test_unknown_purpose_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("a.txt", b"x"), purpose="training")  # type: ignore[arg-type]
    assert info.value.body["param"] == "purpose"  # type: ignore[index]


def test_list_filters_by_purpose_and_pages(client: openai.OpenAI) -> None:
    ids = [client.files.create(file=(f"{i}.txt", b"x"), purpose="assistants").id for i in range(3)]
    other = client.files.create(file=("b.jsonl", b"{}"), purpose="batch")
    everything = client.files.list()
    assert [f.id for f in everything.data] == [other.id, *reversed(ids)]
    assert [f.id for f in client.files.list(purpose="assistants", order="asc")] == ids
    walked = [f.id for f in client.files.list(purpose="assistants", limit=1, order="asc")]
    assert walked == ids


def test_files_list_limit_bounds_and_no_before(client: openai.OpenAI) -> None:
    client.files.list(limit=10_000)
    with pytest.raises(openai.BadRequestError) as info:
        client.files.list(limit=10_001)
    assert info.value.code == "integer_above_max_value"
    with pytest.raises(openai.BadRequestError) as before:
        client.files.list(extra_query={"before": "file-x"})
    assert before.value.code == "unknown_parameter"


def test_content_is_raw_bytes_except_for_assistants_files(client: openai.OpenAI) -> None:
    data = bytes(range(256))
    batch_file = client.files.create(file=("in.jsonl", data), purpose="batch")
    assert client.files.content(batch_file.id).read() == data
    kb = client.files.create(file=("kb.md", b"secret"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as info:
        client.files.content(kb.id)
    assert info.value.message.endswith("Not allowed to download files of purpose: assistants")


def test_delete_returns_file_object_and_404s_after(client: openai.OpenAI) -> None:
    file = client.files.create(file=("a.txt", b"x"), purpose="assistants")
    gone = client.files.delete(file.id)
    assert (gone.id, gone.object, gone.deleted) == (file.id, "file", True)
    for call in (client.files.retrieve, client.files.delete):
        with pytest.raises(openai.NotFoundError) as info:
            call(file.id)
        assert info.value.body == {
            "message": f"No such File object: {file.id}",
            "type": "invalid_request_error",
            "param": "id",
            "code": None,
        }


def test_delete_removes_the_file_from_every_vector_store(client: openai.OpenAI) -> None:
    shared = client.files.create(file=("shared.md", b"12345"), purpose="assistants")
    kept = client.files.create(file=("kept.md", b"123"), purpose="assistants")
    one = client.vector_stores.create(file_ids=[shared.id, kept.id])
    two = client.vector_stores.create(file_ids=[shared.id])
    assert client.vector_stores.retrieve(one.id).usage_bytes == 8
    client.files.delete(shared.id)
    after_one = client.vector_stores.retrieve(one.id)
    after_two = client.vector_stores.retrieve(two.id)
    assert (after_one.file_counts.total, after_one.file_counts.completed) == (1, 1)
    assert after_one.usage_bytes == 3
    assert (after_two.file_counts.total, after_two.usage_bytes) == (0, 0)
    assert [f.id for f in client.vector_stores.files.list(one.id)] == [kept.id]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(shared.id, vector_store_id=two.id)


def _unadopted_chunks(backend: RunningBackend) -> int:
    store = backend.backend.store
    with store.lock:
        row = store._db.execute(
            "SELECT COUNT(*) FROM blob_chunks WHERE id NOT IN (SELECT chunks FROM blob_heads)"
        ).fetchone()
    return int(row[0])


def test_an_upload_keeps_its_chunks_and_a_refused_one_leaves_none(
    client: openai.OpenAI, backend: RunningBackend
) -> None:
    # the chunks are written as the body arrives; the handler adopts them, or they go when
    # the request ends, in the handler's thread (refused by the handler) or after the read
    kept = client.files.create(file=("a.jsonl", b"kept"), purpose="batch")
    assert _unadopted_chunks(backend) == 0
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("b.md", b"refused"), purpose="nonsense")  # type: ignore[arg-type]
    assert _unadopted_chunks(backend) == 0
    with pytest.raises(openai.BadRequestError):  # two file parts: refused before adopting
        client.post(
            "/files",
            body={"purpose": "assistants"},
            files=[("file", ("c.md", b"one")), ("other", ("d.md", b"two"))],
            options={"headers": {"Content-Type": "multipart/form-data"}},
            cast_to=object,
        )
    assert _unadopted_chunks(backend) == 0
    assert client.files.content(kept.id).read() == b"kept"


def test_a_small_upload_hops_to_a_worker_thread_twice(
    client: openai.OpenAI, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # its part is stored, then the handler runs and cleans up after itself in the same thread
    # (each anyio hop is about 150 us of the server's CPU; it took four)
    import anyio.to_thread

    hops: list[str] = []
    hop = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await hop(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    made = client.files.create(file=("a.md", b"small"), purpose="assistants")
    monkeypatch.setattr(anyio.to_thread, "run_sync", hop)
    assert len(hops) == 2, hops
    assert _unadopted_chunks(backend) == 0
    assert client.files.retrieve(made.id).bytes == 5
