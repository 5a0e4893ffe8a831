"""The ``assistops`` command group and the error boundary around every command.

Exit codes (``docs/cli.md``): 0 success, 2 changes (only ``plan --detailed-exitcode``), 1 every
error, usage errors included: click's own code for those is 2, which a CI job reading
``--detailed-exitcode`` would take for "there are changes".
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from assistops import __version__, startup
from assistops.cli.commands import COMMANDS, load
from assistops.cli.console import use_color
from assistops.cli.options import current, examples, global_options, invocation
from assistops.errors import AssistopsError, ConfigError, Problem

#: The ``code`` of an error document for usage errors (the others are named by their class).
USAGE = "usage"


def error_code(exc: BaseException) -> str:
    """``ConfigError`` -> ``config``, ``StalePlanError`` -> ``stale_plan``: the JSON ``code``."""
    if isinstance(exc, click.UsageError):
        return USAGE
    name = type(exc).__name__.removesuffix("Error") or "assistops"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_document(exc: BaseException, message: str) -> dict[str, Any]:
    """The JSON printed on stdout for an error under ``--format json`` (docs/cli.md)."""
    problems: list[Problem] = exc.problems if isinstance(exc, ConfigError) else []
    return {
        "error": {
            "code": error_code(exc),
            "message": message,
            "problems": [
                {
                    "file": p.file,
                    "line": p.line,
                    "field": p.field,
                    "message": p.message,
                    "hint": p.hint,
                }
                for p in problems
            ],
        },
        "exit_code": 1,
    }


def _wants_json(args: Sequence[str]) -> bool:
    """``--format json`` on the command line, for errors raised before it is parsed."""
    for i, arg in enumerate(args):
        if arg == "--format=json" or (arg == "--format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


def _report(exc: BaseException, message: str, args: Sequence[str], after: str = "") -> None:
    run = current()
    if run.debug and not isinstance(exc, click.UsageError):
        traceback.print_exception(exc)
    label = click.style("Error:", fg="red", bold=True) if use_color(sys.stderr) else "Error:"
    click.echo(f"{label} {message}{after}", err=True)
    if run.json or _wants_json(args):
        click.echo(json.dumps(error_document(exc, message), indent=2, sort_keys=True))


class AssistopsGroup(click.Group):
    """Runs one command and turns any error into one clear message and exit code 1.

    Commands come from ``cli.commands``: listed from its table, imported when one runs.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, in the table's order."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, imported now; None for an unknown name (click says so)."""
        if cmd_name not in COMMANDS:
            return None
        command = load(cmd_name)
        startup.settled(more_to_come=COMMANDS[cmd_name].opens_provider)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the summaries (no command imported)."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            # a placeholder command shortens the summary exactly as click does its own
            (name, click.Command(name, help=entry.summary).get_short_help_str(limit))
            for name, entry in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI and exit: 0, 2 (``--detailed-exitcode``) or 1 for every error."""
        argv = list(sys.argv[1:] if args is None else args)
        with invocation():
            try:
                code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            except click.UsageError as exc:
                hint = ""
                if exc.ctx is not None and exc.cmd is not None:
                    hint = (
                        f"\nTry '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}' for help."
                    )
                _report(exc, exc.format_message(), argv, hint)
                code = 1
            except click.ClickException as exc:
                _report(exc, exc.format_message(), argv)
                code = 1
            except click.Abort:
                click.echo("\nAborted: nothing more was done.", err=True)
                code = 1
            except AssistopsError as exc:
                _report(exc, str(exc), argv)
                code = 1
            except OSError as exc:  # a file that cannot be written, a folder that is gone
                _report(
                    exc,
                    f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc),
                    argv,
                )
                code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=AssistopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.version_option(__version__, prog_name="assistops")
@examples(
    "assistops init my-assistants && cd my-assistants",
    "assistops validate",
    "assistops plan -e local",
    "assistops apply -e local",
)
def cli() -> None:
    """Infrastructure-as-code for AI assistants.

    Options before or after a command mean the same: -C DIR, --no-color, --debug. Exit
    codes: 0 success, 2 changes (plan --detailed-exitcode only), 1 any error.
    """


def main() -> None:
    """Console-script entry point."""
    startup.hold_collection()
    cli(prog_name="assistops")
