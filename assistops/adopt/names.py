"""Logical names and file paths for adopted objects."""

from __future__ import annotations

import fnmatch
import re

from assistops.config.models import NAME_PATTERN

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
