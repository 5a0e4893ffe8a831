"""Apply's calls run on one event loop per provider: started by the first write, shared by
every worker thread, stopped with nothing left open by ``close``."""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from contract.validator import ContractRecorder

from assistops.errors import ProviderError
from assistops.providers import OpenAIProvider


def loop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("assistops-calls")]


def test_lists_never_start_the_loop_and_close_stops_it(
    client: openai.OpenAI, contract_checked: ContractRecorder
) -> None:
    with OpenAIProvider(client, "test (backend)") as provider:
        assert provider.list_vector_stores() == []
        assert loop_threads() == []
        before = contract_checked.exchanges
        created = provider.create_vector_store({"name": "s"})
        assert provider.retrieve_vector_store(created["id"]) == created
        assert loop_threads() == ["assistops-calls (test (backend))"]
        # the async client's exchanges are contract-checked too
        assert contract_checked.exchanges == before + 2
    assert loop_threads() == []


def test_sixteen_workers_at_once_share_one_client_and_leave_nothing_open(
    client: openai.OpenAI,
) -> None:
    # every worker's first call reaches for the async client at the same moment: one must be
    # made, or the others' connection pools are never closed (pytest fails the test on the
    # ResourceWarning an unclosed aiohttp session gives when collected)
    start = threading.Barrier(16)

    def create(i: int) -> str:
        start.wait()
        return str(provider.create_vector_store({"name": f"s{i}"})["id"])

    with (
        OpenAIProvider(client, "test (backend)") as provider,
        ThreadPoolExecutor(16) as pool,
    ):
        ids = list(pool.map(create, range(16)))
    gc.collect()
    assert len(set(ids)) == 16
    assert loop_threads() == []


def test_a_write_after_close_is_refused_and_starts_nothing(client: openai.OpenAI) -> None:
    provider = OpenAIProvider(client, "test (backend)")
    provider.create_vector_store({"name": "s"})
    provider.close()
    with pytest.raises(ProviderError, match="after the provider was closed"):
        provider.create_vector_store({"name": "t"})
    assert loop_threads() == []


def test_an_empty_id_is_refused_before_any_request(client: openai.OpenAI) -> None:
    with OpenAIProvider(client, "test (backend)") as provider, pytest.raises(ValueError):
        provider.delete_file("")
