"""Load the JSON Schema files that function tools and response formats reference, and resolve
the ``$ref``s inside them into one self-contained schema.

A schema may be written inline or as the project-relative path of a ``.json``/``.yaml`` file.
Files are parsed with the strict YAML loader (JSON is YAML 1.2, and we keep line numbers), but a
``.json`` file must also be real JSON: editors and other tools read it as such, and YAML would
quietly accept trailing commas and comments.

The service never fetches a ``$ref``, so what is sent must be self-contained. A ``$ref`` to
another project file (a path relative to the file it is written in, optionally with a JSON
pointer: ``common.json#/$defs/Address``) is resolved here: the schema it names is copied once into
the root schema's ``$defs`` and the ``$ref`` is rewritten to ``#/$defs/<name>``. We collect rather
than inline because ``$defs`` with internal refs is what strict mode supports, a schema used in
many places is sent (and diffed) once, and a recursive schema — within a file or across files —
stays finite. Internal refs (``#/$defs/X``, ``#/definitions/X``) are kept as written and must
point at something. URLs, paths leaving the project, anchors, dangling pointers and ref chains
that never reach a schema are problems naming the file and line of the ``$ref``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from assistops.config.problems import field_path
from assistops.config.project import unsafe_pattern
from assistops.config.yamlio import Document, parse_yaml
from assistops.errors import ConfigError, Problem

Loc = tuple[str | int, ...]
Locate = Callable[[Loc], tuple[str, int | None]]
Name = Callable[[Loc], str]

# keywords whose value is a mapping of names to schemas, a schema, or a list of schemas; every
# other keyword holds data (enum, const, default, examples...) where a "$ref" is not a reference
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "propertyNames",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
# keywords that apply a schema to the same instance: a cycle through only these never ends
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
# dropped from a schema copied out of another file: its identity and its own definitions mean
# nothing once its refs point at the root's $defs
_FILE_ROOT_KEYS = ("$id", "$schema", "$defs", "definitions")


def schema_field(base: str, path: Loc) -> str:
    """The field shown for ``path`` inside the schema used by ``base``: ``x.parameters.$defs.A``."""
    return (base + ("." + field_path(path) if path else "")).replace(".[", "[")


@dataclass
class Resolved:
    """A schema with every file ``$ref`` resolved, and where each collected definition came from."""

    schema: Any
    origins: dict[str, tuple[Document, Loc]] = field(default_factory=dict)

    def origin(self, path: Loc) -> tuple[Document, Loc] | None:
        """The file and the path in it that ``path`` of the resolved schema was copied from.

        None for a path of the root schema itself (it is located where it was written).
        """
        if len(path) >= 2 and path[0] == "$defs" and path[1] in self.origins:
            doc, base = self.origins[str(path[1])]
            return doc, (*base, *path[2:])
        return None


class SchemaFiles:
    """Reads each schema file once per run; reports problems at every place that uses it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, Document | Problem | str] = {}

    def load(
        self, ref: str, origin: tuple[str, int | None], field: str
    ) -> tuple[Document | None, list[Problem]]:
        """The parsed schema file ``ref`` referenced at ``origin`` (file, line) by ``field``."""
        file, line = origin
        why = unsafe_pattern(ref)
        if why:
            return None, [Problem(file, line, field, why, "write the path inside the project")]
        entry = self._entry(ref)
        if isinstance(entry, str):  # the reference is wrong: point at it
            hint = "paths are relative to the project root (where assistops.yaml is)"
            return None, [Problem(file, line, field, entry, hint)]
        if isinstance(entry, Problem):  # the file is wrong: point inside it
            return None, [dataclasses.replace(entry, field=field)]
        if not isinstance(entry.data, dict):
            return None, [
                Problem(
                    ref,
                    1,
                    field,
                    "a JSON Schema must be an object",
                    'write it as {"type": "object", "properties": {...}}',
                )
            ]
        return entry, []

    def resolve(
        self, schema: dict[str, Any], doc: Document | None, locate: Locate, name: Name
    ) -> tuple[Resolved, list[Problem]]:
        """``schema`` with its file refs collected into ``$defs``; never changes ``schema``.

        ``doc`` is the file the schema was read from (None when written inline); ``locate``
        gives the file and line of a path of the root schema, ``name`` the field it shows as.
        """
        return _Resolver(self, schema, doc, locate, name).run()

    def _entry(self, ref: str) -> Document | Problem | str:
        if ref not in self._cache:
            self._cache[ref] = self._read(ref)
        return self._cache[ref]

    def _read(self, ref: str) -> Document | Problem | str:
        path = self.root / ref
        if path.is_dir():
            return f"'{ref}' is a folder, not a schema file"
        if not path.is_file():
            return f"schema file '{ref}' does not exist"
        if not path.resolve().is_relative_to(self.root):
            return f"'{ref}' is a symlink to a file outside the project"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot read schema file '{ref}': {exc}"
        if path.suffix == ".json":
            problem = _json_problem(text, ref)
            if problem is not None:
                return problem
        try:
            return parse_yaml(text, ref)
        except ConfigError as exc:
            return exc.problems[0]


@dataclass(frozen=True)
class _Source:
    """A document refs are read in: the root schema, or a file a ``$ref`` named."""

    file: str | None  # project-relative; None for a schema written inline
    data: Any
    locate: Locate  # path in ``data`` -> (file, line)


def _file_source(file: str, doc: Document) -> _Source:
    def locate(path: Loc) -> tuple[str, int | None]:
        return doc.file, doc.line_of(path)

    return _Source(file, doc.data, locate)


class _Resolver:
    """One root schema: walks it and every schema it refers to, copying each target once."""

    def __init__(
        self,
        files: SchemaFiles,
        schema: dict[str, Any],
        doc: Document | None,
        locate: Locate,
        name: Name,
    ) -> None:
        self.files = files
        self.root = _Source(posixpath.normpath(doc.file) if doc else None, schema, locate)
        self.name = name
        self.names: dict[tuple[str, Loc], str] = {}  # (file, path in it) -> name in $defs
        own = schema.get("$defs")
        self.taken: set[str] = set(own) if isinstance(own, dict) else set()
        self.defs: dict[str, Any] = {}
        self.origins: dict[str, tuple[Document, Loc]] = {}
        self.problems: list[Problem] = []

    def run(self) -> tuple[Resolved, list[Problem]]:
        out = self.schema(self.root.data, self.root, (), ())
        if self.defs:
            own = out.get("$defs")
            out["$defs"] = {**(own if isinstance(own, dict) else {}), **self.defs}
        resolved = Resolved(out, self.origins)
        self.problems += _in_place_cycles(resolved, self.locate_out, self.name, self.display)
        return resolved, self.problems

    # -- walking ------------------------------------------------------------------------------

    def schema(self, node: Any, src: _Source, at: Loc, out: Loc) -> Any:
        """A copy of the schema ``node`` (at ``at`` in ``src``, at ``out`` in the result)."""
        if not isinstance(node, dict):
            return node  # true/false, or not a schema (check_schema reports that)
        copy: dict[str, Any] = {}
        for key, value in node.items():
            here, there = (*at, key), (*out, key)
            if key == "$ref" and isinstance(value, str):
                copy[key] = self.ref(value, src, here, there)
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                copy[key] = {
                    k: self.schema(v, src, (*here, k), (*there, k)) for k, v in value.items()
                }
            elif key == "dependencies" and isinstance(value, dict):  # draft 7: schema or list
                copy[key] = {
                    k: self.schema(v, src, (*here, k), (*there, k)) if isinstance(v, dict) else v
                    for k, v in value.items()
                }
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                copy[key] = [
                    self.schema(v, src, (*here, i), (*there, i)) for i, v in enumerate(value)
                ]
            elif key in _SCHEMA_ONE:
                copy[key] = self.schema(value, src, here, there)
            else:
                copy[key] = _plain_copy(value)
        return copy

    def ref(self, ref: str, src: _Source, at: Loc, out: Loc) -> str:
        """The rewritten ``$ref`` (written at ``at`` in ``src``); as written if it is wrong."""
        file, line = src.locate(at)
        where = self.name(out)

        def problem(message: str, hint: str) -> str:
            self.problems.append(Problem(file, line, where, message, hint))
            return ref

        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in ref):
            return problem(
                f"$ref {ref!r} holds spaces or control characters",
                "remove them, or percent-encode them in a path (%20 for a space)",
            )
        try:
            parts = urlsplit(ref)
        except ValueError as exc:  # "http://[" and the like
            return problem(
                f"$ref '{ref}' is not a valid reference: {exc}",
                "write a path relative to this file, like common/address.json#/$defs/Address",
            )
        if len(parts.scheme) == 1:  # a drive letter: C:/schemas/x.json
            return problem(
                f"$ref '{ref}' is an absolute path",
                f"copy the schema into the project and refer to it by a path relative to {file}",
            )
        if parts.scheme or parts.netloc or parts.query or ref.startswith("//"):
            return problem(
                f"$ref '{ref}' is a URL: remote schemas are not fetched (nor would the service "
                "fetch them)",
                "save the schema in the project and refer to it by a path relative to this file, "
                "like common/address.json",
            )
        pointer = unquote(parts.fragment)
        if pointer and not pointer.startswith("/"):
            return problem(
                f"$ref '{ref}' names an anchor; only JSON pointers are supported",
                "refer to a definition by its pointer, like #/$defs/Address",
            )
        tokens = _tokens(pointer)
        path = unquote(parts.path)
        if not path:  # an internal ref: into the document it is written in
            target = src
        else:
            base = posixpath.dirname(src.file if src.file is not None else file)
            rel = posixpath.normpath(posixpath.join(base, path))
            outside = (
                f"copy the schema into the project and refer to it by a path relative to {file}"
            )
            if PurePosixPath(path).is_absolute() or path.startswith("\\") or ":" in path[:3]:
                return problem(f"$ref '{ref}' is an absolute path", outside)
            if rel == ".." or rel.startswith("../") or unsafe_pattern(rel):
                return problem(f"$ref '{ref}' leads outside the project", outside)
            if rel == self.root.file:
                target = self.root
            else:
                entry = self.files._entry(rel)
                if isinstance(entry, str):
                    linked = "symlink" in entry
                    return problem(
                        f"$ref '{ref}': {entry}",
                        "copy the schema into the project instead of linking to it"
                        if linked
                        else f"a $ref path is relative to the file it is written in ({file}); "
                        "fix the path or add the file",
                    )
                if isinstance(entry, Problem):  # the file is broken: point inside it
                    self.problems.append(
                        dataclasses.replace(
                            entry,
                            field=where,
                            message=f"{entry.message} (in the file named by the $ref at "
                            f"{file}:{line})",
                        )
                    )
                    return ref
                target = _file_source(rel, entry)
        found = _lookup(target.data, tokens)
        if isinstance(found, str):
            shown = target.file or "the schema"
            return problem(
                f"$ref '{ref}' points at nothing: {shown} has no '{pointer}'",
                found,
            )
        node, loc = found
        if not isinstance(node, dict | bool):
            return problem(
                f"$ref '{ref}' points at {_kind(node)}, not a schema",
                "point at an object schema, like #/$defs/Address",
            )
        if target is self.root:
            return ref if not path else "#" + _pointer(tokens)
        assert target.file is not None
        key = (target.file, loc)
        if key not in self.names:
            name = self.fresh_name(target.file, tokens)
            self.names[key] = name
            self.taken.add(name)
            self.origins[name] = (self._doc(target.file), loc)
            self.defs[name] = None  # reserve the place: a cycle back here finds the name
            if isinstance(node, dict):
                node = {k: v for k, v in node.items() if k not in _FILE_ROOT_KEYS}
            self.defs[name] = self.schema(node, target, loc, ("$defs", name))
        return "#/$defs/" + self.names[key]

    # -- naming and locating ------------------------------------------------------------------

    def fresh_name(self, file: str, tokens: list[str]) -> str:
        """A ``$defs`` name for a target: its last pointer step, else its file's stem."""
        stem = _clean(PurePosixPath(file).name.split(".")[0])
        last = _clean(tokens[-1]) if tokens else ""
        if tokens and last.isdigit():  # #/anyOf/0: name it by what holds it
            last = _clean("_".join(tokens[-2:]))
        base = last or stem
        candidates = [base, f"{stem}_{base}"] if tokens and base != stem else [base]
        for candidate in candidates:
            if candidate not in self.taken:
                return candidate
        n = 2
        while f"{candidates[-1]}_{n}" in self.taken:
            n += 1
        return f"{candidates[-1]}_{n}"

    def _doc(self, file: str) -> Document:
        entry = self.files._entry(file)
        assert isinstance(entry, Document)
        return entry

    def locate_out(self, path: Loc) -> tuple[str, int | None]:
        """(file, line) of a path of the resolved schema."""
        copied = Resolved(None, self.origins).origin(path)
        if copied is not None:
            return copied[0].file, copied[0].line_of(copied[1])
        return self.root.locate(path)

    def display(self, pointer: str) -> str:
        """A pointer of the resolved schema as the user wrote it: ``common.json#/$defs/A``."""
        tokens = _tokens(pointer)
        if len(tokens) >= 2 and tokens[0] == "$defs" and tokens[1] in self.origins:
            doc, base = self.origins[tokens[1]]
            inner = _pointer([*(str(p) for p in base), *tokens[2:]])
            return doc.file + (f"#{inner}" if inner else "")
        if self.root.file is not None:
            return self.root.file + (f"#{pointer}" if pointer else "")
        return "#" + pointer


def _in_place_cycles(
    resolved: Resolved, locate: Locate, name: Name, display: Callable[[str], str]
) -> list[Problem]:
    """Ref chains (through $ref, allOf, anyOf, oneOf, not, if/then/else) that loop forever.

    Recursion through properties or items is fine (each step goes one level into the
    instance); a loop that applies schemas to the same instance never reaches one.
    """
    schema = resolved.schema
    problems: list[Problem] = []
    state: dict[str, bool] = {}  # pointer -> still on the stack
    stack: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(pointer: str) -> None:
        found = _lookup(schema, _tokens(pointer))
        state[pointer] = True
        stack.append(pointer)
        if not isinstance(found, str):
            node, loc = found
            for target, at in _in_place_refs(node, loc):
                if state.get(target):
                    loop = [*stack[stack.index(target) :], target]
                    if frozenset(loop) not in reported:
                        reported.add(frozenset(loop))
                        file, line = locate(at)
                        problems.append(
                            Problem(
                                file,
                                line,
                                name(at),
                                "$ref cycle that never reaches a schema: "
                                + " -> ".join(display(p) for p in loop),
                                "a recursive schema must recurse through properties or items; "
                                "break the loop",
                            )
                        )
                elif target not in state:
                    visit(target)
        stack.pop()
        state[pointer] = False

    starts = [""] + [p for p, _ in _all_refs(schema, ())]
    for pointer in starts:
        if pointer not in state:
            visit(pointer)
    return problems


def _in_place_refs(node: Any, at: Loc) -> Iterator[tuple[str, Loc]]:
    """The internal refs applied to the same instance as ``node``, with where each is written."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        yield unquote(ref[1:]), (*at, "$ref")
    for key in _IN_PLACE_ONE:
        yield from _in_place_refs(node.get(key), (*at, key))
    for key in _IN_PLACE_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for i, child in enumerate(value):
                yield from _in_place_refs(child, (*at, key, i))


def _all_refs(node: Any, at: Loc) -> Iterator[tuple[str, Loc]]:
    """Every internal ref in a schema (by keyword, so data under enum or const is skipped)."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        yield unquote(ref[1:]), (*at, "$ref")
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for k, v in value.items():
                yield from _all_refs(v, (*at, key, k))
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for i, v in enumerate(value):
                yield from _all_refs(v, (*at, key, i))
        elif key in _SCHEMA_ONE:
            yield from _all_refs(value, (*at, key))


def _tokens(pointer: str) -> list[str]:
    """``/$defs/A~1B`` -> ``["$defs", "A/B"]`` (RFC 6901)."""
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _lookup(data: Any, tokens: list[str]) -> tuple[Any, Loc] | str:
    """The node a pointer names and its path, or a hint saying what is there instead."""
    node: Any = data
    loc: Loc = ()
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node, loc = node[token], (*loc, token)
        elif (
            isinstance(node, list)
            and token.isdigit()
            and (token == "0" or not token.startswith("0"))
            and int(token) < len(node)
        ):
            node, loc = node[int(token)], (*loc, int(token))
        else:
            return _missing_hint(node, token, loc)
    return node, loc


def _missing_hint(node: Any, token: str, loc: Loc) -> str:
    at = _pointer([str(p) for p in loc]) or "the top level"
    if isinstance(node, dict) and node:
        close = difflib.get_close_matches(token, [str(k) for k in node], n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        return f"keys at {at}: " + ", ".join(str(k) for k in list(node)[:12])
    return "point at a schema inside the file, like #/$defs/Address"


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "a list"
    if isinstance(node, str):
        return f"the text {node!r}"
    return f"the value {node!r}"


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")


def _plain_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


def _json_problem(text: str, ref: str) -> Problem | None:
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        return Problem(
            ref,
            exc.lineno,
            "",
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            "fix the JSON syntax; .json files allow no trailing commas and no comments",
        )
    except _Duplicate:
        return None  # the YAML loader names both lines of the duplicate key
    return None


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate
    return dict(pairs)
