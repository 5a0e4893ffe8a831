"""Plan renderers: pure functions from a :class:`~assistops.engine.plan.Plan` to text.

    render_text(plan, color=False)   Terraform-like text for people
    render_compact(plan)             one line a resource (apply --auto-approve)
    render_markdown(plan, limit=...) pull-request comments and $GITHUB_STEP_SUMMARY
    render_markdown_many(plans)      several environments in one comment
    render_json(plan)                the versioned machine format (docs/plan-format.md)

Nothing here prints, talks to a provider or knows about the CLI.
"""

from assistops.output.common import NO_CHANGES, summary_line
from assistops.output.markdown import (
    DEFAULT_LIMIT,
    GITHUB_COMMENT_LIMIT,
    render_markdown,
    render_markdown_many,
)
from assistops.output.plan_json import FORMAT_VERSION, plan_document, render_json
from assistops.output.steps import describe_step, explain_steps
from assistops.output.text import render_compact, render_text

__all__ = [
    "DEFAULT_LIMIT",
    "FORMAT_VERSION",
    "GITHUB_COMMENT_LIMIT",
    "NO_CHANGES",
    "describe_step",
    "explain_steps",
    "plan_document",
    "render_compact",
    "render_json",
    "render_markdown",
    "render_markdown_many",
    "render_text",
    "summary_line",
]
