"""Fixtures of ``assistops serve`` with a model: a scripted upstream and backends using it.

One scripted upstream (:mod:`.scripted_upstream`) and one backend per upstream API
(Chat Completions, Responses) serve for the whole session; each test gets them reset.
Tests that hold for both APIs take the ``api`` fixture and run once per API.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from contract.validator import ContractRecorder

from assistops.backend import (
    BackendControl,
    CodeSandbox,
    RunningBackend,
    SandboxUnavailable,
    UpstreamSettings,
    start_server,
)

from .scripted_upstream import ScriptedUpstream, running_upstream


def make_client(
    backend: RunningBackend, *, recorder: ContractRecorder | None = None, **kw: Any
) -> openai.OpenAI:
    """An SDK client of ``backend``, exchanges contract-checked when given a ``recorder``.

    (The root conftest's helper of the same name is not importable from a test package.)
    """
    kw.setdefault("api_key", "test-key")
    if recorder is not None:
        kw["http_client"] = openai.DefaultHttpx2Client(event_hooks=recorder.event_hooks())
    return openai.OpenAI(base_url=backend.base_url, **kw)


@functools.cache
def sandbox_refused() -> str | None:
    """Why this machine's kernel refuses the code_interpreter sandbox, or ``None``.

    Only a step the kernel refuses (a CI runner without user namespaces) lets the sandbox
    tests skip; a sandbox that is built but does not isolate fails them.
    """
    try:
        CodeSandbox().probe()
    except SandboxUnavailable as exc:
        if exc.refused_step is None:
            raise
        return str(exc)
    return None


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[ScriptedUpstream]:
    with running_upstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(_upstream_server: ScriptedUpstream) -> ScriptedUpstream:
    """The scripted model server, with no script and nothing recorded."""
    _upstream_server.release()
    _upstream_server.reset()
    return _upstream_server


def settings_for(upstream: ScriptedUpstream, api: str, **kw: object) -> UpstreamSettings:
    """Settings of a serve backend using ``upstream`` through ``api``."""
    return UpstreamSettings(base_url=upstream.url, api=api, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def _model_backends(_upstream_server: ScriptedUpstream) -> Iterator[dict[str, RunningBackend]]:
    servers = {
        api: start_server(":memory:", upstream=settings_for(_upstream_server, api))
        for api in ("chat", "responses")
    }
    try:
        yield servers
    finally:
        for running in servers.values():
            running.stop()


@pytest.fixture(params=["chat", "responses"])
def api(request: pytest.FixtureRequest) -> str:
    """Which upstream API the test's backend uses (each test runs with both)."""
    return str(request.param)


@pytest.fixture
def model_backend(
    _model_backends: dict[str, RunningBackend],
    upstream: ScriptedUpstream,
    request: pytest.FixtureRequest,
) -> RunningBackend:
    """A running backend whose runs the scripted upstream answers (``api``, else chat)."""
    api = request.getfixturevalue("api") if "api" in request.fixturenames else "chat"
    running = _model_backends[api]
    with BackendControl(running.control_url) as control:
        control.reset()
    return running


@pytest.fixture
def sdk(model_backend: RunningBackend) -> Iterator[openai.OpenAI]:
    """The official SDK against the model backend, every exchange contract-checked."""
    recorder = ContractRecorder()
    with make_client(model_backend, recorder=recorder) as client:
        yield client
    recorder.assert_clean()
