"""``assistops show PLAN_FILE...``: saved plans as text or Markdown, without a provider."""

from __future__ import annotations

from pathlib import Path

import click

from assistops import api
from assistops.cli.options import examples, format_option, global_options
from assistops.cli.plan import UNFOLDED, show_plan
from assistops.output import render_markdown_many
from assistops.output.common import DEFAULT_MAX_LINES


@click.command()
@click.argument(
    "plan_files",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLAN_FILE...",
)
@format_option("text", "markdown", default="text")
@click.option("--full", is_flag=True, help="Do not fold long values (instructions, schemas).")
@global_options
@examples(
    "assistops show plan.json",
    "assistops show staging.json prod.json --format markdown > comment.md",
)
def show(plan_files: tuple[Path, ...], fmt: str, full: bool) -> None:
    """Show plans saved with 'plan --out' (or 'promote --out'), as they were made.

    No provider is opened, so a job without credentials can render plans that other jobs
    made. With several files and --format markdown, one document opens with a summary line
    per environment (breaking changes and deletes marked) and stays under GitHub's comment
    size limit: the sticky pull-request comment of the deploy workflow
    (docs/github-actions.md).
    """
    plans = api.saved_plans(list(plan_files))
    if fmt == "markdown":
        max_lines = UNFOLDED if full else DEFAULT_MAX_LINES
        click.echo(render_markdown_many(plans, max_lines=max_lines), nl=False)
        return
    click.echo("\n".join(show_plan(p, "text", full=full) for p in plans), nl=False)
