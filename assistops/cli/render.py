"""``assistops render``: print exactly what would be sent for each resource; with
``--format responses`` (YAML) or ``responses-json``, the Responses request each assistant
becomes, and on stderr what a request cannot express."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import (
    complete_addresses,
    env_option,
    examples,
    format_option,
    global_options,
)

RESPONSES = ("responses", "responses-json")


@click.command()
@env_option
@click.argument("names", nargs=-1, shell_complete=complete_addresses)
@format_option("yaml", "json", *RESPONSES, default="yaml")
@global_options
@examples(
    "assistops render                        # every resource, first environment declared",
    "assistops render -e prod support        # one assistant by name (or address)",
    "assistops render -e prod --format responses-json",
)
def render(env: str | None, names: tuple[str, ...], fmt: str) -> None:
    """Print the request bodies for each resource (or only NAMES), references as ${address}.

    Offline: nothing is sent. NAMES are names (support) or addresses (assistant.support).
    --format responses (or responses-json) prints each assistant's Responses request
    instead, and on stderr what a request cannot express.
    """
    project = Path(".")
    if fmt in RESPONSES:
        _responses(project, env, names, fmt)
        return
    payloads = api.payloads(project, env, list(names) or None)
    if names and not payloads:
        raise click.UsageError(f"nothing declared is named {', '.join(names)}")
    _print(payloads, "json" if fmt == "json" else "yaml")


def _responses(project: Path, env: str | None, names: tuple[str, ...], fmt: str) -> None:
    found = api.responses_requests(project, env, list(names) or None)
    if found.unknown:
        raise click.UsageError(f"no assistant is named {', '.join(found.unknown)}")
    err = make_console(stderr=True)
    for note in found.notes:
        err.print(note.format(), markup=False)
    _print(found.requests, "json" if fmt == "responses-json" else "yaml")


def _print(payloads: list[Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(payloads, indent=2, ensure_ascii=False))
        return
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump([_literal(p) for p in payloads], buffer)
    click.echo(buffer.getvalue(), nl=False)


# ruamel quotes what YAML 1.2 would misread; readers of YAML 1.1 (PyYAML and many tools) also
# take no/on/yes as booleans and 12:30 as a number, so those strings are quoted too
_YAML11 = VersionedResolver(version=(1, 1))
_STR = "tag:yaml.org,2002:str"


def _literal(value: Any) -> Any:
    """Multi-line strings as YAML block scalars, so instructions read as written."""
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, str) and _YAML11.resolve(ScalarNode, value, (True, False)) != _STR:
        return SingleQuotedScalarString(value)
    if isinstance(value, dict):
        return {_literal(k): _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value
