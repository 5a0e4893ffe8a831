"""assistops: infrastructure-as-code for AI assistants."""

from assistops.errors import (
    AssistopsError,
    ConfigError,
    PlanError,
    Problem,
    ProviderError,
    StalePlanError,
    SunsetError,
    TemplateError,
)

__version__ = "0.1.0"

__all__ = [
    "AssistopsError",
    "ConfigError",
    "PlanError",
    "Problem",
    "ProviderError",
    "StalePlanError",
    "SunsetError",
    "TemplateError",
    "__version__",
]
