"""What ``import`` and ``export`` print: files written, objects tagged, and the next plan."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.console import Console

from assistops.adopt.flow import Outcome
from assistops.cli.options import shown_path

_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def print_outcome(out: Console, outcome: Outcome, *, verb: str) -> None:
    """Print an import's or export's outcome, ending with what the next plan shows."""
    root = _shown(outcome.root)
    what = ", ".join(outcome.declared) or "nothing (no assistant to export)"
    out.print(f"{verb} {what}.", markup=False)
    out.print(f"Wrote {len(outcome.written)} files in {root}:", markup=False)
    for rel in outcome.written:
        out.print(f"  {rel}", markup=False)
    for title, lines in (
        ("Changed live", outcome.actions),
        ("Skipped", outcome.skipped),
        ("Note", outcome.notes),
    ):
        if lines:
            out.print(f"{title}:", markup=False)
            for line in lines:
                out.print(f"  - {line}", markup=False)
    command = f"assistops plan -C {shlex.quote(root)} -e {outcome.environment}"
    if not outcome.remaining:
        out.print(f"The next plan shows no changes for them ({command}).", markup=False)
    else:
        n = len(outcome.remaining)
        out.print(
            f"The next plan still shows {n} change{'s' if n != 1 else ''} that the declarations "
            "cannot express exactly:",
            markup=False,
        )
        for r in outcome.remaining:
            fields = ", ".join(c.path for c in r.changes)
            why = "; ".join(r.reasons)
            detail = " - ".join(x for x in (fields, why) if x)
            out.print(
                f"  {_SYMBOL.get(r.action, r.action)} {r.address}"
                + (f": {detail}" if detail else ""),
                markup=False,
            )
        out.print(f"See them with: {command}", markup=False)
    if outcome.unrelated:
        out.print(
            f"({outcome.unrelated} other pending change{'s' if outcome.unrelated != 1 else ''} "
            "in the project were there before.)",
            markup=False,
        )


def _shown(path: Path) -> str:
    return shown_path(path)
