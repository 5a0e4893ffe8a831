"""The second visitor of plan steps: it says, phase by phase, what apply will do.

Apply dispatches on the step type; this module walks the same steps in the same phases and
describes each one. An unknown step type is an error here too, so a new step cannot be added
to the planner without saying how it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistops.plan import (
    PHASES,
    AttachFiles,
    CreateAssistant,
    CreateVectorStore,
    DeleteAssistant,
    DeleteFile,
    DeleteVectorStore,
    DetachFile,
    Plan,
    UpdateAssistant,
    UpdateFileAttributes,
    UpdateVectorStore,
    UploadFile,
)


def _upload(s: UploadFile) -> str:
    return f"upload {s.path} ({s.bytes} bytes, sha256 {s.sha256[:12]}) for {s.address}"


def _attach(s: AttachFiles) -> str:
    n = len(s.files)
    text = f"attach {n} file{'s' if n != 1 else ''} to {s.store} and wait until indexed"
    if s.detach_first:
        text += f" (first detaching {len(s.detach_first)} failed copies)"
    return text


_DESCRIBE: dict[type[Any], Callable[[Any], str]] = {
    UploadFile: _upload,
    CreateVectorStore: lambda s: f"create {s.address}",
    UpdateVectorStore: lambda s: f"update {s.address} ({s.id}) in place",
    AttachFiles: _attach,
    UpdateFileAttributes: lambda s: f"update the attributes of {s.file_id} in {s.store}",
    DetachFile: lambda s: f"detach {s.file_id} from {s.store} ({s.address})",
    CreateAssistant: lambda s: f"create {s.address}",
    UpdateAssistant: lambda s: f"update {s.address} ({s.id}) in place",
    DeleteAssistant: lambda s: f"delete {s.address} ({s.id})",
    DeleteVectorStore: lambda s: f"delete {s.address} ({s.id})",
    DeleteFile: lambda s: f"delete {s.address} ({s.id})",
}


def describe_step(step: Any) -> str:
    """One line saying what a step does; TypeError for a step type nobody taught us."""
    describe = _DESCRIBE.get(type(step))
    if describe is None:
        raise TypeError(f"no description for plan step {type(step).__name__}")
    return describe(step)


def explain_steps(plan: Plan) -> list[tuple[str, list[str]]]:
    """``(phase, [step descriptions])`` in the order apply runs them, empty phases left out."""
    out: list[tuple[str, list[str]]] = []
    placed = 0
    for phase, ops in PHASES:
        lines = [describe_step(s) for s in plan.steps if s.op in ops]
        placed += len(lines)
        if lines:
            out.append((phase, lines))
    if placed != len(plan.steps):
        unknown = sorted({s.op for s in plan.steps if all(s.op not in ops for _, ops in PHASES)})
        raise TypeError(f"plan steps outside every apply phase: {', '.join(unknown)}")
    return out
