"""Logical names, and where adopted objects' files go in a project."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistops.config.models import NAME_PATTERN
from assistops.config.project import Project

_NAME_MAX = 64
_WILDCARDS = set("*?[")


def slug(text: str | None, fallback: str) -> str:
    """A valid logical name from a display name ("Acme Support" -> ``acme-support``)."""
    base = re.sub(r"[^a-z0-9_-]+", "-", (text or "").lower()).strip("-_")[:_NAME_MAX]
    base = base.rstrip("-_")
    if not base or not re.match(NAME_PATTERN, base):
        base = re.sub(r"[^a-z0-9_-]+", "-", fallback.lower()).strip("-_")[:_NAME_MAX]
    return base or "imported"


def unique(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken."""
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: _NAME_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def is_name(name: str) -> bool:
    """True when ``name`` is a valid logical name."""
    return re.match(NAME_PATTERN, name) is not None


def place(patterns: list[str], name: str, default: str) -> str:
    """A project-relative path for ``name`` that the first usable pattern matches.

    ``assistants/*/assistant.yaml`` -> ``assistants/<name>/assistant.yaml`` (a ``**`` segment
    becomes ``<name>`` too). ``default`` (with ``{name}``) is used when no pattern fits.
    """
    for pattern in patterns:
        out: list[str] = []
        used = False
        for part in pattern.split("/"):
            if part == "**" and not used:
                out.append(name)
                used = True
                continue
            if not _WILDCARDS & set(part):
                out.append(part)
                continue
            if used or part.count("*") != 1 or "?" in part or "[" in part:
                break
            out.append(part.replace("*", name))
            used = True
        else:
            candidate = "/".join(out)
            if used and fnmatch.fnmatchcase(candidate, pattern):
                return candidate
    return default.format(name=name)


def safe_basename(filename: str | None, fallback: str) -> str:
    """The last component of an uploaded file's name, safe to write and to glob."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    return base or fallback


SCHEMA_FILES = {
    "project": "project.schema.json",
    "assistant": "assistant.schema.json",
    "vector_store": "vector-store.schema.json",
}


@dataclass(frozen=True)
class Layout:
    """Where declarations go in the target project, and what its defaults set."""

    root: Path
    assistants: list[str]
    knowledge: list[str]
    schemas: Path | None  # the folder of published JSON Schemas, when one is reachable
    defaults: frozenset[str]  # assistant fields set by the project's or environment's defaults

    @classmethod
    def of(cls, project: Project, environment: str) -> Layout:
        """The layout of ``project`` as seen from ``environment``."""
        fields: set[str] = set()
        for defaults in (project.config.defaults, project.environment(environment).defaults):
            if defaults is not None:
                fields.update(defaults.model_fields_set)
        paths = project.config.paths
        return cls(
            project.root,
            paths.assistants,
            paths.knowledge,
            find_schemas(project.root),
            frozenset(fields),
        )

    def assistant_file(self, name: str) -> str:
        """Where assistant ``name`` is declared (following ``paths.assistants``)."""
        return place(self.assistants, name, "assistants/{name}/assistant.yaml")

    def store_file(self, name: str) -> str:
        """Where vector store ``name`` is declared (following ``paths.knowledge``)."""
        return place(self.knowledge, name, "knowledge/{name}.yaml")

    def header(self, rel: str, kind: str) -> list[str] | None:
        """The ``yaml-language-server`` comment for a file at ``rel``, if schemas are reachable."""
        if self.schemas is None:
            return None
        folder = (self.root / rel).parent
        target = os.path.relpath(self.schemas / SCHEMA_FILES[kind], folder)
        return [f"yaml-language-server: $schema={PurePosixPath(Path(target)).as_posix()}"]


def find_schemas(root: Path) -> Path | None:
    """The nearest ``schemas/`` at or above ``root`` holding assistops' JSON Schemas."""
    for folder in (root.resolve(), *root.resolve().parents):
        if (folder / "schemas" / SCHEMA_FILES["assistant"]).is_file():
            return folder / "schemas"
    return None
