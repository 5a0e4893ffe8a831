"""Vector stores through the real SDK: shapes, modify, expiry, delete, limits."""

from __future__ import annotations

import openai
import pytest

from assistops.backend import BackendControl


def _upload(client: openai.OpenAI, name: str, data: bytes = b"text") -> str:
    return client.files.create(file=(name, data), purpose="assistants").id


def test_create_without_name_has_nulls_and_zero_counts(client: openai.OpenAI) -> None:
    response = client.vector_stores.with_raw_response.create()
    raw = response.http_response.json()
    assert raw["id"].startswith("vs_")
    assert raw["object"] == "vector_store"
    assert raw["name"] is None
    assert raw["expires_after"] is None and raw["expires_at"] is None
    assert raw["file_counts"] == {
        "in_progress": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "total": 0,
    }
    assert (raw["status"], raw["usage_bytes"], raw["metadata"]) == ("completed", 0, {})
    assert raw["last_active_at"] == raw["created_at"]


def test_description_is_write_only_and_file_ids_attach(client: openai.OpenAI) -> None:
    ids = [_upload(client, "a.md", b"aaaa"), _upload(client, "b.md", b"bb")]
    store = client.vector_stores.create(
        name="kb",
        description="never returned",
        file_ids=ids,
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 150},
        },
        metadata={"team": "docs"},
    )
    raw = client.vector_stores.with_raw_response.retrieve(store.id).http_response.json()
    assert "description" not in raw
    assert raw["file_counts"]["completed"] == 2 and raw["usage_bytes"] == 6
    files = client.vector_stores.files.list(store.id, order="asc").data
    assert [f.id for f in files] == ids
    assert files[0].chunking_strategy is not None
    assert files[0].chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 150},
    }


def test_modify_replaces_metadata_and_null_clears_expiry(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(
        name="kb",
        metadata={"a": "1", "b": "2"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store.expires_at == store.last_active_at + 7 * 86_400
    renamed = client.vector_stores.update(store.id, name="kb2", metadata={"c": "3"})
    assert (renamed.name, renamed.metadata) == ("kb2", {"c": "3"})
    assert renamed.expires_after is not None and renamed.expires_after.days == 7
    cleared = client.vector_stores.update(store.id, expires_after=None, name=None)
    assert cleared.expires_after is None and cleared.expires_at is None
    assert cleared.name is None and cleared.metadata == {"c": "3"}


def test_status_becomes_expired(client: openai.OpenAI, control: BackendControl) -> None:
    store = client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    control.advance_clock(86_400)
    assert client.vector_stores.retrieve(store.id).status == "expired"


def test_delete_detaches_files_but_keeps_them(client: openai.OpenAI) -> None:
    file_id = _upload(client, "a.md")
    store = client.vector_stores.create(file_ids=[file_id])
    gone = client.vector_stores.delete(store.id)
    assert (gone.object, gone.deleted) == ("vector_store.deleted", True)
    assert client.files.retrieve(file_id).id == file_id
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve(store.id)
    assert info.value.message.endswith(f"No vector store found with id '{store.id}'.")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list(store.id)


def test_create_refuses_unknown_files_before_creating_anything(client: openai.OpenAI) -> None:
    good = _upload(client, "a.md")
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.create(file_ids=[good, "file-missing"])
    assert info.value.body["param"] == "file_ids[1]"  # type: ignore[index]
    assert client.vector_stores.list().data == []


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        (
            {"expires_after": {"anchor": "last_active_at", "days": 0}},
            "expires_after.days",
            "integer_below_min_value",
        ),
        (
            {"expires_after": {"anchor": "last_active_at", "days": 366}},
            "expires_after.days",
            "integer_above_max_value",
        ),
        (
            {"expires_after": {"anchor": "created_at", "days": 1}},
            "expires_after.anchor",
            "invalid_value",
        ),
        ({"file_ids": ["file-x"] * 501}, "file_ids", "array_above_max_length"),
        (
            {"metadata": {f"k{i}": "v" for i in range(17)}},
            "metadata",
            "object_above_max_properties",
        ),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0},
                }
            },
            "chunking_strategy.static.max_chunk_size_tokens",
            "integer_below_min_value",
        ),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0},
                }
            },
            "chunking_strategy.static.max_chunk_size_tokens",
            "integer_above_max_value",
        ),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 201},
                }
            },
            "chunking_strategy.static.chunk_overlap_tokens",
            "invalid_value",
        ),
        ({"chunking_strategy": {"type": "semantic"}}, "chunking_strategy.type", "invalid_value"),
    ],
)
def test_create_limits(
    client: openai.OpenAI, kwargs: dict[str, object], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.create(**kwargs)  # type: ignore[arg-type]
    assert (info.value.body["param"], info.value.code) == (param, code)  # type: ignore[index]


def test_modify_refuses_create_only_fields(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.update(store.id, extra_body={"description": "x"})
    assert info.value.code == "unknown_parameter"
