"""The contract test: a broad scenario through the real SDK touches every operation the
backend implements, and every exchange conforms to the vendored OpenAPI subset.

The scenario runs twice: with the contract validator alone, and with the SDK's own
strict response parsing on top (``_strict_response_validation=True``, a second oracle
built from the SDK's pydantic types). Which operations must be exercised comes from the
backend's route table (``scripts/coverage_table.py``), so a new route fails this test
until the scenario covers it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from contract.scripts import load_script
from contract.validator import SUBSET, ContractRecorder
from openai import AssistantEventHandler
from openai.types.beta.threads import Run
from openai.types.shared_params import FunctionDefinition

from assistops.backend import BackendControl

FUNCTION: FunctionDefinition = {
    "name": "lookup_order",
    "description": "Find an order by its number.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
    "strict": True,
}
HANDBOOK = b"# Returns\n\nItems can be returned within 30 days with the receipt.\n"

Step = Callable[[openai.OpenAI, BackendControl, dict[str, Any]], None]


def implemented_operations() -> set[str]:
    """operationIds the backend serves, from its route table."""
    script = load_script("coverage_table")
    subset = json.loads(SUBSET.read_text(encoding="utf-8"))
    return {r.operation_id for r in script.rows(subset, script.backend_routes()) if r.implemented}


# ------------------------------------------------------------------ scenario steps


def files(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    doc = c.files.create(file=("returns.md", HANDBOOK, "text/markdown"), purpose="assistants")
    batch = c.files.create(
        file=("input.jsonl", b'{"custom_id": "1"}\n', "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert batch.expires_at == batch.created_at + 3600
    assert c.files.retrieve(doc.id).bytes == len(HANDBOOK)
    assert [f.id for f in c.files.list(purpose="assistants")] == [doc.id]
    assert c.files.content(batch.id).read() == b'{"custom_id": "1"}\n'
    assert c.files.delete(batch.id).deleted
    ctx["file"] = doc.id


def vector_stores(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    store = c.vector_stores.create(
        name="handbook",
        file_ids=[ctx["file"]],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
        },
        expires_after={"anchor": "last_active_at", "days": 7},
        metadata={"env": "test"},
    )
    spare = c.vector_stores.create(name="spare")
    assert c.vector_stores.retrieve(store.id).file_counts.total == 1
    renamed = c.vector_stores.update(spare.id, name="renamed", expires_after=None, metadata={})
    assert renamed.name == "renamed"
    assert {s.id for s in c.vector_stores.list(limit=2, order="asc")} == {store.id, spare.id}
    assert c.vector_stores.delete(spare.id).deleted
    if "searchVectorStore" in implemented_operations():
        c.vector_stores.search(store.id, query="returns")
    ctx["store"] = store.id


def vector_store_files(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    store = ctx["store"]
    shipping = ("shipping.md", b"Ships in 2 days.", "text/markdown")
    extra = c.files.create(file=shipping, purpose="assistants")
    attached = c.vector_stores.files.create_and_poll(
        file_id=extra.id,
        vector_store_id=store,
        attributes={"path": "shipping.md", "size": 16, "public": True},
        chunking_strategy={"type": "auto"},
    )
    assert attached.status == "completed"
    got = c.vector_stores.files.retrieve(extra.id, vector_store_id=store)
    assert got.chunking_strategy is not None and got.chunking_strategy.type == "static"
    updated = c.vector_stores.files.update(
        extra.id, vector_store_id=store, attributes={"path": "s.md"}
    )
    assert updated.attributes == {"path": "s.md"}
    listed = c.vector_stores.files.list(store, filter="completed", order="asc")
    assert {f.id for f in listed} == {ctx["file"], extra.id}
    assert list(c.vector_stores.files.content(extra.id, vector_store_id=store))
    assert c.vector_stores.files.delete(extra.id, vector_store_id=store).deleted
    ctx["extra_file"] = extra.id


def file_batches(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    store = ctx["store"]
    done = c.vector_stores.file_batches.create_and_poll(
        vector_store_id=store, file_ids=[ctx["extra_file"]], attributes={"batch": "1"}
    )
    assert done.file_counts.completed == 1
    batches = c.vector_stores.file_batches
    assert batches.retrieve(done.id, vector_store_id=store).status == "completed"
    listed = batches.list_files(done.id, vector_store_id=store)
    assert [f.id for f in listed] == [ctx["extra_file"]]
    control.set_processing("reads", reads=50)  # keep the next batch in progress
    slow = c.files.create(file=("slow.md", b"slow", "text/markdown"), purpose="assistants")
    pending = c.vector_stores.file_batches.create(
        vector_store_id=store, files=[{"file_id": slow.id, "attributes": {"k": "v"}}]
    )
    cancelled = c.vector_stores.file_batches.cancel(pending.id, vector_store_id=store)
    assert cancelled.status == "cancelled"
    control.set_processing("immediate")


def assistants(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    full = c.beta.assistants.create(
        model="gpt-4o",
        name="support",
        description="Answers customers.",
        instructions="Be brief.",
        tools=[
            {"type": "code_interpreter"},
            {
                "type": "file_search",
                "file_search": {
                    "max_num_results": 5,
                    "ranking_options": {"ranker": "auto", "score_threshold": 0.0},
                },
            },
            {"type": "function", "function": FUNCTION},
        ],
        tool_resources={
            "code_interpreter": {"file_ids": [ctx["file"]]},
            "file_search": {"vector_store_ids": [ctx["store"]]},
        },
        metadata={"project": "demo"},
        temperature=0.5,
        top_p=0.9,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": False},
        },
    )
    plain = c.beta.assistants.create(model="gpt-4o", name="plain")
    assert c.beta.assistants.retrieve(full.id).tools[2].type == "function"
    changed = c.beta.assistants.update(plain.id, instructions="Echo.", tools=[], metadata={})
    assert changed.instructions == "Echo."
    assert {a.id for a in c.beta.assistants.list(order="asc")} == {full.id, plain.id}
    temp = c.beta.assistants.create(model="gpt-4o", name="temp")
    assert c.beta.assistants.delete(temp.id).deleted
    tools_only = c.beta.assistants.create(
        model="gpt-4o", name="tools", tools=[{"type": "function", "function": FUNCTION}]
    )
    ctx["assistant"], ctx["plain"], ctx["tools"] = full.id, plain.id, tools_only.id


def threads_and_messages(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    thread = c.beta.threads.create(
        messages=[{"role": "user", "content": "How do returns work?"}],
        tool_resources={"file_search": {"vector_store_ids": [ctx["store"]]}},
        metadata={"case": "1"},
    )
    assert c.beta.threads.retrieve(thread.id).metadata == {"case": "1"}
    assert c.beta.threads.update(thread.id, metadata={"case": "2"}).metadata == {"case": "2"}
    msg = c.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[{"type": "text", "text": "And shipping?"}],
        attachments=[{"file_id": ctx["file"], "tools": [{"type": "file_search"}]}],
    )
    assert c.beta.threads.messages.retrieve(msg.id, thread_id=thread.id).content[0].type == "text"
    c.beta.threads.messages.update(msg.id, thread_id=thread.id, metadata={"seen": "yes"})
    assert len(c.beta.threads.messages.list(thread.id, order="asc").data) == 2
    assert c.beta.threads.messages.delete(msg.id, thread_id=thread.id).deleted
    scratch = c.beta.threads.create()
    assert c.beta.threads.delete(scratch.id).deleted
    ctx["thread"] = thread.id


class _Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""


def runs(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    thread = ctx["thread"]
    done = c.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=ctx["plain"])
    assert done.status == "completed"
    assert c.beta.threads.messages.list(thread, run_id=done.id).data[0].role == "assistant"
    steps = c.beta.threads.runs.steps.list(done.id, thread_id=thread)
    step = c.beta.threads.runs.steps.retrieve(steps.data[0].id, thread_id=thread, run_id=done.id)
    assert step.type == "message_creation"
    assert c.beta.threads.runs.retrieve(done.id, thread_id=thread).id == done.id
    assert c.beta.threads.runs.update(done.id, thread_id=thread, metadata={"k": "v"}).metadata == {
        "k": "v"
    }

    # file search over the store: a tool_calls step and a cited reply
    searched = c.beta.threads.runs.create_and_poll(
        thread_id=thread, assistant_id=ctx["assistant"], tool_choice={"type": "file_search"}
    )
    assert searched.status == "completed"
    kinds = {s.type for s in c.beta.threads.runs.steps.list(searched.id, thread_id=thread)}
    assert kinds == {"tool_calls", "message_creation"}

    # a function call: requires_action, then outputs
    calling = c.beta.threads.runs.create_and_poll(
        thread_id=thread,
        assistant_id=ctx["tools"],
        additional_messages=[{"role": "user", "content": "lookup_order 42"}],
    )
    assert calling.status == "requires_action" and calling.required_action is not None
    call = calling.required_action.submit_tool_outputs.tool_calls[0]
    finished = c.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=calling.id,
        thread_id=thread,
        tool_outputs=[{"tool_call_id": call.id, "output": "shipped"}],
    )
    assert finished.status == "completed"

    # streaming: create, then submit outputs, both as server-sent events
    handler = _Collector()
    with c.beta.threads.runs.stream(
        thread_id=thread, assistant_id=ctx["plain"], event_handler=handler
    ) as first:
        first.until_done()
    assert handler.text.startswith("Echo:")
    control.script({"call": "lookup_order", "arguments": {"order_id": "7"}}, thread_id=thread)
    events = c.beta.threads.runs.create(thread_id=thread, assistant_id=ctx["tools"], stream=True)
    streamed = list(events)
    pending = streamed[-1].data
    assert isinstance(pending, Run) and pending.status == "requires_action"
    assert pending.required_action is not None
    call_id = pending.required_action.submit_tool_outputs.tool_calls[0].id
    with c.beta.threads.runs.submit_tool_outputs_stream(
        run_id=pending.id,
        thread_id=thread,
        tool_outputs=[{"tool_call_id": call_id, "output": "ok"}],
    ) as stream:
        stream.until_done()
    assert stream.current_run is not None and stream.current_run.status == "completed"

    # cancel a run that has not finished yet
    control.set_run_processing("reads", reads=50)
    slow = c.beta.threads.runs.create(thread_id=thread, assistant_id=ctx["plain"])
    cancelled = c.beta.threads.runs.cancel(slow.id, thread_id=thread)
    assert cancelled.status in ("cancelling", "cancelled")
    control.set_run_processing("immediate")
    assert len(c.beta.threads.runs.list(thread, limit=100).data) == 6

    both = c.beta.threads.create_and_run_poll(
        assistant_id=ctx["plain"], thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert both.status == "completed"


def responses(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    tool: Any = {"type": "function", **FUNCTION}
    calling = c.responses.create(model="gpt-4.1-mini", input="lookup_order 42", tools=[tool])
    call = calling.output[0]
    assert call.type == "function_call"
    answered = c.responses.create(
        model="gpt-4.1-mini",
        previous_response_id=calling.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "shipped"}],
        tools=[tool],
    )
    assert answered.output_text == "lookup_order returned: shipped"
    search: Any = {"type": "file_search", "vector_store_ids": [ctx["store"]]}
    with c.responses.stream(
        model="gpt-4.1-mini",
        input="When can items be returned?",
        tools=[search],
        include=["file_search_call.results"],
    ) as stream:
        final = stream.get_final_response()
    assert final.output[1].type == "message"
    assert c.responses.retrieve(final.id).id == final.id
    c.responses.delete(final.id)


def cleanup(c: openai.OpenAI, control: BackendControl, ctx: dict[str, Any]) -> None:
    assert c.vector_stores.delete(ctx["store"]).deleted
    assert c.files.delete(ctx["file"]).deleted
    assert c.beta.assistants.delete(ctx["assistant"]).deleted


SCENARIO: list[Step] = [
    files,
    vector_stores,
    vector_store_files,
    file_batches,
    assistants,
    threads_and_messages,
    runs,
    responses,
    cleanup,
]


# ------------------------------------------------------------------------- tests


ClientFactory = Callable[..., openai.OpenAI]


@pytest.fixture(params=["validator", "validator+sdk-strict"])
def scenario_client(request: pytest.FixtureRequest, client_factory: ClientFactory) -> openai.OpenAI:
    """Contract-checked; the second run also parses every response strictly in the SDK."""
    return client_factory(_strict_response_validation=request.param.endswith("sdk-strict"))


def test_scenario_touches_every_implemented_operation_without_violations(
    scenario_client: openai.OpenAI, control: BackendControl, contract: ContractRecorder
) -> None:
    ctx: dict[str, Any] = {}
    for step in SCENARIO:
        step(scenario_client, control, ctx)
    contract.assert_clean()
    missing = implemented_operations() - contract.seen
    assert not missing, f"the contract scenario does not exercise: {sorted(missing)}"
    assert contract.events > 0, "no stream event was validated"


def test_the_shared_client_fixture_validates(
    client: openai.OpenAI, contract: ContractRecorder
) -> None:
    client.beta.assistants.list()
    assert contract.exchanges == 1
    assert contract.seen == {"listAssistants"}


NotFound, BadRequest = openai.NotFoundError, openai.BadRequestError
ERRORS: list[tuple[str, Callable[[openai.OpenAI], Any], type[openai.APIStatusError]]] = [
    ("unknown assistant", lambda c: c.beta.assistants.retrieve("asst_missing"), NotFound),
    ("unknown file", lambda c: c.files.retrieve("file-missing"), NotFound),
    ("unknown vector store", lambda c: c.vector_stores.retrieve("vs_missing"), NotFound),
    ("unknown thread", lambda c: c.beta.threads.retrieve("thread_missing"), NotFound),
    ("unknown route", lambda c: c.get("/no/such/route", cast_to=object), NotFound),
    ("limit above 100", lambda c: c.beta.assistants.list(limit=101), BadRequest),
    ("order not asc/desc", lambda c: c.vector_stores.list(order="up"), BadRequest),  # type: ignore[arg-type]
    (
        "17 metadata keys",
        lambda c: c.beta.assistants.create(model="m", metadata={f"k{i}": "v" for i in range(17)}),
        BadRequest,
    ),
    (
        "unknown body field",
        lambda c: c.vector_stores.create(name="x", extra_body={"bogus": 1}),
        BadRequest,
    ),
    (
        "download of an assistants file",
        lambda c: c.files.content(c.files.create(file=("a.md", b"a"), purpose="assistants").id),
        BadRequest,
    ),
]


@pytest.mark.parametrize(("case", "call", "error"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_bodies_conform_to_error_response(
    client: openai.OpenAI,
    contract: ContractRecorder,
    case: str,
    call: Callable[[openai.OpenAI], Any],
    error: type[openai.APIStatusError],
) -> None:
    with pytest.raises(error) as raised:
        call(client)
    body = raised.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    assert isinstance(body["message"], str) and body["message"]
    assert body["type"] == "invalid_request_error"
    contract.assert_clean()  # the raw envelope was checked against ErrorResponse


def test_sdk_strict_mode_rejects_a_nameless_vector_store(
    client: openai.OpenAI, client_factory: ClientFactory
) -> None:
    """The known disagreement (KNOWN_DEVIATIONS.md): the SDK types ``name`` as ``str``."""
    assert client.vector_stores.create().name is None  # valid for the patched spec
    strict = client_factory(_strict_response_validation=True, max_retries=0)
    with pytest.raises(openai.APIResponseValidationError):
        strict.vector_stores.create()
