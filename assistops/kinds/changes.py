"""What a plan says about one resource: its action, why, and which fields change.

These are the typed results of the diff (``engine.diff`` produces the field changes) that a
kind's planner records for each address; the plan and every renderer read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["create", "update", "replace", "delete", "no-op"]


class FieldChange(BaseModel):
    """One changed field: ``path`` is dotted, with a JSON pointer inside JSON Schemas."""

    model_config = ConfigDict(frozen=True)

    path: str
    before: Any = None
    after: Any = None
    breaking: str | None = None


class ResourceChange(BaseModel):
    """What happens to one address."""

    model_config = ConfigDict(frozen=True)

    address: str
    kind: str = Field(description="The resource kind's name, as in the registry.")
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


def deletion(
    address: str, kind: str, object_id: str, *, duplicate: bool, before: dict[str, Any], reason: str
) -> ResourceChange:
    """The change that deletes a duplicate or an orphan (tagged as ours, no longer declared)."""
    return ResourceChange(
        address=address,
        kind=kind,
        action="delete",
        id=object_id,
        duplicate=duplicate,
        orphan=not duplicate,
        reasons=[reason],
        before=before,
    )


DUPLICATE_REASON = "duplicate of the same address (an interrupted or retried create)"
ORPHAN_REASON = "no longer declared"
