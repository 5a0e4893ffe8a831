"""``assistops import``: adopt an existing, untagged assistant into the project."""

from __future__ import annotations

from pathlib import Path

import click

from assistops import api
from assistops.adopt.importer import import_assistant
from assistops.cli.adoption import print_outcome
from assistops.cli.console import make_console
from assistops.cli.options import env_option, examples, global_options


@click.command("import")
@env_option
@click.argument("assistant_id")
@click.option("--name", help="Logical name to give it (default: derived from its name).")
@click.option(
    "--files-from",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding copies of files the service cannot return (code-interpreter files), "
    "matched by name and size.",
)
@global_options
@examples(
    "assistops import -e prod asst_abc123",
    "assistops import -e prod asst_abc123 --name support --files-from ./originals",
)
def import_(env: str | None, assistant_id: str, name: str | None, files_from: Path | None) -> None:
    """Write ASSISTANT_ID (and its vector store and files) as declarations, then tag it.

    The assistant keeps its id; afterwards 'assistops plan' shows no changes for it.
    """
    environment = api.environment_name(api.load(Path(".")), env)
    outcome = import_assistant(
        Path("."), environment, assistant_id, name=name, files_from=files_from
    )
    print_outcome(make_console(), outcome, verb="Imported")
