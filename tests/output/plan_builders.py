"""Builders of plans, made directly from the plan models as the planner makes them.

Field changes come from the real :func:`assistops.diff.compare`, so their paths, JSON pointers
and breaking reasons are the ones users see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistops.engine.diff import compare
from assistops.engine.plan import Plan, ResourceChange, Step
from assistops.kinds.assistant import CreateAssistant, DeleteAssistant, UpdateAssistant
from assistops.kinds.vector_store import CreateVectorStore, DeleteVectorStore, UpdateVectorStore

OLD_INSTRUCTIONS = "You help customers of Acme.\nBe terse.\nNever promise refunds.\nSign as Acme."
NEW_INSTRUCTIONS = (
    "You help customers of Acme.\nBe friendly.\nNever promise refunds.\nSign as Acme."
)

LOOKUP_V1 = {
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "email": {"type": "string"}},
        "required": ["order_id"],
    },
}
LOOKUP_V2 = {
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
    },
}

PlanFactory = Callable[..., Plan]


def assistant_projection(**overrides: Any) -> dict[str, Any]:
    """An assistant's observable fields, as the diff module compares them."""
    base: dict[str, Any] = {
        "name": "Support",
        "model": "gpt-4o-mini",
        "instructions": OLD_INSTRUCTIONS,
        "tools": {"function:lookup_order": LOOKUP_V1},
        "temperature": 1.0,
    }
    return base | overrides


def update_change() -> ResourceChange:
    """assistant.support: model, instructions and a breaking schema change."""
    live = assistant_projection()
    want = assistant_projection(
        model="gpt-4o", instructions=NEW_INSTRUCTIONS, tools={"function:lookup_order": LOOKUP_V2}
    )
    return ResourceChange(
        address="assistant.support",
        kind="assistant",
        action="update",
        id="asst_support1",
        changes=compare(want, live),
    )


def create_change(instructions: str = "Answer billing questions.") -> ResourceChange:
    """assistant.billing, new."""
    return ResourceChange(
        address="assistant.billing",
        kind="assistant",
        action="create",
        after={
            "model": "gpt-4o",
            "name": "Billing",
            "instructions": instructions,
            "tools": [{"type": "file_search"}],
            "metadata": {"team": "billing"},
        },
    )


def replace_change() -> ResourceChange:
    """vector_store.handbook, replaced for two reasons."""
    return ResourceChange(
        address="vector_store.handbook",
        kind="vector_store",
        action="replace",
        id="vs_handbook1",
        reasons=[
            "the store expired",
            "chunking changed: every file is indexed again in a new store",
        ],
    )


def orphan_change() -> ResourceChange:
    """assistant.legacy, tagged as ours but no longer declared."""
    return ResourceChange(
        address="assistant.legacy",
        kind="assistant",
        action="delete",
        id="asst_legacy1",
        orphan=True,
        reasons=["no longer declared"],
        before={"name": "Legacy", "model": "gpt-4"},
    )


def duplicate_change() -> ResourceChange:
    """A second copy of assistant.support left by an interrupted create."""
    return ResourceChange(
        address="assistant.support",
        kind="assistant",
        action="delete",
        id="asst_support2",
        duplicate=True,
        reasons=["duplicate of the same address (an interrupted or retried create)"],
        before={"name": "Support", "model": "gpt-4o-mini"},
    )


def drift_change() -> ResourceChange:
    """vector_store.faq renamed in the dashboard since the last apply."""
    return ResourceChange(
        address="vector_store.faq",
        kind="vector_store",
        action="update",
        id="vs_faq1",
        drift=True,
        reasons=["changed outside assistops since the last apply"],
        changes=compare({"name": "FAQ"}, {"name": "FAQ (edited)"}),
    )


def noop_change(address: str = "vector_store.policies") -> ResourceChange:
    """A resource that matches its declaration."""
    return ResourceChange(address=address, kind="vector_store", action="no-op", id="vs_pol1")


def steps_for(resources: list[ResourceChange]) -> list[Step]:
    """The steps apply would run for these changes (one per change)."""
    steps: list[Step] = []
    for r in resources:
        if r.action == "create" and r.kind == "assistant":
            steps.append(CreateAssistant(address=r.address, body=r.after or {}))
        elif r.action == "update" and r.kind == "assistant":
            steps.append(UpdateAssistant(address=r.address, id=r.id or "", body={"model": "x"}))
        elif r.action == "update":
            steps.append(UpdateVectorStore(address=r.address, id=r.id or "", body={"name": "FAQ"}))
        elif r.action == "replace":
            steps.append(CreateVectorStore(address=r.address, body={"name": "Handbook"}))
            steps.append(DeleteVectorStore(address=r.address, id=r.id or ""))
        elif r.action == "delete" and r.kind == "assistant":
            steps.append(DeleteAssistant(address=r.address, id=r.id or ""))
        elif r.action == "delete":
            steps.append(DeleteVectorStore(address=r.address, id=r.id or ""))
    return steps


def make_plan(resources: list[ResourceChange], **overrides: Any) -> Plan:
    """A plan for acme/prod holding ``resources`` and their steps."""
    fields: dict[str, Any] = {
        "project": "acme",
        "environment": "prod",
        "provider": "local",
        "revision": "3f2a9c1",
        "config_digest": "d" * 16,
        "resources": resources,
        "steps": steps_for(resources),
        "fingerprints": {"assistant:asst_support1": "f1", "vector_store:vs_faq1": "f2"},
    }
    return Plan(**(fields | overrides))
