"""Run steps: ``/v1/threads/{thread_id}/runs/{run_id}/steps`` (list, retrieve).

Steps are recorded by :mod:`.run_engine`: ``tool_calls`` steps (function, file search,
code interpreter) and ``message_creation`` steps. File-search results carry their
``content`` only when the request asks with
``include[]=step_details.tool_calls[*].file_search.results[*].content``.
"""

from __future__ import annotations

from assistops.backend.conversation import STEP, require_run
from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import not_found
from assistops.backend.routing import Call, Route
from assistops.backend.rules import Doc
from assistops.backend.run_engine import step_view
from assistops.backend.runs import include_of


def _list(backend: Backend, call: Call) -> Doc:
    query = parse_list_query(call.query)
    run = require_run(backend, call.params["thread_id"], call.params["run_id"])
    include = include_of(call)
    return page_store(
        backend.store, STEP, query, parent=run["id"], view=lambda s: step_view(s, include)
    )


def _retrieve(backend: Backend, call: Call) -> Doc:
    run = require_run(backend, call.params["thread_id"], call.params["run_id"])
    step = backend.store.get(STEP, call.params["step_id"], parent=run["id"])
    if step is None:
        raise not_found(f"No run step found with id '{call.params['step_id']}'.")
    return step_view(step, include_of(call))


ROUTES: list[Route] = [
    Route("GET", "/threads/{thread_id}/runs/{run_id}/steps", _list),
    Route("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}", _retrieve),
]
