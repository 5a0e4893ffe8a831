"""Resolved resource specs: the desired state, and the shape live state is normalized into.

A spec is what one resource should look like in one environment, with every template rendered,
every override merged and every file hashed. References between resources stay logical
(addresses); they become provider IDs only when a plan is applied.

Addresses:
    assistant.<name>
    vector_store.<name>
    file.<store>:<path>                  a knowledge file of a vector store
    file.assistant.<name>:<path>         a code-interpreter file of an assistant
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AttributeValue = str | int | float | bool


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of every digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(value: Any) -> str:
    """A short, stable digest of a JSON-able value (16 hex digits of sha256)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def assistant_address(name: str) -> str:
    """``assistant.<name>``."""
    return f"assistant.{name}"


def vector_store_address(name: str) -> str:
    """``vector_store.<name>``."""
    return f"vector_store.{name}"


def file_address(owner: str, path: str) -> str:
    """``file.<store>:<path>`` for a store's file, ``file.assistant.<name>:<path>`` otherwise."""
    kind, _, name = owner.partition(".")
    prefix = name if kind == "vector_store" else owner
    return f"file.{prefix}:{path}"


class Spec(BaseModel):
    """Base of every resource spec."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    address: str
    name: str

    def digest(self) -> str:
        """Digest of everything that is sent to the provider for this resource."""
        return digest_of(self.model_dump(mode="json", exclude={"address"}))


class FileSpec(Spec):
    """A file to upload: a knowledge file of a store, or a code-interpreter file."""

    kind: Literal["file"] = "file"
    owner: str = Field(description="Address of the store or assistant that uses the file.")
    path: str = Field(description="Project-relative POSIX path.")
    sha256: str
    bytes: int
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class VectorStoreSpec(Spec):
    """A vector store and the files it indexes."""

    kind: Literal["vector_store"] = "vector_store"
    display_name: str
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    expires_after_days: int | None = None
    chunking: dict[str, Any] | None = Field(
        None, description="The chunking_strategy sent with each file; None for auto."
    )
    files: tuple[str, ...] = Field(default_factory=tuple, description="File addresses.")


class AssistantSpec(Spec):
    """An assistant, with its references to a vector store and code-interpreter files."""

    kind: Literal["assistant"] = "assistant"
    display_name: str
    description: str | None = None
    model: str
    instructions: str | None = None
    tools: tuple[dict[str, Any], ...] = Field(
        default_factory=tuple, description="Tools in the provider's shape."
    )
    response_format: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    vector_store: str | None = Field(None, description="Address of the file_search store.")
    code_interpreter_files: tuple[str, ...] = Field(default_factory=tuple)


ResourceSpec = AssistantSpec | VectorStoreSpec | FileSpec


class DesiredState(BaseModel):
    """Every resource of one project in one environment, in dependency order."""

    model_config = ConfigDict(frozen=True)

    project: str
    environment: str
    revision: str = Field(description="Config revision: git commit (and -dirty) or a digest.")
    resources: dict[str, ResourceSpec] = Field(default_factory=dict)

    def of_kind(self, kind: str) -> list[ResourceSpec]:
        """The resources of one kind, in declaration order."""
        return [r for r in self.resources.values() if r.kind == kind]
