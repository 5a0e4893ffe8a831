"""``/v1/files``: multipart upload, retrieve, list, delete, content.

Rules: ``purpose`` is one of ``limits.FILE_PURPOSES``; ``bytes`` is the exact length and
``filename`` the multipart filename; ``status`` is ``"processed"`` at once;
``expires_after[anchor]=created_at`` / ``expires_after[seconds]`` (3600..2592000) set
``expires_at``, after which the file is gone (purged lazily, with its vector-store
attachments). Content of ``assistants`` and ``user_data`` files cannot be downloaded
(400), as on the service. Deleting a file detaches it from every vector store.

Size: an upload over ``backend.upload_bytes_max`` (512 MiB, ``limits.FILE_BYTES_MAX``) is
a 400 "File is too large." (a 4xx the SDK never retries). Content is written to the store
a chunk at a time as the body arrives (:mod:`.uploads`) and comes back as a stream, so
neither direction holds a file in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field
from starlette.responses import StreamingResponse

from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, file_too_large, invalid, not_found, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc, check_id, deleted, public
from assistops.limits import (
    FILE_EXPIRY_SECONDS_MAX,
    FILE_EXPIRY_SECONDS_MIN,
    FILES_LIST_LIMIT_DEFAULT,
    FILES_LIST_LIMIT_MAX,
)

KIND = "file"
PREFIX = "file-"
Purpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
_NOT_DOWNLOADABLE = ("assistants", "user_data")


class FileExpiry(Body):
    """``expires_after`` of an upload."""

    anchor: Literal["created_at"]
    seconds: int = Field(ge=FILE_EXPIRY_SECONDS_MIN, le=FILE_EXPIRY_SECONDS_MAX)


class CreateFile(Body):
    """The text fields of ``POST /files`` (the ``file`` part is checked separately)."""

    purpose: Purpose
    expires_after: FileExpiry | None = None


def get_file(backend: Backend, file_id: str, param: str = "id") -> Doc:
    """The stored file or a 404 (also used by vector stores and assistants)."""
    check_id(file_id, PREFIX, param)
    doc = backend.store.get(KIND, file_id)
    if doc is None or _expired(backend, doc):
        raise not_found(f"No such File object: {file_id}", param)
    return doc


def content(backend: Backend, file_id: str) -> bytes:
    """The whole bytes of a stored file (empty if missing), for files small enough to hold.

    Retrieval, search and the model runner read this way; use :func:`content_stream` for
    anything that may be large.
    """
    return backend.store.get_blob(file_id) or b""


def content_stream(backend: Backend, file_id: str) -> Iterator[bytes]:
    """The bytes of a stored file, one stored chunk (1 MiB) at a time."""
    return backend.store.iter_blob(file_id)


def create_file(backend: Backend, call: Call) -> Doc:
    """Store an uploaded file."""
    fields = _nest(call.form)
    upload = call.files.get("file")
    extra = sorted(set(call.files) - {"file"})
    if extra:
        raise invalid(extra[0], f"Unknown parameter: '{extra[0]}'.", "unknown_parameter")
    body = parse(CreateFile, fields)
    if upload is None:
        raise invalid("file", "Missing required parameter: 'file'.", "missing_required_parameter")
    if upload.size > backend.upload_bytes_max:
        raise file_too_large()
    now = backend.now()
    doc: Doc = {
        "id": backend.new_id(PREFIX),
        "object": "file",
        "bytes": upload.size,
        "created_at": now,
        "filename": upload.filename,
        "purpose": body.purpose,
        "status": "processed",
        "expires_at": now + body.expires_after.seconds if body.expires_after else None,
        "status_details": None,
    }
    # the part's chunks were stored as the body arrived; the file appears with them as its
    # blob in one transaction
    with backend.store.transaction():
        backend.store.adopt_blob(upload.blob, doc["id"], upload.size)
        backend.store.insert(KIND, doc)
    return doc


def delete_file(backend: Backend, file_id: str) -> None:
    """Remove a file, its bytes, and its attachment to every vector store."""
    with backend.store.transaction():
        get_file(backend, file_id)
        _remove(backend, file_id)


def _remove(backend: Backend, file_id: str) -> None:
    # imported here: vector-store files depend on files, not the other way round
    from assistops.backend import vector_store_files

    vector_store_files.detach_everywhere(backend, file_id)
    backend.store.delete(KIND, file_id)
    backend.store.delete_blob(file_id)


def _expired(backend: Backend, doc: Doc) -> bool:
    expires_at = doc.get("expires_at")
    return expires_at is not None and backend.now() >= expires_at


def purge_expired(backend: Backend) -> None:
    """Delete files whose ``expires_at`` has passed."""
    with backend.store.transaction():
        for doc in backend.store.expired(KIND, backend.now()):
            _remove(backend, doc["id"])


def _nest(form: Any) -> dict[str, Any]:
    """``expires_after[seconds]=3600`` → ``{"expires_after": {"seconds": "3600"}}``."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            section = out.setdefault(outer, {})
            if isinstance(section, dict):
                section[inner] = value
        else:
            out[key] = value
    return out


# handlers -------------------------------------------------------------------------------


def _create(backend: Backend, call: Call) -> Doc:
    if call.body is not None:
        raise invalid(
            None,
            "Uploads must be sent as multipart/form-data with 'purpose' and 'file' parts.",
        )
    return public(create_file(backend, call))


def _list(backend: Backend, call: Call) -> Doc:
    q = parse_list_query(
        call.query,
        limit_default=FILES_LIST_LIMIT_DEFAULT,
        limit_max=FILES_LIST_LIMIT_MAX,
        allow_before=False,
    )
    purge_expired(backend)
    purpose = call.query.get("purpose")
    where = None if purpose is None else {"purpose": purpose}
    return page_store(backend.store, KIND, q, where=where)


def _retrieve(backend: Backend, call: Call) -> Doc:
    return public(get_file(backend, call.params["file_id"]))


def _delete(backend: Backend, call: Call) -> Doc:
    delete_file(backend, call.params["file_id"])
    return deleted(call.params["file_id"], "file")


def _content(backend: Backend, call: Call) -> StreamingResponse:
    doc = get_file(backend, call.params["file_id"])
    if doc["purpose"] in _NOT_DOWNLOADABLE:
        raise invalid(None, f"Not allowed to download files of purpose: {doc['purpose']}")
    size = backend.store.blob_size(doc["id"]) or 0
    # streamed chunk by chunk (Starlette iterates it in a worker thread): memory stays flat
    return StreamingResponse(
        content_stream(backend, doc["id"]),
        media_type="application/octet-stream",
        headers={"content-length": str(size)},
    )


ROUTES = [
    Route("POST", "/files", _create),
    Route("GET", "/files", _list),
    Route("GET", "/files/{file_id}", _retrieve),
    Route("DELETE", "/files/{file_id}", _delete),
    Route("GET", "/files/{file_id}/content", _content),
]
