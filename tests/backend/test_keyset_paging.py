"""Lists page in SQL by ``(created_at, seq)``: every window against a reference, and the
clean-up loop that deletes while it pages."""

from __future__ import annotations

import itertools

import httpx2
import openai
import pytest

from assistops.backend import BackendControl, RunningBackend

BASE = 1_700_000_000


@pytest.fixture
def made(client: openai.OpenAI, control: BackendControl) -> list[str]:
    """Seventeen assistants over four seconds, ties within each and one step back in time,
    oldest first by ``(created_at, creation order)``."""
    seconds = [0] * 5 + [2] * 6 + [1] * 4 + [3] * 2  # 1 comes after 2: time went back
    control.seed(7, frozen_at=BASE)
    order: list[tuple[int, int, str]] = []
    for n, second in enumerate(seconds):
        control.seed(None, frozen_at=BASE + second)
        order.append((second, n, client.beta.assistants.create(model="m", name=str(n)).id))
    return [item_id for _, _, item_id in sorted(order)]


def _expected(
    ids: list[str], order: str, limit: int, after: str | None, before: str | None
) -> tuple[list[str], bool]:
    seq = ids if order == "asc" else ids[::-1]
    start = seq.index(after) + 1 if after else 0
    end = seq.index(before) if before else len(seq)
    window = seq[start:end] if start < end else []
    backwards = before is not None and after is None
    page = window[-limit:] if backwards else window[:limit]
    return page, len(window) > len(page)


def test_every_window_matches_the_reference(backend: RunningBackend, made: list[str]) -> None:
    cursors: list[str | None] = [None, *made[::2]]
    with httpx2.Client(base_url=backend.base_url) as http:
        for order, limit in itertools.product(("asc", "desc"), (1, 4, 100)):
            for after, before in itertools.product(cursors, cursors):
                params: dict[str, str | int] = {"order": order, "limit": limit}
                if after:
                    params["after"] = after
                if before:
                    params["before"] = before
                got = http.get("/assistants", params=params).json()
                ids = [a["id"] for a in got["data"]]
                page, has_more = _expected(made, order, limit, after, before)
                assert (ids, got["has_more"]) == (page, has_more), params
                assert got["first_id"] == (ids[0] if ids else None), params
                assert got["last_id"] == (ids[-1] if ids else None), params


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_the_clean_up_loop_deletes_everything_once_while_paging(
    client: openai.OpenAI, control: BackendControl, made: list[str], order: str
) -> None:
    control.clear_requests()
    visited = []
    for assistant in client.beta.assistants.list(limit=3, order=order):  # type: ignore[arg-type]
        visited.append(assistant.id)
        client.beta.assistants.delete(assistant.id)  # the next page's cursor is this id
    assert visited == (made if order == "asc" else made[::-1])
    assert client.beta.assistants.list().data == []
    counts = control.requests()
    assert counts["GET /v1/assistants"] == 6 + 1  # ceil(17 / 3) pages, then the check
    assert counts["DELETE /v1/assistants/{assistant_id}"] == len(made)


def test_deleting_half_while_paging_visits_the_rest_once(
    client: openai.OpenAI, made: list[str]
) -> None:
    visited = []
    for n, assistant in enumerate(client.beta.assistants.list(limit=2, order="asc")):
        visited.append(assistant.id)
        if n % 2 == 0:
            client.beta.assistants.delete(assistant.id)
    assert visited == made
    assert [a.id for a in client.beta.assistants.list(order="asc", limit=100)] == made[1::2]


def test_filtered_lists_page_in_sql_too(client: openai.OpenAI, control: BackendControl) -> None:
    thread = client.beta.threads.create()
    for n in range(5):
        client.beta.threads.messages.create(thread.id, role="user", content=f"m{n}")
    first = [m.id for m in client.beta.threads.messages.list(thread.id, order="asc", limit=2)]
    assert len(first) == 5
    purposes = ["batch", "assistants", "batch", "batch", "assistants"]
    files = [
        client.files.create(file=(f"f{n}.jsonl", b"{}"), purpose=p).id  # type: ignore[arg-type]
        for n, p in enumerate(purposes)
    ]
    batch = [f for f, p in zip(files, purposes, strict=True) if p == "batch"]
    page = client.files.list(purpose="batch", order="asc", limit=2)
    assert ([f.id for f in page.data], page.has_more) == (batch[:2], True)
    # a cursor the filter leaves out still has a position: paging goes on from there
    rest = client.files.list(purpose="batch", order="asc", after=files[1])
    assert [f.id for f in rest.data] == batch[1:]
    client.files.delete(batch[1])
    assert [f.id for f in client.files.list(purpose="batch", after=batch[1], order="asc")] == [
        batch[2]
    ]


def test_a_batchs_files_page_among_the_stores_other_files(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    ids = [
        client.files.create(file=(f"{n}.md", b"# x\n"), purpose="assistants").id for n in range(5)
    ]
    client.vector_stores.files.create(vector_store_id=store.id, file_id=ids[0])
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids[1:4])
    client.vector_stores.files.create(vector_store_id=store.id, file_id=ids[4])
    walked = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, order="asc", limit=1
    )
    assert [f.id for f in walked] == ids[1:4]  # the auto-pager: one page per file
    everything = client.vector_stores.files.list(store.id, order="asc", limit=2)
    assert [f.id for f in everything] == ids
