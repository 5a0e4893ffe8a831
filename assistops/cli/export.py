"""``assistops export``: write live assistants as a new project that plans clean.

The options mean what they mean in every command: ``-C`` is the folder to run in (the source
project), ``-e`` its environment; ``--name`` names the new project, as in ``init``.
"""

from __future__ import annotations

from pathlib import Path

import click

from assistops import api
from assistops.adopt.exporter import export_account, export_project
from assistops.cli.adoption import print_outcome
from assistops.cli.console import make_console
from assistops.cli.options import env_option, examples, global_options

ACCOUNT_ENV = "default"


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@env_option
@click.option(
    "--account",
    is_flag=True,
    help="Export every assistant of an account (--base-url, --api-key-env), not a project's "
    "environment; -e then names the new environment (default: 'default').",
)
@click.option(
    "--name",
    "name",
    help="The new project's name (an account export needs it; a project export keeps its own).",
)
@click.option("--base-url", help="Account export: the server to read (Assistants-compatible).")
@click.option("--api-key-env", help="Account export: the variable holding the API key.")
@click.option(
    "--files-from",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding copies of files the service cannot return, matched by name and size.",
)
@global_options
@examples(
    "assistops export ../snapshot -e prod               # what this project runs in prod",
    "assistops -C acme export ../snapshot -e prod",
    "assistops export ./bootstrap --account --name bootstrap \\",
    "    --base-url https://api.example/v1 --api-key-env EXAMPLE_API_KEY",
)
def export(
    directory: Path,
    env: str | None,
    account: bool,
    name: str | None,
    base_url: str | None,
    api_key_env: str | None,
    files_from: Path | None,
) -> None:
    """Write assistants as a new project in DIRECTORY whose plan is empty.

    By default, what the project found here (or with -C) manages in ENV. With --account
    (implied by --base-url or --api-key-env): every assistant of the account; untagged ones
    are adopted (tagged for the new project), ones managed by other projects are skipped.
    DIRECTORY is relative to the folder -C names, like every path.
    """
    if account or base_url or api_key_env:
        if name is None:
            raise click.UsageError("an account export needs --name NAME for the new project")
        outcome = export_account(
            directory,
            project=name,
            environment=env or ACCOUNT_ENV,
            base_url=base_url,
            api_key_env=api_key_env,
            files_from=files_from,
        )
    else:
        environment = api.environment_name(api.load(Path(".")), env)
        outcome = export_project(
            directory, Path("."), environment, files_from=files_from, name=name
        )
    print_outcome(make_console(), outcome, verb="Exported")
