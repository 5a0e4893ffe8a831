"""What every resource spec shares, and the desired state that holds them.

A spec is what one resource should look like in one environment, with every template rendered,
every override merged and every file hashed. The same type describes a live object once its
kind has read it back (``from_live``), so desired and live are compared like with like.
References between resources stay logical (addresses); they become provider IDs only when a
plan is applied.

Addresses:
    assistant.<name>
    vector_store.<name>
    file.<store>:<path>                  a knowledge file of a vector store
    file.assistant.<name>:<path>         a code-interpreter file of an assistant
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

Projection = dict[str, Any]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of every digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(value: Any) -> str:
    """A short, stable digest of a JSON-able value (16 hex digits of sha256)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def address_of(kind: str, name: str) -> str:
    """``<kind>.<name>``: the address of a named resource."""
    return f"{kind}.{name}"


class Spec(BaseModel):
    """Base of every resource spec."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    address: str
    name: str

    def digest(self) -> str:
        """Digest of everything that is sent to the provider for this resource."""
        return digest_of(self.model_dump(mode="json", exclude={"address"}))


T = TypeVar("T", bound=Spec)


class DesiredState(BaseModel):
    """Every resource of one project in one environment, in dependency order."""

    model_config = ConfigDict(frozen=True)

    project: str
    environment: str
    api: str = Field("assistants", description="What assistants become: assistants or agents.")
    revision: str = Field(description="Config revision: git commit (and -dirty) or a digest.")
    resources: dict[str, SerializeAsAny[Spec]] = Field(default_factory=dict)

    def of_type(self, spec_type: type[T]) -> list[T]:
        """The resources of one spec type, in declaration order."""
        return [r for r in self.resources.values() if isinstance(r, spec_type)]

    def config_digest(self) -> str:
        """Digest of every spec (not the revision: a commit alone changes nothing)."""
        return digest_of({a: s.model_dump(mode="json") for a, s in self.resources.items()})
