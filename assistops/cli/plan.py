"""``assistops plan``: show what apply would change, without changing anything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import env_option, format_option, project_option, target_option
from assistops.engine.plan import Plan
from assistops.engine.saved_plan import write_plan
from assistops.output import render_json, render_markdown, render_text


def show_plan(plan: Plan, fmt: str, *, color: bool | None = None) -> str:
    """The plan in the requested format."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    use_color = sys.stdout.isatty() and "NO_COLOR" not in os.environ if color is None else color
    return render_text(plan, color=use_color)


@click.command()
@project_option
@env_option
@target_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to FILE; 'assistops apply FILE' applies exactly it.",
)
@format_option("text", "json", "markdown", default="text")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
)
@click.option("--destroy", is_flag=True, help="Plan the removal of everything managed.")
@click.option("--no-color", is_flag=True, help="No colour in text output.")
def plan(
    project: Path,
    env: str,
    targets: tuple[str, ...],
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    destroy: bool,
    no_color: bool,
) -> None:
    """Compare the declarations with live state in ENV and show the changes."""
    result = api.plan(project, env, api.PlanOptions(targets=targets, destroy=destroy))
    click.echo(show_plan(result, fmt, color=False if no_color else None), nl=False)
    if out is not None:
        write_plan(render_json(result), out)
        make_console(stderr=True).print(
            f"Saved the plan to {out}. Apply exactly it with: assistops apply {out}", markup=False
        )
    if detailed_exitcode and result.has_changes:
        raise SystemExit(2)
