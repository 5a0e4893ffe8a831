"""``POST /v1/vector_stores/{id}/search``: lexical search over a store's completed files.

Scoring is :mod:`assistops.backend.retrieval` (share of query terms in a chunk), one
result per matching chunk, best first. ``filters`` select files by their
``attributes``: comparisons ``eq ne gt gte lt lte in nin`` (a missing key never
matches) combined with ``and``/``or``. Several queries are searched together.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from assistops.backend import files, retrieval, vector_store_files, vector_stores
from assistops.backend.core import Backend
from assistops.backend.parsing import Body, parse
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc
from assistops.limits import MAX_NUM_RESULTS_MAX, MAX_NUM_RESULTS_MIN

Scalar = str | int | float | bool


class Comparison(Body):
    """``{"type": "eq", "key": ..., "value": ...}``."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str
    value: Scalar | list[str | int | float]


class Compound(Body):
    """``{"type": "and"|"or", "filters": [...]}``."""

    type: Literal["and", "or"]
    filters: list[Filter]


def _filter_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind is None:
        return None
    return "filter:compound" if kind in ("and", "or") else "filter:comparison"


Filter = Annotated[
    Annotated[Comparison, Tag("filter:comparison")] | Annotated[Compound, Tag("filter:compound")],
    Discriminator(_filter_kind),
]
Compound.model_rebuild()


class SearchRanking(Body):
    """``ranking_options`` of a search."""

    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)


class SearchRequest(Body):
    """The body of a search."""

    query: str | Annotated[list[str], Field(min_length=1)]
    filters: Filter | None = None
    max_num_results: int = Field(default=10, ge=MAX_NUM_RESULTS_MIN, le=MAX_NUM_RESULTS_MAX)
    ranking_options: SearchRanking | None = None
    rewrite_query: bool = False


def matches(flt: Comparison | Compound, attributes: dict[str, Any]) -> bool:
    """Whether a file with these attributes passes the filter."""
    if isinstance(flt, Compound):
        results = (matches(f, attributes) for f in flt.filters)
        return all(results) if flt.type == "and" else any(results)
    if flt.key not in attributes:
        return False
    have, want = attributes[flt.key], flt.value
    if flt.type in ("in", "nin"):
        inside = isinstance(want, list) and have in want
        return inside if flt.type == "in" else not inside
    if flt.type == "eq":
        return bool(have == want)
    if flt.type == "ne":
        return bool(have != want)
    try:
        return bool(
            {
                "gt": have > want,
                "gte": have >= want,
                "lt": have < want,
                "lte": have <= want,
            }[flt.type]
        )
    except TypeError:
        return False  # comparing a string with a number never matches


def search(backend: Backend, vs_id: str, body: SearchRequest) -> Doc:
    """The search results page."""
    queries = [body.query] if isinstance(body.query, str) else list(body.query)
    threshold = body.ranking_options.score_threshold if body.ranking_options else 0.0
    with backend.store.transaction():
        vector_stores.get_store(backend, vs_id)
        attached = [
            doc
            for doc in backend.store.all(vector_store_files.KIND, parent=vs_id)
            if doc["status"] == "completed"
            and (body.filters is None or matches(body.filters, doc["attributes"]))
        ]
        documents = [
            retrieval.Document(
                doc["id"],
                doc["_filename"],
                files.content(backend, doc["id"]).decode("utf-8", errors="replace"),
            )
            for doc in attached
        ]
    attributes = {doc["id"]: doc["attributes"] for doc in attached}
    hits = retrieval.search(
        " ".join(queries), documents, max_results=body.max_num_results, score_threshold=threshold
    )
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [
            {
                "file_id": hit.file_id,
                "filename": hit.filename,
                "score": hit.score,
                "attributes": attributes[hit.file_id],
                "content": [{"type": "text", "text": hit.text}],
            }
            for hit in hits
        ],
        "has_more": False,
        "next_page": None,
    }


def _search(backend: Backend, call: Call) -> Doc:
    body = parse(SearchRequest, call.body)
    return search(backend, call.params["vector_store_id"], body)


ROUTES = [Route("POST", "/vector_stores/{vector_store_id}/search", _search)]
