"""``export``: write live assistants as a fresh project whose plan is empty.

Two sources:

- :func:`export_project`: the objects a project manages in one environment (found by their
  tags), written with their logical names and file paths, so they stay owned as they are;
- :func:`export_account`: every assistant of an account, for bootstrapping a repository:
  those carrying no assistops tag are adopted (declared, then tagged as by ``import``), those
  tagged by another project are skipped and listed.

Write-only fields (an assistant's reasoning_effort, a store's description) are never returned
by the service; they are recovered from the digest recorded in the tags where that is possible.
"""

from __future__ import annotations

from pathlib import Path

from assistops.adopt import AdoptError
from assistops.adopt.contents import Contents
from assistops.adopt.declare import AssistantDraft, Drafter, StoreDraft
from assistops.adopt.flow import Outcome, finish
from assistops.adopt.names import Layout, find_schemas, is_name, slug, unique
from assistops.adopt.writer import ProjectFiles
from assistops.adopt.yamltext import to_yaml
from assistops.api import open_writer
from assistops.config.models import Environment, Paths, ProjectFile
from assistops.config.project import PROJECT_FILE, Project, load_project
from assistops.config.yamlio import Document
from assistops.engine.live import read_live
from assistops.errors import MissingFilesError
from assistops.kinds import agent as agent_kind
from assistops.kinds import assistant as assistant_kind
from assistops.kinds import vector_store as store_kind
from assistops.kinds.base import LiveState, sorted_by_age
from assistops.kinds.file import FileSpec
from assistops.kinds.spec import digest_of
from assistops.kinds.tags import (
    OWNER_KEY,
    PATH_ATTRIBUTE,
    REVISION_KEY,
    Owner,
    parse_revision,
    split_rev_digest,
)
from assistops.kinds.vector_store import VectorStoreSpec
from assistops.limits import REASONING_EFFORTS
from assistops.providers.base import Json, Writer
from assistops.providers.settings import MEMORY, default_database
from assistops.render.desired import Rendered, Renderer


def export_project(
    dest: Path,
    start: Path,
    environment: str,
    *,
    files_from: Path | None = None,
    name: str | None = None,
) -> Outcome:
    """Write what the project at ``start`` manages in ``environment`` as a project in ``dest``.

    ``name``, if given, must be the project's own: the objects are tagged with it.
    """
    source = load_project(start)
    if name is not None and name != source.name:
        raise AdoptError(
            f"the objects are tagged for project '{source.name}'; the export keeps that name "
            f"(--project {name} is for an account export)"
        )
    source.environment(environment)  # an unknown environment fails before any call
    rendered = Renderer(source).render(environment)
    return _export(dest, source, environment, rendered=rendered, files_from=files_from)


def export_account(
    dest: Path,
    *,
    project: str,
    environment: str,
    base_url: str | None,
    api_key_env: str | None,
    files_from: Path | None = None,
) -> Outcome:
    """Write every assistant of an account into a new project ``project`` in ``dest``."""
    for label, value in (("project", project), ("environment", environment)):
        if not is_name(value):
            raise AdoptError(
                f"'{value}' is not a valid {label} name: use lowercase letters, digits, '-' and '_'"
            )
    env = Environment(provider="openai", base_url=base_url, api_key_env=api_key_env)
    config = ProjectFile(project=project, environments={environment: env})
    source = Project(root=dest, config=config, doc=Document(PROJECT_FILE, {}))
    return _export(dest, source, environment, rendered=None, files_from=files_from, adopt=True)


def _export(
    dest: Path,
    source: Project,
    environment: str,
    *,
    rendered: Rendered | None,
    files_from: Path | None,
    adopt: bool = False,
) -> Outcome:
    if (dest / PROJECT_FILE).exists() and dest.resolve() == source.root.resolve():
        raise AdoptError(f"{dest} is the project itself; export into a new folder")
    writer = open_writer(source, environment)
    try:
        api = source.environment(environment).effective_api()
        live = read_live(writer, source.name, environment, api=api)
        uploads = writer.list_files()
        files = ProjectFiles(dest)
        paths = Paths()
        layout = Layout(dest, paths.assistants, paths.knowledge, find_schemas(dest), frozenset())
        known = {}
        if rendered is not None:
            known = {
                s.sha256: (s.path, source.root / s.path)
                for s in rendered.state.resources.values()
                if isinstance(s, FileSpec)
            }
        drafter = Drafter(
            layout,
            files,
            Contents(writer, files_from=files_from, known=known),
            {u["id"]: u for u in uploads},
            project=source.name,
            environment=environment,
        )
        export = _Export(drafter, writer, live, rendered)
        export.managed()
        skipped = export.untagged(source.name, environment) if adopt else []
        if drafter.wanted:
            raise MissingFilesError(drafter.wanted)
        files.add(PROJECT_FILE, _project_file(source, environment, writer.label, layout))
        files.add(".gitignore", b"# assistops' local backend state\n.assistops/\n")
        files.check()
        return finish(
            files,
            environment=environment,
            stores=export.stores,
            assistants=export.assistants,
            writer=writer,
            uploads=uploads,
            before=set(),
            outcome=Outcome(dest, environment, notes=drafter.notes, skipped=skipped),
        )
    finally:
        writer.close()


class _Export:
    """Drafts every exported object; remembers names and stores already taken."""

    def __init__(
        self, drafter: Drafter, writer: Writer, live: LiveState, rendered: Rendered | None
    ) -> None:
        self.drafter = drafter
        self.writer = writer
        self.live = live
        self.rendered = rendered
        self.stores: list[StoreDraft] = []
        self.assistants: list[AssistantDraft] = []
        self.store_names: dict[str, str] = {}  # store id -> logical name
        self.agents = live.api == "agents"

    def managed(self) -> None:
        """Objects tagged for this project and environment, under their own names."""
        for address, objects in sorted(self.live.part(store_kind.KIND).stores.items()):
            raw = sorted_by_age(objects)[0]
            name = address.partition(".")[2]
            files = [
                f
                for f in self.live.part(store_kind.KIND).files.get(raw["id"], [])
                if (f.get("attributes") or {}).get(PATH_ATTRIBUTE)
            ]
            description = self._description(raw, address)
            self.stores.append(
                self.drafter.store(raw, name, files, adopt=False, description=description)
            )
            self.store_names[raw["id"]] = name
        if self.agents:
            for address, objects in sorted(self.live.part(agent_kind.KIND).agents.items()):
                raw = sorted_by_age(objects)[0]
                self.assistants.append(
                    self.drafter.agent(
                        raw,
                        address.partition(".")[2],
                        adopt=False,
                        requested_effort=_effort_was_requested(raw, address),
                    )
                )
            return
        for address, objects in sorted(self.live.part(assistant_kind.KIND).assistants.items()):
            raw = sorted_by_age(objects)[0]
            name = address.partition(".")[2]
            store = self._store_of(raw)
            store_name = self.store_names.get(store) if store else None
            if store and store_name is None:
                self.drafter.notes.append(
                    f"{address} uses vector store {store}, which this project does not manage"
                )
            effort = _reasoning_effort(raw)
            self.assistants.append(
                self.drafter.assistant(raw, name, store_name, adopt=False, reasoning_effort=effort)
            )

    def untagged(self, project: str, environment: str) -> list[str]:
        """Adopt every untagged assistant (and store); returns the skipped ones, with why."""
        skipped: list[str] = []
        names = {d.name for d in self.assistants}
        if self.agents:
            for raw in self.writer.list_agents():
                owner = _owner(raw)
                if owner is not None:
                    if (owner.project, owner.environment) != (project, environment):
                        skipped.append(
                            f"agent {raw['id']} ('{raw.get('name') or ''}'): managed by project "
                            f"'{owner.project}' (environment '{owner.environment}')"
                        )
                    continue
                name = unique(slug(raw.get("name"), raw["id"]), names)
                names.add(name)
                self.assistants.append(self.drafter.agent(raw, name, adopt=True))
            return skipped
        store_names = set(self.store_names.values())
        stores = {s["id"]: s for s in self.writer.list_vector_stores()}
        for raw in self.writer.list_assistants():
            label = f"assistant {raw['id']} ('{raw.get('name') or ''}')"
            owner = _owner(raw)
            if owner is not None:
                if (owner.project, owner.environment) != (project, environment):
                    skipped.append(
                        f"{label}: managed by project '{owner.project}' "
                        f"(environment '{owner.environment}')"
                    )
                continue
            store = self._store_of(raw)
            store_name = self.store_names.get(store) if store else None
            if store and store_name is None:
                store_raw = stores.get(store) or self.writer.retrieve_vector_store(store)
                store_owner = _owner(store_raw)
                if store_owner is not None:
                    skipped.append(
                        f"{label}: its vector store {store} is managed by project "
                        f"'{store_owner.project}' (environment '{store_owner.environment}')"
                    )
                    continue
                store_name = unique(slug(store_raw.get("name"), store), store_names)
                store_names.add(store_name)
                files = self.writer.list_vector_store_files(store)
                self.stores.append(self.drafter.store(store_raw, store_name, files, adopt=True))
                self.store_names[store] = store_name
            name = unique(slug(raw.get("name"), raw["id"]), names)
            names.add(name)
            self.assistants.append(self.drafter.assistant(raw, name, store_name, adopt=True))
        return skipped

    def _store_of(self, raw: Json) -> str | None:
        resources = raw.get("tool_resources") or {}
        ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
        return str(ids[0]) if ids else None

    def _description(self, raw: Json, address: str) -> str | None:
        """A store's description (write-only): the source project's, if the tag confirms it."""
        recorded = _write_only_digest(raw)
        if recorded is None or digest_of({"description": None})[:8] == recorded:
            return None
        spec = self.rendered.state.resources.get(address) if self.rendered else None
        if isinstance(spec, VectorStoreSpec) and (
            digest_of({"description": spec.description})[:8] == recorded
        ):
            return spec.description
        self.drafter.notes.append(
            f"{address}: its description is not returned by the service and could not be "
            "recovered; a store's description is set only on create, so the next plan "
            "replaces the store unless you add the description to its YAML"
        )
        return None


def _owner(raw: Json) -> Owner | None:
    return Owner.parse((raw.get("metadata") or {}).get(OWNER_KEY))


def _write_only_digest(raw: Json) -> str | None:
    parsed = parse_revision((raw.get("metadata") or {}).get(REVISION_KEY))
    return split_rev_digest(parsed[0])[1] if parsed else None


def _effort_was_requested(raw: Json, address: str) -> bool:
    """Whether an agent's reasoning effort is the one applied, or the model's default that
    the service filled in: the digest recorded at apply tells which."""
    parsed = parse_revision((raw.get("metadata") or {}).get(REVISION_KEY))
    if parsed is None:
        return True
    unset = agent_kind.from_live(raw, address).model_copy(update={"reasoning_effort": None})
    # what was applied without an effort, the service's tool defaults left out
    applied = agent_kind.align_defaults({"tools": {}}, agent_kind.projection(unset))
    return digest_of(applied) != split_rev_digest(parsed[0])[0]


def _reasoning_effort(raw: Json) -> str | None:
    """The reasoning_effort whose digest the tag recorded (few values: try each)."""
    recorded = _write_only_digest(raw)
    for value in (None, *REASONING_EFFORTS):
        if digest_of({"reasoning_effort": value})[:8] == recorded:
            return value
    return None


def _project_file(source: Project, environment: str, label: str, layout: Layout) -> bytes:
    """``assistops.yaml``: the project name and the environment's provider settings (never a
    key: only the name of the variable that holds it)."""
    env = source.environment(environment)
    settings: dict[str, object] = {"provider": env.provider, "api": env.effective_api()}
    for key in ("base_url", "api_key_env", "azure_endpoint_env", "api_version", "auth"):
        value = getattr(env, key)
        if value is not None:
            settings[key] = value
    if env.provider == "local":
        database = env.database or default_database(environment)
        if database != MEMORY:  # the same database the source project uses
            database = str((source.root / database).resolve())
        settings["database"] = database
    if env.protected:
        settings["protected"] = True
    header = layout.header(PROJECT_FILE, "project") or []
    header.append(f"Exported by 'assistops export' from {label}.")
    data = {"project": source.name, "environments": {environment: settings}}
    return to_yaml(data, header=header).encode("utf-8")
