"""Vector-store files and file batches through the real SDK, with processing settings."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openai
import pytest

from assistops.backend import BackendControl, RunningBackend


def _upload(client: openai.OpenAI, name: str, data: bytes = b"text") -> str:
    return client.files.create(file=(name, data), purpose="assistants").id


def test_attach_with_attributes_auto_chunking_and_update(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="kb")
    file_id = _upload(client, "faq.md", b"12345")
    attached = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=file_id, attributes={"path": "faq.md", "v": 2}
    )
    assert (attached.id, attached.object, attached.vector_store_id) == (
        file_id,
        "vector_store.file",
        store.id,
    )
    assert (attached.status, attached.usage_bytes, attached.last_error) == ("completed", 5, None)
    assert attached.attributes == {"path": "faq.md", "v": 2}
    assert attached.chunking_strategy is not None
    assert attached.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    updated = client.vector_stores.files.update(
        file_id, vector_store_id=store.id, attributes={"sha": "abc"}
    )
    assert updated.attributes == {"sha": "abc"}
    assert client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).attributes == {
        "sha": "abc"
    }


def test_reattach_returns_the_existing_object(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    file_id = _upload(client, "a.md")
    first = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=file_id, attributes={"n": 1}
    )
    again = client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    assert again == first
    assert client.vector_stores.retrieve(store.id).file_counts.total == 1


def test_parsed_content_of_an_attached_file(client: openai.OpenAI) -> None:
    file_id = _upload(client, "faq.md", b"Q: what?\nA: this.")
    store = client.vector_stores.create(file_ids=[file_id])
    parts = list(client.vector_stores.files.content(file_id, vector_store_id=store.id))
    assert [(p.type, p.text) for p in parts] == [("text", "Q: what?\nA: this.")]


def test_same_file_in_two_stores_is_two_objects(client: openai.OpenAI) -> None:
    file_id = _upload(client, "a.md")
    one, two = client.vector_stores.create(), client.vector_stores.create()
    client.vector_stores.files.create(vector_store_id=one.id, file_id=file_id)
    other = _upload(client, "b.md")
    client.vector_stores.files.create(vector_store_id=two.id, file_id=other)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file_id, vector_store_id=two.id)
    client.vector_stores.files.create(vector_store_id=two.id, file_id=file_id, attributes={"x": 1})
    assert client.vector_stores.files.retrieve(file_id, vector_store_id=one.id).attributes == {}


def test_attach_unknown_file_or_store_is_404(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id="vs_nope", file_id=_upload(client, "a"))


def test_detach_keeps_the_file_and_recounts(client: openai.OpenAI) -> None:
    file_id = _upload(client, "a.md", b"abc")
    store = client.vector_stores.create(file_ids=[file_id])
    gone = client.vector_stores.files.delete(file_id, vector_store_id=store.id)
    assert (gone.object, gone.deleted) == ("vector_store.file.deleted", True)
    after = client.vector_stores.retrieve(store.id)
    assert (after.file_counts.total, after.usage_bytes) == (0, 0)
    assert client.files.retrieve(file_id).bytes == 3


@pytest.mark.parametrize(
    ("attributes", "param", "code"),
    [
        ({f"k{i}": 1 for i in range(17)}, "attributes", "object_above_max_properties"),
        ({"k" * 65: 1}, "attributes." + "k" * 65, "invalid_property_name"),
        ({"k": "v" * 513}, "attributes.k", "string_above_max_length"),
        ({"k": ["list"]}, "attributes.k", "invalid_type"),
    ],
)
def test_attribute_limits(
    client: openai.OpenAI, attributes: dict[str, object], param: str, code: str
) -> None:
    store = client.vector_stores.create()
    file_id = _upload(client, "a.md")
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=file_id,
            attributes=attributes,  # type: ignore[arg-type]
        )
    assert (info.value.body["param"], info.value.code) == (param, code)  # type: ignore[index]


def test_processing_after_reads_with_create_and_poll(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("reads", reads=3)
    store = client.vector_stores.create()
    file_id = _upload(client, "slow.md", b"12345")
    control.clear_requests()
    done = client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=store.id)
    assert (done.status, done.usage_bytes) == ("completed", 5)
    counts = control.requests()
    # three reads see in_progress, the fourth sees completed
    assert counts["GET /v1/vector_stores/{vector_store_id}/files/{file_id}"] == 4
    assert client.vector_stores.retrieve(store.id).status == "completed"


def test_in_progress_store_status_and_filter(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("reads", reads=1)
    store = client.vector_stores.create(file_ids=[_upload(client, "a.md")])
    assert store.status == "in_progress" and store.file_counts.in_progress == 1
    first = client.vector_stores.files.list(store.id, filter="in_progress")
    assert len(first.data) == 1
    assert client.vector_stores.files.list(store.id, filter="in_progress").data == []
    assert len(client.vector_stores.files.list(store.id, filter="completed").data) == 1
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.files.list(store.id, filter="done")  # type: ignore[arg-type]
    assert info.value.body["param"] == "filter"  # type: ignore[index]


def test_injected_failure_sets_last_error(client: openai.OpenAI, control: BackendControl) -> None:
    control.set_processing("immediate", fail_pattern="*.bin", fail_code="unsupported_file")
    store = client.vector_stores.create()
    bad = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=_upload(client, "blob.bin")
    )
    assert bad.status == "failed"
    assert bad.last_error is not None and bad.last_error.code == "unsupported_file"
    good = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=_upload(client, "ok.md")
    )
    assert good.status == "completed"
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed, counts.total) == (1, 1, 2)


def test_polling_responses_carry_poll_after_header(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(file_ids=[_upload(client, "a.md")])
    (file,) = client.vector_stores.files.list(store.id).data
    raw = client.vector_stores.files.with_raw_response.retrieve(file.id, vector_store_id=store.id)
    assert raw.headers["openai-poll-after-ms"] == "10"


# batches ------------------------------------------------------------------------------------


def test_batch_upload_and_poll_drains_in_progress(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("reads", reads=2)
    store = client.vector_stores.create()
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id,
        files=[("a.md", io.BytesIO(b"aa")), ("b.md", io.BytesIO(b"bbb"))],
    )
    assert batch.id.startswith("vsfb_")
    assert batch.object == "vector_store.file_batch"  # type: ignore[comparison-overlap]
    assert batch.status == "completed"
    assert batch.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
        "total": 2,
    }
    assert client.vector_stores.retrieve(store.id).usage_bytes == 5


def test_batch_with_files_entries_and_listing(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    a, b = _upload(client, "a.md"), _upload(client, "b.md")
    outside = _upload(client, "c.md")
    client.vector_stores.files.create(vector_store_id=store.id, file_id=outside)
    batch = client.vector_stores.file_batches.create(
        vector_store_id=store.id,
        files=[{"file_id": a, "attributes": {"path": "a.md"}}, {"file_id": b}],
        attributes={"default": True},
    )
    listed = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, order="asc"
    )
    assert [(f.id, f.attributes) for f in listed.data] == [
        (a, {"path": "a.md"}),
        (b, {"default": True}),
    ]
    completed = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, filter="failed"
    )
    assert completed.data == []


def test_batch_file_ids_and_files_are_exclusive(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    a = _upload(client, "a.md")
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.file_batches.create(
            vector_store_id=store.id, file_ids=[a], files=[{"file_id": a}]
        )
    assert info.value.body["param"] == "files"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as empty:
        client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[])
    assert empty.value.body["param"] == "file_ids"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        client.vector_stores.file_batches.create(
            vector_store_id=store.id, file_ids=[a, "file-nope"]
        )
    assert missing.value.body["param"] == "file_ids[1]"  # type: ignore[index]
    assert client.vector_stores.files.list(store.id).data == []


def test_batch_cancel_moves_in_progress_files_to_cancelled(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("reads", reads=100)
    store = client.vector_stores.create()
    batch = client.vector_stores.file_batches.create(
        vector_store_id=store.id, file_ids=[_upload(client, "a.md"), _upload(client, "b.md")]
    )
    assert batch.status == "in_progress" and batch.file_counts.in_progress == 2
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    assert (cancelled.file_counts.cancelled, cancelled.file_counts.in_progress) == (2, 0)
    after = client.vector_stores.retrieve(store.id)
    assert (after.status, after.file_counts.cancelled) == ("completed", 2)


def test_unknown_batch_is_404(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id=store.id)


# search -------------------------------------------------------------------------------------


def test_search_ranks_chunks_and_filters_by_attributes(
    client: openai.OpenAI, client_factory: Callable[..., openai.OpenAI]
) -> None:
    store = client.vector_stores.create()
    refunds = _upload(client, "refunds.md", b"# Refunds\n\nRefunds take five days.\n\nShipping.")
    shipping = _upload(client, "shipping.md", b"Shipping is free over 50 euros.")
    for file_id, lang in ((refunds, "en"), (shipping, "fr")):
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=file_id, attributes={"lang": lang, "v": 2}
        )
    page = client.vector_stores.search(store.id, query="how long do refunds take")
    assert page.data[0].file_id == refunds
    assert page.data[0].content[0].text == "Refunds take five days."
    assert page.data[0].attributes == {"lang": "en", "v": 2}
    french = client.vector_stores.search(
        store.id, query="shipping", filters={"type": "eq", "key": "lang", "value": "fr"}
    )
    assert [hit.file_id for hit in french.data] == [shipping]
    # openapi-core cannot validate the spec's nested discriminator without a mapping
    # (CompoundFilter.filters), so the compound filter goes through an unchecked client
    unchecked = client_factory(recorder=None)
    only_fr = unchecked.vector_stores.search(
        store.id,
        query="shipping",
        filters={
            "type": "and",
            "filters": [
                {"type": "eq", "key": "lang", "value": "fr"},
                {"type": "gte", "key": "v", "value": 2},
            ],
        },
    )
    assert [hit.file_id for hit in only_fr.data] == [shipping]
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.search(store.id, query="x", max_num_results=51)
    assert info.value.body["param"] == "max_num_results"  # type: ignore[index]


def test_a_batch_counts_its_store_once_not_once_per_file(
    client: openai.OpenAI, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # counting after each attach read every attached file once per file: quadratic in the
    # batch, a quarter of the server's CPU in a scale apply (20 batches of 100)
    store = backend.backend.store
    reads: list[str] = []
    every = store.all

    def counted(kind: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(kind)
        return every(kind, *args, **kwargs)

    ids = [_upload(client, f"f{i}.md", b"x" * (i + 1)) for i in range(40)]
    vs = client.vector_stores.create(name="kb")
    monkeypatch.setattr(store, "all", counted)
    batch = client.vector_stores.file_batches.create(vector_store_id=vs.id, file_ids=ids)
    made = client.vector_stores.create(file_ids=ids[:30])
    monkeypatch.undo()
    # a fixed few (the batch's count and its view, the store's count), not one per file (71)
    assert reads.count("vector_store_file") <= 3, reads
    assert batch.file_counts.total == 40 and batch.file_counts.completed == 40
    counted_store = client.vector_stores.retrieve(vs.id)
    assert counted_store.file_counts.completed == 40
    assert counted_store.usage_bytes == sum(range(1, 41))
    assert made.file_counts.completed == 30 and made.usage_bytes == sum(range(1, 31))
