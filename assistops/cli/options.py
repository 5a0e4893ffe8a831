"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def project_option(func: F) -> F:
    """``--project/-C DIR``: where to look for assistops.yaml (default: here and upwards)."""
    return click.option(
        "--project",
        "-C",
        "project",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="Project folder (assistops.yaml is searched here and in parent folders).",
    )(func)


def format_option(*choices: str, default: str) -> Callable[[F], F]:
    """``--format``: output format."""

    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help="Output format.",
        )(func)

    return decorate


def env_option(func: F) -> F:
    """``-e/--env ENV`` (default ``local``)."""
    return click.option(
        "-e",
        "--env",
        "env",
        default="local",
        show_default=True,
        help="Environment (declared in assistops.yaml).",
    )(func)


def target_option(func: F) -> F:
    """``--target ADDRESS`` (repeatable)."""
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        help="Limit to this resource and what it depends on (repeatable).",
    )(func)
