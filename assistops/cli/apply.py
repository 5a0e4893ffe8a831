"""``assistops apply`` and ``assistops destroy``: converge live state, then verify."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistops import api
from assistops.cli.console import can_redraw, make_console, use_color
from assistops.cli.options import (
    F,
    command,
    env_option,
    examples,
    format_option,
    global_options,
    target_option,
)
from assistops.cli.plan import target_note
from assistops.engine.options import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, Event
from assistops.engine.plan import Plan
from assistops.errors import PlanError
from assistops.output import plan_document, render_compact, render_text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Reporter:
    """Shows apply's progress on stderr: a line when a phase starts (phases overlap: a step
    starts once what it needs is done), one line per step as each one finishes, its indexing
    included (``attach files: vector_store.docs (4/4 files indexed)``); on a terminal a bar per
    store while it indexes. Events come one at a time (apply serializes them).

    The live display starts with the first event, that is after the confirmation prompt: a
    display running during the prompt would redraw over what the person types.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.console = make_console(stderr=True)
        self.live = can_redraw(sys.stderr) and not quiet
        self.quiet = quiet
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.indexed: dict[str, tuple[int, int]] = {}

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _bar(self, event: Event) -> None:
        if self.progress is None:
            # imported with the first bar: a run that draws none never pays for rich's progress
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if event.address not in self.tasks:
            self.tasks[event.address] = self.progress.add_task(
                f"indexing {event.address}", total=event.total
            )
        self.progress.update(self.tasks[event.address], completed=event.done)

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if event.kind == "index":
            self.indexed[event.address] = (event.done, event.total)
            if self.live:
                self._bar(event)
            return
        if event.kind == "phase":
            self._line(f"- {event.message} ({event.total})")
        elif event.kind == "step":
            line = f"  {event.message}: {event.address}"
            if event.address in self.indexed:
                done, total = self.indexed.pop(event.address)
                line += f" ({done}/{total} files indexed)"
                if self.progress is not None and event.address in self.tasks:
                    self.progress.remove_task(self.tasks.pop(event.address))
            self._line(line)

    def _line(self, text: str) -> None:
        """One line of plain text. While a bar is shown rich must draw it (the bar is redrawn
        below); otherwise it is written as is: thousands of steps would spend more CPU in
        rich's rendering than in their calls."""
        if self.progress is not None:
            self.console.print(text, markup=False, highlight=False)
        else:
            self.console.file.write(text + "\n")


def _confirm(*, auto_approve: bool, saved: bool, verb: str, fmt: str) -> api.ConfirmFn:
    def confirm(plan: Plan) -> bool:
        if auto_approve or saved:
            # what is about to change, one line a resource, before anything is done
            if fmt != "json":
                click.echo(render_compact(plan, color=use_color()), nl=False)
                note = target_note(plan)
                if note:
                    click.echo(note)
            return True
        if not sys.stdin.isatty():
            again = (
                "assistops destroy --auto-approve"
                if verb == "destroy"
                else (
                    "assistops apply --auto-approve, or save a plan with 'assistops plan --out "
                    "FILE' and apply that file"
                )
            )
            raise PlanError(
                f"refusing to {verb} without confirmation: standard input is not a terminal. "
                f"Review 'assistops plan{' --destroy' if verb == 'destroy' else ''}', then run "
                f"{again}"
            )
        click.echo(render_text(plan, color=use_color()), nl=False)
        note = target_note(plan)
        if note:
            click.echo(note)
        answer = click.prompt(
            f"\nDo you want to {verb} these changes in {plan.project}/{plan.environment}? "
            "Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    return confirm


def _run(
    env: str | None,
    *,
    plan_file: Path | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    allow_delete: bool,
    concurrency: int,
    destroy: bool,
    fmt: str,
) -> None:
    verb = "destroy" if destroy else "apply"
    if fmt == "json" and not (auto_approve or plan_file):
        raise click.UsageError(
            f"--format json needs --auto-approve{' or a saved plan' if not destroy else ''}: "
            "machine output has no prompt"
        )
    with Reporter(quiet=fmt == "json") as reporter:
        options = api.ApplyOptions(
            plan=api.PlanOptions(targets=targets, destroy=destroy),
            plan_file=plan_file,
            allow_delete=allow_delete,
            concurrency=concurrency,
            on_event=reporter,
        )
        confirm = _confirm(
            auto_approve=auto_approve, saved=plan_file is not None, verb=verb, fmt=fmt
        )
        outcome = api.apply(Path("."), env, confirm=confirm, options=options)
    report_outcome(
        outcome, verb=verb, destroy=destroy, fmt=fmt, document=lambda: apply_document(outcome, verb)
    )


def report_outcome(
    outcome: api.ApplyOutcome,
    *,
    verb: str,
    destroy: bool,
    fmt: str,
    document: Callable[[], dict[str, Any]],
) -> None:
    """What apply (destroy, promote) prints once it is done: the JSON ``document`` (built
    only then: a large plan's document costs more than the summary), or the summary and the
    verification; a fresh plan that is not empty is an error."""
    out = make_console()
    plan = outcome.plan
    verify = outcome.verify
    failed = verify is not None and verify.has_changes
    if fmt == "json":
        if not failed:
            click.echo(json.dumps(document(), indent=2, sort_keys=True))
    elif outcome.result is None:
        what = "nothing assistops manages is left" if destroy else "it already matches"
        out.print(
            f"No changes: {what} in {plan.project}/{plan.environment}.",
            markup=False,
        )
    else:
        s = plan.summary
        out.print(
            f"{verb.capitalize()} complete: {s.create} added, {s.update} changed, {s.replace} "
            f"replaced, {s.delete} destroyed.",
            markup=False,
        )
        if outcome.concurrent and not failed:
            out.print(
                "Another apply changed this environment at the same time; this one waited for "
                "it and converged with it.",
                markup=False,
            )
        elif outcome.reconciled:
            out.print(
                f"Removed duplicates left by retried requests ({outcome.reconciled} round"
                f"{'s' if outcome.reconciled > 1 else ''}).",
                markup=False,
            )
        if not failed:
            verified = (
                f"Verified: nothing assistops manages is left in {plan.environment}."
                if destroy
                else "Verified: a fresh plan shows no changes."
            )
            out.print(verified, markup=False)
    if failed and verify is not None:
        if fmt != "json":
            click.echo(render_text(verify, color=False), err=True, nl=False)
        if outcome.concurrent:
            raise PlanError(
                f"{verb} finished but a fresh plan is not empty (shown above). {api.CONCURRENT}"
            )
        raise PlanError(
            f"{verb} finished but a fresh plan is not empty (shown above); this is a bug or "
            "someone changed the environment meanwhile. See it with: "
            + command(f"plan -e {plan.environment}{' --destroy' if destroy else ''}")
        )


def apply_document(outcome: api.ApplyOutcome, verb: str) -> dict[str, Any]:
    """What ``apply --format json`` prints (docs/cli.md): what was planned and done."""
    s = outcome.plan.summary
    return {
        "format_version": 1,
        "command": verb,
        "project": outcome.plan.project,
        "environment": outcome.plan.environment,
        "applied": outcome.result is not None,
        "summary": {
            "create": s.create,
            "update": s.update,
            "replace": s.replace,
            "delete": s.delete,
        },
        "verified": outcome.verify is None or not outcome.verify.has_changes,
        "reconciled": outcome.reconciled,
        "concurrent": outcome.concurrent,
        "plan": plan_document(outcome.plan),
    }


def apply_flags(func: F) -> F:
    """``--auto-approve``, ``--allow-delete`` and ``--concurrency``, as apply takes them."""
    func = click.option(
        "--auto-approve", is_flag=True, help="Skip the confirmation prompt (the plan is shown)."
    )(func)
    func = click.option(
        "--allow-delete", is_flag=True, help="Allow deletes in a protected environment."
    )(func)
    func = click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Independent calls in flight at once; a rate limit (429) halves it for a while.",
    )(func)
    return func


def apply_options(func: F) -> F:
    """apply's flags and ``--format text|json``."""
    return format_option("text", "json", default="text")(apply_flags(func))


@click.command()
@env_option
@target_option
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@apply_options
@global_options
@examples(
    "assistops apply                          # shows the plan, asks for 'yes'",
    "assistops apply -e staging --auto-approve",
    "assistops plan -e prod --out plan.json && assistops apply plan.json",
    "assistops apply -e prod --target support",
)
def apply(
    env: str | None,
    targets: tuple[str, ...],
    plan_file: Path | None,
    auto_approve: bool,
    allow_delete: bool,
    concurrency: int,
    fmt: str,
) -> None:
    """Make ENV match the declarations, then verify that a fresh plan is empty.

    With PLAN_FILE (from 'plan --out'), apply exactly that plan, without a prompt: it was
    reviewed when it was saved, and it is refused if anything changed since. Its environment
    is the plan's; -e, if given, must name it.
    """
    if plan_file is not None and targets:
        raise click.UsageError("a saved plan carries its own targets; drop --target")
    _run(
        env,
        plan_file=plan_file,
        targets=targets,
        auto_approve=auto_approve,
        allow_delete=allow_delete,
        concurrency=concurrency,
        destroy=False,
        fmt=fmt,
    )


@click.command()
@env_option
@apply_options
@global_options
@examples(
    "assistops plan --destroy -e staging      # see what would go",
    "assistops destroy -e staging",
    "assistops destroy -e staging --auto-approve",
)
def destroy(
    env: str | None, auto_approve: bool, allow_delete: bool, concurrency: int, fmt: str
) -> None:
    """Delete everything assistops manages in ENV (nothing else is touched)."""
    _run(
        env,
        plan_file=None,
        targets=(),
        auto_approve=auto_approve,
        allow_delete=allow_delete,
        concurrency=concurrency,
        destroy=True,
        fmt=fmt,
    )
