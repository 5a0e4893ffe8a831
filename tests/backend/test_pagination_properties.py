"""Property tests of list pagination: random creates and deletes, then every kind of walk.

Each example resets the backend, freezes its clock, and performs a random sequence of
creates (moving the clock forward, not at all, or *backwards*, so that ties in the
whole-second ``created_at`` and out-of-insertion-order timestamps both occur) and deletes
of assistants, vector stores, files and messages. A reference model keeps each kind
sorted by ``(created_at, creation seq)``. Then it walks each list with a random ``limit``
(1..100) and ``order``: page by page from the start, from an ``after`` cursor, backwards
from a ``before`` cursor, inside an ``after``+``before`` window, and through the SDK's
auto-pager. Every walk must return exactly the reference slice (nothing lost,
duplicated or out of order), each page's ``first_id``/``last_id`` must be its own first
and last item (null when empty), and ``has_more`` must end false.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistops.backend import BackendControl

KINDS = ("assistant", "vector_store", "file", "message")
BASE_TIME = 1_800_000_000
MIN_CREATES, MAX_CREATES, MAX_DELETES = 20, 48, 12
# whole seconds between creates: ties (0) are the interesting case; negatives go back
CLOCK_STEPS = st.sampled_from([0, 0, 0, 1, 2, -1, -3])
# small limits make many pages; large ones cover the single-page case up to the maximum
LIMITS = st.one_of(st.integers(1, 3), st.integers(4, 100))
ORDERS = st.sampled_from(["asc", "desc"])

Op = tuple[str, str, int]  # ("create", kind, clock step) or ("delete", kind, index)
CREATE = st.tuples(st.just("create"), st.sampled_from(KINDS), CLOCK_STEPS)
DELETE = st.tuples(st.just("delete"), st.sampled_from(KINDS), st.integers(0, 1_000))
# enough creates that each kind spans several pages; deletes then land anywhere among them
OPS = st.tuples(
    st.lists(CREATE, min_size=MIN_CREATES, max_size=MAX_CREATES),
    st.lists(DELETE, max_size=MAX_DELETES),
).flatmap(lambda pair: st.permutations(pair[0] + pair[1]))


@dataclass
class World:
    """The SDK-side view: how to create, delete and list each kind, and what exists."""

    client: openai.OpenAI
    control: BackendControl
    thread_id: str
    now: int = BASE_TIME
    seq: int = 0
    items: dict[str, list[tuple[int, int, str]]] = field(
        default_factory=lambda: {kind: [] for kind in KINDS}
    )

    def create(self, kind: str, step: int) -> None:
        if step:
            self.now += step
            # the clock only advances; seeding it again is how it goes back
            self.control.seed(None, frozen_at=self.now)
        created = self._create(kind)
        assert created.created_at == self.now
        self.seq += 1
        self.items[kind].append((created.created_at, self.seq, created.id))

    def _create(self, kind: str) -> Any:
        c = self.client
        if kind == "assistant":
            return c.beta.assistants.create(model="gpt-4o")
        if kind == "vector_store":
            return c.vector_stores.create(name=f"vs{self.seq}")
        if kind == "file":
            return c.files.create(file=(f"f{self.seq}.txt", b"x"), purpose="assistants")
        return c.beta.threads.messages.create(self.thread_id, role="user", content="m")

    def delete(self, kind: str, index: int) -> None:
        if not self.items[kind]:
            return
        _, _, item_id = self.items[kind].pop(index % len(self.items[kind]))
        c = self.client
        if kind == "assistant":
            c.beta.assistants.delete(item_id)
        elif kind == "vector_store":
            c.vector_stores.delete(item_id)
        elif kind == "file":
            c.files.delete(item_id)
        else:
            c.beta.threads.messages.delete(item_id, thread_id=self.thread_id)

    def reference(self, kind: str, order: str) -> list[str]:
        ids = [item_id for _, _, item_id in sorted(self.items[kind])]
        return ids if order == "asc" else ids[::-1]

    def lister(self, kind: str) -> Callable[..., Any]:
        c = self.client
        if kind == "assistant":
            return c.beta.assistants.list
        if kind == "vector_store":
            return c.vector_stores.list
        if kind == "file":
            return c.files.list
        return lambda **kw: c.beta.threads.messages.list(self.thread_id, **kw)


def _page(world: World, kind: str, **params: Any) -> tuple[list[str], bool]:
    """One page: its ids and ``has_more``, after checking ``first_id``/``last_id``."""
    page = world.lister(kind)(**params)
    ids = [item.id for item in page.data]
    raw = page.model_dump()
    assert raw["first_id"] == (ids[0] if ids else None), params
    assert raw["last_id"] == (ids[-1] if ids else None), params
    assert len(ids) <= params["limit"]
    assert page.has_more is not None
    return ids, page.has_more


def _walk_forward(world: World, kind: str, **params: Any) -> list[str]:
    """Follow ``after=last_id`` until ``has_more`` is false."""
    seen: list[str] = []
    while True:
        ids, has_more = _page(world, kind, **params)
        seen += ids
        if not has_more:
            return seen
        assert ids, "has_more with an empty page would loop the SDK forever"
        params["after"] = ids[-1]


def _walk_backward(world: World, kind: str, **params: Any) -> list[str]:
    """Follow ``before=first_id`` until ``has_more`` is false; pages come back in order."""
    pages: list[list[str]] = []
    while True:
        ids, has_more = _page(world, kind, **params)
        pages.insert(0, ids)
        if not has_more:
            return [item_id for page in pages for item_id in page]
        assert ids
        params["before"] = ids[0]


def _check_kind(world: World, kind: str, data: st.DataObject) -> None:
    limit = data.draw(LIMITS, label=f"{kind} limit")
    order = data.draw(ORDERS, label=f"{kind} order")
    expected = world.reference(kind, order)

    assert _walk_forward(world, kind, limit=limit, order=order) == expected
    auto = [item.id for item in world.lister(kind)(limit=limit, order=order)]
    assert auto == expected, "SDK auto-pagination"
    if not expected:
        return

    i = data.draw(st.integers(0, len(expected) - 1), label=f"{kind} after index")
    assert (
        _walk_forward(world, kind, limit=limit, order=order, after=expected[i]) == expected[i + 1 :]
    )
    if kind == "file":
        return  # GET /files has no `before`

    j = data.draw(st.integers(0, len(expected) - 1), label=f"{kind} before index")
    nearest, _ = _page(world, kind, limit=limit, order=order, before=expected[j])
    assert nearest == expected[max(0, j - limit) : j]
    assert _walk_backward(world, kind, limit=limit, order=order, before=expected[j]) == expected[:j]
    lo, hi = sorted((i, j))
    window = _walk_forward(
        world, kind, limit=limit, order=order, after=expected[lo], before=expected[hi]
    )
    assert window == expected[lo + 1 : hi]


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS, data=st.data())
def test_every_walk_returns_the_reference_order(
    client: openai.OpenAI, control: BackendControl, ops: list[Op], data: st.DataObject
) -> None:
    control.reset()
    control.seed(None, frozen_at=BASE_TIME)
    thread = client.beta.threads.create()
    world = World(client, control, thread.id)
    for action, kind, arg in ops:
        if action == "create":
            world.create(kind, arg)
        else:
            world.delete(kind, arg)
    for kind in KINDS:
        _check_kind(world, kind, data)


def test_an_empty_list_has_null_cursors(client: openai.OpenAI) -> None:
    page = client.beta.assistants.list(limit=5)
    assert page.data == []
    assert page.model_dump()["first_id"] is None
    assert page.model_dump()["last_id"] is None
    assert page.has_more is False
