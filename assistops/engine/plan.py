"""The plan: what will change, as data. Resource changes for people; steps for apply.

A plan is frozen once computed. ``resources`` explain each address (action, reasons, field
changes); ``steps`` are the small operations apply visits, in the order it runs them (phase
by phase). Both serialize to the versioned JSON format documented in ``docs/plan-format.md``.
The step types and phases come from the registry of resource kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field

from assistops import kinds
from assistops.kinds.base import Phase, StepBase
from assistops.kinds.changes import Action, FieldChange, ResourceChange

PLAN_FORMAT_VERSION = 1

if TYPE_CHECKING:
    Step = StepBase
else:
    # every kind's steps, told apart by ``op`` when a saved plan is read back
    Step = Annotated[Union[tuple(kinds.step_types())], Field(discriminator="op")]  # noqa: UP007

#: Apply runs the steps phase by phase; steps within a phase are independent.
PHASES: list[tuple[Phase, tuple[type[StepBase], ...]]] = kinds.phases()

__all__ = [
    "PHASES",
    "PLAN_FORMAT_VERSION",
    "Action",
    "FieldChange",
    "Plan",
    "ResourceChange",
    "Step",
    "Summary",
    "run_order",
]


def run_order(steps: list[Any]) -> list[Any]:
    """``steps`` in the order apply runs them: by phase, keeping plan order within one."""
    return sorted(steps, key=lambda s: type(s).phase.rank)


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
    provider: str = Field(description="The environment's provider: local, openai or azure.")
    endpoint: str = Field("", description="Where it was reached: a URL or the local database.")
    api: str = Field("assistants", description="What assistants become: assistants or agents.")
    revision: str
    config_digest: str = Field(description="Digest of the desired state the plan came from.")
    resources: list[ResourceChange] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    fingerprints: dict[str, str] = Field(
        default_factory=dict, description="Fingerprint of every live object read, by kind:id."
    )
    destroy: bool = Field(False, description="A plan of removing everything managed.")
    targets: list[str] = Field(
        default_factory=list, description="The addresses --target limited the plan to."
    )
    left_out: int = Field(
        0, description="Changes the whole project has that --target left out of this plan."
    )

    @property
    def provider_label(self) -> str:
        """``openai (https://…/v1)``: provider and endpoint, for people."""
        return f"{self.provider} ({self.endpoint})" if self.endpoint else self.provider

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
