"""Helpers of the conversation tests: writing test files into a copied project."""

from __future__ import annotations

from pathlib import Path


def write_test(root: Path, assistant: str, name: str, text: str) -> Path:
    """A test file ``<assistant>/tests/<name>.yaml`` in the project at ``root``."""
    path = root / assistant / "tests" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only_tests(root: Path, keep: dict[str, list[str]]) -> None:
    """Remove the example tests except ``keep`` (assistant -> test file stems)."""
    for folder in root.glob("*/tests"):
        for path in folder.glob("*.yaml"):
            if path.stem not in keep.get(folder.parent.name, []):
                path.unlink()
