"""The vector-store kind: a store, tagged as ours, and the knowledge files it indexes.

A store carries the ``assistops``/``assistops_rev`` metadata tags; each of its files carries
the attributes ``assistops_path`` and ``assistops_sha256``, so a file is matched by path and,
when its path is gone, by content (a renamed file keeps its entry). New files are attached in
one batch and indexed before replaced ones are detached; a store whose chunking, description
or expiry cannot change in place is replaced by a new one.

Address: ``vector_store.<name>``; its files are ``file.<name>:<path>`` (see :mod:`.file`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from assistops import limits
from assistops.errors import PlanError, ProviderError
from assistops.kinds import file as file_kind
from assistops.kinds.base import (
    ApplyContext,
    CreateStep,
    DeleteStep,
    Kind,
    LiveState,
    Phase,
    PlanContext,
    Running,
    Scope,
    StepBase,
    UpdateStep,
    fingerprint,
    plan_declared_then_orphans,
    retire,
    running_tagged,
    sorted_by_age,
)
from assistops.kinds.changes import (
    FieldChange,
    ResourceChange,
)
from assistops.kinds.file import FileSpec, batch_entry, file_address, file_ref
from assistops.kinds.spec import DesiredState, Projection, Spec, address_of, digest_of
from assistops.kinds.tags import (
    PATH_ATTRIBUTE,
    SHA_ATTRIBUTE,
    owner_of,
    ownership,
    pick_keeper,
    recorded_revision,
    rev_digest,
    split_rev_digest,
    stamped,
    user_attributes,
    user_metadata,
)
from assistops.providers.base import Json, Reader

STORES = Phase(20, "vector stores")
ATTACH = Phase(30, "attach and index files")
DETACH = Phase(50, "detach replaced files", removes=True)
DELETE_STORES = Phase(80, "delete vector stores", removes=True)


def vector_store_address(name: str) -> str:
    """``vector_store.<name>``."""
    return address_of("vector_store", name)


class VectorStoreSpec(Spec):
    """A vector store and the files it indexes."""

    kind: Literal["vector_store"] = "vector_store"
    display_name: str
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    expires_after_days: int | None = None
    chunking: dict[str, Any] | None = Field(
        None, description="The chunking_strategy sent with each file; None for auto."
    )
    files: tuple[str, ...] = Field(default_factory=tuple, description="File addresses.")


# -- live objects as specs, and what is compared ------------------------------------------------


def from_live(raw: Json, address: str) -> VectorStoreSpec:
    """A live store as a spec (its files are compared one by one; see :func:`entry_from_live`).

    The description is write-only (the service never returns it): it is tracked through the
    recorded digest instead.
    """
    days = (raw.get("expires_after") or {}).get("days")
    return VectorStoreSpec(
        address=address,
        name=address.partition(".")[2],
        display_name=str(raw.get("name") or ""),
        metadata=user_metadata(raw),
        expires_after_days=days if isinstance(days, int) else None,
    )


def entry_from_live(raw: Json, store: str) -> FileSpec | None:
    """A file attached to a store, as the spec of the knowledge file it is; None when it was
    attached outside assistops (no path attribute)."""
    attributes = raw.get("attributes") or {}
    path, sha = attributes.get(PATH_ATTRIBUTE), attributes.get(SHA_ATTRIBUTE)
    if not isinstance(path, str):
        return None
    return FileSpec(
        address=file_address(store, path),
        name=path,
        owner=store,
        path=path,
        sha256=sha if isinstance(sha, str) else "",
        bytes=int(raw.get("usage_bytes") or 0),
        attributes=user_attributes(raw),
    )


def projection(spec: VectorStoreSpec) -> Projection:
    """The observable fields of a store."""
    return {
        "name": spec.display_name,
        "metadata": dict(spec.metadata),
        "expires_after_days": spec.expires_after_days,
    }


def write_only(spec: VectorStoreSpec) -> Projection:
    """Fields the service accepts on create but never returns."""
    return {"description": spec.description}


def chunking_projection(chunking: dict[str, Any] | None) -> dict[str, Any]:
    """``None``/auto and what auto resolves to compare equal."""
    if not chunking or chunking.get("type") in (None, "auto"):
        return {
            "max_chunk_size_tokens": limits.AUTO_CHUNK_SIZE,
            "chunk_overlap_tokens": limits.AUTO_CHUNK_OVERLAP,
        }
    if chunking.get("type") == "static":
        static = chunking.get("static") or {}
        return {
            "max_chunk_size_tokens": static.get("max_chunk_size_tokens"),
            "chunk_overlap_tokens": static.get("chunk_overlap_tokens"),
        }
    return {"type": chunking.get("type")}


def entry_projection(file: FileSpec, chunking: dict[str, Any] | None) -> Projection:
    """The observable fields of a knowledge file in its store."""
    return {
        "path": file.path,
        "sha256": file.sha256,
        "attributes": dict(file.attributes),
        "chunking": chunking_projection(chunking),
    }


def spec_digest(spec: VectorStoreSpec) -> str:
    """The digest recorded in the store's tags."""
    return rev_digest(projection(spec), write_only(spec))


def body(
    spec: VectorStoreSpec, *, project: str, environment: str, revision: str, update: bool = False
) -> Json:
    """The body of ``POST /vector_stores`` (create) or of its update (no description: the
    service takes it on create only)."""
    out: Json = {"name": spec.display_name}
    if spec.description is not None and not update:
        out["description"] = spec.description
    if spec.expires_after_days is not None:
        out["expires_after"] = {"anchor": "last_active_at", "days": spec.expires_after_days}
    elif update:
        out["expires_after"] = None
    metadata = dict(spec.metadata)
    metadata.update(owner_tags(spec, project=project, environment=environment, revision=revision))
    out["metadata"] = metadata
    return out


def owner_tags(
    spec: VectorStoreSpec, *, project: str, environment: str, revision: str
) -> dict[str, str]:
    """The reserved metadata keys of a managed store."""
    return ownership(
        spec.address, spec_digest(spec), project=project, environment=environment, revision=revision
    )


# -- steps --------------------------------------------------------------------------------------


class CreateVectorStore(CreateStep):
    """Create a store with its tags."""

    op: Literal["create_vector_store"] = "create_vector_store"
    phase: ClassVar[Phase] = STORES

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /vector_stores``; later steps refer to it as ``${vector_store.<name>}``."""
        store = await ctx.writer.create_vector_store(stamped(self.body))
        ctx.record(self.address, store["id"])


class UpdateVectorStore(UpdateStep):
    """Update name, expiry and metadata of a store in place."""

    op: Literal["update_vector_store"] = "update_vector_store"
    phase: ClassVar[Phase] = STORES

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /vector_stores/{id}``."""
        await ctx.writer.update_vector_store(self.id, stamped(self.body))


class AttachFiles(StepBase):
    """Attach files to a store in one batch and wait until they are indexed.

    ``files`` holds batch entries whose ``file_id`` is a reference ``${sha:<sha256>}``.
    """

    op: Literal["attach_files"] = "attach_files"
    phase: ClassVar[Phase] = ATTACH
    store: str
    files: list[dict[str, Any]]
    detach_first: list[str] = Field(
        default_factory=list, description="Failed copies detached before attaching again."
    )

    def provides(self) -> set[str]:
        """The store: what points at it (an assistant, a release) waits until it is indexed."""
        store = self.store[2:-1] if self.store.startswith("${") else self.store
        return {self.address, store}

    async def run(self, ctx: ApplyContext) -> None:
        """Detach failed copies, post one batch, poll it with backoff until it is done."""
        writer = ctx.writer
        store_id = ctx.resolve(self.store)
        for file_id in self.detach_first:
            await writer.detach_file(store_id, file_id)
        files = ctx.resolve(self.files)
        batch = await writer.create_file_batch(store_id, files)
        total = len(files)
        delay = ctx.poll_min
        deadline = time.monotonic() + ctx.index_timeout
        while True:
            counts = batch.get("file_counts") or {}
            pending = int(counts.get("in_progress", 0))
            ctx.progress(self.address, total - pending, total)
            if pending == 0 or batch.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                raise PlanError(
                    f"files still indexing after {ctx.index_timeout:.0f} s; run apply again later"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, ctx.poll_max)
            batch = await writer.retrieve_file_batch(store_id, batch["id"])
        failed = int((batch.get("file_counts") or {}).get("failed", 0))
        if failed:
            batch_files = await writer.list_file_batch_files(store_id, batch["id"])
            listed = [f for f in batch_files if f.get("status") == "failed"]
            raise index_failure(failed, total, listed)

    def describe(self) -> str:
        """``attach <n> files to <store> and wait until indexed``."""
        n = len(self.files)
        text = f"attach {n} file{'s' if n != 1 else ''} to {self.store} and wait until indexed"
        if self.detach_first:
            text += f" (first detaching {len(self.detach_first)} failed copies)"
        return text


def index_failure(failed: int, total: int, listed: list[Json]) -> PlanError:
    """The error of a batch whose files the service could not index: one line per file with
    the service's message and code, and advice that depends on the code (a ``server_error``
    may pass; an ``invalid_file`` or ``unsupported_file`` stays until the file changes)."""
    lines = []
    codes = set()
    for f in listed:
        error = f.get("last_error") or {}
        code = str(error.get("code") or "unknown")
        codes.add(code)
        message = str(error.get("message") or "no message").strip().rstrip(".")
        path = (f.get("attributes") or {}).get(PATH_ATTRIBUTE, f["id"])
        lines.append(f"  {path}: {message} ({code})")
    noun = "file" if total == 1 else "files"
    text = f"{failed} of {total} {noun} failed to index:\n" + "\n".join(lines)
    if codes <= {"server_error"}:
        advice = "run 'assistops apply' again: it attaches them again"
    else:
        advice = (
            "the service cannot index these files as they are: fix or remove them, then run "
            "'assistops apply' again"
        )
    return PlanError(text, advice=advice)


class UpdateFileAttributes(StepBase):
    """Replace the attributes of a file in a store (its path, after a rename, among them)."""

    op: Literal["update_file_attributes"] = "update_file_attributes"
    phase: ClassVar[Phase] = ATTACH
    store: str
    file_id: str
    attributes: dict[str, Any]

    def provides(self) -> set[str]:
        """The store whose file it relabels."""
        return {self.address, self.store}

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /vector_stores/{id}/files/{file_id}``."""
        await ctx.writer.update_vector_store_file(self.store, self.file_id, self.attributes)

    def describe(self) -> str:
        """``update the attributes of <file> in <store>``."""
        return f"update the attributes of {self.file_id} in {self.store}"


class DetachFile(StepBase):
    """Remove a file from a store (the file itself stays)."""

    op: Literal["detach_file"] = "detach_file"
    phase: ClassVar[Phase] = DETACH
    store: str
    file_id: str

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /vector_stores/{id}/files/{file_id}``."""
        await ctx.writer.detach_file(self.store, self.file_id)

    def describe(self) -> str:
        """``detach <file> from <store> (<address>)``."""
        return f"detach {self.file_id} from {self.store} ({self.address})"


class DeleteVectorStore(DeleteStep):
    """Delete a store we own (its files survive; see DeleteFile)."""

    op: Literal["delete_vector_store"] = "delete_vector_store"
    phase: ClassVar[Phase] = DELETE_STORES

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /vector_stores/{id}``."""
        await ctx.writer.delete_vector_store(self.id)


# -- the kind -----------------------------------------------------------------------------------


@dataclass
class StoresLive:
    """Our stores by address, and the files of each by store id."""

    stores: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    files: dict[str, list[Json]] = field(default_factory=dict)


_VOLATILE = frozenset({"last_active_at", "usage_bytes", "file_counts", "status", "expires_at"})
_FILE_VOLATILE = frozenset({"usage_bytes", "status", "last_error"})


def _path(raw: Json) -> str | None:
    value = (raw.get("attributes") or {}).get(PATH_ATTRIBUTE)
    return value if isinstance(value, str) else None


def _sha(raw: Json) -> str | None:
    value = (raw.get("attributes") or {}).get(SHA_ATTRIBUTE)
    return value if isinstance(value, str) else None


def _usable(raw: Json) -> bool:
    return raw.get("status") not in ("failed", "cancelled")


class VectorStoreKind(Kind[VectorStoreSpec, StoresLive]):
    """Stores and their files."""

    name: ClassVar[str] = "vector_store"
    spec_type: ClassVar[type[Spec]] = VectorStoreSpec
    steps: ClassVar[tuple[type[StepBase], ...]] = (
        CreateVectorStore,
        UpdateVectorStore,
        AttachFiles,
        UpdateFileAttributes,
        DetachFile,
        DeleteVectorStore,
    )
    display_rank: ClassVar[int] = 1

    def discover(
        self, reader: Reader, scope: Scope, pool: Executor
    ) -> Callable[[LiveState], StoresLive]:
        """``GET /vector_stores`` (all pages), then each managed store's files as soon as the
        stores are known, while the other kinds may still be paging."""

        def files_of(store_id: str) -> list[Json] | None:
            """The store's files; None when it was deleted since it was listed (by another
            apply running at the same time): it is gone, not an error."""
            try:
                return reader.list_vector_store_files(store_id)
            except ProviderError as exc:
                if exc.status == 404:
                    return None
                raise

        def stores_then_files() -> tuple[list[Json], list[Future[list[Json] | None]]]:
            ours = [
                raw
                for raw in reader.list_vector_stores()
                if owner_of(raw, scope.project, scope.environment, "vector_store.") is not None
            ]
            return ours, [pool.submit(files_of, s["id"]) for s in ours]

        started = pool.submit(stores_then_files)

        def finish(live: LiveState) -> StoresLive:
            part = StoresLive()
            stores, files_f = started.result()
            uploads = live.part(file_kind.KIND).sha16_of()
            for raw, listed in zip(stores, files_f, strict=True):
                address = owner_of(raw, scope.project, scope.environment, "vector_store.")
                assert address is not None
                vs_files = listed.result()
                if vs_files is None:
                    continue
                part.stores[address].append(raw)
                live.fingerprints[f"vector_store:{raw['id']}"] = fingerprint(raw, _VOLATILE)
                part.files[raw["id"]] = vs_files
                for vs_file in vs_files:
                    live.references.add(vs_file["id"])
                    sha = _sha(vs_file)
                    if sha is not None and vs_file["id"] not in uploads:
                        live.adopted.setdefault(sha, vs_file["id"])
                    key = f"vector_store_file:{raw['id']}/{vs_file['id']}"
                    live.fingerprints[key] = fingerprint(vs_file, _FILE_VOLATILE)
            return part

        return finish

    def plan(self, ctx: PlanContext) -> None:
        """Each declared store, then the stores that are ours but no longer declared."""
        plan_declared_then_orphans(
            ctx,
            ctx.specs(VectorStoreSpec),
            ctx.live.part(self).stores,
            lambda spec, candidates: self._store(ctx, spec, candidates),
            lambda address, raw: self._delete(ctx, address, raw, duplicate=False),
        )

    def running(self, live: LiveState) -> list[Running]:
        """Each tagged store with the revision and digest its tags record (its files are
        uploads: the file kind's records)."""
        return running_tagged(self.name, live.part(self).stores)

    def requests(self, spec: VectorStoreSpec, state: DesiredState) -> list[Json]:
        """``POST /v1/vector_stores`` (its files are shown with the file kind)."""
        sent = body(
            spec, project=state.project, environment=state.environment, revision=state.revision
        )
        return [{"address": spec.address, "request": "POST /v1/vector_stores", "body": sent}]

    def depends_on(self, spec: VectorStoreSpec, state: DesiredState) -> set[str]:
        """Its files."""
        return set(spec.files)

    # -- planning one store ----------------------------------------------------------------

    def _store(self, ctx: PlanContext, spec: VectorStoreSpec, candidates: list[Json]) -> None:
        desired_digest = spec_digest(spec)
        files = ctx.specs(FileSpec)
        file_specs = [files[a] for a in spec.files]
        declared = {(f.path, f.sha256) for f in file_specs}
        indexed = ctx.live.part(self).files

        def holds(raw: Json) -> int:
            """How many declared files the store already has indexed."""
            entries = indexed.get(raw["id"], [])
            return len(declared & {(_path(e), _sha(e)) for e in entries if _usable(e)})

        # the store an assistant or a release points at, holding the files, is the one to keep
        keeper = pick_keeper(candidates, desired_digest, in_use=ctx.live.references, holds=holds)
        for extra in (c for c in candidates if c is not keeper):
            self._delete(ctx, spec.address, extra, duplicate=True)
        if keeper is None:
            self._create(ctx, spec, file_specs, [])
            return
        want, have = projection(spec), projection(from_live(keeper, spec.address))
        changes = ctx.compare(want, have)
        recorded = recorded_revision(keeper)
        observed = split_rev_digest(recorded[0]) if recorded else None
        drift = observed is not None and observed[0] != digest_of(have)
        live_files = ctx.live.part(self).files.get(keeper["id"], [])
        reasons = []
        if keeper.get("status") == "expired":
            reasons.append("the store expired")
        if observed is not None and observed[1] != digest_of(write_only(spec))[:8]:
            reasons.append("description can only be set when a store is created")
        if any(
            chunking_projection(f.get("chunking_strategy")) != chunking_projection(spec.chunking)
            for f in live_files
            if _path(f)
        ):
            reasons.append("chunking changed: every file is indexed again in a new store")
        if reasons:
            self._create(ctx, spec, file_specs, reasons, replaced=keeper)
            return
        ctx.keep(spec.address, keeper["id"])
        stale = observed is None or observed[0] != split_rev_digest(desired_digest)[0]
        needs_update = bool(changes) or stale
        if needs_update:
            update = body(spec, update=True, **ctx.project_context())
            ctx.steps.append(UpdateVectorStore(address=spec.address, id=keeper["id"], body=update))
        ctx.changes.append(
            ResourceChange(
                address=spec.address,
                kind=self.name,
                action="update" if needs_update else "no-op",
                id=keeper["id"],
                drift=drift and bool(changes),
                reasons=["changed outside assistops since the last apply"]
                if drift and changes
                else [],
                changes=changes,
            )
        )
        self._files(ctx, spec, keeper["id"], file_specs, live_files)

    def _create(
        self,
        ctx: PlanContext,
        spec: VectorStoreSpec,
        file_specs: list[FileSpec],
        reasons: list[str],
        replaced: Json | None = None,
    ) -> None:
        create = body(spec, **ctx.project_context())
        ctx.steps.append(CreateVectorStore(address=spec.address, body=create))
        ctx.new.add(spec.address)
        ctx.changes.append(
            ResourceChange(
                address=spec.address,
                kind=self.name,
                action="replace" if replaced else "create",
                id=replaced["id"] if replaced else None,
                reasons=reasons,
                after=create if not replaced else None,
            )
        )
        if file_specs:
            ctx.steps.append(
                AttachFiles(
                    address=spec.address,
                    store=ctx.ref(spec.address),
                    files=[batch_entry(f, file_ref(ctx, f), spec.chunking) for f in file_specs],
                )
            )
        for f in file_specs:
            ctx.changes.append(_file_created(f))
        if replaced is not None:
            ctx.retired[replaced["id"]] = spec.address
            ctx.steps.append(DeleteVectorStore(address=spec.address, id=replaced["id"]))

    def _files(
        self,
        ctx: PlanContext,
        spec: VectorStoreSpec,
        store_id: str,
        file_specs: list[FileSpec],
        live: list[Json],
    ) -> None:
        by_path: dict[str, list[Json]] = defaultdict(list)
        detach: list[DetachFile] = []
        for raw in sorted_by_age(live):
            path = _path(raw)
            if path is None:
                detach.append(DetachFile(address=spec.address, store=store_id, file_id=raw["id"]))
                ctx.changes.append(
                    ResourceChange(
                        address=file_address(spec.address, f"?{raw['id']}"),
                        kind=file_kind.KIND.name,
                        action="delete",
                        id=raw["id"],
                        drift=True,
                        reasons=["attached to the store outside assistops"],
                    )
                )
                continue
            by_path[path].append(raw)
        exact = {
            f.path: next(
                (e for e in by_path.get(f.path, []) if _usable(e) and _sha(e) == f.sha256), None
            )
            for f in file_specs
        }
        claimed = {e["id"] for e in exact.values() if e is not None}
        # a declared content without an entry at its path, attached under another path whose
        # entry nothing else claims, was renamed: that entry is re-labelled, not detached (one
        # upload can be attached to a store only once, so attach + detach would lose it)
        renamed: dict[str, Json] = {}
        for f in file_specs:
            if exact[f.path] is not None:
                continue
            for entries in by_path.values():
                entry = next(
                    (
                        e
                        for e in entries
                        if e["id"] not in claimed and _usable(e) and _sha(e) == f.sha256
                    ),
                    None,
                )
                if entry is not None:
                    claimed.add(entry["id"])
                    renamed[f.path] = entry
                    break
        moved = {e["id"] for e in renamed.values()}
        for path in list(by_path):
            by_path[path] = [e for e in by_path[path] if e["id"] not in moved]
            if not by_path[path]:
                del by_path[path]
        attach: list[Json] = []
        detach_first: list[str] = []
        for f in file_specs:
            entries = by_path.pop(f.path, [])
            match = renamed.get(f.path) or exact[f.path]
            for extra in (e for e in entries if e is not match):
                if match is None and _sha(extra) == f.sha256:
                    detach_first.append(extra["id"])  # a failed copy of the same content
                else:
                    detach.append(
                        DetachFile(address=f.address, store=store_id, file_id=extra["id"])
                    )
            if match is not None:
                self._entry(ctx, spec, store_id, f, match)
                continue
            attach.append(batch_entry(f, file_ref(ctx, f), spec.chunking))
            old = entries[0] if entries else None
            for entry in entries:
                ctx.superseded[entry["id"]] = f.address
            ctx.changes.append(_file_attached(f, old))
        for path, entries in by_path.items():
            address = file_address(spec.address, path)
            for raw in entries:
                ctx.superseded[raw["id"]] = address
                detach.append(DetachFile(address=address, store=store_id, file_id=raw["id"]))
            ctx.changes.append(
                ResourceChange(
                    address=address,
                    kind=file_kind.KIND.name,
                    action="delete",
                    id=entries[0]["id"],
                    reasons=["no longer declared"],
                    before={"path": path, "sha256": _sha(entries[0])},
                )
            )
        # an entry holding an upload that is attached again (under another path) must go
        # first: the store holds one upload once, so detaching it afterwards would lose it
        attaching = {entry["file_id"] for entry in attach}
        detach_first += [d.file_id for d in detach if d.file_id in attaching]
        ctx.steps.extend(d for d in detach if d.file_id not in attaching)
        if attach:
            ctx.steps.append(
                AttachFiles(
                    address=spec.address, store=store_id, files=attach, detach_first=detach_first
                )
            )

    def _entry(
        self, ctx: PlanContext, spec: VectorStoreSpec, store_id: str, f: FileSpec, match: Json
    ) -> None:
        """A declared file that is attached: update its attributes if they differ."""
        ctx.used.add(match["id"])
        live = entry_from_live(match, spec.address)
        assert live is not None
        changes = ctx.compare(
            entry_projection(f, spec.chunking),
            entry_projection(live, match.get("chunking_strategy")),
        )
        if changes:
            ctx.steps.append(
                UpdateFileAttributes(
                    address=f.address,
                    store=store_id,
                    file_id=match["id"],
                    attributes=file_kind.file_attributes(f),
                )
            )
        renamed = live.path != f.path
        ctx.changes.append(
            ResourceChange(
                address=f.address,
                kind=file_kind.KIND.name,
                action="update" if changes else "no-op",
                id=match["id"],
                reasons=[f"renamed from {live.path}: the indexed file is kept"] if renamed else [],
                changes=changes,
            )
        )

    def _delete(self, ctx: PlanContext, address: str, raw: Json, *, duplicate: bool) -> None:
        if duplicate:
            ctx.retired[raw["id"]] = address
        step = DeleteVectorStore(address=address, id=raw["id"])
        retire(ctx, step, self.name, raw, duplicate=duplicate, before={"name": raw.get("name")})


def _file_created(f: FileSpec) -> ResourceChange:
    return ResourceChange(
        address=f.address,
        kind=file_kind.KIND.name,
        action="create",
        after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
    )


def _file_attached(f: FileSpec, old: Json | None) -> ResourceChange:
    """A declared file attached anew: created, its content replaced, or attached again after
    indexing failed."""
    if old is None:
        return _file_created(f)
    if _sha(old) != f.sha256:
        return ResourceChange(
            address=f.address,
            kind=file_kind.KIND.name,
            action="replace",
            id=old["id"],
            reasons=[
                "content changed: the new file is uploaded and indexed, then the old one removed"
            ],
            changes=[FieldChange(path="sha256", before=_sha(old), after=f.sha256)],
        )
    return ResourceChange(
        address=f.address,
        kind=file_kind.KIND.name,
        action="replace",
        id=old["id"],
        reasons=["indexing failed: attached again"],
        after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
    )


KIND = VectorStoreKind()
