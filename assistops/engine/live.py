"""Read live state: every object this project and environment owns, found by its tags.

Discovery uses list calls only (100 per page; 10,000 for files), never one GET per resource.
Each resource kind starts its own list calls (see ``Kind.discover``); they all run at once on
one pool, and a kind may start more as soon as its first list is in (a store's files, as soon
as the stores are known, while the other lists may still be paging). Objects without our tags,
or tagged for another project or environment, are ignored and so can never be changed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from assistops import kinds
from assistops.kinds.base import LiveState, Scope
from assistops.providers.base import Reader


def read_live(
    reader: Reader, project: str, environment: str, *, api: str = "assistants", workers: int = 4
) -> LiveState:
    """Read every managed object of every kind the environment's ``api`` holds, with list
    calls only (an agents environment never lists assistants, and the reverse)."""
    scope = Scope(project, environment)
    state = LiveState(project, environment, api)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        started = [(kind, kind.discover(reader, scope, pool)) for kind in kinds.kinds_for(api)]
        for kind, finish in started:
            state.parts[kind.name] = finish(state)
    return state
