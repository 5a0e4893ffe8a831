"""Compare two projections of one resource: field-level changes, breaking changes, text diffs.

Each resource kind turns a desired spec and a live object (read back as the same spec) into a
projection: only what the service returns, with server defaults made explicit and meaningless
order removed, so that apply followed by plan is empty. This module compares two projections
with deepdiff (the only module that uses it, and only for projections that differ) and
returns typed changes.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from assistops.kinds.changes import FieldChange
from assistops.kinds.spec import Projection

__all__ = ["FieldChange", "breaking_changes", "compare", "text_diff"]


# -- comparing ----------------------------------------------------------------------------------


def compare(desired: Projection, live: Projection) -> list[FieldChange]:
    """Field-level changes from live to desired."""
    # most resources of most plans are unchanged: no need for deepdiff's walk (JSON text, not
    # ==, so that True and 1, or 1 and 1.0, still go to deepdiff as before)
    if _text(desired) == _text(live):
        return []
    # imported here: deepdiff (and the asyncio its cache pulls in) costs 0.1-0.2 s, and a plan
    # that changes nothing, like validate and render, never needs it
    from deepdiff import DeepDiff

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


def _text(value: Projection) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


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


def breaking_changes(
    old: Any,
    new: Any,
    pointer: str = "",
    *,
    roots: tuple[Any, Any] | None = None,
    seen: set[str] | None = None,
) -> list[tuple[str, str]]:
    """Changes to a function's parameter schema that would break an app implementing it.

    Internal references (``#/$defs/X``, as render writes every referenced file) are followed,
    and a change found there is reported at the definition, where the diff shows it.
    """
    out: list[tuple[str, str]] = []
    if roots is None:
        roots, seen = (old, new), set()
    assert seen is not None
    old, _ = _deref(old, roots[0])
    new, target = _deref(new, roots[1])
    if target is not None:
        if target in seen:
            return out  # a recursive definition, already compared
        seen.add(target)
        pointer = target
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
            out.extend(
                breaking_changes(
                    old_props[name],
                    sub,
                    f"{pointer}/properties/{name}",
                    roots=roots,
                    seen=seen,
                )
            )
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        out.extend(
            breaking_changes(old["items"], new["items"], f"{pointer}/items", roots=roots, seen=seen)
        )
    return out


def _deref(schema: Any, root: Any) -> tuple[Any, str | None]:
    """``schema``, or what its internal ``$ref`` points at in ``root`` and that pointer."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema, None
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return schema, None
        target = target[part]
    return target, ref[1:]


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
