"""The checks of a turn: each :class:`~assistops.config.models.Expectation` against what the
assistant replied and which tools it used. Each message says what was expected and what was
found, so the failure reads without the test file open."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator

from assistops.config.models import Expectation, FunctionCalled
from assistops.conversations.results import Check, ToolCall, TurnResult

_SHOWN = 120


def evaluate(
    expectation: Expectation, turn: TurnResult, schema: dict[str, Any] | None, line: int | None
) -> Check:
    """One check of ``turn``; ``schema`` is the resolved JSON Schema of ``json_schema`` or of
    ``called.arguments_schema``."""
    kind = expectation.kind
    value = getattr(expectation, kind)
    expected = value.model_dump(exclude_none=True) if isinstance(value, FunctionCalled) else value
    message = _CHECKS[kind](value, turn, schema)
    return Check(kind=kind, expected=expected, passed=not message, message=message, line=line)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _shown(text: str) -> str:
    text = text.replace("\n", "\\n")
    return json.dumps(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _contains(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    missing = [v for v in _listed(value) if v not in turn.reply]
    if not missing:
        return ""
    wanted = ", ".join(map(json.dumps, missing))
    return f"the reply does not contain {wanted}; it is {_shown(turn.reply)}"


def _not_contains(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    found = [v for v in _listed(value) if v in turn.reply]
    if not found:
        return ""
    return f"the reply contains {', '.join(map(json.dumps, found))}: {_shown(turn.reply)}"


def _matches(value: str, turn: TurnResult, schema: Any) -> str:
    if re.search(value, turn.reply):
        return ""
    return f"the reply does not match /{value}/: {_shown(turn.reply)}"


def _json(turn: TurnResult) -> tuple[Any, str]:
    try:
        return json.loads(turn.reply), ""
    except json.JSONDecodeError as exc:
        return (
            None,
            f"the reply is not JSON ({exc.msg} at character {exc.pos}): {_shown(turn.reply)}",
        )


def _json_schema(value: Any, turn: TurnResult, schema: dict[str, Any] | None) -> str:
    data, error = _json(turn)
    if error:
        return error
    errors = sorted(Draft202012Validator(schema or {}).iter_errors(data), key=lambda e: e.path)
    if not errors:
        return ""
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"the reply is not valid against the schema at {where}: {first.message}{more}"


def _equals(value: Any, turn: TurnResult, schema: Any) -> str:
    data, error = _json(turn)
    if error:
        return error
    if data == value:
        return ""
    return (
        f"the reply is {json.dumps(data, sort_keys=True)}, not {json.dumps(value, sort_keys=True)}"
    )


def _cites(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    cited = [c.path or c.file_name or c.file_id for c in turn.citations]
    missing = [p for p in _listed(value) if p not in cited]
    if not missing:
        return ""
    found = f"it cites {', '.join(cited)}" if cited else "it cites nothing"
    return f"the reply does not cite {', '.join(missing)}; {found}"


def _functions(turn: TurnResult) -> list[ToolCall]:
    return [c for c in turn.tool_calls if c.type == "function"]


def _subset(expected: Any, actual: Any) -> bool:
    """Every key of ``expected`` is in ``actual`` with an equal value (mappings recursively)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


def _called(value: str | FunctionCalled, turn: TurnResult, schema: dict[str, Any] | None) -> str:
    name = value.function if isinstance(value, FunctionCalled) else value
    calls = [c for c in _functions(turn) if c.name == name]
    if not calls:
        made = ", ".join(f"{c.name}({c.arguments})" for c in _functions(turn)) or "none"
        return f"{name} was not called (function calls: {made})"
    if not isinstance(value, FunctionCalled):
        return ""
    reasons = []
    for call in calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            reasons.append(f"arguments are not JSON: {call.arguments}")
            continue
        if value.arguments is not None and not _subset(value.arguments, arguments):
            reasons.append(
                f"{name}({call.arguments}) does not have the arguments "
                f"{json.dumps(value.arguments, sort_keys=True)}"
            )
            continue
        if schema is not None:
            errors = list(Draft202012Validator(schema).iter_errors(arguments))
            if errors:
                where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
                reasons.append(
                    f"{name}({call.arguments}) is not valid against the arguments schema at "
                    f"{where}: {errors[0].message}"
                )
                continue
        return ""
    return "; ".join(reasons)


def _not_called(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    names = {c.name for c in _functions(turn)}
    called = [n for n in _listed(value) if n in names]
    return f"{', '.join(called)} was called" if called else ""


def _used(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    kinds = {c.type for c in turn.tool_calls}
    missing = [k for k in _listed(value) if k not in kinds]
    if not missing:
        return ""
    used = ", ".join(sorted(kinds)) or "no tool"
    return f"{', '.join(missing)} was not used (used: {used})"


def _not_used(value: str | list[str], turn: TurnResult, schema: Any) -> str:
    kinds = {c.type for c in turn.tool_calls}
    used = [k for k in _listed(value) if k in kinds]
    return f"{', '.join(used)} was used" if used else ""


def _no_tools(value: bool, turn: TurnResult, schema: Any) -> str:
    if not turn.tool_calls:
        return ""
    return "tools were used: " + ", ".join(c.name or c.type for c in turn.tool_calls)


_CHECKS: dict[str, Any] = {
    "contains": _contains,
    "not_contains": _not_contains,
    "matches": _matches,
    "json_schema": _json_schema,
    "equals": _equals,
    "cites": _cites,
    "called": _called,
    "not_called": _not_called,
    "used": _used,
    "not_used": _not_used,
    "no_tools": _no_tools,
}
