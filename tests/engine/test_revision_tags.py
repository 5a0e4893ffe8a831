"""The ``assistops_rev`` tag: digests and revision from the plan, the apply time from the step."""

from __future__ import annotations

from assistops.kinds.tags import (
    REVISION_KEY,
    applied_at,
    format_revision,
    parse_revision,
    stamped,
)

DIGEST = "0123456789abcdef.89abcdef"


def test_a_stamped_tag_keeps_its_digest_and_revision_and_adds_the_time() -> None:
    body = {"name": "x", "metadata": {"team": "a", REVISION_KEY: format_revision(DIGEST, "3f2a")}}

    sent = stamped(body, now=1_780_000_000.7)

    assert sent["metadata"] == {"team": "a", REVISION_KEY: f"{DIGEST}@3f2a@1780000000"}
    assert body["metadata"][REVISION_KEY] == f"{DIGEST}@3f2a"  # the plan's body is not changed
    assert parse_revision(sent["metadata"][REVISION_KEY]) == (DIGEST, "3f2a")
    assert applied_at(sent) == 1_780_000_000


def test_stamping_again_replaces_the_time() -> None:
    once = stamped({"metadata": {REVISION_KEY: f"{DIGEST}@3f2a"}}, now=100)

    assert stamped(once, now=200)["metadata"][REVISION_KEY] == f"{DIGEST}@3f2a@200"


def test_tags_of_earlier_versions_have_no_time() -> None:
    old = {"metadata": {REVISION_KEY: f"{DIGEST}@3f2a-dirty"}}

    assert parse_revision(old["metadata"][REVISION_KEY]) == (DIGEST, "3f2a-dirty")
    assert applied_at(old) is None
    assert applied_at({"metadata": {REVISION_KEY: f"{DIGEST}@3f2a@soon"}}) is None
    assert applied_at({}) is None


def test_a_body_without_the_tag_is_sent_as_it_is() -> None:
    body = {"name": "x", "metadata": {"team": "a"}}

    assert stamped(body, now=1) is body
    assert stamped({"name": "x"}, now=1) == {"name": "x"}
