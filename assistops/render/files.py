"""Resolve file globs safely: inside the project, no symlink escapes, no secrets.

A knowledge or code-interpreter file is sent to the provider, so before anything is uploaded we
refuse: absolute patterns and ``..``; matches whose real path leaves the project; files that look
like credentials by name (``.env``, keys, ``.git/``...) or by content (private keys, API keys).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistops.config.project import relative, unsafe_pattern
from assistops.errors import Problem
from assistops.limits import FILE_BYTES_MAX

Locate = Callable[[tuple[str | int, ...]], tuple[str, int | None]]

DENIED_NAMES = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
)
DENIED_DIRS = (".git", ".aws", ".ssh", ".assistops", ".gnupg")
#: DENIED_NAMES as one pattern: a file name is tested once, not once per name
_DENIED_NAME = re.compile("|".join(fnmatch.translate(p) for p in DENIED_NAMES))
SECRET_PATTERNS = (
    (re.compile(rb"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY"), "a private key"),
    (re.compile(rb"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"), "an OpenAI API key"),
    (re.compile(rb"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"), "an OpenAI API key"),
    (re.compile(rb"AKIA[0-9A-Z]{16}"), "an AWS access key"),
)


@dataclass(frozen=True)
class LocalFile:
    """A file of the project, hashed."""

    path: str  # project-relative POSIX
    sha256: str
    bytes: int


#: Files are read this much at a time: hashing and the secret scan never hold a whole file.
CHUNK_BYTES = 1 << 20
#: Bytes of one chunk kept before the next, so a secret across a boundary is still found
#: (longer than any match of SECRET_PATTERNS' prefixes).
_OVERLAP = 4096


@dataclass(frozen=True)
class Scanned:
    """What reading a file once told: its sha256, size, and the secret it holds, if any."""

    sha256: str
    bytes: int
    secret: str | None


class FileCache:
    """Reads each file once per run, in chunks, however many environments use it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, Scanned] = {}
        self._dirs: dict[Path, Path] = {}

    def real(self, path: Path) -> Path:
        """The real path of ``path`` (``Path.resolve(strict=True)``); raises OSError or
        RuntimeError for a broken or looping link.

        A glob of 2,000 files would resolve every component of every match (a realpath per
        file, an lstat per component): here each folder is resolved once, and a file that is
        not itself a link is its real folder joined with its name.
        """
        if path.is_symlink():
            return path.resolve(strict=True)
        folder = self._dirs.get(path.parent)
        if folder is None:
            folder = self._dirs[path.parent] = path.parent.resolve(strict=True)
        return folder / path.name

    def read(self, path: Path) -> Scanned:
        """Hash and scan a file in chunks of CHUNK_BYTES (memory stays flat)."""
        if path not in self._cache:
            digest = hashlib.sha256()
            size, secret, tail = 0, None, b""
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    window = tail + chunk
                    if secret is None:
                        secret = next((lb for rx, lb in SECRET_PATTERNS if rx.search(window)), None)
                    tail = window[-_OVERLAP:]
            self._cache[path] = Scanned(digest.hexdigest(), size, secret)
        return self._cache[path]


def resolve_globs(
    cache: FileCache,
    patterns: list[str],
    excludes: list[str],
    field: str,
    locate: Locate,
    loc: tuple[str | int, ...],
    allowed: Allowed | None = None,
) -> tuple[list[LocalFile], list[Problem]]:
    """Expand ``patterns`` (minus ``excludes``) into hashed files; report every problem.

    ``allowed`` lists files that may be uploaded although they look like secrets."""
    root = cache.root
    found: dict[str, LocalFile] = {}
    problems: list[Problem] = []
    allow = allowed or Allowed()
    allowed_paths = set(allow.paths)
    for i, pattern in enumerate(patterns):
        file, line = locate((*loc, i))
        where = f"{field}[{i}]"
        why = unsafe_pattern(pattern)
        if why:
            hint = "write the glob relative to the project root, like knowledge/docs/*.md"
            problems.append(Problem(file, line, where, why, hint))
            continue
        matches = sorted(p for p in root.glob(pattern) if p.is_file() or p.is_symlink())
        named = ((p, relative(root, p)) for p in matches)
        kept = [(p, rel) for p, rel in named if not _excluded(rel, excludes)]
        if not kept:
            problems.append(
                Problem(
                    file,
                    line,
                    where,
                    f"'{pattern}' matches no file",
                    "check the path; globs are relative to the project root (assistops.yaml)",
                )
            )
            continue
        for path, rel in kept:
            if rel in found:  # matched by an earlier pattern: checked already
                continue
            checked = _check(cache, path, rel, file, line, where, rel in allowed_paths)
            if isinstance(checked, Problem):
                problems.append(checked)
                continue
            found[rel] = LocalFile(rel, checked.sha256, checked.bytes)
    problems.extend(_unused_allowances(allow, found, patterns, locate))
    return list(found.values()), problems


@dataclass(frozen=True)
class Allowed:
    """Files a declaration allows although they look like secrets, and where it says so."""

    paths: tuple[str, ...] = ()
    field: str = "allow_secrets"
    loc: tuple[str | int, ...] = ()


def _unused_allowances(
    allow: Allowed, found: dict[str, LocalFile], patterns: list[str], locate: Locate
) -> list[Problem]:
    """An allowance must name one matched file exactly: a glob or a typo would silently
    allow more, or nothing."""
    problems = []
    for i, path in enumerate(allow.paths):
        file, line = locate((*allow.loc, i))
        where = f"{allow.field}[{i}]"
        if any(ch in path for ch in "*?["):
            problems.append(
                Problem(
                    file,
                    line,
                    where,
                    f"'{path}' is a glob; an allowance names one file exactly",
                    "list each file to allow by its project-relative path",
                )
            )
        elif path not in found:
            problems.append(
                Problem(
                    file,
                    line,
                    where,
                    f"'{path}' is allowed but not among the files matched",
                    f"fix the path, or match it with one of {patterns}",
                )
            )
    return problems


def _excluded(rel: str, excludes: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel, pat) for pat in excludes)


def _check(
    cache: FileCache,
    path: Path,
    rel: str,
    file: str,
    line: int | None,
    where: str,
    allowed: bool = False,
) -> Problem | Scanned:
    """What is wrong with uploading ``path``, or what reading it told."""
    try:
        real = cache.real(path)
    except (OSError, RuntimeError):
        return Problem(file, line, where, f"{rel} is a broken symlink", "fix or remove the link")
    if not real.is_relative_to(cache.root):
        return Problem(
            file,
            line,
            where,
            f"{rel} is a symlink to a file outside the project",
            "copy the file into the project instead of linking to it",
        )
    parts = Path(rel).parts
    if any(part in DENIED_DIRS for part in parts[:-1]):
        return Problem(
            file,
            line,
            where,
            f"{rel} is inside a folder that holds secrets or state",
            "narrow the glob, or add an exclude",
        )
    if not allowed and _DENIED_NAME.match(parts[-1]):
        return Problem(
            file,
            line,
            where,
            f"{rel} looks like a credentials file and is never uploaded",
            f"exclude it, or list '{rel}' under allow_secrets if it is meant to be uploaded",
        )
    size = real.stat().st_size
    if size > FILE_BYTES_MAX:  # refused before it is read
        return Problem(
            file,
            line,
            where,
            f"{rel} is {size:,} bytes; the service takes files up to {FILE_BYTES_MAX:,} bytes "
            f"({FILE_BYTES_MAX // 2**20} MiB)",
            "split the file, or exclude it",
        )
    scanned = cache.read(real)
    if scanned.secret is not None and not allowed:
        return Problem(
            file,
            line,
            where,
            f"{rel} contains what looks like {scanned.secret}; it is not uploaded",
            f"remove the secret from the file, exclude the file, or list '{rel}' under "
            "allow_secrets if it is meant to be uploaded",
        )
    return scanned
