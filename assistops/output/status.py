"""``status`` and ``promote`` for people and for scripts (pure: nothing here prints).

status_text(status)        one environment: each resource, id, revision, applied, state
status_document(status)    the same as JSON (docs/cli.md)
all_envs_text(project)     every environment side by side, against HEAD
all_envs_document(project)
promotion_text(p)          what is promoted, what the destination's settings change
promotion_markdown(p)      the same for a job summary or a pull-request comment
promotion_document(p)      the same as JSON, with the plan
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from assistops.engine.promotion import Promotion
from assistops.engine.status import (
    EnvironmentStatus,
    ProjectStatus,
    ResourceStatus,
    Unreadable,
)
from assistops.output.common import plural
from assistops.output.plan_json import plan_document

STATUS_FORMAT_VERSION = 1

#: What each plan action says about a resource's state.
STATES = {
    "no-op": "in sync",
    "create": "not created yet",
    "update": "differs (apply updates it)",
    "replace": "differs (apply replaces it)",
    "delete": "no longer declared (apply deletes it)",
}


def state_of(r: ResourceStatus) -> str:
    """One phrase for a resource's state."""
    if r.duplicate:
        return "duplicate (apply deletes it)"
    text = STATES.get(r.action, r.action)
    return f"drifted: changed outside assistops; {text}" if r.drift else text


def when(stamp: int | None) -> str | None:
    """Unix seconds as ``2026-12-01T23:16:05Z`` (None stays None)."""
    if not stamp:
        return None
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown_when(stamp: int | None) -> str:
    text = when(stamp)
    return text.replace("T", " ").replace("Z", " UTC") if text else "-"


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def _position(status: EnvironmentStatus) -> dict[str, Any] | None:
    if status.position is None:
        return None
    return {
        "standing": status.position.standing,
        "behind": status.position.behind,
        "description": status.position.describe(),
    }


def status_document(status: EnvironmentStatus) -> dict[str, Any]:
    """What ``status --format json`` prints (docs/cli.md)."""
    plan = status.plan
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "project": plan.project,
        "environment": plan.environment,
        "provider": plan.provider,
        "endpoint": plan.endpoint,
        "api": plan.api,
        "head": plan.revision,
        "revision": status.revision,
        "revisions": status.revisions,
        "against_head": _position(status),
        "last_applied_at": when(status.last_applied),
        "in_sync": status.in_sync,
        "drifted": [r.address for r in status.drifted],
        "resources": [
            {
                "address": r.address,
                "kind": r.kind,
                "id": r.id,
                "revision": r.revision,
                "digest": r.digest,
                "applied_at": when(r.applied_at),
                "action": r.action,
                "drift": r.drift,
                "state": state_of(r),
            }
            for r in status.resources
        ],
    }


def _runs(status: EnvironmentStatus) -> str:
    if status.revision is None:
        return "Nothing assistops applied runs here yet."
    line = f"Runs revision {status.revision}"
    if status.position is not None:
        line += f" ({status.position.describe()})"
    if len(status.revisions) > 1:
        older = [r for r in status.revisions if r != status.revision]
        line += f"; some resources were last written at {', '.join(older)}"
    return line + f"; last applied {_shown_when(status.last_applied)}."


def status_text(status: EnvironmentStatus) -> str:
    """One environment for people: a line of where, a line of which revision, the table."""
    plan = status.plan
    api = "" if plan.api == "assistants" else f", assistants deployed as {plan.api}"
    lines = [f"{plan.project} / {plan.environment}: provider {plan.provider_label}{api}"]
    lines.append(_runs(status))
    if status.resources:
        rows = [("RESOURCE", "ID", "REVISION", "APPLIED", "STATE")]
        rows += [
            (r.address, r.id or "-", r.revision or "-", _shown_when(r.applied_at), state_of(r))
            for r in status.resources
        ]
        lines += _table(rows)
    total = len(status.resources)
    if status.in_sync:
        lines.append(f"In sync: {plural(total, 'resource')} match the declarations.")
    else:
        pending = len(plan.changes)
        drifted = len(status.drifted)
        note = f" ({plural(drifted, 'resource')} drifted)" if drifted else ""
        lines.append(
            f"{plural(pending, 'resource')} of {total} differ{note}; see the changes with: "
            f"assistops plan -e {plan.environment}"
        )
    return "\n".join(lines) + "\n"


# -- every environment -------------------------------------------------------------------------


def _state_word(status: EnvironmentStatus) -> str:
    if status.drifted:
        return f"drifted ({plural(len(status.drifted), 'resource')})"
    if status.in_sync:
        return "in sync with the working tree"
    return f"{plural(len(status.plan.changes), 'change')} to apply"


def _behind(project: ProjectStatus) -> list[str]:
    """Environments that run a revision other than HEAD."""
    return [
        e.plan.environment
        for e in project.environments
        if not isinstance(e, Unreadable) and e.position and e.position.standing != "head"
    ]


def _empty(project: ProjectStatus) -> list[str]:
    return [
        e.plan.environment
        for e in project.environments
        if not isinstance(e, Unreadable) and e.position is None
    ]


def _unread(project: ProjectStatus) -> list[str]:
    return [e.environment for e in project.environments if isinstance(e, Unreadable)]


def all_envs_text(project: ProjectStatus) -> str:
    """Every environment side by side: which revision each runs, and how far behind HEAD."""
    lines = [f"{project.project}: the working tree is at {project.head}"]
    rows = [("ENVIRONMENT", "PROVIDER", "API", "REVISION", "AGAINST HEAD", "STATE")]
    for env in project.environments:
        if isinstance(env, Unreadable):
            rows.append((env.environment, env.provider, "-", "-", "-", "not read (below)"))
            continue
        plan = env.plan
        rows.append(
            (
                plan.environment,
                plan.provider,
                plan.api,
                env.revision or "-",
                env.position.describe() if env.position else "nothing applied",
                _state_word(env),
            )
        )
    lines += _table(rows)
    behind, empty, unread = _behind(project), _empty(project), _unread(project)
    if behind:
        lines.append(f"Behind HEAD: {', '.join(behind)}.")
    elif not empty and not unread:
        lines.append("Every environment runs HEAD.")
    else:
        lines.append("Every environment that was read and applied runs HEAD.")
    if empty:
        lines.append(f"Nothing applied yet: {', '.join(empty)}.")
    for env in project.environments:
        if isinstance(env, Unreadable):
            lines.append(f"Not read: {env.environment}: {env.message}")
    return "\n".join(lines) + "\n"


def all_envs_document(project: ProjectStatus) -> dict[str, Any]:
    """What ``status --all-envs --format json`` prints (docs/cli.md)."""
    envs: list[dict[str, Any]] = []
    for env in project.environments:
        if isinstance(env, Unreadable):
            envs.append(
                {"environment": env.environment, "provider": env.provider, "error": env.message}
            )
        else:
            envs.append(status_document(env))
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "project": project.project,
        "head": project.head,
        "environments": envs,
        "behind_head": _behind(project),
        "nothing_applied": _empty(project),
        "not_read": _unread(project),
    }


# -- promotion ---------------------------------------------------------------------------------


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _difference_lines(p: Promotion) -> list[str]:
    out = []
    for d in p.differences:
        before = _value(d.source) if d.in_source else "(not set)"
        after = _value(d.dest) if d.in_dest else "(not set)"
        out.append(f"{d.path}: {before} -> {after}")
    return out


def _source_line(p: Promotion) -> str:
    src = p.source
    status = src.status
    where = f" ({status.position.describe()})" if status.position else ""
    count = plural(len(status.resources), "resource")
    return (
        f"{src.environment} runs {status.revision}{where}: {count}, no drift, and the working "
        "tree renders exactly what runs there."
    )


def promotion_text(p: Promotion) -> str:
    """What is promoted, for people: the proof about the source, then what differs."""
    dest = p.plan.environment
    lines = [
        f"Promote {p.plan.project} from {p.source.environment} to {dest} at revision {p.revision}.",
        f"  {_source_line(p)}",
    ]
    diff = _difference_lines(p)
    if diff:
        lines.append(
            f"  {dest}'s own settings differ from {p.source.environment}'s (only these may):"
        )
        lines += [f"    {x}" for x in diff]
    else:
        lines.append(f"  {dest} declares the same settings as {p.source.environment}.")
    return "\n".join(lines) + "\n\n"


def promotion_markdown(p: Promotion) -> str:
    """The same as :func:`promotion_text`, as Markdown to put before the destination's plan."""
    dest = p.plan.environment
    lines = [
        f"### assistops promote: `{p.source.environment}` → `{dest}` at `{p.revision}`",
        "",
        _source_line(p).replace(p.source.environment, f"`{p.source.environment}`", 1),
        "",
    ]
    diff = _difference_lines(p)
    if diff:
        lines += [f"`{dest}`'s own settings that differ (only these may):", ""]
        lines += [f"- `{x.split(': ', 1)[0]}`: {x.split(': ', 1)[1]}" for x in diff]
    else:
        lines.append(f"`{dest}` declares the same settings as `{p.source.environment}`.")
    return "\n".join(lines) + "\n\n"


def promotion_document(p: Promotion) -> dict[str, Any]:
    """What ``promote --format json`` prints (docs/cli.md), with the destination's plan."""
    status = p.source.status
    return {
        "format_version": STATUS_FORMAT_VERSION,
        "command": "promote",
        "project": p.plan.project,
        "source": {
            "environment": p.source.environment,
            "revision": status.revision,
            "against_head": _position(status),
            "resources": len(status.resources),
        },
        "destination": p.plan.environment,
        "revision": p.revision,
        "differences": [
            {
                "path": d.path,
                "source": d.source if d.in_source else None,
                "destination": d.dest if d.in_dest else None,
                "in_source": d.in_source,
                "in_destination": d.in_dest,
            }
            for d in p.differences
        ],
        "plan": plan_document(p.plan),
    }
