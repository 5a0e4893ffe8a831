"""Every Reader/Writer method through the real SDK against the local backend."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest
from provider_support import plain_client, without_none

from assistops.backend import BackendControl, RunningBackend
from assistops.providers import OpenAIProvider

pytestmark = pytest.mark.usefixtures("contract_checked")


@pytest.fixture
def provider(client: openai.OpenAI) -> Iterator[OpenAIProvider]:
    """The provider over the contract-checked client: every request and reply is validated."""
    with OpenAIProvider(client, "test (backend)", key_env="TEST_KEY_VAR") as opened:
        yield opened


ASSISTANT = {
    "model": "gpt-4o",
    "name": "support",
    "instructions": "Be brief.",
    "metadata": {"assistops-project": "demo", "assistops-env": "dev"},
    "tools": [{"type": "file_search", "file_search": {"max_num_results": 5}}],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": False},
    },
}


def test_assistant_create_list_retrieve_update_delete(provider: OpenAIProvider) -> None:
    created = provider.create_assistant(ASSISTANT)
    assert created["id"].startswith("asst_")
    assert created["metadata"] == ASSISTANT["metadata"]
    tool = created["tools"][0]
    assert (tool["type"], tool["file_search"]["max_num_results"]) == ("file_search", 5)
    # the wire name "schema", not the SDK's attribute name "schema_"
    assert created["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert "schema_" not in created["response_format"]["json_schema"]

    # the list keeps what the server sent; create's SDK model adds None for what it did not
    assert without_none(provider.list_assistants()) == [without_none(created)]
    assert provider.retrieve_assistant(created["id"]) == created

    updated = provider.update_assistant(created["id"], {"instructions": "Be kind."})
    assert (updated["id"], updated["instructions"]) == (created["id"], "Be kind.")
    assert updated["name"] == "support"  # partial update keeps the rest

    provider.delete_assistant(created["id"])
    assert provider.list_assistants() == []


def test_lists_are_oldest_first(provider: OpenAIProvider) -> None:
    ids = [provider.create_assistant({"model": "gpt-4o", "name": f"a{i}"})["id"] for i in range(3)]
    assert [a["id"] for a in provider.list_assistants()] == ids
    stores = [provider.create_vector_store({"name": f"s{i}"})["id"] for i in range(3)]
    assert [s["id"] for s in provider.list_vector_stores()] == stores


def test_vector_store_create_update_retrieve_delete(provider: OpenAIProvider) -> None:
    body = {
        "name": "handbook",
        "metadata": {"assistops-project": "demo"},
        "expires_after": {"anchor": "last_active_at", "days": 7},
    }
    store = provider.create_vector_store(body)
    assert (store["name"], store["metadata"]) == ("handbook", body["metadata"])
    assert store["expires_after"] == {"anchor": "last_active_at", "days": 7}
    renamed = provider.update_vector_store(store["id"], {"name": "manual"})
    assert (renamed["id"], renamed["name"]) == (store["id"], "manual")
    assert provider.retrieve_vector_store(store["id"])["name"] == "manual"
    assert [s["id"] for s in provider.list_vector_stores()] == [store["id"]]
    provider.delete_vector_store(store["id"])
    assert provider.list_vector_stores() == []


def test_files_batches_attributes_content_and_detach(
    backend: RunningBackend, control: BackendControl
) -> None:
    # no contract recorder here: openapi-core cannot resolve the spec's implicit discriminator
    # mapping of a per-file chunking_strategy ('#/components/schemas/static')
    provider = OpenAIProvider(plain_client(backend), "test (backend)")
    with provider:
        _files_batches_attributes_content_and_detach(provider, control)


def _files_batches_attributes_content_and_detach(
    provider: OpenAIProvider, control: BackendControl
) -> None:
    control.set_processing("immediate")
    text = b"# FAQ\nReturns take 30 days.\n"
    faq = provider.upload_file("faq.md", text)
    guide = provider.upload_file("guide.md", b"Guide text")
    assert (faq["filename"], faq["bytes"], faq["purpose"]) == ("faq.md", len(text), "assistants")
    assert [f["id"] for f in provider.list_files()] == [faq["id"], guide["id"]]

    store = provider.create_vector_store({"name": "kb"})
    chunking = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100},
    }
    batch = provider.create_file_batch(
        store["id"],
        [
            {"file_id": faq["id"], "attributes": {"path": "docs/faq.md", "size": 28}},
            {
                "file_id": guide["id"],
                "attributes": {"path": "docs/guide.md"},
                "chunking_strategy": chunking,
            },
        ],
    )
    assert batch["object"] == "vector_store.file_batch"
    polled = provider.retrieve_file_batch(store["id"], batch["id"])
    assert polled["status"] == "completed"
    assert polled["file_counts"]["completed"] == 2

    in_batch = provider.list_file_batch_files(store["id"], batch["id"])
    assert {f["id"] for f in in_batch} == {faq["id"], guide["id"]}
    attached = {f["id"]: f for f in provider.list_vector_store_files(store["id"])}
    assert attached[faq["id"]]["attributes"] == {"path": "docs/faq.md", "size": 28}
    assert attached[guide["id"]]["chunking_strategy"] == chunking

    assert provider.vector_store_file_content(store["id"], faq["id"]) == (
        "# FAQ\nReturns take 30 days.\n"
    )
    changed = provider.update_vector_store_file(store["id"], faq["id"], {"path": "docs/q.md"})
    assert changed["attributes"] == {"path": "docs/q.md"}

    provider.detach_file(store["id"], faq["id"])
    assert [f["id"] for f in provider.list_vector_store_files(store["id"])] == [guide["id"]]
    provider.delete_file(faq["id"])
    assert [f["id"] for f in provider.list_files()] == [guide["id"]]


def test_list_files_only_returns_purpose_assistants(
    provider: OpenAIProvider, client: openai.OpenAI
) -> None:
    mine = provider.upload_file("a.txt", b"a")
    client.files.create(file=("b.jsonl", b"{}"), purpose="batch")
    assert [f["id"] for f in provider.list_files()] == [mine["id"]]


def test_deleting_what_is_gone_is_quiet(provider: OpenAIProvider) -> None:
    store = provider.create_vector_store({"name": "kb"})
    file = provider.upload_file("a.txt", b"a")
    provider.delete_assistant("asst_doesnotexist")
    provider.delete_vector_store("vs_doesnotexist")
    provider.delete_file("file-doesnotexist")
    provider.detach_file(store["id"], file["id"])  # never attached
    provider.detach_file("vs_doesnotexist", file["id"])
    for _ in range(2):  # deleting twice: the second one finds nothing, quietly
        provider.delete_file(file["id"])
        provider.delete_vector_store(store["id"])
    assert provider.list_files() == []
    assert provider.list_vector_stores() == []


def test_fields_the_sdk_does_not_know_are_kept() -> None:
    # a test double of a *newer remote service*: it answers with fields the SDK lacks
    def service(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200,
            json={
                "id": "asst_1",
                "object": "assistant",
                "created_at": 1,
                "model": "gpt-4o",
                "name": None,
                "description": None,
                "instructions": None,
                "tools": [{"type": "file_search", "file_search": {"future_knob": 3}}],
                "metadata": {},
                "future_field": {"nested": [1, 2]},
            },
        )

    mock = httpx2.MockTransport(service)
    url = "https://compat.example/v1"
    sdk = openai.OpenAI(base_url=url, api_key="k", http_client=httpx2.Client(transport=mock))
    with OpenAIProvider(
        sdk,
        "test",
        async_client=lambda: openai.AsyncOpenAI(
            base_url=url, api_key="k", http_client=httpx2.AsyncClient(transport=mock)
        ),
    ) as provider:
        got = provider.retrieve_assistant("asst_1")
    assert got["future_field"] == {"nested": [1, 2]}
    assert got["tools"][0]["file_search"]["future_knob"] == 3
