"""The facade: one function per verb, chaining the pipeline's phases.

    load      YAML files         -> Project              (assistops.config)
    render    Project + env      -> desired state        (assistops.render)
    validate  rendered state     -> problems             (assistops.validate)
    read      provider           -> live state           (assistops.live)
    diff      desired vs live    -> plan                 (assistops.diff, assistops.planner)
    apply     plan + provider    -> changes, verified    (assistops.apply)

The CLI and the tests call these functions; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistops.apply import ApplyOptions, ApplyResult, apply_plan
from assistops.config.project import Project, load_project
from assistops.errors import ConfigError, PlanError, Problem
from assistops.live import read_live
from assistops.locking import exclusive
from assistops.payloads import (
    Context,
    assistant_body,
    logical,
    upload_body,
    vector_store_body,
    vector_store_file_body,
)
from assistops.plan import Plan
from assistops.planner import build_plan
from assistops.providers.base import Reader, Writer
from assistops.render.desired import Renderer
from assistops.saved_plan import check_fresh, read_plan
from assistops.spec import AssistantSpec, DesiredState, FileSpec, VectorStoreSpec
from assistops.validate import check, check_environments


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of ``validate``: every problem, and what was checked."""

    project: str | None
    environments: list[str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def load(start: Path) -> Project:
    """Load the project at or above ``start``."""
    return load_project(start)


def validate(start: Path, environments: list[str] | None = None) -> ValidationReport:
    """Validate the project offline in the given environments (default: all)."""
    try:
        project = load_project(start)
    except ConfigError as exc:
        return ValidationReport(None, [], _unique(exc.problems))
    names = environments or project.environment_names()
    problems: list[Problem] = list(check_environments(project))
    renderer = Renderer(project)
    found: dict[Problem, list[str]] = {}
    for name in names:
        try:
            project.environment(name)
        except ConfigError as exc:
            problems += exc.problems
            continue
        rendered = renderer.render(name)
        for problem in rendered.problems + check(project, rendered):
            found.setdefault(problem, []).append(name)
    checked = [n for n in names if n in project.environment_names()]
    for problem, where in found.items():
        if len(where) < len(checked):
            # e.g. a variable that only some environments define: say which ones fail
            label = "environment" if len(where) == 1 else "environments"
            problem = replace(problem, message=f"{problem.message} (in {label} {', '.join(where)})")
        problems.append(problem)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return ValidationReport(project.name, names, _unique(problems))


def desired(start: Path, environment: str) -> DesiredState:
    """The desired state of one environment; raises ConfigError listing every problem."""
    return _desired_state(load_project(start), environment)


def payloads(start: Path, environment: str, names: list[str] | None = None) -> list[dict[str, Any]]:
    """What would be sent for each resource, references shown as ``${address}``.

    ``names`` limits the output to resources whose logical name or address is listed.
    """
    state = desired(start, environment)
    files = {a: s for a, s in state.resources.items() if isinstance(s, FileSpec)}
    ctx: Context = {
        "project": state.project,
        "environment": state.environment,
        "revision": state.revision,
    }
    out: list[dict[str, Any]] = []
    for spec in state.resources.values():
        if names and not _selected(spec, names):
            continue
        if isinstance(spec, FileSpec):
            entry = {
                "address": spec.address,
                "request": "POST /v1/files",
                "body": upload_body(spec, project=state.project, environment=state.environment),
            }
            out.append(entry)
            if spec.owner.startswith("vector_store."):
                store = state.resources[spec.owner]
                assert isinstance(store, VectorStoreSpec)
                out.append(
                    {
                        "address": spec.address,
                        "request": f"POST /v1/vector_stores/{logical(store.address)}/files",
                        "body": vector_store_file_body(spec, store, resolve=logical),
                    }
                )
        elif isinstance(spec, VectorStoreSpec):
            out.append(
                {
                    "address": spec.address,
                    "request": "POST /v1/vector_stores",
                    "body": vector_store_body(spec, **ctx),
                }
            )
        elif isinstance(spec, AssistantSpec):
            out.append(
                {
                    "address": spec.address,
                    "request": "POST /v1/assistants",
                    "body": assistant_body(spec, resolve=logical, files=files, **ctx),
                }
            )
    return out


def _selected(spec: AssistantSpec | VectorStoreSpec | FileSpec, names: list[str]) -> bool:
    if spec.name in names or spec.address in names:
        return True
    return isinstance(spec, FileSpec) and spec.owner.split(".", 1)[1] in names


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


# -- plan and apply -----------------------------------------------------------------------------


ConfirmFn = Callable[[Plan], bool]


@dataclass
class ApplyOutcome:
    """What ``apply`` did and what a fresh plan says afterwards."""

    plan: Plan
    result: ApplyResult | None
    verify: Plan | None
    reconciled: int = 0


def open_writer(project: Project, environment: str) -> Writer:
    """The provider of ``environment``, able to write (apply only)."""
    from assistops.providers import open_provider

    return open_provider(project, environment)


def compute_plan(
    project: Project,
    environment: str,
    reader: Reader,
    *,
    targets: list[str] | None = None,
    destroy: bool = False,
) -> Plan:
    """Render the desired state, read live state, and diff them into a plan."""
    state = _desired_state(project, environment)
    if destroy:
        state = state.model_copy(update={"resources": {}})
    if targets:
        unknown = [t for t in targets if t not in state.resources]
        if unknown:
            raise PlanError(
                f"unknown target {', '.join(unknown)}; addresses look like assistant.<name>, "
                "vector_store.<name> or file.<store>:<path> (see 'assistops plan')"
            )
    live = read_live(reader, project.name, environment)
    return build_plan(state, live, provider=reader.label, targets=targets)


def plan(
    start: Path, environment: str, *, targets: list[str] | None = None, destroy: bool = False
) -> Plan:
    """Compute the plan of one environment (reads live state, changes nothing)."""
    project = load_project(start)
    reader = open_writer(project, environment)
    try:
        return compute_plan(project, environment, reader, targets=targets, destroy=destroy)
    finally:
        reader.close()


def apply(
    start: Path,
    environment: str,
    *,
    confirm: Callable[[Plan], bool],
    plan_file: Path | None = None,
    targets: list[str] | None = None,
    destroy: bool = False,
    allow_delete: bool = False,
    options: ApplyOptions | None = None,
) -> ApplyOutcome:
    """Plan (or load a saved plan and check it is fresh), confirm, apply, verify.

    ``confirm`` sees the plan and returns False to cancel. After apply a fresh plan is computed:
    duplicates that the SDK's retries created meanwhile are removed (up to twice), and anything
    else left is reported by the caller as a failure.
    """
    project = load_project(start)
    saved = read_plan(plan_file) if plan_file is not None else None
    if saved is not None:
        environment = saved.environment
        targets, destroy = None, False
    env = project.environment(environment)
    options = options or ApplyOptions()
    writer = open_writer(project, environment)
    lock_path = writer.lock_path()
    lock: AbstractContextManager[None] = (
        exclusive(lock_path, "destroy" if destroy else "apply") if lock_path else nullcontext()
    )
    try:
        with lock:
            return _apply_locked(
                project,
                environment,
                writer,
                confirm=confirm,
                saved=saved,
                plan_file=plan_file,
                targets=targets,
                destroy=destroy,
                allow_delete=allow_delete,
                options=options,
                protected=env.protected,
            )
    finally:
        writer.close()


def _apply_locked(
    project: Project,
    environment: str,
    writer: Writer,
    *,
    confirm: ConfirmFn,
    saved: Plan | None,
    plan_file: Path | None,
    targets: list[str] | None,
    destroy: bool,
    allow_delete: bool,
    options: ApplyOptions,
    protected: bool,
) -> ApplyOutcome:
    current = compute_plan(project, environment, writer, targets=targets, destroy=destroy)
    if saved is not None and plan_file is not None:
        check_fresh(saved, current, plan_file)
    if protected and current.deletes and not allow_delete:
        names = ", ".join(r.address for r in current.deletes[:5])
        raise PlanError(
            f"environment '{environment}' is protected and the plan deletes {names}"
            f"{' ...' if len(current.deletes) > 5 else ''}; nothing was changed. "
            "Re-run with --allow-delete if that is intended."
        )
    if not current.has_changes:
        return ApplyOutcome(current, None, current)
    if not confirm(current):
        raise PlanError("apply cancelled; nothing was changed")
    result = apply_plan(current, writer, project.root, options)
    verify = compute_plan(project, environment, writer, targets=targets, destroy=destroy)
    reconciled = 0
    while verify.has_changes and reconciled < 2 and _only_duplicates(verify):
        apply_plan(verify, writer, project.root, options)
        reconciled += 1
        verify = compute_plan(project, environment, writer, targets=targets, destroy=destroy)
    return ApplyOutcome(current, result, verify, reconciled)


def _only_duplicates(plan: Plan) -> bool:
    return all(r.duplicate for r in plan.changes)


def _desired_state(project: Project, environment: str) -> DesiredState:
    renderer = Renderer(project)
    rendered = renderer.render(environment)
    problems = _unique(rendered.problems + check(project, rendered) + check_environments(project))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return rendered.state
