"""``docs/backend-coverage.md`` is generated from the backend's route table and is current."""

from __future__ import annotations

import json
from pathlib import Path

from contract.scripts import load_script

HERE = Path(__file__).parent


def test_committed_coverage_page_is_current() -> None:
    script = load_script("coverage_table")
    assert script.main(["--check"]) == 0, "run: python scripts/coverage_table.py"


def test_every_served_route_is_accounted_for() -> None:
    script = load_script("coverage_table")
    subset = json.loads((HERE / "openapi-subset.json").read_text(encoding="utf-8"))
    served = script.backend_routes()
    rows = script.rows(subset, served)
    implemented = [r for r in rows if r.implemented]
    assert len(rows) == 47
    # each served route is one implemented operation or listed as beyond the subset
    assert len(implemented) + len(script.extras(subset, served)) == len(served)
    page = script.render(subset, served)
    for row in implemented:
        assert f"| `{row.operation_id}`" in page
        assert f"`/v1{row.path}` | yes |" in page


def test_the_route_matching_ignores_parameter_names() -> None:
    script = load_script("coverage_table")
    subset = json.loads((HERE / "openapi-subset.json").read_text(encoding="utf-8"))
    served = {("GET", script._shape("/assistants/{id}")), ("PUT", "/nowhere")}
    rows = {r.operation_id: r.implemented for r in script.rows(subset, served)}
    assert rows["getAssistant"] is True
    assert rows["modifyAssistant"] is False
    assert script.extras(subset, served) == [("PUT", "/nowhere")]
