"""Build the smallest predictable value that satisfies a JSON Schema.

The local backend's responder calls functions without a model, so it needs arguments
that a user's function schema accepts. The rules are deliberately simple so tests can
predict the result:

* ``const`` wins, then the first ``enum`` value, then ``default`` if it is valid;
* objects carry their ``required`` properties (every property when ``strict``, as
  strict function schemas must list them all), plus optional ones up to
  ``minProperties``;
* arrays hold ``minItems`` copies of their item sample (``prefixItems`` first);
* strings are ``"string"`` unless a ``format`` or ``pattern`` asks for something else,
  then padded or cut to ``minLength``/``maxLength``;
* numbers are ``0`` moved into ``minimum``/``maximum`` and onto ``multipleOf``;
  booleans are ``true``; ``null`` is ``null``;
* a list of types uses its first non-null type;
* ``anyOf``/``oneOf`` take the first branch whose sample validates, ``allOf`` merges
  its branches, local ``$ref`` (``#/...``) is followed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

FORMAT_SAMPLES: dict[str, str] = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "duration": "P1D",
}
_MAX_DEPTH = 32
_CATEGORY_RE = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def sample(schema: Mapping[str, Any] | bool, *, strict: bool = False) -> Any:
    """The minimal instance of ``schema`` (see the module docstring for the rules)."""
    root = schema if isinstance(schema, Mapping) else {}
    return _Sampler(root, strict).value(schema, 0)


def is_valid(schema: Mapping[str, Any] | bool, instance: Any) -> bool:
    """Whether ``instance`` satisfies ``schema`` (draft chosen by ``$schema``, else 2020-12)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return bool(cls(schema).is_valid(instance))


class _Sampler:
    def __init__(self, root: Mapping[str, Any], strict: bool) -> None:
        self.root = root
        self.strict = strict

    def value(self, schema: Mapping[str, Any] | bool, depth: int) -> Any:
        if isinstance(schema, bool) or depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            return self.value(self._resolve(str(schema["$ref"])), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        if "default" in schema and is_valid(self._with_root(schema), schema["default"]):
            return schema["default"]
        if "allOf" in schema:
            return self.value(_merge([schema, *schema["allOf"]]), depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._first_valid(schema, schema[key], depth)
        return self._typed(schema, _pick_type(schema), depth)

    def _typed(self, schema: Mapping[str, Any], kind: str, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        return None

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        names = (
            list(props) if self.strict else [n for n in props if n in schema.get("required", [])]
        )
        for extra in props:
            if len(names) >= int(schema.get("minProperties", 0)):
                break
            if extra not in names:
                names.append(extra)
        out = {name: self.value(props[name], depth + 1) for name in names}
        # required names without a declared property still have to be present
        for name in schema.get("required", []):
            out.setdefault(name, "string")
        return out

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = [self.value(s, depth + 1) for s in schema.get("prefixItems", [])]
        count = max(int(schema.get("minItems", 0)), len(prefix))
        items = schema.get("items", {})
        item = self.value(items, depth + 1) if isinstance(items, Mapping) else None
        return (prefix + [item] * count)[:count]

    def _first_valid(self, schema: Mapping[str, Any], branches: list[Any], depth: int) -> Any:
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        candidates = [self.value(_merge([base, b]), depth + 1) for b in branches]
        for candidate in candidates:
            if is_valid(self._with_root(schema), candidate):
                return candidate
        return candidates[0] if candidates else None

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        node: Any = self.root
        if not ref.startswith("#"):
            return {}
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        return node if isinstance(node, Mapping) else {}

    def _with_root(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        # keep the root's definitions reachable when validating a sub-schema
        defs = {k: self.root[k] for k in ("$defs", "definitions") if k in self.root}
        return {**defs, **schema}


def _pick_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list) and declared:
        non_null = [str(t) for t in declared if t != "null"] or ["null"]
        return non_null[0]
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _merge(parts: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "allOf":
                merged.update(_merge(list(value)))
            elif key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged[key] = value
    return merged


def _string(schema: Mapping[str, Any]) -> str:
    text = FORMAT_SAMPLES.get(str(schema.get("format", "")), "string")
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, text):
        text = pattern_sample(pattern)
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(text) < low:
        text += "x" * (low - len(text))
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    value: float = 0
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")
    bump = step if isinstance(step, int | float) else (1 if integer else 0.5)
    if isinstance(low, int | float):
        value = max(value, low)
    if isinstance(ex_low, int | float) and not isinstance(ex_low, bool) and value <= ex_low:
        value = ex_low + bump
    if isinstance(high, int | float):
        value = min(value, high)
    if isinstance(ex_high, int | float) and not isinstance(ex_high, bool) and value >= ex_high:
        value = ex_high - bump
    if isinstance(step, int | float) and step > 0:
        value = math.ceil(value / step) * step
    if integer:
        return math.ceil(value)
    return int(value) if float(value).is_integer() else value


def pattern_sample(pattern: str) -> str:
    """A short string matching the regular expression ``pattern`` ("" if it can't tell)."""
    try:
        tree = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except re.error:
        return ""
    return _emit(tree)


def _emit(tree: Any) -> str:
    from re import _constants as c  # type: ignore[attr-defined]

    out: list[str] = []
    for op, arg in tree:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.ANY:
            out.append("a")
        elif op is c.IN:
            out.append(_first_in_set(arg, c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            out.append(_emit(sub) * low)
        elif op is c.SUBPATTERN:
            out.append(_emit(arg[-1]))
        elif op is c.BRANCH:
            out.append(_emit(arg[1][0]))
        elif op is c.CATEGORY:
            out.append(_category_char(arg, c))
        elif op is c.GROUPREF:
            out.append("")
    return "".join(out)


def _first_in_set(items: Any, c: Any) -> str:
    negated = bool(items) and items[0][0] is c.NEGATE
    members = items[1:] if negated else items
    for ch in "aA0_- x!.":
        if _in_set(ch, members, c) != negated:
            return ch
    return "a"


def _in_set(ch: str, members: Any, c: Any) -> bool:
    for op, arg in members:
        if op is c.LITERAL and ch == chr(arg):
            return True
        if op is c.RANGE and arg[0] <= ord(ch) <= arg[1]:
            return True
        if op is c.CATEGORY and re.fullmatch(_CATEGORY_RE.get(str(arg), "(?!)"), ch):
            return True
    return False


def _category_char(category: Any, c: Any) -> str:
    pattern = _CATEGORY_RE.get(str(category), "(?!)")
    return next((ch for ch in "a0 -" if re.fullmatch(pattern, ch)), "a")
