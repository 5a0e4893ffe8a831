"""Turn pydantic validation errors into Problems that name file, line, field and a fix."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, cast, get_args, get_origin

from pydantic import BaseModel, ValidationError

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


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Loc:
    """Drop the union-member tags pydantic adds, keeping only steps that exist in the data."""
    out: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(current, dict) and isinstance(part, str) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            out.append(part)
            current = cast(Any, current)[part]
        elif last and isinstance(part, str) and isinstance(current, dict) and _plain(part):
            out.append(part)  # a missing field
    return tuple(out)


def _plain(part: str) -> bool:
    return part.replace("_", "").replace("-", "").isalnum()


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
) -> list[Problem]:
    """One Problem per distinct error, located through ``locate`` (full path -> file, line)."""
    errors = exc.errors()
    problems: list[Problem] = []
    seen: set[tuple[Loc, str]] = set()
    for err in errors:
        loc = _clean_loc(err["loc"], data)
        value = _get(data, loc)
        kind = err["type"]
        # a union reports every member; keep the member that matches the shape written
        if kind == "literal_error" and isinstance(value, dict):
            continue
        wrong_shape = kind in ("model_type", "model_attributes_type", "dict_type")
        if wrong_shape and not isinstance(value, dict) and any(
            e["type"] == "literal_error" for e in errors
        ):
            continue
        message, hint = _explain(err, model, loc, value, (scalars or {}).get((*prefix, *loc)))
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        file, line = locate((*prefix, *loc))
        problems.append(Problem(file, line, field_path((*prefix, *loc)), message, hint))
    return problems


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
        return (
            f"expected a string, got {source!r} which YAML reads as a "
            f"{type(value).__name__ if value is not None else 'null'}",
            f"quote it: '{source}'",
        )
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        return f"{value!r} does not match {pattern}", "use lowercase letters, digits, '-' and '_'"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{value!r} is not allowed", f"use one of {expected}"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else kind, ""
