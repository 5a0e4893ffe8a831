"""``assistops apply`` and ``assistops destroy``: converge live state, then verify."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import F, env_option, project_option, target_option
from assistops.cli.plan import show_plan
from assistops.engine.options import Event
from assistops.engine.plan import Plan
from assistops.errors import PlanError
from assistops.output import render_text


class _Reporter:
    """Shows apply's progress: a bar per indexing store on a terminal, lines otherwise."""

    def __init__(self) -> None:
        self.console = make_console(stderr=True)
        self.live = sys.stderr.isatty()
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Reporter:
        if self.live:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "index":
            if self.progress is not None:
                if event.address not in self.tasks:
                    self.tasks[event.address] = self.progress.add_task(
                        f"indexing {event.address}", total=event.total
                    )
                self.progress.update(self.tasks[event.address], completed=event.done)
            elif event.done == event.total:
                self.console.print(
                    f"  {event.address}: {event.done}/{event.total} files indexed", markup=False
                )
            return
        if event.kind == "phase":
            self.console.print(f"- {event.message} ({event.total})", markup=False)
        elif event.kind == "step":
            self.console.print(f"  {event.message}: {event.address}", markup=False)


def _confirm(auto_approve: bool, verb: str) -> api.ConfirmFn:
    def confirm(plan: Plan) -> bool:
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise PlanError(
                f"refusing to {verb} without confirmation: standard input is not a terminal. "
                "Review 'assistops plan' and pass --auto-approve (or apply a saved plan file "
                "with --auto-approve)."
            )
        click.echo(render_text(plan, color=sys.stdout.isatty()), nl=False)
        answer = click.prompt(
            f"\nDo you want to {verb} these changes in {plan.project}/{plan.environment}? "
            "Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    return confirm


def _run(
    project: Path,
    env: str,
    *,
    plan_file: Path | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    allow_delete: bool,
    concurrency: int,
    destroy: bool,
) -> None:
    verb = "destroy" if destroy else "apply"
    out = make_console()
    with _Reporter() as reporter:
        options = api.ApplyOptions(
            plan=api.PlanOptions(targets=targets, destroy=destroy),
            plan_file=plan_file,
            allow_delete=allow_delete,
            concurrency=concurrency,
            on_event=reporter,
        )
        outcome = api.apply(project, env, confirm=_confirm(auto_approve, verb), options=options)
    if outcome.result is None:
        out.print(
            f"No changes. {outcome.plan.project}/{outcome.plan.environment} already "
            "matches the declarations.",
            markup=False,
        )
        return
    s = outcome.plan.summary
    out.print(
        f"{verb.capitalize()} complete: {s.create} added, {s.update} changed, {s.replace} "
        f"replaced, {s.delete} destroyed.",
        markup=False,
    )
    if outcome.reconciled:
        out.print(
            f"Removed duplicates left by retried requests ({outcome.reconciled} round"
            f"{'s' if outcome.reconciled > 1 else ''}).",
            markup=False,
        )
    verify = outcome.verify
    if verify is not None and verify.has_changes:
        click.echo(show_plan(verify, "text", color=False), err=True, nl=False)
        raise PlanError(
            "apply finished but a fresh plan is not empty (shown above); this is a bug or "
            "someone changed the environment meanwhile. Run 'assistops plan' to see it."
        )
    out.print("Verified: a fresh plan shows no changes.", markup=False)


def _common(func: F) -> F:
    func = click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")(func)
    func = click.option(
        "--allow-delete", is_flag=True, help="Allow deletes in a protected environment."
    )(func)
    func = click.option(
        "--concurrency",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="Independent calls in flight at once.",
    )(func)
    return func


@click.command()
@project_option
@env_option
@target_option
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_common
def apply(
    project: Path,
    env: str,
    targets: tuple[str, ...],
    plan_file: Path | None,
    auto_approve: bool,
    allow_delete: bool,
    concurrency: int,
) -> None:
    """Make ENV match the declarations (or apply a saved PLAN_FILE), then verify."""
    _run(
        project,
        env,
        plan_file=plan_file,
        targets=targets,
        auto_approve=auto_approve,
        allow_delete=allow_delete,
        concurrency=concurrency,
        destroy=False,
    )


@click.command()
@project_option
@env_option
@_common
def destroy(
    project: Path, env: str, auto_approve: bool, allow_delete: bool, concurrency: int
) -> None:
    """Delete everything assistops manages in ENV (nothing else is touched)."""
    _run(
        project,
        env,
        plan_file=None,
        targets=(),
        auto_approve=auto_approve,
        allow_delete=allow_delete,
        concurrency=concurrency,
        destroy=True,
    )
