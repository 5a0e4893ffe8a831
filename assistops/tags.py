"""Ownership tags: how assistops marks the objects it manages, with no state file.

Assistants and vector stores carry metadata keys; vector-store files carry attributes.
We reserve as few of the 16 metadata keys as we can, two:

    assistops        "<project>/<environment>/<address>"   ownership and identity
    assistops_rev    "<observed>.<write-only>@<revision>"  digests of the applied spec, revision

Vector-store files carry the attributes ``assistops_path`` and ``assistops_sha256``. Uploaded
files carry no metadata at all, so their filename records owner and content (:class:`UploadName`);
that is also the stateless record of an assistant's code-interpreter files.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistops.spec import ResourceSpec

OWNER_KEY = "assistops"
REVISION_KEY = "assistops_rev"
PATH_ATTRIBUTE = "assistops_path"
SHA_ATTRIBUTE = "assistops_sha256"

RESERVED_METADATA = (OWNER_KEY, REVISION_KEY)
RESERVED_ATTRIBUTES = (PATH_ATTRIBUTE, SHA_ATTRIBUTE)


def reserved_metadata_count(spec: ResourceSpec) -> int:
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
    """The ``assistops_rev`` value."""
    return f"{digest}@{revision}"


def parse_revision(value: str | None) -> tuple[str, str] | None:
    """``(digest, revision)`` from an ``assistops_rev`` value, or None."""
    if not value or "@" not in value:
        return None
    digest, _, revision = value.partition("@")
    return digest, revision


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
