"""Rules shared by several resources: metadata, attributes, chunking, ids, wire helpers.

Documents in the store are the wire objects plus private keys starting with ``_``
(write-only or internal fields); :func:`public` strips them before sending.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from assistops.backend.parsing import Body, invalid
from assistops.limits import (
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTE_VALUE_MAX,
    ATTRIBUTES_MAX_KEYS,
    AUTO_CHUNK_OVERLAP,
    AUTO_CHUNK_SIZE,
    METADATA_KEY_MAX,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX,
    STATIC_CHUNK_MAX,
    STATIC_CHUNK_MIN,
)

Doc = dict[str, Any]


def public(doc: Doc) -> Doc:
    """The wire object: ``doc`` without its private ``_`` keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def deleted(id: str, object: str) -> Doc:
    """The body of a successful delete."""
    return {"id": id, "object": object, "deleted": True}


def tag_by_type(prefix: str) -> Discriminator:
    """A discriminator on the ``type`` key whose tags (``prefix:value``) are never key names."""

    def pick(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return None if kind is None else f"{prefix}:{kind}"

    return Discriminator(pick)


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a decimal",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), "null")


def _check_map(value: Any, param: str, max_keys: int, key_max: int) -> dict[str, Any]:
    """The rules metadata and attributes share: an object, key count, key length."""
    if not isinstance(value, dict):
        raise invalid(
            param,
            f"Invalid type for '{param}': expected an object, but got {_type_name(value)} instead.",
            "invalid_type",
        )
    if len(value) > max_keys:
        raise invalid(
            param,
            f"Invalid '{param}': too many properties. Expected an object with at most "
            f"{max_keys} properties, but got an object with {len(value)} properties instead.",
            "object_above_max_properties",
        )
    for key in value:
        if len(key) > key_max:
            raise invalid(
                f"{param}.{key}",
                f"Invalid property name in '{param}': '{key}' is too long. Expected a string "
                f"with maximum length {key_max}, but got a string with length {len(key)} "
                "instead.",
                "invalid_property_name",
            )
    return value


def _string_too_long(param: str, item: str, limit: int) -> None:
    if len(item) > limit:
        raise invalid(
            param,
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{limit}, but got a string with length {len(item)} instead.",
            "string_above_max_length",
        )


def check_metadata(value: Any, param: str = "metadata") -> dict[str, str] | None:
    """Validate a ``metadata`` map (≤16 keys, keys ≤64 chars, string values ≤512 chars)."""
    if value is None:
        return None
    for key, item in _check_map(value, param, METADATA_MAX_KEYS, METADATA_KEY_MAX).items():
        if not isinstance(item, str):
            raise invalid(
                f"{param}.{key}",
                f"Invalid type for '{param}.{key}': expected a string, but got "
                f"{_type_name(item)} instead.",
                "invalid_type",
            )
        _string_too_long(f"{param}.{key}", item, METADATA_VALUE_MAX)
    return dict(value)


def check_attributes(value: Any, param: str = "attributes") -> dict[str, Any] | None:
    """Validate vector-store file ``attributes`` (≤16 keys; string ≤512, number or bool)."""
    if value is None:
        return None
    for key, item in _check_map(value, param, ATTRIBUTES_MAX_KEYS, ATTRIBUTE_KEY_MAX).items():
        if item is not None and not isinstance(item, str | int | float | bool):
            raise invalid(
                f"{param}.{key}",
                f"Invalid type for '{param}.{key}': expected a string, number or boolean, but "
                f"got {_type_name(item)} instead.",
                "invalid_type",
            )
        if isinstance(item, str):
            _string_too_long(f"{param}.{key}", item, ATTRIBUTE_VALUE_MAX)
    return dict(value)


def check_id(value: str, prefix: str, param: str) -> None:
    """Refuse an id of the wrong kind: "Expected an ID that begins with 'asst'."."""
    if not value.startswith(prefix):
        raise invalid(
            param,
            f"Invalid '{param}': '{value}'. Expected an ID that begins with "
            f"'{prefix.rstrip('_-')}'.",
            "invalid_value",
        )


# chunking strategies -------------------------------------------------------------------


class AutoChunking(Body):
    """``{"type": "auto"}``."""

    type: Literal["auto"]


class StaticParams(Body):
    """The ``static`` part of a static chunking strategy."""

    max_chunk_size_tokens: int = Field(ge=STATIC_CHUNK_MIN, le=STATIC_CHUNK_MAX)
    chunk_overlap_tokens: int = Field(ge=0)


class StaticChunking(Body):
    """``{"type": "static", "static": {...}}``."""

    type: Literal["static"]
    static: StaticParams


ChunkingStrategy = Annotated[
    Annotated[AutoChunking, Tag("chunking:auto")]
    | Annotated[StaticChunking, Tag("chunking:static")],
    tag_by_type("chunking"),
]


def resolve_chunking(strategy: AutoChunking | StaticChunking | None, param: str) -> Doc:
    """The response form of a requested strategy (``auto`` resolves to static 800/400)."""
    if strategy is None or isinstance(strategy, AutoChunking):
        size, overlap = AUTO_CHUNK_SIZE, AUTO_CHUNK_OVERLAP
    else:
        size = strategy.static.max_chunk_size_tokens
        overlap = strategy.static.chunk_overlap_tokens
        if overlap > size // 2:
            raise invalid(
                f"{param}.static.chunk_overlap_tokens",
                f"Invalid '{param}.static.chunk_overlap_tokens': chunk_overlap_tokens must not "
                f"exceed half of max_chunk_size_tokens ({size // 2}), but got {overlap}.",
                "invalid_value",
            )
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }
