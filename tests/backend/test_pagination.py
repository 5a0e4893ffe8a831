"""Pagination rules on list endpoints, through the SDK's pages and auto-pagination."""

from __future__ import annotations

import httpx2
import openai
import pytest

from assistops.backend import BackendControl, RunningBackend


@pytest.fixture
def seven(client: openai.OpenAI, control: BackendControl) -> list[str]:
    """Seven assistants created within the same (frozen) second, oldest first."""
    control.seed(1, frozen_at=1_700_000_000)
    return [client.beta.assistants.create(model="m", name=str(i)).id for i in range(7)]


def test_default_order_is_newest_first_with_stable_ties(
    client: openai.OpenAI, seven: list[str]
) -> None:
    page = client.beta.assistants.list()
    assert [a.id for a in page.data] == seven[::-1]
    assert page.has_more is False


def test_auto_pagination_walks_everything_once(client: openai.OpenAI, seven: list[str]) -> None:
    assert [a.id for a in client.beta.assistants.list(limit=2, order="asc")] == seven
    assert [a.id for a in client.beta.assistants.list(limit=3)] == seven[::-1]


def test_envelope_fields_describe_this_page(backend: RunningBackend, seven: list[str]) -> None:
    with httpx2.Client(base_url=backend.base_url) as http:
        page = http.get("/assistants", params={"limit": 2, "order": "asc"}).json()
        last = http.get("/assistants", params={"limit": 2, "order": "asc", "after": seven[4]})
        empty = http.get("/assistants", params={"order": "asc", "after": seven[6]}).json()
    assert page["object"] == "list"
    assert (page["first_id"], page["last_id"], page["has_more"]) == (seven[0], seven[1], True)
    tail = last.json()
    assert [a["id"] for a in tail["data"]] == seven[5:]
    assert tail["has_more"] is False
    assert empty == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_before_returns_the_nearest_items_in_requested_order(
    client: openai.OpenAI, seven: list[str]
) -> None:
    page = client.beta.assistants.list(order="asc", before=seven[5], limit=2)
    assert [a.id for a in page.data] == seven[3:5]
    assert page.has_more is True
    desc = client.beta.assistants.list(order="desc", before=seven[1], limit=2)
    assert [a.id for a in desc.data] == [seven[3], seven[2]]


def test_after_and_before_together_are_a_window(client: openai.OpenAI, seven: list[str]) -> None:
    window = client.beta.assistants.list(order="asc", after=seven[1], before=seven[5], limit=2)
    assert [a.id for a in window.data] == seven[2:4]
    assert window.has_more is True
    walked = client.beta.assistants.list(order="asc", after=seven[0], before=seven[6], limit=2)
    assert [a.id for a in walked] == seven[1:6]


def test_limit_and_order_validation(client: openai.OpenAI, seven: list[str]) -> None:
    assert len(client.beta.assistants.list(limit=100).data) == 7
    for limit, code in ((0, "integer_below_min_value"), (101, "integer_above_max_value")):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.assistants.list(limit=limit)
        assert (info.value.body["param"], info.value.code) == ("limit", code)  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as order:
        client.beta.assistants.list(order="sideways")  # type: ignore[arg-type]
    assert order.value.body["param"] == "order"  # type: ignore[index]


def test_a_deleted_cursor_pages_on_from_where_it_was(
    client: openai.OpenAI, seven: list[str]
) -> None:
    client.beta.assistants.delete(seven[3])
    after = client.beta.assistants.list(after=seven[3], order="asc")
    assert [a.id for a in after.data] == seven[4:]
    before = client.beta.assistants.list(before=seven[3], order="asc", limit=2)
    assert [a.id for a in before.data] == seven[1:3]
    assert before.has_more is True
    desc = client.beta.assistants.list(after=seven[3])
    assert [a.id for a in desc.data] == seven[:3][::-1]


def test_a_cursor_never_in_the_list_is_a_400(client: openai.OpenAI, seven: list[str]) -> None:
    for param in ("after", "before"):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.assistants.list(**{param: "asst_" + "0" * 24})  # type: ignore[arg-type]
        assert (info.value.body["param"], info.value.code) == (param, "invalid_value")  # type: ignore[index]
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError):  # an id of another list has no place in this one
        client.beta.assistants.list(after=store.id)


def test_filters_apply_before_paging(client: openai.OpenAI, control: BackendControl) -> None:
    control.set_processing("immediate", fail_pattern="bad-*")
    store = client.vector_stores.create()
    names = ["ok-1", "bad-1", "ok-2", "bad-2", "ok-3"]
    ids = {}
    for name in names:
        file_id = client.files.create(file=(name, b"x"), purpose="assistants").id
        client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
        ids[name] = file_id
    page = client.vector_stores.files.list(store.id, filter="completed", limit=2, order="asc")
    assert [f.id for f in page.data] == [ids["ok-1"], ids["ok-2"]]
    assert page.has_more is True
    walked = client.vector_stores.files.list(store.id, filter="failed", limit=1, order="asc")
    assert [f.id for f in walked] == [ids["bad-1"], ids["bad-2"]]
