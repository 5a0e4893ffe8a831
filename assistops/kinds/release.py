"""The release kind: what an app that calls the Responses API itself runs, published per
environment.

In an environment whose API is ``responses``, assistops manages the vector stores and files
as everywhere else, and publishes one **release**: the resolved Responses request of every
assistant (:func:`assistops.kinds.responses.request_of`, ids filled in), recorded with the
project, environment, config revision and digest.

The carrier is a file of purpose ``batch`` (``docs/apis.md`` says why): the service lets a
client download those (``assistants`` and ``user_data`` files cannot be downloaded), so an app
reads a release with two calls of the official SDK, and ``plan`` reads it back with no state
file. Its content is JSON Lines in the Batch API's input shape, one line per assistant::

    {"custom_id": "support", "method": "POST", "url": "/v1/responses", "body": {...}}

Files carry no metadata, so the filename is the ownership tag (:class:`ReleaseName`):
``assistops-release.<project>.<environment>.<serial>.<revision>.<digest>.jsonl``; a file not
named like that is never touched. Files cannot change, so a new release is a new file, with the
next serial: it is published after the stores it points at are indexed, and the previous one is
deleted in a later phase of the same apply (an app reading in between gets the one or the
other, whole). The release with the highest serial is the environment's current one (creation
times have one-second resolution, too coarse to order two applies). Re-publishing an earlier
revision (apply at that commit) rolls back.

Address: ``release.<project>``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from assistops.kinds import file as file_kind
from assistops.kinds.agent import tool_body, tool_key
from assistops.kinds.assistant import AssistantSpec
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
from assistops.kinds.changes import ORPHAN_REASON, FieldChange, ResourceChange, deletion
from assistops.kinds.file import FileSpec, file_ref
from assistops.kinds.responses import reference, request_of
from assistops.kinds.spec import DesiredState, Projection, Spec, address_of, digest_of
from assistops.providers.base import Json, Reader

#: The file purpose that carries releases: one a client may download.
RELEASE_PURPOSE = "batch"
PREFIX = "assistops-release"
SUFFIX = ".jsonl"
#: Where each line of a release sends its body.
RESPONSES_URL = "/v1/responses"

# after the stores are indexed (attach, 30); before anything they point at is detached (50)
PUBLISH = Phase(45, "publish the release")
RETIRE = Phase(60, "delete previous releases", removes=True)

REPLACE_REASON = (
    "a release is a file, which cannot change: apply publishes a new one, then deletes this one"
)


def release_address(project: str) -> str:
    """``release.<project>``."""
    return address_of("release", project)


@dataclass(frozen=True)
class ReleaseName:
    """The filename of a release: who owns it, its serial (one more than the release it
    replaces), the revision it was applied from, and the digest of its requests (project and
    environment names cannot contain dots)."""

    project: str
    environment: str
    serial: int
    revision: str
    digest: str

    def format(self) -> str:
        """``assistops-release.<project>.<environment>.<serial>.<revision>.<digest>.jsonl``."""
        return (
            f"{PREFIX}.{self.project}.{self.environment}.{self.serial}.{self.revision}."
            f"{self.digest}{SUFFIX}"
        )

    @classmethod
    def parse(cls, filename: str) -> ReleaseName | None:
        """Parse a filename; None when it is not a release."""
        if not (filename.startswith(PREFIX + ".") and filename.endswith(SUFFIX)):
            return None
        parts = filename[len(PREFIX) + 1 : -len(SUFFIX)].split(".", 3)
        if len(parts) != 4:
            return None
        project, environment, serial, rest = parts
        revision, _, digest = rest.rpartition(".")
        if not (project and environment and revision and serial.isdigit()) or len(digest) != 16:
            return None
        if any(c not in "0123456789abcdef" for c in digest):
            return None
        return cls(project, environment, int(serial), revision, digest)


def requests_digest(requests: dict[str, Json]) -> str:
    """The digest a release's name records: of its requests, ids filled in."""
    return digest_of(requests)


def release_lines(requests: dict[str, Json]) -> bytes:
    """A release's content: one Batch-API input line per assistant, by name."""
    lines = [
        json.dumps(
            {"custom_id": name, "method": "POST", "url": RESPONSES_URL, "body": requests[name]},
            ensure_ascii=False,
            sort_keys=True,
        )
        for name in sorted(requests)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class ReleaseFormatError(ValueError):
    """A file named like a release whose content is not one."""


def parse_release(content: bytes) -> dict[str, Json]:
    """The requests of a release's content, by assistant name."""
    out: dict[str, Json] = {}
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReleaseFormatError(f"not UTF-8 text ({exc.reason})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReleaseFormatError(f"line {number} is not JSON ({exc.msg})") from None
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("custom_id"), str)
            and isinstance(entry.get("body"), dict)
        ):
            raise ReleaseFormatError(f"line {number} has no custom_id and body")
        out[entry["custom_id"]] = entry["body"]
    return out


class ReleaseSpec(Spec):
    """The release of one environment: every assistant, as its Responses request is made."""

    kind: Literal["release"] = "release"
    assistants: dict[str, AssistantSpec] = Field(
        description="By name; the requests are made from them when the plan knows the ids."
    )

    def requests(self, resolve: Callable[[str], str] = reference) -> dict[str, Json]:
        """Each assistant's request by name; references through ``resolve``."""
        return {
            name: request_of(spec, resolve=resolve)
            for name, spec in sorted(self.assistants.items())
        }


@dataclass(frozen=True)
class Release:
    """A published release, as an app reads it (:func:`assistops.load_release`)."""

    project: str
    environment: str
    serial: int = field(metadata={"doc": "One more than the release it replaced."})
    revision: str = field(metadata={"doc": "The config revision it was applied from."})
    digest: str = field(metadata={"doc": "Of its requests, as its name records it."})
    file_id: str
    created_at: int
    requests: dict[str, Json]

    @property
    def intact(self) -> bool:
        """Its content is what assistops published (False: edited outside assistops)."""
        return requests_digest(self.requests) == self.digest

    def request(self, assistant: str) -> Json:
        """The keyword arguments of ``client.responses.create`` for one assistant (a copy;
        add ``input``). KeyError, naming the assistants it has, for another name."""
        if assistant not in self.requests:
            raise KeyError(
                f"release {self.project}/{self.environment} at revision {self.revision} has no "
                f"assistant '{assistant}' (it has: {', '.join(sorted(self.requests)) or 'none'})"
            )
        return copy.deepcopy(self.requests[assistant])


# -- comparing ----------------------------------------------------------------------------------


def request_projection(request: Json) -> Projection:
    """What is compared of one request: tools keyed by kind and name, as an agent's are (both
    are flat)."""
    out = {k: v for k, v in request.items() if k != "tools"}
    out["tools"] = {tool_key(t): tool_body(t) for t in request.get("tools") or []}
    return out


def compare_requests(
    want: dict[str, Json],
    have: dict[str, Json],
    compare: Callable[[Projection, Projection], list[FieldChange]],
) -> list[FieldChange]:
    """Field changes from ``have`` to ``want``, each path under its assistant's name, with the
    same text diffs and breaking flags as an assistant's."""
    out: list[FieldChange] = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            out.append(FieldChange(path=name, after=want[name]))
        elif name not in want:
            out.append(FieldChange(path=name, before=have[name]))
        else:
            for change in compare(request_projection(want[name]), request_projection(have[name])):
                out.append(change.model_copy(update={"path": f"{name}.{change.path}"}))
    return out


# -- steps --------------------------------------------------------------------------------------


class PublishRelease(StepBase):
    """Upload a release: the requests with the ids apply created, named with their digest."""

    op: Literal["publish_release"] = "publish_release"
    phase: ClassVar[Phase] = PUBLISH
    project: str
    environment: str
    serial: int = Field(description="One more than the current release's.")
    revision: str
    requests: dict[str, dict[str, Any]] = Field(
        description="By assistant name; ${address} where apply creates the object."
    )

    async def run(self, ctx: ApplyContext) -> None:
        """``POST /files`` with purpose ``batch``."""
        requests = ctx.resolve(self.requests)
        digest = requests_digest(requests)
        name = ReleaseName(self.project, self.environment, self.serial, self.revision, digest)
        created = await ctx.writer.upload_file(
            name.format(), release_lines(requests), purpose=RELEASE_PURPOSE
        )
        ctx.record(self.address, created["id"])

    def describe(self) -> str:
        """``publish release.<project> (<n> requests, revision <r>)``."""
        n = len(self.requests)
        return (
            f"publish {self.address} ({n} request{'s' if n != 1 else ''}, revision {self.revision})"
        )


class RetireRelease(DeleteStep):
    """Delete a release that a newer one replaces, or that is no longer declared."""

    op: Literal["retire_release"] = "retire_release"
    phase: ClassVar[Phase] = RETIRE

    async def run(self, ctx: ApplyContext) -> None:
        """``DELETE /files/{id}``."""
        await ctx.writer.delete_file(self.id)


# -- the kind -----------------------------------------------------------------------------------


@dataclass
class LiveRelease:
    """One published release: its file, its name, and its requests (None when unreadable)."""

    raw: Json
    name: ReleaseName
    requests: dict[str, Json] | None
    problem: str | None = None


@dataclass
class ReleasesLive:
    """The releases of the environment by serial: the last is the current one."""

    releases: list[LiveRelease] = field(default_factory=list)

    @property
    def current(self) -> LiveRelease | None:
        """The newest release."""
        return self.releases[-1] if self.releases else None


def releases_of(
    listed: list[Json], project: str, environment: str
) -> list[tuple[Json, ReleaseName]]:
    """Of the listed ``batch`` files, the releases of one project and environment by serial
    (then age): the last is the current one."""
    ours: list[tuple[Json, ReleaseName]] = []
    for raw in sorted_by_age(listed):
        name = ReleaseName.parse(str(raw.get("filename", "")))
        if name and (name.project, name.environment) == (project, environment):
            ours.append((raw, name))
    return sorted(ours, key=lambda pair: pair[1].serial)  # stable: ties stay by age


def read_releases(reader: Reader, project: str, environment: str) -> ReleasesLive:
    """Every release of one project and environment (oldest first), the current one's content
    downloaded: two requests."""
    ours = releases_of(reader.list_files(RELEASE_PURPOSE), project, environment)
    out = ReleasesLive([LiveRelease(raw, name, None) for raw, name in ours])
    current = out.current
    if current is not None:
        try:
            current.requests = parse_release(reader.file_content(current.raw["id"]))
        except ReleaseFormatError as exc:
            current.problem = str(exc)
    return out


_VOLATILE = frozenset({"status", "status_details"})


def _file_ids(requests: dict[str, Json]) -> set[str]:
    """File ids a release's code interpreters hold."""
    out: set[str] = set()
    for request in requests.values():
        for tool in request.get("tools") or []:
            container = tool.get("container")
            if isinstance(container, dict):
                out.update(str(i) for i in container.get("file_ids") or [])
    return out


def _store_ids(requests: dict[str, Json]) -> set[str]:
    """Vector-store ids a release's file searches point at."""
    out: set[str] = set()
    for request in requests.values():
        for tool in request.get("tools") or []:
            if tool.get("type") == "file_search":
                out.update(str(i) for i in tool.get("vector_store_ids") or [])
    return out


class ReleaseKind(Kind[ReleaseSpec, ReleasesLive]):
    """Releases: planned after the stores and files their requests point at."""

    name: ClassVar[str] = "release"
    spec_type: ClassVar[type[Spec]] = ReleaseSpec
    steps: ClassVar[tuple[type[StepBase], ...]] = (PublishRelease, RetireRelease)
    display_rank: ClassVar[int] = 4
    apis: ClassVar[frozenset[str]] = frozenset({"responses"})

    def discover(
        self, reader: Reader, scope: Scope, pool: Executor
    ) -> Callable[[LiveState], ReleasesLive]:
        """``GET /files?purpose=batch``, then the content of the current release."""
        found = pool.submit(read_releases, reader, scope.project, scope.environment)

        def finish(live: LiveState) -> ReleasesLive:
            part = found.result()
            for release in part.releases:
                live.fingerprints[f"release:{release.raw['id']}"] = fingerprint(
                    release.raw, _VOLATILE
                )
            if part.current is not None and part.current.requests:
                live.references |= _file_ids(part.current.requests)
                live.references |= _store_ids(part.current.requests)
            return part

        return finish

    def plan(self, ctx: PlanContext) -> None:
        """Publish the declared release when it differs from the current one; delete the
        releases it replaces, and any release no longer declared."""
        live = ctx.live.part(self)
        specs = ctx.specs(ReleaseSpec)
        current = live.current
        for spec in specs.values():
            self._release(ctx, spec, current)
            self._code_files(ctx, spec, current)
        for release in live.releases:
            if release is current and specs:
                continue  # replaced (or kept) above
            address = release_address(release.name.project)
            superseded = bool(specs)
            ctx.steps.append(RetireRelease(address=address, id=release.raw["id"]))
            ctx.changes.append(
                deletion(
                    address,
                    self.name,
                    release.raw["id"],
                    duplicate=superseded,
                    before=_summary(release),
                    reason="an earlier release, superseded by the current one"
                    if superseded
                    else ORPHAN_REASON,
                )
            )

    def running(self, live: LiveState) -> list[Running]:
        """Each published release (the last is current): its name records the revision and
        digest, and a release is never changed, so it was applied when it was uploaded."""
        out: list[Running] = []
        for release in live.part(self).releases:
            created = release.raw.get("created_at")
            out.append(
                Running(
                    address=release_address(release.name.project),
                    kind=self.name,
                    id=str(release.raw["id"]),
                    revision=release.name.revision,
                    digest=release.name.digest,
                    applied_at=int(created) if created else None,
                )
            )
        return out

    def _release(self, ctx: PlanContext, spec: ReleaseSpec, current: LiveRelease | None) -> None:
        want = spec.requests(_resolver(ctx))
        publish = PublishRelease(
            address=spec.address,
            project=ctx.desired.project,
            environment=ctx.desired.environment,
            serial=current.name.serial + 1 if current else 1,
            revision=ctx.desired.revision,
            requests=want,
        )
        if current is None:
            ctx.steps.append(publish)
            ctx.changes.append(
                ResourceChange(
                    address=spec.address,
                    kind=self.name,
                    action="create",
                    after={name: request for name, request in want.items()},
                )
            )
            return
        have = current.requests or {}
        changes = compare_requests(want, have, ctx.compare)
        unreadable = current.problem is not None
        drift = unreadable or requests_digest(have) != current.name.digest
        reasons = []
        if unreadable:
            reasons.append(f"its content is not a release ({current.problem})")
        if drift:
            reasons.append("changed outside assistops: its content is not what was published")
        if not changes and not unreadable:
            ctx.changes.append(
                ResourceChange(
                    address=spec.address,
                    kind=self.name,
                    action="no-op",
                    id=current.raw["id"],
                    drift=drift,
                    reasons=reasons,
                )
            )
            return
        ctx.steps.append(publish)
        ctx.steps.append(RetireRelease(address=spec.address, id=current.raw["id"]))
        ctx.changes.append(
            ResourceChange(
                address=spec.address,
                kind=self.name,
                action="replace",
                id=current.raw["id"],
                drift=drift,
                reasons=[*reasons, REPLACE_REASON],
                changes=changes,
            )
        )

    def _code_files(self, ctx: PlanContext, spec: ReleaseSpec, current: LiveRelease | None) -> None:
        """A change per code-interpreter file: unchanged when the current release holds its
        content (the upload itself is the file kind's step)."""
        held: set[str] = set()
        if current is not None and current.requests:
            sha16_of = ctx.live.part(file_kind.KIND).sha16_of()
            held = {sha16_of[i] for i in _file_ids(current.requests) if i in sha16_of}
        files = ctx.specs(FileSpec)
        for assistant in spec.assistants.values():
            for address in assistant.code_interpreter_files:
                f = files[address]
                if f.sha256[:16] in held:
                    change = ResourceChange(
                        address=address,
                        kind=file_kind.KIND.name,
                        action="no-op",
                        id=ctx.uploads.get(f.sha256),
                    )
                else:
                    change = ResourceChange(
                        address=address,
                        kind=file_kind.KIND.name,
                        action="create",
                        after={"path": f.path, "sha256": f.sha256, "bytes": f.bytes},
                    )
                ctx.changes.append(change)

    def requests(self, spec: ReleaseSpec, state: DesiredState) -> list[Json]:
        """The upload of the release: its filename (the digest is known once ids are) and its
        lines, references as ``${address}``."""
        requests = spec.requests()
        name = (
            f"{PREFIX}.{state.project}.{state.environment}.<serial>.{state.revision}."
            f"<digest>{SUFFIX}"
        )
        body = {
            "purpose": RELEASE_PURPOSE,
            "filename": name,
            "lines": [
                {"custom_id": n, "method": "POST", "url": RESPONSES_URL, "body": requests[n]}
                for n in sorted(requests)
            ],
        }
        return [{"address": spec.address, "request": "POST /v1/files", "body": body}]

    def depends_on(self, spec: ReleaseSpec, state: DesiredState) -> set[str]:
        """The stores and code-interpreter files its requests point at (the planner adds the
        stores' files)."""
        out: set[str] = set()
        for assistant in spec.assistants.values():
            if assistant.vector_store:
                out.add(assistant.vector_store)
            out.update(assistant.code_interpreter_files)
        return out


def _resolver(ctx: PlanContext) -> Callable[[str], str]:
    """An address as the id the plan knows, or the reference apply fills in."""

    def resolve(address: str) -> str:
        spec = ctx.desired.resources.get(address)
        if isinstance(spec, FileSpec):
            return file_ref(ctx, spec)
        return ctx.ref(address)

    return resolve


def _summary(release: LiveRelease) -> dict[str, Any]:
    return {
        "filename": release.raw.get("filename"),
        "revision": release.name.revision,
        "assistants": sorted(release.requests) if release.requests is not None else None,
    }


KIND = ReleaseKind()
