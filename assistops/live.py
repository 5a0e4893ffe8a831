"""Read live state: every object this project+environment owns, found by its tags.

Discovery uses list calls only (100 per page; 10,000 for files), never one GET per resource:

    GET /assistants            all pages    -> managed assistants (metadata tag)
    GET /vector_stores         all pages    -> managed vector stores (metadata tag)
    GET /files?purpose=assistants           -> uploads whose filename is ours
    GET /vector_stores/{id}/files           -> per managed store, its files (attributes)

The first three run concurrently; the per-store lists start as soon as the stores are known,
while the other two may still be paging. Objects without our tags, or tagged for another
project or environment, are ignored here and so can never be changed.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from assistops.providers.base import Json, Reader
from assistops.spec import digest_of
from assistops.tags import OWNER_KEY, SHA_ATTRIBUTE, Owner, UploadName

# fields that change without anyone changing the object: never part of a fingerprint
_VOLATILE = {
    "vector_store": {"last_active_at", "usage_bytes", "file_counts", "status", "expires_at"},
    "vector_store_file": {"usage_bytes", "status", "last_error"},
    "file": {"status", "status_details"},
    "assistant": set(),
}


@dataclass
class LiveState:
    """What the provider holds for one project and environment."""

    project: str
    environment: str
    assistants: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    vector_stores: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    uploads: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    store_files: dict[str, list[Json]] = field(default_factory=dict)  # by store id
    # files attached to managed stores with our sha256 attribute but uploaded under another
    # name (adopted by import): they serve their content without being uploaded again
    adopted: dict[str, str] = field(default_factory=dict)  # sha256 -> file id
    fingerprints: dict[str, str] = field(default_factory=dict)

    def upload_ids(self) -> dict[str, str]:
        """Upload id -> sha16 of every upload we own."""
        return {f["id"]: sha for sha, files in self.uploads.items() for f in files}


def fingerprint(kind: str, raw: Json) -> str:
    """A digest of what matters in a live object (volatile counters left out)."""
    volatile = _VOLATILE.get(kind, set())
    return digest_of({k: v for k, v in raw.items() if k not in volatile})


def owner_of(raw: Json, project: str, environment: str) -> str | None:
    """The address a live assistant or vector store is tagged with, if it is ours."""
    metadata = raw.get("metadata") or {}
    owner = Owner.parse(metadata.get(OWNER_KEY))
    if owner and owner.project == project and owner.environment == environment:
        return owner.address
    return None


def read_live(reader: Reader, project: str, environment: str, *, workers: int = 4) -> LiveState:
    """Read every managed object with list calls only."""
    state = LiveState(project, environment)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        assistants_f = pool.submit(reader.list_assistants)
        stores_f = pool.submit(reader.list_vector_stores)
        files_f = pool.submit(reader.list_files)
        managed_stores: list[Json] = []
        for raw in stores_f.result():
            address = owner_of(raw, project, environment)
            if address and address.startswith("vector_store."):
                state.vector_stores[address].append(raw)
                managed_stores.append(raw)
                state.fingerprints[f"vector_store:{raw['id']}"] = fingerprint("vector_store", raw)
        # not waiting for the assistants' pages: one round trip less when they are many
        store_files_f = [
            pool.submit(reader.list_vector_store_files, s["id"]) for s in managed_stores
        ]
        for raw in assistants_f.result():
            address = owner_of(raw, project, environment)
            if address and address.startswith("assistant."):
                state.assistants[address].append(raw)
                state.fingerprints[f"assistant:{raw['id']}"] = fingerprint("assistant", raw)
        for raw in files_f.result():
            name = UploadName.parse(str(raw.get("filename", "")))
            if name and name.project == project and name.environment == environment:
                state.uploads[name.sha16].append(raw)
                state.fingerprints[f"file:{raw['id']}"] = fingerprint("file", raw)
        listed = [(s, f.result()) for s, f in zip(managed_stores, store_files_f, strict=True)]
    ours = {f["id"] for files in state.uploads.values() for f in files}
    for store, vs_files in listed:
        state.store_files[store["id"]] = vs_files
        for raw in vs_files:
            sha = (raw.get("attributes") or {}).get(SHA_ATTRIBUTE)
            if isinstance(sha, str) and raw["id"] not in ours:
                state.adopted.setdefault(sha, raw["id"])
            key = f"vector_store_file:{store['id']}/{raw['id']}"
            state.fingerprints[key] = fingerprint("vector_store_file", raw)
    return state


def sorted_by_age(objects: list[Json]) -> list[Json]:
    """Oldest first, ties by id: the order used to pick which duplicate to keep."""
    return sorted(objects, key=lambda o: (o.get("created_at") or 0, str(o.get("id"))))


def as_days(expires_after: Any) -> int | None:
    """``{"anchor": "last_active_at", "days": N}`` -> N."""
    if isinstance(expires_after, dict) and isinstance(expires_after.get("days"), int):
        return int(expires_after["days"])
    return None
