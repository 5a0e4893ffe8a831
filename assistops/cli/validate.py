"""``assistops validate``: check the declarations offline, reporting every problem."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import format_option, project_option


@click.command()
@project_option
@click.option("-e", "--env", "envs", multiple=True, help="Environment to check (default: all).")
@format_option("text", "json", default="text")
def validate(project: Path, envs: tuple[str, ...], fmt: str) -> None:
    """Check declarations, templates, files and schemas offline (no API key, no network)."""
    report = api.validate(project, list(envs) or None)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "valid": report.ok,
                    "project": report.project,
                    "environments": report.environments,
                    "problems": [
                        {
                            "file": p.file,
                            "line": p.line,
                            "field": p.field,
                            "message": p.message,
                            "hint": p.hint,
                        }
                        for p in report.problems
                    ],
                },
                indent=2,
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
