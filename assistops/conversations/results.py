"""What a conversation did, and what the tests found: the typed report.

A :class:`TestReport` is what ``api.run_tests`` returns and what ``assistops test --format
json`` prints (``model_dump(mode="json")``; documented in docs/testing.md). Everything in it
is plain data, so the text output, the JSON and JUnit XML are views of the same object.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistops.errors import TestsFailedError

REPORT_FORMAT_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SearchResult(_Frozen):
    """One chunk a file_search returned."""

    file_id: str
    file_name: str = ""
    path: str | None = Field(None, description="The knowledge file's project path, when known.")
    score: float | None = None
    text: str = ""


class ToolCall(_Frozen):
    """One tool call of a turn: a function (with the output the test gave), a file search
    (with its results), or the code interpreter (with its input and logs)."""

    type: Literal["function", "file_search", "code_interpreter"]
    id: str = ""
    name: str = Field("", description="The function's name (functions only).")
    arguments: str = Field("", description="The arguments as the assistant sent them (JSON).")
    output: str | None = Field(None, description="What was submitted as the function's output.")
    answered_by: str = Field("", description="'output', 'handler <ref>', 'person', or ''.")
    queries: list[str] = Field(default_factory=list)
    results: list[SearchResult] = Field(default_factory=list)
    input: str = ""
    logs: str = ""


class Citation(_Frozen):
    """A ``file_citation`` of the reply."""

    file_id: str
    file_name: str = ""
    path: str | None = None
    quote: str = ""


class Step(_Frozen):
    """A run step (Assistants) or an output item (Responses), in the order it happened."""

    id: str
    type: str = Field(description="tool_calls, message_creation; on Responses the item type.")
    status: str = ""
    run_id: str = Field("", description="The run (or response) it belongs to.")
    tool_calls: list[ToolCall] = Field(default_factory=list)
    message_id: str = ""
    last_error: dict[str, Any] | None = None


class RunInfo(_Frozen):
    """How one run (or response) ended."""

    id: str
    status: str
    last_error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None


class Check(_Frozen):
    """One expectation of a turn, and whether the reply met it."""

    kind: str
    expected: Any = None
    passed: bool
    message: str = Field("", description="Why it failed ('' when it passed).")
    line: int | None = Field(None, description="Its line in the test file.")


class TurnResult(_Frozen):
    """One user message, what the assistant did about it and the checks."""

    user: str
    reply: str = ""
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    runs: list[RunInfo] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    error: str = Field("", description="Why the turn could not finish ('' when it did).")

    @property
    def passed(self) -> bool:
        """No error and every check passed."""
        return not self.error and all(c.passed for c in self.checks)


class Attempt(_Frozen):
    """One run of a test's conversation."""

    number: int
    passed: bool
    duration_s: float
    conversation_id: str = Field("", description="The thread (or first response) it used.")
    turns: list[TurnResult] = Field(default_factory=list)
    error: str = Field("", description="What stopped it: a timeout, a provider error, ...")
    cleaned_up: bool = Field(True, description="What it created was deleted.")


class TestResult(_Frozen):
    """A test: its attempts and whether enough of them passed."""

    __test__ = False  # not a pytest class

    assistant: str
    name: str
    file: str
    description: str = ""
    repeat: int = 1
    pass_threshold: float = 1.0
    passed: bool
    passes: int
    duration_s: float
    attempts: list[Attempt] = Field(default_factory=list)

    @property
    def id(self) -> str:
        """``<assistant>/<test>``: how the test is named on the command line and in reports."""
        return f"{self.assistant}/{self.name}"

    @property
    def needed(self) -> int:
        """How many attempts must pass."""
        return needed_passes(self.repeat, self.pass_threshold)

    def first_failure(self) -> str:
        """One line on why it failed ('' when it passed)."""
        for attempt in self.attempts:
            if attempt.passed:
                continue
            if attempt.error:
                return attempt.error
            for i, turn in enumerate(attempt.turns, start=1):
                if turn.error:
                    return f"turn {i}: {turn.error}"
                for check in turn.checks:
                    if not check.passed:
                        return f"turn {i}: {check.message}"
        return ""


class Summary(_Frozen):
    """Counts of the report."""

    tests: int = 0
    passed: int = 0
    failed: int = 0


class TestReport(_Frozen):
    """Every test run against one environment (or the working tree)."""

    __test__ = False

    format_version: int = REPORT_FORMAT_VERSION
    project: str
    environment: str
    api: str
    target: str = Field(description="Where the tests ran: the provider and its endpoint.")
    working_tree: bool = Field(False, description="Deployed from the working tree for the run.")
    revision: str = Field("", description="The config revision the tests were read at.")
    notes: list[str] = Field(default_factory=list, description="Warnings, e.g. pending changes.")
    duration_s: float = 0.0
    tests: list[TestResult] = Field(default_factory=list)
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        """Every test passed (and there was at least one, and nothing was interrupted)."""
        return bool(self.tests) and not self.interrupted and all(t.passed for t in self.tests)

    @property
    def summary(self) -> Summary:
        """How many tests passed and failed."""
        ok = sum(1 for t in self.tests if t.passed)
        return Summary(tests=len(self.tests), passed=ok, failed=len(self.tests) - ok)

    def raise_for_failures(self) -> None:
        """TestsFailedError (carrying this report) unless every test passed: the gate a
        promotion calls before it changes anything."""
        if self.passed:
            return
        failed = [t.id for t in self.tests if not t.passed]
        why = (
            "the test run was interrupted"
            if self.interrupted
            else "no test ran"
            if not self.tests
            else f"{len(failed)} of {len(self.tests)} failed: {', '.join(failed)}"
        )
        raise TestsFailedError(
            f"conversation tests in '{self.environment}' did not pass ({why})", self
        )

    def document(self) -> dict[str, Any]:
        """The JSON document of ``assistops test --format json`` (docs/testing.md)."""
        out = self.model_dump(mode="json")
        out["command"] = "test"
        out["passed"] = self.passed
        out["summary"] = self.summary.model_dump()
        for test, raw in zip(self.tests, out["tests"], strict=True):
            raw["id"] = test.id
            raw["needed"] = test.needed
        return out


def needed_passes(repeat: int, threshold: float) -> int:
    """How many of ``repeat`` attempts must pass for ``threshold`` (rounded up, at least 1)."""
    import math

    return max(1, math.ceil(repeat * threshold - 1e-9))
