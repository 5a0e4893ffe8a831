"""Project + environment -> desired state: merge overrides, render templates, hash files.

``Renderer.render`` never stops at the first problem: it renders what it can and returns every
problem it met, so ``validate`` can report them all at once. The strict entry point is
``engine.desired``: any problem raises ConfigError before any API call.
"""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from assistops.config.models import (
    AssistantFile,
    Function,
    JsonSchemaResponseFormat,
    StaticChunking,
    Tool,
    VectorStoreFile,
)
from assistops.config.problems import field_path, problems_from_validation
from assistops.config.project import Declaration, Project
from assistops.config.yamlio import Document
from assistops.errors import Problem
from assistops.kinds.agent import from_assistant
from assistops.kinds.assistant import AssistantSpec, assistant_address
from assistops.kinds.file import FileSpec, file_address
from assistops.kinds.release import ReleaseSpec, release_address
from assistops.kinds.spec import DesiredState, digest_of
from assistops.kinds.spec import Spec as ResourceSpec
from assistops.kinds.vector_store import VectorStoreSpec, vector_store_address
from assistops.render.files import Allowed, FileCache, LocalFile, resolve_globs
from assistops.render.merge import Layer, Merged, merge
from assistops.render.schema_files import Resolved, SchemaFiles, schema_field
from assistops.render.templates import make_environment, render

Loc = tuple[str | int, ...]


@dataclass
class SchemaSource:
    """A JSON Schema used by a tool or response_format, and where it was written."""

    address: str
    field: Loc  # e.g. ("tools", 2, "function", "parameters")
    schema: Any  # as sent: file $refs resolved into $defs
    doc: Document | None  # the schema file, when it came from one
    origin: tuple[str, int | None]  # where it is referenced
    strict: bool
    resolved: Resolved | None = None  # where each $defs entry copied from a file was written


@dataclass
class Rendered:
    """One environment rendered: the state, where each resource came from, what went wrong."""

    state: DesiredState
    merged: dict[str, Merged] = field(default_factory=dict)
    models: dict[str, BaseModel] = field(default_factory=dict)
    schemas: list[SchemaSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: every assistant declaration as an assistant, whatever the environment's API deploys
    #: (an agents environment holds agents instead): what a Responses request is made from
    assistants: dict[str, AssistantSpec] = field(default_factory=dict)


def config_revision(root: Path) -> str:
    """The project's git commit (``-dirty`` with uncommitted changes), or 'unversioned'."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unversioned"
    return f"{head}-dirty" if dirty else head


class Renderer:
    """Renders every environment of one project, sharing the template env and file hashes."""

    def __init__(self, project: Project, revision: str | None = None) -> None:
        self.project = project
        self.revision = revision if revision is not None else config_revision(project.root)
        self.jinja = make_environment(project.root, project.config.paths.partials)
        self.files = FileCache(project.root)
        self.schema_files = SchemaFiles(project.root)

    def render(self, env_name: str) -> Rendered:
        """Render one environment, collecting every problem."""
        project = self.project
        project.environment(env_name)  # raises for an unknown environment
        api = project.environment(env_name).effective_api()
        out = Rendered(
            DesiredState(
                project=project.name, environment=env_name, api=api, revision=self.revision
            )
        )
        resources: dict[str, ResourceSpec] = {}
        env_prefix: Loc = ("environments", env_name)
        declared_env = env_name in project.config.environments
        overrides = project.config.environments[env_name].overrides if declared_env else None
        for kind, names, table in (
            ("vector_stores", overrides.vector_stores if overrides else {}, project.vector_stores),
            ("assistants", overrides.assistants if overrides else {}, project.assistants),
        ):
            for name in names:
                if name not in table:
                    loc = (*env_prefix, "overrides", kind, name)
                    out.problems.append(
                        Problem(
                            "assistops.yaml",
                            project.doc.line_of(loc),
                            field_path(loc),
                            f"override for undeclared {kind[:-1].replace('_', ' ')} '{name}'",
                            "fix the name or remove the override",
                        )
                    )
        for decl in project.vector_stores.values():
            layers = [Layer(decl.doc)]
            if declared_env:
                layers.append(
                    Layer(project.doc, (*env_prefix, "overrides", "vector_stores", decl.name))
                )
            self._store(decl, layers, out, resources)
        for decl in project.assistants.values():
            layers = [Layer(project.doc, ("defaults",))]
            if declared_env:
                layers.append(Layer(project.doc, (*env_prefix, "defaults")))
            layers.append(Layer(decl.doc))
            if declared_env:
                layers.append(
                    Layer(project.doc, (*env_prefix, "overrides", "assistants", decl.name))
                )
            self._assistant(decl, layers, env_name, out, resources)
        if api == "responses" and out.assistants:
            release = ReleaseSpec(
                address=release_address(project.name),
                name=project.name,
                assistants={spec.name: spec for spec in out.assistants.values()},
            )
            resources[release.address] = release
        out.state = out.state.model_copy(update={"resources": resources})
        return out

    # -- vector stores ---------------------------------------------------------------------

    def _store(
        self,
        decl: Declaration,
        layers: list[Layer],
        out: Rendered,
        resources: dict[str, ResourceSpec],
    ) -> None:
        merged = merge(layers, (decl.file, 1))
        address = vector_store_address(decl.name)
        out.merged[address] = merged
        model = self._validate(VectorStoreFile, merged, out)
        if not isinstance(model, VectorStoreFile):
            return
        out.models[address] = model
        files, problems = resolve_globs(
            self.files,
            model.files or [],
            model.exclude or [],
            merged.field(("files",)),
            merged.locate,
            ("files",),
            Allowed(
                tuple(model.allow_secrets or []),
                merged.field(("allow_secrets",)),
                ("allow_secrets",),
            ),
        )
        out.problems.extend(problems)
        if not model.files:
            out.problems.append(
                Problem(
                    decl.file,
                    1,
                    "files",
                    "a vector store needs at least one file glob",
                    f"add files: [knowledge/{decl.name}/*.md]",
                )
            )
        chunking: dict[str, Any] | None = None
        if isinstance(model.chunking, StaticChunking):
            chunking = {"type": "static", "static": model.chunking.model_dump()}
        file_specs = [self._file(address, f, model.attributes or {}) for f in files]
        resources[address] = VectorStoreSpec(
            address=address,
            name=decl.name,
            display_name=model.display_name or decl.name,
            description=model.description,
            metadata=model.metadata or {},
            expires_after_days=model.expires_after_days,
            chunking=chunking,
            files=tuple(f.address for f in file_specs),
        )
        for spec in file_specs:
            resources[spec.address] = spec

    def _file(self, owner: str, local: LocalFile, attributes: dict[str, Any]) -> FileSpec:
        address = file_address(owner, local.path)
        return FileSpec(
            address=address,
            name=local.path,
            owner=owner,
            path=local.path,
            sha256=local.sha256,
            bytes=local.bytes,
            attributes=dict(attributes),
        )

    # -- assistants ------------------------------------------------------------------------

    def _assistant(
        self,
        decl: Declaration,
        layers: list[Layer],
        env_name: str,
        out: Rendered,
        resources: dict[str, ResourceSpec],
    ) -> None:
        merged = merge(layers, (decl.file, 1))
        address = assistant_address(decl.name)
        out.merged[address] = merged
        model = self._validate(AssistantFile, merged, out)
        if not isinstance(model, AssistantFile):
            return
        out.models[address] = model
        if not model.model:
            out.problems.append(
                Problem(
                    decl.file,
                    1,
                    "model",
                    "no model is set",
                    "set 'model:' in the assistant, or under 'defaults:' in assistops.yaml",
                )
            )
        display = model.display_name or decl.name
        context: dict[str, Any] = {}
        context.update(self.project.config.variables)
        env = self.project.environment(env_name)
        context.update(env.variables)
        context.update(model.variables or {})
        context.update(
            project=self.project.name,
            environment=env_name,
            assistant={
                "name": decl.name,
                "display_name": display,
                "model": model.model,
                "description": model.description,
            },
        )
        instructions = self._instructions(decl, model, merged, context, out)
        tools, vector_store, ci_files = self._tools(address, model, merged, out, resources)
        spec = AssistantSpec(
            address=address,
            name=decl.name,
            display_name=display,
            description=model.description,
            model=model.model or "",
            instructions=instructions,
            tools=tuple(tools),
            response_format=self._response_format(address, model, merged, out),
            temperature=model.temperature,
            top_p=model.top_p,
            reasoning_effort=model.reasoning_effort,
            metadata=model.metadata or {},
            vector_store=vector_store,
            code_interpreter_files=tuple(ci_files),
        )
        out.assistants[address] = spec
        if env.effective_api() == "agents":
            # the declaration becomes an agent; what an agent cannot hold is checked by validate
            for file in ci_files:
                del resources[file]
            agent = from_assistant(spec)
            resources[agent.address] = agent
        elif env.effective_api() == "assistants":
            resources[address] = spec
        # responses: the release made of every assistant (render) holds it

    def _instructions(
        self,
        decl: Declaration,
        model: AssistantFile,
        merged: Merged,
        context: dict[str, Any],
        out: Rendered,
    ) -> str | None:
        source = model.instructions
        origin = merged.locate(("instructions",))
        if source is None:
            default = str(Path(decl.file).parent.as_posix() + "/instructions.md.j2")
            if not (self.project.root / default).is_file():
                return None
            template: str | None = default
            inline = None
        elif isinstance(source, str):
            template, inline = None, source
        else:
            template, inline = source.template, None
            origin = merged.locate(("instructions", "template"))
        text, problems = render(
            self.jinja,
            template=template,
            inline=inline,
            context=context,
            origin=origin,
            field=merged.field(("instructions",)),
        )
        out.problems.extend(problems)
        return text

    def _tools(
        self,
        address: str,
        model: AssistantFile,
        merged: Merged,
        out: Rendered,
        resources: dict[str, ResourceSpec],
    ) -> tuple[list[dict[str, Any]], str | None, list[str]]:
        tools: list[dict[str, Any]] = []
        vector_store: str | None = None
        ci_files: list[str] = []
        for i, tool in enumerate(model.tools or []):
            loc: Loc = ("tools", i)
            if tool.code_interpreter is not None:
                tools.append({"type": "code_interpreter"})
                files, problems = resolve_globs(
                    self.files,
                    tool.code_interpreter.files,
                    [],
                    merged.field((*loc, "code_interpreter", "files")),
                    merged.locate,
                    (*loc, "code_interpreter", "files"),
                    Allowed(
                        tuple(tool.code_interpreter.allow_secrets),
                        merged.field((*loc, "code_interpreter", "allow_secrets")),
                        (*loc, "code_interpreter", "allow_secrets"),
                    ),
                )
                out.problems.extend(problems)
                for local in files:
                    spec = self._file(address, local, {})
                    resources[spec.address] = spec
                    ci_files.append(spec.address)
            elif tool.file_search is not None:
                fs = tool.file_search
                body: dict[str, Any] = {}
                if fs.max_num_results is not None:
                    body["max_num_results"] = fs.max_num_results
                if fs.ranking_options is not None:
                    body["ranking_options"] = fs.ranking_options.model_dump()
                tools.append(
                    {"type": "file_search", "file_search": body}
                    if body
                    else {"type": "file_search"}
                )
                if fs.vector_store is not None:
                    vector_store = vector_store_address(fs.vector_store)
            elif tool.function is not None:
                tools.append(
                    self._function(address, tool.function, merged, (*loc, "function"), out)
                )
            elif tool.mcp is not None:
                mcp = tool.mcp.model_dump(exclude_none=True)
                tools.append({"type": "mcp", **mcp})
            elif tool.web_search is not None:
                tools.append(
                    {"type": "web_search", **tool.web_search.model_dump(exclude_none=True)}
                )
        return tools, vector_store, ci_files

    def _function(
        self, address: str, fn: Function, merged: Merged, loc: Loc, out: Rendered
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": fn.name}
        if fn.description is not None:
            body["description"] = fn.description
        if fn.parameters is not None:
            resolved, doc = self._schema(fn.parameters, merged, (*loc, "parameters"), out)
            if resolved is not None:
                body["parameters"] = resolved.schema
                out.schemas.append(
                    SchemaSource(
                        address,
                        (*loc, "parameters"),
                        resolved.schema,
                        doc,
                        merged.locate((*loc, "parameters")),
                        bool(fn.strict),
                        resolved,
                    )
                )
        if fn.strict is not None:
            body["strict"] = fn.strict
        return {"type": "function", "function": body}

    def _response_format(
        self, address: str, model: AssistantFile, merged: Merged, out: Rendered
    ) -> str | dict[str, Any] | None:
        rf = model.response_format
        if rf is None or rf == "auto":
            return rf
        if isinstance(rf, str):
            return {"type": rf}
        assert isinstance(rf, JsonSchemaResponseFormat)
        js = rf.json_schema
        loc: Loc = ("response_format", "json_schema", "schema")
        body: dict[str, Any] = {"name": js.name}
        if js.description is not None:
            body["description"] = js.description
        resolved, doc = self._schema(js.schema_, merged, loc, out)
        if resolved is not None:
            body["schema"] = resolved.schema
            out.schemas.append(
                SchemaSource(
                    address,
                    loc,
                    resolved.schema,
                    doc,
                    merged.locate(loc),
                    bool(js.strict),
                    resolved,
                )
            )
        if js.strict is not None:
            body["strict"] = js.strict
        return {"type": "json_schema", "json_schema": body}

    def _schema(
        self, ref: dict[str, Any] | str, merged: Merged, loc: Loc, out: Rendered
    ) -> tuple[Resolved | None, Document | None]:
        """The schema as sent (its file $refs resolved), and the file it was read from."""
        if isinstance(ref, dict):  # inline: each $ref is located (and relative to) where written
            resolved, problems = self.schema_files.resolve(
                ref,
                None,
                lambda path: merged.locate((*loc, *path)),
                lambda path: merged.field((*loc, *path)),
            )
            out.problems.extend(problems)
            return resolved, None
        doc, problems = self.schema_files.load(ref, merged.locate(loc), merged.field(loc))
        out.problems.extend(problems)
        if doc is None:
            return None, None
        base = merged.field(loc)
        resolved, problems = self.schema_files.resolve(
            doc.data,
            doc,
            lambda path: (doc.file, doc.line_of(path)),
            lambda path: schema_field(base, path),
        )
        out.problems.extend(problems)
        return resolved, doc

    # -- shared ----------------------------------------------------------------------------

    def _validate(self, model: type[BaseModel], merged: Merged, out: Rendered) -> BaseModel | None:
        try:
            return model.model_validate(merged.data)
        except ValidationError as exc:
            out.problems.extend(
                problems_from_validation(
                    exc,
                    model,
                    merged.data,
                    merged.locate,
                    scalars=merged.scalars,
                    name=merged.field,
                )
            )
            return _without_out_of_range(model, merged.data, exc)


# pydantic error types of a value that has the right type but breaks a limit of the field
_LIMIT_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_too_long",
        "string_too_short",
        "string_pattern_mismatch",
        "too_long",
        "too_short",
    }
)


def _without_out_of_range(
    model: type[BaseModel], data: Any, exc: ValidationError
) -> BaseModel | None:
    """The model with each out-of-range value left out, so that rendering goes on and reports
    the declaration's other problems (templates, globs, schemas) in the same run; None when
    some error is not about a limit, or leaving the values out does not make it valid."""
    errors = exc.errors()
    if not all(e["type"] in _LIMIT_ERRORS for e in errors):
        return None
    pruned = copy.deepcopy(data)
    for error in errors:
        loc = [part for part in error["loc"] if part != "[key]"]
        parent: Any = pruned
        try:
            for part in loc[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return None
        if not loc or not isinstance(parent, dict) or loc[-1] not in parent:
            return None
        del parent[loc[-1]]
    try:
        return model.model_validate(pruned)
    except ValidationError:
        return None


__all__ = [
    "Rendered",
    "Renderer",
    "SchemaSource",
    "Tool",
    "config_revision",
    "digest_of",
]
