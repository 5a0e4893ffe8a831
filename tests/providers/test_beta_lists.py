"""The assistant and agent lists skip ``client.beta`` (its import costs half a second): they
return the objects exactly as the server sent them, page after page, and the planner reads
them as it reads the SDK's dumps of ``beta.assistants.list`` / ``beta.agents.list`` (which add
``None`` for fields the server left out)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest

from assistops.backend import BackendControl
from assistops.kinds import agent, assistant
from assistops.providers import Json, OpenAIProvider
from assistops.providers.openai_provider import dump

pytestmark = pytest.mark.usefixtures("contract_checked")

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}


def sent(client: openai.OpenAI, path: str, beta: str) -> list[Json]:
    """Every item of a list, as the server's JSON pages hold it."""
    items: list[Json] = []
    params: dict[str, object] = {"limit": 100, "order": "asc"}
    while True:
        page = client.get(
            path, cast_to=object, options={"params": params, "headers": {"OpenAI-Beta": beta}}
        )
        assert isinstance(page, dict)
        items += page["data"]
        if not page["has_more"]:
            return items
        params["after"] = page["data"][-1]["id"]


def assistant_view(raw: Json) -> object:
    spec, files = assistant.from_live(
        raw, "assistant.x", store_of=lambda i: i, uploads={}, desired_files=[]
    )
    return assistant.projection(spec, files)


@pytest.fixture
def provider(client: openai.OpenAI) -> Iterator[OpenAIProvider]:
    with OpenAIProvider(client, "test (backend)") as opened:
        yield opened


def test_assistants_list_as_the_sdk_dumps_them(
    provider: OpenAIProvider, client: openai.OpenAI, control: BackendControl
) -> None:
    store = client.vector_stores.create(name="kb")
    upload = client.files.create(file=("t.csv", b"a,b\n1,2\n"), purpose="assistants")
    client.beta.assistants.create(
        model="gpt-4o-mini",
        name="full",
        description="every field",
        instructions="Be brief.",
        metadata={"assistops": "demo/dev/assistant.full"},
        temperature=0.3,
        top_p=0.9,
        tools=[
            {"type": "function", "function": {"name": "lookup", "parameters": SCHEMA}},
            {"type": "file_search", "file_search": {"max_num_results": 5}},
            {"type": "code_interpreter"},
        ],
        tool_resources={
            "file_search": {"vector_store_ids": [store.id]},
            "code_interpreter": {"file_ids": [upload.id]},
        },
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": SCHEMA, "strict": True},
        },
    )
    for n in range(104):  # two pages of 100
        client.beta.assistants.create(model="gpt-4o-mini", name=f"a{n}")
    control.clear_requests()
    listed = provider.list_assistants()
    assert control.requests().get("GET /v1/assistants") == 2
    assert len(listed) == 105
    assert listed == sent(client, "/assistants", "assistants=v2")
    dumped = [dump(a) for a in client.beta.assistants.list(limit=100, order="asc")]
    assert [a["id"] for a in listed] == [a["id"] for a in dumped]
    assert [assistant_view(a) for a in listed] == [assistant_view(a) for a in dumped]


def test_agents_list_as_the_sdk_dumps_them(
    provider: OpenAIProvider, client: openai.OpenAI, control: BackendControl
) -> None:
    # the backend refuses an agents request without OpenAI-Beta: agents=v1, so this also
    # checks the header is sent
    client.beta.agents.create(
        model="gpt-5",
        name="support",
        instructions="Be brief.",
        metadata={"team": "care"},
        tools=[
            {"type": "function", "name": "lookup", "description": "Look.", "parameters": SCHEMA}
        ],
        text={"format": {"type": "json_schema", "schema": SCHEMA}},
    )
    for n in range(100):
        client.beta.agents.create(model="gpt-5", name=f"g{n}")
    control.clear_requests()
    listed = provider.list_agents()
    assert control.requests().get("GET /v1/agents") == 2
    assert listed == sent(client, "/agents", "agents=v1")
    dumped = [dump(a) for a in client.beta.agents.list(limit=100, order="asc")]
    view = [agent.projection(agent.from_live(a, "agent.x")) for a in listed]
    assert view == [agent.projection(agent.from_live(a, "agent.x")) for a in dumped]


def test_listing_assistants_does_not_import_the_beta_resources(backend: object) -> None:
    # in a fresh process: the point is what the first list imports
    url = backend.base_url  # type: ignore[attr-defined]
    code = (
        "import sys, openai\n"
        "from assistops.providers import OpenAIProvider\n"
        f"client = openai.OpenAI(base_url={url!r}, api_key='k')\n"
        "with OpenAIProvider(client, 'test') as p:\n"
        "    p.list_assistants(); p.list_agents(); p.list_vector_stores(); p.list_files()\n"
        "print(sorted(m for m in sys.modules if m.startswith('openai.resources.beta')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
