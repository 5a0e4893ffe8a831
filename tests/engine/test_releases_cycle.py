"""Releases for Responses-API apps: the CLI against the backend over HTTP, read back by an app
with the SDK (``assistops.load_release``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import openai
import pytest
from engine_helpers import KEY, run

import assistops
from assistops.backend import BackendControl, RunningBackend
from assistops.kinds.release import ReleaseName, release_lines

ENV = "releases"
RELEASES_ENV = """
  releases:
    provider: openai
    api: responses
    base_url: {base_url}
    api_key_env: ASSISTOPS_TEST_KEY
    leave_out: [description]
    variables:
      support_email: support@releases.example
      escalation: Escalate in the releases queue.
"""


@pytest.fixture
def releases_project(project: Path, backend: RunningBackend) -> Path:
    """The example project with an environment ``releases`` (api: responses) on the backend."""
    with (project / "assistops.yaml").open("a", encoding="utf-8") as handle:
        handle.write(RELEASES_ENV.format(base_url=backend.base_url))
    return project


@pytest.fixture
def client(backend: RunningBackend) -> openai.OpenAI:
    """The app's client: the SDK, parsing strictly."""
    return openai.OpenAI(
        base_url=backend.base_url, api_key=KEY, max_retries=0, _strict_response_validation=True
    )


def _plan_json(root: Path, *extra: str) -> dict:
    result = run(root, "plan", "-e", ENV, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _apply(root: Path, *extra: str) -> str:
    result = run(root, "apply", "-e", ENV, "--auto-approve", *extra)
    assert result.exit_code == 0, result.output
    return result.output


def _releases(client: openai.OpenAI) -> list[openai.types.FileObject]:
    return [
        f
        for f in client.files.list(purpose="batch", order="asc")
        if f.filename.startswith("assistops-release.acme-support.releases.")
    ]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_apply_publishes_one_release_that_points_at_the_live_store_and_files(
    releases_project: Path, client: openai.OpenAI, control: BackendControl
) -> None:
    plan = _plan_json(releases_project)
    assert plan["api"] == "responses"
    assert [r["address"] for r in plan["resources"] if r["kind"] == "release"] == [
        "release.acme-support"
    ]
    assert not [r for r in plan["resources"] if r["kind"] in ("assistant", "agent")]
    # every upload is a resource of the plan, the analyst's code-interpreter files too
    assert plan["summary"] == {"create": 8, "update": 0, "replace": 0, "delete": 0}
    assert {"file.assistant.analyst:analyst/data/sales.csv"} <= {
        r["address"] for r in plan["resources"]
    }
    ops = [s["op"] for s in plan["steps"]]
    assert ops[-1] == "publish_release" and ops.index("attach_files") < ops.index("publish_release")
    control.clear_requests()
    out = _apply(releases_project)
    assert "Verified: a fresh plan shows no changes." in out
    routes = control.requests()
    assert not [r for r in routes if "/assistants" in r or "/agents" in r or "/threads" in r]

    [published] = _releases(client)
    name = ReleaseName.parse(published.filename)
    assert name is not None and name.revision == plan["revision"]
    release = assistops.load_release(client, "acme-support", ENV)
    assert release.intact and release.file_id == published.id
    assert sorted(release.requests) == ["analyst", "support", "triage"]
    [store] = list(client.vector_stores.list())
    support = release.request("support")
    assert support["tools"][0] == {
        "type": "file_search",
        "vector_store_ids": [store.id],
        "max_num_results": 8,
        "ranking_options": {"ranker": "auto", "score_threshold": 0.3},
    }
    assert [t["name"] for t in support["tools"][1:]] == ["lookup_order", "create_ticket"]
    assert "support@releases.example" in support["instructions"]
    uploads = {f.id: f.filename for f in client.files.list(purpose="assistants")}
    [interpreter] = release.request("analyst")["tools"]
    held = interpreter["container"]["file_ids"]
    assert sorted(uploads[i].rsplit(".", 2)[-2:][0] for i in held) == ["regions", "sales"]
    # the content is JSON Lines in the Batch API's input shape
    lines = client.files.content(published.id).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in lines] == ["analyst", "support", "triage"]
    assert {json.loads(line)["url"] for line in lines} == {"/v1/responses"}


def test_a_no_op_plan_stays_at_the_lower_bound_of_requests(
    releases_project: Path, control: BackendControl
) -> None:
    _apply(releases_project)
    control.clear_requests()
    result = run(releases_project, "plan", "-e", ENV, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    routes = control.requests()
    # one list per kind of object (files of two purposes), one list of the store's files, and
    # the current release's content: nothing else can show the diff
    assert routes == {
        "GET /v1/vector_stores": 1,
        "GET /v1/vector_stores/{vector_store_id}/files": 1,
        "GET /v1/files": 2,
        "GET /v1/files/{file_id}/content": 1,
        "total": 5,
    }


def test_an_instruction_edit_shows_the_same_diff_and_replaces_the_release(
    releases_project: Path, client: openai.OpenAI
) -> None:
    _apply(releases_project)
    [before] = _releases(client)
    _edit(releases_project / "support" / "instructions.md.j2", "never guess", "do not guess")
    plan = _plan_json(releases_project)
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert (change["address"], change["action"]) == ("release.acme-support", "replace")
    assert [c["path"] for c in change["changes"]] == ["support.instructions"]
    assert [s["op"] for s in plan["steps"]] == ["publish_release", "retire_release"]
    text = run(releases_project, "plan", "-e", ENV, "--no-color").output
    line = "Answer from the handbook (file search). If the handbook does not say, say so; "
    assert f"+{line}do not guess" in text and f"-{line}never guess" in text
    assert "-/+ release.acme-support" in text
    _apply(releases_project)
    [after] = _releases(client)
    assert after.id != before.id
    assert (
        "do not guess"
        in assistops.load_release(client, "acme-support", ENV).request("support")["instructions"]
    )


def test_a_function_schema_change_carries_the_breaking_flag(releases_project: Path) -> None:
    _apply(releases_project)
    schema = releases_project / "functions" / "lookup_order.json"
    _edit(schema, '"type": "boolean"', '"type": "string"')
    [change] = [r for r in _plan_json(releases_project)["resources"] if r["action"] != "no-op"]
    [field] = change["changes"]
    assert field["path"] == (
        "support.tools.function:lookup_order.parameters#/properties/include_items/type"
    )
    assert field["breaking"] == "type narrowed from ['boolean'] to ['string']"
    text = run(releases_project, "plan", "-e", ENV, "--no-color").output
    assert "! breaking: type narrowed" in text


def test_a_release_edited_outside_assistops_is_drift_and_is_restored(
    releases_project: Path, client: openai.OpenAI
) -> None:
    _apply(releases_project)
    [published] = _releases(client)
    requests = assistops.load_release(client, "acme-support", ENV).requests
    requests["support"]["model"] = "gpt-4.1"
    # someone publishes an edited copy by hand, as the next release; a batch file of their own
    name = ReleaseName.parse(published.filename)
    assert name is not None
    by_hand = replace(name, serial=name.serial + 1).format()
    client.files.create(file=(by_hand, release_lines(requests)), purpose="batch")
    mine = client.files.create(file=("mine.jsonl", b'{"custom_id": "x"}\n'), purpose="batch")
    edited = assistops.load_release(client, "acme-support", ENV)
    assert not edited.intact

    plan = _plan_json(releases_project)
    changed = [r for r in plan["resources"] if r["action"] != "no-op"]
    current = next(r for r in changed if r["id"] == edited.file_id)
    assert current["drift"] is True and current["action"] == "replace"
    assert current["changes"] == [
        {"path": "support.model", "before": "gpt-4.1", "after": "gpt-4o-mini", "breaking": None}
    ]
    older = next(r for r in changed if r["id"] == published.id)
    assert older["action"] == "delete"
    _apply(releases_project)
    restored = assistops.load_release(client, "acme-support", ENV)
    assert restored.intact and restored.request("support")["model"] == "gpt-4o-mini"
    assert [f.id for f in _releases(client)] == [restored.file_id]
    assert client.files.retrieve(mine.id).filename == "mine.jsonl"  # not ours: untouched


def test_a_saved_plan_is_refused_when_the_release_moved(
    releases_project: Path, client: openai.OpenAI, tmp_path: Path
) -> None:
    _apply(releases_project)
    _edit(releases_project / "triage" / "assistant.yaml", "Classify", "Sort")
    saved = tmp_path / "plan.json"
    assert run(releases_project, "plan", "-e", ENV, "--out", str(saved)).exit_code == 0
    [published] = _releases(client)
    client.files.delete(published.id)  # another pipeline, or a person, moved it
    result = run(releases_project, "apply", str(saved), "--auto-approve")
    assert result.exit_code == 1
    assert f"release {published.id} (release.acme-support) was deleted" in result.output


def test_a_store_change_publishes_after_indexing_and_retires_the_old_release_after(
    releases_project: Path, client: openai.OpenAI
) -> None:
    _apply(releases_project)
    (releases_project / "knowledge" / "handbook" / "gifts.md").write_text(
        "# Gift cards\nGift cards never expire.\n", encoding="utf-8"
    )
    _edit(releases_project / "support" / "instructions.md.j2", "never guess", "do not guess")
    plan = _plan_json(releases_project)
    ops = [s["op"] for s in plan["steps"]]
    assert ops.index("attach_files") < ops.index("publish_release") < ops.index("retire_release")
    _apply(releases_project)
    assert len(_releases(client)) == 1


def test_re_applying_an_earlier_revision_rolls_the_release_back(
    releases_project: Path, client: openai.OpenAI
) -> None:
    _apply(releases_project)
    first = assistops.load_release(client, "acme-support", ENV)
    template = releases_project / "support" / "instructions.md.j2"
    original = template.read_text(encoding="utf-8")
    _edit(template, "never guess", "do not guess")
    _apply(releases_project)
    assert assistops.load_release(client, "acme-support", ENV).digest != first.digest
    template.write_text(original, encoding="utf-8")  # the earlier revision, checked out again
    _apply(releases_project)
    rolled_back = assistops.load_release(client, "acme-support", ENV)
    assert rolled_back.digest == first.digest and rolled_back.requests == first.requests
    assert rolled_back.file_id != first.file_id


def test_an_interrupted_publish_converges(
    releases_project: Path, client: openai.OpenAI, control: BackendControl
) -> None:
    _apply(releases_project)
    _edit(releases_project / "support" / "instructions.md.j2", "never guess", "do not guess")
    control.add_fault("error", "DELETE /v1/files/{file_id}", status=500, times=None)
    result = run(releases_project, "apply", "-e", ENV, "--auto-approve")
    assert result.exit_code == 1
    control.clear_faults()
    assert len(_releases(client)) == 2  # the new one is current; the old one stays behind
    assert (
        "do not guess"
        in assistops.load_release(client, "acme-support", ENV).request("support")["instructions"]
    )
    plan = _plan_json(releases_project)
    [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
    assert change["action"] == "delete" and "an earlier release" in change["reasons"][0]
    _apply(releases_project)
    assert len(_releases(client)) == 1


def test_load_release_says_what_is_missing(releases_project: Path, client: openai.OpenAI) -> None:
    with pytest.raises(assistops.ReleaseError, match="no release of acme-support/releases"):
        assistops.load_release(client, "acme-support", ENV)
    _apply(releases_project)
    release = assistops.load_release(client, "acme-support", ENV)
    with pytest.raises(KeyError, match="it has: analyst, support, triage"):
        release.request("billing")


def test_removing_every_assistant_deletes_the_release(
    releases_project: Path, client: openai.OpenAI
) -> None:
    _apply(releases_project)
    _edit(
        releases_project / "assistops.yaml",
        'assistants: ["*/assistant.yaml"]',
        'assistants: ["none/assistant.yaml"]',
    )
    plan = _plan_json(releases_project)
    [change] = [r for r in plan["resources"] if r["kind"] == "release"]
    assert change["action"] == "delete" and change["orphan"] is True
    _apply(releases_project)
    assert _releases(client) == []


def test_targeting_the_release_brings_its_stores_and_their_files(
    releases_project: Path, client: openai.OpenAI
) -> None:
    # the store's files are a dependency of a dependency: the target closure follows both
    _apply(releases_project, "--target", "release.acme-support")
    [store] = list(client.vector_stores.list())
    assert store.file_counts.completed == 4
    support = assistops.load_release(client, "acme-support", ENV).request("support")
    assert support["tools"][0]["vector_store_ids"] == [store.id]


def test_targeting_an_assistant_targets_its_release_which_is_published_whole(
    releases_project: Path,
) -> None:
    _apply(releases_project)
    _edit(releases_project / "support" / "instructions.md.j2", "never guess", "do not guess")
    _edit(releases_project / "triage" / "assistant.yaml", "Classify", "Sort")
    for target in ("support", "assistant.support"):
        plan = _plan_json(releases_project, "--target", target)
        [change] = [r for r in plan["resources"] if r["action"] != "no-op"]
        assert change["address"] == "release.acme-support"
        # one file holds every assistant: the plan shows all it publishes
        assert [c["path"] for c in change["changes"]] == [
            "support.instructions",
            "triage.instructions",
        ]
