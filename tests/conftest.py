"""Shared fixtures: one local backend per test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from assistops.backend import BackendControl, RunningBackend, start_server


def make_client(backend: RunningBackend, **kw: Any) -> openai.OpenAI:
    """An SDK client pointed at ``backend`` (``kw`` goes to ``openai.OpenAI``)."""
    kw.setdefault("api_key", "test-key")
    kw.setdefault("max_retries", 2)
    return openai.OpenAI(base_url=backend.base_url, **kw)


@pytest.fixture(scope="session")
def _backend_server() -> Iterator[RunningBackend]:
    with start_server(":memory:") as running:
        yield running


@pytest.fixture(scope="session")
def _control_session(_backend_server: RunningBackend) -> Iterator[BackendControl]:
    with BackendControl(_backend_server.control_url) as control:
        yield control


@pytest.fixture
def backend(_backend_server: RunningBackend, _control_session: BackendControl) -> RunningBackend:
    """The session's backend (in memory), emptied and with default settings."""
    _control_session.reset()
    return _backend_server


@pytest.fixture
def control(backend: RunningBackend, _control_session: BackendControl) -> BackendControl:
    """The control plane of ``backend``: counts, faults, processing, seed."""
    return _control_session


@pytest.fixture
def client(backend: RunningBackend) -> Iterator[openai.OpenAI]:
    """The real ``openai`` SDK talking to ``backend`` over loopback HTTP."""
    with make_client(backend) as sdk:
        yield sdk
