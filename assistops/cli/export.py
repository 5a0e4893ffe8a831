"""``assistops export``: write live assistants as a new project that plans clean."""

from __future__ import annotations

from pathlib import Path

import click

from assistops.adopt.exporter import export_account, export_project
from assistops.cli.adoption import print_outcome
from assistops.cli.console import make_console

ACCOUNT_ENV = "default"


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-C",
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project whose environment to export (default: the one here).",
)
@click.option(
    "-e", "--env", "env", help="Environment (default: local, or 'default' for an account export)."
)
@click.option("--project", "name", help="Account export: the new project's name.")
@click.option("--base-url", help="Account export: the server to read (Assistants-compatible).")
@click.option("--api-key-env", help="Account export: the variable holding the API key.")
@click.option(
    "--files-from",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding copies of files the service cannot return, matched by name and size.",
)
def export(
    directory: Path,
    source: Path | None,
    env: str | None,
    name: str | None,
    base_url: str | None,
    api_key_env: str | None,
    files_from: Path | None,
) -> None:
    """Write assistants as a new project in DIRECTORY whose plan is empty.

    With -C PROJECT -e ENV: what PROJECT manages in ENV. With --project NAME (and --base-url,
    --api-key-env): every assistant of the account; untagged ones are adopted (tagged for the
    new project), ones managed by other projects are skipped.
    """
    account = source is None and (name is not None or base_url or api_key_env)
    if account:
        if name is None:
            raise click.UsageError("an account export needs --project NAME for the new project")
        outcome = export_account(
            directory,
            project=name,
            environment=env or ACCOUNT_ENV,
            base_url=base_url,
            api_key_env=api_key_env,
            files_from=files_from,
        )
    else:
        if base_url or api_key_env:
            raise click.UsageError(
                "--base-url and --api-key-env are for an account export; with -C the "
                "environment's own settings are used"
            )
        outcome = export_project(
            directory, source or Path("."), env or "local", files_from=files_from, name=name
        )
    print_outcome(make_console(), outcome, verb="Exported")
