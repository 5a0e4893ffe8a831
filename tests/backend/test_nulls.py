"""Every null the backend sends on files, vector stores and list pages is a recorded decision.

The official description types some fields as plain strings or integers that the service
sends as ``null``; ``tests/contract/KNOWN_DEVIATIONS.md`` lists each one with its evidence
("Nulls the description does not allow, sent on purpose"). This reads the raw JSON of
representative answers and fails on a null that table does not list, so a new one is
decided rather than slipping in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2

from assistops.backend import RunningBackend

DEVIATIONS = Path(__file__).resolve().parents[1] / "contract" / "KNOWN_DEVIATIONS.md"
HEADERS = {"Authorization": "Bearer test-key", "OpenAI-Beta": "assistants=v2"}


def _listed() -> set[str]:
    """``Object.field`` names in the first column of the nulls table."""
    text = DEVIATIONS.read_text(encoding="utf-8")
    section = text.split("## Nulls the description does not allow, sent on purpose", 1)[1]
    section = section.split("\n## ", 1)[0]
    out: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, flags=re.MULTILINE):
        names = re.findall(r"`([^`]+)`", row)
        obj = names[0].split(".", 1)[0]
        out.update(n if "." in n else f"{obj}.{n}" for n in names)
    return out


def _nulls(kind: str, raw: dict[str, Any]) -> set[str]:
    return {f"{kind}.{k}" for k, v in raw.items() if v is None}


def test_every_null_sent_on_files_stores_and_pages_is_a_recorded_decision(
    backend: RunningBackend,
) -> None:
    seen: set[str] = set()
    with httpx2.Client(base_url=backend.base_url, headers=HEADERS) as http:
        upload = http.post(
            "/files", files={"file": ("a.md", b"# A\n")}, data={"purpose": "assistants"}
        ).json()
        seen |= _nulls("OpenAIFile", upload)
        seen |= _nulls("OpenAIFile", http.get(f"/files/{upload['id']}").json())
        for body in ({}, {"name": "named"}, {"name": "kept", "file_ids": [upload["id"]]}):
            store = http.post("/vector_stores", json=body).json()
            seen |= _nulls("VectorStoreObject", store)
        for path in (
            "/files?purpose=batch",
            "/assistants",
            "/vector_stores?order=asc&after=" + store["id"],
        ):
            page = http.get(path).json()
            assert page["data"] == [], path
            seen |= _nulls("List*Response", page)
    assert seen, "no null at all: the representative answers changed, update this test"
    unrecorded = seen - _listed()
    assert not unrecorded, f"record these in {DEVIATIONS.name}: {sorted(unrecorded)}"
