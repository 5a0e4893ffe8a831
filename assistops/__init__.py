"""assistops: infrastructure-as-code for AI assistants.

The public Python API is what this module exports (``__all__``); everything else is internal
and may change. The verbs chain the pipeline (see ``ARCHITECTURE.md``)::

    import assistops

    report = assistops.validate(Path("."))
    plan = assistops.plan(Path("."), "staging", assistops.PlanOptions(targets=("assistant.x",)))
    outcome = assistops.apply(Path("."), "staging", confirm=lambda plan: True)
    report = assistops.run_tests(Path("."), "staging")   # report.passed gates a promotion

The verbs and models load on first use, so ``import assistops`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from assistops.errors import (
    AdoptError,
    ApplyError,
    AssistopsError,
    BackendError,
    ConfigError,
    ConversationError,
    DatabaseError,
    MissingFilesError,
    PlanError,
    Problem,
    PromotionError,
    ProviderError,
    ReleaseError,
    StalePlanError,
    SunsetError,
    TemplateError,
    TestsFailedError,
    UpstreamError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from assistops.api import (
        ApplyOptions,
        ApplyOutcome,
        PlanOptions,
        TestOptions,
        TestReport,
        ValidationReport,
        apply,
        desired,
        load,
        load_release,
        payloads,
        plan,
        promote,
        promotion_plan,
        run_tests,
        status,
        validate,
    )
    from assistops.engine.plan import FieldChange, Plan, ResourceChange
    from assistops.kinds.release import Release

# name -> module that defines it, imported when the name is first used
_LAZY = {
    "ApplyOptions": "assistops.api",
    "ApplyOutcome": "assistops.api",
    "PlanOptions": "assistops.api",
    "TestOptions": "assistops.api",
    "TestReport": "assistops.api",
    "run_tests": "assistops.api",
    "ValidationReport": "assistops.api",
    "apply": "assistops.api",
    "desired": "assistops.api",
    "load": "assistops.api",
    "load_release": "assistops.api",
    "Release": "assistops.kinds.release",
    "payloads": "assistops.api",
    "plan": "assistops.api",
    "promote": "assistops.api",
    "promotion_plan": "assistops.api",
    "status": "assistops.api",
    "validate": "assistops.api",
    "FieldChange": "assistops.engine.plan",
    "Plan": "assistops.engine.plan",
    "ResourceChange": "assistops.engine.plan",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assistops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
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
    "ResourceChange",
    "StalePlanError",
    "SunsetError",
    "TemplateError",
    "TestOptions",
    "TestReport",
    "TestsFailedError",
    "UpstreamError",
    "ValidationReport",
    "__version__",
    "apply",
    "desired",
    "load",
    "load_release",
    "payloads",
    "plan",
    "promote",
    "promotion_plan",
    "run_tests",
    "status",
    "validate",
]
