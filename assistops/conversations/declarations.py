"""Conversation tests on disk: ``<assistant folder>/tests/*.yaml``, loaded and checked offline.

Each file is read with the strict YAML loader and validated by
:class:`assistops.config.models.ConversationTestFile`, so a malformed test is refused with its
file, line and field before any API call, as every other declaration is. Then the tests are
checked against what the environment renders: the functions they name must be tools of the
assistant, ``used: file_search`` needs a file_search tool, ``cites`` a file of the assistant's
vector store, a handler a ``.py`` file inside the project, a schema file a valid JSON Schema.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from assistops.config.models import ConversationTestFile, Expectation, FunctionCalled
from assistops.config.problems import field_path, problems_from_validation
from assistops.config.project import Project, relative, unsafe_pattern
from assistops.config.yamlio import Document, load_yaml
from assistops.errors import ConfigError, Problem
from assistops.kinds.assistant import AssistantSpec
from assistops.kinds.file import FileSpec
from assistops.kinds.spec import DesiredState
from assistops.render.schema_files import SchemaFiles

#: The environment APIs whose assistants can hold a conversation (agents have no sessions here).
CONVERSATION_APIS = ("assistants", "responses")

Loc = tuple[str | int, ...]
TESTS_DIR = "tests"
SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedTest:
    """One test file, validated: its model, where it is, and the schemas it names, read."""

    assistant: str
    name: str
    file: str  # project-relative, as errors show it
    spec: ConversationTestFile
    doc: Document
    #: the JSON Schema of each ``json_schema`` / ``arguments_schema``, by (turn, expectation)
    schemas: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """``<assistant>/<name>``."""
        return f"{self.assistant}/{self.name}"

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc`` in the file (or of its nearest ancestor)."""
        return self.doc.line_of(loc)

    def problem(self, loc: Loc, message: str, hint: str = "") -> Problem:
        """A problem at ``loc`` of this file."""
        return Problem(self.file, self.line(loc), field_path(loc), message, hint)


def files_of(project: Project, assistant: str) -> list[Path]:
    """The test files of one declared assistant, by name."""
    declaration = project.assistants[assistant]
    folder = (project.root / declaration.file).parent / TESTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def load_tests(project: Project) -> tuple[list[LoadedTest], list[Problem]]:
    """Every test of every assistant, and the problems of the files that are not valid."""
    tests: list[LoadedTest] = []
    problems: list[Problem] = []
    schemas = SchemaFiles(project.root)
    for assistant in sorted(project.assistants):
        names: dict[str, str] = {}
        for path in files_of(project, assistant):
            display = relative(project.root, path)
            if not path.resolve().is_relative_to(project.root.resolve()):
                problems.append(
                    Problem(display, None, "", "a symlink to a file outside the project", "")
                )
                continue
            try:
                loaded = _load(path, display, assistant)
            except ConfigError as exc:
                problems += exc.problems
                continue
            if loaded.name in names:
                problems.append(
                    loaded.problem(
                        ("name",),
                        f"duplicate test name '{loaded.name}' of assistant '{assistant}' "
                        f"(also in {names[loaded.name]})",
                        "give each test of an assistant its own name",
                    )
                )
                continue
            names[loaded.name] = display
            problems += _read_schemas(loaded, schemas)
            problems += _check_offline(loaded, project)
            tests.append(loaded)
    return tests, problems


def _load(path: Path, display: str, assistant: str) -> LoadedTest:
    doc = load_yaml(path, display)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [Problem(display, 1, "", "expected a mapping with 'turns:'", "see docs/testing.md")]
        )
    try:
        spec = ConversationTestFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation(
                exc,
                ConversationTestFile,
                doc.data,
                lambda loc: (display, doc.line_of(loc)),
                scalars=doc.scalars,
            )
        ) from None
    name = spec.name or path.stem
    if spec.name is None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ConfigError(
            [
                Problem(
                    display,
                    1,
                    "name",
                    f"the name '{name}' taken from the file name is not a valid name",
                    "rename the file, or add 'name:' with lowercase letters, digits, '-', '_'",
                )
            ]
        )
    return LoadedTest(assistant, name, display, spec, doc)


def _schema_refs(test: LoadedTest) -> list[tuple[tuple[int, int], Loc, Any]]:
    out: list[tuple[tuple[int, int], Loc, Any]] = []
    for t, turn in enumerate(test.spec.turns):
        for e, expectation in enumerate(turn.expect):
            at: Loc = ("turns", t, "expect", e)
            if expectation.kind == "json_schema":
                out.append(((t, e), (*at, "json_schema"), expectation.json_schema))
            called = expectation.called
            if isinstance(called, FunctionCalled) and called.arguments_schema is not None:
                out.append(((t, e), (*at, "called", "arguments_schema"), called.arguments_schema))
    return out


def _read_schemas(test: LoadedTest, files: SchemaFiles) -> list[Problem]:
    problems: list[Problem] = []
    for key, loc, value in _schema_refs(test):
        origin = (test.file, test.line(loc))
        doc: Document | None = None
        if isinstance(value, str):
            doc, found = files.load(value, origin, field_path(loc))
            if doc is None:
                problems += found
                continue
            schema = doc.data
        else:
            schema = value
        shown = field_path(loc)

        def locate(_path: Loc, at: tuple[str, int | None] = origin) -> tuple[str, int | None]:
            return at

        def name(_path: Loc, field: str = shown) -> str:
            return field

        resolved, found = files.resolve(schema, doc, locate, name)
        if found:
            problems += found
            continue
        try:
            Draft202012Validator.check_schema(resolved.schema)
        except SchemaError as exc:
            problems.append(
                test.problem(loc, f"not a valid JSON Schema: {exc.message}", "see json-schema.org")
            )
            continue
        test.schemas[key] = resolved.schema
    return problems


def _check_offline(test: LoadedTest, project: Project) -> list[Problem]:
    problems: list[Problem] = []
    for t, turn in enumerate(test.spec.turns):
        for e, expectation in enumerate(turn.expect):
            if expectation.kind == "matches":
                try:
                    re.compile(str(expectation.matches))
                except re.error as exc:
                    problems.append(
                        test.problem(
                            ("turns", t, "expect", e, "matches"),
                            f"not a valid regular expression: {exc}",
                            "write a Python regular expression; quote it in YAML",
                        )
                    )
    declared = project.environment_names()
    for i, env in enumerate(test.spec.environments or []):
        if env not in declared:
            close = difflib.get_close_matches(env, declared, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                test.problem(
                    ("environments", i),
                    f"no environment named '{env}'",
                    f"{hint}use one of: {', '.join(declared)}",
                )
            )
    for name, answer in test.spec.functions.items():
        if answer.handler is None:
            continue
        path, _, _function = answer.handler.rpartition(":")
        loc: Loc = ("functions", name, "handler")
        why = unsafe_pattern(path)
        if why:
            problems.append(test.problem(loc, why, "a handler is a .py file of the project"))
            continue
        file = project.root / path
        if not file.is_file():
            problems.append(
                test.problem(
                    loc,
                    f"handler file '{path}' does not exist",
                    "paths are relative to the project root (where assistops.yaml is)",
                )
            )
        elif not file.resolve().is_relative_to(project.root.resolve()):
            problems.append(
                test.problem(loc, f"'{path}' is a symlink to a file outside the project")
            )
    return problems


def check_against(test: LoadedTest, state: DesiredState, spec: AssistantSpec) -> list[Problem]:
    """What the test names that the assistant, as ``state`` renders it, does not have."""
    problems: list[Problem] = []
    functions = [
        str((t.get("function") or {}).get("name"))
        for t in spec.tools
        if t.get("type") == "function"
    ]
    kinds = {str(t.get("type")) for t in spec.tools}
    store_files = _store_paths(state, spec)
    env = state.environment

    def function_problem(name: str, loc: Loc) -> None:
        if name in functions:
            return
        close = difflib.get_close_matches(name, functions, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        problems.append(
            test.problem(
                loc,
                f"assistant '{spec.name}' has no function '{name}' in environment '{env}'",
                f"{hint}its functions: {', '.join(functions) or 'none'}",
            )
        )

    for name in test.spec.functions:
        function_problem(name, ("functions", name))
    for t, turn in enumerate(test.spec.turns):
        for e, expectation in enumerate(turn.expect):
            at: Loc = ("turns", t, "expect", e, expectation.kind)
            problems += _check_expectation(
                test, expectation, at, function_problem, kinds, store_files, spec, env
            )
    return problems


def _check_expectation(
    test: LoadedTest,
    expectation: Expectation,
    at: Loc,
    function_problem: Any,
    kinds: set[str],
    store_files: set[str],
    spec: AssistantSpec,
    env: str,
) -> list[Problem]:
    problems: list[Problem] = []
    if expectation.kind == "called":
        called = expectation.called
        name = called.function if isinstance(called, FunctionCalled) else str(called)
        function_problem(name, at)
    elif expectation.kind == "not_called":
        for name in _listed(expectation.not_called):
            function_problem(name, at)
    elif expectation.kind == "used":
        for tool in _listed(expectation.used):
            if tool not in kinds:
                problems.append(
                    test.problem(
                        at,
                        f"assistant '{spec.name}' has no {tool} tool in environment '{env}'",
                        "the check could never pass; add the tool or remove the check",
                    )
                )
    elif expectation.kind == "cites":
        for path in _listed(expectation.cites):
            if path not in store_files:
                close = difflib.get_close_matches(path, sorted(store_files), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    test.problem(
                        at,
                        f"'{path}' is not a knowledge file of assistant '{spec.name}'",
                        f"{hint}name a file of its vector store by its project path",
                    )
                )
    return problems


def _store_paths(state: DesiredState, spec: AssistantSpec) -> set[str]:
    if spec.vector_store is None:
        return set()
    return {
        s.path
        for s in state.resources.values()
        if isinstance(s, FileSpec) and s.owner == spec.vector_store
    }


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
