"""The table of commands: each lives in its own module, imported only when it runs.

``assistops --help`` and shell completion read the summaries below and import no command, so
they stay quick; ``assistops plan`` imports the plan command and what it uses, not the backend
of ``serve`` or the writers of ``apply``. A test checks each summary against its command.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class Entry:
    """Where a command lives, its one-line summary for the command list, and whether it opens
    a provider (then the collector is held until it has: ``assistops/startup.py``)."""

    module: str
    attribute: str
    summary: str
    opens_provider: bool = False


COMMANDS: dict[str, Entry] = {
    "init": Entry(
        "assistops.cli.init",
        "init",
        "Create a new project in DIRECTORY (default: here) that validates out of the box.",
    ),
    "validate": Entry(
        "assistops.cli.validate",
        "validate",
        "Check declarations, templates, files and schemas offline (no API key, no network).",
    ),
    "render": Entry(
        "assistops.cli.render",
        "render",
        "Print the request bodies for each resource (or only NAMES), references as ${address}.",
    ),
    "plan": Entry(
        "assistops.cli.plan",
        "plan",
        "Compare the declarations with live state in ENV and show what apply would change.",
        opens_provider=True,
    ),
    "show": Entry(
        "assistops.cli.show",
        "show",
        "Show plans saved with 'plan --out' (or 'promote --out'), as they were made.",
    ),
    "status": Entry(
        "assistops.cli.status",
        "status",
        "Show what runs in ENV: each resource with its provider id, the revision its last apply "
        "recorded, when that was, and whether it matches the declarations or drifted.",
        opens_provider=True,
    ),
    "apply": Entry(
        "assistops.cli.apply",
        "apply",
        "Make ENV match the declarations, then verify that a fresh plan is empty.",
        opens_provider=True,
    ),
    "destroy": Entry(
        "assistops.cli.apply",
        "destroy",
        "Delete everything assistops manages in ENV (nothing else is touched).",
        opens_provider=True,
    ),
    "promote": Entry(
        "assistops.cli.promote",
        "promote",
        "Deploy to DST exactly what SRC runs, and refuse unless that is provable.",
        opens_provider=True,
    ),
    "test": Entry(
        "assistops.cli.test",
        "test",
        "Run the conversation tests (<assistant>/tests/*.yaml) against what ENV runs.",
        opens_provider=True,
    ),
    "chat": Entry(
        "assistops.cli.chat",
        "chat",
        "Talk to the assistant NAME as ENV runs it.",
        opens_provider=True,
    ),
    "import": Entry(
        "assistops.cli.import_",
        "import_",
        "Write ASSISTANT_ID (and its vector store and files) as declarations, then tag it.",
        opens_provider=True,
    ),
    "export": Entry(
        "assistops.cli.export",
        "export",
        "Write assistants as a new project in DIRECTORY whose plan is empty.",
        opens_provider=True,
    ),
    "serve": Entry(
        "assistops.cli.serve",
        "serve",
        "Serve the local backend over HTTP until interrupted (Ctrl-C).",
    ),
    "completion": Entry(
        "assistops.cli.completion",
        "completion",
        "Print the completion script of SHELL (bash, zsh or fish).",
    ),
}


def load(name: str) -> click.Command:
    """The command called ``name`` (its module imported now)."""
    entry = COMMANDS[name]
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    assert isinstance(command, click.Command)
    return command
