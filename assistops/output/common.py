"""Words and value formatting shared by the text and markdown renderers.

Both renderers say the same things (headlines, reasons, summary line, folded values); only the
markup differs. Keeping the words here keeps the two outputs from drifting apart.
"""

from __future__ import annotations

import json
from typing import Any

from assistops.engine.diff import FieldChange, text_diff
from assistops.engine.plan import Plan, ResourceChange

NO_CHANGES = "No changes. Live state matches the declarations."

#: The symbol of each action, as Terraform prints them.
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": " "}

#: Structured values whose one-line form is longer than this are printed pretty, one key a line.
INLINE_WIDTH = 80

DEFAULT_MAX_LINES = 12

# Reasons the headline already says; repeating them below it is noise.
_SAID_BY_ORPHAN = "no longer declared"
_SAID_BY_DRIFT = "changed outside assistops"


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to add, 1 to change, 0 to replace, 1 to destroy.`` or the no-changes line."""
    if not plan.has_changes and not plan.changes:
        return NO_CHANGES
    s = plan.summary
    return (
        f"Plan: {s.create} to add, {s.update} to change, {s.replace} to replace, "
        f"{s.delete} to destroy."
    )


def unchanged_count(plan: Plan) -> int:
    """How many resources the plan leaves as they are."""
    return sum(1 for r in plan.resources if r.action == "no-op")


def breaking_count(plan: Plan) -> int:
    """How many field changes would break an app that implements a function."""
    return sum(len(r.breaking) for r in plan.changes)


def headline(rc: ResourceChange) -> str:
    """What happens to the resource, after its address: ``will be created``, ..."""
    if rc.drift:
        return "has changed outside assistops (drift)"
    if rc.action == "create":
        return "will be created"
    if rc.action == "update":
        return "will be updated in-place"
    if rc.action == "replace":
        return "must be replaced"
    if rc.action == "delete":
        if rc.duplicate:
            return "will be destroyed (duplicate)"
        if rc.orphan:
            return "will be destroyed (no longer declared)"
        return "will be destroyed"
    return "is unchanged"


def drift_outcome(rc: ResourceChange) -> str:
    """For a drifted resource, what apply does about it."""
    return {
        "update": "apply will update it in-place to match the declarations",
        "replace": "apply will replace it",
        "delete": "apply will destroy it",
        "create": "apply will create it",
    }.get(rc.action, "apply leaves it as it is")


def reasons(rc: ResourceChange) -> list[str]:
    """The reasons worth printing under the headline (those it does not already say)."""
    out = []
    for reason in rc.reasons:
        if rc.orphan and not rc.drift and reason == _SAID_BY_ORPHAN:
            continue
        if rc.drift and reason.startswith(_SAID_BY_DRIFT):
            continue
        out.append(reason)
    return out


def flags(rc: ResourceChange) -> list[str]:
    """Short labels for what needs a reviewer's attention."""
    out = []
    if rc.drift:
        out.append("drift")
    if rc.breaking:
        out.append("breaking")
    if rc.orphan:
        out.append("orphan")
    if rc.duplicate:
        out.append("duplicate")
    return out


def change_mark(change: FieldChange) -> str:
    """``+`` for a field that appears, ``-`` for one that goes, ``~`` otherwise."""
    if change.before is None and change.after is not None:
        return "+"
    if change.after is None and change.before is not None:
        return "-"
    return "~"


def is_text_change(change: FieldChange) -> bool:
    """Changes shown as a unified diff: instructions (a release's too) and any multi-line
    text."""
    if change.path == "instructions" or change.path.endswith(".instructions"):
        return True
    return any(isinstance(v, str) and "\n" in v for v in (change.before, change.after))


def is_structured_change(change: FieldChange) -> bool:
    """Both sides are long structures: shown as a diff of their pretty JSON."""
    sides = [v for v in (change.before, change.after) if v is not None]
    return (
        len(sides) == 2
        and all(isinstance(v, dict | list) for v in sides)
        and any(len(inline(v)) > INLINE_WIDTH for v in sides)
    )


def change_diff(change: FieldChange, context: int) -> list[str]:
    """Unified diff lines (``@@``, ``-old``, ``+new``, `` same``) for a long change."""
    if is_text_change(change):
        before, after = change.before, change.after
        old = before if isinstance(before, str) else (None if before is None else inline(before))
        new = after if isinstance(after, str) else (None if after is None else inline(after))
        return text_diff(old, new, context=context).splitlines()
    return text_diff(
        "\n".join(value_lines(change.before)), "\n".join(value_lines(change.after)), context
    ).splitlines()


def inline(value: Any) -> str:
    """A value on one line, as JSON (strings quoted, keys sorted)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def value_lines(value: Any) -> list[str]:
    """A value as lines: multi-line text as its lines, long structures as pretty JSON."""
    if isinstance(value, str) and "\n" in value:
        return value.splitlines()
    one = inline(value)
    if isinstance(value, dict | list) and len(one) > INLINE_WIDTH:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str).split(
            "\n"
        )
    return [one]


def fold(lines: list[str], max_lines: int) -> tuple[list[str], int]:
    """The first ``max_lines`` lines and how many were left out."""
    if len(lines) <= max_lines:
        return lines, 0
    return lines[:max_lines], len(lines) - max_lines


def more_lines(hidden: int) -> str:
    """The note that stands for folded lines."""
    return f"… ({hidden} more line{'s' if hidden != 1 else ''})"


def plural(n: int, word: str) -> str:
    """``1 resource``, ``3 resources``."""
    return f"{n} {word}{'s' if n != 1 else ''}"
