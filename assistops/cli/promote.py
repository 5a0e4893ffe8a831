"""``assistops promote --from SRC --to DST``: deploy to DST exactly what SRC runs."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from assistops import api
from assistops.cli.apply import Reporter, apply_document, apply_flags, report_outcome
from assistops.cli.console import make_console, use_color
from assistops.cli.options import (
    command,
    complete_environments,
    examples,
    format_option,
    global_options,
    shown_path,
)
from assistops.cli.plan import show_plan
from assistops.conversations.results import TestResult
from assistops.engine.saved_plan import write_plan
from assistops.errors import PlanError
from assistops.output import render_compact, render_json, test_report
from assistops.output.status import promotion_document, promotion_markdown, promotion_text


def _show(promotion: api.Promotion, fmt: str, *, full: bool = False) -> str:
    """The promotion's header and the destination's plan, in the requested format."""
    if fmt == "json":
        return json.dumps(promotion_document(promotion), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return promotion_markdown(promotion) + show_plan(promotion.plan, "markdown", full=full)
    return promotion_text(promotion) + show_plan(promotion.plan, "text", full=full)


def _tests_gate(here: Path, *, quiet: bool) -> api.TestsGate:
    """The gate of --require-tests: each test's line, and a failure's conversation, on stderr
    (stdout stays the plan, or the JSON document)."""
    err = make_console(stderr=True)

    def shown(result: TestResult) -> None:
        if quiet:
            return
        line = f"  {test_report.status_word(result)}  {result.id}  {result.duration_s:.2f}s"
        err.print(line, markup=False, highlight=False)
        if not result.passed:
            err.print(test_report.transcript(result), markup=False, highlight=False)

    if not quiet:
        err.print("Running the conversation tests of the source first:", markup=False)
    return api.TestsGate(here, on_result=shown)


def _confirm(*, auto_approve: bool, fmt: str, source: str, dest: str) -> api.PromoteConfirmFn:
    def confirm(promotion: api.Promotion) -> bool:
        plan = promotion.plan
        if auto_approve:
            if fmt != "json":
                click.echo(promotion_text(promotion), nl=False)
                click.echo(render_compact(plan, color=use_color()), nl=False)
            return True
        if not sys.stdin.isatty():
            raise PlanError(
                "refusing to promote without confirmation: standard input is not a terminal. "
                f"Review 'assistops promote --from {source} --to {dest} --out FILE', then run "
                f"'assistops apply FILE', or promote with --auto-approve"
            )
        click.echo(promotion_text(promotion), nl=False)
        click.echo(show_plan(plan, "text"), nl=False)
        answer = click.prompt(
            f"\nDo you want to promote revision {promotion.revision} from {source} to "
            f"{plan.project}/{dest}? Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    return confirm


@click.command()
@click.option(
    "--from",
    "source",
    required=True,
    metavar="SRC",
    shell_complete=complete_environments,
    help="The environment whose running revision is promoted (it must not have drifted).",
)
@click.option(
    "--to",
    "dest",
    required=True,
    metavar="DST",
    shell_complete=complete_environments,
    help="The environment that gets it.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Only plan DST and save the plan to FILE; 'assistops apply FILE' applies exactly it.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Only plan DST: exit 0 when it already runs this, 2 when it would change, 1 on error "
    "or refusal.",
)
@click.option("--full", is_flag=True, help="Do not fold long values in the plan.")
@click.option(
    "--require-tests",
    is_flag=True,
    help="Run SRC's conversation tests first (as 'assistops test -e SRC' does) and refuse on a "
    "failure.",
)
@apply_flags
@format_option("text", "json", "markdown", default="text")
@global_options
@examples(
    "assistops promote --from staging --to prod          # shows it, asks for 'yes'",
    "assistops promote --from staging --to prod --auto-approve",
    "assistops promote --from staging --to prod --out promote.json && assistops apply promote.json",
    "assistops promote --from staging --to prod --detailed-exitcode --format markdown",
    "assistops promote --from staging --to prod --require-tests --auto-approve",
)
def promote(
    source: str,
    dest: str,
    out: Path | None,
    detailed_exitcode: bool,
    full: bool,
    require_tests: bool,
    auto_approve: bool,
    allow_delete: bool,
    concurrency: int,
    fmt: str,
) -> None:
    """Deploy to DST exactly what SRC runs, and refuse unless that is provable.

    SRC must not have drifted, the working tree must render for SRC exactly what runs there
    (equal digests: an empty plan of SRC), and the revision SRC runs must be HEAD or one of
    its ancestors; then DST is planned from the same commit, and only the environments' own
    settings (variables, defaults, overrides, api, leave_out) may differ: they are shown.
    A refusal names each resource and why, and changes nothing.

    With --require-tests, SRC's conversation tests run once SRC is proven, and a failed one
    refuses the promotion (the failure's conversation is printed as 'test' prints it).

    With --out or --detailed-exitcode, DST is only planned (like 'plan'); otherwise it is
    applied as 'apply' does: the plan, the prompt (or --auto-approve), the protected flag
    (deletes need --allow-delete), then a verifying plan.
    """
    here = Path(".")
    gates = [_tests_gate(here, quiet=fmt == "json")] if require_tests else []
    if out is not None or detailed_exitcode:
        if auto_approve:
            raise click.UsageError(
                "--out and --detailed-exitcode only plan the promotion; drop --auto-approve "
                "(apply a saved plan with 'assistops apply FILE')"
            )
        promotion = api.promotion_plan(here, source, dest, gates=gates)
        click.echo(_show(promotion, fmt, full=full), nl=False)
        if out is not None:
            write_plan(render_json(promotion.plan), out)
            make_console(stderr=True).print(
                f"Saved the plan to {shown_path(out)}. Apply exactly it with: "
                + command(f"apply {shlex.quote(str(out))}"),
                markup=False,
            )
        if detailed_exitcode and promotion.plan.has_changes:
            raise SystemExit(2)
        return
    if fmt == "markdown":
        raise click.UsageError(
            "--format markdown shows a plan: add --out FILE or --detailed-exitcode"
        )
    if fmt == "json" and not auto_approve:
        raise click.UsageError("--format json needs --auto-approve: machine output has no prompt")
    with Reporter(quiet=fmt == "json") as reporter:
        options = api.ApplyOptions(
            allow_delete=allow_delete, concurrency=concurrency, on_event=reporter
        )
        confirm = _confirm(auto_approve=auto_approve, fmt=fmt, source=source, dest=dest)
        done = api.promote(here, source, dest, confirm=confirm, options=options, gates=gates)
    outcome = done.outcome
    if outcome.result is None and fmt != "json":
        click.echo(promotion_text(done.promotion), nl=False)

    def document() -> dict[str, Any]:
        return {
            **apply_document(outcome, "promote"),
            "promotion": promotion_document(done.promotion),
        }

    report_outcome(outcome, verb="promote", destroy=False, fmt=fmt, document=document)
