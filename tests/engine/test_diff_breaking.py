"""Breaking-change detection follows the internal references render writes into $defs."""

from __future__ import annotations

from assistops.engine.diff import breaking_changes, compare

ADDRESS_V1 = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ADDRESS_V2 = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
    "required": ["city", "zip"],
}


def _params(address: dict) -> dict:
    return {
        "type": "object",
        "properties": {"to": {"$ref": "#/$defs/address"}},
        "required": ["to"],
        "$defs": {"address": address},
    }


def test_a_new_required_field_in_a_definition_is_breaking_where_the_diff_shows_it() -> None:
    old, new = _params(ADDRESS_V1), _params(ADDRESS_V2)
    found = dict(breaking_changes(old, new))
    assert found["/$defs/address/required"] == "new required parameter 'zip'"
    changes = compare(
        {"tools": {"function:f": {"parameters": new}}},
        {"tools": {"function:f": {"parameters": old}}},
    )
    flagged = {c.path: c.breaking for c in changes}
    assert flagged == {
        "tools.function:f.parameters#/$defs/address/properties/zip": "new required parameter 'zip'",
        "tools.function:f.parameters#/$defs/address/required/1": "new required parameter 'zip'",
    }


def test_a_recursive_definition_is_compared_once() -> None:
    node = {
        "type": "object",
        "properties": {"child": {"$ref": "#/$defs/node"}, "name": {"type": "string"}},
    }
    narrowed = {**node, "properties": {**node["properties"], "name": {"type": "integer"}}}
    old = {"$ref": "#/$defs/node", "$defs": {"node": node}}
    new = {"$ref": "#/$defs/node", "$defs": {"node": narrowed}}
    found = breaking_changes(old, new)
    assert found == [
        ("/$defs/node/properties/name", "type narrowed from ['string'] to ['integer']")
    ]
