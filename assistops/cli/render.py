"""``assistops render``: print exactly what would be sent for each resource."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from assistops import engine
from assistops.cli.options import format_option, project_option


@click.command()
@project_option
@click.option("-e", "--env", "env", required=True, help="Environment to render.")
@click.argument("names", nargs=-1)
@format_option("yaml", "json", default="yaml")
def render(project: Path, env: str, names: tuple[str, ...], fmt: str) -> None:
    """Print the request bodies for each resource (or only NAMES), references as ${address}."""
    payloads = engine.payloads(project, env, list(names) or None)
    if names and not payloads:
        raise click.UsageError(f"nothing declared is named {', '.join(names)}")
    if fmt == "json":
        click.echo(json.dumps(payloads, indent=2, ensure_ascii=False))
        return
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump([_literal(p) for p in payloads], buffer)
    click.echo(buffer.getvalue(), nl=False)


def _literal(value: Any) -> Any:
    """Multi-line strings as YAML block scalars, so instructions read as written."""
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value
