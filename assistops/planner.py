"""diff -> plan: compare desired and live state resource by resource and derive the steps.

Rules that make apply safe and convergent:
- only objects tagged for this project and environment are considered (see :mod:`live`);
- when two live objects claim one address, the one whose recorded digest matches the desired
  spec is kept (else the oldest) and the others are deleted as duplicates;
- uploads are content-addressed: a sha256 already uploaded is never uploaded again;
- a store's new files are attached and indexed before replaced ones are detached, and old
  stores and files are deleted only after nothing points at them;
- ids known at plan time are written into the step bodies; what apply creates is referenced as
  ``${vector_store.<name>}`` or ``${sha:<sha256>}`` and resolved when it exists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from assistops.diff import (
    FieldChange,
    align_defaults,
    assistant_projection,
    chunking_projection,
    compare,
    file_projection,
    response_format_projection,
    split_rev_digest,
    store_projection,
    tool_body,
    tool_key,
    write_only,
)
from assistops.live import LiveState, as_days, sorted_by_age
from assistops.payloads import (
    Context,
    assistant_body,
    file_attributes,
    spec_digest,
    upload_filename,
    vector_store_body,
)
from assistops.plan import (
    AttachFiles,
    CreateAssistant,
    CreateVectorStore,
    DeleteAssistant,
    DeleteFile,
    DeleteVectorStore,
    DetachFile,
    Plan,
    ResourceChange,
    ResourceKind,
    Step,
    UpdateAssistant,
    UpdateFileAttributes,
    UpdateVectorStore,
    UploadFile,
)
from assistops.providers.base import Json
from assistops.spec import (
    AssistantSpec,
    DesiredState,
    FileSpec,
    VectorStoreSpec,
    digest_of,
    file_address,
)
from assistops.tags import (
    OWNER_KEY,
    PATH_ATTRIBUTE,
    RESERVED_ATTRIBUTES,
    RESERVED_METADATA,
    REVISION_KEY,
    SHA_ATTRIBUTE,
    UploadName,
    parse_revision,
)


def sha_ref(sha256: str) -> str:
    """The reference to an upload apply will make."""
    return "${sha:" + sha256 + "}"


def store_ref(address: str) -> str:
    """The reference to a store apply will create."""
    return "${" + address + "}"


@dataclass
class _Builder:
    desired: DesiredState
    live: LiveState
    resources: list[ResourceChange] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    upload_id: dict[str, str] = field(default_factory=dict)  # sha256 -> live upload id
    store_id: dict[str, str] = field(default_factory=dict)  # address -> kept store id (stable)
    store_by_id: dict[str, str] = field(default_factory=dict)  # kept store id -> address
    new_stores: set[str] = field(default_factory=set)  # addresses created or replaced
    referenced_uploads: set[str] = field(default_factory=set)  # upload ids still used
    superseded: dict[str, str] = field(default_factory=dict)  # vs-file id -> address replacing it

    @property
    def files(self) -> dict[str, FileSpec]:
        return {a: s for a, s in self.desired.resources.items() if isinstance(s, FileSpec)}

    def ctx(self) -> Context:
        return {
            "project": self.desired.project,
            "environment": self.desired.environment,
            "revision": self.desired.revision,
        }

    # -- uploads ---------------------------------------------------------------------------

    def uploads(self) -> None:
        """Decide which contents to upload, and which live upload serves each sha256."""
        by_sha16 = self.live.uploads
        referenced = self._live_references()
        for specs in self._by_sha().values():
            spec = specs[0]
            candidates = sorted_by_age(by_sha16.get(spec.sha256[:16], []))
            candidates = [c for c in candidates if c.get("bytes") in (None, spec.bytes)]
            if candidates:
                used = [c for c in candidates if c["id"] in referenced]
                self.upload_id[spec.sha256] = (used or candidates)[0]["id"]
                continue
            if spec.sha256 in self.live.adopted:
                self.upload_id[spec.sha256] = self.live.adopted[spec.sha256]
                continue
            filename = upload_filename(spec, **self._pe())
            self.steps.append(
                UploadFile(
                    address=spec.address,
                    path=spec.path,
                    sha256=spec.sha256,
                    bytes=spec.bytes,
                    filename=filename,
                )
            )

    def _pe(self) -> dict[str, str]:
        return {"project": self.desired.project, "environment": self.desired.environment}

    def _by_sha(self) -> dict[str, list[FileSpec]]:
        out: dict[str, list[FileSpec]] = defaultdict(list)
        for spec in self.files.values():
            out[spec.sha256].append(spec)
        return out

    def _live_references(self) -> set[str]:
        ids: set[str] = set()
        for files in self.live.store_files.values():
            ids.update(f["id"] for f in files)
        for objs in self.live.assistants.values():
            for raw in objs:
                ids.update(_ci_file_ids(raw))
        return ids

    def file_ref(self, address: str) -> str:
        sha = self.files[address].sha256
        return self.upload_id.get(sha) or sha_ref(sha)

    # -- vector stores ---------------------------------------------------------------------

    def stores(self) -> None:
        for spec in self.desired.resources.values():
            if isinstance(spec, VectorStoreSpec):
                self._store(spec)

    def _store(self, spec: VectorStoreSpec) -> None:
        desired_digest = spec_digest(spec, {})
        candidates = sorted_by_age(self.live.vector_stores.get(spec.address, []))
        keeper = _keeper(candidates, desired_digest)
        for extra in (c for c in candidates if c is not keeper):
            self._delete_store(spec.address, extra, duplicate=True)
        file_specs = [self.files[a] for a in spec.files]
        if keeper is None:
            self._create_store(spec, file_specs, [])
            return
        want = store_projection(spec)
        have = {
            "name": keeper.get("name"),
            "metadata": _user_metadata(keeper),
            "expires_after_days": as_days(keeper.get("expires_after")),
        }
        changes = compare(want, have)
        recorded = _recorded(keeper)
        drift = recorded is not None and recorded[0] != digest_of(have)
        wo_changed = recorded is not None and recorded[1] != digest_of(write_only(spec))[:8]
        live_files = self.live.store_files.get(keeper["id"], [])
        replace_reasons = []
        if keeper.get("status") == "expired":
            replace_reasons.append("the store expired")
        if wo_changed:
            replace_reasons.append("description can only be set when a store is created")
        if any(
            chunking_projection(f.get("chunking_strategy")) != chunking_projection(spec.chunking)
            for f in live_files
            if _vs_path(f)
        ):
            replace_reasons.append("chunking changed: every file is indexed again in a new store")
        if replace_reasons:
            self._create_store(spec, file_specs, replace_reasons, replaced=keeper)
            return
        self.store_id[spec.address] = keeper["id"]
        self.store_by_id[keeper["id"]] = spec.address
        needs_update = bool(changes) or recorded is None or recorded[0] != _obs(desired_digest)
        if needs_update:
            body = vector_store_body(spec, update=True, **self.ctx())
            self.steps.append(UpdateVectorStore(address=spec.address, id=keeper["id"], body=body))
        self.resources.append(
            ResourceChange(
                address=spec.address,
                kind="vector_store",
                action="update" if needs_update else "no-op",
                id=keeper["id"],
                drift=drift and bool(changes),
                reasons=["changed outside assistops since the last apply"]
                if drift and changes
                else [],
                changes=changes,
            )
        )
        self._store_files(spec, keeper["id"], file_specs, live_files)

    def _create_store(
        self,
        spec: VectorStoreSpec,
        file_specs: list[FileSpec],
        reasons: list[str],
        replaced: Json | None = None,
    ) -> None:
        body = vector_store_body(spec, **self.ctx())
        self.steps.append(CreateVectorStore(address=spec.address, body=body))
        self.new_stores.add(spec.address)
        self.resources.append(
            ResourceChange(
                address=spec.address,
                kind="vector_store",
                action="replace" if replaced else "create",
                id=replaced["id"] if replaced else None,
                reasons=reasons,
                after=body if not replaced else None,
            )
        )
        if file_specs:
            self.steps.append(
                AttachFiles(
                    address=spec.address,
                    store=store_ref(spec.address),
                    files=[self._batch_entry(f, spec) for f in file_specs],
                )
            )
        for f in file_specs:
            self.resources.append(
                ResourceChange(
                    address=f.address,
                    kind="file",
                    action="create",
                    after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
                )
            )
        if replaced is not None:
            self._delete_store(spec.address, replaced, duplicate=False, replaced=True)

    def _batch_entry(self, f: FileSpec, store: VectorStoreSpec) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "file_id": self.file_ref(f.address),
            "attributes": file_attributes(f),
        }
        if store.chunking is not None:
            entry["chunking_strategy"] = store.chunking
        return entry

    def _store_files(
        self, spec: VectorStoreSpec, store_id: str, file_specs: list[FileSpec], live: list[Json]
    ) -> None:
        by_path: dict[str, list[Json]] = defaultdict(list)
        for raw in sorted_by_age(live):
            path = _vs_path(raw)
            if path is None:
                self.steps.append(
                    DetachFile(address=spec.address, store=store_id, file_id=raw["id"])
                )
                self.resources.append(
                    ResourceChange(
                        address=file_address(spec.address, f"?{raw['id']}"),
                        kind="file",
                        action="delete",
                        id=raw["id"],
                        drift=True,
                        reasons=["attached to the store outside assistops"],
                    )
                )
                continue
            by_path[path].append(raw)
        attach: list[dict[str, Any]] = []
        detach_first: list[str] = []
        for f in file_specs:
            entries = by_path.pop(f.path, [])
            usable = [e for e in entries if e.get("status") not in ("failed", "cancelled")]
            match = next((e for e in usable if _vs_sha(e) == f.sha256), None)
            for extra in (e for e in entries if e is not match):
                if match is None and _vs_sha(extra) == f.sha256:
                    detach_first.append(extra["id"])  # a failed copy of the same content
                else:
                    self.steps.append(
                        DetachFile(address=f.address, store=store_id, file_id=extra["id"])
                    )
            if match is not None:
                self.referenced_uploads.add(match["id"])
                want = file_projection(f, spec.chunking)
                have = {
                    "sha256": _vs_sha(match),
                    "attributes": _user_attributes(match),
                    "chunking": chunking_projection(match.get("chunking_strategy")),
                }
                changes = compare(want, have)
                if changes:
                    self.steps.append(
                        UpdateFileAttributes(
                            address=f.address,
                            store=store_id,
                            file_id=match["id"],
                            attributes=file_attributes(f),
                        )
                    )
                self.resources.append(
                    ResourceChange(
                        address=f.address,
                        kind="file",
                        action="update" if changes else "no-op",
                        id=match["id"],
                        changes=changes,
                    )
                )
                continue
            attach.append(self._batch_entry(f, spec))
            old = entries[0] if entries else None
            for entry in entries:
                self.superseded[entry["id"]] = f.address
            if old is not None and _vs_sha(old) != f.sha256:
                self.resources.append(
                    ResourceChange(
                        address=f.address,
                        kind="file",
                        action="replace",
                        id=old["id"],
                        reasons=[
                            "content changed: the new file is uploaded and indexed, then "
                            "the old one removed"
                        ],
                        changes=[FieldChange(path="sha256", before=_vs_sha(old), after=f.sha256)],
                    )
                )
            else:
                failed = old is not None
                self.resources.append(
                    ResourceChange(
                        address=f.address,
                        kind="file",
                        action="replace" if failed else "create",
                        id=old["id"] if old else None,
                        reasons=["indexing failed: attached again"] if failed else [],
                        after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
                    )
                )
        if attach:
            self.steps.append(
                AttachFiles(
                    address=spec.address, store=store_id, files=attach, detach_first=detach_first
                )
            )
        for path, entries in by_path.items():
            for raw in entries:
                self.superseded[raw["id"]] = file_address(spec.address, path)
                self.steps.append(
                    DetachFile(
                        address=file_address(spec.address, path), store=store_id, file_id=raw["id"]
                    )
                )
            self.resources.append(
                ResourceChange(
                    address=file_address(spec.address, path),
                    kind="file",
                    action="delete",
                    id=entries[0]["id"],
                    reasons=["no longer declared"],
                    before={"path": path, "sha256": _vs_sha(entries[0])},
                )
            )

    def _delete_store(
        self, address: str, raw: Json, *, duplicate: bool, replaced: bool = False
    ) -> None:
        self.steps.append(DeleteVectorStore(address=address, id=raw["id"]))
        if not replaced:
            self.resources.append(
                _deletion(address, "vector_store", raw["id"], duplicate, {"name": raw.get("name")})
            )

    # -- assistants ------------------------------------------------------------------------

    def assistants(self) -> None:
        for spec in self.desired.resources.values():
            if isinstance(spec, AssistantSpec):
                self._assistant(spec)

    def _assistant(self, spec: AssistantSpec) -> None:
        files = self.files
        desired_digest = spec_digest(spec, files)
        candidates = sorted_by_age(self.live.assistants.get(spec.address, []))
        keeper = _keeper(candidates, desired_digest)
        for extra in (c for c in candidates if c is not keeper):
            self._delete_assistant(spec.address, extra, duplicate=True)
        self._ci_files(spec, keeper)
        resolve = self._resolver()
        if keeper is None:
            body = assistant_body(spec, resolve=resolve, files=files, **self.ctx())
            self.steps.append(CreateAssistant(address=spec.address, body=body))
            self.resources.append(
                ResourceChange(address=spec.address, kind="assistant", action="create", after=body)
            )
            return
        want = assistant_projection(spec, files)
        have = align_defaults(want, self._live_assistant(keeper, spec))
        changes = compare(want, have)
        recorded = _recorded(keeper)
        drift = bool(changes) and recorded is not None and recorded[0] != digest_of(have)
        reasons = []
        if recorded is not None and recorded[1] != digest_of(write_only(spec))[:8]:
            reasons.append("reasoning_effort changed (the service does not return it)")
        if spec.vector_store in self.new_stores:
            reasons.append(f"{spec.vector_store} gets a new id")
        if drift:
            reasons.insert(0, "changed outside assistops since the last apply")
        needs = (
            bool(changes)
            or bool(reasons)
            or recorded is None
            or (recorded[0] != _obs(desired_digest))
        )
        if not needs:
            self.referenced_uploads.update(_ci_file_ids(keeper))
        else:
            body = assistant_body(spec, resolve=resolve, files=files, update=True, **self.ctx())
            self.steps.append(UpdateAssistant(address=spec.address, id=keeper["id"], body=body))
        self.resources.append(
            ResourceChange(
                address=spec.address,
                kind="assistant",
                action="update" if needs else "no-op",
                id=keeper["id"],
                drift=drift,
                reasons=reasons,
                changes=changes,
            )
        )

    def _ci_files(self, spec: AssistantSpec, keeper: Json | None) -> None:
        live_shas = set()
        if keeper is not None:
            ids = self.live.upload_ids()
            live_shas = {ids[i] for i in _ci_file_ids(keeper) if i in ids}
        for address in spec.code_interpreter_files:
            f = self.files[address]
            if f.sha256[:16] in live_shas:
                self.resources.append(
                    ResourceChange(
                        address=address,
                        kind="file",
                        action="no-op",
                        id=self.upload_id.get(f.sha256),
                    )
                )
                continue
            self.resources.append(
                ResourceChange(
                    address=address,
                    kind="file",
                    action="create",
                    after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
                )
            )

    def _resolver(self) -> Any:
        def resolve(address: str) -> str:
            if address.startswith("vector_store."):
                if address in self.new_stores or address not in self.store_id:
                    return store_ref(address)
                return self.store_id[address]
            return self.file_ref(address)

        return resolve

    def _live_assistant(self, raw: Json, spec: AssistantSpec) -> dict[str, Any]:
        resources = raw.get("tool_resources") or {}
        vs_ids = ((resources.get("file_search") or {}).get("vector_store_ids")) or []
        store = None
        if vs_ids:
            store = self.store_by_id.get(vs_ids[0], f"id:{vs_ids[0]}")
            if store in self.new_stores:
                store = f"id:{vs_ids[0]}"
        uploads = {f["id"]: f for files in self.live.uploads.values() for f in files}
        desired_ci = {self.files[a].sha256[:16]: self.files[a] for a in spec.code_interpreter_files}
        ci = []
        for file_id in _ci_file_ids(raw):
            up = uploads.get(file_id)
            name = UploadName.parse(str(up.get("filename", ""))) if up else None
            if name is None:
                ci.append(f"id:{file_id}")
                continue
            known = desired_ci.get(name.sha16)
            path = known.path if known else name.basename
            ci.append(f"{path}@{name.sha16[:12]}")
        tools = {tool_key(t): t for t in raw.get("tools") or []}
        return {
            "name": raw.get("name"),
            "description": raw.get("description") or None,
            "model": raw.get("model"),
            "instructions": raw.get("instructions") or None,
            "tools": {k: tool_body(t) for k, t in tools.items()},
            "response_format": response_format_projection(raw.get("response_format")),
            "temperature": 1.0 if raw.get("temperature") is None else float(raw["temperature"]),
            "top_p": 1.0 if raw.get("top_p") is None else float(raw["top_p"]),
            "metadata": _user_metadata(raw),
            "vector_store": store,
            "code_interpreter_files": sorted(ci),
        }

    def _delete_assistant(self, address: str, raw: Json, *, duplicate: bool) -> None:
        self.steps.append(DeleteAssistant(address=address, id=raw["id"]))
        before = {"name": raw.get("name"), "model": raw.get("model")}
        self.resources.append(_deletion(address, "assistant", raw["id"], duplicate, before))

    # -- orphans ---------------------------------------------------------------------------

    def orphans(self) -> None:
        declared = self.desired.resources
        for address, objs in self.live.assistants.items():
            if address not in declared:
                for raw in objs:
                    self._delete_assistant(address, raw, duplicate=False)
        for address, objs in self.live.vector_stores.items():
            if address not in declared:
                for raw in objs:
                    self._delete_store(address, raw, duplicate=False)
        needed = {s.sha256[:16]: s.sha256 for s in self.files.values()}
        kept = set(self.upload_id.values()) | self.referenced_uploads
        for sha16, objs in self.live.uploads.items():
            for raw in sorted_by_age(objs):
                if raw["id"] in kept:
                    continue
                if raw["id"] in self.superseded:
                    # the old content of a replaced or removed file: part of that change
                    address = self.superseded[raw["id"]]
                    self.steps.append(DeleteFile(address=address, id=raw["id"]))
                    continue
                name = UploadName.parse(str(raw.get("filename")))
                base = name.basename if name else raw["id"]
                address = f"file.unused:{base}@{sha16[:12]}"
                self.steps.append(DeleteFile(address=address, id=raw["id"]))
                before = {"filename": raw.get("filename"), "bytes": raw.get("bytes")}
                self.resources.append(
                    _deletion(address, "file", raw["id"], sha16 in needed, before)
                )


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    provider: str,
    targets: list[str] | None = None,
) -> Plan:
    """Compare desired and live state and derive the ordered steps."""
    builder = _Builder(desired, live)
    builder.uploads()
    builder.stores()
    builder.assistants()
    builder.orphans()
    resources, steps = builder.resources, builder.steps
    if targets:
        keep = closure(desired, targets)
        resources = [r for r in resources if r.address in keep]
        steps = [s for s in steps if s.address in keep]
    order = {"vector_store": 1, "file": 2, "assistant": 3}
    resources = sorted(resources, key=lambda r: (order[r.kind], r.address))
    return Plan(
        project=desired.project,
        environment=desired.environment,
        provider=provider,
        revision=desired.revision,
        config_digest=config_digest(desired),
        resources=resources,
        steps=steps,
        fingerprints=dict(live.fingerprints),
    )


def config_digest(desired: DesiredState) -> str:
    """Digest of every desired spec (not the revision: a commit alone changes nothing)."""
    return digest_of({a: s.model_dump(mode="json") for a, s in desired.resources.items()})


def closure(desired: DesiredState, targets: list[str]) -> set[str]:
    """The targeted addresses and everything they depend on."""
    out: set[str] = set()
    for target in targets:
        out.add(target)
        spec = desired.resources.get(target)
        if isinstance(spec, AssistantSpec):
            out.update(spec.code_interpreter_files)
            if spec.vector_store:
                out.add(spec.vector_store)
                store = desired.resources.get(spec.vector_store)
                if isinstance(store, VectorStoreSpec):
                    out.update(store.files)
        elif isinstance(spec, VectorStoreSpec):
            out.update(spec.files)
    return out


# -- helpers ------------------------------------------------------------------------------------


def _keeper(candidates: list[Json], desired_digest: str) -> Json | None:
    if not candidates:
        return None
    for raw in candidates:
        recorded = parse_revision((raw.get("metadata") or {}).get(REVISION_KEY))
        if recorded and recorded[0] == desired_digest:
            return raw
    return candidates[0]


_DELETE_REASONS = {
    ("file", True): "a second upload of the same content",
    ("file", False): "no declared file has this content any more",
}


def _deletion(
    address: str, kind: ResourceKind, object_id: str, duplicate: bool, before: dict[str, Any]
) -> ResourceChange:
    """The change that deletes a duplicate or an orphan (tagged as ours, no longer declared)."""
    default = (
        "duplicate of the same address (an interrupted or retried create)"
        if duplicate
        else "no longer declared"
    )
    return ResourceChange(
        address=address,
        kind=kind,
        action="delete",
        id=object_id,
        duplicate=duplicate,
        orphan=not duplicate,
        reasons=[_DELETE_REASONS.get((kind, duplicate), default)],
        before=before,
    )


def _obs(rev: str) -> str:
    return split_rev_digest(rev)[0]


def _recorded(raw: Json) -> tuple[str, str] | None:
    parsed = parse_revision((raw.get("metadata") or {}).get(REVISION_KEY))
    if parsed is None:
        return None
    return split_rev_digest(parsed[0])


def _user_metadata(raw: Json) -> dict[str, str]:
    return {
        k: v
        for k, v in (raw.get("metadata") or {}).items()
        if k not in RESERVED_METADATA and k != OWNER_KEY
    }


def _user_attributes(raw: Json) -> dict[str, Any]:
    return {k: v for k, v in (raw.get("attributes") or {}).items() if k not in RESERVED_ATTRIBUTES}


def _vs_path(raw: Json) -> str | None:
    value = (raw.get("attributes") or {}).get(PATH_ATTRIBUTE)
    return value if isinstance(value, str) else None


def _vs_sha(raw: Json) -> str | None:
    value = (raw.get("attributes") or {}).get(SHA_ATTRIBUTE)
    return value if isinstance(value, str) else None


def _ci_file_ids(raw: Json) -> list[str]:
    resources = raw.get("tool_resources") or {}
    return list(((resources.get("code_interpreter") or {}).get("file_ids")) or [])
