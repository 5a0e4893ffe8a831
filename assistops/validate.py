"""Offline checks of rendered declarations against the protocol's rules and limits.

Runs after rendering (so overrides are merged and instructions rendered) and before any API
call. Each check returns Problems naming file, line, field and a fix; nothing stops early.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from assistops import limits
from assistops.config.models import AssistantFile, VectorStoreFile
from assistops.config.problems import field_path
from assistops.config.project import PROJECT_FILE, Project
from assistops.errors import Problem
from assistops.render.desired import Rendered, SchemaSource
from assistops.render.merge import Merged
from assistops.render.schema_files import schema_field
from assistops.spec import AssistantSpec, VectorStoreSpec
from assistops.tags import RESERVED_ATTRIBUTES, RESERVED_METADATA, reserved_metadata_count

Loc = tuple[str | int, ...]


def check(project: Project, rendered: Rendered) -> list[Problem]:
    """Every rule violation in one rendered environment."""
    problems: list[Problem] = []
    for address, spec in rendered.state.resources.items():
        merged = rendered.merged.get(address)
        model = rendered.models.get(address)
        if merged is None:
            continue
        if isinstance(spec, AssistantSpec) and isinstance(model, AssistantFile):
            problems += _assistant(project, spec, model, merged)
        elif isinstance(spec, VectorStoreSpec) and isinstance(model, VectorStoreFile):
            problems += _store(spec, model, merged)
    for source in rendered.schemas:
        problems += _schema(source, rendered.merged[source.address])
    return problems


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
        if env.provider == "azure" and not env.api_version:
            problems.append(
                Problem(
                    *at("provider"),
                    "an azure environment needs 'api_version'",
                    "add api_version: 2024-05-01-preview (or the version your resource uses)",
                )
            )
        if env.provider != "azure":
            for key in ("api_version", "azure_endpoint_env"):
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
    return problems


# -- assistants ---------------------------------------------------------------------------------


def _assistant(
    project: Project, spec: AssistantSpec, model: AssistantFile, merged: Merged
) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: Loc, message: str, hint: str = "") -> None:
        file, line = merged.locate(loc)
        out.append(Problem(file, line, merged.field(loc), message, hint))

    _length(add, ("display_name",), spec.display_name, limits.ASSISTANT_NAME_MAX)
    _length(add, ("description",), spec.description, limits.ASSISTANT_DESCRIPTION_MAX)
    if spec.instructions is not None and len(spec.instructions) > limits.INSTRUCTIONS_MAX:
        add(
            ("instructions",),
            f"rendered instructions are {len(spec.instructions):,} characters; the limit is "
            f"{limits.INSTRUCTIONS_MAX:,}",
            "shorten the template, or move reference text into a vector store",
        )
    tools = model.tools or []
    if len(tools) > limits.TOOLS_MAX:
        add(("tools",), f"{len(tools)} tools; the limit is {limits.TOOLS_MAX}")
    seen_functions: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for i, tool in enumerate(tools):
        kind = tool.kind
        if kind in ("code_interpreter", "file_search") and kind in kinds:
            add(
                ("tools", i),
                f"a second {kind} tool (the first is tools[{kinds[kind]}])",
                "an assistant has at most one of each; merge them"
                + (" (and at most 1 vector store)" if kind == "file_search" else ""),
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
            n = fs.max_num_results
            if n is not None and not limits.MAX_NUM_RESULTS_MIN <= n <= limits.MAX_NUM_RESULTS_MAX:
                add(
                    ("tools", i, "file_search", "max_num_results"),
                    f"{n} is out of range",
                    f"use {limits.MAX_NUM_RESULTS_MIN} to {limits.MAX_NUM_RESULTS_MAX}",
                )
            if fs.ranking_options is not None:
                t = fs.ranking_options.score_threshold
                if not 0 <= t <= 1:
                    add(
                        ("tools", i, "file_search", "ranking_options", "score_threshold"),
                        f"{t} is out of range",
                        "use 0 to 1",
                    )
        if tool.function is not None:
            name = tool.function.name
            loc: Loc = ("tools", i, "function", "name")
            if not limits.FUNCTION_NAME_RE.match(name):
                add(
                    loc,
                    f"function name '{name}' is invalid",
                    "use 1 to 64 letters, digits, '_' or '-'",
                )
            elif name in seen_functions:
                add(
                    loc,
                    f"duplicate function name '{name}' (also tools[{seen_functions[name]}])",
                    "function names must be unique per assistant",
                )
            seen_functions.setdefault(name, i)
    if len(spec.code_interpreter_files) > limits.CODE_INTERPRETER_FILES_MAX:
        i = kinds.get("code_interpreter", 0)
        add(
            ("tools", i, "code_interpreter", "files"),
            f"{len(spec.code_interpreter_files)} code-interpreter files; the limit is "
            f"{limits.CODE_INTERPRETER_FILES_MAX}",
            "narrow the globs",
        )
    if spec.temperature is not None and not 0 <= spec.temperature <= 2:
        add(("temperature",), f"{spec.temperature} is out of range", "use 0 to 2")
    if spec.top_p is not None and not 0 <= spec.top_p <= 1:
        add(("top_p",), f"{spec.top_p} is out of range", "use 0 to 1")
    rf = spec.response_format
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        name = rf["json_schema"]["name"]
        if not limits.RESPONSE_FORMAT_NAME_RE.match(name):
            add(
                ("response_format", "json_schema", "name"),
                f"'{name}' is not a valid name",
                "use 1 to 64 letters, digits, '_' or '-'",
            )
    _metadata(add, spec.metadata, reserved_metadata_count(spec))
    return out


# -- vector stores ------------------------------------------------------------------------------


def _store(spec: VectorStoreSpec, model: VectorStoreFile, merged: Merged) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: Loc, message: str, hint: str = "") -> None:
        file, line = merged.locate(loc)
        out.append(Problem(file, line, merged.field(loc), message, hint))

    _length(add, ("display_name",), spec.display_name, limits.ASSISTANT_NAME_MAX)
    _length(add, ("description",), spec.description, limits.ASSISTANT_DESCRIPTION_MAX)
    chunk = spec.chunking
    if chunk is not None:
        size = chunk["static"]["max_chunk_size_tokens"]
        overlap = chunk["static"]["chunk_overlap_tokens"]
        if not limits.STATIC_CHUNK_MIN <= size <= limits.STATIC_CHUNK_MAX:
            add(
                ("chunking", "max_chunk_size_tokens"),
                f"{size} is out of range",
                f"use {limits.STATIC_CHUNK_MIN} to {limits.STATIC_CHUNK_MAX}",
            )
        if overlap < 0 or overlap > size // 2:
            add(
                ("chunking", "chunk_overlap_tokens"),
                f"{overlap} is out of range",
                f"use 0 to half of max_chunk_size_tokens ({size // 2})",
            )
    days = spec.expires_after_days
    if days is not None and not (
        limits.VECTOR_STORE_EXPIRY_DAYS_MIN <= days <= limits.VECTOR_STORE_EXPIRY_DAYS_MAX
    ):
        add(("expires_after_days",), f"{days} is out of range", "use 1 to 365")
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
    for key, value in attributes.items():
        if key in RESERVED_ATTRIBUTES:
            add(("attributes", key), f"'{key}' is reserved by assistops", "rename it")
        if len(key) > limits.ATTRIBUTE_KEY_MAX:
            add(
                ("attributes", key),
                f"key is {len(key)} characters; the limit is {limits.ATTRIBUTE_KEY_MAX}",
                "shorten it",
            )
        if isinstance(value, str) and len(value) > limits.ATTRIBUTE_VALUE_MAX:
            add(
                ("attributes", key),
                f"value is {len(value)} characters; the limit is {limits.ATTRIBUTE_VALUE_MAX}",
                "shorten it",
            )
    return out


# -- shared -------------------------------------------------------------------------------------


def _length(add: Any, loc: Loc, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        add(loc, f"{len(value)} characters; the limit is {limit}", "shorten it")


def _metadata(add: Any, metadata: dict[str, str], reserved: int) -> None:
    room = limits.METADATA_MAX_KEYS - reserved
    if len(metadata) > room:
        add(
            ("metadata",),
            f"{len(metadata)} metadata keys; at most {room} fit",
            f"assistops reserves {reserved} of the {limits.METADATA_MAX_KEYS} keys for ownership "
            "tags; remove some",
        )
    for key, value in metadata.items():
        if key in RESERVED_METADATA or key.startswith("assistops"):
            add(("metadata", key), f"'{key}' is reserved by assistops", "rename the key")
        if len(key) > limits.METADATA_KEY_MAX:
            add(
                ("metadata", key),
                f"key is {len(key)} characters; the limit is {limits.METADATA_KEY_MAX}",
                "shorten it",
            )
        if len(value) > limits.METADATA_VALUE_MAX:
            add(
                ("metadata", key),
                f"value is {len(value)} characters; the limit is {limits.METADATA_VALUE_MAX}",
                "shorten it",
            )


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
    return out


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
