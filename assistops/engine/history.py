"""The project's git history, as status and promote need it: where HEAD is, and whether a
revision an environment runs is HEAD, behind it, or not in its history at all.

Revisions are what :func:`assistops.render.desired.config_revision` records: a commit's short
sha, ``<sha>-dirty`` when it was applied from uncommitted changes, or ``unversioned`` outside a
git repository. Only git answers these questions, and it is asked in the project's folder.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DIRTY_SUFFIX = "-dirty"
UNVERSIONED = "unversioned"

#: Where a revision stands against HEAD.
Standing = Literal["head", "behind", "diverged", "dirty", "unknown", "unversioned"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
    )


def head_commit(root: Path) -> str | None:
    """The full sha of HEAD, or None outside a git repository."""
    try:
        done = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def full_commit(root: Path, revision: str) -> str | None:
    """The full sha of a recorded revision (its ``-dirty`` mark dropped), or None when this
    repository has no such commit (another clone's, a rewritten history, a shallow clone)."""
    sha = revision.removesuffix(DIRTY_SUFFIX)
    if not sha or sha == UNVERSIONED or any(c not in "0123456789abcdef" for c in sha):
        return None
    try:
        done = _git(root, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}")
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@dataclass(frozen=True)
class Position:
    """Where a revision stands against HEAD, in words and as data."""

    revision: str
    standing: Standing
    behind: int = 0  # commits from the revision to HEAD, when it is an ancestor

    def describe(self) -> str:
        """``at HEAD``, ``3 commits behind HEAD``, ``not in HEAD's history`` ..."""
        if self.standing == "head":
            return "at HEAD"
        if self.standing == "behind":
            return f"{self.behind} commit{'s' if self.behind != 1 else ''} behind HEAD"
        if self.standing == "diverged":
            return "not in HEAD's history"
        if self.standing == "dirty":
            return "applied from uncommitted changes"
        if self.standing == "unversioned":
            return "applied outside a git repository"
        return "not a commit of this repository"


def position(root: Path, revision: str, head: str | None = None) -> Position:
    """Where ``revision`` stands against HEAD (``head``: HEAD's full sha, when known)."""
    if revision == UNVERSIONED:
        return Position(revision, "unversioned")
    if revision.endswith(DIRTY_SUFFIX):
        return Position(revision, "dirty")
    head = head if head is not None else head_commit(root)
    commit = full_commit(root, revision)
    if head is None or commit is None:
        return Position(revision, "unknown")
    if commit == head:
        return Position(revision, "head")
    try:
        if _git(root, "merge-base", "--is-ancestor", commit, head).returncode != 0:
            return Position(revision, "diverged")
        count = _git(root, "rev-list", "--count", f"{commit}..{head}").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return Position(revision, "unknown")
    return Position(revision, "behind", int(count) if count.isdigit() else 0)
