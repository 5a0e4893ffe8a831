"""A knowledge file larger than a read chunk: hashed in chunks, uploaded as a stream, intact
after a retried upload (the stream is read again from its start)."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import run, sdk

from assistops.backend import BackendControl, RunningBackend
from assistops.kinds.file import UPLOAD_CHUNK_BYTES


def test_a_file_of_several_chunks_arrives_whole_even_when_its_upload_is_retried(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0
    line = "Gift cards are valid for three years from the date of purchase.\n"
    text = line * (3 * UPLOAD_CHUNK_BYTES // len(line) + 7)
    (project / "knowledge" / "handbook" / "gifts.md").write_text(text, encoding="utf-8")
    # the one upload left fails after the server read it: the SDK sends it again
    control.add_fault("error", "POST /v1/files", status=500, first=1, times=1)
    control.clear_requests()
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert control.requests()["POST /v1/files"] == 2  # the failed upload, and its retry

    client = sdk(backend)
    [store] = list(client.vector_stores.list())
    files = {
        f.attributes["assistops_path"]: f  # type: ignore[index]
        for f in client.vector_stores.files.list(store.id)
    }
    gifts = files["knowledge/handbook/gifts.md"]
    assert client.files.retrieve(gifts.id).bytes == len(text.encode())
    parts = client.vector_stores.files.content(gifts.id, vector_store_id=store.id)
    assert "".join(p.text or "" for p in parts) == text
