"""A scripted OpenAI-compatible model server: the third-party upstream of ``assistops serve``.

It speaks what ``assistops serve --model-base-url`` calls: ``GET /v1/models``, streamed
``POST /v1/chat/completions`` and ``POST /v1/responses`` (with the hosted code
interpreter's events), ``POST /v1/embeddings`` and ``POST /v1/files`` (recorded in
``uploads``). It
is a stand-in for vLLM, Ollama, llama.cpp or OpenAI; everything on the assistops side of
the wire is real. Tests script the model's turns (:class:`Turn`), then read what it was
asked (:attr:`ScriptedUpstream.requests`) and what happened (``disconnects``).

Without a script the model echoes: after a tool output it answers
``"Tool said: <output>"``, otherwise ``"Echo: <last user text>"``, word by word.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from contract.loopback import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Turn:
    """One model call's answer: text pieces, then tool calls (name, arguments).

    ``hold_after``: after that many text pieces the server waits until
    :meth:`ScriptedUpstream.release` (or until the client goes away).
    ``error``: answer ``(status, message)`` instead, with ``headers``.
    ``hosted_code``: (Responses) code the hosted code interpreter ran, with its outputs,
    streamed before the text.
    """

    text: list[str] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    finish: str | None = None
    usage: tuple[int, int] = (21, 9)
    hold_after: int | None = None
    error: tuple[int, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hosted_code: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


class ScriptedUpstream:
    """The state behind the app: scripted turns, recorded requests, counters."""

    def __init__(self, *, key: str | None = None) -> None:
        self.key = key
        self.models = ["tiny-chat", "tiny-embed"]
        self.turns: list[Turn] = []
        self.requests: list[dict[str, Any]] = []  # bodies of chat/responses calls
        self.embedding_inputs: list[list[str]] = []
        self.uploads: list[dict[str, Any]] = []  # files uploaded: filename, purpose, data, id
        self.disconnects = 0
        self.finished = 0  # streams sent to their end
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.url = ""

    def reset(self) -> None:
        """Forget scripts, requests and counters."""
        with self._lock:
            self.turns.clear()
            self.requests.clear()
            self.embedding_inputs.clear()
            self.uploads.clear()
            self.disconnects = self.finished = 0
            self._release.clear()
            self.key = None

    def script(self, *turns: Turn) -> None:
        """Answer the next model calls with these turns, in order."""
        with self._lock:
            self.turns.extend(turns)

    def release(self) -> None:
        """Let a held turn go on."""
        self._release.set()

    def _next(self, body: dict[str, Any], api: str) -> Turn:
        with self._lock:
            self.requests.append({"api": api, **body})
            if self.turns:
                return self.turns.pop(0)
        return _echo(body, api)

    # -- the app ---------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/files", self._files, methods=["POST"]),
            ]
        )

    def _denied(self, request: Request) -> Response | None:
        if self.key is None or request.headers.get("authorization") == f"Bearer {self.key}":
            return None
        return JSONResponse(
            {"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}},
            status_code=401,
        )

    async def _models(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return JSONResponse(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
        )

    async def _embeddings(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.embedding_inputs.append(list(texts))
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(t)}
            for i, t in enumerate(texts)
        ]
        return JSONResponse({"object": "list", "data": data, "model": body["model"]})

    async def _files(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        form = await request.form()
        upload = form["file"]
        assert not isinstance(upload, str)
        data = await upload.read()
        await form.close()
        file_id = f"file-up{len(self.uploads)}"
        self.uploads.append(
            {"id": file_id, "filename": upload.filename, "purpose": form["purpose"], "data": data}
        )
        return JSONResponse({"id": file_id, "object": "file", "bytes": len(data)})

    async def _chat(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        turn = self._next(body, "chat")
        if turn.error is not None:
            return _error(turn)
        return StreamingResponse(
            self._guard(self._chat_chunks(body, turn)), media_type="text/event-stream"
        )

    async def _responses(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        turn = self._next(body, "responses")
        if turn.error is not None:
            return _error(turn)
        return StreamingResponse(
            self._guard(self._response_events(turn)), media_type="text/event-stream"
        )

    async def _guard(self, frames: AsyncIterator[str]) -> AsyncIterator[str]:
        try:
            async for frame in frames:
                yield frame
            self.finished += 1
        except (asyncio.CancelledError, GeneratorExit):
            self.disconnects += 1  # the client closed the connection mid-stream
            raise

    async def _hold(self) -> None:
        # bounded, so a client that never lets go fails its test instead of hanging it
        for _ in range(3000):
            if self._release.is_set():
                break
            await asyncio.sleep(0.01)
        self._release.clear()

    async def _chat_chunks(self, body: dict[str, Any], turn: Turn) -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            data = {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for i, piece in enumerate(turn.text):
            if turn.hold_after is not None and i == turn.hold_after:
                await self._hold()
            yield chunk({"content": piece})
        for index, (name, arguments) in enumerate(turn.calls):
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            start = {"index": index, "id": f"call_up{index}", "type": "function"}
            yield chunk({"tool_calls": [{**start, "function": {"name": name, "arguments": ""}}]})
            half = len(text) // 2
            for part in (text[:half], text[half:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        finish = turn.finish or ("tool_calls" if turn.calls else "stop")
        yield chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt, completion = turn.usage
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            data = {"id": "chatcmpl-scripted", "choices": [], "usage": usage}
            yield f"data: {json.dumps(data)}\n\n"
        yield "data: [DONE]\n\n"

    async def _response_events(self, turn: Turn) -> AsyncIterator[str]:
        seq = 0

        def event(kind: str, **data: Any) -> str:
            nonlocal seq
            seq += 1
            payload = json.dumps({"type": kind, "sequence_number": seq, **data})
            return f"event: {kind}\ndata: {payload}\n\n"

        yield event("response.created", response={"id": "resp_up", "status": "in_progress"})
        index = 0
        for code, outputs in turn.hosted_code:
            item = {"type": "code_interpreter_call", "id": f"ci_up{index}", "code": ""}
            yield event("response.output_item.added", output_index=index, item=item)
            half = len(code) // 2
            for part in (code[:half], code[half:]):
                yield event(
                    "response.code_interpreter_call_code.delta", output_index=index, delta=part
                )
            done = {**item, "code": code, "outputs": outputs, "status": "completed"}
            yield event("response.output_item.done", output_index=index, item=done)
            index += 1
        if turn.text:
            yield event("response.output_item.added", output_index=index, item={"type": "message"})
            for i, piece in enumerate(turn.text):
                if turn.hold_after is not None and i == turn.hold_after:
                    await self._hold()
                yield event("response.output_text.delta", output_index=index, delta=piece)
            index += 1
        for offset, (name, arguments) in enumerate(turn.calls):
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            item = {"type": "function_call", "call_id": f"call_up{offset}", "name": name}
            yield event("response.output_item.added", output_index=index + offset, item=item)
            yield event(
                "response.function_call_arguments.delta", output_index=index + offset, delta=text
            )
        prompt, completion = turn.usage
        usage = {"input_tokens": prompt, "output_tokens": completion}
        if turn.finish == "length":
            details = {"reason": "max_output_tokens"}
            response = {"status": "incomplete", "usage": usage, "incomplete_details": details}
            yield event("response.incomplete", response=response)
        else:
            yield event("response.completed", response={"status": "completed", "usage": usage})


def _error(turn: Turn) -> Response:
    assert turn.error is not None
    status, message = turn.error
    return JSONResponse(
        {"error": {"message": message, "type": "scripted", "code": None}},
        status_code=status,
        headers=turn.headers,
    )


def _echo(body: dict[str, Any], api: str) -> Turn:
    """The unscripted model: repeat the last tool output or user text."""
    if api == "chat":
        last = body["messages"][-1]
        said = last.get("content") or ""
        tool = last["role"] == "tool"
    else:
        last = body["input"][-1]
        tool = last.get("type") == "function_call_output"
        said = last.get("output") if tool else last.get("content")
    reply = f"Tool said: {said}" if tool else f"Echo: {said}"
    words = reply.split(" ")
    return Turn(text=[w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)])


def bag_of_words(text: str, dims: int = 64) -> list[float]:
    """A deterministic embedding: hashed word counts, normalised."""
    vector = [0.0] * dims
    for word in text.lower().split():
        word = "".join(ch for ch in word if ch.isalnum())
        if word:
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@contextmanager
def running_upstream() -> Iterator[ScriptedUpstream]:
    """A scripted upstream serving on loopback (``.url`` is its ``…/v1``)."""
    upstream = ScriptedUpstream()
    with serve(upstream.app()) as root:
        upstream.url = f"{root}/v1"
        yield upstream
