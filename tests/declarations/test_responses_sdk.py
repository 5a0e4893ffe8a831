"""Every Responses request assistops renders fits the SDK's request type: once references are
replaced by ids, it is a ``ResponseCreateParamsNonStreaming`` (required keys present, no key
the type does not have, every value of its field's type) and pydantic accepts it."""

from __future__ import annotations

import collections.abc
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin

import pytest
from openai._types import SequenceNotStr
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from pydantic import TypeAdapter
from typing_extensions import get_type_hints, is_typeddict

from assistops import api

from .helpers import EXAMPLE, write_project
from .test_render_responses import ODD

pytestmark = pytest.mark.usefixtures("offline")

_SEQUENCES = (list, collections.abc.Iterable, collections.abc.Sequence, SequenceNotStr)


def fields_of(tp: Any) -> tuple[dict[str, Any], set[str]]:
    """A TypedDict's fields (types unwrapped) and its required keys. The SDK's modules use
    postponed annotations, so ``__required_keys__`` misses ``Required[...]``: read the hints."""
    hints: dict[str, Any] = {}
    required: set[str] = set(tp.__required_keys__)
    for key, hint in get_type_hints(tp, include_extras=True).items():
        while get_origin(hint) in (Required, NotRequired, Annotated):
            if get_origin(hint) is Required:
                required.add(key)
            elif get_origin(hint) is NotRequired:
                required.discard(key)
            hint = get_args(hint)[0]
        hints[key] = hint
    return hints, required


def mismatches(tp: Any, value: Any, path: str = "body") -> list[str]:
    """Where ``value`` does not fit the type ``tp`` (empty when it fits)."""
    origin = get_origin(tp)
    if tp is Any or tp is object:
        return []
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        hints, required = fields_of(tp)
        out = [f"{path}.{k}: not a field of {tp.__name__}" for k in value if k not in hints]
        out += [f"{path}.{k}: required" for k in sorted(required) if k not in value]
        for key, item in value.items():
            if key in hints:
                out += mismatches(hints[key], item, f"{path}.{key}")
        return out
    if origin is Union or origin is types.UnionType:
        tried = [mismatches(arg, value, path) for arg in get_args(tp)]
        return [] if any(not t for t in tried) else min(tried, key=len)
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r} not in {get_args(tp)}"]
    if origin in _SEQUENCES:
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        (item,) = get_args(tp)
        return [m for i, v in enumerate(value) for m in mismatches(item, v, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping) or tp is dict:
        return [] if isinstance(value, dict) else [f"{path}: not an object"]
    if tp is type(None):
        return [] if value is None else [f"{path}: not null"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: not a number"]
    if tp is int and isinstance(value, bool):
        return [f"{path}: not an integer"]
    if isinstance(tp, type):
        return [] if isinstance(value, tp) else [f"{path}: not a {tp.__name__}"]
    raise AssertionError(f"{path}: the checker does not know {tp!r}")


def with_ids(value: Any) -> Any:
    """``${address}`` references replaced by fake ids, as a release would fill them."""
    if isinstance(value, str):
        return re.sub(r"\$\{([^}]*)\}", lambda m: f"id_{abs(hash(m.group(1))) % 10**8}", value)
    if isinstance(value, dict):
        return {k: with_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_ids(v) for v in value]
    return value


def rendered(root: Path, env: str) -> list[dict[str, Any]]:
    return [r["body"] for r in api.responses_requests(root, env).requests]


def test_the_checker_catches_what_the_type_refuses() -> None:
    fn = {"type": "function", "name": "f", "parameters": None, "strict": None}
    assert mismatches(ResponseCreateParamsNonStreaming, {"model": "m", "tools": [fn]}) == []
    assert mismatches(ResponseCreateParamsNonStreaming, {"model": "m", "bogus": 1})
    no_strict = {"type": "function", "name": "f", "parameters": None}
    assert mismatches(ResponseCreateParamsNonStreaming, {"model": "m", "tools": [no_strict]})
    nested = {"model": "m", "tools": [{**fn, "function": {}}]}
    assert mismatches(ResponseCreateParamsNonStreaming, nested)


@pytest.mark.parametrize("env", ["local", "local-agents", "prod"])
def test_the_example_requests_fit_the_sdk_type(env: str) -> None:
    bodies = rendered(EXAMPLE, env)
    assert len(bodies) == 3
    adapter = TypeAdapter(ResponseCreateParamsNonStreaming)
    for body in map(with_ids, bodies):
        assert "${" not in str(body)
        assert mismatches(ResponseCreateParamsNonStreaming, body) == []
        checked = adapter.validate_python(body)
        list(checked.get("tools", []))  # tools validate lazily (an Iterable)


def test_the_tools_a_request_rarely_has_fit_too(tmp_path: Path) -> None:
    (body,) = rendered(write_project(tmp_path, ODD), "agents")

    assert len(body["tools"]) == 4
    assert mismatches(ResponseCreateParamsNonStreaming, with_ids(body)) == []
