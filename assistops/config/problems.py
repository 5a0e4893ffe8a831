"""Turn pydantic validation errors into Problems that name file, line, field and a fix.

Constraint errors (ranges, lengths, patterns, list sizes) say what the value is and what is
allowed, with the limits read from the model's own field constraints.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, cast, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from assistops import limits
from assistops.config.models import ENV_VAR_PATTERN, NAME_PATTERN
from assistops.errors import Problem

Loc = tuple[str | int, ...]
LineOf = Callable[[Loc], tuple[str, int | None]]


def field_path(loc: Loc) -> str:
    """``('tools', 2, 'function', 'parameters')`` -> ``tools[2].function.parameters``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[Loc, bool]:
    """Drop the union-member tags pydantic adds, keeping only steps that exist in the data.

    Also says whether a trailing step was dropped: the error is then about one member of a
    union at that place (``str`` of ``str | InstructionsFile``), not about a field inside it.
    """
    out: list[str | int] = []
    current = data
    trailing_tag = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(current, dict) and isinstance(part, str) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            out.append(part)
            current = cast(Any, current)[part]
        elif last and kind == "missing" and isinstance(part, str) and isinstance(current, dict):
            out.append(part)  # a missing field
        elif last and part != "[key]":  # "[key]": the error is about the mapping key
            trailing_tag = True
    return tuple(out), trailing_tag


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that owns the last step of ``loc`` (for did-you-mean on unknown keys)."""
    current: Any = model
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part)
            if info is None:
                return None
            current = info.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip Optional/list/union wrappers down to a model class when there is one."""
    for _ in range(6):
        origin = get_origin(tp)
        if origin is list:
            tp = get_args(tp)[0]
            continue
        args = [a for a in get_args(tp) if a is not type(None)]
        if origin is not None and origin is not dict and args:
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if models:
                tp = models[0]
                continue
            tp = args[0]
            continue
        break
    return tp


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def problems_from_validation(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    locate: LineOf,
    prefix: Loc = (),
    scalars: dict[Loc, str] | None = None,
    name: Callable[[Loc], str] = field_path,
) -> list[Problem]:
    """One Problem per distinct error, located through ``locate`` (full path -> file, line).

    ``name`` turns a full path into the field path shown (merged layers name it in the file
    that set it).
    """
    errors = [(err, *_clean_loc(err["loc"], data, err["type"])) for err in exc.errors()]
    # a union reports every member; keep the member that matches the shape written
    shapes: dict[Loc, set[str]] = {}
    for err, loc, tagged in errors:
        if tagged:
            shapes.setdefault(loc, set()).add(err["type"])
    problems: list[Problem] = []
    seen: set[tuple[Loc, str]] = set()
    for err, loc, tagged in errors:
        value = _get(data, loc)
        kind = err["type"]
        if tagged and isinstance(value, dict):
            continue  # the mapping member reports its own, deeper errors
        if tagged and kind in _WRONG_SHAPE and shapes[loc] - _WRONG_SHAPE:
            continue  # a scalar was written: its member's error says more
        if tagged and kind not in _CONSTRAINTS and shapes[loc] & _CONSTRAINTS:
            continue  # the member of the type written says what is wrong with the value
        message, hint = _explain(err, model, loc, value, (scalars or {}).get((*prefix, *loc)))
        if tagged and kind == "literal_error" and _WRONG_SHAPE & shapes[loc]:
            owner = _model_at(model, (*loc, ""))
            if owner is not None:
                hint += ", or a mapping with " + ", ".join(_keys_of(owner))
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        file, line = locate((*prefix, *loc))
        problems.append(Problem(file, line, name((*prefix, *loc)), message, hint))
    return sorted(problems, key=lambda p: (p.file, p.line or 0))


_WRONG_SHAPE = {"model_type", "model_attributes_type", "dict_type"}
_RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}
_LENGTH = {"string_too_long", "string_too_short", "too_long", "too_short"}
_CONSTRAINTS = _RANGE | _LENGTH | {"string_pattern_mismatch"}

_TYPE_NAMES = {"int": "an integer", "float": "a number", "bool": "a boolean", "NoneType": "null"}

_TYPE_HINTS = {
    "string_type": "write text (quote it if YAML would read it as something else)",
    "int_type": "write a whole number",
    "float_type": "write a number",
    "bool_type": "write true or false",
    "list_type": "write a YAML list, one '- item' per line",
    "dict_type": "write a mapping of 'key: value' lines",
    "model_type": "write a mapping of 'key: value' lines",
    "model_attributes_type": "write a mapping of 'key: value' lines",
}


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _explain(
    err: Any, model: type[BaseModel], loc: Loc, value: Any, source: str | None
) -> tuple[str, str]:
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        unknown = str(loc[-1]) if loc else "?"
        known = _keys_of(owner) if owner else []
        close = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else ""
        if not hint and known:
            hint = "allowed keys: " + ", ".join(sorted(known))
        return f"unknown key '{unknown}'", hint
    if kind == "missing":
        return "required field is missing", "add it"
    if kind == "string_type" and source is not None:
        got = _TYPE_NAMES.get(type(value).__name__, type(value).__name__)
        return (
            f"expected a string, got {source!r} which YAML reads as {got}",
            f"quote it: '{source}'",
        )
    if kind == "string_pattern_mismatch":
        return _pattern(err)
    if kind in _RANGE:
        return _range(err, model, loc, value, source)
    if kind in _LENGTH:
        return _length(err, model, loc, value)
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{value!r} is not allowed", f"use one of {expected}"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    hint = str(err.get("ctx", {}).get("hint", "")) or _TYPE_HINTS.get(kind, "")
    return (msg[0].lower() + msg[1:] if msg else kind), hint


def _pattern(err: Any) -> tuple[str, str]:
    """A value (or a mapping key) that does not match its pattern, with the fix."""
    pattern = str(err.get("ctx", {}).get("pattern", ""))
    value = str(err.get("input", ""))
    what = "key " if err["loc"] and err["loc"][-1] == "[key]" else ""
    if pattern == ENV_VAR_PATTERN:
        if value.startswith("sk-") or len(value) > 40:
            return (
                "this looks like a secret, not the name of an environment variable",
                "write the variable's name (api_key_env: MY_API_KEY) and export the key in it",
            )
        return (
            f"{value!r} is not an environment variable name",
            "use letters, digits and '_' (like MY_API_KEY)",
        )
    if pattern == NAME_PATTERN:
        return (
            f"{what}{value!r} is not a valid name",
            f"use at most {limits.LOGICAL_NAME_MAX} lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit",
        )
    if pattern == limits.FUNCTION_NAME_PATTERN:  # also RESPONSE_FORMAT_NAME_PATTERN
        return (
            f"{what}{value!r} is not a valid name",
            f"use 1 to {limits.FUNCTION_NAME_MAX} letters, digits, '_' or '-'",
        )
    return f"{what}{value!r} does not match {pattern}", f"write a value that matches {pattern}"


def _field_at(model: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """The model field that ``loc`` ends at, or None when it ends inside a mapping or list."""
    owner = _model_at(model, loc)
    if owner is None or not loc or not isinstance(loc[-1], str):
        return None
    for name, info in owner.model_fields.items():
        if loc[-1] in (name, info.alias):
            return info
    return None


def _range(
    err: Any, model: type[BaseModel], loc: Loc, value: Any, source: str | None
) -> tuple[str, str]:
    """A number outside its field's range: the value as written, and the whole range allowed."""
    bounds: dict[str, Any] = dict(err.get("ctx", {}))
    info = _field_at(model, loc)
    for meta in info.metadata if info is not None else []:  # annotated_types.Ge(ge=...) etc.
        for key in ("ge", "le", "gt", "lt"):
            if getattr(meta, key, None) is not None:
                bounds.setdefault(key, getattr(meta, key))
    shown = source if source is not None else repr(value)
    if "ge" in bounds and "le" in bounds:
        allowed = f"use {bounds['ge']!r} to {bounds['le']!r}"
    else:
        parts = []
        if "ge" in bounds:
            parts.append(f"{bounds['ge']!r} or more")
        if "gt" in bounds:
            parts.append(f"more than {bounds['gt']!r}")
        if "le" in bounds:
            parts.append(f"at most {bounds['le']!r}")
        if "lt" in bounds:
            parts.append(f"less than {bounds['lt']!r}")
        allowed = "use " + " and ".join(parts)
    return f"{shown} is out of range", allowed


def _length(err: Any, model: type[BaseModel], loc: Loc, value: Any) -> tuple[str, str]:
    """A string or list too long (or short): how long it is, the limit, and what to do."""
    kind = err["type"]
    ctx = err.get("ctx", {})
    if kind in ("too_long", "too_short"):  # a list
        actual = ctx.get("actual_length", len(value) if isinstance(value, list) else "?")
        what = str(loc[-1]) if loc and isinstance(loc[-1], str) else "items"
        if kind == "too_long":
            limit = ctx["max_length"]
            return f"{actual} {what}; the limit is {limit}", f"remove some: at most {limit} fit"
        limit = ctx["min_length"]
        return f"{actual} {what}; at least {limit} are needed", f"add some: at least {limit}"
    text = str(err.get("input", ""))
    if err["loc"] and err["loc"][-1] == "[key]":
        what, it = "key is ", "the key"
    elif loc and _model_at(model, loc) is None:  # a value in a mapping, named by its key
        what, it = "value is ", "the value"
    else:
        what, it = "", "it"
    if kind == "string_too_long":
        limit = ctx["max_length"]
        return (
            f"{what}{len(text)} characters; the limit is {limit}",
            f"shorten {it} to at most {limit} characters",
        )
    limit = ctx["min_length"]
    return (
        f"{what}{len(text)} characters; at least {limit} are needed",
        f"lengthen {it} to at least {limit} characters",
    )
