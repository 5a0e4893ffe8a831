"""Specs -> the exact request bodies sent to the provider.

References between resources are resolved through a callable, so the same code produces the
payloads ``render`` prints (references shown as ``${address}``), those a plan stores (ids where
they are known, references to what apply creates) and those apply sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from assistops.diff import assistant_projection, rev_digest, store_projection, write_only
from assistops.spec import AssistantSpec, FileSpec, VectorStoreSpec
from assistops.tags import (
    OWNER_KEY,
    PATH_ATTRIBUTE,
    REVISION_KEY,
    SHA_ATTRIBUTE,
    Owner,
    UploadName,
    format_revision,
)

Resolve = Callable[[str], str]


class Context(TypedDict):
    """Where a body is sent: ``**ctx`` for the body builders."""

    project: str
    environment: str
    revision: str


def logical(address: str) -> str:
    """The placeholder for a reference: ``${address}``."""
    return "${" + address + "}"


def spec_digest(spec: AssistantSpec | VectorStoreSpec, files: dict[str, FileSpec]) -> str:
    """The digest recorded in the tags: observable projection + write-only fields."""
    if isinstance(spec, AssistantSpec):
        observed = assistant_projection(spec, files)
    else:
        observed = store_projection(spec)
    return rev_digest(observed, write_only(spec))


def owner_tags(
    spec: AssistantSpec | VectorStoreSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    files: dict[str, FileSpec],
) -> dict[str, str]:
    """The reserved metadata keys of a managed assistant or vector store."""
    return {
        OWNER_KEY: Owner(project, environment, spec.address).format(),
        REVISION_KEY: format_revision(spec_digest(spec, files), revision),
    }


def assistant_body(
    spec: AssistantSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    resolve: Resolve,
    files: dict[str, FileSpec],
    update: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /assistants``; with ``update`` every field is explicit, so that a
    value set outside assistops is reset to the declared one (or to the server default)."""
    body: dict[str, Any] = {"model": spec.model, "name": spec.display_name}
    for key in ("description", "instructions", "temperature", "top_p", "reasoning_effort"):
        value = getattr(spec, key)
        if value is not None:
            body[key] = value
        elif update and key in ("description", "instructions"):
            body[key] = None
    if update:
        body.setdefault("temperature", 1.0)
        body.setdefault("top_p", 1.0)
    body["tools"] = [dict(t) for t in spec.tools]
    resources: dict[str, Any] = {}
    if spec.code_interpreter_files or update:
        resources["code_interpreter"] = {
            "file_ids": [resolve(a) for a in spec.code_interpreter_files]
        }
    if spec.vector_store or update:
        stores = [resolve(spec.vector_store)] if spec.vector_store else []
        resources["file_search"] = {"vector_store_ids": stores}
    if resources:
        body["tool_resources"] = resources
    if spec.response_format is not None:
        body["response_format"] = spec.response_format
    elif update:
        body["response_format"] = "auto"
    metadata = dict(spec.metadata)
    metadata.update(
        owner_tags(spec, project=project, environment=environment, revision=revision, files=files)
    )
    body["metadata"] = metadata
    return body


def vector_store_body(
    spec: VectorStoreSpec,
    *,
    project: str,
    environment: str,
    revision: str,
    update: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /vector_stores`` (create) or of its update (no description: the
    service takes it on create only)."""
    body: dict[str, Any] = {"name": spec.display_name}
    if spec.description is not None and not update:
        body["description"] = spec.description
    if spec.expires_after_days is not None:
        body["expires_after"] = {"anchor": "last_active_at", "days": spec.expires_after_days}
    elif update:
        body["expires_after"] = None
    metadata = dict(spec.metadata)
    metadata.update(
        owner_tags(spec, project=project, environment=environment, revision=revision, files={})
    )
    body["metadata"] = metadata
    return body


def file_attributes(file: FileSpec) -> dict[str, Any]:
    """The attributes of a knowledge file in its store: the user's plus path and sha256."""
    attributes: dict[str, Any] = dict(file.attributes)
    attributes[PATH_ATTRIBUTE] = file.path
    attributes[SHA_ATTRIBUTE] = file.sha256
    return attributes


def vector_store_file_body(
    file: FileSpec, store: VectorStoreSpec, *, resolve: Resolve
) -> dict[str, Any]:
    """One entry of a file batch (or the body of ``POST /vector_stores/{id}/files``)."""
    body: dict[str, Any] = {"file_id": resolve(file.address), "attributes": file_attributes(file)}
    if store.chunking is not None:
        body["chunking_strategy"] = store.chunking
    return body


def upload_filename(file: FileSpec, *, project: str, environment: str) -> str:
    """The filename an upload is sent with (records owner and content)."""
    return UploadName.for_file(project, environment, file.sha256, file.path).format()


def upload_body(file: FileSpec, *, project: str, environment: str) -> dict[str, Any]:
    """What ``POST /files`` sends: purpose and the filename (content comes from ``path``)."""
    return {
        "purpose": "assistants",
        "filename": upload_filename(file, project=project, environment=environment),
        "path": file.path,
        "bytes": file.bytes,
        "sha256": file.sha256,
    }
