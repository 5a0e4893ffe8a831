"""Vendor the Assistants-protocol subset of the official OpenAPI description.

Usage::

    python scripts/vendor_openapi.py /path/to/openai-openapi.yaml [--out FILE]

Reads the full description (openai/openai-openapi, ~3 MB of YAML), keeps the document
header, every path under ``/assistants``, ``/files``, ``/vector_stores`` and
``/threads``, and the Responses operations in ``OPERATIONS``, with every component they
reach through ``$ref`` (plus the streaming event schemas, see ``EXTRA_ROOTS``), drops
vendor extensions and examples, applies the patches in ``PATCHES`` and writes sorted,
indented JSON. Re-running it on the same source gives
byte-identical output; ``tests/contract/KNOWN_DEVIATIONS.md`` explains every patch.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "contract" / "openapi-subset.json"

SOURCE = {
    "repository": "https://github.com/openai/openai-openapi",
    "commit": "f85dbe2",
    "date": "2026-08-21",
    "license": "MIT (tests/contract/LICENSE-openai-openapi)",
}
PATH_PREFIXES = ("/assistants", "/files", "/vector_stores", "/threads")
# the Responses operations the backend serves (not the whole /responses family: cancel,
# input_items, input_tokens, compact and the ?beta=true twins are not served)
OPERATIONS = {"/responses": ("post",), "/responses/{response_id}": ("get", "delete")}
HEADER_KEYS = ("openapi", "info", "servers", "security")
# stream=true responses are text/event-stream; the spec types their events only as this
# component (no path reaches it), and the contract validator checks each event against it.
EXTRA_ROOTS = ("#/components/schemas/AssistantStreamEvent",)
# bulk that carries no contract: docs-site metadata, SDK generator hints, examples
DROPPED_KEYS = frozenset({"example", "examples"})
# annotations stay on the outside when a nullable schema is wrapped in anyOf
ANNOTATIONS = frozenset({"description", "title", "default", "deprecated", "readOnly", "writeOnly"})

Json = Any
NULL: dict[str, str] = {"type": "null"}


# ---------------------------------------------------------------- selection


def _refs(node: Json) -> Iterator[str]:
    """Every local reference (``$ref`` or ``$recursiveRef``) under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$recursiveRef") and isinstance(value, str):
                if value.startswith("#/"):
                    yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(spec: Json, ref: str) -> Json:
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def select(spec: Json) -> dict[str, Any]:
    """The header, the protocol paths and the components they reach, unpatched."""
    paths = {p: v for p, v in spec["paths"].items() if p.startswith(PATH_PREFIXES)}
    for path, methods in OPERATIONS.items():
        item = spec["paths"][path]
        paths[path] = {k: v for k, v in item.items() if k in methods or k == "parameters"}
    reached: set[str] = set()
    todo: list[Json] = [paths, *(_resolve(spec, r) for r in EXTRA_ROOTS)]
    reached.update(EXTRA_ROOTS)
    while todo:
        for ref in _refs(todo.pop()):
            if ref not in reached:
                reached.add(ref)
                todo.append(_resolve(spec, ref))
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(reached):
        _, _, section, name = ref.split("/")
        components.setdefault(section, {})[name] = _resolve(spec, ref)
    # security schemes are named, not referenced
    schemes = {name for req in spec.get("security", []) for name in req}
    components["securitySchemes"] = {
        n: s for n, s in spec["components"]["securitySchemes"].items() if n in schemes
    }
    out: dict[str, Any] = {k: copy.deepcopy(spec[k]) for k in HEADER_KEYS}
    out["paths"] = copy.deepcopy(paths)
    out["components"] = copy.deepcopy(components)
    return out


def strip_bulk(node: Json) -> Json:
    """Drop ``x-*`` vendor extensions and examples, recursively."""
    if isinstance(node, dict):
        return {
            k: strip_bulk(v)
            for k, v in node.items()
            if not (k.startswith("x-") or k in DROPPED_KEYS)
        }
    if isinstance(node, list):
        return [strip_bulk(v) for v in node]
    return node


# ------------------------------------------------------------------ patches


@dataclass(frozen=True)
class Patch:
    """One deliberate change to the official description, with the reason for it."""

    id: str
    reason: str
    apply: Callable[[dict[str, Any]], int]  # returns how many places it changed


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, keeping annotations outside the ``anyOf``."""
    outer = {k: v for k, v in schema.items() if k in ANNOTATIONS}
    inner = {k: v for k, v in schema.items() if k not in ANNOTATIONS and k != "nullable"}
    if inner.get("anyOf") and not (set(inner) - {"anyOf"}):
        branches = list(inner["anyOf"])  # flatten: anyOf[a, b] or null -> anyOf[a, b, null]
    else:
        branches = [inner]
    if NULL not in branches:
        branches.append(dict(NULL))
    return {**outer, "anyOf": branches}


def _is_nullable_marker(member: Json) -> bool:
    return (
        isinstance(member, dict)
        and member.get("nullable") is True
        and not (set(member) - {"nullable", "description"})
    )


def _nullable_to_anyof(node: Json) -> tuple[Json, int]:
    if isinstance(node, list):
        total = 0
        items = []
        for item in node:
            new, n = _nullable_to_anyof(item)
            items.append(new)
            total += n
        return items, total
    if not isinstance(node, dict):
        return node, 0
    total = 0
    members = node.get("allOf")
    if isinstance(members, list) and any(_is_nullable_marker(m) for m in members):
        # allOf: [$ref, {nullable: true}] means "the referenced schema, or null"
        rest = [m for m in members if not _is_nullable_marker(m)]
        node = {k: v for k, v in node.items() if k != "allOf"}
        node["anyOf"] = [rest[0] if len(rest) == 1 else {"allOf": rest}, dict(NULL)]
        total += 1
    out: dict[str, Any] = {}
    for key, value in node.items():
        new, n = _nullable_to_anyof(value)
        out[key] = new
        total += n
    if out.get("nullable") is True:
        return _or_null(out), total + 1
    if "nullable" in out:
        del out["nullable"]  # nullable: false is the 3.1 default
        total += 1
    return out, total


def patch_nullable(doc: dict[str, Any]) -> int:
    """OAS 3.0 ``nullable: true`` becomes ``anyOf[..., {type: null}]``."""
    doc["paths"], n_paths = _nullable_to_anyof(doc["paths"])
    doc["components"], n_comp = _nullable_to_anyof(doc["components"])
    return int(n_paths) + int(n_comp)


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    return schemas


def _make_nullable(doc: dict[str, Any], schema: str, *props: str) -> int:
    properties = _schemas(doc)[schema]["properties"]
    changed = 0
    for prop in props:
        wrapped = _or_null(properties[prop])
        if wrapped != properties[prop]:
            properties[prop] = wrapped
            changed += 1
    return changed


def patch_list_ids(doc: dict[str, Any]) -> int:
    """``first_id``/``last_id`` of every list envelope may be null (empty page)."""
    changed = 0
    for name, schema in sorted(_schemas(doc).items()):
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if name.startswith("List") and "first_id" in props and "last_id" in props:
            changed += _make_nullable(doc, name, "first_id", "last_id")
    return changed


def patch_vector_store_nulls(doc: dict[str, Any]) -> int:
    """``VectorStoreObject.name`` and ``expires_after`` are null when unset."""
    return _make_nullable(doc, "VectorStoreObject", "name", "expires_after", "expires_at")


def patch_file_nulls(doc: dict[str, Any]) -> int:
    """``OpenAIFile.expires_at`` and ``status_details`` are null when unset."""
    return _make_nullable(doc, "OpenAIFile", "expires_at", "status_details")


def patch_file_batch_object(doc: dict[str, Any]) -> int:
    """The batch ``object`` the service sends is ``vector_store.file_batch``."""
    enum = _schemas(doc)["VectorStoreFileBatchObject"]["properties"]["object"]["enum"]
    if "vector_store.file_batch" in enum:
        return 0
    enum.append("vector_store.file_batch")
    return 1


def patch_compound_filter(doc: dict[str, Any]) -> int:
    """``CompoundFilter`` recursion through a plain ``$ref`` instead of 2019-09 keywords."""
    schema = _schemas(doc)["CompoundFilter"]
    changed = int(schema.pop("$recursiveAnchor", None) is not None)

    def walk(node: Json) -> None:
        nonlocal changed
        if isinstance(node, dict):
            if node.get("$recursiveRef") == "#":
                del node["$recursiveRef"]
                node["$ref"] = "#/components/schemas/CompoundFilter"
                changed += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return changed


def patch_multipart_file(doc: dict[str, Any]) -> int:
    """``CreateFileRequest.file`` accepts any bytes (``format: binary`` is a 3.0 idiom)."""
    props = _schemas(doc)["CreateFileRequest"]["properties"]
    annotations = {k: v for k, v in props["file"].items() if k in ANNOTATIONS}
    if props["file"] == annotations:
        return 0
    props["file"] = annotations
    return 1


def _mapping(schemas: dict[str, Any], node: dict[str, Any], prop: str) -> dict[str, str] | None:
    """The explicit mapping of a discriminated union, or None when it cannot have one.

    It can when every branch is a ``$ref`` to an object that requires ``prop`` and lists
    its values in an ``enum``, and no value names two branches.
    """
    mapping: dict[str, str] = {}
    branches: list[Any] = node.get("oneOf") or node.get("anyOf") or []
    for branch in branches:
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if not isinstance(ref, str):
            return None
        target = schemas[ref.rsplit("/", 1)[1]]
        values = (target.get("properties") or {}).get(prop, {}).get("enum")
        if prop not in target.get("required", ()) or not values:
            return None
        if any(value in mapping for value in values):
            return None
        mapping.update({value: ref for value in values})
    return mapping


def patch_discriminator_anyof(doc: dict[str, Any]) -> int:
    """Discriminated unions that cannot be mapped become plain ``anyOf``."""
    schemas = _schemas(doc)
    changed = 0

    def walk(node: Json) -> None:
        nonlocal changed
        if isinstance(node, dict):
            disc = node.get("discriminator")
            unmappable = (
                isinstance(disc, dict)
                and "mapping" not in disc
                and _mapping(schemas, node, disc["propertyName"]) is None
            )
            if unmappable:
                del node["discriminator"]
                if "oneOf" in node:
                    node["anyOf"] = node.pop("oneOf")
                changed += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc["components"])
    walk(doc["paths"])
    return changed


def patch_null_defaults(doc: dict[str, Any]) -> int:
    """``default: null`` on a schema that does not admit null is dropped."""
    changed = 0

    def admits_null(node: dict[str, Any]) -> bool:
        kind = node.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        return any(isinstance(b, dict) and admits_null(b) for b in node.get("anyOf", []))

    def walk(node: Json) -> None:
        nonlocal changed
        if isinstance(node, dict):
            if "default" in node and node["default"] is None and not admits_null(node):
                del node["default"]
                changed += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc["components"])
    walk(doc["paths"])
    return changed


def patch_discriminator_mapping(doc: dict[str, Any]) -> int:
    """Discriminators without ``mapping`` get one built from each branch's ``enum``."""
    schemas = _schemas(doc)
    changed = 0

    def walk(node: Json) -> None:
        nonlocal changed
        if isinstance(node, dict):
            disc = node.get("discriminator")
            if isinstance(disc, dict) and "mapping" not in disc:
                mapping = _mapping(schemas, node, disc["propertyName"])
                if mapping is not None:
                    disc["mapping"] = dict(sorted(mapping.items()))
                    changed += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc["components"])
    walk(doc["paths"])
    return changed


PATCHES: tuple[Patch, ...] = (
    Patch(
        "nullable-to-anyof",
        "The document declares openapi 3.1.0 but still writes OAS 3.0 `nullable: true` "
        "(also as `allOf: [$ref, {nullable: true}]` and `$ref` + `nullable`); 3.1 validators "
        "ignore the keyword and reject the nulls the service sends (runs, vector store "
        "modify, ...). Rewritten as `anyOf: [schema, {type: null}]`.",
        patch_nullable,
    ),
    Patch(
        "list-ids-nullable",
        "Every List*Response types `first_id`/`last_id` as a non-null string, but an empty "
        "page has no first or last item: the service (and our backend) send null.",
        patch_list_ids,
    ),
    Patch(
        "vector-store-nullables",
        "`VectorStoreObject.name` is null when the store was created without one, and "
        "`expires_after`/`expires_at` are sent as null when no expiry is set.",
        patch_vector_store_nulls,
    ),
    Patch(
        "file-nullables",
        "`OpenAIFile.expires_at` and `status_details` are sent as null when unset.",
        patch_file_nulls,
    ),
    Patch(
        "file-batch-object",
        "The batch `object` enum says `vector_store.files_batch`; the spec's own prose and "
        "examples, captured service responses and the SDK's strict-mode shim say "
        "`vector_store.file_batch`, which the backend sends. Both are accepted.",
        patch_file_batch_object,
    ),
    Patch(
        "compound-filter-recursion",
        "`CompoundFilter` recurses with the 2019-09 `$recursiveAnchor`/`$recursiveRef` "
        "keywords, unknown to 2020-12 (OAS 3.1) validators; replaced by a plain `$ref` to "
        "itself, which means the same.",
        patch_compound_filter,
    ),
    Patch(
        "multipart-file-any",
        "`CreateFileRequest.file` is `{type: string, format: binary}`; under 3.1 a validator "
        "checks the uploaded bytes against `type: string` and rejects them. The part may "
        "hold any bytes, so its schema is empty.",
        patch_multipart_file,
    ),
    Patch(
        "discriminator-mapping",
        "`ChunkingStrategyRequestParam` and `CompoundFilter.filters` declare a "
        "`discriminator` without `mapping`, so the implicit mapping takes the value as a "
        "schema name (`#/components/schemas/auto`), which does not exist: every request "
        "with a chunking strategy fails to validate. An explicit mapping is built from each "
        "branch's `type` enum.",
        patch_discriminator_mapping,
    ),
    Patch(
        "discriminator-anyof",
        "Responses unions (`InputItem`, `Item`, `Tool`, ...) declare a `type` "
        "discriminator that some branches do not require (`EasyInputMessage` and "
        "`InputMessage` make `type` optional, and the SDK omits it) or that maps one value "
        "to two branches (`message` is an `EasyInputMessage` and an `Item`). openapi-core "
        "then refuses every message sent without `type`, and a message with a content list "
        "matches two branches of the `oneOf`. Such a union (no mapping possible) loses its "
        "discriminator and becomes `anyOf`.",
        patch_discriminator_anyof,
    ),
    Patch(
        "null-defaults",
        "`ConversationParam` and `Response.conversation` declare `default: null` on a "
        "schema that does not admit null (a string or an object); openapi-spec-validator "
        "rejects the document. The default says nothing a validator needs and is dropped.",
        patch_null_defaults,
    ),
)


def build(spec: Json) -> dict[str, Any]:
    """The vendored document: selected, stripped, patched, with its provenance."""
    doc: dict[str, Any] = strip_bulk(select(spec))
    applied = []
    for patch in PATCHES:
        count = patch.apply(doc)
        if count == 0:
            # a patch that no longer changes anything means upstream fixed it: drop it
            raise SystemExit(f"patch {patch.id!r} changed nothing; is it still needed?")
        applied.append({"id": patch.id, "places": count, "reason": patch.reason})
    doc["x-assistops-source"] = SOURCE
    doc["x-assistops-patches"] = applied
    return doc


def render(doc: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, fixed indentation, trailing newline."""
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def load(path: Path) -> Json:
    """Parse the full YAML description with the C loader (seconds, not tens of seconds)."""
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=yaml.CSafeLoader)


def main(argv: list[str] | None = None) -> int:
    """Write the subset; with ``--check``, only report whether the file is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the full openai-openapi.yaml")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is not current")
    args = parser.parse_args(argv)
    text = render(build(load(args.source)))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; re-run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
