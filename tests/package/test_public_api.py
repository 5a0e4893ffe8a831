"""The package's public face: a curated facade, one error tree, a cheap import."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import assistops
from assistops import errors

PUBLIC = {
    "AdoptError",
    "ApplyError",
    "ApplyOptions",
    "ApplyOutcome",
    "AssistopsError",
    "BackendError",
    "ConfigError",
    "ConversationError",
    "DatabaseError",
    "FieldChange",
    "MissingFilesError",
    "Plan",
    "PlanError",
    "PlanOptions",
    "Problem",
    "PromotionError",
    "ProviderError",
    "Release",
    "ReleaseError",
    "UpstreamError",
    "ResourceChange",
    "StalePlanError",
    "SunsetError",
    "TemplateError",
    "TestOptions",
    "TestReport",
    "TestsFailedError",
    "ValidationReport",
    "__version__",
    "apply",
    "desired",
    "load",
    "load_release",
    "payloads",
    "plan",
    "run_tests",
    "promote",
    "promotion_plan",
    "status",
    "validate",
}


def test_the_facade_exports_exactly_the_public_names() -> None:
    # a change here is a change of the public API: make it on purpose, and in CHANGELOG.md
    assert set(assistops.__all__) == PUBLIC
    assert len(assistops.__all__) == len(set(assistops.__all__))


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in PUBLIC - {"__version__"}:
        value = getattr(assistops, name)
        assert inspect.getdoc(value), f"assistops.{name} has no docstring"
        assert value.__module__.startswith("assistops."), name
    assert isinstance(assistops.__version__, str)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        _ = assistops.planner  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "planner" in str(exc)
    else:
        raise AssertionError("assistops.planner should not be public")


def _all_modules() -> list[str]:
    root = Path(assistops.__file__).parent
    return [m.name for m in pkgutil.walk_packages([str(root)], prefix="assistops.")]


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_subclasses(sub)}
    return out


def test_every_error_class_is_in_the_tree_drawn_in_errors_py() -> None:
    for name in _all_modules():
        importlib.import_module(name)
    tree = errors.__doc__ or ""
    found = _subclasses(errors.AssistopsError)
    assert found, "no error classes found"
    for cls in found:
        assert cls.__module__ == "assistops.errors", f"{cls.__qualname__} is defined elsewhere"
        assert cls.__name__ in tree, f"{cls.__name__} is missing from the tree in errors.py"
        if not cls.__name__.startswith("_"):
            assert cls.__name__ in PUBLIC, f"{cls.__name__} is not exported"


def test_import_assistops_loads_neither_the_engine_nor_the_sdk() -> None:
    code = (
        "import sys, assistops; "
        "print(sorted(m for m in ('assistops.api', 'assistops.engine', 'openai') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
