"""The file kind: content uploaded once per sha256, for a vector store or a code interpreter.

Uploaded files carry no metadata, so their filename records owner and content
(:class:`~assistops.kinds.tags.UploadName`). Uploads are content-addressed: a sha256 already
uploaded in the environment is never uploaded again, and several addresses with the same
content share one upload. An upload nothing uses any more is deleted by :meth:`FileKind.sweep`.

Addresses: ``file.<store>:<path>`` (a knowledge file), ``file.assistant.<name>:<path>`` (a
code-interpreter file).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Literal

from pydantic import Field

from assistops.errors import PlanError
from assistops.kinds.base import (
    ApplyContext,
    DeleteStep,
    Kind,
    LiveState,
    Phase,
    PlanContext,
    Running,
    Scope,
    StepBase,
    fingerprint,
    sorted_by_age,
)
from assistops.kinds.changes import deletion
from assistops.kinds.spec import DesiredState, Spec
from assistops.kinds.tags import PATH_ATTRIBUTE, SHA_ATTRIBUTE, UploadName
from assistops.providers.base import Json, Reader

AttributeValue = str | int | float | bool

UPLOAD = Phase(10, "upload files")
#: How much of a file is read at a time to hash it before its upload.
UPLOAD_CHUNK_BYTES = 1 << 20
DELETE_FILES = Phase(90, "delete files", removes=True)


def file_address(owner: str, path: str) -> str:
    """``file.<store>:<path>`` for a store's file, ``file.assistant.<name>:<path>`` otherwise."""
    kind, _, name = owner.partition(".")
    prefix = name if kind == "vector_store" else owner
    return f"file.{prefix}:{path}"


class FileSpec(Spec):
    """A file to upload: a knowledge file of a store, or a code-interpreter file."""

    kind: Literal["file"] = "file"
    owner: str = Field(description="Address of the store or assistant that uses the file.")
    path: str = Field(description="Project-relative POSIX path.")
    sha256: str = Field(
        description="Of the content; a file read back from the provider knows only the first "
        "16 hex digits, which its upload name records."
    )
    bytes: int
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)

    def label(self) -> str:
        """``<path>@<sha256[:12]>``: how a file is shown and compared inside other resources."""
        return f"{self.path}@{self.sha256[:12]}" if self.sha256 else self.path


def sha_ref(sha256: str) -> str:
    """The reference to an upload apply will make: ``${sha:<sha256>}``."""
    return "${sha:" + sha256 + "}"


def upload_filename(file: FileSpec, *, project: str, environment: str) -> str:
    """The filename an upload is sent with (records owner and content)."""
    return UploadName.for_file(project, environment, file.sha256, file.path).format()


def file_attributes(file: FileSpec) -> dict[str, Any]:
    """The attributes of a knowledge file in its store: the user's plus path and sha256."""
    attributes: dict[str, Any] = dict(file.attributes)
    attributes[PATH_ATTRIBUTE] = file.path
    attributes[SHA_ATTRIBUTE] = file.sha256
    return attributes


def batch_entry(file: FileSpec, file_id: str, chunking: dict[str, Any] | None) -> Json:
    """One entry of a file batch (or the body of ``POST /vector_stores/{id}/files``)."""
    body: Json = {"file_id": file_id, "attributes": file_attributes(file)}
    if chunking is not None:
        body["chunking_strategy"] = chunking
    return body


def file_ref(ctx: PlanContext, file: FileSpec) -> str:
    """The id of the upload serving a file's content, or the reference to the one apply makes."""
    return ctx.uploads.get(file.sha256) or sha_ref(file.sha256)


def from_live_upload(raw: Json, owner: str, known: dict[str, FileSpec]) -> FileSpec:
    """A live upload as the spec of the file it serves for ``owner``.

    ``known`` maps sha16 to the desired files of that owner, so an unchanged file keeps its
    declared path; an upload that is not ours is named by its id (and has no sha256).
    """
    name = UploadName.parse(str(raw.get("filename", "")))
    if name is None:
        path = f"id:{raw['id']}"
        return FileSpec(
            address=file_address(owner, path),
            name=path,
            owner=owner,
            path=path,
            sha256="",
            bytes=int(raw.get("bytes") or 0),
        )
    match = known.get(name.sha16)
    path = match.path if match else name.basename
    return FileSpec(
        address=file_address(owner, path),
        name=path,
        owner=owner,
        path=path,
        sha256=name.sha16,
        bytes=int(raw.get("bytes") or 0),
    )


# -- steps --------------------------------------------------------------------------------------


class UploadFile(StepBase):
    """Upload one file's content (once per sha256 per environment)."""

    op: Literal["upload_file"] = "upload_file"
    phase: ClassVar[Phase] = UPLOAD
    path: str
    sha256: str
    bytes: int
    filename: str
    serves: list[str] = Field(
        default_factory=list, description="Every file address with this content."
    )

    def addresses(self) -> set[str]:
        """The file it is addressed to and every other file with the same content."""
        return {self.address, *self.serves}

    def provides(self) -> set[str]:
        """The reference ``sha:<sha256>`` that stores and assistants use."""
        return {self.address, f"sha:{self.sha256}"}

    async def run(self, ctx: ApplyContext) -> None:
        """Upload the content, checking it is still what the plan hashed. A file of up to one
        chunk is read once; a larger one is read in chunks by both passes (the upload streams
        it), so memory stays flat however large it is, and hashed on a thread, so reading it
        holds up none of the other calls."""
        # os.path, not pathlib: two thousand uploads spent 2% of the loop's CPU building Paths
        with open(os.path.join(ctx.root, self.path), "rb") as handle:
            content: bytes | BinaryIO
            if self.bytes <= UPLOAD_CHUNK_BYTES:
                content = handle.read(self.bytes + 1)  # grown since: the hash says
                digest = hashlib.sha256(content).hexdigest()
            else:
                content = handle
                digest = await asyncio.to_thread(_chunked_sha256, handle)
            if digest != self.sha256:
                raise PlanError(
                    f"{self.path} changed after the plan was made; run 'assistops plan' again"
                )
            uploaded = await ctx.writer.upload_file(self.filename, content)
        ctx.record(f"sha:{self.sha256}", uploaded["id"])

    def describe(self) -> str:
        """``upload <path> (<n> bytes, sha256 <...>) for <address>``."""
        return (
            f"upload {self.path} ({self.bytes} bytes, sha256 {self.sha256[:12]}) for {self.address}"
        )


def _chunked_sha256(handle: BinaryIO) -> str:
    """The sha256 of an open file read in chunks, left at its start again."""
    digest = hashlib.sha256()
    while chunk := handle.read(UPLOAD_CHUNK_BYTES):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


class DeleteFile(DeleteStep):
    """Delete an uploaded file we own that nothing uses any more."""

    op: Literal["delete_file"] = "delete_file"
    phase: ClassVar[Phase] = DELETE_FILES

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /files/{id}``."""
        await ctx.writer.delete_file(self.id)


# -- the kind -----------------------------------------------------------------------------------


@dataclass
class FilesLive:
    """Our uploads in the environment, by the sha16 their names record.

    Discovery fills ``uploads``; planning only reads them. The two indexes below are built
    once, on first use: every assistant's plan asks for them, and rebuilding them each time
    made a plan of 2,000 assistants and 20,000 uploads quadratic (40 million entries, a
    minute).
    """

    uploads: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    _by_id: dict[str, Json] | None = field(default=None, init=False, repr=False, compare=False)
    _sha16_of: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def by_id(self) -> dict[str, Json]:
        """Every upload of ours by id (do not change it)."""
        if self._by_id is None:
            self._by_id = {f["id"]: f for files in self.uploads.values() for f in files}
        return self._by_id

    def sha16_of(self) -> dict[str, str]:
        """Upload id -> sha16 of every upload we own (do not change it)."""
        if self._sha16_of is None:
            self._sha16_of = {f["id"]: sha for sha, files in self.uploads.items() for f in files}
        return self._sha16_of


_VOLATILE = frozenset({"status", "status_details"})


class FileKind(Kind[FileSpec, FilesLive]):
    """Uploads: planned first (what to upload), swept last (what nothing uses)."""

    name: ClassVar[str] = "file"
    spec_type: ClassVar[type[Spec]] = FileSpec
    steps: ClassVar[tuple[type[StepBase], ...]] = (UploadFile, DeleteFile)
    display_rank: ClassVar[int] = 2

    def discover(
        self, reader: Reader, scope: Scope, pool: Executor
    ) -> Callable[[LiveState], FilesLive]:
        """``GET /files?purpose=assistants``, keeping the uploads whose name is ours."""
        listed = pool.submit(reader.list_files)

        def finish(live: LiveState) -> FilesLive:
            part = FilesLive()
            for raw in listed.result():
                name = UploadName.parse(str(raw.get("filename", "")))
                if name and (name.project, name.environment) == (scope.project, scope.environment):
                    part.uploads[name.sha16].append(raw)
                    live.fingerprints[f"file:{raw['id']}"] = fingerprint(raw, _VOLATILE)
            return part

        return finish

    def plan(self, ctx: PlanContext) -> None:
        """Decide which live upload serves each sha256, and upload what no upload serves."""
        uploads = ctx.live.part(self).uploads
        by_sha: dict[str, list[FileSpec]] = defaultdict(list)
        for spec in ctx.specs(FileSpec).values():
            by_sha[spec.sha256].append(spec)
        for specs in by_sha.values():
            spec = specs[0]
            candidates = sorted_by_age(uploads.get(spec.sha256[:16], []))
            candidates = [c for c in candidates if c.get("bytes") in (None, spec.bytes)]
            if candidates:
                used = [c for c in candidates if c["id"] in ctx.live.references]
                ctx.uploads[spec.sha256] = (used or candidates)[0]["id"]
                continue
            if spec.sha256 in ctx.live.adopted:
                ctx.uploads[spec.sha256] = ctx.live.adopted[spec.sha256]
                continue
            ctx.steps.append(
                UploadFile(
                    address=spec.address,
                    path=spec.path,
                    sha256=spec.sha256,
                    bytes=spec.bytes,
                    filename=upload_filename(
                        spec, project=ctx.desired.project, environment=ctx.desired.environment
                    ),
                    serves=[s.address for s in specs],
                )
            )

    def sweep(self, ctx: PlanContext) -> None:
        """Delete our uploads that no declared file, store or assistant uses any more."""
        needed = {s.sha256[:16] for s in ctx.specs(FileSpec).values()}
        kept = set(ctx.uploads.values()) | ctx.used
        for sha16, objs in ctx.live.part(self).uploads.items():
            for raw in sorted_by_age(objs):
                if raw["id"] in kept:
                    continue
                if raw["id"] in ctx.superseded:
                    # the old content of a replaced or removed file: part of that change
                    ctx.steps.append(DeleteFile(address=ctx.superseded[raw["id"]], id=raw["id"]))
                    continue
                name = UploadName.parse(str(raw.get("filename")))
                base = name.basename if name else raw["id"]
                address = f"file.unused:{base}@{sha16[:12]}"
                ctx.steps.append(DeleteFile(address=address, id=raw["id"]))
                duplicate = sha16 in needed
                ctx.changes.append(
                    deletion(
                        address,
                        self.name,
                        raw["id"],
                        duplicate=duplicate,
                        before={"filename": raw.get("filename"), "bytes": raw.get("bytes")},
                        reason="a second upload of the same content"
                        if duplicate
                        else "no declared file has this content any more",
                    )
                )

    def running(self, live: LiveState) -> list[Running]:
        """Each upload of ours: content-addressed, so its digest is the sha256 prefix its name
        records and it has no revision of its own (the stores and assistants that hold it
        do); it was applied when it was uploaded."""
        out: list[Running] = []
        for sha16, objs in live.part(self).uploads.items():
            for raw in sorted_by_age(objs):
                name = UploadName.parse(str(raw.get("filename", "")))
                created = raw.get("created_at")
                out.append(
                    Running(
                        address=f"file.{name.basename if name else raw['id']}@{sha16[:12]}",
                        kind=self.name,
                        id=str(raw["id"]),
                        revision=None,
                        digest=sha16,
                        applied_at=int(created) if created else None,
                    )
                )
        return out

    def requests(self, spec: FileSpec, state: DesiredState) -> list[Json]:
        """The upload, and for a knowledge file its entry in the store."""
        body = {
            "purpose": "assistants",
            "filename": upload_filename(spec, project=state.project, environment=state.environment),
            "path": spec.path,
            "bytes": spec.bytes,
            "sha256": spec.sha256,
        }
        out: list[Json] = [{"address": spec.address, "request": "POST /v1/files", "body": body}]
        store = state.resources.get(spec.owner)
        if store is not None and store.kind == "vector_store":
            chunking = getattr(store, "chunking", None)
            out.append(
                {
                    "address": spec.address,
                    "request": f"POST /v1/vector_stores/${{{store.address}}}/files",
                    "body": batch_entry(spec, "${" + spec.address + "}", chunking),
                }
            )
        return out


KIND = FileKind()
