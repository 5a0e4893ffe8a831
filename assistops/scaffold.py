"""``init``: write a new project that validates out of the box."""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from assistops.config.models import NAME_PATTERN
from assistops.errors import AssistopsError
from assistops.schemas import render_all

SKELETON = "skeleton"
SCHEMAS = "schemas"  # beside assistops.yaml, as in the repository's example project


def project_name_for(folder: Path) -> str:
    """A valid project name derived from a folder name."""
    name = re.sub(r"[^a-z0-9_-]+", "-", folder.resolve().name.lower()).strip("-_")
    return (name or "assistants")[:64]


def init_project(folder: Path, name: str | None = None) -> list[Path]:
    """Write the skeleton into ``folder``; refuse to overwrite anything. Returns files written."""
    name = name or project_name_for(folder)
    if not re.match(NAME_PATTERN, name):
        raise AssistopsError(
            f"'{name}' is not a valid project name: use lowercase letters, digits, '-' and '_'"
        )
    root = resources.files("assistops") / SKELETON
    plan: list[tuple[Path, str]] = []
    for source, rel in _walk(root, ""):
        target = folder / (".gitignore" if rel == "gitignore" else rel)
        plan.append((target, source.read_text(encoding="utf-8").replace("{{ project }}", name)))
    # the schemas of this version, which the YAML files' yaml-language-server comments name
    for schema, text in render_all().items():
        plan.append((folder / SCHEMAS / schema, text))
    plan.sort(key=lambda item: item[0].as_posix())
    existing = [str(t) for t, _ in plan if t.exists()]
    if existing:
        raise AssistopsError(
            "refusing to overwrite existing files: "
            + ", ".join(existing)
            + " (choose an empty folder)"
        )
    written = []
    for target, text in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _walk(node: Traversable, prefix: str) -> list[tuple[Traversable, str]]:
    out: list[tuple[Traversable, str]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                out.extend(_walk(child, rel + "/"))
        else:
            out.append((child, rel))
    return out
