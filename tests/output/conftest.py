"""Fixtures for the renderer tests: plans from :mod:`plan_builders`."""

from __future__ import annotations

import pytest
from plan_builders import (
    PlanFactory,
    create_change,
    drift_change,
    duplicate_change,
    make_plan,
    noop_change,
    orphan_change,
    replace_change,
    update_change,
)

from assistops.engine.plan import Plan


@pytest.fixture
def full_plan() -> Plan:
    """Every kind of change, plus one unchanged resource."""
    return make_plan(
        [
            drift_change(),
            replace_change(),
            noop_change(),
            create_change(),
            update_change(),
            orphan_change(),
            duplicate_change(),
        ]
    )


@pytest.fixture
def empty_plan() -> Plan:
    """Live state matches: two unchanged resources."""
    return make_plan([noop_change(), noop_change("vector_store.faq")])


@pytest.fixture
def plan_factory() -> PlanFactory:
    """Build a plan from resource changes (``make_plan``)."""
    return make_plan
