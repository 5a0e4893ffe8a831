"""The facade: one function per verb, chaining the pipeline's stages.

    load      YAML files         -> Project              (assistops.config)
    render    Project + env      -> desired state        (assistops.render)
    validate  rendered state     -> problems             (assistops.render.validate)
    read      provider           -> live state           (assistops.engine.live, via kinds)
    diff      desired vs live    -> plan                 (assistops.engine.planner, via kinds)
    apply     plan + provider    -> changes, verified    (assistops.engine.apply)
    status    live state + plan  -> what runs, at which revision (assistops.engine.status)
    promote   SRC checked        -> DST planned/applied  (assistops.engine.promotion)

The CLI and the tests call these functions; nothing here prints. ``plan`` only ever holds a
read-only view of the provider; only ``apply`` holds a writer.
"""

from __future__ import annotations

import difflib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from assistops import kinds, limits
from assistops.config.project import PROJECT_FILE, Project, load_project, load_project_leniently
from assistops.engine.live import read_live
from assistops.engine.options import ApplyOptions, Event, PlanOptions
from assistops.engine.plan import Plan
from assistops.engine.planner import build_plan
from assistops.errors import (
    ApplyError,
    ConfigError,
    ConversationError,
    PlanError,
    Problem,
    ProviderError,
    ReleaseError,
)
from assistops.kinds import responses
from assistops.kinds.assistant import assistant_address
from assistops.kinds.base import LiveState, Running
from assistops.kinds.file import FileSpec
from assistops.kinds.release import (
    RELEASE_PURPOSE,
    Release,
    ReleaseFormatError,
    ReleaseSpec,
    parse_release,
    releases_of,
)
from assistops.kinds.spec import DesiredState, Spec
from assistops.lazy import lazy_attributes
from assistops.providers.base import Reader, ReadOnly, Writer
from assistops.render.desired import Renderer
from assistops.render.validate import check, check_environments

# What only some verbs use is imported by them: a command imports what it runs (validate and
# render no apply engine, a plan no conversations, promotion or status; see docs/cli.md).
if TYPE_CHECKING:
    from assistops.conversations.chat import Chat
    from assistops.conversations.declarations import LoadedTest
    from assistops.conversations.results import TestReport, TestResult
    from assistops.engine.apply import ApplyResult
    from assistops.engine.promotion import (
        Difference,
        Promotion,
        PromotionGate,
        Refusal,
        Source,
    )
    from assistops.engine.status import EnvironmentStatus, ProjectStatus

#: Public names of this module that live in a module not every verb needs (loaded on use).
_LAZY = {
    "TestReport": "assistops.conversations.results",
    "TestResult": "assistops.conversations.results",
    "Promotion": "assistops.engine.promotion",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "ApplyOptions",
    "ApplyOutcome",
    "ConfirmFn",
    "Event",
    "PlanOptions",
    "PromoteOutcome",
    "Promotion",
    "ResponsesRequests",
    "TestOptions",
    "TestReport",
    "TestResult",
    "TestsGate",
    "ValidationReport",
    "addresses",
    "apply",
    "chat",
    "compute_plan",
    "conversation_tests",
    "desired",
    "environment_name",
    "load",
    "load_release",
    "open_reader",
    "open_writer",
    "payloads",
    "plan",
    "promote",
    "promotion_plan",
    "responses_requests",
    "run_tests",
    "saved_plans",
    "select_tests",
    "status",
    "status_all",
    "validate",
]


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


def environment_name(project: Project, environment: str | None) -> str:
    """``environment`` when given (it must be declared), else the project's default: the first
    environment assistops.yaml declares. Raises ConfigError naming the declared ones."""
    name = environment if environment is not None else project.default_environment()
    project.environment(name)
    return name


def addresses(start: Path, environment: str | None = None) -> list[str]:
    """Every address declared in ``environment``, then the logical names (for completion)."""
    state = desired(start, environment)
    names = sorted({s.name for s in state.resources.values() if s.kind != "file"})
    return [*state.resources, *(n for n in names if n not in state.resources)]


def validate(start: Path, environments: list[str] | None = None) -> ValidationReport:
    """Validate the project offline in the given environments (default: all)."""
    from assistops.conversations.declarations import load_tests

    try:
        project, unread = load_project_leniently(start)
    except ConfigError as exc:
        return ValidationReport(None, [], _unique(exc.problems))
    if any(p.file == PROJECT_FILE for p in unread):
        # unsafe paths in assistops.yaml: nothing is rendered from them
        return ValidationReport(project.name, [], _unique(unread))
    names = environments or project.environment_names()
    problems: list[Problem] = list(unread) + list(check_environments(project))
    if not names:
        try:
            project.default_environment()
        except ConfigError as exc:
            problems += exc.problems
    renderer = Renderer(project)
    tests, test_problems = load_tests(project)
    problems += test_problems
    found: dict[Problem, list[str]] = {}
    for name in names:
        try:
            project.environment(name)
        except ConfigError as exc:
            problems += exc.problems
            continue
        rendered = renderer.render(name)
        for problem in (
            rendered.problems
            + check(project, rendered)
            + _test_problems(tests, rendered.state, rendered.assistants)
        ):
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


def _test_problems(
    tests: list[LoadedTest], state: DesiredState, assistants: dict[str, Any]
) -> list[Problem]:
    """What the tests that run in ``state``'s environment name and its assistants lack."""
    from assistops.conversations.declarations import CONVERSATION_APIS, check_against

    if state.api not in CONVERSATION_APIS:
        return []
    out: list[Problem] = []
    for test in tests:
        spec = assistants.get(assistant_address(test.assistant))
        runs_here = test.spec.environments is None or state.environment in test.spec.environments
        if spec is not None and runs_here:
            out += check_against(test, state, spec)
    return out


def desired(start: Path, environment: str | None = None) -> DesiredState:
    """The desired state of one environment (default: the first declared); raises ConfigError
    listing every problem."""
    project = load_project(start)
    return _desired_state(project, environment_name(project, environment))


def payloads(
    start: Path, environment: str | None, names: list[str] | None = None
) -> list[dict[str, Any]]:
    """What would be sent for each resource, references shown as ``${address}``.

    ``names`` limits the output to resources whose logical name or address is listed.
    """
    state = desired(start, environment)
    out: list[dict[str, Any]] = []
    for spec in state.resources.values():
        if isinstance(spec, ReleaseSpec) and names and not _selected(spec, names):
            # a release holds every assistant: show the part of those asked for
            chosen = {n: a for n, a in spec.assistants.items() if _selected(a, names)}
            if not chosen:
                continue
            spec = spec.model_copy(update={"assistants": chosen})
        elif names and not _selected(spec, names):
            continue
        out += kinds.kind_named(spec.kind).requests(spec, state)
    return out


@dataclass(frozen=True)
class ResponsesRequests:
    """The Responses request of each selected assistant, and what none of them can express."""

    requests: list[dict[str, Any]]
    notes: list[Problem]
    unknown: list[str]  # names asked for that no assistant has


def responses_requests(
    start: Path, environment: str | None, names: list[str] | None = None
) -> ResponsesRequests:
    """What ``client.responses.create`` would be called with for each assistant declaration
    (or only those ``names``) in ``environment``, offline, whatever API the environment deploys
    to; references shown as ``${address}``. Raises ConfigError when the environment does not
    validate. ``notes`` locate in the declarations what a request cannot express.
    """
    project = load_project(start)
    rendered = Renderer(project).render(environment_name(project, environment))
    problems = _unique(rendered.problems + check(project, rendered) + check_environments(project))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    chosen = [s for s in rendered.assistants.values() if not names or _selected(s, names)]
    out: list[dict[str, Any]] = []
    notes: list[Problem] = []
    for spec in chosen:
        body = responses.request_of(spec, resolve=responses.reference)
        out.append({"address": spec.address, "request": "POST /v1/responses", "body": body})
        merged = rendered.merged[spec.address]
        for gap in responses.unsupported(spec):
            file, line = merged.locate(gap.loc)
            notes.append(Problem(file, line, merged.field(gap.loc), gap.message, gap.hint))
    known = {n for s in rendered.assistants.values() for n in (s.name, s.address)}
    unknown = [n for n in names or [] if n not in known]
    return ResponsesRequests(out, notes, unknown)


def load_release(client: Any, project: str, environment: str) -> Release:
    """The current release of ``project`` in ``environment``, read with an app's own
    ``openai.OpenAI`` client (two requests: list the ``batch`` files, download the newest
    release). Raises ReleaseError when none is published or its content is not a release.

        release = assistops.load_release(client, "acme-support", "prod")
        response = client.responses.create(**release.request("support"), input=question)
    """
    listed = [
        f.model_dump(mode="json")
        for f in client.files.list(purpose=RELEASE_PURPOSE, limit=10_000, order="asc")
    ]
    ours = releases_of(listed, project, environment)
    if not ours:
        raise ReleaseError(
            f"no release of {project}/{environment} is published: run "
            f"'assistops apply -e {environment}' in the project (an environment with "
            "'api: responses')"
        )
    raw, name = ours[-1]
    try:
        requests = parse_release(client.files.content(raw["id"]).content)
    except ReleaseFormatError as exc:
        raise ReleaseError(
            f"{raw.get('filename')} ({raw['id']}) is not a release: {exc}; run "
            f"'assistops apply -e {environment}' to publish one again"
        ) from None
    return Release(
        project=project,
        environment=environment,
        serial=name.serial,
        revision=name.revision,
        digest=name.digest,
        file_id=str(raw["id"]),
        created_at=int(raw.get("created_at") or 0),
        requests=requests,
    )


def _selected(spec: Spec, names: list[str]) -> bool:
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
    #: another apply wrote to the environment while this one ran (and this one converged
    #: with it, when ``verify`` is empty)
    concurrent: bool = False


def open_writer(project: Project, environment: str) -> Writer:
    """The provider of ``environment``, able to write (apply and import only)."""
    from assistops.providers import open_provider

    return open_provider(project, environment)


def open_reader(project: Project, environment: str) -> Reader:
    """The provider of ``environment`` behind a read-only view (plan, status, export)."""
    return ReadOnly(open_writer(project, environment))


def compute_plan(
    project: Project,
    environment: str,
    reader: Reader,
    options: PlanOptions | None = None,
    *,
    state: DesiredState | None = None,
    live: LiveState | None = None,
) -> Plan:
    """Render the desired state (unless given), read live state (unless given), and diff them
    into a plan."""
    options = options or PlanOptions()
    declared = state if state is not None else _desired_state(project, environment)
    state = declared.model_copy(update={"resources": {}}) if options.destroy else declared
    targets = resolve_targets(declared, options.targets)
    if options.destroy and targets:
        raise PlanError("--target and --destroy cannot be combined; destroy removes everything")
    if live is None:
        live = read_live(reader, project.name, environment, api=state.api)
    provider, _, endpoint = reader.label.partition(" (")
    whole = build_plan(state, live, provider=provider, endpoint=endpoint.removesuffix(")"))
    if options.destroy:
        return _as_destroy(whole, declared)
    if not targets:
        return whole
    chosen = build_plan(
        state, live, provider=provider, endpoint=endpoint.removesuffix(")"), targets=targets
    )
    kept = {r.address for r in chosen.changes}
    left_out = sum(1 for r in whole.changes if r.address not in kept)
    return chosen.model_copy(update={"targets": targets, "left_out": left_out})


def resolve_targets(state: DesiredState, targets: tuple[str, ...] | list[str]) -> list[str]:
    """``--target`` values as addresses: an address as is, a logical name (what ``render NAME``
    accepts) as the one resource of that name. Raises PlanError for an unknown or ambiguous
    one, with the closest address as a hint."""
    out: list[str] = []
    for target in targets:
        if target in state.resources:
            out.append(target)
            continue
        named = [a for a, s in state.resources.items() if s.name == target and s.kind != "file"]
        # an assistant of a responses environment is part of its release, published whole
        named += [
            a
            for a, s in state.resources.items()
            if isinstance(s, ReleaseSpec)
            and target in {*s.assistants, *(spec.address for spec in s.assistants.values())}
        ]
        if len(named) == 1:
            out.append(named[0])
            continue
        if named:
            raise PlanError(
                f"--target {target} is ambiguous: it names {' and '.join(sorted(named))}; "
                "give the address"
            )
        known = [*state.resources, *(s.name for s in state.resources.values())]
        close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise PlanError(
            f"unknown target {target}; {hint}a target is a name (support) or an address: "
            "assistant.<name>, vector_store.<name> or file.<store>:<path> "
            "(see 'assistops render' for what is declared)"
        )
    return list(dict.fromkeys(out))


def _as_destroy(plan: Plan, declared: DesiredState) -> Plan:
    """A destroy plan in the words of a destroy: nothing is an orphan ("no longer declared")
    when everything goes, and an upload is named by the declared file it holds rather than
    ``file.unused:...`` when exactly one live upload holds that content."""
    by_sha: dict[str, str] = {}
    for spec in declared.resources.values():
        if isinstance(spec, FileSpec):
            by_sha.setdefault(spec.sha256[:12], spec.address)
    counts: dict[str, int] = {}
    for rc in plan.resources:
        if rc.kind == "file" and "@" in rc.address:
            sha = rc.address.rsplit("@", 1)[1]
            counts[sha] = counts.get(sha, 0) + 1
    renamed: dict[str, str] = {}
    for rc in plan.resources:
        if rc.kind == "file" and "@" in rc.address:
            sha = rc.address.rsplit("@", 1)[1]
            if sha in by_sha and counts[sha] == 1:
                renamed[rc.address] = by_sha[sha]
    resources = [
        rc.model_copy(
            update={
                "address": renamed.get(rc.address, rc.address),
                "orphan": False,
                "reasons": [] if rc.orphan and not rc.duplicate else rc.reasons,
            }
        )
        for rc in plan.resources
    ]
    steps = [
        s.model_copy(update={"address": renamed[s.address]}) if s.address in renamed else s
        for s in plan.steps
    ]
    resources.sort(key=lambda r: (kinds.display_rank(r.kind), r.address))
    return plan.model_copy(update={"resources": resources, "steps": steps, "destroy": True})


def plan(start: Path, environment: str | None, options: PlanOptions | None = None) -> Plan:
    """Compute the plan of one environment (default: the first declared; reads live state,
    changes nothing)."""
    project = load_project(start)
    environment = environment_name(project, environment)
    state = _desired_state(project, environment)  # bad input is refused before any connection
    reader = open_reader(project, environment)
    try:
        return compute_plan(project, environment, reader, options, state=state)
    finally:
        reader.close()


def saved_plans(paths: Sequence[Path]) -> list[Plan]:
    """Plans saved with ``plan --out`` (or ``promote --out``), read back as they were made:
    no provider is opened. Raises PlanError naming a file that is not a saved plan."""
    from assistops.engine.saved_plan import read_plan

    return [read_plan(path) for path in paths]


def apply(
    start: Path,
    environment: str | None,
    *,
    confirm: ConfirmFn,
    options: ApplyOptions | None = None,
) -> ApplyOutcome:
    """Plan (or load a saved plan and check it is fresh), confirm, apply, verify.

    ``environment`` None means the saved plan's, else the first declared; a saved plan made for
    another environment than the one named is refused. ``confirm`` sees the plan and returns
    False to cancel. After apply a fresh plan is computed:
    duplicates that the SDK's retries created meanwhile are removed (up to twice), and anything
    else left is reported by the caller as a failure.
    """
    from assistops.engine.locking import exclusive
    from assistops.engine.saved_plan import read_plan

    options = options or ApplyOptions()
    project = load_project(start)
    saved = read_plan(options.plan_file) if options.plan_file is not None else None
    if saved is not None:
        if environment is not None and environment != saved.environment:
            raise PlanError(
                f"{options.plan_file} was made for environment '{saved.environment}', not "
                f"'{environment}'; nothing was changed. Apply it without -e (it applies to "
                f"'{saved.environment}'), or make a plan for '{environment}' with "
                f"'assistops plan -e {environment} --out FILE'"
            )
        environment = saved.environment
        options = options.model_copy(
            update={"plan": PlanOptions(targets=tuple(saved.targets), destroy=saved.destroy)}
        )
    environment = environment_name(project, environment)
    env = project.environment(environment)
    state = _desired_state(project, environment)  # bad input is refused before any connection
    writer = open_writer(project, environment)
    lock_path = writer.lock_path()
    verb = "destroy" if options.plan.destroy else "apply"
    lock: AbstractContextManager[None] = exclusive(lock_path, verb) if lock_path else nullcontext()
    try:
        with lock:
            return _apply_locked(
                project,
                environment,
                writer,
                confirm,
                saved,
                options,
                protected=env.protected,
                state=state,
            )
    finally:
        writer.close()


def _apply_locked(
    project: Project,
    environment: str,
    writer: Writer,
    confirm: ConfirmFn,
    saved: Plan | None,
    options: ApplyOptions,
    *,
    protected: bool,
    state: DesiredState,
) -> ApplyOutcome:
    from assistops.engine.apply import apply_plan
    from assistops.engine.saved_plan import check_fresh

    current = compute_plan(project, environment, writer, options.plan, state=state)
    if saved is not None and options.plan_file is not None:
        check_fresh(saved, current, options.plan_file)
    if protected and current.deletes and not options.allow_delete:
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

    def fresh() -> Plan:
        return compute_plan(project, environment, writer, options.plan, state=state)

    try:
        result = apply_plan(current, writer, project.root, options)
    except ApplyError as exc:
        # another apply deleting what this one made or uses shows here as a 404
        cause = exc.__cause__
        if not (isinstance(cause, ProviderError) and cause.status == 404):
            raise
        after = fresh()
        if not _foreign(current, after, exc.result):
            raise
        settled, rounds = _reconcile_concurrent(after, fresh, writer, project, options, protected)
        if settled.has_changes:
            raise ApplyError(f"{exc} {CONCURRENT}", exc.result) from exc
        return ApplyOutcome(current, exc.result, settled, rounds, concurrent=True)
    verify = fresh()
    reconciled = 0
    while verify.has_changes and reconciled < 2 and _only_duplicates(verify):
        apply_plan(verify, writer, project.root, options)
        reconciled += 1
        verify = fresh()
    concurrent = False
    if verify.has_changes and _foreign(current, verify, result):
        concurrent = True
        verify, rounds = _reconcile_concurrent(verify, fresh, writer, project, options, protected)
        reconciled += rounds
    return ApplyOutcome(current, result, verify, reconciled, concurrent=concurrent)


#: What an apply says when another one wrote to the same environment while it ran.
CONCURRENT = (
    "Another apply (or someone else) changed this environment while this one ran: the "
    "protocol cannot lock a remote environment, so serialize applies (a CI concurrency group). "
    "Once the other apply has finished, run 'assistops apply' again: it converges."
)

_TOP_LEVEL = frozenset({"file", "vector_store", "assistant", "agent", "release"})


def _foreign(before: Plan, after: Plan, result: ApplyResult) -> list[str]:
    """Live objects that appeared or vanished between ``before`` (the plan applied) and
    ``after`` that ``result`` does not account for: the writes of someone else (or a create
    the service committed while answering with an error)."""
    made = set(result.created.values())
    removed = {getattr(s, "id", None) for s in result.done}

    def ids(plan: Plan) -> set[str]:
        return {
            key.partition(":")[2]
            for key in plan.fingerprints
            if key.partition(":")[0] in _TOP_LEVEL
        }

    old, new = ids(before), ids(after)
    return sorted((new - old - made) | ((old | made) - new - removed))


def _reconcile_concurrent(
    verify: Plan,
    fresh: Callable[[], Plan],
    writer: Writer,
    project: Project,
    options: ApplyOptions,
    protected: bool,
) -> tuple[Plan, int]:
    """Another apply wrote meanwhile: wait until live state stops moving, then apply the
    fresh plan (both applies pick the same keeper of each duplicate from the same state), up
    to three times. Returns the last fresh plan and the rounds applied."""
    from assistops.engine.apply import apply_plan

    rounds = 0
    while verify.has_changes and rounds < 3:
        verify = _settled(verify, fresh, options)
        if not verify.has_changes:
            break
        if protected and not options.allow_delete and any(not r.duplicate for r in verify.deletes):
            break  # a protected environment deletes only what the user allowed
        with suppress(ApplyError):  # the other apply is still at work: settle, then look
            apply_plan(verify, writer, project.root, options)
        rounds += 1
        verify = fresh()
    return verify, rounds


def _settled(plan: Plan, fresh: Callable[[], Plan], options: ApplyOptions) -> Plan:
    """A fresh plan once two reads ``options.settle`` seconds apart see the same live objects
    (or at the deadline)."""
    deadline = time.monotonic() + options.settle_timeout
    while True:
        time.sleep(options.settle)
        now = fresh()
        if now.fingerprints == plan.fingerprints or time.monotonic() > deadline:
            return now
        plan = now


def _only_duplicates(plan: Plan) -> bool:
    return all(r.duplicate for r in plan.changes)


def _desired_state(project: Project, environment: str) -> DesiredState:
    renderer = Renderer(project)
    rendered = renderer.render(environment)
    problems = _unique(rendered.problems + check(project, rendered) + check_environments(project))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return rendered.state


# -- conversation tests -------------------------------------------------------------------------


class TestOptions(BaseModel):
    """What ``run_tests`` runs, and where (``assistops test``'s options)."""

    __test__ = False  # not a pytest class

    model_config = ConfigDict(frozen=True)

    names: tuple[str, ...] = Field(
        (), description="Assistants ('support') or tests ('support/returns'); default: all."
    )
    jobs: int = Field(4, ge=1, le=64, description="Attempts run at the same time.")
    timeout: float | None = Field(
        None, gt=0, description="Seconds per attempt, instead of each test's own timeout."
    )
    working_tree: bool = Field(
        False,
        description="Deploy the working tree to a throwaway backend (or to server_url), test "
        "there, and remove it, instead of testing what the environment runs.",
    )
    server_url: str | None = Field(
        None, description="With working_tree: an 'assistops serve' (or compatible) base URL."
    )
    server_key_env: str | None = Field(
        None, description="With server_url: the variable holding its API key, if it needs one."
    )


def conversation_tests(start: Path) -> tuple[Project, list[LoadedTest], list[Problem]]:
    """The project's conversation tests and the problems of the files that are not valid
    (offline; what ``validate`` reports)."""
    from assistops.conversations.declarations import load_tests

    project = load_project(start)
    tests, problems = load_tests(project)
    return project, tests, problems


def run_tests(
    start: Path,
    environment: str | None,
    options: TestOptions | None = None,
    *,
    on_start: Callable[[TestReport, int], None] | None = None,
    on_result: Callable[[TestResult], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> TestReport:
    """Run the conversation tests of ``environment`` (default: the first declared) against what
    it runs, or, with ``options.working_tree``, against the working tree deployed to a
    throwaway backend. Returns the report; ``report.passed`` is the gate.

    Everything is checked before any API call: the test files (ConfigError with file, line and
    field), the functions, tools and files they name against the rendered assistants, the
    handlers they import. ConversationError when an assistant is not deployed or the
    environment's API holds no conversations (agents). ``on_start`` sees the report's header
    (no tests yet) and how many tests will run, ``on_result`` each test when it is done,
    ``on_event`` the deploy of a working tree. Ctrl-C (or ``cancel``) deletes every open
    conversation, then raises KeyboardInterrupt.

        report = assistops.run_tests(Path("."), "staging")
        if not report.passed:
            raise SystemExit(1)
    """
    # the conversation machinery talks to the SDK: imported when tests run, not for validate
    from assistops.conversations.declarations import check_against, load_tests
    from assistops.conversations.handlers import Handlers
    from assistops.conversations.results import TestReport
    from assistops.conversations.runner import RunnerOptions, load_handlers
    from assistops.conversations.runner import run_tests as run_conversation_tests
    from assistops.conversations.target import find_target, refuse_agents
    from assistops.providers.sessions import sessions_of

    options = options or TestOptions()
    started = time.monotonic()
    project = load_project(start)
    environment = environment_name(project, environment)
    rendered = Renderer(project).render(environment)
    problems = _unique(rendered.problems + check(project, rendered) + check_environments(project))
    tests, test_problems = load_tests(project)
    problems += test_problems
    if problems:
        raise ConfigError(sorted(_unique(problems), key=lambda p: (p.file, p.line or 0)))
    state = rendered.state
    refuse_agents(environment, state.api)
    chosen = select_tests(tests, options.names, project, environment)
    for test in chosen:
        problems += check_against(
            test, state, rendered.assistants[assistant_address(test.assistant)]
        )
    if problems:
        raise ConfigError(sorted(_unique(problems), key=lambda p: (p.file, p.line or 0)))
    handlers = load_handlers(chosen, Handlers(project.root))
    assistants = sorted({t.assistant for t in chosen})
    runner = RunnerOptions(jobs=options.jobs, timeout=options.timeout)
    with _test_target(project, environment, state, options, on_event) as (writer, scope):
        plan_now = compute_plan(project, scope.environment, ReadOnly(writer), state=scope)
        hint = (
            f"run 'assistops apply -e {environment}' first, or test the working tree with "
            f"'assistops test -e {environment} --working-tree'"
        )
        target, notes = find_target(
            writer, sessions_of(writer), scope, plan_now, assistants, apply_hint=hint
        )
        head = TestReport(
            project=project.name,
            environment=environment,
            api=state.api,
            target=target.label,
            working_tree=options.working_tree,
            revision=state.revision,
            notes=notes,
        )
        if on_start is not None:
            on_start(head, len(chosen))
        results = run_conversation_tests(
            chosen, target, handlers, runner, cancel=cancel, on_result=on_result
        )
    return head.model_copy(
        update={"tests": results, "duration_s": round(time.monotonic() - started, 3)}
    )


def select_tests(
    tests: list[LoadedTest], names: tuple[str, ...], project: Project, environment: str
) -> list[LoadedTest]:
    """The tests ``names`` select (assistants or ``assistant/test``; all when none are given)
    among those that run in ``environment`` (a test's ``environments`` may limit it).
    ConversationError naming what exists for a name that selects nothing, or when no test
    runs in the environment."""
    tests = [t for t in tests if t.spec.environments is None or environment in t.spec.environments]
    if not tests:
        raise ConversationError(
            f"no conversation test runs in environment '{environment}': write them in "
            "<assistant folder>/tests/*.yaml (see docs/testing.md)"
        )
    if not names:
        return tests
    chosen: list[LoadedTest] = []
    for name in names:
        found = [t for t in tests if name in (t.assistant, t.id)]
        if not found:
            known = sorted({t.assistant for t in tests} | {t.id for t in tests})
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            declared = "" if name.split("/")[0] in project.assistants else " (no such assistant)"
            raise ConversationError(
                f"no conversation test named '{name}'{declared}; {hint}the tests: "
                f"{', '.join(t.id for t in tests)}"
            )
        chosen += [t for t in found if t not in chosen]
    return chosen


@contextmanager
def _test_target(
    project: Project,
    environment: str,
    state: DesiredState,
    options: TestOptions,
    on_event: Callable[[Event], None] | None,
) -> Iterator[tuple[Writer, DesiredState]]:
    """The provider the tests talk to, and the desired state as it is tagged there.

    Normally the environment's own provider. With ``working_tree``, a throwaway backend (or
    the server at ``server_url``), where the working tree is applied first and removed after:
    on a shared server under an environment name of its own, so nothing collides.
    """
    from assistops.engine.apply import apply_plan

    if not options.working_tree:
        writer = open_writer(project, environment)
        try:
            yield writer, state
        finally:
            writer.close()
        return
    from assistops.providers.scratch import open_scratch, open_server

    if options.server_url is None:
        writer = open_scratch()
        scope = state
    else:
        key = None
        if options.server_key_env is not None:
            key = os.environ.get(options.server_key_env) or None
            if key is None:
                raise ProviderError(
                    f"--server-key-env: the environment variable {options.server_key_env} is "
                    "not set"
                )
        writer = open_server(options.server_url, key, key_env=options.server_key_env)
        scratch = f"{environment}-wt{secrets.token_hex(3)}"[: limits.LOGICAL_NAME_MAX]
        scope = state.model_copy(update={"environment": scratch})
    apply_options = ApplyOptions(on_event=on_event)
    try:
        deploy = compute_plan(project, scope.environment, writer, state=scope)
        apply_plan(deploy, writer, project.root, apply_options)
        yield writer, scope
    finally:
        try:
            if options.server_url is not None:
                gone = compute_plan(
                    project, scope.environment, writer, PlanOptions(destroy=True), state=scope
                )
                apply_plan(gone, writer, project.root, apply_options)
        finally:
            writer.close()


@contextmanager
def chat(start: Path, environment: str | None, assistant: str) -> Iterator[Chat]:
    """A chat session with ``assistant`` as ``environment`` runs it; every thread it made is
    deleted when the block ends. Function calls go to the handlers its tests name (the first
    test naming one wins), else to the person (``Chat.send``'s ``ask``)."""
    from assistops.conversations.chat import Chat
    from assistops.conversations.declarations import load_tests
    from assistops.conversations.handlers import Handlers
    from assistops.conversations.target import find_target, refuse_agents
    from assistops.providers.sessions import sessions_of

    project = load_project(start)
    environment = environment_name(project, environment)
    state = _desired_state(project, environment)
    refuse_agents(environment, state.api)
    if assistant not in project.assistants:
        close = difflib.get_close_matches(assistant, sorted(project.assistants), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConversationError(
            f"no assistant named '{assistant}'; {hint}the assistants: "
            f"{', '.join(sorted(project.assistants))}"
        )
    tests, _problems = load_tests(project)  # a broken test file does not stop a chat
    refs: dict[str, str] = {}
    for test in tests:
        if test.assistant == assistant:
            for name, answer in test.spec.functions.items():
                if answer.handler is not None:
                    refs.setdefault(name, answer.handler)
    loader = Handlers(project.root)
    handlers = {name: (ref, loader.get(ref)) for name, ref in refs.items()}
    writer = open_writer(project, environment)
    session: Chat | None = None
    try:
        plan_now = compute_plan(project, environment, ReadOnly(writer), state=state)
        hint = f"run 'assistops apply -e {environment}' first"
        target, _notes = find_target(
            writer, sessions_of(writer), state, plan_now, [assistant], apply_hint=hint
        )
        session = Chat(target, assistant, handlers)
        yield session
    finally:
        try:
            if session is not None:
                session.close()
        finally:
            writer.close()


@dataclass
class TestsGate:
    """``promote --require-tests``: the source's conversation tests must pass before the
    destination is planned (a PromotionGate). ``report`` keeps what they did."""

    __test__ = False  # not a pytest class

    start: Path
    options: TestOptions | None = None
    on_result: Callable[[TestResult], None] | None = None
    name: str = "conversation tests"
    report: TestReport | None = None

    def check(self, source: Source) -> list[Refusal]:
        """Run the tests against what ``source`` runs; each failed one is a reason to refuse."""
        from assistops.engine.promotion import Refusal

        report = run_tests(self.start, source.environment, self.options, on_result=self.on_result)
        self.report = report
        if report.passed:
            return []
        failed = [t for t in report.tests if not t.passed]
        where = f"'assistops test -e {source.environment}'"
        if not failed:
            return [Refusal(f"the conversation tests did not complete; run {where}")]
        return [
            Refusal(
                f"conversation test {t.id} failed ({t.passes}/{len(t.attempts)} attempts passed, "
                f"{t.needed} needed): {t.first_failure()}; see it with {where}"
            )
            for t in failed
        ]


# -- status and promotion -----------------------------------------------------------------------


def _read_status(
    project: Project, environment: str, state: DesiredState, reader: Reader
) -> tuple[EnvironmentStatus, list[Running]]:
    from assistops.engine.status import environment_status, running_of

    live = read_live(reader, project.name, environment, api=state.api)
    plan = compute_plan(project, environment, reader, state=state, live=live)
    running = running_of(live)
    return environment_status(plan, running, project.root), running


def status(start: Path, environment: str | None) -> EnvironmentStatus:
    """What runs in one environment (default: the first declared): every managed resource
    with its id, the revision and digest its last apply recorded, when, and whether it still
    matches the declarations (read-only)."""
    project = load_project(start)
    environment = environment_name(project, environment)
    state = _desired_state(project, environment)
    reader = open_reader(project, environment)
    try:
        return _read_status(project, environment, state, reader)[0]
    finally:
        reader.close()


def status_all(start: Path) -> ProjectStatus:
    """Every declared environment's status side by side, with the revision the working tree
    would record (HEAD). An environment that cannot be read (no key, unreachable, invalid
    for it) is reported as :class:`Unreadable` rather than failing the others."""
    from assistops.engine.status import ProjectStatus, Unreadable

    project = load_project(start)
    head = Renderer(project).revision
    out = ProjectStatus(project.name, head)
    for name in project.environment_names():
        env = project.environment(name)
        try:
            out.environments.append(status(start, name))
        except (ProviderError, ConfigError) as exc:
            out.environments.append(Unreadable(name, env.provider, str(exc)))
    return out


def _check_promotion(
    project: Project,
    source: str,
    dest: str,
    gates: Sequence[PromotionGate],
) -> tuple[Source, list[Difference]]:
    from assistops.engine.promotion import Source, check_source, environment_differences, refuse

    if source == dest:
        raise PlanError(
            f"--from and --to both name '{source}': promotion deploys one environment's "
            "revision to another"
        )
    environment_name(project, source)
    environment_name(project, dest)
    src_state = _desired_state(project, source)  # bad input is refused before any connection
    _desired_state(project, dest)
    reader = open_reader(project, source)
    try:
        status_, running = _read_status(project, source, src_state, reader)
    finally:
        reader.close()
    src = Source(source, status_, running, src_state.revision)
    refusals = check_source(src, project.root)
    # a gate (the conversation tests) proves something only of a source the tree declares
    for gate in gates if not refusals else ():
        refusals += gate.check(src)
    if refusals:
        raise refuse(source, dest, refusals)
    return src, environment_differences(project, source, dest)


def promotion_plan(
    start: Path, source: str, dest: str, *, gates: Sequence[PromotionGate] = ()
) -> Promotion:
    """Check that ``source`` runs exactly what the working tree declares for it, at a commit
    in HEAD's history, then plan ``dest`` from the same tree (read-only: nothing changes).

    Raises PromotionError naming each resource and reason when a check fails; ``gates`` are
    extra checks run after the built-in ones (``assistops.engine.promotion``).
    """
    from assistops.engine.promotion import Promotion

    project = load_project(start)
    src, differences = _check_promotion(project, source, dest, gates)
    reader = open_reader(project, dest)
    try:
        planned = compute_plan(project, dest, reader)
    finally:
        reader.close()
    return Promotion(src, differences, planned)


PromoteConfirmFn = Callable[["Promotion"], bool]


@dataclass(frozen=True)
class PromoteOutcome:
    """What ``promote`` checked (``promotion``, its plan the one applied) and what apply did."""

    promotion: Promotion
    outcome: ApplyOutcome


def promote(
    start: Path,
    source: str,
    dest: str,
    *,
    confirm: PromoteConfirmFn,
    options: ApplyOptions | None = None,
    gates: Sequence[PromotionGate] = (),
) -> PromoteOutcome:
    """Promote what runs in ``source`` to ``dest``: the checks of :func:`promotion_plan`, then
    an apply of ``dest`` from the same tree, as ``apply`` does it (the destination's lock,
    its protected flag, ``confirm`` seeing the promotion and its plan, the verifying plan).
    Raises PromotionError, naming each resource and reason, when a check fails.
    """
    from assistops.engine.promotion import Promotion

    project = load_project(start)
    src, differences = _check_promotion(project, source, dest, gates)
    options = options or ApplyOptions()
    if options.plan_file is not None:
        raise PlanError("promote plans its destination itself; apply a saved plan with apply")

    def confirm_plan(planned: Plan) -> bool:
        return confirm(Promotion(src, differences, planned))

    outcome = apply(start, dest, confirm=confirm_plan, options=options)
    return PromoteOutcome(Promotion(src, differences, outcome.plan), outcome)
