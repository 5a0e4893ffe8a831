"""Offline checks of rendered declarations: the rules and limits a JSON Schema cannot express.

Ranges, lengths, patterns and list sizes are field constraints of the declaration models
(:mod:`assistops.config.models`), checked when each layer loads and again when layers merge, and
published in ``schemas/``. What remains here needs rendering, several fields or several files:
the rendered instructions' length, the files code-interpreter globs resolve to, metadata and
attribute counts that include the keys assistops reserves (and those reserved names), one
code_interpreter and one file_search per assistant, unique function names, references to
declared vector stores, chunk overlap against chunk size, the environments' providers and URLs,
and the JSON Schemas of functions and response formats (valid, strict mode).

Runs after rendering (so overrides are merged and instructions rendered) and before any API
call. Each check returns Problems naming file, line, field and a fix; nothing stops early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

from assistops import limits
from assistops.config.models import (
    OPENAI_API,
    AssistantFile,
    Environment,
    JsonSchemaResponseFormat,
    VectorStoreFile,
)
from assistops.config.problems import field_path
from assistops.config.project import PROJECT_FILE, Project
from assistops.errors import Problem
from assistops.kinds.agent import AgentSpec
from assistops.kinds.assistant import AssistantSpec, assistant_address
from assistops.kinds.file import FileSpec
from assistops.kinds.release import ReleaseSpec
from assistops.kinds.responses import LEAVE_OUT as RESPONSES_LEAVE_OUT
from assistops.kinds.responses import unsupported
from assistops.kinds.tags import RESERVED_ATTRIBUTES, RESERVED_METADATA, reserved_metadata_count
from assistops.kinds.vector_store import VectorStoreSpec
from assistops.providers import settings
from assistops.render.desired import Rendered, SchemaSource
from assistops.render.merge import Merged
from assistops.render.schema_files import schema_field

Loc = tuple[str | int, ...]


def check(project: Project, rendered: Rendered) -> list[Problem]:
    """Every rule violation in one rendered environment."""
    problems: list[Problem] = []
    env_name = rendered.state.environment
    env = project.environment(env_name)
    for address, spec in rendered.state.resources.items():
        if isinstance(spec, ReleaseSpec):
            problems += _release(project, rendered, spec, env_name, frozenset(env.leave_out))
            continue
        # an agent is rendered from an assistant declaration, kept under that address
        declared = assistant_address(spec.name) if isinstance(spec, AgentSpec) else address
        merged = rendered.merged.get(declared)
        model = rendered.models.get(declared)
        if merged is None:
            continue
        if isinstance(spec, AssistantSpec | AgentSpec) and isinstance(model, AssistantFile):
            problems += _assistant(project, spec, model, merged)
            if isinstance(spec, AgentSpec):
                problems += _as_agent(model, merged, env_name, frozenset(env.leave_out))
            else:
                problems += _agents_only(model, merged, env_name)

        elif isinstance(spec, VectorStoreSpec) and isinstance(model, VectorStoreFile):
            problems += _store(spec, model, merged)
    for source in rendered.schemas:
        problems += _schema(source, rendered.merged[source.address])
    problems += _identical_contents(rendered)
    return problems


def _identical_contents(rendered: Rendered) -> list[Problem]:
    """Two files of one store (or one code interpreter) with the same bytes: a store holds an
    upload once, under one path, so the second could never be indexed and the plan would never
    settle."""
    by_owner: dict[str, dict[str, list[FileSpec]]] = {}
    for spec in rendered.state.resources.values():
        if isinstance(spec, FileSpec):
            by_owner.setdefault(spec.owner, {}).setdefault(spec.sha256, []).append(spec)
    out: list[Problem] = []
    for owner, by_sha in by_owner.items():
        merged, model = rendered.merged.get(owner), rendered.models.get(owner)
        if merged is None:
            continue
        loc: Loc = ("files",)
        hint = "add one of them to the store's exclude globs, or remove it"
        if isinstance(model, AssistantFile):
            index = next(
                (i for i, t in enumerate(model.tools or []) if t.code_interpreter is not None), 0
            )
            loc = ("tools", index, "code_interpreter", "files")
            hint = "remove one of them from the code interpreter's globs"
        file, line = merged.locate(loc)
        for sha, specs in by_sha.items():
            if len(specs) < 2:
                continue
            paths = ", ".join(s.path for s in specs)
            out.append(
                Problem(
                    file,
                    line,
                    merged.field(loc),
                    f"{paths} have identical content (sha256 {sha[:12]}); {owner} can hold one "
                    "content only once",
                    hint,
                )
            )
    return out


def check_environments(project: Project) -> list[Problem]:
    """Checks of the environments themselves (providers, URLs, credentials by name)."""
    problems: list[Problem] = []
    for name, env in project.config.environments.items():
        base: Loc = ("environments", name)

        def at(key: str, base: Loc = base) -> tuple[str, int | None, str]:
            loc = (*base, key)
            return PROJECT_FILE, project.doc.line_of(loc), field_path(loc)

        if env.base_url is not None:
            url = urlparse(env.base_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                problems.append(
                    Problem(
                        *at("base_url"),
                        f"'{env.base_url}' is not an http(s) URL",
                        "write it like https://host/v1",
                    )
                )
        if env.provider == "azure":
            problems.extend(_azure_environment(env, at))
        else:
            for key in ("api_version", "azure_endpoint_env", "auth"):
                if getattr(env, key) is not None:
                    problems.append(
                        Problem(
                            *at(key), f"'{key}' only applies to the azure provider", "remove it"
                        )
                    )
        if env.provider != "local" and env.database is not None:
            problems.append(
                Problem(
                    *at("database"), "'database' only applies to the local provider", "remove it"
                )
            )
        problems += _api_problems(env, at)
    return problems


def _api_problems(
    env: Environment, at: Callable[[str], tuple[str, int | None, str]]
) -> list[Problem]:
    """The environment's API against its provider."""
    out: list[Problem] = []
    api = env.effective_api()
    on_openai = env.provider == "openai" and urlparse(env.base_url or OPENAI_API).hostname == (
        urlparse(OPENAI_API).hostname
    )
    if api == "assistants" and on_openai:
        out.append(
            Problem(
                *at("api"),
                "api.openai.com no longer serves the Assistants API (sunset on 2026-08-26)",
                "declare 'api: agents' (each assistant becomes an OpenAI agent; vector stores and "
                "files stay), or point base_url at a server that speaks the protocol",
            )
        )
    if api == "agents" and env.provider == "azure":
        out.append(
            Problem(
                *at("api"),
                "OpenAI agents are not served by Azure; Foundry classic agents speak the "
                "Assistants protocol",
                "remove 'api: agents' (or declare 'api: assistants')",
            )
        )
    if api == "responses" and env.provider == "azure":
        out.append(
            Problem(
                *at("api"),
                "assistops publishes releases to OpenAI-compatible files; Foundry classic "
                "agents speak the Assistants protocol",
                "remove 'api: responses' (or declare 'api: assistants'), or deploy the release "
                "with provider: openai",
            )
        )
    if api == "assistants" and env.leave_out:
        out.append(
            Problem(
                *at("leave_out"),
                "'leave_out' only applies to an environment with 'api: agents' or 'api: responses'",
                "remove it",
            )
        )
    elif api == "responses":
        for token in env.leave_out:
            if token not in RESPONSES_LEAVE_OUT:
                out.append(
                    Problem(
                        *at("leave_out"),
                        f"a Responses request can hold {token}: there is nothing to leave out",
                        f"remove '{token}' (only {', '.join(RESPONSES_LEAVE_OUT)} may be left "
                        "out of a responses environment)",
                    )
                )
    return out


def _azure_environment(
    env: Environment, at: Callable[[str], tuple[str, int | None, str]]
) -> list[Problem]:
    """An azure environment's endpoint and authentication options fit together (an endpoint
    from a variable is checked when the provider opens)."""
    out: list[Problem] = []
    url = env.base_url
    if url is not None and urlparse(url).scheme in ("http", "https"):
        project_example = f"base_url: {settings.FOUNDRY_ENDPOINT_EXAMPLE}"
        if settings.is_retired_azure_openai(url):
            out.append(
                Problem(
                    *at("base_url"),
                    f"'{url}' is Azure OpenAI's Assistants API, retired on "
                    f"{settings.AZURE_ASSISTANTS_RETIRED}",
                    f"declare your Foundry project's endpoint, {project_example} (Foundry "
                    f"classic agents, until {settings.FOUNDRY_CLASSIC_RETIRES})",
                )
            )
        elif settings.is_foundry_host(url) and not settings.is_foundry_project(url):
            out.append(
                Problem(
                    *at("base_url"),
                    f"'{url}' is not a Foundry project endpoint",
                    f"write it like {settings.FOUNDRY_ENDPOINT_EXAMPLE} (the project's overview "
                    "page in the Foundry portal shows it)",
                )
            )
        elif not settings.is_foundry_project(url) and not env.api_version:
            out.append(
                Problem(
                    *at("base_url"),
                    "an azure endpoint that is not a Foundry project endpoint needs 'api_version'",
                    "add the api_version the server takes (a Foundry project endpoint, "
                    f"{settings.FOUNDRY_ENDPOINT_EXAMPLE}, defaults to "
                    f"{settings.FOUNDRY_API_VERSION})",
                )
            )
        if env.azure_endpoint_env is not None:
            out.append(
                Problem(
                    *at("azure_endpoint_env"),
                    "'azure_endpoint_env' is not read when base_url is declared",
                    "remove one of them",
                )
            )
    if env.auth == "entra" and env.api_key_env is not None:
        out.append(
            Problem(
                *at("api_key_env"),
                "'api_key_env' names a key, but this environment authenticates with Entra ID "
                "(auth: entra)",
                "remove api_key_env, or write auth: key where the endpoint accepts keys",
            )
        )
    return out


# -- assistants ---------------------------------------------------------------------------------


def _agents_only(model: AssistantFile, merged: Merged, env_name: str) -> list[Problem]:
    """Tools only an OpenAI agent has, on an Assistants-protocol environment."""
    out: list[Problem] = []
    for i, tool in enumerate(model.tools or []):
        if tool.kind in ("mcp", "web_search"):
            loc: Loc = ("tools", i, tool.kind)
            file, line = merged.locate(loc)
            out.append(
                Problem(
                    file,
                    line,
                    merged.field(loc),
                    f"only OpenAI agents have the {tool.kind} tool; environment '{env_name}' "
                    "deploys to the Assistants protocol",
                    f"remove it for '{env_name}' with an override of tools, or declare "
                    f"'api: agents' (or 'api: responses') for environment '{env_name}'",
                )
            )
    return out


def _release(
    project: Project,
    rendered: Rendered,
    spec: ReleaseSpec,
    env_name: str,
    leave_out: frozenset[str],
) -> list[Problem]:
    """Each assistant of a release, checked as a declaration and as a Responses request."""
    out: list[Problem] = []
    for assistant in spec.assistants.values():
        merged = rendered.merged.get(assistant.address)
        model = rendered.models.get(assistant.address)
        if merged is not None and isinstance(model, AssistantFile):
            out += _assistant(project, assistant, model, merged)
            out += _as_request(assistant, merged, env_name, leave_out)
    return out


def _as_request(
    spec: AssistantSpec, merged: Merged, env_name: str, leave_out: frozenset[str]
) -> list[Problem]:
    """What a Responses request cannot express, unless the environment leaves it out on
    purpose (the display name is never sent, and needs no fix)."""
    out: list[Problem] = []
    for item in unsupported(spec):
        field = item.loc[0]
        if item.loc == ("display_name",) or field in leave_out:
            continue
        file, line = merged.locate(item.loc)
        hint = item.hint
        if field in RESPONSES_LEAVE_OUT:
            hint = (
                f"say it in the instructions if the model should read it; unset it (null) for "
                f"'{env_name}' with an override, or add '{field}' to "
                f"environments.{env_name}.leave_out to leave it out on purpose"
            )
        out.append(Problem(file, line, merged.field(item.loc), item.message, hint))
    return out


def _as_agent(
    model: AssistantFile, merged: Merged, env_name: str, leave_out: frozenset[str]
) -> list[Problem]:
    """What an agent cannot hold, unless the environment leaves it out on purpose."""
    out: list[Problem] = []

    def add(loc: Loc, message: str, hint: str) -> None:
        file, line = merged.locate(loc)
        out.append(Problem(file, line, merged.field(loc), message, hint))

    def cannot(loc: Loc, what: str, token: str, remove: str) -> None:
        if token not in leave_out:
            add(
                loc,
                f"an OpenAI agent has no {what} (environment '{env_name}' deploys agents)",
                f"{remove} for '{env_name}' with an override, or add '{token}' to "
                f"environments.{env_name}.leave_out to leave it out on purpose",
            )

    if model.description is not None:
        cannot(("description",), "description", "description", "unset it (null)")
    for key in ("temperature", "top_p"):
        if getattr(model, key) is not None:
            cannot((key,), key, key, "unset it (null)")
    for i, tool in enumerate(model.tools or []):
        if tool.kind in ("file_search", "code_interpreter"):
            cannot(("tools", i), f"{tool.kind} tool", tool.kind, "remove the tool")
        if tool.function is not None and tool.function.strict:
            cannot(
                ("tools", i, "function", "strict"),
                "strict mode for functions",
                "strict",
                "set strict: false",
            )
    rf = model.response_format
    if rf == "json_object":
        add(
            ("response_format",),
            "an OpenAI agent has no json_object format",
            "declare a json_schema response format, or text",
        )
    elif isinstance(rf, JsonSchemaResponseFormat):
        if rf.json_schema.strict:
            cannot(
                ("response_format", "json_schema", "strict"),
                "strict mode for its text format",
                "strict",
                "set strict: false",
            )
        if rf.json_schema.description is not None:
            cannot(
                ("response_format", "json_schema", "description"),
                "description of its text format",
                "description",
                "unset it (null)",
            )
    return out


def _assistant(
    project: Project, spec: AssistantSpec | AgentSpec, model: AssistantFile, merged: Merged
) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: Loc, message: str, hint: str = "") -> None:
        file, line = merged.locate(loc)
        out.append(Problem(file, line, merged.field(loc), message, hint))

    if spec.instructions is not None and len(spec.instructions) > limits.INSTRUCTIONS_MAX:
        add(
            ("instructions",),
            f"rendered instructions are {len(spec.instructions):,} characters; the limit is "
            f"{limits.INSTRUCTIONS_MAX:,}",
            "shorten the template, or move reference text into a vector store",
        )
    tools = model.tools or []
    seen_functions: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for i, tool in enumerate(tools):
        kind = tool.kind
        if kind in ("code_interpreter", "file_search") and kind in kinds:
            add(
                ("tools", i),
                f"a second {kind} tool (the first is tools[{kinds[kind]}])",
                "an assistant has at most one of each; merge them"
                + (
                    f" (and at most {limits.ASSISTANT_VECTOR_STORES_MAX} vector store)"
                    if kind == "file_search"
                    else ""
                ),
            )
        kinds.setdefault(kind, i)
        if tool.file_search is not None:
            fs = tool.file_search
            if fs.vector_store is not None and fs.vector_store not in project.vector_stores:
                known = ", ".join(sorted(project.vector_stores)) or "none declared"
                add(
                    ("tools", i, "file_search", "vector_store"),
                    f"no vector store named '{fs.vector_store}' is declared",
                    f"declare it under knowledge/ (known: {known})",
                )
        if tool.function is not None:
            name = tool.function.name
            if name in seen_functions:
                add(
                    ("tools", i, "function", "name"),
                    f"duplicate function name '{name}' (also tools[{seen_functions[name]}])",
                    "function names must be unique per assistant",
                )
            seen_functions.setdefault(name, i)
    if (
        isinstance(spec, AssistantSpec)
        and len(spec.code_interpreter_files) > limits.CODE_INTERPRETER_FILES_MAX
    ):
        i = kinds.get("code_interpreter", 0)
        add(
            ("tools", i, "code_interpreter", "files"),
            f"{len(spec.code_interpreter_files)} code-interpreter files; the limit is "
            f"{limits.CODE_INTERPRETER_FILES_MAX}",
            "narrow the globs",
        )
    _metadata(add, spec.metadata, reserved_metadata_count(spec))
    return out


# -- vector stores ------------------------------------------------------------------------------


def _store(spec: VectorStoreSpec, model: VectorStoreFile, merged: Merged) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: Loc, message: str, hint: str = "") -> None:
        file, line = merged.locate(loc)
        out.append(Problem(file, line, merged.field(loc), message, hint))

    chunk = spec.chunking
    if chunk is not None:  # the model checks each number; half the size is a cross-field rule
        size = chunk["static"]["max_chunk_size_tokens"]
        overlap = chunk["static"]["chunk_overlap_tokens"]
        if overlap > size // 2:
            add(
                ("chunking", "chunk_overlap_tokens"),
                f"{overlap} is out of range",
                f"use {limits.CHUNK_OVERLAP_MIN} to half of max_chunk_size_tokens ({size // 2})",
            )
    _metadata(add, spec.metadata, reserved_metadata_count(spec))
    attributes = model.attributes or {}
    room = limits.ATTRIBUTES_MAX_KEYS - len(RESERVED_ATTRIBUTES)
    if len(attributes) > room:
        add(
            ("attributes",),
            f"{len(attributes)} attributes; at most {room} fit",
            f"assistops reserves {len(RESERVED_ATTRIBUTES)} of the {limits.ATTRIBUTES_MAX_KEYS}; "
            "remove some",
        )
    for key in attributes:
        if key in RESERVED_ATTRIBUTES:
            add(("attributes", key), f"'{key}' is reserved by assistops", "rename it")
    return out


# -- shared -------------------------------------------------------------------------------------


def _metadata(add: Any, metadata: dict[str, str], reserved: int) -> None:
    room = limits.METADATA_MAX_KEYS - reserved
    if len(metadata) > room:
        add(
            ("metadata",),
            f"{len(metadata)} metadata keys; at most {room} fit",
            f"assistops reserves {reserved} of the {limits.METADATA_MAX_KEYS} keys for ownership "
            "tags; remove some",
        )
    for key in metadata:
        if key in RESERVED_METADATA or key.startswith("assistops"):
            add(("metadata", key), f"'{key}' is reserved by assistops", "rename the key")


def _schema(source: SchemaSource, merged: Merged) -> list[Problem]:
    out: list[Problem] = []

    def add(path: Loc, message: str, hint: str = "") -> None:
        if source.doc is not None:  # a schema file: its line, and the field that uses it
            file, line = source.doc.file, source.doc.line_of(path)
            where = schema_field(merged.field(source.field), path)
        else:
            file, line = merged.locate((*source.field, *path))
            where = merged.field((*source.field, *path))
        copied = source.resolved.origin(path) if source.resolved is not None else None
        if copied is not None:  # a $defs entry copied from the file a $ref named: fix it there
            file, line = copied[0].file, copied[0].line_of(copied[1])
        out.append(Problem(file, line, where, message, hint))

    # imported here: a project without schemas never pays for jsonschema (about 20 ms)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(source.schema)
    except SchemaError as exc:
        path = tuple(exc.path)
        if path and path[-1] == "type":
            add(
                path,
                f"not a valid JSON Schema: {exc.instance!r} is not a type",
                "use string, number, integer, boolean, object, array or null",
            )
        else:
            add(
                path,
                f"not a valid JSON Schema: {exc.message}",
                "see https://json-schema.org/understanding-json-schema (draft 2020-12)",
            )
        return out
    if source.field[-1] == "parameters" and source.schema.get("type") != "object":
        add(
            ("type",),
            "function parameters must be a schema of type 'object'",
            "wrap them: {type: object, properties: {...}}",
        )
    if source.strict:
        for path, node in _objects(source.schema, ()):
            props = node.get("properties", {})
            if node.get("additionalProperties") is not False:
                add(
                    (*path, "additionalProperties") if "additionalProperties" in node else path,
                    "strict mode needs 'additionalProperties: false' on every object",
                    "add additionalProperties: false",
                )
            required = node.get("required", [])
            missing = [p for p in props if p not in required]
            if missing:
                add(
                    (*path, "required") if "required" in node else path,
                    "strict mode needs every property listed in 'required'; missing: "
                    + ", ".join(missing),
                    "add them to required (make a field optional with type [..., 'null'])",
                )
        _strict_size(source.schema, add)
    return out


def _strict_size(schema: dict[str, Any], add: Callable[[Loc, str, str], None]) -> None:
    """The service's size limits of a strict schema, checked before the service refuses it."""
    deepest: Loc = ()
    depth, properties, enums, names = 0, 0, 0, 0
    for path, node, level in _subschemas(schema, (), 0):
        if level > depth:
            depth, deepest = level, path
        props = node.get("properties")
        if isinstance(props, dict):
            properties += len(props)
            names += sum(len(str(name)) for name in props)
        values = node.get("enum")
        if isinstance(values, list):
            enums += len(values)
            names += sum(len(str(v)) for v in values)
        for key in ("$defs", "definitions"):
            names += sum(len(str(name)) for name in (node.get(key) or {}))
    checks = (
        (depth, limits.STRICT_SCHEMA_DEPTH_MAX, "levels of object nesting", deepest),
        (properties, limits.STRICT_SCHEMA_PROPERTIES_MAX, "object properties in all", ()),
        (enums, limits.STRICT_SCHEMA_ENUM_VALUES_MAX, "enum values in all", ()),
        (names, limits.STRICT_SCHEMA_NAME_CHARS_MAX, "characters of names and enum values", ()),
    )
    for count, most, what, path in checks:
        if count > most:
            add(
                path,
                f"strict mode takes at most {most:,} {what}; this schema has {count:,}",
                "split the schema, move detail into descriptions, or set strict: false",
            )


def _subschemas(node: Any, path: Loc, level: int) -> Iterator[tuple[Loc, dict[str, Any], int]]:
    """Every schema inside a JSON Schema, with its path and how many objects enclose it
    (itself included)."""
    if not isinstance(node, dict):
        return
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    level += 1 if is_object or "properties" in node else 0
    yield path, node, level
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                # a definition is counted where it is used, not where it is kept
                inner = 0 if key in ("$defs", "definitions") else level
                yield from _subschemas(child, (*path, key, name), inner)
    for key in ("items", "additionalProperties", "not", "contains"):
        yield from _subschemas(node.get(key), (*path, key), level)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        children = node.get(key)
        if isinstance(children, list):
            for i, child in enumerate(children):
                yield from _subschemas(child, (*path, key, i), level)


def _objects(node: Any, path: Loc) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """Every object schema inside a JSON Schema, with its path."""
    if not isinstance(node, dict):
        return
    types = node.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types) or "properties" in node:
        yield path, node
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        for name, child in (node.get(key) or {}).items():
            yield from _objects(child, (*path, key, name))
    for key in ("items", "additionalProperties", "not", "contains"):
        if isinstance(node.get(key), dict):
            yield from _objects(node[key], (*path, key))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, child in enumerate(node.get(key) or []):
            yield from _objects(child, (*path, key, i))
