"""The release carrier: its filename is its ownership tag, its content JSON Lines."""

from __future__ import annotations

import pytest

from assistops.kinds.release import (
    ReleaseFormatError,
    ReleaseName,
    parse_release,
    release_lines,
    releases_of,
    requests_digest,
)
from assistops.kinds.tags import UploadName


def test_a_release_name_parses_back_whatever_the_revision() -> None:
    for revision in ("93c627fa2510", "93c627fa2510-dirty", "unversioned", "v1.2.3"):
        name = ReleaseName("acme", "prod", 12, revision, "0123456789abcdef")
        assert ReleaseName.parse(name.format()) == name


@pytest.mark.parametrize(
    "filename",
    [
        "mine.jsonl",
        "assistops-release.acme.prod.1.abc.0123456789abcdef.json",  # not .jsonl
        "assistops-release.acme.prod.1.0123456789abcdef.jsonl",  # no revision
        "assistops-release.acme.prod.abc.0123456789abcdef.jsonl",  # no serial
        "assistops-release.acme.prod.x.abc.0123456789abcdef.jsonl",  # not a serial
        "assistops-release.acme.prod.1.abc.0123456789ABCDEF.jsonl",  # not our digest
        "assistops-release.acme.prod.1.abc.0123.jsonl",
        "acme.prod.0123456789abcdef.release.jsonl",  # an upload name, not a release
    ],
)
def test_other_files_are_not_releases(filename: str) -> None:
    assert ReleaseName.parse(filename) is None


def test_a_release_is_never_taken_for_an_upload() -> None:
    name = ReleaseName("acme", "prod", 1, "abc", "0123456789abcdef").format()
    assert UploadName.parse(name) is None


def test_content_round_trips_and_the_digest_is_of_the_requests() -> None:
    requests = {"b": {"model": "gpt-4o", "instructions": "Ünïcode"}, "a": {"model": "o3"}}
    content = release_lines(requests)
    assert content.decode().splitlines()[0].startswith('{"body": {"model": "o3"}, "custom_id": "a"')
    assert parse_release(content) == requests
    assert requests_digest(parse_release(content)) == requests_digest(requests)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b'{"custom_id": "a", "body": {}}\nnot json\n', "line 2 is not JSON"),
        (b'{"custom_id": 3, "body": {}}\n', "line 1 has no custom_id and body"),
        (b'["a"]\n', "line 1 has no custom_id and body"),
    ],
)
def test_content_that_is_not_a_release_is_named(content: bytes, message: str) -> None:
    with pytest.raises(ReleaseFormatError, match=message):
        parse_release(content)


def test_the_current_release_is_the_highest_serial_whatever_the_clock_says() -> None:
    def listed(serial: int, created_at: int, file_id: str, env: str = "prod") -> dict[str, object]:
        name = ReleaseName("acme", env, serial, "abc", "0123456789abcdef").format()
        return {"id": file_id, "filename": name, "created_at": created_at}

    files = [
        listed(3, 100, "file-c"),  # same second as the one it replaced
        listed(2, 100, "file-b"),
        listed(9, 50, "file-other", env="dev"),  # another environment
        {"id": "file-mine", "filename": "mine.jsonl", "created_at": 200},
    ]
    assert [raw["id"] for raw, _ in releases_of(files, "acme", "prod")] == ["file-b", "file-c"]
