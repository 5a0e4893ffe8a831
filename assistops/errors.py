"""The assistops error tree.

Every error assistops raises on purpose derives from :class:`AssistopsError`; the CLI
turns any of them into one clear message and exit code 1 (``--debug`` adds the
traceback). Anything else escaping is a bug.

    AssistopsError
    ├── ConfigError            bad declarations; carries every Problem found
    ├── TemplateError          (a ConfigError) an instruction template failed to render
    ├── ProviderError          a provider call failed (auth, network, protocol)
    │   └── SunsetError        the assistants endpoint is gone from api.openai.com
    ├── PlanError              a plan cannot be made or applied
    │   └── StalePlanError     a saved plan no longer matches live state
    └── BackendError           the local backend refused a request (wire error)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the declarations, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str
    hint: str = ""

    def format(self) -> str:
        """``file:line: field: message (hint)`` on one line."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class AssistopsError(Exception):
    """Base of every error assistops raises on purpose."""


@dataclass
class ConfigError(AssistopsError):
    """The declarations are invalid; ``problems`` lists everything that was found."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the declarations"
        return head + ":\n" + "\n".join(p.format() for p in self.problems)


class TemplateError(ConfigError):
    """An instruction template could not be rendered."""


class ProviderError(AssistopsError):
    """A provider call failed; the message never contains the API key."""


class SunsetError(ProviderError):
    """OpenAI's hosted assistants endpoint answered 404: it was sunset on 2026-08-26."""


class PlanError(AssistopsError):
    """A plan cannot be computed or applied."""


class StalePlanError(PlanError):
    """A saved plan was computed from live objects that have changed since."""


class BackendError(AssistopsError):
    """The local backend refused a request; serialized as the OpenAI error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def envelope(self) -> dict[str, dict[str, str | None]]:
        """The wire form: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
