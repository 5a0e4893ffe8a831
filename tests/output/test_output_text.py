"""Text plans: what a reviewer reads in a terminal."""

from __future__ import annotations

from plan_builders import (
    PlanFactory,
    create_change,
    drift_change,
    duplicate_change,
    noop_change,
    orphan_change,
    replace_change,
    update_change,
)

from assistops.engine.diff import FieldChange
from assistops.engine.plan import Plan, ResourceChange
from assistops.kinds.vector_store import DetachFile
from assistops.output import NO_CHANGES, render_text


def block(text: str, address_line: str) -> list[str]:
    """The lines of one resource's block: from its comment line to the blank line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line == address_line) - 1
    while lines[start].startswith("  #") and lines[start - 1].startswith("  #"):
        start -= 1
    end = lines.index("", start)
    return lines[start:end]


def test_each_action_has_its_symbol_and_the_summary_counts_them(full_plan: Plan) -> None:
    text = render_text(full_plan)
    lines = text.splitlines()
    assert "  + assistant.billing" in lines
    assert "  ~ assistant.support (asst_support1)" in lines
    assert "-/+ vector_store.handbook (vs_handbook1)" in lines
    assert "  - assistant.legacy (asst_legacy1)" in lines
    assert "  - assistant.support (asst_support2)" in lines
    assert lines[-1] == "Plan: 1 to add, 2 to change, 1 to replace, 2 to destroy."
    assert text.endswith("\n")


def test_headlines_say_what_happens(full_plan: Plan) -> None:
    lines = render_text(full_plan).splitlines()
    assert "  # assistant.billing will be created" in lines
    assert "  # assistant.support will be updated in-place" in lines
    assert "  # vector_store.handbook must be replaced" in lines
    assert "  # assistant.legacy will be destroyed (no longer declared)" in lines
    assert "  # assistant.support will be destroyed (duplicate)" in lines


def test_replace_lists_its_reasons(full_plan: Plan) -> None:
    lines = block(render_text(full_plan), "-/+ vector_store.handbook (vs_handbook1)")
    assert lines == [
        "  # vector_store.handbook must be replaced",
        "  #   the store expired",
        "  #   chunking changed: every file is indexed again in a new store",
        "-/+ vector_store.handbook (vs_handbook1)",
    ]


def test_unchanged_resources_are_counted_not_listed(full_plan: Plan) -> None:
    text = render_text(full_plan)
    assert "vector_store.policies" not in text
    assert "1 unchanged resource not shown." in text.splitlines()


def test_instructions_are_a_unified_diff_with_context(plan_factory: PlanFactory) -> None:
    lines = block(
        render_text(plan_factory([update_change()])), "  ~ assistant.support (asst_support1)"
    )
    at = lines.index("      ~ instructions:")
    assert lines[at + 1 : at + 7] == [
        "            @@ -1,4 +1,4 @@",
        "             You help customers of Acme.",
        "            -Be terse.",
        "            +Be friendly.",
        "             Never promise refunds.",
        "             Sign as Acme.",
    ]


def test_context_sets_the_lines_around_a_change(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([update_change()]), context=0)
    assert "            -Be terse." in text
    assert "You help customers of Acme." not in text
    assert "            @@ -2 +2 @@" in text


def test_scalar_changes_show_before_and_after(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([update_change()]))
    assert '      ~ model: "gpt-4o-mini" -> "gpt-4o"' in text.splitlines()


def test_schema_change_shows_its_pointer_and_the_breaking_reason(
    plan_factory: PlanFactory,
) -> None:
    lines = render_text(plan_factory([update_change()])).splitlines()
    field = '      - tools.function:lookup_order.parameters#/properties/email: {"type": "string"}'
    at = lines.index(field)
    assert lines[at + 1] == "          ! breaking: parameter 'email' removed"
    assert any(line.startswith("Warning: 1 change may break apps") for line in lines)


def test_no_breaking_warning_without_breaking_changes(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([create_change(), drift_change()]))
    assert "breaking" not in text


def test_long_values_are_folded(plan_factory: PlanFactory) -> None:
    long = "\n".join(f"rule {i}" for i in range(30))
    text = render_text(plan_factory([create_change(long)]), max_lines=5)
    lines = text.splitlines()
    at = lines.index("      + instructions:")
    assert lines[at + 1 : at + 7] == [
        "            rule 0",
        "            rule 1",
        "            rule 2",
        "            rule 3",
        "            rule 4",
        "            … (25 more lines)",
    ]
    assert "rule 5" not in text
    assert '      + model: "gpt-4o"' in lines


def test_short_values_are_not_folded(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([create_change("one\ntwo\nthree")]), max_lines=5)
    assert "more line" not in text
    assert "            three" in text.splitlines()


def test_long_structures_are_diffed_as_pretty_json(plan_factory: PlanFactory) -> None:
    before = {"ranking_options": {"ranker": "auto", "score_threshold": 0.2}, "max_num_results": 20}
    after = {"ranking_options": {"ranker": "auto", "score_threshold": 0.5}, "max_num_results": 20}
    change = ResourceChange(
        address="assistant.support",
        kind="assistant",
        action="update",
        id="asst_1",
        changes=[FieldChange(path="tools.file_search", before=before, after=after)],
    )
    lines = render_text(plan_factory([change])).splitlines()
    assert '            -    "score_threshold": 0.2' in lines
    assert '            +    "score_threshold": 0.5' in lines


def test_orphan_and_duplicate_deletes_show_what_goes(full_plan: Plan) -> None:
    text = render_text(full_plan)
    orphan = block(text, "  - assistant.legacy (asst_legacy1)")
    assert orphan == [
        "  # assistant.legacy will be destroyed (no longer declared)",
        "  - assistant.legacy (asst_legacy1)",
        '      - name: "Legacy"',
        '      - model: "gpt-4"',
    ]
    duplicate = block(text, "  - assistant.support (asst_support2)")
    assert "  #   duplicate of the same address (an interrupted or retried create)" in duplicate


def test_drift_is_shown_as_drift_with_what_apply_does(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([drift_change()]))
    assert block(text, "  ~ vector_store.faq (vs_faq1)") == [
        "  # vector_store.faq has changed outside assistops (drift)",
        "  #   apply will update it in-place to match the declarations",
        "  ~ vector_store.faq (vs_faq1)",
        '      ~ name: "FAQ (edited)" -> "FAQ"',
    ]


def test_no_changes(empty_plan: Plan) -> None:
    text = render_text(empty_plan)
    lines = text.splitlines()
    assert lines[-1] == NO_CHANGES == "No changes. Live state matches the declarations."
    assert "2 unchanged resources checked." in lines
    assert "will perform" not in text
    assert lines[0] == (
        "assistops plan: project acme, environment prod, provider local, revision 3f2a9c1"
    )


def test_steps_without_resource_changes_are_still_shown(plan_factory: PlanFactory) -> None:
    plan = plan_factory(
        [noop_change()],
        steps=[DetachFile(address="vector_store.policies", store="vs_pol1", file_id="file_x")],
    )
    text = render_text(plan)
    assert "apply will run these steps:" in text
    assert "    - detach file_x from vs_pol1 (vector_store.policies)" in text
    assert text.splitlines()[-1] == "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy."


def test_steps_are_listed_by_phase_on_request(full_plan: Plan) -> None:
    assert "apply will run these steps" not in render_text(full_plan)
    lines = render_text(full_plan, steps=True).splitlines()
    at = lines.index("apply will run these steps:")
    phases = [line.strip(" :") for line in lines[at:] if line.startswith("  ") and line[2] != " "]
    assert phases == ["vector stores", "assistants", "delete assistants", "delete vector stores"]
    assert "    - create vector_store.handbook" in lines
    assert "    - delete vector_store.handbook (vs_handbook1)" in lines


def test_no_color_output_has_no_escapes(full_plan: Plan) -> None:
    assert "\x1b" not in render_text(full_plan, color=False, steps=True)


def test_color_marks_symbols_and_diff_lines(full_plan: Plan) -> None:
    text = render_text(full_plan, color=True)
    assert "\x1b[32m  +\x1b[0m assistant.billing" in text
    assert "\x1b[33m  ~\x1b[0m assistant.support (asst_support1)" in text
    assert "\x1b[35m-/+\x1b[0m vector_store.handbook" in text
    assert "\x1b[31m  -\x1b[0m assistant.legacy" in text
    assert "\x1b[31m-Be terse.\x1b[0m" in text
    assert "\x1b[32m+Be friendly.\x1b[0m" in text


def test_plan_order_is_kept(plan_factory: PlanFactory) -> None:
    text = render_text(plan_factory([replace_change(), orphan_change(), duplicate_change()]))
    order = [text.index(a) for a in ("-/+ vector_store", "  - assistant.legacy", "asst_support2")]
    assert order == sorted(order)


def test_no_trailing_spaces_on_blank_lines(plan_factory: PlanFactory) -> None:
    before = "Intro.\n\nRules:\n- one"
    after = "Intro.\n\nRules:\n- one\n- two"
    change = ResourceChange(
        address="assistant.support",
        kind="assistant",
        action="update",
        id="asst_1",
        changes=[FieldChange(path="instructions", before=before, after=after)],
    )
    plan = plan_factory([change, create_change(after)])
    lines = render_text(plan).splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert "            +- two" in lines
