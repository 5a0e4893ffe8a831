"""Request bodies parsed with pydantic, and pydantic errors turned into OpenAI's 400s.

Request models derive from :class:`Body` (``extra="forbid"``). :func:`parse` validates
a decoded JSON body and raises :class:`BackendError` 400 with the dotted ``param`` path
(``tools[0].file_search.max_num_results``) and the service's ``code`` and wording.
Discriminated unions must use tags that are not also key names (``Tag("tool:function")``):
:func:`param_path` drops union labels from pydantic's location by walking the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from assistops.errors import BackendError

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base of every request model: unknown keys are refused, as the service does."""

    model_config = ConfigDict(extra="forbid", strict=False)


def invalid(param: str | None, message: str, code: str | None = None) -> BackendError:
    """A 400 ``invalid_request_error``."""
    return BackendError(400, message, param=param, code=code)


def file_too_large() -> BackendError:
    """The service's 400 for an upload over the file size limit (``param`` and ``code`` null)."""
    return BackendError(400, "File is too large.")


def not_found(message: str, param: str | None = None) -> BackendError:
    """A 404 ``invalid_request_error`` with a resource-specific message."""
    return BackendError(404, message, param=param)


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate ``data`` as ``model`` or raise the first error as the service words it."""
    if not isinstance(data, dict):
        raise invalid(prefix or None, f"Invalid type for '{prefix or 'body'}': expected an object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_backend_error(exc.errors(), data, prefix) from None


def param_path(loc: Sequence[int | str], data: Any, prefix: str = "") -> str:
    """Turn a pydantic location into ``a.b[0].c``, skipping union labels."""
    parts: list[str] = [prefix] if prefix else []
    current: Any = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(current, dict) and isinstance(key, str) and key in current
        in_list = isinstance(current, list) and isinstance(key, int) and 0 <= key < len(current)
        if in_dict or in_list:
            current = current[key]
        elif not last:
            continue  # a union member's label, not a place in the input
        else:
            current = None
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(f".{key}" if parts else key)
    return "".join(parts)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "none_required": "null",
}


def to_backend_error(errors: list[ErrorDetails], data: Any, prefix: str = "") -> BackendError:
    """The first pydantic error as a :class:`BackendError` (400)."""
    err = errors[0]
    loc = err["loc"]
    param = param_path(loc, data, prefix)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        return invalid(param, f"Unknown parameter: '{param}'.", "unknown_parameter")
    if kind == "missing":
        return _missing(param)
    if kind == "string_too_long":
        n = len(value) if isinstance(value, str) else 0
        return invalid(
            param,
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{ctx.get('max_length')}, but got a string with length {n} instead.",
            "string_above_max_length",
        )
    if kind == "string_too_short":
        return invalid(
            param,
            f"Invalid '{param}': string too short. Expected a string with minimum length "
            f"{ctx.get('min_length')}, but got a string with length {len(value or '')} instead.",
            "string_below_min_length",
        )
    if kind == "string_pattern_mismatch":
        return invalid(
            param,
            f"Invalid '{param}': string does not match pattern. Expected a string that matches "
            f"the pattern '{ctx.get('pattern')}'.",
            "invalid_value",
        )
    if kind == "too_long":
        return invalid(
            param,
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{ctx.get('max_length')}, but got an array with length {ctx.get('actual_length')} "
            "instead.",
            "array_above_max_length",
        )
    if kind == "too_short":
        return invalid(
            param,
            f"Invalid '{param}': array too short. Expected an array with minimum length "
            f"{ctx.get('min_length')}, but got an array with length {ctx.get('actual_length')} "
            "instead.",
            "empty_array" if ctx.get("min_length") == 1 else "array_below_min_length",
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _range_error(param, kind, ctx, value, isinstance(next(iter(ctx.values()), 0.0), int))
    if kind in ("literal_error", "enum", "union_tag_invalid", "union_tag_not_found"):
        return _value_error(param, kind, ctx, value)
    if kind in _EXPECTED:
        return invalid(
            param,
            f"Invalid type for '{param}': expected {_EXPECTED[kind]}, but got "
            f"{_type_name(value)} instead.",
            "invalid_type",
        )
    if kind == "value_error":
        return invalid(param, str(ctx.get("error", err["msg"])), "invalid_value")
    return invalid(param, f"Invalid '{param}': {err['msg']}.", "invalid_value")


def supported(values: Sequence[object]) -> str:
    """``'a', 'b', and 'c'`` as the service lists allowed values."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _missing(param: str) -> BackendError:
    return invalid(param, f"Missing required parameter: '{param}'.", "missing_required_parameter")


def _range_error(
    param: str, kind: str, ctx: dict[str, Any], value: Any, field_is_int: bool
) -> BackendError:
    above = kind.startswith("less")
    bound = next(iter(ctx.values()), None)
    if isinstance(bound, float) and bound.is_integer():
        bound = int(bound)
    number = "integer" if field_is_int else "decimal"
    op = {
        "greater_than_equal": ">=",
        "greater_than": ">",
        "less_than_equal": "<=",
        "less_than": "<",
    }[kind]
    side = "above maximum" if above else "below minimum"
    return invalid(
        param,
        f"Invalid '{param}': {number} {side} value. Expected a value {op} {bound}, but got "
        f"{value} instead.",
        f"{number}_{'above_max' if above else 'below_min'}_value",
    )


def _value_error(
    param: str,
    kind: str,
    ctx: dict[str, Any],
    value: Any,
) -> BackendError:
    if kind.startswith("union_tag"):
        # the union's discriminator is the "type" key of the object at this location
        param = f"{param}.type" if param else "type"
        value = value.get("type") if isinstance(value, dict) else value
        tags = str(ctx.get("expected_tags", "")).split(",")
        expected = supported([t.strip().strip("'").split(":")[-1] for t in tags])
    else:
        expected = str(ctx.get("expected", ""))
    if kind == "union_tag_not_found" or (value is None and kind.startswith("union_tag")):
        return _missing(param)
    return invalid(
        param,
        f"Invalid value: '{value}'. Supported values are: {expected}.",
        "invalid_value",
    )
