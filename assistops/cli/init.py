"""``assistops init``: scaffold a new project."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from assistops.cli.console import make_console
from assistops.scaffold import init_project


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--name", help="Project name (default: the folder's name).")
def init(directory: Path, name: str | None) -> None:
    """Create a new project in DIRECTORY (default: here) that validates out of the box."""
    written = init_project(directory, name)
    out = make_console()
    for path in written:
        out.print(f"  created {path}", markup=False)
    folder = shlex.quote(str(directory))  # a folder name with spaces must paste as one word
    out.print(
        f"\nNext: cd {folder} && assistops validate && assistops apply -e local", markup=False
    )
