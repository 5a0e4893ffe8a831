"""assistops' local backend: an Assistants-protocol HTTP server the ``openai`` SDK can't tell apart.

It also serves the Responses API (``/v1/responses``, :mod:`.responses`), answered by the
same scripted responder as runs (:mod:`.responder`). With an upstream model
(``assistops serve --model-base-url``, :mod:`.model_runner`) runs are answered by that
model instead; ``/v1/responses`` stays scripted.

It is what the tests run against, the embedded ``local`` provider (SQLite under the
project's ``.assistops/``) and ``assistops serve``. Shape (moto-style):

=====================  =============================================================
module                 owns
=====================  =============================================================
``store``              SQLite documents (keyset pages, tombstones) + chunked blobs,
                       one re-entrant lock, :class:`Clock`, :class:`IdGenerator`
``core``               :class:`Backend`: the state every handler receives
``routing``            :class:`Route`, :class:`Call`, :class:`Raw`: the plug-in types
``parsing``            pydantic request models (:class:`Body`) → OpenAI-worded 400s
``rules``              shared rules: metadata, attributes, chunking, ids, ``public``
``pagination``         the list paginator: :func:`page_store` (in SQL) for every list
``app``                the ASGI app: matching, auth, counts, faults, errors, headers
``uploads``            multipart bodies parsed as they arrive, file parts into the store
``routes``             the route table (:data:`ROUTES`) and :func:`create_app`
``control``            the ``/__assistops/`` control plane
``faults``             request counts and fault injection
``server``             :func:`start_server` → :class:`RunningBackend` (uvicorn thread)
``control_client``     :class:`BackendControl`, a typed client of the control plane
``upstream``           serve's upstream model: :class:`UpstreamSettings`, the start-up
                       :func:`check_upstream`, errors, retries, embeddings
``upstream_wire``      one model turn in Chat Completions or Responses form, streamed
``model_runner``       runs answered by the upstream (instead of ``responder``)
``run_recorder``       a model's streamed turn → steps, messages, events, as they come
``run_worker``         the event-loop thread where those runs work (and are cancelled)
``code_sandbox``       code_interpreter run by the server: probe, limits, outputs
``sandbox_launcher``   the isolated process (namespaces, new root, rlimits) it starts
<resource>.py          one module per resource: request models, rules, handlers
=====================  =============================================================

How a resource module plugs in
------------------------------
1. **Routes.** Define ``ROUTES: list[Route]`` at module level, e.g.
   ``Route("GET", "/threads/{thread_id}", _retrieve)`` (paths relative to ``/v1``;
   ``poll=True`` adds ``openai-poll-after-ms`` to GET responses), then append
   ``*yourmodule.ROUTES`` to ``ROUTES`` in ``assistops/backend/routes.py``.
   The route's ``template`` (``"GET /v1/threads/{thread_id}"``) is the name used by
   request counts and faults.
2. **Handlers** are ``def handler(backend: Backend, call: Call) -> Reply``; they run in a
   worker thread (``async def`` handlers run on the event loop). ``call.params`` holds
   path parameters, ``call.query`` the query string, ``call.body`` the decoded JSON body
   (``{}`` when empty), ``call.form``/``call.files`` a multipart body. Return a ``dict``
   (sent as JSON 200: create and modify are 200 too), ``Raw(bytes, media_type)``, or a
   Starlette ``Response`` (``StreamingResponse`` for server-sent events). Handlers only
   parse and serialize; the rules live in plain functions beside them.
3. **Request bodies**: ``parse(Model, call.body)`` with models deriving from
   ``parsing.Body`` (``extra="forbid"`` gives 400 ``unknown_parameter`` "Unknown parameter:
   'x.y'."; ``Field(max_length=..., ge=..., le=...)`` give the service's codes and
   ``param`` paths). Tagged unions use ``rules.tag_by_type("prefix")`` with
   ``Tag("prefix:value")``. Limits come from ``assistops.limits``.
4. **Errors**: raise ``assistops.errors.BackendError(status, message, type=, param=,
   code=)``; ``parsing.invalid(param, message, code)`` (400) and
   ``parsing.not_found(message, param)`` (404) are shortcuts. Anything else escaping a
   handler is logged and answered 500 ``server_error``.
5. **Storage** (``backend.store``): documents keyed by ``(kind, parent, id)``;
   ``insert(kind, body, parent=)`` (body holds ``id`` and ``created_at``), ``get``,
   ``put`` (replace body, keeps order), ``delete``, ``delete_children(kind, parent)``,
   ``all(kind, parent=)`` (oldest first by ``(created_at, insertion seq)``),
   ``find(kind, id)`` (across parents), ``count``; bytes: ``write_blob(id, stream)`` (stored
   in 1 MiB chunks), ``iter_blob`` (a stream), ``get_blob`` (whole, small files only),
   ``put_blob``, ``blob_size``, ``delete_blob``. ``call.files`` parts are already in the store
   as uncommitted chunks (:mod:`.uploads`): keep one with
   ``store.adopt_blob(upload.blob, id, upload.size)``; ``upload.chunks()`` streams it.
   Wrap read-then-write rules in ``with backend.store.transaction():`` (re-entrant, atomic,
   rolled back on an exception). Store the wire object; private fields start with ``_``
   and ``rules.public(doc)`` strips them. Kinds in use: ``assistant``, ``agent``,
   ``file``, ``vector_store``, ``vector_store_file`` (parent = store id), ``file_batch``
   (parent = store id), ``response`` (stored responses, with their conversation items
   in the private ``_conversation``); threads/messages/runs/steps are the runs module's
   to name.
6. **Ids and time**: ``backend.new_id("asst_")`` (seedable), ``backend.now()`` (unix
   seconds, injectable clock: frozen and advanced through the control plane).
7. **Lists**: ``page_store(backend.store, KIND, parse_list_query(call.query), parent=,
   where={field: value}, view=)``: one page is read in SQL whatever the total (see
   :mod:`.pagination` for the rules: a deleted cursor pages on, an unknown one is a 400).
8. **State transitions** that progress over time (vector-store files; runs) advance on
   *reads*, never on wall-clock threads: a GET handler calls the module's tick function
   before answering (see ``vector_store_files.tick`` and ``core.Processing``). Extra
   per-backend settings or queues go in ``backend.extras`` (cleared on reset) or a new
   control route in ``control.py``.
"""

from assistops.backend.code_sandbox import CodeSandbox, SandboxLimits, SandboxUnavailable
from assistops.backend.control_client import BackendControl
from assistops.backend.core import Backend, Processing
from assistops.backend.routes import create_app
from assistops.backend.server import RunningBackend, start_server
from assistops.backend.upstream import UpstreamSettings
from assistops.backend.upstream import check as check_upstream

__all__ = [
    "Backend",
    "BackendControl",
    "CodeSandbox",
    "Processing",
    "RunningBackend",
    "SandboxLimits",
    "SandboxUnavailable",
    "UpstreamSettings",
    "check_upstream",
    "create_app",
    "start_server",
]
