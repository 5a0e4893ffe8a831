"""Ownership tags: how assistops marks the objects it manages, with no state file.

Assistants and vector stores carry metadata keys; vector-store files carry attributes.
We reserve as few of the 16 metadata keys as we can, two:

    assistops        "<project>/<environment>/<address>"   ownership and identity
    assistops_rev    "<observed>.<write-only>@<revision>@<applied>"
                     digests of the applied spec, the config revision, and when apply wrote it
                     (unix seconds, stamped as the request is sent: see :func:`stamped`)

Vector-store files carry the attributes ``assistops_path`` and ``assistops_sha256``. Uploaded
files carry no metadata at all, so their filename records owner and content (:class:`UploadName`);
that is also the stateless record of an assistant's code-interpreter files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from assistops.kinds.spec import Spec, digest_of

OWNER_KEY = "assistops"
REVISION_KEY = "assistops_rev"
PATH_ATTRIBUTE = "assistops_path"
SHA_ATTRIBUTE = "assistops_sha256"

RESERVED_METADATA = (OWNER_KEY, REVISION_KEY)
RESERVED_ATTRIBUTES = (PATH_ATTRIBUTE, SHA_ATTRIBUTE)


def reserved_metadata_count(spec: Spec) -> int:
    """How many metadata keys assistops adds to this resource."""
    return len(RESERVED_METADATA)


@dataclass(frozen=True)
class Owner:
    """The parsed ``assistops`` tag."""

    project: str
    environment: str
    address: str

    def format(self) -> str:
        """The tag value."""
        return f"{self.project}/{self.environment}/{self.address}"

    @classmethod
    def parse(cls, value: str | None) -> Owner | None:
        """Parse a tag value; None when it is not one of ours."""
        if not value:
            return None
        parts = value.split("/", 2)
        if len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)


def format_revision(digest: str, revision: str) -> str:
    """The ``assistops_rev`` value a plan sends: ``<digest>@<revision>``; apply adds when it
    wrote it (:func:`stamped`)."""
    return f"{digest}@{revision}"


def parse_revision(value: str | None) -> tuple[str, str] | None:
    """``(digest, revision)`` from an ``assistops_rev`` value, or None; the time of the apply
    that wrote it, when recorded, is :func:`applied_at`'s."""
    if not value or "@" not in value:
        return None
    digest, _, revision = value.partition("@")
    return digest, revision.partition("@")[0]


def stamped(body: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """``body`` with the time of this request added to its ``assistops_rev`` tag.

    The stamp is added when a step sends its request, not when the plan is made: a saved plan
    applied later records when it was applied, and its steps stay equal to a fresh plan's.
    The stamp is not part of any digest, so it never makes a plan differ.
    """
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get(REVISION_KEY), str):
        return body
    value = metadata[REVISION_KEY].split("@")
    when = int(time.time() if now is None else now)
    return {**body, "metadata": {**metadata, REVISION_KEY: "@".join([*value[:2], str(when)])}}


def applied_at(raw: dict[str, Any]) -> int | None:
    """When the apply that last wrote a live assistant, agent or store sent it (unix
    seconds), from its ``assistops_rev`` tag; None when the tag records no time (written by an
    earlier version of assistops)."""
    metadata = raw.get("metadata") or {}
    value = metadata.get(REVISION_KEY) if isinstance(metadata, dict) else None
    if not isinstance(value, str):
        return None
    parts = value.split("@")
    return int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None


@dataclass(frozen=True)
class UploadName:
    """Files carry no metadata, so an uploaded file's name records who owns it and its content.

    ``<project>.<environment>.<sha256[:16]>.<basename>``: project and environment names cannot
    contain dots, so the name parses back unambiguously, and the model still sees the basename.
    """

    project: str
    environment: str
    sha16: str
    basename: str

    def format(self) -> str:
        """The filename sent with the upload."""
        return f"{self.project}.{self.environment}.{self.sha16}.{self.basename}"

    @classmethod
    def for_file(cls, project: str, environment: str, sha256: str, path: str) -> UploadName:
        """The upload name of a project file."""
        return cls(project, environment, sha256[:16], path.rsplit("/", 1)[-1])

    @classmethod
    def parse(cls, filename: str) -> UploadName | None:
        """Parse an uploaded filename; None when it is not one of ours."""
        parts = filename.split(".", 3)
        if len(parts) != 4:
            return None
        project, env, sha16, base = parts
        if len(sha16) != 16 or any(c not in "0123456789abcdef" for c in sha16):
            return None
        return cls(project, env, sha16, base)


def user_metadata(raw: dict[str, Any]) -> dict[str, str]:
    """A live object's metadata without assistops' keys."""
    metadata = raw.get("metadata") or {}
    assert isinstance(metadata, dict)
    return {str(k): str(v) for k, v in metadata.items() if k not in RESERVED_METADATA}


def user_attributes(raw: dict[str, Any]) -> dict[str, Any]:
    """A vector-store file's attributes without assistops' keys."""
    attributes = raw.get("attributes") or {}
    assert isinstance(attributes, dict)
    return {str(k): v for k, v in attributes.items() if k not in RESERVED_ATTRIBUTES}


def recorded_revision(raw: dict[str, Any]) -> tuple[str, str] | None:
    """``(digest, revision)`` recorded on a live assistant or store by its last apply."""
    metadata = raw.get("metadata") or {}
    assert isinstance(metadata, dict)
    return parse_revision(metadata.get(REVISION_KEY))


def rev_digest(observable: object, write_only: object) -> str:
    """The digest recorded in the ``assistops_rev`` tag: ``<observable>.<write-only[:8]>``."""
    return f"{digest_of(observable)}.{digest_of(write_only)[:8]}"


def split_rev_digest(value: str) -> tuple[str, str]:
    """``(observable, write_only)`` digests from a recorded digest."""
    obs, _, wo = value.partition(".")
    return obs, wo


def owner_of(raw: dict[str, Any], project: str, environment: str, prefix: str) -> str | None:
    """The address a live object is tagged with, when it is ours (this project and
    environment) and the address starts with ``prefix`` (its kind)."""
    metadata = raw.get("metadata") or {}
    assert isinstance(metadata, dict)
    owner = Owner.parse(metadata.get(OWNER_KEY))
    if owner and (owner.project, owner.environment) == (project, environment):
        return owner.address if owner.address.startswith(prefix) else None
    return None


def pick_keeper(
    candidates: list[dict[str, Any]],
    desired_digest: str,
    *,
    in_use: Collection[str] = (),
    holds: Callable[[dict[str, Any]], int] | None = None,
) -> dict[str, Any] | None:
    """Of several live objects claiming one address (oldest first), the one to keep; the
    others are duplicates.

    Ranked by, in order: whether a live object points at it (``in_use``: ids), how much of the
    declared content it already holds (``holds``: e.g. the declared files a store indexed, or
    1 for an assistant equal to its declaration), whether its recorded digest matches, then
    age. Age comes last on purpose: when the service commits a create but answers with an
    error, the SDK's retry makes a second object and apply carries on with that one, so the
    oldest is the copy nothing uses and that holds nothing.
    """
    if not candidates:
        return None

    def rank(indexed: tuple[int, dict[str, Any]]) -> tuple[bool, int, bool, int]:
        index, raw = indexed
        recorded = recorded_revision(raw)
        return (
            raw.get("id") not in in_use,
            -(holds(raw) if holds is not None else 0),
            not (recorded is not None and recorded[0] == desired_digest),
            index,
        )

    return min(enumerate(candidates), key=rank)[1]


def ownership(
    address: str, digest: str, *, project: str, environment: str, revision: str
) -> dict[str, str]:
    """The two reserved metadata keys of a managed object: who owns it, and the digest and
    revision its last apply recorded."""
    return {
        OWNER_KEY: Owner(project, environment, address).format(),
        REVISION_KEY: format_revision(digest, revision),
    }
