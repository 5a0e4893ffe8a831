"""Declarations -> YAML a person would have written, checked to read back to the same data.

Multi-line strings become block scalars, strings that some YAML reader could take for another
type are quoted, and an optional first-line comment points editors at the JSON Schema. If the
pleasant form would not parse back identically (exotic whitespace, say), the plain quoted form
is used instead.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from assistops.config.yamlio import parse_yaml
from assistops.errors import ConfigError

_YAML11 = VersionedResolver(version=(1, 1))
_STR = "tag:yaml.org,2002:str"


def to_yaml(
    data: dict[str, Any],
    *,
    header: list[str] | None = None,
    notes: dict[str, str] | None = None,
) -> str:
    """``data`` as YAML; ``header`` lines and ``notes`` (a comment before a key) as comments."""
    pretty = _dump(_pleasant(data), header, notes)
    if _reads_back(pretty, data):
        return pretty
    plain = _dump(_plain(data), header, notes)
    if not _reads_back(plain, data):  # pragma: no cover - ruamel's double quotes are exact
        raise ValueError("value cannot be written as YAML")
    return plain


def _dump(data: Any, header: list[str] | None, notes: dict[str, str] | None) -> str:
    if header:
        data.yaml_set_start_comment("\n".join(header))
    for key, text in (notes or {}).items():
        if key in data:
            data.yaml_set_comment_before_after_key(key, before=text)
    yaml = YAML()
    # an explicit null says "reset what the defaults set": write it out, not as an empty value
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _reads_back(text: str, data: dict[str, Any]) -> bool:
    try:
        return bool(parse_yaml(text, "generated").data == data)
    except ConfigError:
        return False


def _pleasant(value: Any) -> Any:
    if isinstance(value, str):
        if "\n" in value and _block_safe(value):
            return LiteralScalarString(value)
        if _YAML11.resolve(ScalarNode, value, (True, False)) != _STR:
            return SingleQuotedScalarString(value)
        return value
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _pleasant(v)
        return out
    if isinstance(value, list):
        return CommentedSeq(_pleasant(v) for v in value)
    return value


def _block_safe(text: str) -> bool:
    # a block scalar cannot hold tabs before text on a line start or trailing spaces well
    return all(line == line.rstrip(" \t") for line in text.split("\n")) and "\r" not in text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _plain(v)
        return out
    if isinstance(value, list):
        return CommentedSeq(_plain(v) for v in value)
    return value
