"""The list of commands; each lives in its own module and is added to the group here."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
