"""Large knowledge files: read in chunks, refused over the service's limit before any read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assistops.limits import FILE_BYTES_MAX
from assistops.render.files import _OVERLAP, CHUNK_BYTES, FileCache

from .helpers import reported, run, write_project

# split so no committed line looks like a real key to secret scanners
FAKE_KEY = b"sk-" + b"proj-" + b"A" * 40


def _big(path: Path, size: int, insert_at: int | None = None) -> bytes:
    """A text file of ``size`` bytes, with the fake key starting at ``insert_at``."""
    line = b"Policy text that is long enough to fill the file quickly.\n"
    data = bytearray((line * (size // len(line) + 1))[:size])
    if insert_at is not None:
        data[insert_at : insert_at + len(FAKE_KEY)] = FAKE_KEY
    path.write_bytes(bytes(data))
    return bytes(data)


def test_a_file_of_several_chunks_is_hashed_and_sized_like_the_whole(tmp_path: Path) -> None:
    data = _big(tmp_path / "big.md", 3 * CHUNK_BYTES + 12345)
    scanned = FileCache(tmp_path).read(tmp_path / "big.md")
    assert scanned.sha256 == hashlib.sha256(data).hexdigest()
    assert scanned.bytes == len(data) and scanned.secret is None


@pytest.mark.parametrize("offset", [-len(FAKE_KEY) // 2, -1, 0, _OVERLAP // 2])
def test_a_secret_across_a_chunk_boundary_is_found(tmp_path: Path, offset: int) -> None:
    _big(tmp_path / "big.md", 2 * CHUNK_BYTES + 100, insert_at=CHUNK_BYTES + offset)
    assert FileCache(tmp_path).read(tmp_path / "big.md").secret == "an OpenAI API key"


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    huge = root / "knowledge" / "docs" / "huge.md"
    with huge.open("wb") as handle:  # sparse: no disk, and reading it would take a while
        handle.truncate(FILE_BYTES_MAX + 1)
    result = run("validate", "-C", root, "--format", "json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["file"] == "knowledge/docs.yaml" and problem["field"] == "files[0]"
    assert problem["message"] == (
        "knowledge/docs/huge.md is 536,870,913 bytes; the service takes files up to "
        "536,870,912 bytes (512 MiB)"
    )
    assert problem["hint"] == "split the file, or exclude it"
    text = run("validate", "-C", root)
    assert any("huge.md" in line for line in reported(text))
