"""File content in chunks and streams: uploads are copied to the store a chunk at a time,
downloads stream back, and an upload over the size limit is the service's 400, sent once."""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from assistops.backend import BackendControl, RunningBackend
from assistops.backend.store import CHUNK_BYTES
from assistops.limits import FILE_BYTES_MAX


def _payload(size: int) -> bytes:
    # not a repeating pattern: a chunk stored at the wrong place or twice changes the bytes
    return (os.urandom(4096) * (size // 4096 + 1))[: size - 7] + os.urandom(7)


def test_a_file_larger_than_a_chunk_is_stored_in_several_and_round_trips(
    client: openai.OpenAI, backend: RunningBackend, tmp_path: Path
) -> None:
    data = _payload(2 * CHUNK_BYTES + 12_345)
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    with path.open("rb") as handle:  # the SDK streams an open file
        made = client.files.create(file=handle, purpose="batch")
    assert made.bytes == len(data)
    store = backend.backend.store
    assert store.blob_chunk_count(made.id) == 3
    assert store.blob_size(made.id) == len(data)
    assert client.files.content(made.id).content == data


def test_content_is_streamed_with_its_length(
    client: openai.OpenAI, backend: RunningBackend
) -> None:
    data = _payload(CHUNK_BYTES + 1)
    made = client.files.create(file=("two.jsonl", data), purpose="batch")
    digest = hashlib.sha256()
    pieces = 0
    with client.files.with_streaming_response.content(made.id) as response:
        assert response.headers["content-length"] == str(len(data))
        for piece in response.iter_bytes(64 * 1024):
            digest.update(piece)
            pieces += 1
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert pieces > 1


def test_an_empty_file_is_one_empty_chunk(client: openai.OpenAI, backend: RunningBackend) -> None:
    made = client.files.create(file=("empty.jsonl", b""), purpose="batch")
    assert made.bytes == 0
    assert client.files.content(made.id).content == b""
    assert backend.backend.store.blob_chunk_count(made.id) == 1


def test_deleting_a_file_drops_its_chunks(client: openai.OpenAI, backend: RunningBackend) -> None:
    made = client.files.create(file=("gone.jsonl", _payload(CHUNK_BYTES + 5)), purpose="batch")
    client.files.delete(made.id)
    assert backend.backend.store.blob_chunk_count(made.id) == 0
    assert backend.backend.store.blob_size(made.id) is None


@pytest.fixture
def small_limit(backend: RunningBackend) -> int:
    """The size limit lowered to 2 chunks (reset restores 512 MiB)."""
    backend.backend.upload_bytes_max = 2 * CHUNK_BYTES
    return backend.backend.upload_bytes_max


@pytest.mark.parametrize("over", [1, 200 * 1024])  # within the framing slack, and past it
def test_an_upload_over_the_limit_is_the_services_400_sent_once(
    client_factory: Callable[..., openai.OpenAI],
    control: BackendControl,
    backend: RunningBackend,
    small_limit: int,
    over: int,
) -> None:
    sdk = client_factory(max_retries=3)
    control.clear_requests()
    with pytest.raises(openai.BadRequestError) as info:
        sdk.files.create(file=("huge.jsonl", _payload(small_limit + over)), purpose="batch")
    assert info.value.status_code == 400
    assert info.value.body == {  # what the service answers for a file over its limit
        "message": "File is too large.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert control.requests()["POST /v1/files"] == 1  # a 400 is never retried
    assert sdk.files.list().data == []  # nothing stored
    assert backend.backend.store.count("file") == 0
    assert backend.backend.store.stored_bytes() == 0  # not even the chunks before the limit
    # exactly the limit is taken
    made = sdk.files.create(file=("edge.jsonl", _payload(small_limit)), purpose="batch")
    assert made.bytes == small_limit


def test_the_limit_is_the_services_512_mib(backend: RunningBackend) -> None:
    assert backend.backend.upload_bytes_max == FILE_BYTES_MAX == 512 * 1024 * 1024


def test_a_declared_oversize_body_is_drained_then_refused(
    backend: RunningBackend, small_limit: int
) -> None:
    # raw HTTP: the body is refused on its Content-Length, after being read to the end, so
    # the client sees the answer rather than a connection reset it would retry
    body = b"x" * (small_limit + 100 * 1024)
    boundary = "b0undary"
    payload = _multipart_head(boundary) + body + f"\r\n--{boundary}--\r\n".encode()
    with httpx2.Client(base_url=backend.base_url) as http:
        answer = http.post(
            "/files",
            content=payload,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "File is too large."


def test_other_requests_go_on_while_an_upload_is_copied(backend: RunningBackend) -> None:
    # between two chunks of an upload being stored, another thread's request is served: the
    # copy does not hold the store's lock for the whole file
    store = backend.backend.store
    served: list[bool] = []

    def upload() -> Iterator[bytes]:
        yield b"a" * CHUNK_BYTES
        other = threading.Thread(target=lambda: served.append(store.count("file") == 0))
        other.start()
        other.join(timeout=30)  # a deadlock guard, not a timing
        yield b"b" * CHUNK_BYTES

    assert store.write_blob("file-concurrent", upload()) == 2 * CHUNK_BYTES
    assert served == [True]


def test_pieces_of_any_size_are_regrouped_into_whole_chunks(backend: RunningBackend) -> None:
    store = backend.backend.store
    data = _payload(2 * CHUNK_BYTES + 99)
    cuts = [0, 300, 300 + CHUNK_BYTES, 2 * CHUNK_BYTES + 1, len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
    assert store.write_blob("file-odd", pieces) == len(data)
    assert store.blob_chunk_count("file-odd") == 3
    assert [len(c) for c in store.iter_blob("file-odd")] == [CHUNK_BYTES, CHUNK_BYTES, 99]
    assert store.get_blob("file-odd") == data


def _multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def test_an_upload_the_client_abandons_leaves_no_chunks(backend: RunningBackend) -> None:
    store = backend.backend.store
    boundary = "cut"
    sent = _multipart_head(boundary) + b"z" * (3 * CHUNK_BYTES)  # then the client goes
    host, port = backend.base_url.removeprefix("http://").split("/")[0].split(":")
    deadline = time.monotonic() + 30  # a guard against a hang, not a timing
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            (
                "POST /v1/files HTTP/1.1\r\n"
                f"Host: {host}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(sent) + 10 * CHUNK_BYTES}\r\n\r\n"
            ).encode()
            + sent
        )
        while store.stored_bytes() < 2 * CHUNK_BYTES and time.monotonic() < deadline:
            time.sleep(0.01)  # until the server has stored some of it
        assert store.stored_bytes() >= 2 * CHUNK_BYTES
    while store.stored_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices the disconnect and drops what it stored
    assert store.stored_bytes() == 0
    assert store.count("file") == 0
