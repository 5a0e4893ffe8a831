"""Load the JSON Schema files that function tools and response formats reference.

A schema may be written inline or as the project-relative path of a ``.json``/``.yaml`` file.
Files are parsed with the strict YAML loader (JSON is YAML 1.2, and we keep line numbers), but a
``.json`` file must also be real JSON: editors and other tools read it as such, and YAML would
quietly accept trailing commas and comments.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from assistops.config.project import unsafe_pattern
from assistops.config.yamlio import Document, parse_yaml
from assistops.errors import ConfigError, Problem


class SchemaFiles:
    """Reads each schema file once per run; reports problems at every place that uses it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, Document | Problem | str] = {}

    def load(
        self, ref: str, origin: tuple[str, int | None], field: str
    ) -> tuple[Document | None, list[Problem]]:
        """The parsed schema file ``ref`` referenced at ``origin`` (file, line) by ``field``."""
        file, line = origin
        why = unsafe_pattern(ref)
        if why:
            return None, [Problem(file, line, field, why, "write the path inside the project")]
        if ref not in self._cache:
            self._cache[ref] = self._read(ref)
        entry = self._cache[ref]
        if isinstance(entry, str):  # the reference is wrong: point at it
            hint = "paths are relative to the project root (where assistops.yaml is)"
            return None, [Problem(file, line, field, entry, hint)]
        if isinstance(entry, Problem):  # the file is wrong: point inside it
            return None, [dataclasses.replace(entry, field=field)]
        if not isinstance(entry.data, dict):
            return None, [
                Problem(
                    ref,
                    1,
                    field,
                    "a JSON Schema must be an object",
                    'write it as {"type": "object", "properties": {...}}',
                )
            ]
        return entry, []

    def _read(self, ref: str) -> Document | Problem | str:
        path = self.root / ref
        if not path.is_file():
            return f"schema file '{ref}' does not exist"
        if not path.resolve().is_relative_to(self.root):
            return f"'{ref}' is a symlink to a file outside the project"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot read schema file '{ref}': {exc}"
        if path.suffix == ".json":
            problem = _json_problem(text, ref)
            if problem is not None:
                return problem
        try:
            return parse_yaml(text, ref)
        except ConfigError as exc:
            return exc.problems[0]


def _json_problem(text: str, ref: str) -> Problem | None:
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        return Problem(
            ref,
            exc.lineno,
            "",
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            "fix the JSON syntax; .json files allow no trailing commas and no comments",
        )
    except _Duplicate:
        return None  # the YAML loader names both lines of the duplicate key
    return None


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate
    return dict(pairs)
