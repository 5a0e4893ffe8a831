"""Where an adopted file's bytes come from.

Files of purpose ``assistants`` cannot be downloaded. What can be had:

- a project file with the same content (sha256 from our attributes, or the 16 digits our
  upload names carry): exact;
- a vector-store file's parsed text: exact for text files, checked against the sha256 we
  recorded or at least the original byte size;
- ``--files-from DIR``: the user's copies, matched by original filename and byte size (and
  sha256 where we know it).

When none works the file is *wanted*, and :class:`MissingFilesError` lists every wanted file
and how to pass them, before anything is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from assistops.errors import AdoptError, ProviderError
from assistops.providers.base import Reader


@dataclass(frozen=True)
class Wanted:
    """A live file whose content an import or export needs."""

    owner: str  # "code interpreter of assistant 'X' (asst_1)", "vector store 'Y' (vs_1)"
    file_id: str
    filename: str  # the original name, as uploaded
    bytes: int | None
    sha256: str | None = None  # when our attributes recorded it
    sha16: str | None = None  # when our upload name carries it
    why: str = "files uploaded for assistants cannot be downloaded"


@dataclass(frozen=True)
class Found:
    """A file's content and where it came from."""

    content: bytes
    origin: str  # for messages
    project_path: str | None = None  # the path it has in the project it came from


def sha256_of(content: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(content).hexdigest()


class Contents:
    """Finds file contents: in ``known`` project files, the provider, or ``files_from``."""

    def __init__(
        self,
        reader: Reader,
        *,
        files_from: Path | None = None,
        known: dict[str, tuple[str, Path]] | None = None,
    ) -> None:
        self.reader = reader
        self.files_from = files_from
        self.known = known or {}  # sha256 -> (project path, file on disk)
        self._by_name: dict[str, list[Path]] | None = None

    def knowledge(self, store_id: str, wanted: Wanted) -> Found | None:
        """A vector-store file's content."""
        found = self._known(wanted)
        if found is not None:
            return found
        try:
            text = self.reader.vector_store_file_content(store_id, wanted.file_id)
        except ProviderError:
            text = None
        if text is not None:
            data = text.encode("utf-8")
            if _matches(data, wanted):
                return Found(data, "its parsed content")
        return self._from_folder(wanted)

    def code_interpreter(self, wanted: Wanted) -> Found | None:
        """A code-interpreter file's content (never downloadable)."""
        return self._known(wanted) or self._from_folder(wanted)

    def _known(self, wanted: Wanted) -> Found | None:
        for sha, (rel, path) in self.known.items():
            if sha == wanted.sha256 or (wanted.sha16 and sha.startswith(wanted.sha16)):
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if _matches(data, wanted):
                    return Found(data, f"the project file {rel}", project_path=rel)
        return None

    def _from_folder(self, wanted: Wanted) -> Found | None:
        if self.files_from is None:
            return None
        name = wanted.filename.replace("\\", "/").rsplit("/", 1)[-1]
        hits: dict[bytes, Path] = {}
        for path in self._index().get(name, []):
            if wanted.bytes is not None and path.stat().st_size != wanted.bytes:
                continue
            data = path.read_bytes()
            if _matches(data, wanted):
                hits.setdefault(data, path)
        if len(hits) > 1:
            listed = ", ".join(str(p) for p in sorted(hits.values()))
            raise AdoptError(
                f"{len(hits)} different files in {self.files_from} could be {name} "
                f"({wanted.file_id}, {wanted.owner}): {listed}; keep only the right one"
            )
        for data, path in hits.items():
            return Found(data, str(path))
        return None

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            assert self.files_from is not None
            if not self.files_from.is_dir():
                raise AdoptError(f"--files-from {self.files_from}: no such folder")
            self._by_name = {}
            for path in sorted(self.files_from.rglob("*")):
                if path.is_file():
                    self._by_name.setdefault(path.name, []).append(path)
        return self._by_name


def _matches(data: bytes, wanted: Wanted) -> bool:
    if wanted.bytes is not None and len(data) != wanted.bytes:
        return False
    sha = sha256_of(data)
    if wanted.sha256 is not None and sha != wanted.sha256:
        return False
    return wanted.sha16 is None or sha.startswith(wanted.sha16)
