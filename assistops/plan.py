"""The plan: what will change, as data. Resource changes for people; steps for apply.

A plan is frozen once computed. ``resources`` explain each address (action, reasons, field
changes); ``steps`` are the small operations apply visits in order. Both serialize to the
versioned JSON format documented in ``docs/plan-format.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistops.diff import FieldChange

PLAN_FORMAT_VERSION = 1

Action = Literal["create", "update", "replace", "delete", "no-op"]
ResourceKind = Literal["assistant", "vector_store", "file"]


class ResourceChange(BaseModel):
    """What happens to one address."""

    model_config = ConfigDict(frozen=True)

    address: str
    kind: ResourceKind
    action: Action
    id: str | None = Field(None, description="Live id, when the object exists.")
    reasons: list[str] = Field(default_factory=list)
    drift: bool = Field(False, description="Changed outside assistops since its last apply.")
    duplicate: bool = Field(False, description="An extra copy of a managed object.")
    orphan: bool = Field(False, description="Tagged as ours but no longer declared.")
    changes: list[FieldChange] = Field(default_factory=list)
    after: dict[str, Any] | None = Field(None, description="The desired fields, for creates.")
    before: dict[str, Any] | None = Field(None, description="The live fields, for deletes.")

    @property
    def breaking(self) -> list[FieldChange]:
        """Changes flagged as breaking for apps that implement functions."""
        return [c for c in self.changes if c.breaking]


# -- steps --------------------------------------------------------------------------------------


class StepBase(BaseModel):
    """Fields every step has."""

    model_config = ConfigDict(frozen=True)

    address: str


class UploadFile(StepBase):
    """Upload one file's content (once per sha256 per environment)."""

    op: Literal["upload_file"] = "upload_file"
    path: str
    sha256: str
    bytes: int
    filename: str


class CreateVectorStore(StepBase):
    """Create a store with its tags."""

    op: Literal["create_vector_store"] = "create_vector_store"
    body: dict[str, Any]


class UpdateVectorStore(StepBase):
    """Update name, expiry and metadata of a store in place."""

    op: Literal["update_vector_store"] = "update_vector_store"
    id: str
    body: dict[str, Any]


class AttachFiles(StepBase):
    """Attach files to a store in one batch and wait until they are indexed.

    ``files`` holds batch entries whose ``file_id`` is a reference ``${sha:<sha256>}``.
    """

    op: Literal["attach_files"] = "attach_files"
    store: str
    files: list[dict[str, Any]]
    detach_first: list[str] = Field(
        default_factory=list, description="Failed copies detached before attaching again."
    )


class UpdateFileAttributes(StepBase):
    """Replace the attributes of a file in a store."""

    op: Literal["update_file_attributes"] = "update_file_attributes"
    store: str
    file_id: str
    attributes: dict[str, Any]


class DetachFile(StepBase):
    """Remove a file from a store (the file itself stays)."""

    op: Literal["detach_file"] = "detach_file"
    store: str
    file_id: str


class CreateAssistant(StepBase):
    """Create an assistant with its tags; references are resolved at apply."""

    op: Literal["create_assistant"] = "create_assistant"
    body: dict[str, Any]


class UpdateAssistant(StepBase):
    """Update an assistant in place (it keeps its id)."""

    op: Literal["update_assistant"] = "update_assistant"
    id: str
    body: dict[str, Any]


class DeleteAssistant(StepBase):
    """Delete an assistant we own."""

    op: Literal["delete_assistant"] = "delete_assistant"
    id: str


class DeleteVectorStore(StepBase):
    """Delete a store we own (its files survive; see DeleteFile)."""

    op: Literal["delete_vector_store"] = "delete_vector_store"
    id: str


class DeleteFile(StepBase):
    """Delete an uploaded file we own that nothing uses any more."""

    op: Literal["delete_file"] = "delete_file"
    id: str


Step = Annotated[
    UploadFile
    | CreateVectorStore
    | UpdateVectorStore
    | AttachFiles
    | UpdateFileAttributes
    | DetachFile
    | CreateAssistant
    | UpdateAssistant
    | DeleteAssistant
    | DeleteVectorStore
    | DeleteFile,
    Field(discriminator="op"),
]

#: Apply runs the steps phase by phase; steps within a phase are independent.
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("upload files", ("upload_file",)),
    ("vector stores", ("create_vector_store", "update_vector_store")),
    ("attach and index files", ("attach_files", "update_file_attributes")),
    ("assistants", ("create_assistant", "update_assistant")),
    ("detach replaced files", ("detach_file",)),
    ("delete assistants", ("delete_assistant",)),
    ("delete vector stores", ("delete_vector_store",)),
    ("delete files", ("delete_file",)),
]


class Summary(BaseModel):
    """Counts for the summary line."""

    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0


class Plan(BaseModel):
    """A computed plan for one project and environment."""

    model_config = ConfigDict(frozen=True)

    format_version: int = PLAN_FORMAT_VERSION
    project: str
    environment: str
    provider: str
    revision: str
    config_digest: str = Field(description="Digest of the desired state the plan came from.")
    resources: list[ResourceChange] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    fingerprints: dict[str, str] = Field(
        default_factory=dict, description="Fingerprint of every live object read, by kind:id."
    )

    @property
    def changes(self) -> list[ResourceChange]:
        """Resources with an action other than no-op."""
        return [r for r in self.resources if r.action != "no-op"]

    @property
    def has_changes(self) -> bool:
        """True when applying would change anything."""
        return bool(self.steps)

    @property
    def summary(self) -> Summary:
        """How many resources are created, updated, replaced and deleted."""
        s = Summary()
        for r in self.changes:
            setattr(s, r.action, getattr(s, r.action) + 1)
        return s

    @property
    def deletes(self) -> list[ResourceChange]:
        """Resources the plan deletes (outright, not replaced)."""
        return [r for r in self.resources if r.action == "delete"]
