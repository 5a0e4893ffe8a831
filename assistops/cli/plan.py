"""``assistops plan``: show what apply would change, without changing anything."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from assistops import api
from assistops.cli.console import make_console, use_color
from assistops.cli.options import (
    command,
    env_option,
    examples,
    format_option,
    global_options,
    shown_path,
    target_option,
)
from assistops.engine.plan import Plan
from assistops.engine.saved_plan import write_plan
from assistops.output import render_json, render_markdown, render_text
from assistops.output.common import DEFAULT_MAX_LINES, plural

#: ``--full``: no value is folded (large enough for any instructions the limits allow).
UNFOLDED = 10**9


def show_plan(plan: Plan, fmt: str, *, color: bool | None = None, full: bool = False) -> str:
    """The plan in the requested format (colour by the CLI's rule unless ``color`` is given)."""
    if fmt == "json":
        return render_json(plan)
    max_lines = UNFOLDED if full else DEFAULT_MAX_LINES
    if fmt == "markdown":
        return render_markdown(plan, max_lines=max_lines)
    return render_text(plan, color=use_color() if color is None else color, max_lines=max_lines)


def target_note(plan: Plan) -> str | None:
    """What ``--target`` left out, said after the plan (None without targets)."""
    if not plan.targets:
        return None
    note = f"Note: --target limited this plan to {', '.join(plan.targets)} and what it needs"
    if plan.left_out:
        note += (
            f"; {plural(plan.left_out, 'other change')} of the project "
            f"{'is' if plan.left_out == 1 else 'are'} left out (plan without --target to see "
            f"{'it' if plan.left_out == 1 else 'them'})"
        )
    return note + "."


@click.command()
@env_option
@target_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Save the plan to FILE; 'assistops apply FILE' applies exactly it.",
)
@format_option("text", "json", "markdown", default="text")
@click.option("--full", is_flag=True, help="Do not fold long values (instructions, schemas).")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
)
@click.option("--destroy", is_flag=True, help="Plan the removal of everything managed.")
@global_options
@examples(
    "assistops plan                        # the first environment declared",
    "assistops plan -e prod --target support --full",
    "assistops plan -e prod --out plan.json && assistops apply plan.json",
    'assistops plan -e staging --format markdown >> "$GITHUB_STEP_SUMMARY"',
    "assistops plan -e prod --detailed-exitcode   # 0 no changes, 2 changes, 1 error",
)
def plan(
    env: str | None,
    targets: tuple[str, ...],
    out: Path | None,
    fmt: str,
    full: bool,
    detailed_exitcode: bool,
    destroy: bool,
) -> None:
    """Compare the declarations with live state in ENV and show what apply would change.

    Nothing is changed. Long values in creates are folded unless --full is given.
    """
    result = api.plan(Path("."), env, api.PlanOptions(targets=targets, destroy=destroy))
    click.echo(show_plan(result, fmt, full=full), nl=False)
    err = make_console(stderr=True)
    note = target_note(result)
    if note and fmt != "json":
        err.print(note, markup=False)
    if out is not None:
        write_plan(render_json(result), out)
        err.print(
            f"Saved the plan to {shown_path(out)}. Apply exactly it with: "
            + command(f"apply {shlex.quote(str(out))}"),
            markup=False,
        )
    if detailed_exitcode and result.has_changes:
        raise SystemExit(2)
