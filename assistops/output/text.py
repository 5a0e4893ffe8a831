"""A plan as text for people, laid out like Terraform's plan.

    # assistant.support will be updated in-place
    ~ assistant.support (asst_123)
        ~ model: "gpt-4o-mini" -> "gpt-4o"
        ~ instructions:
              @@ -1,2 +1,2 @@
               You answer questions about orders.
              -Be terse.
              +Be friendly.

    Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.

Colour is plain ANSI and only on request: the CLI decides (terminal, ``--no-color``, NO_COLOR).
"""

from __future__ import annotations

from typing import Any

from assistops.engine.diff import FieldChange
from assistops.engine.plan import Plan, ResourceChange
from assistops.output.common import (
    DEFAULT_MAX_LINES,
    SYMBOLS,
    breaking_count,
    change_diff,
    change_mark,
    drift_outcome,
    fold,
    headline,
    inline,
    is_structured_change,
    is_text_change,
    more_lines,
    plural,
    reasons,
    summary_line,
    unchanged_count,
    value_lines,
)
from assistops.output.steps import explain_steps

_ANSI = {
    "+": "32",  # green
    "~": "33",  # yellow
    "-": "31",  # red
    "-/+": "35",  # magenta
    "!": "1;31",  # bold red
    "@": "36",  # cyan
    "dim": "2",
    "bold": "1",
}

FIELD = " " * 6  # where a field's symbol goes
BODY = " " * 12  # where a field's long value or diff goes


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        code = _ANSI.get(style)
        if not self.color or code is None or not text:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def diff_line(self, line: str) -> str:
        """A unified diff line, coloured by its first character."""
        style = {"+": "+", "-": "-", "@": "@"}.get(line[:1], "")
        return self(line, style)


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    context: int = 3,
    max_lines: int = DEFAULT_MAX_LINES,
    steps: bool = False,
) -> str:
    """The plan as Terraform-like text, ending with the summary line and a newline.

    ``context`` is the number of unchanged lines around each change in text diffs; values
    longer than ``max_lines`` lines are folded; ``steps`` adds what apply does, phase by phase
    (shown anyway when the plan has steps but no resource changes).
    """
    paint = _Painter(color)
    out = [_header(plan), ""]
    changes = plan.changes
    if changes:
        out += ["assistops will perform the following actions:", ""]
        for rc in changes:
            out += _resource(rc, paint, context=context, max_lines=max_lines)
            out.append("")
    if steps or (plan.has_changes and not changes):
        out += _steps(plan, paint)
    unchanged = unchanged_count(plan)
    if unchanged:
        note = "not shown" if changes else "checked"
        out.append(f"{plural(unchanged, 'unchanged resource')} {note}.")
    breaking = breaking_count(plan)
    if breaking:
        out.append(
            paint(
                f"Warning: {plural(breaking, 'change')} may break apps that implement the "
                "functions (marked '! breaking'). Update those apps first.",
                "!",
            )
        )
    if unchanged or breaking:
        out.append("")
    out.append(paint(summary_line(plan), "bold"))
    return "\n".join(out) + "\n"


def render_compact(plan: Plan, *, color: bool = False) -> str:
    """The plan one line a resource (what ``apply --auto-approve`` prints before it acts):
    the header, ``+ address``, ``~ address (id): changed paths``, ``- address (id)``, and the
    summary line."""
    paint = _Painter(color)
    out = [_header(plan)]
    for rc in plan.changes:
        ident = f" ({rc.id})" if rc.id else ""
        line = paint(SYMBOLS[rc.action].rjust(3), _style(rc.action)) + f" {rc.address}{ident}"
        detail = ", ".join(dict.fromkeys(c.path for c in rc.changes))
        why = list(reasons(rc)) if rc.action != "update" else []
        if rc.drift:
            why.insert(0, "drift")
        elif rc.duplicate:
            why.insert(0, "duplicate")
        elif rc.orphan:
            why.insert(0, "no longer declared")
        said = "; ".join(x for x in (detail, *why) if x)
        out.append(line + (f": {said}" if said else ""))
    if plan.has_changes and not plan.changes:
        out += [f"    {d}" for _, descriptions in explain_steps(plan) for d in descriptions]
    out.append(paint(summary_line(plan), "bold"))
    return "\n".join(out) + "\n"


def _header(plan: Plan) -> str:
    return (
        f"assistops plan: project {plan.project}, environment {plan.environment}"
        + (f" (as {plan.api})" if plan.api != "assistants" else "")
        + f", provider {plan.provider_label}, revision {plan.revision}"
    )


def _resource(rc: ResourceChange, paint: _Painter, *, context: int, max_lines: int) -> list[str]:
    lines = [f"  # {rc.address} {headline(rc)}"]
    if rc.drift:
        lines.append(f"  #   {drift_outcome(rc)}")
    lines += [f"  #   {reason}" for reason in reasons(rc)]
    ident = f" ({rc.id})" if rc.id else ""
    lines.append(paint(SYMBOLS[rc.action].rjust(3), _style(rc.action)) + f" {rc.address}{ident}")
    for change in rc.changes:
        lines += _change(change, paint, context=context, max_lines=max_lines)
    shown = rc.after if rc.action in ("create", "replace") else None
    if rc.action == "delete":
        shown = rc.before
    mark = "-" if rc.action == "delete" else "+"
    for key, value in (shown or {}).items():
        lines += _value(mark, key, value, paint, max_lines=max_lines)
    if rc.action == "update" and not rc.changes and not reasons(rc):
        lines.append(
            paint(
                f"{FIELD}  (no field changes; apply records the declared spec in the tags)", "dim"
            )
        )
    return lines


def _style(action: str) -> str:
    return {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}.get(action, "")


def _change(change: FieldChange, paint: _Painter, *, context: int, max_lines: int) -> list[str]:
    mark = change_mark(change)
    head = f"{FIELD}{paint(mark, mark)} {change.path}"
    if is_text_change(change) or is_structured_change(change):
        lines = [head + ":"] + [_body(paint.diff_line(d)) for d in change_diff(change, context)]
    elif mark == "~":
        lines = [f"{head}: {inline(change.before)} -> {inline(change.after)}"]
    else:
        value = change.after if mark == "+" else change.before
        lines = _value(mark, change.path, value, paint, max_lines=max_lines)
    if change.breaking:
        lines.append(paint(f"{FIELD}    ! breaking: {change.breaking}", "!"))
    return lines


def _value(mark: str, key: str, value: Any, paint: _Painter, *, max_lines: int) -> list[str]:
    """``+ key: value``, or ``+ key:`` and the value's lines below it, folded."""
    lines = value_lines(value)
    head = f"{FIELD}{paint(mark, mark)} {key}:"
    if len(lines) == 1:
        return [f"{head} {lines[0]}"]
    shown, hidden = fold(lines, max_lines)
    out = [head] + [_body(line) for line in shown]
    if hidden:
        out.append(paint(BODY + more_lines(hidden), "dim"))
    return out


def _body(line: str) -> str:
    """A line under a field; blank lines stay empty (no trailing spaces)."""
    return BODY + line if line.strip() else ""


def _steps(plan: Plan, paint: _Painter) -> list[str]:
    out = ["apply will run these steps:"]
    for phase, descriptions in explain_steps(plan):
        out.append(f"  {paint(phase, 'bold')}:")
        out += [f"    - {d}" for d in descriptions]
    return [*out, ""]
