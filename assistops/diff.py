"""Compare desired and live specs: normalize both into one projection, then diff them.

A projection holds only what the service returns (observable fields), with server defaults made
explicit (temperature 1, top_p 1, response_format "auto", auto chunking = static 800/400) and
meaningless order removed (tools keyed by kind and function name), so that apply followed by
plan is empty. Write-only fields (an assistant's reasoning_effort, a store's description) are
never returned by the service: they are tracked through the digest recorded in the tags.
"""

from __future__ import annotations

import difflib
from typing import Any

from deepdiff import DeepDiff
from pydantic import BaseModel, ConfigDict

from assistops import limits
from assistops.spec import AssistantSpec, FileSpec, VectorStoreSpec, digest_of

Projection = dict[str, Any]
DEFAULT_RANKERS = ("auto", "default_2024_08_21")


class FieldChange(BaseModel):
    """One changed field: ``path`` is dotted, with a JSON pointer inside JSON Schemas."""

    model_config = ConfigDict(frozen=True)

    path: str
    before: Any = None
    after: Any = None
    breaking: str | None = None


# -- projections --------------------------------------------------------------------------------


def tool_key(tool: dict[str, Any]) -> str:
    """``code_interpreter``, ``file_search`` or ``function:<name>``."""
    if tool.get("type") == "function":
        return f"function:{(tool.get('function') or {}).get('name')}"
    return str(tool.get("type"))


def tool_body(tool: dict[str, Any]) -> dict[str, Any]:
    kind = tool.get("type")
    if kind == "file_search":
        return {k: v for k, v in (tool.get("file_search") or {}).items() if v is not None}
    if kind == "function":
        fn = tool.get("function") or {}
        body: dict[str, Any] = {"strict": bool(fn.get("strict"))}
        if fn.get("description"):
            body["description"] = fn["description"]
        if fn.get("parameters") is not None:
            body["parameters"] = fn["parameters"]
        return body
    return {}


def response_format_projection(value: Any) -> Any:
    """``None``/"auto" alike, a bare type as ``{"type": ...}``, unset json_schema fields and
    ``strict: false`` dropped (the SDK reports absent keys as null)."""
    if value is None or value == "auto":
        return "auto"
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict) and isinstance(value.get("json_schema"), dict):
        inner = {k: v for k, v in value["json_schema"].items() if v is not None}
        if inner.get("strict") is False:
            del inner["strict"]
        return {**value, "json_schema": inner}
    return value


def assistant_projection(spec: AssistantSpec, files: dict[str, FileSpec]) -> Projection:
    """The observable fields of an assistant, normalized."""
    ci = sorted(f"{files[a].path}@{files[a].sha256[:12]}" for a in spec.code_interpreter_files)
    return {
        "name": spec.display_name,
        "description": spec.description or None,
        "model": spec.model,
        "instructions": spec.instructions or None,
        "tools": {tool_key(t): tool_body(t) for t in spec.tools},
        "response_format": response_format_projection(spec.response_format),
        "temperature": 1.0 if spec.temperature is None else float(spec.temperature),
        "top_p": 1.0 if spec.top_p is None else float(spec.top_p),
        "metadata": dict(spec.metadata),
        "vector_store": spec.vector_store,
        "code_interpreter_files": ci,
    }


def store_projection(spec: VectorStoreSpec) -> Projection:
    """The observable fields of a vector store (its files are compared one by one)."""
    return {
        "name": spec.display_name,
        "metadata": dict(spec.metadata),
        "expires_after_days": spec.expires_after_days,
    }


def chunking_projection(chunking: dict[str, Any] | None) -> dict[str, Any]:
    """``None``/auto and what auto resolves to compare equal."""
    if not chunking or chunking.get("type") in (None, "auto"):
        return {
            "max_chunk_size_tokens": limits.AUTO_CHUNK_SIZE,
            "chunk_overlap_tokens": limits.AUTO_CHUNK_OVERLAP,
        }
    if chunking.get("type") == "static":
        static = chunking.get("static") or {}
        return {
            "max_chunk_size_tokens": static.get("max_chunk_size_tokens"),
            "chunk_overlap_tokens": static.get("chunk_overlap_tokens"),
        }
    return {"type": chunking.get("type")}


def file_projection(spec: FileSpec, chunking: dict[str, Any] | None) -> Projection:
    """The observable fields of a knowledge file in a store."""
    return {
        "sha256": spec.sha256,
        "attributes": dict(spec.attributes),
        "chunking": chunking_projection(chunking),
    }


def write_only(spec: AssistantSpec | VectorStoreSpec) -> Projection:
    """Fields the service accepts but never returns."""
    if isinstance(spec, AssistantSpec):
        return {"reasoning_effort": spec.reasoning_effort}
    return {"description": spec.description}


def align_defaults(desired: Projection, live: Projection) -> Projection:
    """Drop from ``live`` the server-filled values that ``desired`` leaves to the server."""
    live = dict(live)
    tools_d = desired.get("tools")
    tools_l = live.get("tools")
    if isinstance(tools_d, dict) and isinstance(tools_l, dict):
        tools_l = {k: dict(v) for k, v in tools_l.items()}
        want, have = tools_d.get("file_search"), tools_l.get("file_search")
        if want is not None and have is not None:
            if "max_num_results" not in want:
                have.pop("max_num_results", None)
            ranking = have.get("ranking_options")
            if "ranking_options" not in want and (
                ranking is None
                or (ranking.get("ranker") in DEFAULT_RANKERS and not ranking.get("score_threshold"))
            ):
                have.pop("ranking_options", None)
        live["tools"] = tools_l
    return live


def rev_digest(observable: Projection, write_only_fields: Projection) -> str:
    """The digest recorded in the ``assistops_rev`` tag: observable.write-only."""
    return f"{digest_of(observable)}.{digest_of(write_only_fields)[:8]}"


def split_rev_digest(value: str) -> tuple[str, str]:
    """``(observable, write_only)`` digests from a recorded digest."""
    obs, _, wo = value.partition(".")
    return obs, wo


# -- comparing ----------------------------------------------------------------------------------


def compare(desired: Projection, live: Projection) -> list[FieldChange]:
    """Field-level changes from live to desired."""
    changes: list[FieldChange] = []
    tree = DeepDiff(live, desired, view="tree", verbose_level=2)
    schema_roots: dict[str, tuple[Any, Any]] = {}
    for kind in tree:
        for node in tree[kind]:
            path = node.path(output_format="list")
            before = None if _is_missing(node.t1) else node.t1
            after = None if _is_missing(node.t2) else node.t2
            schema_at = _schema_root(path)
            if schema_at is not None:
                root, pointer = schema_at
                changes.append(
                    FieldChange(path=f"{_dotted(root)}#{pointer}", before=before, after=after)
                )
                schema_roots[_dotted(root)] = (_get(live, root), _get(desired, root))
                continue
            if path and path[0] == "instructions":
                path = ["instructions"]
            changes.append(FieldChange(path=_dotted(path), before=before, after=after))
    out = _dedupe(changes)
    breaking: dict[str, str] = {}
    for schema_path, (old, new) in schema_roots.items():
        for pointer, reason in breaking_changes(old or {}, new or {}):
            breaking.setdefault(f"{schema_path}#{pointer}", reason)
    for key in desired.get("tools") or {}:
        if key.startswith("function:") and key not in (live.get("tools") or {}):
            breaking[f"tools.{key}"] = "new function: apps must implement it before deploy"
    return [
        c.model_copy(
            update={"breaking": breaking.get(c.path) or _breaking_prefix(c.path, breaking)}
        )
        for c in out
    ]


def _breaking_prefix(path: str, breaking: dict[str, str]) -> str | None:
    """The reason recorded at the longest pointer that contains ``path``."""
    best = ""
    for key in breaking:
        if path.startswith(key + "/") and len(key) > len(best):
            best = key
    return breaking.get(best) if best else None


def _is_missing(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _schema_root(path: list[Any]) -> tuple[list[Any], str] | None:
    """Split a path that enters a function's parameters or a json_schema's schema."""
    for i, part in enumerate(path):
        if part in ("parameters", "schema") and i > 0:
            root = path[: i + 1]
            rest = path[i + 1 :]
            pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in rest)
            return root, pointer or "/"
    return None


def _dotted(path: list[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _get(data: Any, path: list[Any]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _dedupe(changes: list[FieldChange]) -> list[FieldChange]:
    seen: set[str] = set()
    out = []
    for c in changes:
        key = c.path + repr(c.before) + repr(c.after)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return sorted(out, key=lambda c: c.path)


def breaking_changes(old: Any, new: Any, pointer: str = "") -> list[tuple[str, str]]:
    """Changes to a function's parameter schema that would break an app implementing it."""
    out: list[tuple[str, str]] = []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return out
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and not old_types <= new_types:
        out.append(
            (pointer or "/", f"type narrowed from {sorted(old_types)} to {sorted(new_types)}")
        )
    if "enum" in old and "enum" in new:
        removed = [v for v in old["enum"] if v not in new["enum"]]
        if removed:
            out.append((f"{pointer}/enum", f"enum narrowed: {removed} removed"))
    elif "enum" in new and "enum" not in old:
        out.append((f"{pointer}/enum", "enum added: values are now restricted"))
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    for name in old_props:
        if name not in new_props:
            out.append((f"{pointer}/properties/{name}", f"parameter '{name}' removed"))
    old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
    added = sorted(new_req - old_req)
    for name in added:
        out.append((f"{pointer}/properties/{name}", f"new required parameter '{name}'"))
    if added:
        quoted = ", ".join(f"'{n}'" for n in added)
        out.append((f"{pointer}/required", f"new required parameter {quoted}"))
    for name, sub in new_props.items():
        if name in old_props:
            out.extend(breaking_changes(old_props[name], sub, f"{pointer}/properties/{name}"))
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        out.extend(breaking_changes(old["items"], new["items"], f"{pointer}/items"))
    return out


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {str(x) for x in t}
    return set()


def text_diff(before: str | None, after: str | None, context: int = 3) -> str:
    """A unified diff of two texts (instructions), without the file header lines."""
    lines = difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), lineterm="", n=context
    )
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))
