"""Discovery pages with limit=100: exactly ceil(n/100) list requests (at least one) per list;
``GET /files`` takes up to 10,000 per page, so ceil(n/10,000).

Counted on the backend's control plane, so the SDK's auto-pagination is measured for real.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import partial

import openai
import pytest

from assistops.backend import BackendControl
from assistops.providers import Json, OpenAIProvider

pytestmark = pytest.mark.usefixtures("contract_checked")

SIZES = (0, 1, 100, 101, 250)


@pytest.fixture
def provider(client: openai.OpenAI) -> Iterator[OpenAIProvider]:
    with OpenAIProvider(client, "test (backend)") as opened:
        yield opened


def expected_pages(n: int, size: int = 100) -> int:
    return max(1, math.ceil(n / size))


def count_list(
    control: BackendControl, route: str, listing: Callable[[], list[Json]]
) -> tuple[list[Json], int]:
    """Run one list call; return its items and how many requests it made to ``route``."""
    control.clear_requests()
    items = listing()
    counts = control.requests()
    assert counts["total"] == counts.get(route, 0), counts  # nothing but the list was sent
    return items, counts.get(route, 0)


@pytest.mark.slow
def test_assistants_and_vector_stores_page_by_100(
    provider: OpenAIProvider, control: BackendControl
) -> None:
    assistants: list[str] = []
    stores: list[str] = []
    for n in SIZES:
        while len(assistants) < n:
            assistants.append(provider.create_assistant({"model": "gpt-4o"})["id"])
            stores.append(provider.create_vector_store({"name": "s"})["id"])
        items, requests = count_list(control, "GET /v1/assistants", provider.list_assistants)
        assert ([a["id"] for a in items], requests) == (assistants, expected_pages(n))
        items, requests = count_list(control, "GET /v1/vector_stores", provider.list_vector_stores)
        assert ([s["id"] for s in items], requests) == (stores, expected_pages(n))


@pytest.mark.slow
def test_files_in_one_page_vector_store_files_and_batch_files_by_100(
    provider: OpenAIProvider, control: BackendControl
) -> None:
    files: list[str] = []
    for n in SIZES:
        while len(files) < n:
            files.append(provider.upload_file(f"{len(files)}.txt", b"x")["id"])
        items, requests = count_list(control, "GET /v1/files", provider.list_files)
        assert ([f["id"] for f in items], requests) == (files, expected_pages(n, 10_000))

    store_files = "GET /v1/vector_stores/{vector_store_id}/files"
    batch_files = "GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files"
    for n in SIZES:
        store = provider.create_vector_store({"name": f"n{n}"})["id"]
        if n:
            batch = provider.create_file_batch(store, [{"file_id": f} for f in files[:n]])
            items, requests = count_list(
                control, batch_files, partial(provider.list_file_batch_files, store, batch["id"])
            )
            assert (len(items), requests) == (n, expected_pages(n))
        items, requests = count_list(
            control, store_files, partial(provider.list_vector_store_files, store)
        )
        assert ({f["id"] for f in items}, requests) == (set(files[:n]), expected_pages(n))


def test_a_rate_limit_on_a_later_page_retries_that_page_not_the_list(
    provider: OpenAIProvider, control: BackendControl
) -> None:
    made = [provider.create_vector_store({"name": f"s{i}"})["id"] for i in range(250)]
    route = "GET /v1/vector_stores"
    control.add_fault("error", route, first=2, status=429, retry_after=0.01)
    items, requests = count_list(control, route, provider.list_vector_stores)
    assert [s["id"] for s in items] == made  # each store once, in order
    assert requests == 3 + 1  # three pages, and the second page once more (not all three)
