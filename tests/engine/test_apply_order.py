"""What each step of apply waits for: the steps of a lower phase that provide what it needs."""

from __future__ import annotations

from typing import Any

from assistops.engine.apply import _dependencies
from assistops.kinds.assistant import CreateAssistant, DeleteAssistant, UpdateAssistant
from assistops.kinds.base import StepBase
from assistops.kinds.file import UploadFile
from assistops.kinds.vector_store import (
    AttachFiles,
    CreateVectorStore,
    DetachFile,
    UpdateFileAttributes,
    UpdateVectorStore,
)


def upload(sha: str) -> UploadFile:
    return UploadFile(
        address=f"file.docs:{sha}.md", path=f"{sha}.md", sha256=sha, bytes=1, filename=sha
    )


def assistant(name: str, stores: list[str]) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "name": name,
        "tool_resources": {"file_search": {"vector_store_ids": stores}},
    }


def waits(steps: list[StepBase]) -> dict[str, set[str]]:
    """Each step (by op and address) and what it waits for."""
    label = [f"{s.op} {s.address}" for s in steps]
    return {label[i]: {label[j] for j in deps} for i, deps in enumerate(_dependencies(steps))}


def test_a_new_store_waits_for_nothing_and_its_batch_for_its_uploads_and_itself() -> None:
    steps: list[StepBase] = [
        upload("aaa"),
        upload("bbb"),
        upload("ccc"),
        CreateVectorStore(address="vector_store.docs", body={"name": "docs"}),
        AttachFiles(
            address="vector_store.docs",
            store="${vector_store.docs}",
            files=[{"file_id": "${sha:aaa}"}, {"file_id": "${sha:bbb}"}],
        ),
        CreateAssistant(
            address="assistant.searcher", body=assistant("s", ["${vector_store.docs}"])
        ),
        CreateAssistant(address="assistant.plain", body=assistant("p", [])),
    ]
    assert waits(steps) == {
        "upload_file file.docs:aaa.md": set(),
        "upload_file file.docs:bbb.md": set(),
        "upload_file file.docs:ccc.md": set(),  # nobody's file: waited for by nobody
        "create_vector_store vector_store.docs": set(),
        "attach_files vector_store.docs": {
            "upload_file file.docs:aaa.md",
            "upload_file file.docs:bbb.md",
            "create_vector_store vector_store.docs",
        },
        # the store created, then indexed: both before the assistant that searches it
        "create_assistant assistant.searcher": {
            "create_vector_store vector_store.docs",
            "attach_files vector_store.docs",
        },
        "create_assistant assistant.plain": set(),
    }


def test_a_kept_store_is_updated_and_indexed_before_an_assistant_points_at_it() -> None:
    steps: list[StepBase] = [
        UpdateVectorStore(address="vector_store.docs", id="vs_1", body={"name": "docs"}),
        AttachFiles(address="vector_store.docs", store="vs_1", files=[{"file_id": "file-1"}]),
        UpdateFileAttributes(
            address="file.docs:a.md", store="vs_1", file_id="file-2", attributes={"x": 1}
        ),
        UpdateAssistant(address="assistant.a", id="asst_1", body=assistant("a", ["vs_1"])),
        UpdateAssistant(address="assistant.b", id="asst_2", body=assistant("b", ["vs_2"])),
    ]
    found = waits(steps)
    update = "update_vector_store vector_store.docs"
    attach = "attach_files vector_store.docs"
    relabel = "update_file_attributes file.docs:a.md"
    assert found[attach] == {update} and found[relabel] == {update}
    assert found["update_assistant assistant.a"] == {update, attach, relabel}
    assert found["update_assistant assistant.b"] == set()  # another store: no waiting


def test_steps_of_one_phase_never_wait_for_each_other() -> None:
    steps: list[StepBase] = [
        CreateVectorStore(address="vector_store.a", body={"name": "vector_store.b"}),
        CreateVectorStore(address="vector_store.b", body={"name": "vector_store.a"}),
    ]
    assert all(not deps for deps in _dependencies(steps))


def test_removals_are_not_part_of_the_graph() -> None:
    # apply runs the removes phases after every other step, one phase after the other
    for step in (
        DetachFile(address="vector_store.docs", store="vs_1", file_id="file-1"),
        DeleteAssistant(address="assistant.gone", id="asst_9"),
    ):
        assert type(step).phase.removes
    for step in (upload("aaa"), CreateAssistant(address="assistant.a", body={})):
        assert not type(step).phase.removes
