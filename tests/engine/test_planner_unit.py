"""The planner on its own: desired specs and live wire dicts from factories, no backend.

``build_plan`` is a pure function of desired and live state, so every branch of it can be
reached in milliseconds: live state is built as apply leaves it (tags computed by the kinds'
own functions, see ``planner_factories``), which plans to nothing, and each test perturbs one
thing and checks the exact steps (ops, ids) and resource changes (actions, reasons, flags).
"""

from __future__ import annotations

import re

import pytest
from planner_factories import (
    ENV,
    PROJECT,
    REVISION,
    STATIC_400,
    World,
    actions,
    applied,
    change,
    desired,
    discover,
    files_of,
    make_assistant,
    make_file,
    make_store,
    mentions,
    ops,
    plan_of,
    sha256_of,
    steps,
)

from assistops.kinds import vector_store
from assistops.kinds.assistant import AssistantSpec
from assistops.kinds.base import Where
from assistops.kinds.changes import DUPLICATE_REASON, ORPHAN_REASON
from assistops.kinds.file import FileSpec, batch_entry, file_attributes, sha_ref, upload_filename
from assistops.kinds.spec import DesiredState, Spec
from assistops.kinds.tags import recorded_revision, split_rev_digest
from assistops.kinds.vector_store import VectorStoreSpec
from assistops.providers.base import Json

HANDBOOK, FAQ = "vector_store.handbook", "vector_store.faq"
SUPPORT, ANALYST = "assistant.support", "assistant.analyst"
WHERE = Where(project=PROJECT, environment=ENV, revision=REVISION)

RETURNS = make_file(HANDBOOK, "knowledge/handbook/returns.md", "# Returns\n30 days.\n")
SHIPPING = make_file(HANDBOOK, "knowledge/handbook/shipping.md", "# Shipping\n2 days.\n")
WARRANTY = make_file(
    HANDBOOK, "knowledge/handbook/warranty.md", "# Warranty\n1 year.\n", attributes={"lang": "en"}
)
FAQ_ORDERS = make_file(FAQ, "knowledge/faq/orders.md", "# Orders\nTrack them online.\n")
SALES = make_file(ANALYST, "data/sales.csv", "month,total\n1,100\n")
REGIONS = make_file(ANALYST, "data/regions.csv", "region\nnorth\n")
LOOKUP_ORDER = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order by id.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


@pytest.fixture
def contract_checked() -> None:
    """No SDK client is built here: the engine conftest's contract check is not needed (and
    loading the OpenAPI subset would be most of this file's run time)."""


def the_state() -> DesiredState:
    """Two stores (one with static chunking and user attributes on a file), four knowledge
    files, two code-interpreter files and two assistants, with every kind of tool between
    them."""
    handbook = make_store(
        "handbook",
        RETURNS,
        SHIPPING,
        WARRANTY,
        description="Policies for customers",
        expires_after_days=30,
        metadata={"team": "support"},
    )
    faq = make_store("faq", FAQ_ORDERS, chunking=STATIC_400)
    support = make_assistant(
        "support",
        vector_store=HANDBOOK,
        temperature=0.2,
        tools=({"type": "file_search", "file_search": {}}, LOOKUP_ORDER),
    )
    analyst = make_assistant(
        "analyst",
        vector_store=FAQ,
        code_interpreter_files=[SALES.address, REGIONS.address],
        model="o3-mini",
        reasoning_effort="low",
        metadata={"owner": "data"},
    )
    return desired(
        handbook, RETURNS, SHIPPING, WARRANTY, faq, FAQ_ORDERS, SALES, REGIONS, analyst, support
    )


def replaced(state: DesiredState, *specs: Spec, drop: tuple[str, ...] = ()) -> DesiredState:
    """``state`` with ``specs`` put in place of (or beside) its own, ``drop`` removed."""
    resources = {a: s for a, s in state.resources.items() if a not in drop}
    for spec in specs:
        resources[spec.address] = spec
    return desired(*resources.values(), revision=state.revision)


def store_spec(state: DesiredState, address: str = HANDBOOK) -> VectorStoreSpec:
    spec = state.resources[address]
    assert isinstance(spec, VectorStoreSpec)
    return spec


def assistant_spec(state: DesiredState, address: str) -> AssistantSpec:
    spec = state.resources[address]
    assert isinstance(spec, AssistantSpec)
    return spec


def upload_id(world: World, f: FileSpec) -> str:
    found = world.upload_of(f.sha256)
    assert found is not None
    return str(found["id"])


# -- convergence and discovery ------------------------------------------------------------------


def test_the_applied_desired_state_plans_no_steps() -> None:
    state = the_state()
    plan = plan_of(state, applied(state))
    assert plan.steps == []
    assert not plan.has_changes
    assert {r.address for r in plan.resources} == set(state.resources)
    assert {r.action for r in plan.resources} == {"no-op"}
    assert not any(r.drift or r.duplicate or r.orphan or r.reasons for r in plan.resources)


def test_a_second_revision_of_the_same_specs_plans_no_steps() -> None:
    """The revision is recorded in the tags but is no reason to write (a commit alone)."""
    state = the_state()
    plan = plan_of(state.model_copy(update={"revision": "d00d2"}), applied(state))
    assert plan.steps == []


def test_discovery_puts_each_object_in_its_kinds_part() -> None:
    state = the_state()
    world = applied(state)
    live = discover(world)
    uploads = live.parts["file"].uploads
    assert set(uploads) == {f.sha256[:16] for f in files_of(state).values()}
    assert all(len(found) == 1 for found in uploads.values())
    stores = live.parts["vector_store"]
    assert {a: [s["id"] for s in found] for a, found in stores.stores.items()} == {
        HANDBOOK: [world.store(HANDBOOK)["id"]],
        FAQ: [world.store(FAQ)["id"]],
    }
    assert stores.files == world.store_files
    assistants = live.parts["assistant"].assistants
    assert {a: [x["id"] for x in found] for a, found in assistants.items()} == {
        ANALYST: [world.assistant(ANALYST)["id"]],
        SUPPORT: [world.assistant(SUPPORT)["id"]],
    }
    attached = {e["id"] for entries in world.store_files.values() for e in entries}
    code = {upload_id(world, SALES), upload_id(world, REGIONS)}
    pointed_at = {world.store(HANDBOOK)["id"], world.store(FAQ)["id"]}  # by the assistants
    assert live.references == attached | code | pointed_at
    assert live.adopted == {}
    objects = len(world.files) + len(world.stores) + len(world.assistants) + len(attached)
    assert len(live.fingerprints) == objects


# -- a store replaced ---------------------------------------------------------------------------


def assert_replaced(state: DesiredState, world: World, reason: str) -> None:
    """The handbook store is replaced: a new store, every file attached again (no upload), the
    assistant moved to it, then the old store deleted; the faq store is not touched."""
    plan = plan_of(state, world)
    spec = store_spec(state)
    old = world.store(HANDBOOK)["id"]
    assert ops(plan) == [
        "create_vector_store",
        "attach_files",
        "update_assistant",
        "delete_vector_store",
    ]
    [create] = steps(plan, "create_vector_store")
    assert create.address == HANDBOOK
    assert create.body == vector_store.body(spec, **WHERE)
    [attach] = steps(plan, "attach_files")
    assert attach.store == "${vector_store.handbook}"
    assert attach.files == [
        batch_entry(f, upload_id(world, f), spec.chunking) for f in (RETURNS, SHIPPING, WARRANTY)
    ]
    assert attach.detach_first == []
    [update] = steps(plan, "update_assistant")
    assert update.id == world.assistant(SUPPORT)["id"]
    assert update.body["tool_resources"]["file_search"] == {
        "vector_store_ids": ["${vector_store.handbook}"]
    }
    [delete] = steps(plan, "delete_vector_store")
    assert (delete.address, delete.id) == (HANDBOOK, old)
    store = change(plan, HANDBOOK)
    assert (store.action, store.id, store.reasons) == ("replace", old, [reason])
    assert not (store.drift or store.duplicate or store.orphan)
    for f in (RETURNS, SHIPPING, WARRANTY):
        assert change(plan, f.address).action == "create"
    support = change(plan, SUPPORT)
    assert support.action == "update"
    assert "vector_store.handbook gets a new id" in support.reasons
    assert actions(plan) == {
        HANDBOOK: "replace",
        RETURNS.address: "create",
        SHIPPING.address: "create",
        WARRANTY.address: "create",
        SUPPORT: "update",
    }
    assert not mentions(plan, world.store(FAQ)["id"])


def test_a_store_is_replaced_when_its_chunking_changes() -> None:
    state = the_state()
    world = applied(state)
    assert world.entry(HANDBOOK, RETURNS.path)["chunking_strategy"]["static"] == {
        "max_chunk_size_tokens": 800,
        "chunk_overlap_tokens": 400,
    }
    new = replaced(state, store_spec(state).model_copy(update={"chunking": STATIC_400}))
    assert_replaced(new, world, "chunking changed: every file is indexed again in a new store")


def test_a_store_is_replaced_when_its_write_only_description_changes() -> None:
    state = the_state()
    world = applied(state)
    new_spec = store_spec(state).model_copy(update={"description": "Policies, 2025 edition"})
    recorded = recorded_revision(world.store(HANDBOOK))
    assert recorded is not None
    was, now = split_rev_digest(recorded[0]), split_rev_digest(vector_store.spec_digest(new_spec))
    assert was[0] == now[0] and was[1] != now[1]  # only the write-only part differs
    assert_replaced(
        replaced(state, new_spec), world, "description can only be set when a store is created"
    )


def test_an_expired_store_is_replaced() -> None:
    state = the_state()
    world = applied(state)
    world.store(HANDBOOK)["status"] = "expired"
    assert_replaced(state, world, "the store expired")


def test_an_assistant_whose_store_is_replaced_has_not_drifted() -> None:
    state = the_state()
    world = applied(state)
    world.store(HANDBOOK)["status"] = "expired"
    support = change(plan_of(state, world), SUPPORT)
    assert support.action == "update"
    assert support.drift is False
    assert support.reasons == ["vector_store.handbook gets a new id"]


# -- a store updated in place, and drift --------------------------------------------------------


@pytest.mark.parametrize("days", [60, None], ids=["longer", "never"])
def test_a_changed_expiry_updates_the_store_in_place(days: int | None) -> None:
    state = the_state()
    world = applied(state)
    spec = store_spec(state).model_copy(update={"expires_after_days": days})
    plan = plan_of(replaced(state, spec), world)
    store_id = world.store(HANDBOOK)["id"]
    assert ops(plan) == ["update_vector_store"]
    [update] = plan.steps
    assert (update.address, update.id) == (HANDBOOK, store_id)
    assert update.body == vector_store.body(spec, update=True, **WHERE)
    assert update.body["expires_after"] == (
        None if days is None else {"anchor": "last_active_at", "days": days}
    )
    assert "description" not in update.body
    store = change(plan, HANDBOOK)
    assert (store.action, store.id, store.drift, store.reasons) == ("update", store_id, False, [])
    assert [(c.path, c.before, c.after) for c in store.changes] == [
        ("expires_after_days", 30, days)
    ]
    assert actions(plan) == {HANDBOOK: "update"}


def test_a_store_renamed_outside_assistops_is_drift_and_is_restored() -> None:
    state = the_state()
    world = applied(state)
    world.store(HANDBOOK)["name"] = "Handbook (edited in the dashboard)"
    plan = plan_of(state, world)
    assert ops(plan) == ["update_vector_store"]
    assert plan.steps[0].body["name"] == "Handbook"
    store = change(plan, HANDBOOK)
    assert store.action == "update"
    assert store.drift is True
    assert store.reasons == ["changed outside assistops since the last apply"]
    assert [(c.path, c.before, c.after) for c in store.changes] == [
        ("name", "Handbook (edited in the dashboard)", "Handbook")
    ]


def test_a_store_renamed_in_the_declaration_is_an_update_without_drift() -> None:
    state = the_state()
    world = applied(state)
    spec = store_spec(state).model_copy(update={"display_name": "Customer handbook"})
    plan = plan_of(replaced(state, spec), world)
    assert ops(plan) == ["update_vector_store"]
    store = change(plan, HANDBOOK)
    assert (store.action, store.drift, store.reasons) == ("update", False, [])
    assert [c.path for c in store.changes] == ["name"]


def test_an_assistant_edited_outside_assistops_is_drift_and_is_restored() -> None:
    state = the_state()
    world = applied(state)
    world.assistant(SUPPORT)["instructions"] = "Promise refunds to everyone."
    plan = plan_of(state, world)
    assert ops(plan) == ["update_assistant"]
    [update] = plan.steps
    assert update.id == world.assistant(SUPPORT)["id"]
    assert update.body["instructions"] == assistant_spec(state, SUPPORT).instructions
    support = change(plan, SUPPORT)
    assert (support.action, support.drift) == ("update", True)
    assert support.reasons == ["changed outside assistops since the last apply"]
    assert [c.path for c in support.changes] == ["instructions"]


def test_a_changed_write_only_reasoning_effort_updates_the_assistant() -> None:
    state = the_state()
    world = applied(state)
    spec = assistant_spec(state, ANALYST).model_copy(update={"reasoning_effort": "high"})
    plan = plan_of(replaced(state, spec), world)
    assert ops(plan) == ["update_assistant"]
    assert plan.steps[0].body["reasoning_effort"] == "high"
    analyst = change(plan, ANALYST)
    assert (analyst.action, analyst.drift, analyst.changes) == ("update", False, [])
    assert analyst.reasons == ["reasoning_effort changed (the service does not return it)"]


# -- the files of a store -----------------------------------------------------------------------


def test_a_file_attached_outside_assistops_is_detached_as_drift() -> None:
    state = the_state()
    world = applied(state)
    stranger = world.foreign_upload("notes.pdf")
    world.attach(world.store(HANDBOOK), stranger)  # no assistops_path attribute
    plan = plan_of(state, world)
    assert ops(plan) == ["detach_file"]
    [detach] = plan.steps
    assert (detach.address, detach.store, detach.file_id) == (
        HANDBOOK,
        world.store(HANDBOOK)["id"],
        stranger["id"],
    )
    outside = change(plan, f"file.handbook:?{stranger['id']}")
    assert (outside.action, outside.id, outside.drift) == ("delete", stranger["id"], True)
    assert outside.reasons == ["attached to the store outside assistops"]
    assert actions(plan) == {outside.address: "delete"}


def test_a_file_removed_from_a_store_is_detached_and_its_upload_deleted() -> None:
    state = the_state()
    world = applied(state)
    spec = store_spec(state).model_copy(update={"files": (RETURNS.address, WARRANTY.address)})
    plan = plan_of(replaced(state, spec, drop=(SHIPPING.address,)), world)
    gone = upload_id(world, SHIPPING)
    assert ops(plan) == ["detach_file", "delete_file"]
    detach, delete = plan.steps
    assert (detach.address, detach.store, detach.file_id) == (
        SHIPPING.address,
        world.store(HANDBOOK)["id"],
        gone,
    )
    assert (delete.address, delete.id) == (SHIPPING.address, gone)
    removed = change(plan, SHIPPING.address)
    assert (removed.action, removed.id, removed.reasons) == ("delete", gone, ["no longer declared"])
    assert removed.before == {"path": SHIPPING.path, "sha256": SHIPPING.sha256}
    assert not (removed.orphan or removed.duplicate or removed.drift)
    assert actions(plan) == {SHIPPING.address: "delete"}


def test_a_file_removed_from_one_store_keeps_the_upload_another_store_uses() -> None:
    shared = "# Contact\nmail us.\n"
    in_handbook = make_file(HANDBOOK, "knowledge/handbook/contact.md", shared)
    in_faq = make_file(FAQ, "knowledge/faq/contact.md", shared)
    state = desired(
        make_store("handbook", RETURNS, in_handbook),
        RETURNS,
        in_handbook,
        make_store("faq", in_faq),
        in_faq,
    )
    world = applied(state)
    assert len(world.files) == 2  # one upload per content
    new = replaced(state, make_store("handbook", RETURNS), drop=(in_handbook.address,))
    plan = plan_of(new, world)
    assert ops(plan) == ["detach_file"]
    assert plan.steps[0].file_id == upload_id(world, in_faq)
    assert change(plan, in_handbook.address).action == "delete"
    assert change(plan, in_faq.address).action == "no-op"


def test_a_changed_file_is_uploaded_attached_then_the_old_one_detached_and_deleted() -> None:
    state = the_state()
    world = applied(state)
    edited = make_file(HANDBOOK, RETURNS.path, "# Returns\n60 days now.\n")
    plan = plan_of(replaced(state, edited), world)
    old = upload_id(world, RETURNS)
    store_id = world.store(HANDBOOK)["id"]
    assert ops(plan) == ["upload_file", "attach_files", "detach_file", "delete_file"]
    upload, attach, detach, delete = plan.steps
    assert (upload.address, upload.sha256, upload.bytes) == (
        edited.address,
        edited.sha256,
        edited.bytes,
    )
    assert upload.filename == upload_filename(edited, project=PROJECT, environment=ENV)
    assert attach.store == store_id
    assert attach.files == [batch_entry(edited, sha_ref(edited.sha256), None)]
    assert attach.detach_first == []
    assert (detach.address, detach.store, detach.file_id) == (edited.address, store_id, old)
    assert (delete.address, delete.id) == (edited.address, old)
    replaced_file = change(plan, edited.address)
    assert (replaced_file.action, replaced_file.id) == ("replace", old)
    assert [(c.path, c.before, c.after) for c in replaced_file.changes] == [
        ("sha256", RETURNS.sha256, edited.sha256)
    ]
    assert actions(plan) == {edited.address: "replace"}


def test_an_apply_stopped_before_detaching_the_old_content_finishes_the_swap() -> None:
    """The new content is attached beside the old entry at the same path (apply was stopped
    between attach and detach): the old entry is detached and its upload deleted."""
    state = the_state()
    edited = make_file(HANDBOOK, RETURNS.path, "# Returns\n60 days now.\n")
    world = applied(state)
    new_upload = world.upload(edited)
    world.attach_file(world.store(HANDBOOK), edited, new_upload)
    old = upload_id(world, RETURNS)
    plan = plan_of(replaced(state, edited), world)
    assert ops(plan) == ["detach_file", "delete_file"]
    detach, delete = plan.steps
    assert (detach.file_id, delete.id) == (old, old)
    assert change(plan, edited.address).action == "no-op"
    assert change(plan, edited.address).id == new_upload["id"]


def test_a_failed_entry_of_the_same_content_is_detached_first_and_attached_again() -> None:
    state = the_state()
    world = applied(state)
    failed = world.entry(HANDBOOK, RETURNS.path)
    failed["status"] = "failed"
    plan = plan_of(state, world)
    assert ops(plan) == ["attach_files"]
    [attach] = plan.steps
    assert attach.store == world.store(HANDBOOK)["id"]
    assert attach.detach_first == [failed["id"]]
    assert attach.files == [batch_entry(RETURNS, upload_id(world, RETURNS), None)]
    again = change(plan, RETURNS.address)
    assert (again.action, again.id) == ("replace", failed["id"])
    assert again.reasons == ["indexing failed: attached again"]
    assert actions(plan) == {RETURNS.address: "replace"}


def test_a_renamed_file_keeps_its_entry_and_only_its_attributes_change() -> None:
    state = the_state()
    world = applied(state)
    renamed = make_file(HANDBOOK, "knowledge/handbook/refunds.md", "# Returns\n30 days.\n")
    assert renamed.sha256 == RETURNS.sha256
    spec = store_spec(state).model_copy(
        update={"files": (renamed.address, SHIPPING.address, WARRANTY.address)}
    )
    plan = plan_of(replaced(state, spec, renamed, drop=(RETURNS.address,)), world)
    entry = upload_id(world, RETURNS)
    assert ops(plan) == ["update_file_attributes"]
    [update] = plan.steps
    assert (update.address, update.store, update.file_id) == (
        renamed.address,
        world.store(HANDBOOK)["id"],
        entry,
    )
    assert update.attributes == file_attributes(renamed)
    moved = change(plan, renamed.address)
    assert (moved.action, moved.id) == ("update", entry)
    assert moved.reasons == [f"renamed from {RETURNS.path}: the indexed file is kept"]
    assert RETURNS.address not in {r.address for r in plan.resources}
    assert actions(plan) == {renamed.address: "update"}


def test_a_renamed_file_whose_entry_failed_is_detached_first_and_attached_again() -> None:
    state = the_state()
    world = applied(state)
    failed = world.entry(HANDBOOK, RETURNS.path)
    failed["status"] = "failed"
    renamed = make_file(HANDBOOK, "knowledge/handbook/refunds.md", "# Returns\n30 days.\n")
    spec = store_spec(state).model_copy(
        update={"files": (renamed.address, SHIPPING.address, WARRANTY.address)}
    )
    plan = plan_of(replaced(state, spec, renamed, drop=(RETURNS.address,)), world)
    [attach] = steps(plan, "attach_files")
    assert attach.files == [batch_entry(renamed, failed["id"], None)]
    # one upload is held by a store once: its failed copy must go before it is attached again,
    # and nothing may detach it after
    assert attach.detach_first == [failed["id"]]
    assert ops(plan) == ["attach_files"]


def test_a_file_moved_to_another_store_keeps_its_upload() -> None:
    state = the_state()
    world = applied(state)
    moved = make_file(FAQ, SHIPPING.path, "# Shipping\n2 days.\n")
    handbook = store_spec(state).model_copy(update={"files": (RETURNS.address, WARRANTY.address)})
    faq = store_spec(state, FAQ).model_copy(update={"files": (FAQ_ORDERS.address, moved.address)})
    plan = plan_of(replaced(state, handbook, faq, moved, drop=(SHIPPING.address,)), world)
    upload = upload_id(world, SHIPPING)
    assert ops(plan) == ["attach_files", "detach_file"]
    attach, detach = plan.steps
    assert (attach.store, attach.files) == (
        world.store(FAQ)["id"],
        [batch_entry(moved, upload, STATIC_400)],
    )
    assert (detach.store, detach.file_id) == (world.store(HANDBOOK)["id"], upload)
    assert actions(plan) == {moved.address: "create", SHIPPING.address: "delete"}


def test_a_store_left_without_files_by_an_interrupted_apply_gets_them_attached() -> None:
    state = the_state()
    world = applied(state)
    store_id = world.store(HANDBOOK)["id"]
    world.store_files[store_id] = []
    plan = plan_of(state, world)
    assert ops(plan) == ["attach_files"]
    [attach] = plan.steps
    assert attach.store == store_id
    assert attach.files == [
        batch_entry(f, upload_id(world, f), None) for f in (RETURNS, SHIPPING, WARRANTY)
    ]
    assert change(plan, HANDBOOK).action == "no-op"
    assert actions(plan) == {f.address: "create" for f in (RETURNS, SHIPPING, WARRANTY)}


def test_changed_file_attributes_are_updated_in_place() -> None:
    state = the_state()
    world = applied(state)
    relabelled = WARRANTY.model_copy(update={"attributes": {"lang": "de"}})
    plan = plan_of(replaced(state, relabelled), world)
    assert ops(plan) == ["update_file_attributes"]
    assert plan.steps[0].attributes == file_attributes(relabelled)
    assert [(c.path, c.before, c.after) for c in change(plan, WARRANTY.address).changes] == [
        ("attributes.lang", "en", "de")
    ]


def test_a_changed_code_interpreter_file_is_uploaded_and_the_assistant_updated() -> None:
    state = the_state()
    world = applied(state)
    edited = make_file(ANALYST, SALES.path, "month,total\n1,100\n2,250\n")
    plan = plan_of(replaced(state, edited), world)
    assert ops(plan) == ["upload_file", "update_assistant", "delete_file"]
    upload, update, delete = plan.steps
    assert upload.sha256 == edited.sha256
    assert update.id == world.assistant(ANALYST)["id"]
    assert update.body["tool_resources"]["code_interpreter"]["file_ids"] == [
        sha_ref(edited.sha256),
        upload_id(world, REGIONS),
    ]
    assert delete.id == upload_id(world, SALES)
    assert change(plan, ANALYST).action == "update"


# -- duplicates ---------------------------------------------------------------------------------


def test_of_two_stores_with_one_address_the_one_matching_the_declaration_is_kept() -> None:
    state = desired(make_store("handbook", RETURNS), RETURNS)
    older = replaced(state, store_spec(state).model_copy(update={"display_name": "Old"}))
    world = applied(older)
    stale = world.store(HANDBOOK)
    current = world.add_store(store_spec(state))
    world.attach_file(current, RETURNS, world.files[0])
    assert stale["created_at"] < current["created_at"]
    plan = plan_of(state, world)
    assert ops(plan) == ["delete_vector_store"]
    assert plan.steps[0].id == stale["id"]
    by_id = {r.id: r for r in plan.resources if r.address == HANDBOOK}
    assert by_id[stale["id"]].action == "delete"
    assert by_id[stale["id"]].duplicate is True
    assert by_id[stale["id"]].orphan is False
    assert by_id[stale["id"]].reasons == [DUPLICATE_REASON]
    assert by_id[current["id"]].action == "no-op"


def test_of_two_stores_neither_matching_the_oldest_is_kept_and_updated() -> None:
    state = desired(make_store("handbook", RETURNS), RETURNS)
    older = replaced(state, store_spec(state).model_copy(update={"display_name": "Old"}))
    world = applied(older)
    first = world.store(HANDBOOK)
    second = world.add_store(store_spec(older))
    world.attach_file(second, RETURNS, world.files[0])
    plan = plan_of(state, world)
    assert ops(plan) == ["update_vector_store", "delete_vector_store"]
    update, delete = plan.steps
    assert (update.id, delete.id) == (first["id"], second["id"])
    by_id = {r.id: r for r in plan.resources if r.address == HANDBOOK}
    assert (by_id[first["id"]].action, by_id[first["id"]].duplicate) == ("update", False)
    assert (by_id[second["id"]].action, by_id[second["id"]].duplicate) == ("delete", True)


def test_of_two_assistants_with_one_address_the_one_matching_is_kept_even_if_newer() -> None:
    state = desired(make_assistant("support"))
    spec = assistant_spec(state, SUPPORT)
    world = World()
    stale = world.add_assistant(spec.model_copy(update={"model": "gpt-4"}), state, {})
    current = world.add_assistant(spec, state, {})
    plan = plan_of(state, world)
    assert ops(plan) == ["delete_assistant"]
    assert plan.steps[0].id == stale["id"]
    by_id = {r.id: r for r in plan.resources}
    assert (by_id[stale["id"]].action, by_id[stale["id"]].duplicate) == ("delete", True)
    assert by_id[stale["id"]].reasons == [DUPLICATE_REASON]
    assert by_id[stale["id"]].before == {"name": "Support", "model": "gpt-4"}
    assert by_id[current["id"]].action == "no-op"


def test_of_two_assistants_neither_matching_the_oldest_is_kept_and_updated() -> None:
    state = desired(make_assistant("support"))
    old = assistant_spec(state, SUPPORT).model_copy(update={"model": "gpt-4"})
    world = World()
    first = world.add_assistant(old, state, {})
    second = world.add_assistant(old, state, {})
    plan = plan_of(state, world)
    assert ops(plan) == ["update_assistant", "delete_assistant"]
    update, delete = plan.steps
    assert (update.id, delete.id) == (first["id"], second["id"])
    assert update.body["model"] == "gpt-4o-mini"
    by_id = {r.id: r for r in plan.resources}
    assert (by_id[first["id"]].action, by_id[first["id"]].duplicate) == ("update", False)
    assert (by_id[second["id"]].action, by_id[second["id"]].duplicate) == ("delete", True)


def _older_empty_copy(world: World, spec: VectorStoreSpec, than: Json) -> Json:
    """A store created from ``spec`` (same tags, same digest) before ``than``, holding nothing:
    what the server leaves when it commits a create and answers 500 (the SDK makes another)."""
    copy = world.add_store(spec)
    copy["created_at"] = than["created_at"] - 10
    world.stores.sort(key=lambda s: s["created_at"])
    return copy


def test_of_two_stores_with_one_digest_the_one_in_use_and_indexed_is_kept_not_the_oldest() -> None:
    state = the_state()
    world = applied(state)
    in_use = world.store(HANDBOOK)
    empty = _older_empty_copy(world, store_spec(state), in_use)
    plan = plan_of(state, world)
    # only the empty copy goes: no file is attached again, no assistant re-pointed
    assert ops(plan) == ["delete_vector_store"]
    assert plan.steps[0].id == empty["id"]
    by_id = {r.id: r for r in plan.resources if r.address == HANDBOOK}
    assert (by_id[empty["id"]].action, by_id[empty["id"]].duplicate) == ("delete", True)
    assert by_id[in_use["id"]].action == "no-op"
    assert change(plan, SUPPORT).action == "no-op"


def test_of_two_unused_stores_with_one_digest_the_one_holding_the_files_is_kept() -> None:
    state = desired(make_store("handbook", RETURNS, SHIPPING), RETURNS, SHIPPING)
    world = applied(state)
    full = world.store(HANDBOOK)
    partial = _older_empty_copy(world, store_spec(state), full)
    world.attach_file(partial, RETURNS, world.upload_of(RETURNS.sha256) or {})
    plan = plan_of(state, world)
    assert ops(plan) == ["delete_vector_store"]
    assert plan.steps[0].id == partial["id"]


def test_of_two_assistants_with_one_digest_the_one_pointing_at_the_kept_store_is_kept() -> None:
    state = the_state()
    world = applied(state)
    kept_store = world.store(HANDBOOK)
    other_store = _older_empty_copy(world, store_spec(state), kept_store)
    current = world.assistant(SUPPORT)
    # a second apply at the same time made its own store and its own assistant, earlier
    ids = {HANDBOOK: other_store["id"]}
    stale = world.add_assistant(assistant_spec(state, SUPPORT), state, ids)
    stale["created_at"] = current["created_at"] - 10
    world.assistants.sort(key=lambda a: a["created_at"])
    plan = plan_of(state, world)
    assert sorted(ops(plan)) == ["delete_assistant", "delete_vector_store"]
    deleted = {s.id for s in plan.steps}
    assert deleted == {stale["id"], other_store["id"]}
    by_id = {r.id: r for r in plan.resources if r.address == SUPPORT}
    assert by_id[current["id"]].action == "no-op"


@pytest.mark.parametrize("user", [RETURNS, SALES], ids=["store-file", "code-file"])
def test_of_two_uploads_of_one_content_the_one_in_use_is_kept(user: FileSpec) -> None:
    state = the_state()
    world = World()
    spare = world.upload(user)  # the older one, which nothing uses
    applied(state, world)
    [in_use] = [u for u in world.files if u["filename"] == spare["filename"] and u is not spare]
    assert spare["created_at"] < in_use["created_at"]
    plan = plan_of(state, world)
    assert ops(plan) == ["delete_file"]
    [delete] = plan.steps
    assert delete.id == spare["id"]
    assert delete.address == f"file.unused:{user.path.rsplit('/', 1)[-1]}@{user.sha256[:12]}"
    extra = change(plan, delete.address)
    assert (extra.action, extra.id, extra.duplicate, extra.orphan) == (
        "delete",
        spare["id"],
        True,
        False,
    )
    assert extra.reasons == ["a second upload of the same content"]
    assert change(plan, user.address).id == in_use["id"]


def test_of_two_unused_uploads_of_one_content_the_oldest_serves_a_new_store() -> None:
    state = desired(make_store("handbook", RETURNS), RETURNS)
    world = World()
    oldest, newer = world.upload(RETURNS), world.upload(RETURNS)
    plan = plan_of(state, world)
    assert ops(plan) == ["create_vector_store", "attach_files", "delete_file"]
    assert plan.steps[1].files[0]["file_id"] == oldest["id"]
    assert plan.steps[2].id == newer["id"]
    assert change(plan, plan.steps[2].address).duplicate is True


# -- orphans and objects that are not ours ------------------------------------------------------


def test_an_assistant_no_longer_declared_is_deleted_with_its_code_files() -> None:
    state = the_state()
    world = applied(state)
    plan = plan_of(replaced(state, drop=(ANALYST, SALES.address, REGIONS.address)), world)
    assert ops(plan) == ["delete_assistant", "delete_file", "delete_file"]
    delete, *files = plan.steps
    assert (delete.address, delete.id) == (ANALYST, world.assistant(ANALYST)["id"])
    analyst = change(plan, ANALYST)
    assert (analyst.action, analyst.orphan, analyst.duplicate) == ("delete", True, False)
    assert analyst.reasons == [ORPHAN_REASON]
    assert {f.id for f in files} == {upload_id(world, SALES), upload_id(world, REGIONS)}
    for f in files:
        gone = change(plan, f.address)
        assert f.address.startswith("file.unused:")
        assert (gone.action, gone.orphan, gone.duplicate) == ("delete", True, False)
        assert gone.reasons == ["no declared file has this content any more"]
    assert not mentions(plan, world.store(FAQ)["id"])


def test_a_store_no_longer_declared_is_deleted_with_its_uploads() -> None:
    state = desired(
        make_store("handbook", RETURNS), RETURNS, make_store("faq", FAQ_ORDERS), FAQ_ORDERS
    )
    world = applied(state)
    plan = plan_of(replaced(state, drop=(FAQ, FAQ_ORDERS.address)), world)
    assert ops(plan) == ["delete_vector_store", "delete_file"]
    delete_store, delete_file = plan.steps
    assert (delete_store.address, delete_store.id) == (FAQ, world.store(FAQ)["id"])
    assert delete_file.id == upload_id(world, FAQ_ORDERS)
    faq = change(plan, FAQ)
    assert (faq.action, faq.orphan, faq.reasons) == ("delete", True, [ORPHAN_REASON])
    assert faq.before == {"name": "Faq"}
    assert change(plan, delete_file.address).orphan is True
    assert not mentions(plan, world.store(HANDBOOK)["id"])


def test_objects_of_other_projects_environments_or_nobody_are_never_touched() -> None:
    """Through discovery (``read_live``): look-alikes tagged for acme/staging or other/prod,
    untagged objects and foreign uploads, some with our addresses and contents, are not in
    live state, so the plan neither keeps, updates nor deletes them."""
    state = the_state()
    world = applied(state)
    ours = discover(world)
    foreign: list[str] = []
    for project, env in (("acme", "staging"), ("other", "prod")):
        where = {"project": project, "environment": env}
        upload = world.upload(RETURNS, **where)
        store = world.add_store(store_spec(state), **where)
        world.attach_file(store, RETURNS, upload)
        held = world.upload(SALES, **where)
        asst = world.add_assistant(
            assistant_spec(state, ANALYST),
            state,
            {FAQ: store["id"], SALES.address: held["id"], REGIONS.address: held["id"]},
            **where,
        )
        gone = world.add_assistant(make_assistant("retired"), state, {}, **where)
        foreign += [upload["id"], store["id"], held["id"], asst["id"], gone["id"]]
    untagged = world.add_assistant(make_assistant("manual"), state, {})
    untagged["metadata"] = {}
    bare = world.add_store(make_store("scratch"))
    bare["metadata"] = {"team": "x"}
    world.attach(bare, world.foreign_upload("scratch.md"))
    foreign += [untagged["id"], bare["id"], world.files[-1]["id"]]
    foreign.append(world.foreign_upload("notes.md")["id"])
    foreign.append(world.foreign_upload(f"acme.prod.{'z' * 16}.bad.md")["id"])
    live = discover(world)
    assert live.parts == ours.parts
    assert live.references == ours.references
    assert live.fingerprints == ours.fingerprints
    assert live.adopted == {}
    plan = plan_of(state, live)
    assert plan.steps == []
    assert [i for i in foreign if mentions(plan, i, resources=True)] == []


def test_with_nothing_declared_only_this_environments_objects_are_deleted() -> None:
    state = the_state()
    world = applied(state)
    prod = {o["id"] for o in [*world.files, *world.stores, *world.assistants]}
    applied(state.model_copy(update={"environment": "staging"}), world)
    staging = {o["id"] for o in [*world.files, *world.stores, *world.assistants]} - prod
    assert len(staging) == len(prod) == 10
    plan = plan_of(desired(), world)
    assert {s.id for s in plan.steps} == prod
    assert ops(plan) == ["delete_assistant"] * 2 + ["delete_vector_store"] * 2 + ["delete_file"] * 6
    assert all(r.action == "delete" and r.orphan and not r.duplicate for r in plan.resources)
    assert [i for i in staging if mentions(plan, i, resources=True)] == []


# -- --target and adopted content ---------------------------------------------------------------


def test_a_target_keeps_the_assistant_its_store_and_files_only() -> None:
    state = the_state()
    plan = plan_of(state, World(), targets=[SUPPORT])
    closure = {SUPPORT, HANDBOOK, RETURNS.address, SHIPPING.address, WARRANTY.address}
    assert {r.address for r in plan.resources} == closure
    assert {s.address for s in plan.steps} <= closure
    assert ops(plan) == [
        "upload_file",
        "upload_file",
        "upload_file",
        "create_vector_store",
        "attach_files",
        "create_assistant",
    ]
    assert [s.sha256 for s in steps(plan, "upload_file")] == [
        f.sha256 for f in (RETURNS, SHIPPING, WARRANTY)
    ]


def test_a_target_on_an_applied_state_leaves_other_changes_out() -> None:
    state = the_state()
    world = applied(state)
    world.store(FAQ)["name"] = "edited"
    world.assistant(ANALYST)["model"] = "gpt-4"
    edited = make_file(HANDBOOK, SHIPPING.path, "# Shipping\n1 day.\n")
    plan = plan_of(replaced(state, edited), world, targets=[SUPPORT])
    assert ops(plan) == ["upload_file", "attach_files", "detach_file", "delete_file"]
    assert actions(plan) == {edited.address: "replace"}
    assert not mentions(plan, world.store(FAQ)["id"])
    assert not mentions(plan, world.assistant(ANALYST)["id"])
    untargeted = plan_of(replaced(state, edited), world)
    assert actions(untargeted) == {edited.address: "replace", FAQ: "update", ANALYST: "update"}


@pytest.mark.parametrize("held_by", ["store", "code_interpreter"])
def test_a_target_uploads_every_content_its_closure_refers_to(held_by: str) -> None:
    shared = "# Contact\nmail us.\n"
    in_faq = make_file(FAQ, "knowledge/faq/contact.md", shared)
    if held_by == "store":
        mine = make_file(HANDBOOK, "knowledge/handbook/contact.md", shared)
        support = make_assistant("support", vector_store=HANDBOOK)
        specs: list[Spec] = [make_store("handbook", mine), mine, support]
    else:
        mine = make_file(SUPPORT, "data/contact.md", shared)
        support = make_assistant("support", code_interpreter_files=[mine.address])
        specs = [mine, support]
    state = desired(make_store("faq", in_faq), in_faq, *specs)
    plan = plan_of(state, World(), targets=[SUPPORT])
    refs = set(re.findall(r"\$\{sha:[0-9a-f]{64}\}", str([s.model_dump() for s in plan.steps])))
    assert refs == {sha_ref(sha256_of(shared))}
    assert {sha_ref(s.sha256) for s in steps(plan, "upload_file")} == refs


def test_adopted_content_is_attached_without_an_upload() -> None:
    state = desired(make_store("handbook", RETURNS), RETURNS)
    live = discover(World())
    live.adopted[RETURNS.sha256] = "file-imported1"
    plan = plan_of(state, live)
    assert ops(plan) == ["create_vector_store", "attach_files"]
    assert plan.steps[1].files == [batch_entry(RETURNS, "file-imported1", None)]
    assert change(plan, RETURNS.address).action == "create"


def test_content_attached_by_import_is_found_by_discovery_and_reused() -> None:
    """A store entry carrying our attributes whose upload is not named as ours (an imported
    file) serves its content: a second store with it attaches it, nothing is uploaded or
    deleted."""
    imported = make_store("handbook", RETURNS)
    state = desired(imported, RETURNS)
    world = World()
    upload = world.foreign_upload("returns.md", RETURNS.bytes)
    world.attach_file(world.add_store(imported), RETURNS, upload)
    live = discover(world)
    assert live.adopted == {RETURNS.sha256: upload["id"]}
    assert plan_of(state, live).steps == []
    copy = make_file(FAQ, "knowledge/faq/returns.md", "# Returns\n30 days.\n")
    plan = plan_of(replaced(state, make_store("faq", copy), copy), live)
    assert ops(plan) == ["create_vector_store", "attach_files"]
    assert plan.steps[1].files == [batch_entry(copy, upload["id"], None)]
