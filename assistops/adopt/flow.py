"""The second half of import and export: write, validate, tag, verify.

write     the planned files (refusing to overwrite anything)
validate  the project again: a problem the new files introduced removes them, untagged
tag       the adopted objects, with tags computed from what the files render to
verify    a fresh plan; what it still shows is reported (it should show nothing)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assistops.adopt import AdoptError
from assistops.adopt.declare import AssistantDraft, StoreDraft
from assistops.adopt.tagging import tag_agent, tag_assistant, tag_store
from assistops.adopt.writer import ProjectFiles
from assistops.api import compute_plan, validate
from assistops.config.project import load_project
from assistops.engine.plan import ResourceChange
from assistops.errors import AssistopsError, ConfigError, Problem
from assistops.providers.base import Json, Writer
from assistops.render.desired import Renderer


@dataclass
class Outcome:
    """What an import or export did."""

    root: Path
    environment: str
    written: list[str] = field(default_factory=list)  # project-relative files
    actions: list[str] = field(default_factory=list)  # changes made to live objects
    notes: list[str] = field(default_factory=list)  # what could not be carried over exactly
    skipped: list[str] = field(default_factory=list)  # objects left alone, with the reason
    remaining: list[ResourceChange] = field(default_factory=list)  # the next plan's changes
    unrelated: int = 0  # changes the next plan shows for resources this run did not touch
    declared: list[str] = field(default_factory=list)  # addresses written
    adopted: list[str] = field(default_factory=list)  # addresses tagged by this run


def baseline(root: Path) -> set[Problem]:
    """The problems a project has before anything is written (they are not ours to report)."""
    try:
        return set(validate(root).problems)
    except ConfigError as exc:  # pragma: no cover - validate reports, it does not raise
        return set(exc.problems)


def finish(
    files: ProjectFiles,
    *,
    environment: str,
    stores: list[StoreDraft],
    assistants: list[AssistantDraft],
    writer: Writer,
    uploads: list[Json],
    before: set[Problem],
    relevant: Callable[[str], bool] = lambda _: True,
    outcome: Outcome,
) -> Outcome:
    """Write, validate (rolling back on a new problem), tag the adopted drafts, verify."""
    outcome.written = files.write()
    try:
        report = validate(files.root)
        new = [p for p in report.problems if p not in before]
        if new:
            listed = "\n".join("  " + p.format() for p in new)
            raise AdoptError(
                "the written declarations do not validate, so they were removed again and "
                f"nothing was tagged:\n{listed}"
            )
        project = load_project(files.root)
        for draft in stores:
            _declared(draft.name, draft.yaml_path, project.vector_stores, "paths.knowledge")
        for adraft in assistants:
            _declared(adraft.name, adraft.yaml_path, project.assistants, "paths.assistants")
        rendered = Renderer(project).render(environment)
    except BaseException:
        files.rollback()
        outcome.written = []
        raise
    state = rendered.state
    outcome.declared = [d.address for d in stores] + [d.address for d in assistants]
    try:
        for draft in stores:
            if draft.adopt:
                outcome.actions += tag_store(writer, state, draft)
                outcome.adopted.append(draft.address)
        for adraft in assistants:
            if adraft.adopt:
                if adraft.agent:
                    outcome.actions += tag_agent(writer, state, adraft)
                else:
                    outcome.actions += tag_assistant(writer, state, adraft, uploads)
                outcome.adopted.append(adraft.address)
    except AssistopsError as exc:
        done = ", ".join(outcome.adopted) or "nothing"
        raise AdoptError(
            f"{exc}\nThe declarations were written ({', '.join(outcome.written)}) but tagging "
            f"stopped (tagged: {done}). Run the same command again to finish; if it refuses to "
            "overwrite the files written, delete them and run it again."
        ) from None
    plan = compute_plan(project, environment, writer)
    outcome.remaining = [r for r in plan.changes if relevant(r.address)]
    outcome.unrelated = len(plan.changes) - len(outcome.remaining)
    return outcome


def _declared(name: str, rel: str, table: Mapping[str, object], setting: str) -> None:
    if name not in table:
        raise AdoptError(
            f"{rel} was written but the project does not find it as '{name}': "
            f"check {setting} in assistops.yaml"
        )
