"""The app's transport behaviour: unknown routes, request ids, counts, auth, bodies."""

from __future__ import annotations

import httpx2
import openai
import pytest

from assistops.backend import BackendControl, RunningBackend


def test_unknown_route_is_404_invalid_url_with_request_id(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.get("/nothing/here", cast_to=object)
    err = info.value
    assert err.status_code == 404
    assert err.body == {
        "message": "Invalid URL (GET /v1/nothing/here)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert err.request_id is not None and err.request_id.startswith("req_")


def test_every_response_carries_a_request_id(backend: RunningBackend) -> None:
    with httpx2.Client() as http:
        ok = http.get(f"{backend.control_url}/health")
        missing = http.get(f"{backend.base_url}/x")
    assert ok.headers["x-request-id"].startswith("req_")
    assert missing.headers["x-request-id"].startswith("req_")
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]


def test_control_plane_counts_v1_calls_but_not_itself(
    client: openai.OpenAI, control: BackendControl
) -> None:
    for _ in range(3):
        with pytest.raises(openai.NotFoundError):
            client.get("/x", cast_to=object)
    control.faults()
    counts = control.requests()
    assert counts == {"GET /v1/x": 3, "total": 3}
    control.clear_requests()
    assert control.requests() == {"total": 0}


def test_invalid_json_body_is_a_400(backend: RunningBackend) -> None:
    with httpx2.Client() as http:
        response = http.post(
            f"{backend.control_url}/seed",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
