"""Resolve file globs safely: inside the project, no symlink escapes, no secrets.

A knowledge or code-interpreter file is sent to the provider, so before anything is uploaded we
refuse: absolute patterns and ``..``; matches whose real path leaves the project; files that look
like credentials by name (``.env``, keys, ``.git/``...) or by content (private keys, API keys).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistops.config.project import unsafe_pattern
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
    """Reads each file once per run, in chunks, however many environments use it.

    Paths here are strings: a glob of 2,000 files spent a third of a render in pathlib's
    parsing and comparisons, and every check below is lexical on absolute, resolved paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._root = str(self.root)
        self._cache: dict[str, Scanned] = {}
        self._dirs: dict[str, str] = {}

    def real(self, path: str, linked: bool) -> str:
        """The real path of ``path`` (``os.path.realpath(strict)``); raises OSError or
        RuntimeError for a broken or looping link. ``linked``: whether ``path`` itself is a
        symlink (its ``lstat`` said).

        A glob of 2,000 files would resolve every component of every match (a realpath per
        file, an lstat per component): here each folder is resolved once, and a file that is
        not itself a link is its real folder joined with its name.
        """
        if linked:
            return str(Path(path).resolve(strict=True))
        parent, name = os.path.split(path)
        folder = self._dirs.get(parent)
        if folder is None:
            folder = self._dirs[parent] = str(Path(parent).resolve(strict=True))
        return os.path.join(folder, name)

    def inside(self, real: str) -> bool:
        """Whether a real path is the project root or below it."""
        return real == self._root or real.startswith(self._root.rstrip(os.sep) + os.sep)

    def relative(self, path: str) -> str:
        """A path below the root, relative to it in POSIX form."""
        rest = path[len(self._root.rstrip(os.sep)) + 1 :]
        return rest if os.sep == "/" else rest.replace(os.sep, "/")

    def read(self, path: str) -> Scanned:
        """Hash and scan a file in chunks of CHUNK_BYTES (memory stays flat)."""
        if path not in self._cache:
            digest = hashlib.sha256()
            size, secret, tail = 0, None, b""
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    window = tail + chunk
                    if secret is None:
                        secret = next((lb for rx, lb in SECRET_PATTERNS if rx.search(window)), None)
                    tail = window[-_OVERLAP:]
            self._cache[path] = Scanned(digest.hexdigest(), size, secret)
        return self._cache[path]


@dataclass(frozen=True)
class _Match:
    """A file a glob matched: its path, project-relative name and ``lstat``."""

    path: str
    rel: str
    stat: os.stat_result

    @property
    def linked(self) -> bool:
        return stat.S_ISLNK(self.stat.st_mode)


def _matches(cache: FileCache, pattern: str) -> list[_Match]:
    """The files (and links, broken ones too) ``pattern`` matches, in path order."""
    out: list[tuple[tuple[str, ...], _Match]] = []
    for found in cache.root.glob(pattern):
        path = str(found)
        try:
            info = os.lstat(path)
        except OSError:
            continue  # gone since the glob saw it
        if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
            # pathlib's order: by components, not by the text (a/b/x before a/b-c)
            out.append((found.parts, _Match(path, cache.relative(path), info)))
    out.sort(key=lambda item: item[0])
    return [match for _, match in out]


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
        kept = [m for m in _matches(cache, pattern) if not _excluded(m.rel, excludes)]
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
        for match in kept:
            rel = match.rel
            if rel in found:  # matched by an earlier pattern: checked already
                continue
            checked = _check(cache, match, file, line, where, rel in allowed_paths)
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
    match: _Match,
    file: str,
    line: int | None,
    where: str,
    allowed: bool = False,
) -> Problem | Scanned:
    """What is wrong with uploading a matched file, or what reading it told."""
    rel = match.rel
    try:
        real = cache.real(match.path, match.linked)
    except (OSError, RuntimeError):
        return Problem(file, line, where, f"{rel} is a broken symlink", "fix or remove the link")
    if not cache.inside(real):
        return Problem(
            file,
            line,
            where,
            f"{rel} is a symlink to a file outside the project",
            "copy the file into the project instead of linking to it",
        )
    parts = rel.split("/")
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
    # a file that is not a link: its lstat is its stat
    size = os.stat(real).st_size if match.linked else match.stat.st_size
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
