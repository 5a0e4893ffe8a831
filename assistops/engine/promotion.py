"""Promotion: deploy to one environment exactly what another runs, and prove it.

``promote --from SRC --to DST`` reads what runs in SRC and refuses, naming each resource and
why, unless all of these hold:

- SRC has not drifted: no object was changed outside assistops since its last apply;
- the working tree renders for SRC exactly what SRC runs: the plan of SRC from the working
  tree is empty (every recorded digest equals the rendered one, every field matches);
- the working tree is a clean commit, and every revision SRC's objects record is that commit
  or an ancestor of it (it went through the history the team reviewed).

Then DST is planned from the same working tree, at that commit: the declarations are the ones
SRC proved, and only the environments' own settings (variables, defaults, overrides, API,
``leave_out``) differ, which :func:`environment_differences` lists for the plan to show.

Further checks plug in as :class:`PromotionGate` objects (conversation tests of SRC, for
instance), run after these and before DST is planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistops.config.project import Project
from assistops.engine.history import DIRTY_SUFFIX, UNVERSIONED, Position, head_commit, position
from assistops.engine.plan import Plan
from assistops.engine.status import EnvironmentStatus
from assistops.errors import PromotionError
from assistops.kinds.base import Running


@dataclass(frozen=True)
class Refusal:
    """One reason a promotion cannot go ahead, about a resource (or the whole source)."""

    reason: str
    address: str | None = None
    id: str | None = None

    def line(self) -> str:
        """``assistant.support (asst_…): <reason>``."""
        if self.address is None:
            return self.reason
        where = f"{self.address} ({self.id})" if self.id else self.address
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Source:
    """What runs in the source environment, read for a promotion."""

    environment: str
    status: EnvironmentStatus
    running: list[Running]
    tree_revision: str  # what the working tree would record: the commit DST is planned at


class PromotionGate(Protocol):
    """A check a promotion must pass before the destination is planned.

    ``check`` sees what runs in the source and returns the reasons to refuse (none: go on).
    ``assistops promote`` runs the built-in checks (:func:`check_source`) first, then each
    gate it is given, and refuses with every reason found.
    """

    name: str

    def check(self, source: Source) -> list[Refusal]:
        """The reasons to refuse the promotion, or an empty list."""
        ...


def _fields(paths: list[str]) -> str:
    shown = ", ".join(paths[:4])
    return shown + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")


def check_source(source: Source, root: Path) -> list[Refusal]:
    """The built-in checks of a promotion's source (the module's docstring lists them)."""
    env = source.environment
    out: list[Refusal] = []
    tree = source.tree_revision
    if tree == UNVERSIONED:
        out.append(
            Refusal(
                "the project is not in a git repository: promotion deploys a commit; "
                "'git init' and commit the project"
            )
        )
    elif tree.endswith(DIRTY_SUFFIX):
        out.append(
            Refusal(
                "the working tree has uncommitted changes in the project: promotion deploys a "
                "commit; commit or stash them (git status shows them)"
            )
        )
    plan = source.status.plan
    if not source.running:
        out.append(
            Refusal(
                f"nothing assistops manages runs in {env}: apply it first "
                f"('assistops apply -e {env}')"
            )
        )
    for rc in plan.resources:
        fields = [c.path for c in rc.changes]
        if rc.drift:
            what = f" ({_fields(fields)})" if fields else ""
            out.append(
                Refusal(
                    f"changed outside assistops since its last apply{what}; see it with "
                    f"'assistops plan -e {env}', restore the declared one with 'assistops "
                    f"apply -e {env}', then promote again",
                    rc.address,
                    rc.id,
                )
            )
        elif rc.duplicate:
            out.append(
                Refusal(
                    f"a duplicate runs in {env}; 'assistops apply -e {env}' removes it",
                    rc.address,
                    rc.id,
                )
            )
        elif rc.action == "create":
            out.append(
                Refusal(
                    f"the working tree declares it but it does not run in {env}; apply the "
                    f"working tree to {env} first, or check out the commit {env} runs",
                    rc.address,
                )
            )
        elif rc.action == "delete":
            out.append(
                Refusal(
                    f"it runs in {env} but the working tree no longer declares it; apply the "
                    f"working tree to {env} first, or check out the commit {env} runs",
                    rc.address,
                    rc.id,
                )
            )
        elif rc.action != "no-op":
            detail = f" ({_fields(fields)})" if fields else ""
            reasons = f"; {'; '.join(rc.reasons)}" if rc.reasons else ""
            out.append(
                Refusal(
                    f"the working tree renders something other than what {env} runs{detail}"
                    f"{reasons}; apply the working tree to {env} first (and test it there), or "
                    f"check out the commit {env} runs",
                    rc.address,
                    rc.id,
                )
            )
    named = {r.address for r in out}
    for step in plan.steps:
        # a step no resource change explains (an attribute of a store's file, say)
        if step.address not in named:
            named.add(step.address)
            out.append(
                Refusal(
                    f"the working tree renders something other than what {env} runs "
                    f"({step.describe()}); apply the working tree to {env} first",
                    step.address,
                )
            )
    out += _revisions(source, root)
    return out


def _revisions(source: Source, root: Path) -> list[Refusal]:
    """Every revision SRC records must be HEAD or one of its ancestors."""
    env = source.environment
    out: list[Refusal] = []
    head = head_commit(root)
    judged: dict[str, Position] = {}
    for record in source.running:
        if record.revision is None:
            if record.kind != "file":  # uploads are content-addressed: their digest is enough
                out.append(
                    Refusal(
                        f"it records no revision (tagged outside an apply); 'assistops apply "
                        f"-e {env}' records one",
                        record.address,
                        record.id,
                    )
                )
            continue
        if record.revision not in judged:
            judged[record.revision] = position(root, record.revision, head)
        where = judged[record.revision]
        if where.standing in ("head", "behind"):
            continue
        out.append(
            Refusal(
                f"{env} runs revision {record.revision}, {where.describe()}"
                + _HINTS[where.standing],
                record.address,
                record.id,
            )
        )
    return out


_HINTS = {
    "dirty": ": no commit declares it; apply it from a commit, then promote",
    "diverged": ": promote from a checkout whose history contains it (merge it first), or "
    "apply the source from HEAD first",
    "unknown": ": fetch the full history (in GitHub Actions: actions/checkout with "
    "fetch-depth: 0), or apply the source from a commit of this repository",
    "unversioned": ": apply it from a git commit, then promote",
}


def refuse(source: str, dest: str, refusals: Sequence[Refusal]) -> PromotionError:
    """The error naming every reason, one per line."""
    lines = [r.line() for r in refusals]
    message = (
        f"promotion from {source} to {dest} refused; nothing was changed in {dest}. "
        f"{len(lines)} reason{'s' if len(lines) != 1 else ''}:\n"
        + "\n".join(f"  - {x}" for x in lines)
    )
    return PromotionError(message, lines)


# -- what may differ between the two environments ------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """A setting of the destination environment that differs from the source's: what
    the same declarations render differently there."""

    path: str  # variables.support_email, overrides.assistants.support.model, api ...
    source: Any
    dest: Any
    in_source: bool = True
    in_dest: bool = True


def _settings(project: Project, name: str) -> dict[str, Any]:
    """The settings of an environment that change what its declarations render to."""
    env = project.environment(name)
    variables = {**project.config.variables, **env.variables}
    return {
        "api": env.effective_api(),
        "leave_out": sorted(env.leave_out),
        "variables": variables,
        "defaults": env.defaults.model_dump(mode="json", exclude_none=True) if env.defaults else {},
        "overrides": env.overrides.model_dump(
            mode="json", exclude_none=True, exclude_defaults=True
        ),
    }


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        # an empty mapping declares nothing: it is the same as leaving the key out
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def environment_differences(project: Project, source: str, dest: str) -> list[Difference]:
    """What differs between the two environments' own settings, by dotted path: the only
    things that make the destination render differently from the source."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(_settings(project, source), "", a)
    _flatten(_settings(project, dest), "", b)
    out: list[Difference] = []
    for path in sorted(set(a) | set(b)):
        if path in a and path in b and a[path] == b[path]:
            continue
        out.append(Difference(path, a.get(path), b.get(path), path in a, path in b))
    return out


@dataclass(frozen=True)
class Promotion:
    """A promotion that passed its checks: what runs in the source, what the destination's
    own settings change, and the plan of the destination."""

    source: Source
    differences: list[Difference]
    plan: Plan

    @property
    def revision(self) -> str:
        """The commit the destination is planned at (the working tree's, proven in SRC)."""
        return self.plan.revision
