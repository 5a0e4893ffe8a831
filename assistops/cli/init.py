"""``assistops init``: scaffold a new project."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from assistops.cli.console import make_console
from assistops.cli.options import examples, global_options, shown_path
from assistops.scaffold import init_project


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--name", help="Project name (default: the folder's name).")
@global_options
@examples(
    "assistops init my-assistants",
    "assistops init . --name support-bots",
)
def init(directory: Path, name: str | None) -> None:
    """Create a new project in DIRECTORY (default: here) that validates out of the box.

    It declares one environment, local (the embedded backend: no key, no network); the
    environments are the ones assistops.yaml declares, and -e defaults to the first.
    """
    written = init_project(directory, name)
    out = make_console()
    for path in written:
        out.print(f"  created {shown_path(path)}", markup=False)
    folder = shown_path(directory)
    # a folder name with spaces must paste as one word; no 'cd' when it is where we are
    cd = "" if folder == "." else f"cd {shlex.quote(folder)} && "
    out.print(
        "\nIt declares one environment, local: the embedded backend (no key, no network)."
        f"\nNext: {cd}assistops validate && assistops plan && assistops apply",
        markup=False,
    )
