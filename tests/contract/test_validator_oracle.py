"""The validator is a real oracle: a server that breaks the contract is caught, on every path.

A tiny deliberately wrong server (Starlette on loopback) answers the real SDK; each test
asserts the violation names the operation and the JSON path, and that a correct answer
from the same server passes, so the validator can neither stay silent nor cry wolf.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from contract.loopback import serve
from contract.validator import ContractRecorder, ContractViolation, Violation
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ASSISTANT: dict[str, Any] = {
    "id": "asst_ok",
    "object": "assistant",
    "created_at": 1_700_000_000,
    "name": None,
    "description": None,
    "model": "gpt-4o",
    "instructions": None,
    "tools": [],
    "tool_resources": {},
    "metadata": {},
    "temperature": 1.0,
    "top_p": 1.0,
    "response_format": "auto",
}
RUN: dict[str, Any] = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1_700_000_000,
    "thread_id": "thread_1",
    "assistant_id": "asst_ok",
    "status": "queued",
    "required_action": None,
    "last_error": None,
    "expires_at": None,
    "started_at": None,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": None,
    "model": "gpt-4o",
    "instructions": "",
    "tools": [],
    "metadata": {},
    "usage": None,
    "incomplete_details": None,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": "auto",
}


def _sse(*events: tuple[str, str]) -> bytes:
    return b"".join(f"event: {e}\ndata: {d}\n\n".encode() for e, d in events)


async def _create_assistant(request: Request) -> Response:
    body = await request.json()
    if body.get("name") == "good":
        return JSONResponse({**ASSISTANT, "name": "good"})
    wrong = {k: v for k, v in ASSISTANT.items() if k != "tools"}
    wrong["created_at"] = "yesterday"
    return JSONResponse(wrong)


async def _get_assistant(request: Request) -> Response:
    if request.path_params["assistant_id"] == "asst_ok":
        return JSONResponse(ASSISTANT)
    if request.path_params["assistant_id"] == "asst_gone":
        msg = {"message": "No assistant found.", "type": "invalid_request_error"}
        return JSONResponse({"error": {**msg, "param": None, "code": None}}, status_code=404)
    return JSONResponse({"detail": "Not Found"}, status_code=404)  # a framework's shape


async def _list_assistants(request: Request) -> Response:
    page = {"object": "list", "data": [ASSISTANT], "has_more": False}
    return JSONResponse({**page, "first_id": "asst_ok", "last_id": "asst_ok"})


async def _create_run(request: Request) -> Response:
    thread = request.path_params["thread_id"]
    if thread == "thread_good":
        events = _sse(("thread.run.created", json.dumps(RUN)), ("done", "[DONE]"))
    elif thread == "thread_unfinished":
        events = _sse(("thread.run.created", json.dumps(RUN)))
    else:
        broken = {k: v for k, v in RUN.items() if k != "status"}
        events = _sse(("thread.run.created", json.dumps(broken)), ("done", "[DONE]"))
    return StreamingResponse(iter([events]), media_type="text/event-stream")


WRONG_SERVER = Starlette(
    routes=[
        Route("/v1/assistants", _create_assistant, methods=["POST"]),
        Route("/v1/assistants", _list_assistants, methods=["GET"]),
        Route("/v1/assistants/{assistant_id}", _get_assistant, methods=["GET"]),
        Route("/v1/threads/{thread_id}/runs", _create_run, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def wrong_url() -> Iterator[str]:
    with serve(WRONG_SERVER) as url:
        yield url + "/v1"


@pytest.fixture
def recorder() -> ContractRecorder:
    return ContractRecorder()


@pytest.fixture
def sdk(wrong_url: str, recorder: ContractRecorder) -> Iterator[openai.OpenAI]:
    http = openai.DefaultHttpx2Client(event_hooks=recorder.event_hooks())
    with openai.OpenAI(base_url=wrong_url, api_key="k", max_retries=0, http_client=http) as c:
        yield c


def _only(recorder: ContractRecorder) -> list[Violation]:
    found, recorder.violations = recorder.violations, []
    return found


def test_a_wrong_response_body_fails_the_call(
    sdk: openai.OpenAI, recorder: ContractRecorder
) -> None:
    with pytest.raises(ContractViolation) as caught:
        sdk.beta.assistants.create(model="gpt-4o", name="bad")
    found = _only(recorder)
    assert found == caught.value.violations
    assert {(v.operation, v.part, v.path) for v in found} == {
        ("createAssistant (POST /assistants)", "response 200", "$"),
        ("createAssistant (POST /assistants)", "response 200", "$.created_at"),
    }
    assert any("'tools' is a required property" in v.message for v in found)
    assert "createAssistant (POST /assistants): response 200 at $.created_at" in str(caught.value)


def test_a_right_response_passes(sdk: openai.OpenAI, recorder: ContractRecorder) -> None:
    assert sdk.beta.assistants.create(model="gpt-4o", name="good").name == "good"
    assert sdk.beta.assistants.retrieve("asst_ok").id == "asst_ok"
    recorder.assert_clean()
    assert recorder.exchanges == 2
    assert recorder.seen == {"createAssistant", "getAssistant"}


def test_an_error_body_must_be_the_error_envelope(
    sdk: openai.OpenAI, recorder: ContractRecorder
) -> None:
    with pytest.raises(openai.NotFoundError):
        sdk.beta.assistants.retrieve("asst_gone")  # the envelope: fine
    recorder.assert_clean()
    with pytest.raises(ContractViolation) as caught:
        sdk.beta.assistants.retrieve("asst_other")
    (violation,) = _only(recorder)
    assert violation.operation == "getAssistant (GET /assistants/{assistant_id})"
    assert violation.part == "response 404"
    assert "'error' is a required property" in violation.message
    assert caught.value.violations == [violation]


def test_a_request_the_spec_forbids_must_not_be_accepted(
    sdk: openai.OpenAI, recorder: ContractRecorder
) -> None:
    with pytest.raises(ContractViolation) as caught:
        sdk.beta.assistants.list(order="sideways")  # type: ignore[arg-type]
    (violation,) = caught.value.violations
    assert violation.operation == "listAssistants (GET /assistants)"
    assert violation.part == "request (accepted by the backend)"
    assert violation.path == "query.order"
    _only(recorder)


def test_stream_events_are_checked_one_by_one(
    sdk: openai.OpenAI, recorder: ContractRecorder
) -> None:
    stream = sdk.beta.threads.runs.create("thread_good", assistant_id="a", stream=True)
    events = [event.event for event in stream]
    assert events == ["thread.run.created"]  # the SDK consumes the done event itself
    recorder.assert_clean()
    with pytest.raises(ContractViolation) as caught:
        list(sdk.beta.threads.runs.create("thread_bad", assistant_id="a", stream=True))
    (violation,) = caught.value.violations
    assert violation.operation == "createRun (POST /threads/{thread_id}/runs)"
    assert violation.part == "event thread.run.created"
    assert "'status' is a required property" in violation.message
    _only(recorder)


def test_a_stream_must_end_with_done(sdk: openai.OpenAI, recorder: ContractRecorder) -> None:
    with pytest.raises(ContractViolation) as caught:
        list(sdk.beta.threads.runs.create("thread_unfinished", assistant_id="a", stream=True))
    (violation,) = caught.value.violations
    assert violation.part == "stream"
    assert "done" in violation.message
    _only(recorder)


def test_teardown_catches_what_the_code_under_test_swallowed(
    sdk: openai.OpenAI, recorder: ContractRecorder
) -> None:
    # code under test that hides errors must not hide violations
    with contextlib.suppress(Exception):
        sdk.beta.assistants.create(model="gpt-4o", name="bad")
    with pytest.raises(ContractViolation):
        recorder.assert_clean()
    recorder.assert_clean()  # reported once, then cleared
