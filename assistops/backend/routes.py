"""The route table of the local backend, and the app factory.

To add a resource: write ``assistops/backend/<resource>.py`` with a module-level
``ROUTES: list[Route]`` and append ``*<resource>.ROUTES`` to :data:`ROUTES` below.
Order matters only when two templates could match the same path (first wins).
"""

from __future__ import annotations

from assistops.backend import (
    agents,
    assistants,
    control,
    file_batches,
    files,
    messages,
    responses,
    run_steps,
    runs,
    threads,
    vector_store_files,
    vector_store_search,
    vector_stores,
)
from assistops.backend.app import BackendApp
from assistops.backend.core import Backend
from assistops.backend.routing import Route

ROUTES: list[Route] = [
    *assistants.ROUTES,
    *files.ROUTES,
    *vector_stores.ROUTES,
    *vector_store_files.ROUTES,
    *file_batches.ROUTES,
    *vector_store_search.ROUTES,
    # runs first: POST /threads/runs must not be taken for POST /threads/{thread_id}
    *runs.ROUTES,
    *run_steps.ROUTES,
    *threads.ROUTES,
    *messages.ROUTES,
    *agents.ROUTES,
    *responses.ROUTES,
]


def create_app(backend: Backend) -> BackendApp:
    """The ASGI app serving ``backend`` (protocol routes plus control plane)."""
    return BackendApp(backend, ROUTES, control.ROUTES)
