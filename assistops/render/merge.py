"""Deep merge of declaration layers that remembers where every value came from.

Layers merge in order (later wins): mappings merge key by key, recursively; lists and scalars
replace whole; an explicit ``null`` resets a field to unset. Each value keeps the file and line
of the layer that set it, so an error after merging still points at the right place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

from assistops.config.problems import field_path
from assistops.config.yamlio import Document

Loc = tuple[str | int, ...]
Origin = tuple[str, int | None]


@dataclass(frozen=True)
class Layer:
    """A mapping inside a parsed document, at ``prefix`` within it."""

    doc: Document
    prefix: Loc = ()

    @property
    def data(self) -> Any:
        """The mapping this layer contributes (or None when absent)."""
        node: Any = self.doc.data
        for part in self.prefix:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and part < len(node)
            ):
                node = cast(Any, node)[part]
            else:
                return None
        return node


@dataclass
class Merged:
    """The merged mapping with the origin of every path in it."""

    data: dict[str, Any]
    origins: dict[Loc, Origin]
    scalars: dict[Loc, str]
    base: Origin
    prefixes: dict[Loc, Loc] = field(default_factory=dict)  # where in its file a path was set

    def locate(self, loc: Loc) -> Origin:
        """(file, line) of ``loc`` or of its nearest ancestor."""
        p = tuple(loc)
        while p:
            if p in self.origins:
                return self.origins[p]
            p = p[:-1]
        return self.base

    def field(self, loc: Loc) -> str:
        """The field path of ``loc`` as written in the file :meth:`locate` names.

        A value set by an override reads ``environments.prod.overrides.assistants.x.model``,
        one set by the project defaults ``defaults.model``, one from the resource's own file
        just ``model``.
        """
        p = tuple(loc)
        while p and p not in self.prefixes:
            p = p[:-1]
        return field_path((*self.prefixes.get(p, ()), *loc))


def merge(layers: list[Layer], base: Origin) -> Merged:
    """Merge ``layers`` (lowest precedence first); absent layers are skipped."""
    out = Merged(data={}, origins={}, scalars={}, base=base)
    for layer in layers:
        data = layer.data
        if isinstance(data, dict):
            _merge_into(out, out.data, data, (), layer)
    return out


def _merge_into(
    out: Merged, into: dict[str, Any], src: dict[str, Any], loc: Loc, layer: Layer
) -> None:
    for key, value in src.items():
        here = (*loc, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            out.origins[here] = (layer.doc.file, layer.doc.line_of((*layer.prefix, *here)))
            out.prefixes[here] = layer.prefix
            _merge_into(out, into[key], value, here, layer)
            continue
        into[key] = copy.deepcopy(value)
        for stale in [p for p in out.origins if p[: len(here)] == here]:
            del out.origins[stale]
        for stale in [p for p in out.scalars if p[: len(here)] == here]:
            del out.scalars[stale]
        for stale in [p for p in out.prefixes if p[: len(here)] == here]:
            del out.prefixes[stale]
        _record(out, value, here, layer)


def _record(out: Merged, value: Any, here: Loc, layer: Layer) -> None:
    full = (*layer.prefix, *here)
    out.origins[here] = (layer.doc.file, layer.doc.line_of(full))
    out.prefixes[here] = layer.prefix
    if full in layer.doc.scalars:
        out.scalars[here] = layer.doc.scalars[full]
    if isinstance(value, dict):
        for k, v in value.items():
            _record(out, v, (*here, k), layer)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _record(out, v, (*here, i), layer)
