"""The ``assistops`` command group and the error boundary around every command."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from assistops import __version__
from assistops.cli.commands import COMMANDS
from assistops.errors import AssistopsError


class AssistopsGroup(click.Group):
    """Turns any assistops error into one clear message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistopsError as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=AssistopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="assistops")
def cli(debug: bool) -> None:
    """Infrastructure-as-code for AI assistants."""


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="assistops")
    sys.exit(0)
