"""A plan as versioned JSON: the stable contract for CI, documented in ``docs/plan-format.md``.

The document is built field by field from an allowlist, never by dumping objects, so nothing
that is not part of the contract (and nothing secret) can slip in. Keys are sorted and lists
keep plan order, so two equal plans serialize byte-identically. The document is also a valid
saved plan: ``Plan.model_validate_json`` reads it back.
"""

from __future__ import annotations

import json
from typing import Any

from assistops import kinds
from assistops.engine.diff import FieldChange
from assistops.engine.plan import PLAN_FORMAT_VERSION, Plan, ResourceChange

FORMAT_VERSION = PLAN_FORMAT_VERSION

#: Fields of each step, by ``op``, besides ``op`` and ``address``: each step type's own fields,
#: as the registry of kinds lists the types (``docs/plan-format.md`` documents them).
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    t.model_fields["op"].default: t.json_fields() for t in kinds.step_types()
}


def render_json(plan: Plan) -> str:
    """The plan as the versioned JSON document, with a final newline."""
    text = json.dumps(
        plan_document(plan), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
    )
    return text + "\n"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON document as plain data (what :func:`render_json` serializes)."""
    summary = plan.summary
    return {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "environment": plan.environment,
        "provider": plan.provider,
        "endpoint": plan.endpoint,
        "api": plan.api,
        "revision": plan.revision,
        "config_digest": plan.config_digest,
        "summary": {
            "create": summary.create,
            "update": summary.update,
            "replace": summary.replace,
            "delete": summary.delete,
        },
        "has_changes": plan.has_changes,
        "resources": [_resource(r) for r in plan.resources],
        "steps": [_step(s) for s in plan.steps],
        "fingerprints": dict(plan.fingerprints),
        "destroy": plan.destroy,
        "targets": list(plan.targets),
        "left_out": plan.left_out,
    }


def _resource(rc: ResourceChange) -> dict[str, Any]:
    return {
        "address": rc.address,
        "kind": rc.kind,
        "action": rc.action,
        "id": rc.id,
        "reasons": list(rc.reasons),
        "drift": rc.drift,
        "duplicate": rc.duplicate,
        "orphan": rc.orphan,
        "breaking": bool(rc.breaking),
        "changes": [_change(c) for c in rc.changes],
        "after": _data(rc.after),
        "before": _data(rc.before),
    }


def _change(change: FieldChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "before": _data(change.before),
        "after": _data(change.after),
        "breaking": change.breaking,
    }


def _step(step: Any) -> dict[str, Any]:
    fields = STEP_FIELDS.get(step.op)
    if fields is None:
        raise TypeError(f"plan step {step.op!r} is not part of the JSON format")
    out: dict[str, Any] = {"op": step.op, "address": step.address}
    for name in fields:
        out[name] = _data(getattr(step, name))
    return out


def _data(value: Any) -> Any:
    """JSON data only: a value that is not plain data is a bug, so say so here."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_data(v) for v in value]
    raise TypeError(f"not JSON data in a plan: {type(value).__name__}")
