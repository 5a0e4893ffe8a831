"""How plan and apply run: one options model each, shared by the facade and the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: Calls in flight by default. Each call mostly waits on the network, so 16 keep a remote
#: service busy where 4 left three quarters of the time idle (benchmarks/RESULTS-scale.md);
#: a 429 halves the width for a while (``providers/limiter.py``), so the default does not
#: need to be timid for services with lower limits.
DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 32


@dataclass(frozen=True)
class Event:
    """Progress of apply, for whoever displays it."""

    kind: str  # "phase" | "step" | "index"
    address: str = ""
    message: str = ""
    done: int = 0
    total: int = 0


class PlanOptions(BaseModel):
    """What a plan covers."""

    model_config = ConfigDict(frozen=True)

    targets: tuple[str, ...] = Field(
        default=(), description="Only these addresses and what they depend on."
    )
    destroy: bool = Field(False, description="Plan the removal of everything managed.")


class ApplyOptions(BaseModel):
    """What apply does and how it runs."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    plan: PlanOptions = Field(default_factory=PlanOptions)
    plan_file: Path | None = Field(None, description="Apply this saved plan, if still fresh.")
    allow_delete: bool = Field(False, description="Allow deletes in a protected environment.")
    concurrency: int = Field(
        DEFAULT_CONCURRENCY,
        ge=1,
        le=MAX_CONCURRENCY,
        description="Independent calls in flight at once (fewer for a while after a 429).",
    )
    index_timeout: float = Field(900.0, gt=0, description="Seconds to wait for indexing.")
    poll_min: float = 0.02
    poll_max: float = 1.0
    settle: float = Field(
        1.0,
        ge=0,
        description="When another apply wrote to the environment meanwhile: seconds its live "
        "state must stay unchanged before this apply reconciles with it.",
    )
    settle_timeout: float = Field(
        300.0, gt=0, description="Seconds to wait at most for another apply to finish writing."
    )
    #: Called with each phase, step and indexing event, one at a time, on the provider's loop
    #: thread (where the steps run): it must return quickly and must not call the provider.
    on_event: Callable[[Event], None] | None = None
