"""Tag adopted objects, once their declarations validate.

The tags are computed from the desired state the new files render to (not from the live
objects), exactly as apply would write them, so the next plan finds nothing to change:

- vector-store files get ``assistops_path``/``assistops_sha256`` next to their own attributes;
- stores and assistants get the ``assistops``/``assistops_rev`` metadata next to the user's;
- code-interpreter files uploaded by someone else are uploaded again under our name (content
  addressed: an upload of the same bytes is reused) and swapped in; the originals are left
  alone, since they are not ours to delete.

Each store's metadata is written after its files' attributes, and each assistant last, so an
interrupted run leaves the object untagged and can simply be repeated.
"""

from __future__ import annotations

from typing import Any

from assistops.adopt.contents import sha256_of
from assistops.adopt.declare import AssistantDraft, StoreDraft
from assistops.kinds import agent, assistant, vector_store
from assistops.kinds.agent import AgentSpec
from assistops.kinds.assistant import AssistantSpec
from assistops.kinds.file import FileSpec, file_attributes
from assistops.kinds.spec import DesiredState
from assistops.kinds.tags import UploadName, user_attributes, user_metadata
from assistops.kinds.vector_store import VectorStoreSpec
from assistops.providers.base import Json, Writer


def tag_store(writer: Writer, state: DesiredState, draft: StoreDraft) -> list[str]:
    """Set the files' attributes, then the store's tags; returns what was done."""
    spec = state.resources[draft.address]
    assert isinstance(spec, VectorStoreSpec)
    by_path = {
        s.path: s
        for s in state.resources.values()
        if isinstance(s, FileSpec) and s.owner == draft.address
    }
    store_id = draft.raw["id"]
    for vs_file, path in draft.files:
        attributes = {**user_attributes(vs_file), **file_attributes(by_path[path])}
        writer.update_vector_store_file(store_id, vs_file["id"], attributes)
    body: dict[str, Any] = {"metadata": {**user_metadata(draft.raw), **_tags(spec, state)}}
    done = [f"tagged {draft.address} ({store_id}) and its {len(draft.files)} files"]
    if not draft.raw.get("name"):
        body["name"] = spec.display_name
        done.append(f"named {draft.address} '{spec.display_name}' (it had no name)")
    writer.update_vector_store(store_id, body)
    return done


def tag_assistant(
    writer: Writer, state: DesiredState, draft: AssistantDraft, uploads: list[Json]
) -> list[str]:
    """Swap in our copies of its code-interpreter files, then tag it; returns what was done."""
    spec = state.resources[draft.address]
    assert isinstance(spec, AssistantSpec)
    done: list[str] = []
    ours = _our_uploads(uploads, state)
    file_ids: list[str] = []
    for code in draft.code_files:
        if code.ours:
            file_ids.append(code.file_id)
            continue
        sha = sha256_of(code.content)
        name = UploadName.for_file(state.project, state.environment, sha, code.path)
        new_id = ours.get((name.sha16, len(code.content)))
        if new_id is None:
            new_id = str(writer.upload_file(name.format(), code.content)["id"])
            ours[(name.sha16, len(code.content))] = new_id
        file_ids.append(new_id)
        done.append(
            f"uploaded {code.path} as {new_id} in place of {code.file_id} "
            "(the original is left as it is)"
        )
    body: dict[str, Any] = {"metadata": {**user_metadata(draft.raw), **_tags(spec, state)}}
    if any(not c.ours for c in draft.code_files):
        resources = draft.raw.get("tool_resources") or {}
        stores = (resources.get("file_search") or {}).get("vector_store_ids") or []
        # tool_resources are replaced whole: send the store back with the new file list
        body["tool_resources"] = {
            "code_interpreter": {"file_ids": file_ids},
            "file_search": {"vector_store_ids": stores},
        }
    if not draft.raw.get("name"):
        body["name"] = spec.display_name
        done.append(f"named {draft.address} '{spec.display_name}' (it had no name)")
    writer.update_assistant(draft.raw["id"], body)
    done.insert(0, f"tagged {draft.address} ({draft.raw['id']})")
    return done


def tag_agent(writer: Writer, state: DesiredState, draft: AssistantDraft) -> list[str]:
    """Tag an agent (its metadata is replaced whole: the user's keys are sent back)."""
    spec = state.resources[draft.address]
    assert isinstance(spec, AgentSpec)
    sent = agent.body(
        spec, project=state.project, environment=state.environment, revision=state.revision
    )
    body: dict[str, Any] = {"metadata": {**user_metadata(draft.raw), **sent["metadata"]}}
    done = [f"tagged {draft.address} ({draft.raw['id']})"]
    if not draft.raw.get("name"):
        body["name"] = spec.display_name
        done.append(f"named {draft.address} '{spec.display_name}' (it had no name)")
    writer.update_agent(draft.raw["id"], body)
    return done


def _tags(spec: AssistantSpec | VectorStoreSpec, state: DesiredState) -> dict[str, str]:
    where = {
        "project": state.project,
        "environment": state.environment,
        "revision": state.revision,
    }
    if isinstance(spec, AssistantSpec):
        files = {a: s for a, s in state.resources.items() if isinstance(s, FileSpec)}
        return assistant.owner_tags(spec, files=files, **where)
    return vector_store.owner_tags(spec, **where)


def _our_uploads(uploads: list[Json], state: DesiredState) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for raw in uploads:
        name = UploadName.parse(str(raw.get("filename", "")))
        if name and (name.project, name.environment) == (state.project, state.environment):
            out.setdefault((name.sha16, int(raw.get("bytes") or 0)), str(raw["id"]))
    return out
