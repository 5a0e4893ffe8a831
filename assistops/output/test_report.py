"""Conversation test reports as text: the pass/fail table, and the transcript of a failure.

A transcript is what a person needs to see how the assistant got to its answer: each turn's
user message, each run (or response) with its status and ``last_error``, its steps in order
(function calls with their arguments and the output the test gave, file_search results with
the files they came from, code-interpreter input and logs, the message it created), the reply
with its citations, and every check with why it failed. Pure functions of the report.
"""

from __future__ import annotations

import json

from assistops.conversations.results import (
    Attempt,
    Check,
    Step,
    TestReport,
    TestResult,
    ToolCall,
    TurnResult,
)

_TEXT = 300  # characters of a search result or an output shown before "..."


def _clip(text: str, limit: int = _TEXT) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "..."


def status_word(test: TestResult) -> str:
    """``PASS`` or ``FAIL``."""
    return "PASS" if test.passed else "FAIL"


def table_rows(report: TestReport) -> list[tuple[str, str, str, str]]:
    """(status, test id, attempts, duration) of each test, plus why a failed one failed."""
    rows = []
    for test in report.tests:
        runs = f"{test.passes}/{test.repeat} passed" if test.repeat > 1 else ""
        if test.repeat > 1:
            runs += f", {test.needed} needed"
        rows.append((status_word(test), test.id, runs, f"{test.duration_s:.2f}s"))
    return rows


def summary_line(report: TestReport) -> str:
    """``2 passed, 1 failed in 1.23s``."""
    s = report.summary
    parts = [f"{s.passed} passed"]
    if s.failed:
        parts.append(f"{s.failed} failed")
    return f"{', '.join(parts)} in {report.duration_s:.2f}s"


def header(report: TestReport, count: int | None = None) -> str:
    """What is tested, where (``count`` tests; default: the report's)."""
    where = "the working tree on " if report.working_tree else ""
    count = len(report.tests) if count is None else count
    return (
        f"{report.project} / {report.environment} ({report.api}): {count} "
        f"test{'s' if count != 1 else ''} against {where}{report.target}"
    )


def transcript(test: TestResult) -> str:
    """Every failed attempt of ``test``, turn by turn, with its run steps."""
    lines = [f"{test.id} ({test.file}): {test.passes}/{test.repeat} attempts passed"]
    if test.repeat > 1:
        lines[0] += f", {test.needed} needed (pass_threshold {test.pass_threshold:g})"
    for attempt in test.attempts:
        if not attempt.passed:
            lines += _attempt(attempt, test.repeat)
    return "\n".join(lines)


def _attempt(attempt: Attempt, repeat: int) -> list[str]:
    label = f"attempt {attempt.number} of {repeat}" if repeat > 1 else "attempt"
    where = f" on {attempt.conversation_id}" if attempt.conversation_id else ""
    out = [f"  {label}{where} failed ({attempt.duration_s:.2f}s)"]
    if attempt.error:
        out.append(f"    error: {attempt.error}")
    if not attempt.cleaned_up:
        out.append("    warning: the conversation could not be deleted")
    for number, turn in enumerate(attempt.turns, start=1):
        out += _turn(number, turn)
    return out


def _turn(number: int, turn: TurnResult) -> list[str]:
    out = [f"    turn {number}", f"      user: {_clip(turn.user)}"]
    for run in turn.runs:
        line = f"      run {run.id}: {run.status}"
        if run.last_error:
            code = run.last_error.get("code", "")
            line += f"; last_error {code}: {run.last_error.get('message', '')}"
        if run.incomplete_details:
            line += f"; incomplete: {json.dumps(run.incomplete_details, sort_keys=True)}"
        out.append(line)
        out += [line for step in turn.steps if step.run_id == run.id for line in _step(step)]
    if turn.reply:
        out.append(f"      assistant: {_clip(turn.reply, 600)}")
    for citation in turn.citations:
        name = citation.path or citation.file_name or citation.file_id
        out.append(f"        [cites {name} ({citation.file_id})]")
    if turn.error:
        out.append(f"      error: {turn.error}")
    out += [_check(check) for check in turn.checks]
    return out


def step_lines(step: Step) -> list[str]:
    """One run step (or output item) as it shows in a transcript."""
    return _step(step)


def _step(step: Step) -> list[str]:
    head = f"        step {step.id} {step.type} ({step.status})"
    if step.message_id and step.type == "message_creation":
        head += f": message {step.message_id}"
    if step.last_error:
        head += f"; last_error {step.last_error.get('code')}: {step.last_error.get('message')}"
    out = [head]
    for call in step.tool_calls:
        out += _call(call)
    return out


def _call(call: ToolCall) -> list[str]:
    if call.type == "function":
        line = f"          function {call.name}({call.arguments})"
        out = [line]
        if call.output is not None:
            by = f"  [{call.answered_by}]" if call.answered_by else ""
            out.append(f"            -> {_clip(call.output)}{by}")
        return out
    if call.type == "file_search":
        queries = f" for {json.dumps(call.queries[0])}" if call.queries else ""
        out = [f"          file_search{queries}: {len(call.results)} results"]
        for result in call.results:
            name = result.path or result.file_name or result.file_id
            score = f"{result.score:.2f} " if result.score is not None else ""
            out.append(f"            {score}{name} ({result.file_id}): {_clip(result.text, 120)}")
        return out
    return [
        f"          code_interpreter input: {_clip(call.input, 200)}",
        f"            logs: {_clip(call.logs, 200)}",
    ]


def _check(check: Check) -> str:
    at = f" (line {check.line})" if check.line else ""
    if check.passed:
        return f"      ok    {check.kind}{at}"
    return f"      FAIL  {check.kind}{at}: {check.message}"
