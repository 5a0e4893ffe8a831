"""Saved plans: write a plan to a file, read it back, and refuse it once it is stale.

A saved plan holds the fingerprints of every live object it was computed from and the digest of
the declarations. Applying it re-reads live state: if any managed object appeared, disappeared
or changed, or the declarations changed, the plan is refused with what moved and what to run.
It never holds a secret: the plan model has no field for keys, URLs carry no credentials.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from assistops.engine.plan import PLAN_FORMAT_VERSION, Plan
from assistops.errors import PlanError, StalePlanError


def write_plan(document: str, path: Path) -> None:
    """Write a plan's JSON ``document`` (``output.render_json``: the same document that
    ``plan --format json`` prints) atomically: a half-written plan file is never left behind."""
    text = document
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plan-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_plan(path: Path) -> Plan:
    """Read a saved plan; a clear error for a missing, foreign or newer file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path}: not a saved plan ({exc})") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION:
        raise PlanError(
            f"{path}: plan format version {version!r}; this assistops reads version "
            f"{PLAN_FORMAT_VERSION}. Run 'assistops plan --out {path}' again."
        )
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"{path}: not a valid saved plan: {exc.error_count()} error(s)") from None


def check_fresh(saved: Plan, fresh: Plan, plan_file: Path) -> None:
    """Raise StalePlanError when ``fresh`` (recomputed now) differs from what ``saved`` saw."""
    again = (
        f"run 'assistops plan -e {saved.environment} --out {plan_file}' again, review it, "
        f"then 'assistops apply {plan_file}'"
    )
    if (saved.project, saved.environment) != (fresh.project, fresh.environment):
        raise StalePlanError(
            f"{plan_file} was made for {saved.project}/{saved.environment}, not "
            f"{fresh.project}/{fresh.environment}"
        )
    moved: list[str] = []
    if saved.config_digest != fresh.config_digest:
        moved.append("the declarations changed since the plan was made")
    names = {r.id: r.address for r in fresh.resources + saved.resources if r.id}
    before, now = saved.fingerprints, fresh.fingerprints
    for key in sorted(set(before) | set(now)):
        kind, _, object_id = key.partition(":")
        label = f"{kind.replace('_', ' ')} {object_id}"
        address = names.get(object_id.rsplit("/", 1)[-1])
        if address:
            label += f" ({address})"
        if key not in now:
            moved.append(f"{label} was deleted")
        elif key not in before:
            moved.append(f"{label} appeared")
        elif before[key] != now[key]:
            moved.append(f"{label} changed")
    if not moved and [s.model_dump() for s in saved.steps] != [s.model_dump() for s in fresh.steps]:
        moved.append("the steps computed now differ from the saved ones")
    if moved:
        shown = moved[:10] + ([f"... and {len(moved) - 10} more"] if len(moved) > 10 else [])
        raise StalePlanError(
            f"the saved plan {plan_file} is stale:\n  - " + "\n  - ".join(shown) + f"\n{again}"
        )
