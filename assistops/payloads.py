"""Specs -> the exact request bodies sent to the provider.

References between resources are resolved through a callable, so the same code produces the
payloads ``render`` prints (references shown as ``${address}``) and those apply sends (IDs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistops.spec import AssistantSpec, FileSpec, VectorStoreSpec
from assistops.tags import (
    FILES_KEY,
    OWNER_KEY,
    PATH_ATTRIBUTE,
    REVISION_KEY,
    SHA_ATTRIBUTE,
    Owner,
    UploadName,
    format_revision,
)

Resolve = Callable[[str], str]


def logical(address: str) -> str:
    """The placeholder ``render`` shows for a reference: ``${address}``."""
    return "${" + address + "}"


def owner_tags(
    project: str, environment: str, spec: AssistantSpec | VectorStoreSpec, revision: str
) -> dict[str, str]:
    """The reserved metadata keys of a managed assistant or vector store."""
    tags = {
        OWNER_KEY: Owner(project, environment, spec.address).format(),
        REVISION_KEY: format_revision(spec.digest(), revision),
    }
    return tags


def assistant_body(
    spec: AssistantSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    resolve: Resolve,
    files: dict[str, FileSpec],
) -> dict[str, Any]:
    """The body of ``POST /assistants`` (create) for this spec."""
    body: dict[str, Any] = {"model": spec.model, "name": spec.display_name}
    for key in ("description", "instructions", "temperature", "top_p", "reasoning_effort"):
        value = getattr(spec, key)
        if value is not None:
            body[key] = value
    body["tools"] = [dict(t) for t in spec.tools]
    resources: dict[str, Any] = {}
    if spec.code_interpreter_files:
        resources["code_interpreter"] = {
            "file_ids": [resolve(a) for a in spec.code_interpreter_files]
        }
    if spec.vector_store:
        resources["file_search"] = {"vector_store_ids": [resolve(spec.vector_store)]}
    if resources:
        body["tool_resources"] = resources
    if spec.response_format is not None:
        body["response_format"] = spec.response_format
    metadata = dict(spec.metadata)
    metadata.update(owner_tags(project, environment, spec, revision))
    if spec.code_interpreter_files:
        metadata[FILES_KEY] = ",".join(files[a].sha256[:12] for a in spec.code_interpreter_files)
    body["metadata"] = metadata
    return body


def vector_store_body(
    spec: VectorStoreSpec, *, project: str, environment: str, revision: str
) -> dict[str, Any]:
    """The body of ``POST /vector_stores`` (create); files are attached one by one."""
    body: dict[str, Any] = {"name": spec.display_name}
    if spec.description is not None:
        body["description"] = spec.description
    if spec.expires_after_days is not None:
        body["expires_after"] = {"anchor": "last_active_at", "days": spec.expires_after_days}
    metadata = dict(spec.metadata)
    metadata.update(owner_tags(project, environment, spec, revision))
    body["metadata"] = metadata
    return body


def vector_store_file_body(
    file: FileSpec, store: VectorStoreSpec, *, resolve: Resolve
) -> dict[str, Any]:
    """The body of ``POST /vector_stores/{id}/files`` that attaches one file."""
    attributes: dict[str, Any] = dict(file.attributes)
    attributes[PATH_ATTRIBUTE] = file.path
    attributes[SHA_ATTRIBUTE] = file.sha256
    body: dict[str, Any] = {"file_id": resolve(file.address), "attributes": attributes}
    if store.chunking is not None:
        body["chunking_strategy"] = store.chunking
    return body


def upload_body(file: FileSpec, *, project: str, environment: str) -> dict[str, Any]:
    """What ``POST /files`` sends: purpose and the filename (content comes from ``path``)."""
    return {
        "purpose": "assistants",
        "filename": UploadName.for_file(project, environment, file.sha256, file.path).format(),
        "path": file.path,
        "bytes": file.bytes,
        "sha256": file.sha256,
    }
