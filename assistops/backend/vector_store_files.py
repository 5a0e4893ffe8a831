"""``/v1/vector_stores/{id}/files``: attach, retrieve, update attributes, detach, list.

A vector-store file is keyed by ``(store, file)`` and its ``id`` is the file's id, so
one file can sit in several stores. Attaching an unknown file is a 404; attaching an
attached file returns the existing object. ``chunking_strategy`` ``auto`` (or none)
resolves to static 800/400. Processing follows ``backend.processing``: ``immediate``
(done at attach) or ``reads`` (``in_progress`` for N reads of the store, then done:
see :func:`tick`); files matching ``fail_pattern`` end ``failed`` with ``last_error``.
``usage_bytes`` is the file's size once completed, 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assistops.backend import files, vector_stores
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, invalid, not_found, parse, supported
from assistops.backend.routing import Call, Route
from assistops.backend.rules import (
    ChunkingStrategy,
    Doc,
    check_attributes,
    check_id,
    deleted,
    public,
    resolve_chunking,
)

KIND = "vector_store_file"
STATUSES = ("in_progress", "completed", "failed", "cancelled")


class CreateVectorStoreFile(Body):
    """``POST /vector_stores/{id}/files`` (also one item of a batch's ``files``)."""

    file_id: str
    attributes: Any = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateAttributes(Body):
    """``POST /vector_stores/{id}/files/{file_id}``."""

    attributes: Any


def empty_counts() -> dict[str, int]:
    """``file_counts`` with nothing in it."""
    return {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}


def count(docs: Iterable[Doc]) -> dict[str, int]:
    """``file_counts`` of these vector-store files."""
    counts = empty_counts()
    for doc in docs:
        counts[doc["status"]] += 1
        counts["total"] += 1
    return counts


def get_attached(backend: Backend, vs_id: str, file_id: str) -> Doc:
    """The vector-store file or a 404 (the file must be in *this* store)."""
    check_id(file_id, files.PREFIX, "file_id")
    doc = backend.store.get(KIND, file_id, parent=vs_id)
    if doc is None:
        raise not_found(f"No file found with id '{file_id}' in vector store '{vs_id}'.", "file_id")
    return doc


def attach(
    backend: Backend,
    vs_id: str,
    file_id: str,
    attributes: dict[str, Any] | None,
    chunking: Doc,
    param: str = "file_id",
) -> Doc:
    """Attach a file (or return the existing attachment) and start its processing."""
    with backend.store.transaction():
        doc, new = _attach(backend, vs_id, file_id, attributes, chunking, param)
        if new:
            _settle(backend, vs_id)
        return doc


def attach_all(
    backend: Backend,
    vs_id: str,
    entries: Iterable[tuple[str, dict[str, Any] | None, Doc, str]],
) -> None:
    """Attach ``(file_id, attributes, chunking, param)`` entries, as :func:`attach` each, and
    count the store's files once at the end: counting after each would read every attached
    file once per file (a batch of 100 decoded 5,050 rows)."""
    with backend.store.transaction():
        new = [_attach(backend, vs_id, *entry)[1] for entry in entries]
        if any(new):
            _settle(backend, vs_id)


def _attach(
    backend: Backend,
    vs_id: str,
    file_id: str,
    attributes: dict[str, Any] | None,
    chunking: Doc,
    param: str,
) -> tuple[Doc, bool]:
    """The attachment, and whether it is new (the store is then touched and counted)."""
    file = files.get_file(backend, file_id, param)
    existing = backend.store.get(KIND, file_id, parent=vs_id)
    if existing is not None:
        return existing, False
    doc: Doc = {
        "id": file_id,
        "object": "vector_store.file",
        "usage_bytes": 0,
        "created_at": backend.now(),
        "vector_store_id": vs_id,
        "status": "in_progress",
        "last_error": None,
        "chunking_strategy": chunking,
        "attributes": attributes or {},
        "_filename": file["filename"],
        "_bytes": file["bytes"],
        "_reads_left": backend.processing.reads,
    }
    if backend.processing.mode == "immediate":
        _finish(backend, doc)
    backend.store.insert(KIND, doc, parent=vs_id)
    return doc, True


def _settle(backend: Backend, vs_id: str) -> None:
    vector_stores.touch(backend, vs_id)
    vector_stores.refresh(backend, vs_id)


def _finish(backend: Backend, doc: Doc) -> None:
    settings = backend.processing
    if settings.fails(doc["_filename"]):
        doc["status"] = "failed"
        doc["last_error"] = {"code": settings.fail_code, "message": settings.fail_message}
        doc["usage_bytes"] = 0
    else:
        doc["status"] = "completed"
        doc["usage_bytes"] = doc["_bytes"]


def tick(backend: Backend, vs_id: str) -> None:
    """One read of the store: in-progress files count down and finish after N reads."""
    with backend.store.transaction():
        changed = False
        for doc in backend.store.all(KIND, parent=vs_id, where={"status": "in_progress"}):
            if doc["_reads_left"] <= 0:
                _finish(backend, doc)
            else:
                doc["_reads_left"] -= 1
            backend.store.put(KIND, doc, parent=vs_id)
            changed = True
        if changed:
            vector_stores.refresh(backend, vs_id)


def cancel(backend: Backend, vs_id: str, file_ids: Iterable[str]) -> None:
    """Move these files from ``in_progress`` to ``cancelled``."""
    with backend.store.transaction():
        for file_id in file_ids:
            doc = backend.store.get(KIND, file_id, parent=vs_id)
            if doc is not None and doc["status"] == "in_progress":
                doc["status"] = "cancelled"
                backend.store.put(KIND, doc, parent=vs_id)
        vector_stores.refresh(backend, vs_id)


def detach(backend: Backend, vs_id: str, file_id: str) -> None:
    """Remove the file from one store (the file itself stays)."""
    with backend.store.transaction():
        get_attached(backend, vs_id, file_id)
        backend.store.delete(KIND, file_id, parent=vs_id)
        vector_stores.refresh(backend, vs_id)


def detach_everywhere(backend: Backend, file_id: str) -> None:
    """Remove a (deleted) file from every store and recount those stores."""
    with backend.store.transaction():
        for vs_id, _ in backend.store.find(KIND, file_id):
            backend.store.delete(KIND, file_id, parent=vs_id)
            vector_stores.refresh(backend, vs_id)


def status_filter(call: Call) -> str | None:
    """The ``filter`` query parameter, checked."""
    value = call.query.get("filter")
    if value is not None and value not in STATUSES:
        allowed = supported(STATUSES)
        raise invalid(
            "filter",
            f"Invalid value: '{value}'. Supported values are: {allowed}.",
            "invalid_value",
        )
    return value


# handlers -------------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    body = parse(CreateVectorStoreFile, call.body)
    attributes = check_attributes(body.attributes)
    chunking = resolve_chunking(body.chunking_strategy, "chunking_strategy")
    with backend.store.transaction():
        vector_stores.get_store(backend, vs_id)
        return public(attach(backend, vs_id, body.file_id, attributes, chunking))


def _retrieve(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    vector_stores.get_store(backend, vs_id)
    tick(backend, vs_id)
    return public(get_attached(backend, vs_id, call.params["file_id"]))


def _update(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    body = parse(UpdateAttributes, call.body)
    attributes = check_attributes(body.attributes)
    with backend.store.transaction():
        vector_stores.get_store(backend, vs_id)
        doc = get_attached(backend, vs_id, call.params["file_id"])
        doc["attributes"] = attributes or {}
        backend.store.put(KIND, doc, parent=vs_id)
    return public(doc)


def _delete(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    vector_stores.get_store(backend, vs_id)
    detach(backend, vs_id, call.params["file_id"])
    return deleted(call.params["file_id"], "vector_store.file.deleted")


def _list(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    q = parse_list_query(call.query)
    wanted = status_filter(call)
    vector_stores.get_store(backend, vs_id)
    tick(backend, vs_id)
    where = None if wanted is None else {"status": wanted}
    return page_store(backend.store, KIND, q, parent=vs_id, where=where)


def _content(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    vector_stores.get_store(backend, vs_id)
    doc = get_attached(backend, vs_id, call.params["file_id"])
    text = files.content(backend, doc["id"]).decode("utf-8", errors="replace")
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": text}] if text else [],
        "has_more": False,
        "next_page": None,
    }


ROUTES = [
    Route("POST", "/vector_stores/{vector_store_id}/files", _create),
    Route("GET", "/vector_stores/{vector_store_id}/files", _list, poll=True),
    Route("GET", "/vector_stores/{vector_store_id}/files/{file_id}", _retrieve, poll=True),
    Route("POST", "/vector_stores/{vector_store_id}/files/{file_id}", _update),
    Route("DELETE", "/vector_stores/{vector_store_id}/files/{file_id}", _delete),
    Route("GET", "/vector_stores/{vector_store_id}/files/{file_id}/content", _content),
]
