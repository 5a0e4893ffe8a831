"""Helpers shared by the provider tests (a plain module: a second conftest.py would shadow
``tests/conftest.py`` for ``from conftest import ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from assistops.backend import RunningBackend

# a key-shaped canary: any message or log line containing it is a leak
# split so that no committed line looks like a real key to secret scanners
CANARY = "-".join(("sk", "canary", "0123456789abcdefghij"))


def plain_client(backend: RunningBackend, **kw: Any) -> openai.OpenAI:
    """An SDK client for ``backend`` without the contract recorder (see the callers for why)."""
    kw.setdefault("api_key", "test-key")
    return openai.OpenAI(base_url=backend.base_url, **kw)


def without_none(value: Any) -> Any:
    """``value`` with every ``None`` field left out, at any depth: the SDK's models fill in
    ``None`` for what the server did not send, the assistant and agent lists do not."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def write_project(root: Path, environments: str) -> Path:
    """A minimal project at ``root``; ``environments`` is the YAML block under the key."""
    text = "project: demo\nenvironments:\n" + environments
    (root / "assistops.yaml").write_text(text, encoding="utf-8")
    return root
