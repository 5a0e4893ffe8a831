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
    │   ├── StalePlanError     a saved plan no longer matches live state
    │   ├── ApplyError         apply stopped part-way; what was done stays done
    │   └── PromotionError     promote refused: the source is not what the tree declares
    ├── ReleaseError           an app's release cannot be read (none, or not a release)
    ├── AdoptError             an import or export cannot go ahead; nothing was changed
    │   └── MissingFilesError  some files' contents cannot be obtained
    ├── ConversationError      conversation tests or a chat cannot start (not deployed, agents)
    │   └── TestsFailedError   conversation tests failed (a promotion gate refuses)
    ├── BackendError           the local backend refused a request (wire error)
    ├── DatabaseError          the local backend's database is from a newer assistops
    └── UpstreamError          serve's upstream model cannot be used (found at start-up)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


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

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status the service answered, when it answered


class SunsetError(ProviderError):
    """OpenAI's hosted assistants endpoint answered 404: it was sunset on 2026-08-26."""


class PlanError(AssistopsError):
    """A plan cannot be computed or applied.

    ``advice`` is what to do next, when whoever raised it knows better than the caller (a
    file the service cannot index is not fixed by running apply again).
    """

    def __init__(self, message: str = "", *, advice: str | None = None) -> None:
        super().__init__(message)
        self.advice = advice


class StalePlanError(PlanError):
    """A saved plan was computed from live objects that have changed since."""


class ApplyError(PlanError):
    """Apply stopped before the end; what was done stays done, a new apply converges.

    ``result`` is the :class:`~assistops.engine.apply.ApplyResult` so far.
    """

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class PromotionError(PlanError):
    """``promote`` refused before planning the destination; nothing was changed.

    ``refusals`` holds one line per reason, each naming the resource it is about.
    """

    def __init__(self, message: str, refusals: Sequence[str]) -> None:
        super().__init__(message)
        self.refusals = list(refusals)


class ReleaseError(AssistopsError):
    """An app asked for a release that cannot be read: none is published for the project and
    environment, its content is not a release, or it has no such assistant."""


class AdoptError(AssistopsError):
    """An import or export that cannot go ahead; nothing was changed."""


class ConversationError(AssistopsError):
    """Conversation tests or a chat cannot start: the assistant is not deployed, the
    environment's API holds no conversations here, no test matches."""


class TestsFailedError(ConversationError):
    """Conversation tests ran and some failed; ``report`` is the whole report."""

    __test__ = False  # not a pytest class

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class WantedFile(Protocol):
    """A file whose content an import or export needs (see ``adopt.contents.Wanted``)."""

    @property
    def owner(self) -> str:
        """Who uses the file, for the message."""

    @property
    def file_id(self) -> str:
        """Its live id."""

    @property
    def filename(self) -> str:
        """The name it was uploaded with."""

    @property
    def bytes(self) -> int | None:
        """Its size, when known."""

    @property
    def why(self) -> str:
        """Why its content cannot be had."""


class MissingFilesError(AdoptError):
    """Some files' contents cannot be obtained; nothing was written."""

    def __init__(self, wanted: Sequence[WantedFile]) -> None:
        self.wanted = list(wanted)
        lines = [
            f"cannot get the content of {len(wanted)} file{'s' if len(wanted) != 1 else ''}; "
            "nothing was written or changed:"
        ]
        for w in wanted:
            size = f"{w.bytes:,} bytes, " if w.bytes is not None else ""
            lines.append(f"  - {w.filename} ({size}{w.file_id}), {w.owner}: {w.why}")
        lines.append(
            "Put copies of these files in one folder and run again with --files-from FOLDER "
            "(files are matched by name and size)."
        )
        super().__init__("\n".join(lines))


class DatabaseError(AssistopsError):
    """The local backend's database cannot be opened by this version (it is newer)."""


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


class UpstreamError(AssistopsError):
    """``assistops serve``'s upstream model cannot be used: unreachable, wrong key, no model.

    Raised at start-up, before the server listens, so a wrong URL or key is one line then
    rather than failed runs later. The message never contains the key.
    """
