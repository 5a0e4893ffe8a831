"""file_search runs: lexical retrieval over uploaded Markdown files, with citations."""

from __future__ import annotations

from pathlib import Path

import openai
from openai.types.beta.threads import FileCitationAnnotation

HANDBOOK = {
    "shipping.md": (
        "# Shipping\n\n"
        "Standard shipping takes 3 to 5 business days and is free above 50 EUR.\n"
        "Express shipping takes 1 to 2 business days and costs 9.90 EUR.\n\n"
        "Tracking numbers are emailed when the parcel leaves the warehouse.\n"
    ),
    "returns.md": (
        "# Returns\n\n"
        "Unused items can be returned within 30 days of delivery for a full refund.\n\n"
        "Gift cards cannot be returned.\n"
    ),
    "accounts.md": "# Accounts\n\nPasswords can be reset from the login page.\n",
}


def _store_with_handbook(client: openai.OpenAI, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A vector store holding the handbook; returns its id and ``file_id -> filename``."""
    store = client.vector_stores.create(name="handbook")
    names = {}
    for name, text in HANDBOOK.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with path.open("rb") as fh:
            uploaded = client.files.create(file=fh, purpose="assistants")
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=uploaded.id)
        names[uploaded.id] = name
    return store.id, names


def test_reply_quotes_the_best_chunk_with_a_file_citation(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    store_id, names = _store_with_handbook(client, tmp_path)
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "How many days does express shipping take?"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"

    message = client.beta.threads.messages.list(thread.id, limit=1).data[0]
    block = message.content[0]
    assert block.type == "text"
    value = block.text.value
    [citation] = block.text.annotations
    assert isinstance(citation, FileCitationAnnotation)
    cited = citation.file_citation.file_id
    assert names[cited] == "shipping.md"
    assert citation.text in HANDBOOK["shipping.md"]
    assert "Express shipping takes 1 to 2 business days" in citation.text
    assert value[citation.start_index : citation.end_index] == citation.text
    assert value == f'From shipping.md: "{citation.text}"'

    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    details = steps[0].step_details
    assert details.type == "tool_calls"
    search = details.tool_calls[0]
    assert search.type == "file_search"
    results = search.file_search.results or []
    assert results[0].file_id == cited and results[0].file_name == "shipping.md"
    assert 0 < results[0].score <= 1
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert results[0].content is None  # content only when asked for

    with_content = client.beta.threads.runs.steps.retrieve(
        steps[0].id,
        thread_id=thread.id,
        run_id=run.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    assert with_content.step_details.type == "tool_calls"
    hit = with_content.step_details.tool_calls[0]
    assert hit.type == "file_search" and hit.file_search.results
    assert hit.file_search.results[0].content is not None
    assert hit.file_search.results[0].content[0].text == citation.text


def test_max_num_results_and_no_match(client: openai.OpenAI, tmp_path: Path) -> None:
    store_id, _ = _store_with_handbook(client, tmp_path)
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search", "file_search": {"max_num_results": 1}}],
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "returned shipping days"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    assert step.step_details.type == "tool_calls"
    call = step.step_details.tool_calls[0]
    assert call.type == "file_search" and len(call.file_search.results or []) == 1

    client.beta.threads.messages.create(thread.id, role="user", content="quantum chromodynamics")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    reply = client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0]
    assert reply.type == "text"
    assert reply.text.value == "No passage in the attached files matches: quantum chromodynamics"
    assert reply.text.annotations == []
