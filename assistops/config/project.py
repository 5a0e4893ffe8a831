"""Find and load a project from disk: ``assistops.yaml`` and the declarations it points at."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from assistops.config.models import NAME_PATTERN, Environment, ProjectFile
from assistops.config.problems import problems_from_validation
from assistops.config.yamlio import Document, load_yaml
from assistops.errors import ConfigError, Problem

PROJECT_FILE = "assistops.yaml"
LOCAL = "local"


@dataclass
class Declaration:
    """One assistant or vector-store file, parsed but not yet merged or validated."""

    kind: str  # "assistant" | "vector_store"
    name: str
    file: str  # project-relative path, as errors show it
    doc: Document


@dataclass
class Project:
    """A loaded project: the validated project file and the raw declarations."""

    root: Path
    config: ProjectFile
    doc: Document
    assistants: dict[str, Declaration] = field(default_factory=dict)
    vector_stores: dict[str, Declaration] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The project name."""
        return self.config.project

    def environment_names(self) -> list[str]:
        """The declared environments, in the order assistops.yaml lists them (no implicit one:
        an environment exists when it is declared)."""
        return list(self.config.environments)

    def default_environment(self) -> str:
        """The environment a command uses without ``-e``: the first one declared."""
        names = self.environment_names()
        if not names:
            raise ConfigError([self._no_environment()])
        return names[0]

    def environment(self, name: str) -> Environment:
        """An environment by name; raises ConfigError naming the choices."""
        if name in self.config.environments:
            return self.config.environments[name]
        names = self.environment_names()
        if not names:
            raise ConfigError([self._no_environment()])
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            [
                Problem(
                    PROJECT_FILE,
                    self.doc.line_of(("environments",)),
                    "environments",
                    f"no environment named '{name}'",
                    f"{hint}use one of: {', '.join(names)}",
                )
            ]
        )

    def _no_environment(self) -> Problem:
        return Problem(
            PROJECT_FILE,
            self.doc.line_of(("environments",)) or 1,
            "environments",
            "no environment is declared",
            f"declare one, e.g. 'environments: {{{LOCAL}: {{provider: local}}}}' (the embedded "
            "backend: no key, no network)",
        )


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds an assistops.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ConfigError(
        [
            Problem(
                str(start),
                None,
                "",
                f"no {PROJECT_FILE} here or in any parent folder",
                "run 'assistops init' to create a project, or pass -C DIR",
            )
        ]
    )


def relative(root: Path, path: Path) -> str:
    """``path`` relative to the project root, in POSIX form."""
    return path.relative_to(root).as_posix()


def unsafe_pattern(pattern: str) -> str | None:
    """Why a project-relative path or glob is refused, or None when it is fine."""
    if not pattern:
        return "empty path"
    if (
        pattern.startswith(("/", "\\"))
        or PurePosixPath(pattern).is_absolute()
        or ":" in pattern[:3]
    ):
        return "absolute paths are not allowed; write it relative to the project"
    if ".." in PurePosixPath(pattern).parts:
        return "'..' is not allowed: paths must stay inside the project"
    return None


def load_project(start: Path) -> Project:
    """Load the project at or above ``start``; raise ConfigError listing every problem."""
    project, problems = load_project_leniently(start)
    if problems:
        raise ConfigError(problems)
    return project


def load_project_leniently(start: Path) -> tuple[Project, list[Problem]]:
    """The project at or above ``start`` without the declaration files that cannot be read,
    and the problems of those: ``validate`` goes on to report what is wrong elsewhere.
    Raises ConfigError only when assistops.yaml itself cannot be read."""
    root = find_root(start)
    doc = load_yaml(root / PROJECT_FILE, PROJECT_FILE)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [
                Problem(
                    PROJECT_FILE,
                    1,
                    "",
                    "expected a mapping with 'project:' and 'environments:'",
                    "see the file 'assistops init' writes",
                )
            ]
        )
    try:
        config = ProjectFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(
                exc,
                ProjectFile,
                doc.data,
                lambda loc: (PROJECT_FILE, doc.line_of(loc)),
                scalars=doc.scalars,
            )
        ) from None
    project = Project(root=root, config=config, doc=doc)
    problems: list[Problem] = []
    why = unsafe_pattern(config.paths.partials)
    if why:
        line = doc.line_of(("paths", "partials"))
        problems.append(Problem(PROJECT_FILE, line, "paths.partials", why, "use a project folder"))
    for kind, patterns, key in (
        ("assistant", config.paths.assistants, "assistants"),
        ("vector_store", config.paths.knowledge, "knowledge"),
    ):
        for i, pattern in enumerate(patterns):
            why = unsafe_pattern(pattern)
            line = doc.line_of(("paths", key, i))
            if why:
                hint = "write the glob relative to the project root"
                problems.append(Problem(PROJECT_FILE, line, f"paths.{key}[{i}]", why, hint))
                continue
            for path in sorted(root.glob(pattern)):
                if not path.is_file():
                    continue
                if not path.resolve().is_relative_to(root):
                    # its instructions would be sent as if they were part of the project
                    problems.append(
                        Problem(
                            PROJECT_FILE,
                            line,
                            f"paths.{key}[{i}]",
                            f"{relative(root, path)} is a symlink to a file outside the project",
                            "copy the file into the project instead of linking to it",
                        )
                    )
                    continue
                problems.extend(_add(project, kind, path))
    return project, problems


def _add(project: Project, kind: str, path: Path) -> list[Problem]:
    display = relative(project.root, path)
    try:
        doc = load_yaml(path, display)
    except ConfigError as exc:
        return exc.problems
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        return [Problem(display, 1, "", "expected a mapping of fields", "write 'key: value' lines")]
    default = path.parent.name if kind == "assistant" else path.stem.split(".")[0]
    name = doc.data.get("name", default)
    if not isinstance(name, str):
        return []  # the model reports the type error with its line
    table = project.assistants if kind == "assistant" else project.vector_stores
    if name in table:
        other = table[name].file
        label = "assistant" if kind == "assistant" else "vector store"
        return [
            Problem(
                display,
                doc.line_of(("name",)) or 1,
                "name",
                f"duplicate {label} name '{name}' (also declared in {other})",
                "give each one a distinct name",
            )
        ]
    if "name" not in doc.data and not re.match(NAME_PATTERN, name):
        return [
            Problem(
                display,
                1,
                "name",
                f"the name '{name}' taken from the file's location is not a valid name",
                "add 'name:' with lowercase letters, digits, '-' and '_'",
            )
        ]
    table[name] = Declaration(kind=kind, name=name, file=display, doc=doc)
    return []
