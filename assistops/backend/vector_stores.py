"""``/v1/vector_stores``: create, retrieve, modify, delete, list.

Rules: ``name`` may be ``null`` (and is, when not given); ``description`` is accepted on
create and never returned; ``expires_after`` (``last_active_at`` + 1..365 days) and
``expires_at`` are ``null`` when unset; ``file_ids`` (≤500) with ``chunking_strategy``
attach files at create (404 on an unknown file). Modify takes ``name``, ``expires_after``
(``null`` clears it) and ``metadata`` (replaces the whole map). ``file_counts`` and
``usage_bytes`` are recomputed whenever files change; ``status`` is ``expired`` once
``expires_at`` has passed, else ``in_progress`` while any file is, else ``completed``.
Deleting a store detaches its files (the files survive).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from assistops.backend import files, vector_store_files
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, not_found, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import (
    ChunkingStrategy,
    Doc,
    check_id,
    check_metadata,
    deleted,
    public,
    resolve_chunking,
)
from assistops.limits import (
    ASSISTANT_DESCRIPTION_MAX,
    VECTOR_STORE_CREATE_FILE_IDS_MAX,
    VECTOR_STORE_EXPIRY_DAYS_MAX,
    VECTOR_STORE_EXPIRY_DAYS_MIN,
)

KIND = "vector_store"
BATCH_KIND = "file_batch"  # file_batches.KIND (that module depends on this one)
PREFIX = "vs_"
_DAY = 86_400


class StoreExpiry(Body):
    """``expires_after`` of a vector store."""

    anchor: Literal["last_active_at"]
    days: int = Field(ge=VECTOR_STORE_EXPIRY_DAYS_MIN, le=VECTOR_STORE_EXPIRY_DAYS_MAX)


class CreateVectorStore(Body):
    """``POST /vector_stores``."""

    name: str | None = None
    description: str | None = Field(default=None, max_length=ASSISTANT_DESCRIPTION_MAX)
    expires_after: StoreExpiry | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=VECTOR_STORE_CREATE_FILE_IDS_MAX)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Any = None


class ModifyVectorStore(Body):
    """``POST /vector_stores/{id}``."""

    name: str | None = None
    expires_after: StoreExpiry | None = None
    metadata: Any = None


def get_store(backend: Backend, vs_id: str, param: str | None = None) -> Doc:
    """The stored vector store or a 404."""
    check_id(vs_id, PREFIX, param or "vector_store_id")
    doc = backend.store.get(KIND, vs_id)
    if doc is None:
        raise not_found(f"No vector store found with id '{vs_id}'.", param)
    return doc


def view(backend: Backend, doc: Doc) -> Doc:
    """The wire object, with ``status`` as of now."""
    out = public(doc)
    expires_at = doc.get("expires_at")
    if expires_at is not None and backend.now() >= expires_at:
        out["status"] = "expired"
    elif doc["file_counts"]["in_progress"]:
        out["status"] = "in_progress"
    else:
        out["status"] = "completed"
    return out


def create_store(backend: Backend, body: CreateVectorStore, prefix: str = "") -> Doc:
    """Create a store and attach ``body.file_ids`` (all checked before anything is written)."""
    metadata = check_metadata(body.metadata, f"{prefix}metadata")
    chunking = resolve_chunking(body.chunking_strategy, f"{prefix}chunking_strategy")
    now = backend.now()
    doc: Doc = {
        "id": backend.new_id(PREFIX),
        "object": "vector_store",
        "created_at": now,
        "name": body.name,
        "usage_bytes": 0,
        "file_counts": vector_store_files.empty_counts(),
        "status": "completed",
        "last_active_at": now,
        "metadata": metadata or {},
        "expires_after": None,
        "expires_at": None,
        "_description": body.description,
    }
    _set_expiry(doc, body.expires_after)
    with backend.store.transaction():
        for i, file_id in enumerate(body.file_ids):
            files.get_file(backend, file_id, f"{prefix}file_ids[{i}]")
        backend.store.insert(KIND, doc)
        entries = [(file_id, None, chunking, "file_id") for file_id in body.file_ids]
        vector_store_files.attach_all(backend, doc["id"], entries)
        return get_store(backend, doc["id"])


def _set_expiry(doc: Doc, expiry: StoreExpiry | None) -> None:
    if expiry is None:
        doc["expires_after"] = None
        doc["expires_at"] = None
    else:
        doc["expires_after"] = expiry.model_dump()
        doc["expires_at"] = doc["last_active_at"] + expiry.days * _DAY


def touch(backend: Backend, vs_id: str) -> None:
    """Mark the store active now (moves ``expires_at`` along with ``last_active_at``)."""
    with backend.store.transaction():
        doc = backend.store.get(KIND, vs_id)
        if doc is None:
            return
        doc["last_active_at"] = backend.now()
        if doc["expires_after"] is not None:
            doc["expires_at"] = doc["last_active_at"] + doc["expires_after"]["days"] * _DAY
        backend.store.put(KIND, doc)


def refresh(backend: Backend, vs_id: str) -> None:
    """Recompute ``file_counts`` and ``usage_bytes`` from the attached files."""
    with backend.store.transaction():
        doc = backend.store.get(KIND, vs_id)
        if doc is None:
            return
        attached = backend.store.all(vector_store_files.KIND, parent=vs_id)
        doc["file_counts"] = vector_store_files.count(attached)
        doc["usage_bytes"] = sum(f["usage_bytes"] for f in attached)
        backend.store.put(KIND, doc)


def delete_store(backend: Backend, vs_id: str) -> None:
    """Remove a store, its file attachments and batches; the files themselves stay."""
    with backend.store.transaction():
        get_store(backend, vs_id)
        backend.store.delete_children(vector_store_files.KIND, vs_id)
        backend.store.delete_children(BATCH_KIND, vs_id)
        backend.store.delete(KIND, vs_id)


# handlers -------------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    body = parse(CreateVectorStore, call.body)
    return view(backend, create_store(backend, body))


def _retrieve(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    get_store(backend, vs_id)
    vector_store_files.tick(backend, vs_id)
    return view(backend, get_store(backend, vs_id))


def _modify(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    body = parse(ModifyVectorStore, call.body)
    given = body.model_fields_set
    metadata = check_metadata(body.metadata) if "metadata" in given else None
    with backend.store.transaction():
        doc = get_store(backend, vs_id)
        if "name" in given:
            doc["name"] = body.name
        if "metadata" in given:
            doc["metadata"] = metadata or {}
        if "expires_after" in given:
            _set_expiry(doc, body.expires_after)
        backend.store.put(KIND, doc)
    return view(backend, doc)


def _delete(backend: Backend, call: Call) -> Doc:
    delete_store(backend, call.params["vector_store_id"])
    return deleted(call.params["vector_store_id"], "vector_store.deleted")


def _list(backend: Backend, call: Call) -> Doc:
    q = parse_list_query(call.query)
    return page_store(backend.store, KIND, q, view=lambda d: view(backend, d))


ROUTES = [
    Route("POST", "/vector_stores", _create),
    Route("GET", "/vector_stores", _list),
    Route("GET", "/vector_stores/{vector_store_id}", _retrieve, poll=True),
    Route("POST", "/vector_stores/{vector_store_id}", _modify),
    Route("DELETE", "/vector_stores/{vector_store_id}", _delete),
]
