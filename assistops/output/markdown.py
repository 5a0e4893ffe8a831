"""A plan as Markdown for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

A heading with the summary line, a table with one row per change, then one collapsible
``<details>`` block per resource holding a ``diff`` code block. GitHub refuses comments longer
than 65,536 characters, so the output stays under ``limit`` by folding, in this order, and
saying what it folded: details are cut first; when the table alone is too long it becomes a
list of one short line per resource, grouped under the addresses' common prefixes; only when
even that list does not fit are its last lines counted instead of shown.
"""

from __future__ import annotations

import html
import re
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
    flags,
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

#: GitHub's maximum length of an issue or pull-request comment, in characters.
GITHUB_COMMENT_LIMIT = 65536
DEFAULT_LIMIT = 60000

_EMOJI = {"create": "🟢", "update": "🟡", "replace": "🟣", "delete": "🔴"}
_FLAG_LABELS = {
    "drift": "⚠️ drift",
    "breaking": "💥 breaking",
    "orphan": "orphan",
    "duplicate": "duplicate",
}
_CELL_WIDTH = 160
_FOOTER_ROOM = 200  # kept free for the truncation note
_MIN_SHARE = 2500  # a cut detail block still shows a useful part of its diff
_DELETES_NAMED = 10  # a callout naming more is a wall of text: the table lists them all


def render_markdown(
    plan: Plan,
    *,
    limit: int = DEFAULT_LIMIT,
    context: int = 3,
    max_lines: int = DEFAULT_MAX_LINES,
    steps: bool = False,
) -> str:
    """The plan as GitHub-flavoured Markdown, at most ``limit`` characters long.

    ``steps`` adds a block saying what apply does, phase by phase (shown anyway when the plan
    has steps but no resource changes), when it fits.
    """
    changes = plan.changes
    head, listed = _head(plan, limit)
    if not changes and not plan.has_changes:
        return head
    if listed:
        return head  # too many changes for a table: every detail is folded, as it says
    parts = [head]
    room = limit - len(head) - _FOOTER_ROOM
    bodies = [(_summary(rc), _body(rc, context=context, max_lines=max_lines)) for rc in changes]
    blocks = [_details(summary, lines) for summary, lines in bodies]
    if sum(len(b) + 1 for b in blocks) > room:
        # share the room so that one huge diff does not hide every other resource
        blocks = _share(bodies, blocks, room)
    parts += blocks
    room -= sum(len(b) + 1 for b in blocks)
    shown = len(blocks)
    left = len(changes) - shown
    if left:
        parts.append(
            f"_Details of {plural(left, 'more change')} folded to fit GitHub's comment limit; "
            "every change is listed above, and the full plan is in the job log._\n"
        )
    elif steps or not changes:
        block = _details("What apply will do", _step_lines(plan))
        if len(block) + 1 <= room:
            parts.append(block)
    return "\n".join(parts)


def _share(bodies: list[tuple[str, list[str]]], blocks: list[str], room: int) -> list[str]:
    """Blocks in plan order, each cut to its fair share of ``room`` (at least ``_MIN_SHARE``)."""
    out: list[str] = []
    for i, ((summary, lines), block) in enumerate(zip(bodies, blocks, strict=True)):
        share = min(room, max(room // (len(blocks) - i), _MIN_SHARE)) - 1
        fitted = block if len(block) <= share else _cut_details(summary, lines, share)
        if fitted is None:
            break
        out.append(fitted)
        room -= len(fitted) + 1
    return out


# -- heading and table ----------------------------------------------------------------------------


def _head(plan: Plan, limit: int) -> tuple[str, bool]:
    """The heading, the summary and the table, or, when the table is too long for ``limit``,
    the one-line-per-resource list (then True)."""
    lines = [
        f"### assistops plan: {_code(plan.project)} / {_code(plan.environment)}",
        "",
        f"**{summary_line(plan)}**",
        "",
    ]
    meta = f"Provider {_code(plan.provider_label)}, revision {_code(plan.revision)}."
    if plan.api != "assistants":
        meta = f"Assistants deployed as {plan.api}. " + meta
    unchanged = unchanged_count(plan)
    if unchanged:
        note = "not shown" if plan.changes else "checked"
        meta += f" {plural(unchanged, 'unchanged resource')} {note}."
    lines += [meta, ""]
    breaking = breaking_count(plan)
    if breaking:
        lines += [
            f"> 💥 **{plural(breaking, 'change')} may break apps that implement the functions.**"
            " Update those apps first.",
            "",
        ]
    deletes = plan.deletes
    if deletes:
        named = ", ".join(_code(r.address) for r in deletes[:_DELETES_NAMED])
        more = len(deletes) - _DELETES_NAMED
        lines += [
            f"> 🔴 **{plural(len(deletes), 'resource')} will be destroyed:** {named}"
            + (f" and {more} more" if more > 0 else "")
            + ".",
            "",
        ]
    changes = plan.changes
    if not changes:
        return "\n".join(lines) + "\n", False
    head = "\n".join(lines) + "\n"
    table = [
        "| | Resource | Action | What changes | Flags |",
        "| :-: | --- | --- | --- | --- |",
        *(_row(rc) for rc in changes),
    ]
    room = limit - len(head) - _FOOTER_ROOM
    text = "\n".join(table) + "\n"
    if len(text) <= room:
        return head + text, False
    # too many rows for a table: one short line per resource instead, details folded
    return head + _compact(changes, room), True


def _compact(changes: list[ResourceChange], room: int) -> str:
    """One line per resource in a ``diff`` block (GitHub colours ``+`` and ``-``), under
    ``# <prefix> (<count>)`` lines naming the common part of the addresses that follow."""
    note = (
        f"_{plural(len(changes), 'change')}: too many for a table within GitHub's comment "
        "limit, so each is one line below, grouped by address prefix; their details are "
        "folded (the full plan is in the job log)._\n\n"
    )
    lines: list[str] = []
    for prefix, group in _groups(changes):
        lines.append(f"# {prefix} ({len(group)})")
        lines += [f"{SYMBOLS[rc.action]} {rest}" for rc, rest in group]
    fence = _fence(lines)
    fixed = len(note) + len(f"{fence}diff\n{fence}\n") + _FOOTER_ROOM
    kept, used = [], fixed
    for i, line in enumerate(lines):
        if used + len(line) + 1 > room:
            left = sum(1 for rest in lines[i:] if not rest.startswith("# "))
            kept.append(f"# … {plural(left, 'more resource')} not shown: see the job log")
            break
        kept.append(line)
        used += len(line) + 1
    body = "".join(line + "\n" for line in kept)
    return f"{note}{fence}diff\n{body}{fence}\n"


def _groups(changes: list[ResourceChange]) -> list[tuple[str, list[tuple[ResourceChange, str]]]]:
    """Consecutive changes sharing an address prefix (``assistant.``, or a file's
    ``file.<store>:<folder>/``), each with the rest of its address."""
    out: list[tuple[str, list[tuple[ResourceChange, str]]]] = []
    for rc in changes:
        cut = rc.address.rfind("/") + 1 or rc.address.find(":") + 1 or rc.address.find(".") + 1
        prefix, rest = rc.address[:cut], rc.address[cut:]
        if out and out[-1][0] == prefix:
            out[-1][1].append((rc, rest))
        else:
            out.append((prefix, [(rc, rest)]))
    return out


def _row(rc: ResourceChange) -> str:
    symbol = f"{_EMOJI.get(rc.action, '')} {_code(SYMBOLS[rc.action])}"
    cells = [
        symbol,
        _code(rc.address),
        rc.action,
        _what(rc),
        ", ".join(_FLAG_LABELS[f] for f in flags(rc)),
    ]
    return "| " + " | ".join(cells) + " |"


def _what(rc: ResourceChange) -> str:
    """The changed paths (as many as fit in a cell), or why the resource goes."""
    if rc.changes:
        parts: list[str] = []
        used = 0
        for n, change in enumerate(rc.changes):
            code = _code(change.path)
            if parts and used + len(code) + 2 > _CELL_WIDTH:
                return ", ".join(parts) + f" and {len(rc.changes) - n} more"
            parts.append(code)
            used += len(code) + 2
        return ", ".join(parts)
    if rc.action == "create":
        return "new"
    text = "; ".join(rc.reasons).replace("\n", " ")
    if len(text) > _CELL_WIDTH:
        text = text[: _CELL_WIDTH - 1] + "…"
    return html.escape(text).replace("|", "\\|")


# -- details --------------------------------------------------------------------------------------


def _summary(rc: ResourceChange) -> str:
    return f"<code>{html.escape(SYMBOLS[rc.action] + ' ' + rc.address)}</code> {headline(rc)}"


def _fence(lines: list[str]) -> str:
    """A code fence longer than any backtick run in the block (values may hold fences)."""
    return "`" * max(3, max((_longest_backtick_run(line) for line in lines), default=0) + 1)


def _details(summary: str, lines: list[str], fence: str | None = None) -> str:
    fence = fence or _fence(lines)
    body = "".join(line + "\n" for line in lines)
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n"


def _cut_details(summary: str, lines: list[str], room: int) -> str | None:
    """The block with as many lines as fit in ``room`` and a note saying so; None if none fit."""
    fence = _fence(lines)
    note = "# … {} more lines not shown; see the full plan in the job log"
    fixed = len(_details(summary, [note.format(len(lines))], fence))
    keep, used = 0, fixed
    for line in lines:
        if used + len(line) + 1 > room:
            break
        used += len(line) + 1
        keep += 1
    if keep == 0:
        return None
    return _details(summary, [*lines[:keep], note.format(len(lines) - keep)], fence)


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _body(rc: ResourceChange, *, context: int, max_lines: int) -> list[str]:
    lines = []
    if rc.drift:
        lines.append(f"# {drift_outcome(rc)}")
    lines += [f"# {r}" for r in reasons(rc)]
    if rc.id:
        lines.append(f"# id: {rc.id}")
    for change in rc.changes:
        lines += _change(change, context=context, max_lines=max_lines)
    shown = rc.after if rc.action in ("create", "replace") else None
    if rc.action == "delete":
        shown = rc.before
    mark = "-" if rc.action == "delete" else "+"
    for key, value in (shown or {}).items():
        lines += _value(mark, key, value, max_lines)
    return lines


def _change(change: FieldChange, *, context: int, max_lines: int) -> list[str]:
    mark = change_mark(change)
    if is_text_change(change) or is_structured_change(change):
        lines = [f"  {change.path}:", *change_diff(change, context)]
    elif mark == "~":
        lines = [
            f"- {change.path}: {inline(change.before)}",
            f"+ {change.path}: {inline(change.after)}",
        ]
    else:
        value = change.after if mark == "+" else change.before
        lines = _value(mark, change.path, value, max_lines)
    if change.breaking:
        lines.append(f"! breaking: {change.breaking}")
    return lines


def _value(mark: str, key: str, value: Any, max_lines: int) -> list[str]:
    lines = value_lines(value)
    if len(lines) == 1:
        return [f"{mark} {key}: {lines[0]}"]
    shown, hidden = fold(lines, max_lines)
    out = [f"{mark} {key}:"] + [f"{mark}     {line}" for line in shown]
    if hidden:
        out.append(f"      {more_lines(hidden)}")
    return out


def _step_lines(plan: Plan) -> list[str]:
    out = []
    for phase, descriptions in explain_steps(plan):
        out.append(f"# {phase}")
        out += [f"  {d}" for d in descriptions]
    return out


# -- escaping -------------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code that survives backticks and table pipes in the text."""
    text = text.replace("|", "\\|")
    ticks = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


# -- several environments in one comment -----------------------------------------------------------


def environment_line(plan: Plan) -> str:
    """One line for an environment: where, its summary, and what a reviewer must not miss."""
    marks = []
    breaking = breaking_count(plan)
    if breaking:
        marks.append(f"💥 {plural(breaking, 'breaking change')}")
    if plan.deletes:
        marks.append(f"🔴 {plural(len(plan.deletes), 'delete')}")
    drifted = sum(1 for r in plan.resources if r.drift)
    if drifted:
        marks.append(f"⚠️ {drifted} drifted")
    tail = f" ({', '.join(marks)})" if marks else ""
    return f"- {_code(plan.environment)}: {summary_line(plan)}{tail}"


def render_markdown_many(
    plans: list[Plan], *, limit: int = DEFAULT_LIMIT, max_lines: int = DEFAULT_MAX_LINES
) -> str:
    """Several environments' plans as one comment: a one-line summary per environment first,
    then each plan, all within ``limit`` (each plan gets an equal share of what is left, and
    what one does not use goes to the next)."""
    if len(plans) == 1:
        return render_markdown(plans[0], limit=limit, max_lines=max_lines)
    project = ", ".join(dict.fromkeys(_code(p.project) for p in plans))
    head = "\n".join(
        [f"## assistops plan: {project}", "", *(environment_line(p) for p in plans), ""]
    )
    parts = [head]
    room = limit - len(head) - 1
    for i, plan in enumerate(plans):
        share = room // (len(plans) - i)
        text = render_markdown(plan, limit=share, max_lines=max_lines)
        parts.append(text)
        room -= len(text) + 1
    return "\n".join(parts)
