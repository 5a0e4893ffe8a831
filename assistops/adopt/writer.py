"""Files planned for a project: checked before anything is written, written all together, and
removed again if the result does not validate.

An existing file is never overwritten. One that already holds exactly the planned bytes is left
alone and counts as written (so an interrupted import can simply be run again).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path, PurePosixPath

from assistops.adopt import AdoptError
from assistops.config.project import unsafe_pattern


class ProjectFiles:
    """The files an import or export will write under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.planned: dict[str, bytes] = {}
        self._created_files: list[Path] = []
        self._created_dirs: list[Path] = []

    def add(self, rel: str, content: bytes) -> str:
        """Plan ``content`` at project-relative ``rel`` (conflicts are reported by ``write``)."""
        _check_path(rel)
        if rel in self.planned and self.planned[rel] != content:
            raise AdoptError(f"two different files would be written to {rel}")
        self.planned[rel] = content
        return rel

    def add_shared(self, candidates: list[str], content: bytes) -> str:
        """Plan ``content`` at the first candidate that is free or already holds it.

        For files several declarations may share (function schemas): an identical file is
        reused, a different one is left alone and the next candidate is tried.
        """
        for rel in candidates:
            _check_path(rel)
            if self.can_hold(rel, content):
                self.planned[rel] = content
                return rel
        raise AdoptError(f"no free place for {candidates[0]}: {', '.join(candidates)} all exist")

    def can_hold(self, rel: str, content: bytes) -> bool:
        """True when ``content`` may be planned at ``rel``: free, or the same bytes already."""
        existing = self.planned.get(rel)
        if existing is None:
            existing = self._on_disk(rel)
        return existing is None or existing == content

    def only_planned_in(self, folder: str) -> bool:
        """True when every file under ``folder`` (on disk or planned) is a planned one, so a
        glob over the folder matches exactly the planned files."""
        base = self.root / folder
        if base.exists() and not base.is_dir():
            return False
        on_disk = {p.relative_to(self.root).as_posix() for p in base.rglob("*") if not p.is_dir()}
        return on_disk <= set(self.planned)

    def conflicts(self) -> list[str]:
        """Planned paths where a different file (or a folder) already exists."""
        out = []
        for rel, content in sorted(self.planned.items()):
            existing = self._on_disk(rel)
            if existing is not None and existing != content:
                out.append(rel)
        return out

    def check(self) -> None:
        """Raise, naming them, when planned files would overwrite existing ones."""
        conflicts = self.conflicts()
        if conflicts:
            raise AdoptError(
                "refusing to overwrite existing files: "
                + ", ".join(conflicts)
                + " (move them away, or choose another name with --name)"
            )

    def write(self) -> list[str]:
        """Write every planned file; returns them, project-relative, in order."""
        self.check()
        written = []
        for rel, content in sorted(self.planned.items()):
            path = self.root / rel
            if self._on_disk(rel) == content:
                written.append(rel)
                continue
            self._mkdirs(path.parent)
            with path.open("xb") as handle:  # "x": never replace a file that appeared meanwhile
                self._created_files.append(path)
                handle.write(content)
            written.append(rel)
        return written

    def rollback(self) -> None:
        """Remove what :meth:`write` created (files, then the folders it made)."""
        for path in reversed(self._created_files):
            path.unlink(missing_ok=True)
        for folder in reversed(self._created_dirs):
            with contextlib.suppress(OSError):  # not empty: something else lives there now
                folder.rmdir()
        self._created_files.clear()
        self._created_dirs.clear()

    def _on_disk(self, rel: str) -> bytes | None:
        path = self.root / rel
        if path.is_file():
            return path.read_bytes()
        if path.exists() or path.is_symlink():
            return b"\0not a regular file"
        return None

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self._created_dirs.append(path)


def _check_path(rel: str) -> None:
    why = unsafe_pattern(rel)
    if why or rel != PurePosixPath(rel).as_posix() or (os.sep != "/" and os.sep in rel):
        raise AdoptError(f"refusing to write {rel!r}: {why or 'not a plain relative path'}")
