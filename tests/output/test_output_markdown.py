"""Markdown plans: what a reviewer reads in a pull request or a job summary."""

from __future__ import annotations

import re

from plan_builders import PlanFactory, create_change, noop_change, update_change

from assistops.engine.diff import FieldChange
from assistops.engine.plan import Plan, ResourceChange
from assistops.kinds.vector_store import DetachFile
from assistops.output import (
    DEFAULT_LIMIT,
    GITHUB_COMMENT_LIMIT,
    NO_CHANGES,
    render_markdown,
    render_markdown_many,
    summary_line,
)


def details_blocks(md: str) -> list[str]:
    """Every ``<details>`` block, whole."""
    return re.findall(r"<details>.*?</details>", md, flags=re.S)


def table_rows(md: str) -> list[str]:
    """The change rows of the table (not the header and separator)."""
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    return rows[2:]


def big_plan(plan_factory: PlanFactory, n: int = 200, lines: int = 300) -> Plan:
    """``n`` assistants, each with long instructions rewritten line by line."""
    resources = []
    for i in range(n):
        old = "\n".join(f"assistant {i} rule {k}: be careful" for k in range(lines))
        new = "\n".join(f"assistant {i} rule {k}: be very careful" for k in range(lines))
        resources.append(
            ResourceChange(
                address=f"assistant.helper-{i:03d}",
                kind="assistant",
                action="update",
                id=f"asst_{i}",
                changes=[FieldChange(path="instructions", before=old, after=new)],
            )
        )
    return plan_factory(resources)


def test_heading_carries_project_environment_and_summary(full_plan: Plan) -> None:
    md = render_markdown(full_plan)
    lines = md.splitlines()
    assert lines[0] == "### assistops plan: `acme` / `prod`"
    assert f"**{summary_line(full_plan)}**" in lines
    assert "**Plan: 1 to add, 2 to change, 1 to replace, 2 to destroy.**" in lines
    assert "Provider `local`, revision `3f2a9c1`. 1 unchanged resource not shown." in lines


def test_table_has_one_row_per_change_with_flags(full_plan: Plan) -> None:
    rows = table_rows(render_markdown(full_plan))
    assert len(rows) == 6
    assert rows[0] == "| 🟡 `~` | `vector_store.faq` | update | `name` | ⚠️ drift |"
    assert rows[1].startswith("| 🟣 `-/+` | `vector_store.handbook` | replace | the store expired;")
    assert rows[2] == "| 🟢 `+` | `assistant.billing` | create | new |  |"
    assert rows[3].startswith("| 🟡 `~` | `assistant.support` | update | `instructions`, `model`")
    assert rows[3].endswith("| 💥 breaking |")
    assert rows[4] == "| 🔴 `-` | `assistant.legacy` | delete | no longer declared | orphan |"
    assert rows[5].endswith("| duplicate |")
    assert "vector_store.policies" not in render_markdown(full_plan)


def test_details_hold_diff_blocks(full_plan: Plan) -> None:
    md = render_markdown(full_plan)
    blocks = details_blocks(md)
    assert len(blocks) == 6
    support = next(b for b in blocks if "<code>~ assistant.support</code>" in b)
    assert support.startswith(
        "<details><summary><code>~ assistant.support</code> will be updated in-place</summary>"
    )
    assert "\n```diff\n" in support
    body = support.split("```diff\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert body == [
        "# id: asst_support1",
        "  instructions:",
        "@@ -1,4 +1,4 @@",
        " You help customers of Acme.",
        "-Be terse.",
        "+Be friendly.",
        " Never promise refunds.",
        " Sign as Acme.",
        '- model: "gpt-4o-mini"',
        '+ model: "gpt-4o"',
        '- tools.function:lookup_order.parameters#/properties/email: {"type": "string"}',
        "! breaking: parameter 'email' removed",
    ]
    assert "💥 **1 change may break apps that implement the functions.**" in md


def test_drift_orphan_and_duplicate_blocks_say_so(full_plan: Plan) -> None:
    blocks = details_blocks(render_markdown(full_plan))
    drift = next(b for b in blocks if "vector_store.faq" in b)
    assert "has changed outside assistops (drift)" in drift
    assert "# apply will update it in-place to match the declarations" in drift
    assert '- name: "FAQ (edited)"\n+ name: "FAQ"' in drift
    assert any("will be destroyed (no longer declared)" in b for b in blocks)
    assert any("will be destroyed (duplicate)" in b for b in blocks)


def test_no_changes(empty_plan: Plan) -> None:
    md = render_markdown(empty_plan)
    assert f"**{NO_CHANGES}**" in md
    assert "2 unchanged resources checked." in md
    assert "<details>" not in md
    assert "| Resource |" not in md


def test_a_huge_plan_fits_in_a_pull_request_comment(plan_factory: PlanFactory) -> None:
    plan = big_plan(plan_factory)
    md = render_markdown(plan)
    assert DEFAULT_LIMIT < GITHUB_COMMENT_LIMIT
    assert len(md) <= DEFAULT_LIMIT
    # the table is whole; details are cut and the cut is counted
    assert len(table_rows(md)) == 200
    shown = len(details_blocks(md))
    assert 0 < shown < 200
    assert md.rstrip().endswith(
        f"_Details of {200 - shown} more changes folded to fit GitHub's comment limit; "
        "every change is listed above, and the full plan is in the job log._"
    )


def test_the_block_that_does_not_fit_is_cut_inside(plan_factory: PlanFactory) -> None:
    plan = big_plan(plan_factory, n=1, lines=2000)
    md = render_markdown(plan, limit=20_000)
    assert len(md) <= 20_000
    (only,) = details_blocks(md)
    note = re.search(r"# … (\d+) more lines not shown; see the full plan in the job log", only)
    assert note is not None
    shown = len(re.findall(r"^[+-]assistant 0 rule", only, flags=re.M))
    assert shown + int(note.group(1)) == 2 * 2000  # every changed line is shown or counted
    assert "more changes folded" not in md


def test_small_limits_are_respected(plan_factory: PlanFactory) -> None:
    plan = big_plan(plan_factory, n=30, lines=20)
    for limit in (4_000, 9_000, 25_000):
        md = render_markdown(plan, limit=limit)
        assert len(md) <= limit, limit
        assert md.count("<details>") == md.count("</details>")


def test_a_plan_that_fits_is_not_cut(full_plan: Plan) -> None:
    md = render_markdown(full_plan)
    assert "job log" not in md


def test_fences_in_values_do_not_break_the_block(plan_factory: PlanFactory) -> None:
    change = create_change("Reply with code like:\n```python\nprint(1)\n```")
    md = render_markdown(plan_factory([change]))
    (only,) = details_blocks(md)
    assert "\n````diff\n" in only
    assert only.rstrip().endswith("````\n\n</details>")


def test_pipes_and_backticks_in_addresses_keep_the_table(plan_factory: PlanFactory) -> None:
    odd = ResourceChange(
        address="file.kb:docs/a|b`c.md",
        kind="file",
        action="create",
        after={"path": "docs/a|b`c.md"},
    )
    rows = table_rows(render_markdown(plan_factory([odd, noop_change()])))
    assert rows == ["| 🟢 `+` | ``file.kb:docs/a\\|b`c.md`` | create | new |  |"]


def test_long_field_lists_are_shortened_in_the_table(plan_factory: PlanFactory) -> None:
    many = ResourceChange(
        address="assistant.support",
        kind="assistant",
        action="update",
        id="asst_1",
        changes=[
            FieldChange(path=f"metadata.key_number_{i:02d}", before="a", after="b")
            for i in range(16)
        ],
    )
    (row,) = table_rows(render_markdown(plan_factory([many])))
    assert "`metadata.key_number_00`" in row
    match = re.search(r" and (\d+) more \|", row)
    assert match is not None
    assert row.count("`metadata.key_number_") + int(match.group(1)) == 16


def test_update_markdown_ends_with_a_newline(plan_factory: PlanFactory) -> None:
    assert render_markdown(plan_factory([update_change()])).endswith("</details>\n")


def test_steps_without_resource_changes_are_still_shown(plan_factory: PlanFactory) -> None:
    plan = plan_factory(
        [noop_change()],
        steps=[DetachFile(address="vector_store.policies", store="vs_pol1", file_id="file_x")],
    )
    md = render_markdown(plan)
    assert "**Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy.**" in md
    (only,) = details_blocks(md)
    assert "<summary>What apply will do</summary>" in only
    assert "# detach replaced files\n  detach file_x from vs_pol1 (vector_store.policies)" in only


def test_steps_on_request(full_plan: Plan) -> None:
    assert "What apply will do" not in render_markdown(full_plan)
    blocks = details_blocks(render_markdown(full_plan, steps=True))
    assert "# delete vector stores\n  delete vector_store.handbook (vs_handbook1)" in blocks[-1]


def test_deletes_are_called_out_above_the_table(full_plan: Plan) -> None:
    md = render_markdown(full_plan)
    deletes = [r.address for r in full_plan.deletes]
    callout = next(line for line in md.splitlines() if line.startswith("> 🔴"))

    assert deletes
    assert callout.startswith(f"> 🔴 **{len(deletes)} resource")
    for address in deletes:
        assert f"`{address}`" in callout
    assert md.index(callout) < md.index("| Resource |")


def test_no_delete_callout_without_deletes(plan_factory: PlanFactory) -> None:
    assert "🔴 **" not in render_markdown(plan_factory([update_change(), create_change()]))


def test_several_environments_open_with_one_summary_line_each(
    plan_factory: PlanFactory, full_plan: Plan
) -> None:
    staging = plan_factory([update_change()], environment="staging")
    prod = full_plan.model_copy(update={"environment": "prod"})
    quiet = plan_factory([noop_change()], environment="qa")

    md = render_markdown_many([staging, prod, quiet])
    lines = md.splitlines()

    assert lines[0].startswith("## assistops plan: ")
    assert lines[2] == f"- `staging`: {summary_line(staging)} (💥 1 breaking change)"
    assert lines[3].startswith(f"- `prod`: {summary_line(prod)} (")
    assert f"🔴 {len(prod.deletes)} delete" in lines[3]
    assert "💥" in lines[3] and "⚠️ 1 drifted" in lines[3]
    assert lines[4] == f"- `qa`: {NO_CHANGES}"
    # then each environment's own plan, in order
    headings = [line for line in lines if line.startswith("### assistops plan:")]
    assert [h.rsplit("/ ", 1)[1] for h in headings] == ["`staging`", "`prod`", "`qa`"]


def test_several_huge_plans_share_the_comment_limit(plan_factory: PlanFactory) -> None:
    plans = [
        big_plan(plan_factory).model_copy(update={"environment": env})
        for env in ("staging", "prod", "eu")
    ]

    md = render_markdown_many(plans)

    assert len(md) <= DEFAULT_LIMIT
    for env in ("staging", "prod", "eu"):
        assert f"- `{env}`: Plan: 0 to add, 200 to change" in md
        assert f"### assistops plan: `acme` / `{env}`" in md
