"""``assistops status``: what assistops manages in an environment, and whether it matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import command, env_option, examples, format_option, global_options
from assistops.engine.plan import Plan, ResourceChange
from assistops.output.common import plural

#: What each plan action says about a resource's state.
STATES = {
    "no-op": "in sync",
    "create": "not created yet",
    "update": "differs (apply updates it)",
    "replace": "differs (apply replaces it)",
    "delete": "no longer declared (apply deletes it)",
}


def state_of(rc: ResourceChange) -> str:
    """One phrase for a resource's state."""
    if rc.duplicate:
        return "duplicate (apply deletes it)"
    text = STATES.get(rc.action, rc.action)
    return f"changed outside assistops; {text}" if rc.drift else text


def status_document(plan: Plan) -> dict[str, Any]:
    """What ``status --format json`` prints (docs/cli.md)."""
    return {
        "format_version": 1,
        "project": plan.project,
        "environment": plan.environment,
        "provider": plan.provider,
        "endpoint": plan.endpoint,
        "in_sync": not plan.has_changes,
        "resources": [
            {
                "address": r.address,
                "kind": r.kind,
                "id": r.id,
                "action": r.action,
                "drift": r.drift,
                "state": state_of(r),
            }
            for r in plan.resources
        ],
    }


@click.command()
@env_option
@format_option("text", "json", default="text")
@global_options
@examples("assistops status", "assistops status -e prod --format json")
def status(env: str | None, fmt: str) -> None:
    """List what assistops manages in ENV, with each resource's id and state.

    Read-only, like plan; exits 0 whether or not the environment is in sync (use
    'plan --detailed-exitcode' to gate on that).
    """
    plan = api.plan(Path("."), env)
    if fmt == "json":
        click.echo(json.dumps(status_document(plan), indent=2, sort_keys=True))
        return
    out = make_console()
    out.print(f"{plan.project} / {plan.environment}: provider {plan.provider_label}", markup=False)
    rows = [(r.address, r.id or "-", state_of(r)) for r in plan.resources]
    width = max((len(a) for a, _, _ in rows), default=0)
    id_width = max((len(i) for _, i, _ in rows), default=0)
    for address, ident, state in rows:
        out.print(f"  {address.ljust(width)}  {ident.ljust(id_width)}  {state}", markup=False)
    pending = len(plan.changes)
    if not plan.has_changes:
        out.print(f"In sync: {plural(len(rows), 'resource')} match the declarations.", markup=False)
    else:
        out.print(
            f"{plural(pending, 'resource')} of {len(rows)} differ; see the changes with: "
            + command(f"plan -e {plan.environment}"),
            markup=False,
        )
