"""``assistops status``: what runs in an environment (or in all of them), at which revision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import env_option, examples, format_option, global_options
from assistops.output.status import (
    all_envs_document,
    all_envs_text,
    status_document,
    status_text,
)


@click.command()
@env_option
@click.option(
    "--all-envs",
    is_flag=True,
    help="Every declared environment side by side: the revision each runs, against HEAD.",
)
@format_option("text", "json", default="text")
@global_options
@examples(
    "assistops status",
    "assistops status -e prod --format json",
    "assistops status --all-envs            # which environment runs which revision",
)
def status(env: str | None, all_envs: bool, fmt: str) -> None:
    """Show what runs in ENV: each resource with its provider id, the revision its last apply
    recorded, when that was, and whether it matches the declarations or drifted.

    Read-only, like plan; exits 0 whether or not the environment is in sync (use
    'plan --detailed-exitcode' to gate on that).
    """
    out = make_console()
    if all_envs:
        if (
            env is not None
            and click.get_current_context().get_parameter_source("env")
            is click.core.ParameterSource.COMMANDLINE
        ):
            raise click.UsageError("--all-envs shows every environment; drop -e")
        everything = api.status_all(Path("."))
        if fmt == "json":
            click.echo(json.dumps(all_envs_document(everything), indent=2, sort_keys=True))
        else:
            out.print(all_envs_text(everything), markup=False, end="")
        return
    found = api.status(Path("."), env)
    if fmt == "json":
        click.echo(json.dumps(status_document(found), indent=2, sort_keys=True))
        return
    out.print(status_text(found), markup=False, end="")
