"""Options shared by the commands, defined once so that they mean the same everywhere.

Every command takes the global options (``-C/--chdir``, ``--no-color``, ``--debug``) before or
after its name; ``docs/cli.md`` has the table. What they set for one run lives in a
:class:`Run` that the group creates in ``main``.
"""

from __future__ import annotations

import inspect
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])

#: Names ``-e`` falls back to when it is not given on the command line.
ENV_VARIABLE = "ASSISTOPS_ENV"


@dataclass
class Run:
    """What the global options set for one invocation of the CLI."""

    start: Path = field(default_factory=Path.cwd)  # where the user started, for shown paths
    no_color: bool = False
    debug: bool = False
    json: bool = False  # --format json: errors are printed as JSON on stdout


_RUN: ContextVar[Run | None] = ContextVar("assistops_run", default=None)


def current() -> Run:
    """The settings of the invocation in progress (defaults outside one)."""
    run = _RUN.get()
    if run is None:
        run = Run()
        _RUN.set(run)
    return run


@contextmanager
def invocation() -> Iterator[Run]:
    """A fresh :class:`Run` for one invocation; the working folder is restored afterwards,
    since ``-C`` changes it (the tests run many invocations in one process)."""
    run = Run()
    token = _RUN.set(run)
    try:
        yield run
    finally:
        os.chdir(run.start)
        _RUN.reset(token)


def shown_path(path: Path) -> str:
    """``path`` as the user should type it from where they started (``-C`` aside): relative
    when it is inside that folder, else absolute."""
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    start = current().start.resolve()
    if absolute.is_relative_to(start):
        return absolute.relative_to(start).as_posix() or "."
    if path.is_absolute():
        return str(path)
    return os.path.relpath(absolute, start)


def command(words: str) -> str:
    """``assistops WORDS`` as the user can paste it from where they started: with ``-C`` when
    this run changed folder."""
    here, start = Path.cwd().resolve(), current().start.resolve()
    if here == start:
        return f"assistops {words}"
    return f"assistops -C {shlex.quote(os.path.relpath(here, start))} {words}"


def _chdir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    # cumulative, like git: "-C a -C b" runs in a/b
    if value is not None:
        os.chdir(value)


def _no_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        current().no_color = True


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        current().debug = True


def global_options(func: F) -> F:
    """``-C/--chdir DIR``, ``--no-color`` and ``--debug``: accepted by the group and by every
    command, so ``assistops -C DIR plan`` and ``assistops plan -C DIR`` are the same."""
    func = click.option(
        "-C",
        "--chdir",
        "--project",
        "chdir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        callback=_chdir,
        expose_value=False,
        is_eager=True,
        metavar="DIR",
        help="Run as if started in DIR (assistops.yaml is searched there and upwards).",
    )(func)
    func = click.option(
        "--no-color",
        is_flag=True,
        callback=_no_color,
        expose_value=False,
        help="No colour (also: NO_COLOR set, TERM=dumb, or output not a terminal).",
    )(func)
    func = click.option(
        "--debug",
        is_flag=True,
        callback=_debug,
        expose_value=False,
        help="Show the traceback of an error.",
    )(func)
    return func


def _json_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value == "json":
        current().json = True
    return value


def format_option(*choices: str, default: str) -> Callable[[F], F]:
    """``--format``: output format (with ``json``, errors are JSON on stdout too)."""

    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            callback=_json_format,
            is_eager=True,  # before other options fail, so that their errors are JSON too
            help="Output format.",
        )(func)

    return decorate


def complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The environments the project declares (the one found from here, or from ``-C``)."""
    from assistops import api

    try:
        project = api.load(Path("."))
    except Exception:  # completion never fails loudly: it offers nothing
        return []
    return [
        CompletionItem(name, help=env.provider)
        for name, env in project.config.environments.items()
        if name.startswith(incomplete)
    ]


def complete_addresses(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Resource addresses (and logical names) declared for the environment being completed."""
    from assistops import api

    try:
        names = api.addresses(Path("."), ctx.params.get("env"))
    except Exception:  # completion never fails loudly: it offers nothing
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def env_option(func: F) -> F:
    """``-e/--env ENV``: the environment (default: $ASSISTOPS_ENV, else the first declared)."""
    return click.option(
        "-e",
        "--env",
        "env",
        default=None,
        envvar=ENV_VARIABLE,
        metavar="ENV",
        shell_complete=complete_environments,
        help="Environment declared in assistops.yaml (default: $ASSISTOPS_ENV, else the first "
        "one declared).",
    )(func)


def target_option(func: F) -> F:
    """``--target ADDRESS`` (repeatable)."""
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        shell_complete=complete_addresses,
        help="Only this resource (an address or a name) and what it depends on (repeatable).",
    )(func)


def examples(*lines: str) -> Callable[[F], F]:
    """Append an ``Examples:`` section to a command's help page."""
    block = "\n".join(f"  {line}" for line in lines)

    def decorate(func: F) -> F:
        doc = inspect.cleandoc(func.__doc__ or "")
        # \b keeps click from re-wrapping the example lines
        func.__doc__ = f"{doc}\n\nExamples:\n\n\b\n{block}\n"
        return func

    return decorate
