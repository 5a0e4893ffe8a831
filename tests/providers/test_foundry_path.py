"""The local backend answers the Foundry project path shape, as Azure's classic agents do.

``/api/projects/<project>/<route>?api-version=v1`` serves the ``/v1`` route (same store, same
request counts and faults); ``api-version`` is required there, and a backend key may come as
``Authorization: Bearer`` (Entra ID's header) or ``api-key``. ``/v1`` itself is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest
from provider_support import plain_client

from assistops.backend import BackendControl, RunningBackend, start_server

pytestmark = pytest.mark.usefixtures("contract_checked")

PROJECT = "acme"
TOKEN = "-".join(("entra", "token", "0123456789abcdef"))


def foundry_url(backend: RunningBackend, project: str = PROJECT) -> str:
    """The project endpoint of ``project`` on ``backend``."""
    return f"{backend.root_url}/api/projects/{project}"


def foundry_client(backend: RunningBackend, **kw: object) -> openai.AzureOpenAI:
    """The SDK's Azure client on the project endpoint, with a bearer token by default."""
    kw.setdefault("api_version", "v1")
    kw.setdefault("max_retries", 0)
    if "api_key" not in kw:
        kw.setdefault("azure_ad_token_provider", lambda: TOKEN)
    return openai.AzureOpenAI(base_url=foundry_url(backend), **kw)  # type: ignore[arg-type]


@pytest.fixture
def foundry(backend: RunningBackend) -> Iterator[openai.AzureOpenAI]:
    with foundry_client(backend) as client:
        yield client


def test_every_resource_is_reachable_under_the_project(
    backend: RunningBackend, foundry: openai.AzureOpenAI
) -> None:
    upload = foundry.files.create(
        file=("faq.md", b"# FAQ\nReturns within 30 days.\n"), purpose="assistants"
    )
    store = foundry.vector_stores.create(name="kb")
    batch = foundry.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, files=[{"file_id": upload.id, "attributes": {"k": "v"}}]
    )
    assert batch.file_counts.completed == 1
    assistant = foundry.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    assert foundry.beta.assistants.retrieve(assistant.id).id == assistant.id
    assert [f.id for f in foundry.vector_stores.files.list(store.id)] == [upload.id]
    assert foundry.files.retrieve(upload.id).filename == "faq.md"
    parts = foundry.vector_stores.files.content(upload.id, vector_store_id=store.id)
    assert "Returns within 30 days." in "".join(p.text or "" for p in parts)
    thread = foundry.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    assert [m.role for m in foundry.beta.threads.messages.list(thread.id)] == ["user"]
    # one store behind both shapes: /v1 sees what the project path made
    with plain_client(backend) as v1:
        assert [a.id for a in v1.beta.assistants.list()] == [assistant.id]
    foundry.beta.assistants.delete(assistant.id)
    assert foundry.beta.assistants.list().data == []


def test_requests_are_counted_and_faulted_under_the_v1_template(
    backend: RunningBackend, control: BackendControl, foundry: openai.AzureOpenAI
) -> None:
    foundry.vector_stores.list()
    foundry.vector_stores.list()
    assert control.requests()["GET /v1/vector_stores"] == 2
    control.add_fault("error", "POST /v1/assistants", status=503)
    with pytest.raises(openai.InternalServerError) as info:
        foundry.beta.assistants.create(model="gpt-4o")
    assert info.value.status_code == 503
    assert foundry.beta.assistants.create(model="gpt-4o").object == "assistant"


def test_api_version_is_required_with_azure_codes(backend: RunningBackend) -> None:
    url = foundry_url(backend) + "/assistants"
    with httpx2.Client() as http:
        missing = http.get(url)
        other = http.get(url, params={"api-version": "2024-05-01-preview"})
        fine = http.get(url, params={"api-version": "v1"})
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "message": "The api-version query parameter (?api-version=) is required for all requests.",
        "type": "invalid_request_error",
        "param": "api-version",
        "code": "MissingApiVersionParameter",
    }
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "UnsupportedApiVersionValue"
    assert "'2024-05-01-preview'" in other.json()["error"]["message"]
    assert "The supported api-versions are 'v1'" in other.json()["error"]["message"]
    assert fine.status_code == 200 and fine.json()["object"] == "list"


def test_unknown_routes_name_the_path_as_sent(backend: RunningBackend) -> None:
    with httpx2.Client() as http:
        unknown = http.get(foundry_url(backend) + "/nope", params={"api-version": "v1"})
        bare = http.get(foundry_url(backend), params={"api-version": "v1"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == f"Invalid URL (GET /api/projects/{PROJECT}/nope)"
    assert bare.status_code == 404  # the project endpoint itself is no route


def test_a_locked_backend_takes_its_key_as_bearer_or_api_key() -> None:
    with start_server(":memory:", api_key=TOKEN) as locked:
        with foundry_client(locked) as bearer:
            assert bearer.vector_stores.list().data == []
        with foundry_client(locked, api_key=TOKEN) as keyed:
            assert keyed.vector_stores.list().data == []
        with (
            foundry_client(locked, azure_ad_token_provider=lambda: "expired-token-000") as wrong,
            pytest.raises(openai.AuthenticationError) as info,
        ):
            wrong.vector_stores.list()
        assert "Access token is missing, invalid, audience is incorrect" in str(info.value)
        # /v1 is unchanged: Bearer only, its own message
        with httpx2.Client() as http:
            v1 = http.get(locked.base_url + "/vector_stores", headers={"api-key": TOKEN})
        assert v1.status_code == 401
        assert v1.json()["error"]["code"] == "invalid_api_key"
