"""The one paginator behind every list endpoint.

Rules (api-behaviors B.14-24):

- ``limit``: 1..``limit_max``, default ``limit_default`` (20/100 everywhere; 10,000/10,000
  on ``GET /files``); out of range or not an integer → 400 ``param: "limit"``.
- ``order``: ``asc`` | ``desc`` (default), by ``(created_at, insertion seq)``; items come
  from the store already oldest-first.
- ``after=X``: items strictly after X in the requested order. ``before=Y``: the ``limit``
  items nearest before Y, still in the requested order. Both together: the window between
  them (the SDK's auto-pager re-sends ``before`` with each ``after``).
- ``has_more``: more items exist past this page in the direction of travel (towards the
  end for ``after``/no cursor, towards the start for ``before`` alone); never sticky.
- ``first_id``/``last_id``: ids of this page's first and last item, ``null`` when empty.
- Filters apply before paging.
- **Deleted cursor**: a cursor naming an object deleted since (the clean-up loop
  ``for a in client.beta.assistants.list(): client.beta.assistants.delete(a.id)`` sends the
  id it just deleted as the next ``after``) pages on from where that object was: the store
  keeps each deleted object's position as a tombstone.
- **Unknown cursor** (an id that was never in this list): 400 ``invalid_request_error``
  with ``param`` ``after``/``before`` and code ``invalid_value``. It has no position, so
  silently returning a page would hide the mistake. A cursor naming an object the filter
  leaves out is not unknown: it has a position, and paging goes on from there.

:func:`page_store` pages in SQL (one keyset query on ``(created_at, seq)``, ``limit + 1``
rows, whatever the total); every list route uses it. :func:`paginate` pages a list already
in memory, with the same rules except that a cursor must be in that list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import QueryParams

from assistops.backend.parsing import invalid
from assistops.backend.rules import Doc, public
from assistops.backend.store import Position, Store
from assistops.limits import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX

Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class ListQuery:
    """The paging part of a list request."""

    limit: int = LIST_LIMIT_DEFAULT
    order: Order = "desc"
    after: str | None = None
    before: str | None = None


def parse_list_query(
    query: QueryParams,
    *,
    limit_default: int = LIST_LIMIT_DEFAULT,
    limit_max: int = LIST_LIMIT_MAX,
    allow_before: bool = True,
) -> ListQuery:
    """Read ``limit``, ``order``, ``after`` and ``before`` from the query string."""
    limit = limit_default
    raw_limit = query.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid(
                "limit",
                "Invalid type for 'limit': expected an integer, but got a string instead.",
                "invalid_type",
            ) from None
        if limit < 1:
            raise invalid(
                "limit",
                f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got "
                f"{limit} instead.",
                "integer_below_min_value",
            )
        if limit > limit_max:
            raise invalid(
                "limit",
                f"Invalid 'limit': integer above maximum value. Expected a value <= {limit_max},"
                f" but got {limit} instead.",
                "integer_above_max_value",
            )
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid(
            "order",
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "invalid_value",
        )
    before = query.get("before") or None
    if before is not None and not allow_before:
        raise invalid("before", "Unknown parameter: 'before'.", "unknown_parameter")
    return ListQuery(
        limit=limit,
        order="asc" if order == "asc" else "desc",
        after=query.get("after") or None,
        before=before,
    )


def paginate(items: Sequence[dict[str, Any]], q: ListQuery, *, key: str = "id") -> dict[str, Any]:
    """The list envelope for one page of ``items`` (oldest first, already filtered)."""
    ordered = list(items) if q.order == "asc" else list(reversed(items))
    ids = [item[key] for item in ordered]
    start, end = 0, len(ordered)
    if q.after is not None:
        start = _position(ids, q.after, "after") + 1
    if q.before is not None:
        end = _position(ids, q.before, "before")
    window = ordered[start:end] if start < end else []
    backwards = q.before is not None and q.after is None
    page = window[-q.limit :] if backwards else window[: q.limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0][key] if page else None,
        "last_id": page[-1][key] if page else None,
        "has_more": len(window) > len(page),
    }


def page_store(
    store: Store,
    kind: str,
    q: ListQuery,
    *,
    parent: str = "",
    where: Mapping[str, Any] | None = None,
    ids: Collection[str] | None = None,
    view: Callable[[Doc], Doc] = public,
) -> dict[str, Any]:
    """The list envelope for one page of ``kind`` under ``parent``, paged in SQL.

    ``where`` (field → value) and ``ids`` filter before paging; ``view`` turns each stored
    document of the page into its wire object.
    """
    after = _cursor(store, kind, parent, q.after, "after")
    before = _cursor(store, kind, parent, q.before, "before")
    ascending = q.order == "asc"
    # in ascending order "after" is the lower bound; in descending order it is the upper one
    lower, upper = (after, before) if ascending else (before, after)
    backwards = q.before is not None and q.after is None
    rows = store.page(
        kind,
        parent=parent,
        forward=ascending != backwards,
        above=lower,
        below=upper,
        limit=q.limit + 1,  # one more than the page tells whether there is more
        where=where,
        ids=ids,
    )
    has_more = len(rows) > q.limit
    rows = rows[: q.limit]
    if backwards:
        rows.reverse()  # fetched nearest-first; sent in the requested order
    data = [view(doc) for doc in rows]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def _cursor(
    store: Store, kind: str, parent: str, cursor: str | None, param: str
) -> Position | None:
    if cursor is None:
        return None
    where = store.position(kind, cursor, parent=parent)
    if where is None:
        raise _unknown(cursor, param)
    return where


def _unknown(cursor: str, param: str) -> Exception:
    return invalid(
        param,
        f"Invalid '{param}': no object with id '{cursor}' in this list.",
        "invalid_value",
    )


def _position(ids: list[str], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise _unknown(cursor, param) from None
