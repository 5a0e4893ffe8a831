"""The facade: one function per verb, chaining the pipeline's phases.

    load      YAML files         -> Project              (assistops.config)
    render    Project + env      -> desired state        (assistops.render)
    validate  rendered state     -> problems             (assistops.validate)

The CLI and the tests call these functions; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistops.config.project import Project, load_project
from assistops.errors import ConfigError, Problem
from assistops.payloads import (
    assistant_body,
    logical,
    upload_body,
    vector_store_body,
    vector_store_file_body,
)
from assistops.render.desired import Renderer
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
    report = validate(start, [environment])
    if report.problems:
        raise ConfigError(report.problems)
    project = load_project(start)
    return Renderer(project).render(environment).state


def payloads(start: Path, environment: str, names: list[str] | None = None) -> list[dict[str, Any]]:
    """What would be sent for each resource, references shown as ``${address}``.

    ``names`` limits the output to resources whose logical name or address is listed.
    """
    state = desired(start, environment)
    files = {a: s for a, s in state.resources.items() if isinstance(s, FileSpec)}
    ctx = {"project": state.project, "environment": state.environment, "revision": state.revision}
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
