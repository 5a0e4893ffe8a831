"""``assistops validate``: check the declarations offline, reporting every problem."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import (
    complete_environments,
    examples,
    format_option,
    global_options,
)
from assistops.errors import Problem


@click.command()
@click.option(
    "-e",
    "--env",
    "envs",
    multiple=True,
    metavar="ENV",
    shell_complete=complete_environments,
    help="Environment to check (repeatable; default: every declared one).",
)
@format_option("text", "json", default="text")
@global_options
@examples(
    "assistops validate",
    "assistops validate -e prod -e staging",
    "assistops validate --format json | jq '.problems[]'",
)
def validate(envs: tuple[str, ...], fmt: str) -> None:
    """Check declarations, templates, files and schemas offline (no API key, no network).

    Every problem is reported at once, with its file, line, field and a fix.
    """
    report = api.validate(Path("."), list(envs) or None)
    if fmt == "json":
        err = make_console(stderr=True)
        for problem in report.problems:  # people read stderr, as with every command's errors
            err.print(problem.format(), markup=False)
        n = len(report.problems)
        failed = {
            "error": {
                "code": "config",
                "message": f"{n} problem{'s' if n != 1 else ''} found",
                "problems": [_problem(p) for p in report.problems],
            },
            "exit_code": 1,
        }
        click.echo(
            json.dumps(
                {
                    **({} if report.ok else failed),
                    "valid": report.ok,
                    "project": report.project,
                    "environments": report.environments,
                    "problems": [_problem(p) for p in report.problems],
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        out = make_console()
        err = make_console(stderr=True)
        for problem in report.problems:
            err.print(problem.format(), markup=False)
        if report.ok:
            envs_text = ", ".join(report.environments)
            out.print(
                f"{report.project}: valid in {len(report.environments)} environment"
                f"{'s' if len(report.environments) != 1 else ''} ({envs_text})",
                markup=False,
            )
        else:
            n = len(report.problems)
            err.print(f"{n} problem{'s' if n != 1 else ''} found.", markup=False)
    if not report.ok:
        raise SystemExit(1)


def _problem(p: Problem) -> dict[str, object]:
    return {"file": p.file, "line": p.line, "field": p.field, "message": p.message, "hint": p.hint}
