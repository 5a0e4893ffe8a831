"""Function handlers of the support assistant's conversation tests (docs/testing.md).

A handler gets the call's arguments as a dict and returns the function's output: a string as
is, anything else as JSON. Keep them deterministic: they stand in for the app's own code.
"""

from __future__ import annotations

from typing import Any

ORDERS = {"A-00000": "shipped", "A-10001": "shipped", "A-10002": "processing"}


def lookup_order(arguments: dict[str, Any]) -> dict[str, Any]:
    """What the app's lookup_order returns for a known order number."""
    number = str(arguments["order_number"])
    status = ORDERS.get(number)
    if status is None:
        return {"order_number": number, "error": "no such order"}
    answer: dict[str, Any] = {"order_number": number, "status": status, "carrier": "DHL"}
    if arguments.get("include_items"):
        answer["items"] = [{"sku": "KB-101", "quantity": 1}]
    return answer


def create_ticket(arguments: dict[str, Any]) -> dict[str, Any]:
    """A ticket number for a ticket the assistant opened."""
    return {"ticket": "T-1001", "priority": arguments.get("priority", "normal")}
