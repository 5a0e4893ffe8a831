"""Runs answered by an upstream model: the alternative to the scripted responder.

``assistops serve --model-base-url URL`` gives the backend a :class:`ModelRunner`
(``Backend.model``). The run engine then hands every ``queued`` run to it
(:meth:`ModelRunner.start`) instead of calling :func:`.responder.decide`; it works in
the :class:`.run_worker.RunWorker`'s loop and records what the model streams through
:class:`.run_recorder.LiveRun`. One decision, until the run completes or pauses:

1. the prompt: the run's instructions (assistant or run, plus ``additional_instructions``),
   the thread's messages within ``truncation_strategy`` (``last_messages``; with ``auto``
   and ``max_prompt_tokens``, the oldest messages are dropped until the estimate fits),
   then what this run already did (its text, tool calls and their outputs);
2. the tools: the run's function tools (``strict`` passed on), ``file_search`` as a
   function the server executes itself, ``tool_choice`` (applied to the run's first model
   call; a forced ``file_search`` forces that function) and ``parallel_tool_calls``;
   ``temperature``, ``top_p``, ``response_format`` (``json_schema`` passed on, and the
   reply checked against the schema) and what remains of ``max_completion_tokens``;
   ``code_interpreter`` as a function the server executes in its sandbox
   (``--code-interpreter sandbox``, :mod:`.code_sandbox`), or with the Responses API the
   upstream's hosted ``code_interpreter`` with the run's files uploaded to it;
3. a model call, streamed: text and tool calls are recorded as they arrive;
4. file-search calls are executed (over the run's stores, chunked by each file's chunking
   strategy, ranked lexically or by the upstream's embeddings, ``max_num_results`` and
   ``score_threshold`` honoured), code_interpreter calls run in the sandbox with the run's
   files in ``/mnt/data`` (their logs, images and files become the step's outputs), their
   results go back to the model, and the loop returns to 3; function calls pause the run
   in ``requires_action`` (arguments checked against the schema of a ``strict``
   function); a reply completes it.

A failure of the upstream fails the run with ``last_error`` (``rate_limit_exceeded``,
``server_error``, ``invalid_prompt`` and the upstream's message); ``finish_reason``
``length`` or a prompt past ``max_prompt_tokens`` end it ``incomplete``. Cancelling the
run cancels its task, which closes the upstream connection.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import logging
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jsonschema

from assistops.backend import files, retrieval, run_engine, upstream_wire, vector_store_files
from assistops.backend.code_sandbox import CodeSandbox, Execution, SandboxUnavailable
from assistops.backend.conversation import MESSAGE, RUN, STEP, THREAD
from assistops.backend.core import Backend
from assistops.backend.messages import message_text
from assistops.backend.responder import count_tokens
from assistops.backend.retrieval import Chunk, Hit
from assistops.backend.rules import Doc, public
from assistops.backend.run_recorder import CODE_INTERPRETER, FILE_SEARCH, LiveRun, RunStopped
from assistops.backend.run_worker import RunWorker
from assistops.backend.streaming import EventLog
from assistops.backend.upstream import (
    UpstreamFailure,
    UpstreamSettings,
    Usage,
    cosine,
    embed,
    upload_file,
)
from assistops.backend.upstream_wire import (
    AssistantCalls,
    AssistantText,
    FunctionSpec,
    Item,
    ModelRequest,
    ToolCallItem,
    ToolOutputItem,
    UserText,
)
from assistops.limits import AUTO_CHUNK_OVERLAP, AUTO_CHUNK_SIZE

log = logging.getLogger("assistops.backend")

MAX_ROUNDS = 8  # model calls per decision: searches and code the server runs before an answer
OUTPUT_PURPOSE = "assistants_output"  # the purpose of files code_interpreter wrote
DEFAULT_MAX_NUM_RESULTS = 20
_FILE_SEARCH_SPEC = FunctionSpec(
    FILE_SEARCH,
    "Search the files attached to this assistant and thread. Returns labelled passages; "
    "cite a passage by writing its label right after what it supports.",
    {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for."}},
        "required": ["query"],
        "additionalProperties": False,
    },
)


_CODE_DESCRIPTION = (
    "Run Python code in a sandbox without network access and return what it prints. "
    "Variables are not kept between calls; files written to /mnt/data are. "
    "The files of this conversation are in /mnt/data{files}. "
    "Save files there to return them (images as .png are shown to the user); link a file "
    "you made as sandbox:/mnt/data/<name>."
)


def _code_spec(names: Sequence[str]) -> FunctionSpec:
    listed = ": " + ", ".join(names) if names else " (none yet)"
    return FunctionSpec(
        CODE_INTERPRETER,
        _CODE_DESCRIPTION.format(files=listed),
        {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "Python 3 source."}},
            "required": ["code"],
            "additionalProperties": False,
        },
    )


class _Incomplete(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class RunContext:
    """What one decision of a run sends the model (read from the store at its start)."""

    model: str
    instructions: str
    items: list[Item]
    functions: list[FunctionSpec]
    tool_choice: str
    parallel_tool_calls: bool
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    used: Usage
    response_format: Mapping[str, Any] | None
    searchable: bool
    max_num_results: int = DEFAULT_MAX_NUM_RESULTS
    ranking: Doc = field(default_factory=lambda: {"ranker": "auto", "score_threshold": 0.0})
    chunks: list[Chunk] = field(default_factory=list)
    code: str | None = None  # "sandbox" (the server runs it), "hosted" (the upstream does)
    code_files: list[tuple[str, str]] = field(default_factory=list)  # (name, file id)


class ModelRunner:
    """``Backend.model``: starts, cancels and executes runs against an upstream."""

    def __init__(
        self,
        settings: UpstreamSettings,
        worker: RunWorker | None = None,
        sandbox: CodeSandbox | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker or RunWorker()
        self.sandbox = sandbox  # code_interpreter run by the server (probed at start-up)

    # -- what the run engine calls ---------------------------------------------------

    def start(self, backend: Backend, run: Doc, log: EventLog) -> None:
        """Work on the ``queued`` ``run`` in the background (its events go to ``log``)."""
        live = LiveRun(backend, run["thread_id"], run["id"], log)
        self.worker.submit(run["id"], lambda: self._work(live), lambda: self._stop(live))

    def cancel(self, run_id: str) -> bool:
        """Stop the run's model call; ``False`` when the run has no task working."""
        return self.worker.cancel(run_id)

    def close(self) -> None:
        """Stop every run's task (each is recorded cancelled) and the worker."""
        self.worker.close()

    @property
    def code_mode(self) -> str | None:
        """Who runs code_interpreter: the server's sandbox, the upstream, or nobody."""
        if self.sandbox is not None:
            return "sandbox"
        return "hosted" if self.settings.api == "responses" else None

    def _client(self) -> httpx2.AsyncClient:
        client = self.worker.resources.get("http")
        if client is None:
            limits = httpx2.Limits(max_connections=64, max_keepalive_connections=32)
            client = httpx2.AsyncClient(timeout=self.settings.http_timeout(), limits=limits)
            self.worker.resources["http"] = client
        assert isinstance(client, httpx2.AsyncClient)
        return client

    # -- one decision ------------------------------------------------------------------

    async def _work(self, live: LiveRun) -> None:
        backend = live.backend
        try:
            with live.change(require="queued") as run:
                run.update(status="in_progress", started_at=run["started_at"] or backend.now())
                live.log.emit("thread.run.in_progress", public(run))
            with backend.store.transaction():
                context = gather(
                    backend, self.settings, live.thread_id, live.run_id, self.code_mode
                )
            paused = await self._decide(context, live)
            with live.change() as run:
                if not paused:
                    run_engine.end(backend, run, live.log, "completed", completed_at=backend.now())
            live.close_stream()
        except RunStopped:
            self._stop(live)
        except _Incomplete as exc:
            self._end(live, "incomplete", incomplete_details={"reason": exc.reason})
        except UpstreamFailure as exc:
            self._fail(live, exc.code, self.settings.scrub(exc.message))
        except Exception:
            log.exception("run %s failed in assistops serve", live.run_id)
            self._fail(
                live,
                "server_error",
                "assistops serve failed while running the model (the server log says why).",
            )

    async def _decide(self, ctx: RunContext, live: LiveRun) -> bool:
        """Model calls until a reply (``False``) or function calls (``True``: paused)."""
        items = list(ctx.items)
        used = ctx.used
        known = {f.name: f for f in ctx.functions}
        hosted = await self._hosted_tools(ctx, live.backend)
        extra = [_FILE_SEARCH_SPEC] if ctx.searchable else []
        if ctx.code == "sandbox":
            extra.append(_code_spec([name for name, _ in ctx.code_files]))
        for round_no in range(MAX_ROUNDS):
            functions = [*ctx.functions, *extra]
            remaining = None
            if ctx.max_completion_tokens is not None:
                remaining = ctx.max_completion_tokens - used.completion_tokens
                if remaining <= 0:
                    raise _Incomplete("max_completion_tokens")
            request = ModelRequest(
                model=ctx.model,
                instructions=ctx.instructions,
                items=items,
                functions=functions,
                tool_choice=ctx.tool_choice if round_no == 0 else "auto",
                parallel_tool_calls=ctx.parallel_tool_calls,
                temperature=ctx.temperature,
                top_p=ctx.top_p,
                max_output_tokens=remaining,
                response_format=ctx.response_format,
                hosted_tools=hosted,
            )
            reason, usage = "stop", Usage()
            hosted_calls: dict[int, int] = {}  # upstream output index -> recorder index
            async for event in upstream_wire.turn(self.settings, self._client(), request):
                if isinstance(event, upstream_wire.TextDelta):
                    live.text(event.text)
                elif isinstance(event, upstream_wire.CallStart):
                    live.call_start(event.index, event.name)
                elif isinstance(event, upstream_wire.CallArguments):
                    live.call_arguments(event.index, event.delta)
                elif isinstance(event, upstream_wire.HostedCodeStart):
                    key = -1 - event.index  # apart from the indexes of function calls
                    live.call_start(key, CODE_INTERPRETER, hosted=True)
                    hosted_calls[event.index] = key
                elif isinstance(event, upstream_wire.HostedCodeDelta):
                    live.call_arguments(hosted_calls[event.index], event.delta)
                elif isinstance(event, upstream_wire.HostedCodeDone):
                    await self._hosted_done(live, hosted_calls[event.index], event)
                else:
                    reason, usage = event.reason, event.usage
            text, calls = live.peek()
            if usage.total_tokens == 0:  # the upstream reported none: estimate, as the backend does
                usage = Usage(
                    _estimate(request), count_tokens(text + "".join(a for *_, a in calls))
                )
            live.end_turn(usage, cut=reason == "length")
            used = Usage(
                used.prompt_tokens + usage.prompt_tokens,
                used.completion_tokens + usage.completion_tokens,
            )
            if ctx.max_prompt_tokens is not None and used.prompt_tokens > ctx.max_prompt_tokens:
                raise _Incomplete("max_prompt_tokens")
            if reason == "length":
                raise _Incomplete("max_completion_tokens")
            if reason == "content_filter":
                raise UpstreamFailure(
                    "server_error", "the upstream stopped the reply (content_filter)"
                )
            if not calls:
                _check_format(text, ctx.response_format, live)
                return False
            for _, name, arguments in calls:
                _check_call(name, arguments, known, ctx.searchable, ctx.code == "sandbox")
            if text:
                items.append(AssistantText(text))
            items.append(AssistantCalls(tuple(ToolCallItem(*c) for c in calls)))
            for call_id, name, arguments in calls:
                if name == FILE_SEARCH:
                    items.append(await self._file_search(ctx, live, call_id, arguments))
                elif name == CODE_INTERPRETER:
                    items.append(await self._run_code(ctx, live, call_id, arguments))
            if any(name not in (FILE_SEARCH, CODE_INTERPRETER) for _, name, _ in calls):
                with live.change() as run:
                    live.require_action(run)
                return True
        raise UpstreamFailure(
            "server_error",
            f"the model called file_search or code_interpreter {MAX_ROUNDS} times without "
            "answering",
        )

    # -- file search -------------------------------------------------------------------

    async def _file_search(
        self, ctx: RunContext, live: LiveRun, call_id: str, arguments: str
    ) -> ToolOutputItem:
        try:
            query = str(json.loads(arguments or "{}").get("query") or "")
        except (ValueError, AttributeError):
            query = arguments
        hits = await self.search(live.backend, ctx, query)
        number = live.searches
        labels = {f"{number}:{i}": h.file_id for i, h in enumerate(hits)}
        if hits:
            lines = [
                f'file_search results for "{query}". Cite each passage you use by writing its '
                f"label (for example 【{number}:0†{hits[0].filename}】) right after the sentence "
                "it supports."
            ]
            for i, hit in enumerate(hits):
                lines.append(f"\n【{number}:{i}†{hit.filename}】 (score {hit.score})\n{hit.text}")
            output = "\n".join(lines)
        else:
            output = f'file_search found no passage for "{query}".'
        live.file_search_done(call_id, query, hits, ctx.ranking, output, labels)
        return ToolOutputItem(call_id, output)

    async def search(self, backend: Backend, ctx: RunContext, query: str) -> list[Hit]:
        """The best chunks for ``query`` (embeddings when the server has a model for them)."""
        threshold = float(ctx.ranking.get("score_threshold") or 0.0)
        if self.settings.embedding_model is None or not ctx.chunks:
            return retrieval.rank_lexical(
                query, ctx.chunks, max_results=ctx.max_num_results, score_threshold=threshold
            )
        vectors = await self._vectors(backend, [c.text for c in ctx.chunks])
        [wanted] = await embed(self.settings, self._client(), [query])
        scored = sorted(
            ((round(max(0.0, cosine(wanted, v)), 4), i) for i, v in enumerate(vectors)),
            key=lambda s: (-s[0], s[1]),
        )
        hits = []
        for score, i in scored[: ctx.max_num_results]:
            if score <= 0 or score < threshold:
                continue
            c = ctx.chunks[i]
            hits.append(Hit(c.file_id, c.filename, score, c.text, c.start))
        return hits

    async def _vectors(self, backend: Backend, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings of ``texts``, from the database when computed before."""
        model = self.settings.embedding_model
        keys = [f"embedding:{model}:{hashlib.sha256(t.encode()).hexdigest()}" for t in texts]
        found: dict[str, list[float]] = {}
        for key in dict.fromkeys(keys):
            blob = backend.store.get_blob(key)
            if blob is not None:
                found[key] = array.array("f", blob).tolist()
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            fresh = await embed(self.settings, self._client(), [text_of[k] for k in missing])
            for key, vector in zip(missing, fresh, strict=True):
                backend.store.put_blob(key, array.array("f", vector).tobytes())
                found[key] = vector
        return [found[k] for k in keys]

    # -- code_interpreter --------------------------------------------------------------

    async def _run_code(
        self, ctx: RunContext, live: LiveRun, call_id: str, arguments: str
    ) -> ToolOutputItem:
        """Run the model's code in the server's sandbox with the run's files."""
        assert self.sandbox is not None
        try:
            code = str(json.loads(arguments or "{}").get("code") or "")
        except (ValueError, AttributeError):
            code = arguments  # not the JSON asked for: take it as the code itself
        backend = live.backend
        with backend.store.transaction():
            inputs = {name: _file_bytes(backend, file_id) for name, file_id in ctx.code_files}
        try:
            result = await self.sandbox.run_async(code, inputs)
        except SandboxUnavailable as exc:
            raise UpstreamFailure("server_error", f"code_interpreter: {exc}") from None
        outputs, told, produced = self._code_outputs(live, result)
        # the run's next calls start from what this one wrote
        kept = [(name, fid) for name, fid in ctx.code_files if name not in produced]
        ctx.code_files = [*kept, *produced.items()]
        live.code_done(call_id, code, outputs, told)
        return ToolOutputItem(call_id, told)

    def _code_outputs(
        self, live: LiveRun, result: Execution
    ) -> tuple[list[Doc], str, dict[str, str]]:
        """The step's outputs of an execution, what the model is told of it, and the files
        it wrote (name in /mnt/data → file id)."""
        outputs: list[Doc] = []
        if result.logs:
            outputs.append({"type": "logs", "logs": result.logs})
        written: list[str] = []
        produced: dict[str, str] = {}
        for output in result.files:
            file_id = _save_output_file(live.backend, output.name, output.data)
            produced[output.name] = file_id
            if output.name.lower().endswith(".png"):
                outputs.append({"type": "image", "image": {"file_id": file_id}})
                written.append(f"sandbox:/mnt/data/{output.name} (an image, shown to the user)")
            else:
                written.append(f"sandbox:/mnt/data/{output.name}")
        if produced:
            live.output_files(produced)
        told = result.logs or "(the code printed nothing)"
        if result.exit_code not in (0, None) and result.stopped_by is None:
            told += f"\n(the code exited with status {result.exit_code})"
        if written:
            told += "\nFiles written: " + ", ".join(written)
        if result.skipped:
            told += f"\n({result.skipped} other files were not returned: links, or too many)"
        return outputs, told, produced

    async def _hosted_tools(self, ctx: RunContext, backend: Backend) -> list[Doc]:
        """The Responses API's code_interpreter with the run's files uploaded to it."""
        if ctx.code != "hosted":
            return []
        uploaded = []
        for name, file_id in ctx.code_files:
            with backend.store.transaction():
                data = _file_bytes(backend, file_id)
            # uploaded once per content and upstream account: the upstream's id is kept
            account = hashlib.sha256((self.settings.api_key or "").encode()).hexdigest()[:16]
            digest = hashlib.sha256(data).hexdigest()
            key = f"upstream_file:{self.settings.root}:{account}:{digest}"
            known = backend.store.get_blob(key)
            if known is None:
                upstream_id = await upload_file(self.settings, self._client(), name, data)
                backend.store.put_blob(key, upstream_id.encode())
            else:
                upstream_id = known.decode()
            uploaded.append(upstream_id)
        return [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": uploaded}}]

    async def _hosted_done(
        self, live: LiveRun, key: int, event: upstream_wire.HostedCodeDone
    ) -> None:
        """Record what the upstream's code interpreter ran and returned."""
        call_id = live.call_id(key)
        outputs: list[Doc] = []
        for output in event.outputs:
            if output.get("type") == "logs":
                outputs.append({"type": "logs", "logs": str(output.get("logs") or "")})
            elif output.get("type") == "image":
                data = _data_url(str(output.get("url") or ""))
                if data is not None:
                    file_id = _save_output_file(live.backend, f"{call_id}.png", data)
                    outputs.append({"type": "image", "image": {"file_id": file_id}})
        live.code_done(call_id, event.code, outputs, None)

    # -- how a run ends when it does not complete ----------------------------------------

    def _stop(self, live: LiveRun) -> None:
        """The run was cancelled (or ended by someone else) while the model worked."""
        backend = live.backend
        with backend.store.transaction():
            run = backend.store.get(RUN, live.run_id, parent=live.thread_id)
            if run is not None and run["status"] in ("queued", "in_progress", "cancelling"):
                live.abandon_message(run, "run_cancelled")
                run_engine.end(backend, run, live.log, "cancelled", cancelled_at=backend.now())
            elif run is not None and run["status"] == "expired":
                live.abandon_message(run, "run_expired")
        live.close_stream()

    def _fail(self, live: LiveRun, code: str, message: str) -> None:
        self._end(
            live,
            "failed",
            failed_at=live.backend.now(),
            last_error={"code": code, "message": message},
        )

    def _end(self, live: LiveRun, status: str, **fields: Any) -> None:
        backend = live.backend
        with backend.store.transaction():
            run = backend.store.get(RUN, live.run_id, parent=live.thread_id)
            if run is None or run["status"] in run_engine.TERMINAL_STATUSES:
                pass
            elif run["status"] == "cancelling":
                live.abandon_message(run, "run_cancelled")
                run_engine.end(backend, run, live.log, "cancelled", cancelled_at=backend.now())
            else:
                reason = "max_tokens" if status == "incomplete" else "run_failed"
                live.abandon_message(run, reason)
                run_engine.end(backend, run, live.log, status, **fields)
        live.close_stream()


# -- reading a run's context ------------------------------------------------------------


def gather(
    backend: Backend,
    settings: UpstreamSettings,
    thread_id: str,
    run_id: str,
    code_mode: str | None = None,
) -> RunContext:
    """The run's prompt, tools and budgets (call inside a store transaction).

    ``code_mode``: who runs a code_interpreter tool (``"sandbox"``, ``"hosted"``), or
    ``None`` when nobody does (the tool is then not offered).
    """
    run = backend.store.get(RUN, run_id, parent=thread_id)
    assert run is not None
    thread = backend.store.get(THREAD, thread_id) or {}
    assistant = backend.store.get("assistant", run["assistant_id"]) or {}
    messages = [
        m
        for m in backend.store.all(MESSAGE, parent=thread_id)
        if m["run_id"] != run_id and m["status"] != "in_progress"
    ]
    history: list[Item] = [
        UserText(message_text(m)) if m["role"] == "user" else AssistantText(message_text(m))
        for m in messages
    ]
    truncation = run["truncation_strategy"] or {"type": "auto"}
    if truncation.get("type") == "last_messages" and truncation.get("last_messages"):
        history = history[-int(truncation["last_messages"]) :]
    used = Usage()
    for step in backend.store.all(STEP, parent=run_id):
        u = step.get("usage") or step.get("_usage") or {}
        used = Usage(
            used.prompt_tokens + int(u.get("prompt_tokens", 0)),
            used.completion_tokens + int(u.get("completion_tokens", 0)),
        )
    budget = run["max_prompt_tokens"]
    if budget is not None:
        # keep the latest messages whose estimate fits what is left of the prompt budget
        left = budget - used.prompt_tokens - count_tokens(run["instructions"] or "")
        while len(history) > 1 and sum(_size(i) for i in history) > left:
            history.pop(0)
    transcript: list[Item] = []
    for entry in run.get("_transcript", []):
        if entry["type"] == "text":
            transcript.append(AssistantText(entry["text"]))
        elif entry["type"] == "calls":
            transcript.append(
                AssistantCalls(
                    tuple(ToolCallItem(c["id"], c["name"], c["arguments"]) for c in entry["calls"])
                )
            )
        else:
            transcript.append(ToolOutputItem(entry["call_id"], entry["output"]))
    functions = [
        FunctionSpec(
            str(t["function"]["name"]),
            t["function"].get("description"),
            t["function"].get("parameters") or {"type": "object", "properties": {}},
            bool(t["function"].get("strict")),
        )
        for t in run["tools"]
        if t["type"] == "function"
    ]
    search_tool = next((t for t in run["tools"] if t["type"] == "file_search"), None)
    chunks = _chunks(backend, assistant, thread, messages) if search_tool is not None else []
    searchable = search_tool is not None and bool(chunks or _store_ids(assistant, thread))
    options = (search_tool or {}).get("file_search") or {}
    ranking = {"ranker": "auto", "score_threshold": 0.0, **(options.get("ranking_options") or {})}
    ctx = RunContext(
        model=settings.model_for(run["model"]),
        instructions=run["instructions"] or "",
        items=[*history, *transcript],
        functions=functions,
        tool_choice=_tool_choice(run, first=not transcript),
        parallel_tool_calls=bool(run["parallel_tool_calls"]),
        temperature=run["temperature"],
        top_p=run["top_p"],
        max_prompt_tokens=budget,
        max_completion_tokens=run["max_completion_tokens"],
        used=used,
        response_format=_format(run["response_format"]),
        searchable=searchable,
        max_num_results=int(options.get("max_num_results") or DEFAULT_MAX_NUM_RESULTS),
        ranking=ranking,
        chunks=chunks,
    )
    if any(t["type"] == "code_interpreter" for t in run["tools"]):
        ctx.code = code_mode
        if code_mode is not None:
            ctx.code_files = _code_files(backend, assistant, thread, messages)
        if code_mode == "sandbox":  # and what the run's earlier calls wrote
            written = run.get("_outputs") or {}
            kept = [(name, fid) for name, fid in ctx.code_files if name not in written]
            ctx.code_files = [*kept, *written.items()]
    if ctx.tool_choice == CODE_INTERPRETER and ctx.code is None:
        raise UpstreamFailure(
            "invalid_prompt",
            "tool_choice code_interpreter: this server does not run code_interpreter; "
            "start it with --code-interpreter sandbox (see docs/serve.md)",
        )
    return ctx


def _code_files(
    backend: Backend, assistant: Doc, thread: Doc, messages: list[Doc]
) -> list[tuple[str, str]]:
    """``(name in /mnt/data, file id)`` of the run's code_interpreter files.

    The assistant's and the thread's ``tool_resources.code_interpreter.file_ids``, then
    files attached to messages for code_interpreter; a name already taken gets the file's
    id in front.
    """
    ids: list[str] = []
    for owner in (assistant, thread):
        ids += ((owner.get("tool_resources") or {}).get("code_interpreter") or {}).get(
            "file_ids"
        ) or []
    for message in messages:
        for attachment in message["attachments"] or []:
            if any(t["type"] == "code_interpreter" for t in attachment["tools"]):
                ids.append(attachment["file_id"])
    out: list[tuple[str, str]] = []
    taken: set[str] = set()
    for file_id in dict.fromkeys(ids):
        doc = backend.store.get(files.KIND, file_id)
        if doc is None:
            continue
        name = posixpath.basename(str(doc["filename"]).replace("\\", "/")).lstrip(".") or file_id
        if name in taken:
            name = f"{file_id}-{name}"
        taken.add(name)
        out.append((name, file_id))
    return out


def _file_bytes(backend: Backend, file_id: str) -> bytes:
    """A stored file's bytes: the one place code_interpreter reads the files store."""
    return files.content(backend, file_id)


def _save_output_file(backend: Backend, filename: str, data: bytes) -> str:
    """Store a file code_interpreter wrote (purpose ``assistants_output``); its id.

    The one place code_interpreter writes the files store.
    """
    doc: Doc = {
        "id": backend.new_id(files.PREFIX),
        "object": "file",
        "bytes": len(data),
        "created_at": backend.now(),
        "filename": posixpath.basename(filename),
        "purpose": OUTPUT_PURPOSE,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
    with backend.store.transaction():
        backend.store.put_blob(doc["id"], data)
        backend.store.insert(files.KIND, doc)
    return str(doc["id"])


def _data_url(url: str) -> bytes | None:
    """The bytes of a ``data:...;base64,`` URL (other URLs are not fetched)."""
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        return None


def _size(item: Item) -> int:
    if isinstance(item, UserText | AssistantText):
        return count_tokens(item.text)
    return 0


def _estimate(request: ModelRequest) -> int:
    return count_tokens(request.instructions + json.dumps([str(i) for i in request.items]))


def _tool_choice(run: Doc, *, first: bool) -> str:
    choice = run["tool_choice"]
    if not first or choice in (None, "auto"):
        return "auto"
    if isinstance(choice, Mapping):
        if choice.get("type") == "function":
            return str(choice["function"]["name"])
        if choice.get("type") == "file_search":
            return FILE_SEARCH
        return CODE_INTERPRETER
    return str(choice)


def _format(response_format: Any) -> Mapping[str, Any] | None:
    if not isinstance(response_format, Mapping) or response_format.get("type") == "text":
        return None
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        return {"type": "json_schema", **spec}
    return {"type": response_format["type"]}


def _store_ids(assistant: Doc, thread: Doc) -> list[str]:
    ids: list[str] = []
    for owner in (assistant, thread):
        resources = owner.get("tool_resources") or {}
        ids += (resources.get("file_search") or {}).get("vector_store_ids") or []
    return list(dict.fromkeys(ids))


def _chunks(backend: Backend, assistant: Doc, thread: Doc, messages: list[Doc]) -> list[Chunk]:
    """The run's searchable files cut by their stores' chunking strategies."""
    out: list[Chunk] = []
    seen: set[str] = set()

    def add(file_id: str, strategy: Doc | None) -> None:
        doc = backend.store.get(files.KIND, file_id)
        if doc is None or file_id in seen:
            return
        seen.add(file_id)
        static = (strategy or {}).get("static") or {}
        size = int(static.get("max_chunk_size_tokens") or AUTO_CHUNK_SIZE)
        overlap = int(static.get("chunk_overlap_tokens", AUTO_CHUNK_OVERLAP))
        text = files.content(backend, file_id).decode("utf-8", errors="replace")
        for start, piece in retrieval.token_chunks(text, size, overlap):
            out.append(Chunk(file_id, doc["filename"], piece, start))

    for vs_id in _store_ids(assistant, thread):
        for vs_file in backend.store.all(vector_store_files.KIND, parent=vs_id):
            if vs_file["status"] == "completed":
                add(vs_file["id"], vs_file.get("chunking_strategy"))
    for message in messages:
        for attachment in message["attachments"] or []:
            if any(t["type"] == "file_search" for t in attachment["tools"]):
                add(attachment["file_id"], None)
    return out


def _check_call(
    name: str, arguments: str, known: Mapping[str, FunctionSpec], search: bool, code: bool
) -> None:
    if (name == FILE_SEARCH and search) or (name == CODE_INTERPRETER and code):
        return
    spec = known.get(name)
    if spec is None:
        raise UpstreamFailure(
            "server_error", f"the model called '{name}', which is not one of the run's tools"
        )
    if not spec.strict:
        return
    try:
        jsonschema.validate(json.loads(arguments or "{}"), dict(spec.parameters))
    except ValueError:
        raise UpstreamFailure(
            "server_error",
            f"the model called '{name}' (strict) with arguments that are not JSON: "
            f"{arguments[:200]}",
        ) from None
    except jsonschema.ValidationError as exc:
        raise UpstreamFailure(
            "server_error",
            f"the model called '{name}' (strict) with arguments that do not match its schema: "
            f"{exc.message}",
        ) from None


def _check_format(text: str, response_format: Mapping[str, Any] | None, live: LiveRun) -> None:
    if response_format is None:
        return
    live.spoiled = True  # until the reply passes the check
    try:
        value = json.loads(text)
    except ValueError:
        raise UpstreamFailure(
            "server_error",
            f"the model's reply is not the JSON response_format asks for: {text[:200]}",
        ) from None
    schema = response_format.get("schema")
    if response_format.get("type") == "json_schema" and isinstance(schema, Mapping):
        try:
            jsonschema.validate(value, dict(schema))
        except jsonschema.ValidationError as exc:
            raise UpstreamFailure(
                "server_error",
                f"the model's reply does not match the response_format schema "
                f"'{response_format.get('name')}': {exc.message}",
            ) from None
    live.spoiled = False
