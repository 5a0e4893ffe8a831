"""``import``: adopt one existing, untagged assistant (with its vector store and files), or
one OpenAI agent in an environment whose API is ``agents``.

    read      the assistant, its store, the store's files and the account's uploads
    declare   assistant.yaml, instructions.md.j2, schema files, knowledge/<store>.yaml and the
              files' contents, planned in memory; missing contents stop here, nothing written
    finish    write -> validate (rolled back on a problem) -> tag -> verify the next plan

The assistant keeps its id: it is tagged, not re-created. See :mod:`assistops.adopt`.
"""

from __future__ import annotations

from pathlib import Path

from assistops.adopt import AdoptError
from assistops.adopt.contents import Contents
from assistops.adopt.declare import Drafter, StoreDraft
from assistops.adopt.flow import Outcome, baseline, finish
from assistops.adopt.names import Layout, is_name, slug, unique
from assistops.adopt.writer import ProjectFiles
from assistops.api import open_writer, validate
from assistops.config.project import Project, load_project
from assistops.errors import MissingFilesError, ProviderError
from assistops.kinds.file import FileSpec
from assistops.kinds.tags import OWNER_KEY, Owner
from assistops.providers.base import Json, Writer
from assistops.render.desired import Renderer


def import_assistant(
    start: Path,
    environment: str,
    assistant_id: str,
    *,
    name: str | None = None,
    files_from: Path | None = None,
) -> Outcome:
    """Import assistant ``assistant_id`` from ``environment`` into the project at ``start``."""
    project = load_project(start)
    report = validate(project.root, [environment])
    if not report.ok:
        raise AdoptError(
            f"the project does not validate in environment '{environment}' "
            f"({len(report.problems)} problems); fix it first: assistops validate -e {environment}"
        )
    before = baseline(project.root)
    agents = project.environment(environment).effective_api() == "agents"
    writer = open_writer(project, environment)
    try:
        what = "agent" if agents else "assistant"
        try:
            raw = (
                writer.retrieve_agent(assistant_id)
                if agents
                else writer.retrieve_assistant(assistant_id)
            )
        except ProviderError as exc:
            if exc.status != 404:
                raise
            raise AdoptError(
                f"there is no {what} '{assistant_id}' in environment '{environment}' "
                f"({writer.label}); nothing was written. Check the id: it is the provider's id "
                f"of an existing {what}{'' if agents else ' (asst_...)'}"
            ) from None
        _refuse_tagged(raw, what, project, environment)
        logical = name or slug(raw.get("name"), raw["id"])
        if not is_name(logical):
            raise AdoptError(
                f"'{logical}' is not a valid name: use lowercase letters, digits, '-' and '_'"
            )
        layout = Layout.of(project, environment)
        declared = project.assistants.get(logical)
        if declared is not None and declared.file != layout.assistant_file(logical):
            raise AdoptError(
                f"an assistant named '{logical}' is already declared in "
                f"{project.assistants[logical].file}; choose another name with --name"
            )
        uploads = writer.list_files()
        files = ProjectFiles(project.root)
        drafter = Drafter(
            layout,
            files,
            Contents(writer, files_from=files_from, known=_project_files(project, environment)),
            {u["id"]: u for u in uploads},
            project=project.name,
            environment=environment,
        )
        if agents:  # an agent refers to no store and holds no files
            stores: list[StoreDraft] = []
            assistant = drafter.agent(raw, logical, adopt=True)
        else:
            stores, store_name = _store(writer, raw, drafter, project, environment)
            assistant = drafter.assistant(raw, logical, store_name, adopt=True)
        if drafter.wanted:
            raise MissingFilesError(drafter.wanted)
        files.check()  # an existing declaration is fine only as exactly what a rerun writes
        prefixes = [f"file.assistant.{logical}:"] + [f"file.{s.name}:" for s in stores]
        addresses = {assistant.address, *(s.address for s in stores)}
        return finish(
            files,
            environment=environment,
            stores=stores,
            assistants=[assistant],
            writer=writer,
            uploads=uploads,
            before=before,
            relevant=lambda a: a in addresses or a.startswith(tuple(prefixes)),
            outcome=Outcome(project.root, environment, notes=drafter.notes),
        )
    finally:
        writer.close()


def _refuse_tagged(raw: Json, kind: str, project: Project, environment: str) -> None:
    owner = Owner.parse((raw.get("metadata") or {}).get(OWNER_KEY))
    if owner is None:
        return
    mine = (owner.project, owner.environment) == (project.name, environment)
    where = "this project" if mine else f"project '{owner.project}'"
    raise AdoptError(
        f"{kind} {raw['id']} is already managed by assistops ({where}, environment "
        f"'{owner.environment}', as {owner.address}); only untagged objects can be imported"
    )


def _store(
    writer: Writer, raw: Json, drafter: Drafter, project: Project, environment: str
) -> tuple[list[StoreDraft], str | None]:
    """The assistant's vector store: adopted with it, or already declared here."""
    resources = raw.get("tool_resources") or {}
    ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    if not ids:
        return [], None
    store = writer.retrieve_vector_store(ids[0])
    owner = Owner.parse((store.get("metadata") or {}).get(OWNER_KEY))
    if owner is not None:
        mine = (owner.project, owner.environment) == (project.name, environment)
        kind, _, name = owner.address.partition(".")
        if not mine or kind != "vector_store":
            raise AdoptError(
                f"assistant {raw['id']} uses vector store {ids[0]}, which is managed by "
                f"project '{owner.project}' (environment '{owner.environment}'); import it "
                "into that project, or detach the store first"
            )
        if name in project.vector_stores:
            return [], name  # declared already (shared with another assistant)
    else:
        name = unique(slug(store.get("name"), ids[0]), set(project.vector_stores))
    live_files = writer.list_vector_store_files(ids[0])
    return [drafter.store(store, name, live_files, adopt=True)], name


def _project_files(project: Project, environment: str) -> dict[str, tuple[str, Path]]:
    """sha256 -> (path, file) of every file the project already declares."""
    state = Renderer(project).render(environment).state
    return {
        s.sha256: (s.path, project.root / s.path)
        for s in state.resources.values()
        if isinstance(s, FileSpec)
    }
