"""Fault injection as the SDK sees it: retries, connection errors, duplicated creates."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from assistops.backend import BackendControl

Factory = Callable[..., openai.OpenAI]

CREATE = "POST /v1/assistants"
LIST = "GET /v1/assistants"


def test_rate_limit_is_retried_after_retry_after(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("rate_limit", CREATE, retry_after=0.01)
    created = client.beta.assistants.create(model="m")
    assert created.id.startswith("asst_")
    assert control.requests()[CREATE] == 2
    assert [f["fired"] for f in control.faults()] == [1]
    assert len(client.beta.assistants.list().data) == 1


def test_rate_limit_body_and_headers(client_factory: Factory, control: BackendControl) -> None:
    control.add_fault("rate_limit", LIST, retry_after=3)
    sdk = client_factory(max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        sdk.beta.assistants.list()
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.request_id is not None


def test_server_error_is_retried(client: openai.OpenAI, control: BackendControl) -> None:
    control.add_fault("error", LIST, times=2, retry_after=0.01)
    assert client.beta.assistants.list().data == []
    assert control.requests()[LIST] == 3


def test_server_error_with_should_retry_false_reaches_the_caller(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("error", LIST, should_retry=False, status=503)
    with pytest.raises(openai.InternalServerError) as info:
        client.beta.assistants.list()
    assert info.value.status_code == 503
    assert info.value.body["type"] == "server_error"  # type: ignore[index]
    assert control.requests()[LIST] == 1


def test_faults_hit_calls_by_number(client: openai.OpenAI, control: BackendControl) -> None:
    control.add_fault("error", LIST, first=2, times=2, should_retry=False)
    outcomes = []
    for _ in range(4):
        try:
            client.beta.assistants.list()
            outcomes.append("ok")
        except openai.InternalServerError:
            outcomes.append("500")
    assert outcomes == ["ok", "500", "500", "ok"]
    (fault,) = control.faults()
    assert (fault["seen"], fault["fired"]) == (4, 2)


def test_every_call_with_times_none(client: openai.OpenAI, control: BackendControl) -> None:
    control.add_fault("error", "*", times=None, should_retry=False)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            client.vector_stores.list()
    control.clear_faults()
    assert client.vector_stores.list().data == []


def test_drop_is_a_connection_error(client_factory: Factory, control: BackendControl) -> None:
    control.add_fault("drop", LIST)
    sdk = client_factory(max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        sdk.beta.assistants.list()
    assert sdk.beta.assistants.list().data == []


def test_drop_is_retried_by_the_sdk(client: openai.OpenAI, control: BackendControl) -> None:
    control.add_fault("drop", LIST)
    assert client.beta.assistants.list().data == []
    assert control.requests()[LIST] == 2


def test_commit_then_error_duplicates_the_create(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("commit_then_error", CREATE, retry_after=0.01)
    client.beta.assistants.create(model="m", name="only-once")
    names = [a.name for a in client.beta.assistants.list()]
    assert names == ["only-once", "only-once"]


def test_commit_then_drop_loses_the_answer_but_keeps_the_change(
    client_factory: Factory, control: BackendControl
) -> None:
    control.add_fault("commit_then_drop", "POST /v1/vector_stores")
    sdk = client_factory(max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        sdk.vector_stores.create(name="ghost")
    assert [s.name for s in sdk.vector_stores.list()] == ["ghost"]


def test_latency_longer_than_the_client_timeout_is_a_timeout(
    client_factory: Factory, control: BackendControl
) -> None:
    control.add_fault("latency", LIST, latency_ms=1000)
    sdk = client_factory(max_retries=0, timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        sdk.beta.assistants.list()


def test_control_plane_is_never_faulted_nor_counted(
    client: openai.OpenAI, control: BackendControl
) -> None:
    control.add_fault("error", "*", times=None, should_retry=False)
    assert control.requests() == {"total": 0}
    control.reset()
    assert control.faults() == []
