"""``/v1/vector_stores/{id}/file_batches``: create, retrieve, cancel, list files.

Create takes ``file_ids`` (1..2000; top-level ``attributes``/``chunking_strategy`` apply
to each) **or** ``files`` (1..2000 objects with their own; top-level values are their
defaults), never both. Every file is checked (404) before any is attached. A batch's
``file_counts`` and ``status`` are derived from its files: ``cancelled`` once cancelled
(in-progress files become ``cancelled``), else ``in_progress`` while any file is, else
``failed`` when every file failed, else ``completed``. ``object`` is
``vector_store.file_batch`` (what the service sends; the spec's enum says ``files_batch``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from assistops.backend import files, vector_store_files, vector_stores
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, invalid, not_found, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import (
    ChunkingStrategy,
    Doc,
    check_attributes,
    check_id,
    public,
    resolve_chunking,
)
from assistops.limits import FILE_BATCH_MAX

KIND = vector_stores.BATCH_KIND
PREFIX = "vsfb_"


class CreateFileBatch(Body):
    """``POST /vector_stores/{id}/file_batches``."""

    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=FILE_BATCH_MAX)
    files: list[vector_store_files.CreateVectorStoreFile] | None = Field(
        default=None, min_length=1, max_length=FILE_BATCH_MAX
    )
    attributes: Any = None
    chunking_strategy: ChunkingStrategy | None = None


def get_batch(backend: Backend, vs_id: str, batch_id: str) -> Doc:
    """The stored batch of this store, or a 404."""
    check_id(batch_id, PREFIX, "batch_id")
    doc = backend.store.get(KIND, batch_id, parent=vs_id)
    if doc is None:
        raise not_found(f"No file batch found with id '{batch_id}'.", "batch_id")
    return doc


def _members(backend: Backend, doc: Doc) -> list[Doc]:
    wanted = set(doc["_file_ids"])
    attached = backend.store.all(vector_store_files.KIND, parent=doc["vector_store_id"])
    return [f for f in attached if f["id"] in wanted]


def view(backend: Backend, doc: Doc) -> Doc:
    """The wire object with counts and status derived from the batch's files."""
    out = public(doc)
    counts = vector_store_files.count(_members(backend, doc))
    out["file_counts"] = counts
    if doc["_cancelled"]:
        out["status"] = "cancelled"
    elif counts["in_progress"]:
        out["status"] = "in_progress"
    elif counts["total"] and counts["failed"] == counts["total"]:
        out["status"] = "failed"
    else:
        out["status"] = "completed"
    return out


def _plan(body: CreateFileBatch) -> list[tuple[str, dict[str, Any] | None, Doc, str]]:
    """``(file_id, attributes, chunking, param)`` for each file of the request."""
    if body.file_ids is not None and body.files is not None:
        raise invalid(
            "files",
            "Invalid request: 'file_ids' and 'files' are mutually exclusive; send only one.",
            "invalid_value",
        )
    if body.file_ids is None and body.files is None:
        raise invalid(
            "file_ids",
            "Missing required parameter: 'file_ids' (or 'files').",
            "missing_required_parameter",
        )
    attributes = check_attributes(body.attributes)
    chunking = resolve_chunking(body.chunking_strategy, "chunking_strategy")
    if body.file_ids is not None:
        return [(f, attributes, chunking, f"file_ids[{i}]") for i, f in enumerate(body.file_ids)]
    plan = []
    for i, item in enumerate(body.files or []):
        own = check_attributes(item.attributes, f"files[{i}].attributes")
        own_chunking = (
            resolve_chunking(item.chunking_strategy, f"files[{i}].chunking_strategy")
            if item.chunking_strategy is not None
            else chunking
        )
        given = "attributes" in item.model_fields_set
        plan.append(
            (item.file_id, own if given else attributes, own_chunking, f"files[{i}].file_id")
        )
    return plan


def create_batch(backend: Backend, vs_id: str, body: CreateFileBatch) -> Doc:
    """Check every file, then attach them all and record the batch."""
    plan = _plan(body)
    with backend.store.transaction():
        vector_stores.get_store(backend, vs_id)
        for file_id, _, _, param in plan:
            files.get_file(backend, file_id, param)
        doc: Doc = {
            "id": backend.new_id(PREFIX),
            "object": "vector_store.file_batch",
            "created_at": backend.now(),
            "vector_store_id": vs_id,
            "status": "in_progress",
            "file_counts": vector_store_files.empty_counts(),
            "_file_ids": list(dict.fromkeys(f for f, _, _, _ in plan)),
            "_cancelled": False,
        }
        vector_store_files.attach_all(backend, vs_id, plan)
        backend.store.insert(KIND, doc, parent=vs_id)
    return doc


# handlers -------------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    body = parse(CreateFileBatch, call.body)
    return view(backend, create_batch(backend, call.params["vector_store_id"], body))


def _retrieve(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    vector_stores.get_store(backend, vs_id)
    doc = get_batch(backend, vs_id, call.params["batch_id"])
    vector_store_files.tick(backend, vs_id)
    return view(backend, doc)


def _cancel(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    with backend.store.transaction():
        vector_stores.get_store(backend, vs_id)
        doc = get_batch(backend, vs_id, call.params["batch_id"])
        if view(backend, doc)["status"] == "in_progress":
            vector_store_files.cancel(backend, vs_id, doc["_file_ids"])
            doc["_cancelled"] = True
            backend.store.put(KIND, doc, parent=vs_id)
        return view(backend, doc)


def _list_files(backend: Backend, call: Call) -> Doc:
    vs_id = call.params["vector_store_id"]
    q = parse_list_query(call.query)
    wanted = vector_store_files.status_filter(call)
    vector_stores.get_store(backend, vs_id)
    doc = get_batch(backend, vs_id, call.params["batch_id"])
    vector_store_files.tick(backend, vs_id)
    where = None if wanted is None else {"status": wanted}
    return page_store(
        backend.store, vector_store_files.KIND, q, parent=vs_id, where=where, ids=doc["_file_ids"]
    )


_BATCH = "/vector_stores/{vector_store_id}/file_batches"
ROUTES = [
    Route("POST", _BATCH, _create),
    Route("GET", _BATCH + "/{batch_id}", _retrieve, poll=True),
    Route("POST", _BATCH + "/{batch_id}/cancel", _cancel),
    Route("GET", _BATCH + "/{batch_id}/files", _list_files, poll=True),
]
