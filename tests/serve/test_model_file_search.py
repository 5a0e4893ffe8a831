"""file_search executed by the server for the model (issue 13, part 4)."""

from __future__ import annotations

from typing import Any

import openai

from assistops.backend import start_server
from assistops.backend.retrieval import token_chunks

from .conftest import make_client, settings_for
from .scripted_upstream import ScriptedUpstream, Turn

RETURNS = (
    "Returns policy. Items can be returned within 30 days with the receipt. "
    + "Filler words about the store and its opening hours. " * 40
    + "Refunds go back to the original card within five days."
).encode()
SHIPPING = b"Shipping policy. Parcels leave the warehouse every weekday at noon."
INCLUDE = ["step_details.tool_calls[*].file_search.results[*].content"]


def _store(sdk: openai.OpenAI, *docs: tuple[str, bytes], size: int = 100) -> str:
    store = sdk.vector_stores.create(name="handbook")
    for name, data in docs:
        uploaded = sdk.files.create(file=(name, data, "text/plain"), purpose="assistants")
        sdk.vector_stores.files.create_and_poll(
            vector_store_id=store.id,
            file_id=uploaded.id,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": 0},
            },
        )
    return store.id


def _searching_assistant(sdk: openai.OpenAI, store_id: str, **search: Any) -> Any:
    return sdk.beta.assistants.create(
        model="tiny-chat",
        tools=[{"type": "file_search", "file_search": search}]
        if search
        else [{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )


def test_the_server_searches_for_the_model_and_cites_what_it_quotes(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    store_id = _store(sdk, ("returns.md", RETURNS), ("shipping.md", SHIPPING))
    assistant = _searching_assistant(sdk, store_id)
    upstream.script(
        Turn(calls=[("file_search", {"query": "returned within 30 days receipt"})]),
        Turn(text=["Within 30 days, with the receipt", "【0:0†ret", "urns.md】", "."]),
    )
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Can I return?"}])
    annotated: list[Any] = []
    with sdk.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        include=INCLUDE,  # type: ignore[list-item]
    ) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                for part in event.data.delta.content or []:
                    if part.type == "text" and part.text and part.text.annotations:
                        annotated.append((part.text.value, part.text.annotations))
        run = stream.get_final_run()
    assert run.status == "completed"
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    text = reply.content[0].text  # type: ignore[union-attr]
    label = "【0:0†returns.md】"
    assert text.value == f"Within 30 days, with the receipt{label}."
    [citation] = text.annotations
    assert citation.type == "file_citation"
    assert citation.text == label
    assert text.value[citation.start_index : citation.end_index] == label
    returns_id = citation.file_citation.file_id  # type: ignore[union-attr]
    assert sdk.files.retrieve(returns_id).filename == "returns.md"
    # the label arrived in one delta with its annotation, not split across two
    assert [value for value, _ in annotated] == [label]
    steps = sdk.beta.threads.runs.steps.list(
        thread_id=thread.id,
        run_id=run.id,
        order="asc",
        include=INCLUDE,  # type: ignore[list-item]
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    [search] = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert search.type == "file_search"
    results = search.file_search.results
    assert results[0].file_id == returns_id and results[0].score == 1.0
    first_chunk = results[0].content[0].text
    # chunked by the store's static strategy (100 tokens = 400 characters), not whole files
    assert first_chunk.startswith("Returns policy.") and len(first_chunk) <= 400
    assert "Refunds go back" not in first_chunk
    # the model was handed the labelled passages as the tool's output
    follow_up = upstream.requests[1]
    output = (
        follow_up["messages"][-1]["content"] if api == "chat" else follow_up["input"][-1]["output"]
    )
    assert f"{label} (score 1.0)\n{first_chunk}" in output
    without = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    assert without.data[0].step_details.tool_calls[0].file_search.results[0].content is None  # type: ignore[union-attr]


def test_max_num_results_and_score_threshold_are_honoured(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    store_id = _store(sdk, ("returns.md", RETURNS), ("shipping.md", SHIPPING))
    query = {"query": "policy receipt weekday"}
    one = _searching_assistant(sdk, store_id, max_num_results=1)
    strict = _searching_assistant(
        sdk, store_id, ranking_options={"ranker": "auto", "score_threshold": 0.9}
    )
    results = []
    for assistant in (one, strict):
        upstream.script(Turn(calls=[("file_search", query)]), Turn(text=["done"]))
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "policies?"}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
        step = sdk.beta.threads.runs.steps.list(
            thread_id=thread.id, run_id=run.id, order="asc"
        ).data[0]
        results.append(step.step_details.tool_calls[0].file_search)  # type: ignore[union-attr]
    assert len(results[0].results) == 1
    assert results[1].results == []
    assert results[1].ranking_options.score_threshold == 0.9
    assert "found no passage" in upstream.requests[-1]["messages"][-1]["content"]


def test_embeddings_rank_the_chunks_and_are_computed_once(upstream: ScriptedUpstream) -> None:
    settings = settings_for(upstream, "chat", embedding_model="tiny-embed")
    with start_server(upstream=settings) as running, make_client(running) as sdk:
        store_id = _store(sdk, ("returns.md", RETURNS), ("shipping.md", SHIPPING))
        assistant = _searching_assistant(sdk, store_id, max_num_results=2)
        for _ in range(2):
            upstream.script(
                Turn(calls=[("file_search", {"query": "shipping parcels warehouse"})]),
                Turn(text=["ok"]),
            )
            thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "ship?"}])
            run = sdk.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert run.status == "completed"
        step = sdk.beta.threads.runs.steps.list(
            thread_id=thread.id, run_id=run.id, order="asc"
        ).data[0]
        hits = step.step_details.tool_calls[0].file_search.results  # type: ignore[union-attr]
    assert hits[0].file_name == "shipping.md" and 0 < hits[0].score < 1
    # distinct chunks (the filler repeats itself), plus the shipping file's one
    chunk_count = len({piece for _, piece in token_chunks(RETURNS.decode(), 100, 0)}) + 1
    first, second, third = upstream.embedding_inputs
    assert len(first) == chunk_count  # every chunk, once
    assert second == ["shipping parcels warehouse"] and third == second  # then only queries


def test_token_chunks_follow_the_strategy_and_stay_substrings() -> None:
    text = " ".join(f"word{i:03d}" for i in range(300))  # 8 characters a word, with its space
    chunks = token_chunks(text, 100, 50)
    assert all(text[start : start + len(piece)] == piece for start, piece in chunks)
    assert all(len(piece) <= 400 for _, piece in chunks)
    assert chunks[0][1].split()[-1] == "word049"  # 50 words fit in 400 characters
    # consecutive windows overlap by about 50 tokens (200 characters)
    first_end = chunks[0][0] + len(chunks[0][1])
    assert 150 <= first_end - chunks[1][0] <= 200
    assert chunks[-1][1].endswith("word299")
