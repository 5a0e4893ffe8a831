"""The local backend's stand-in for a model: it decides, deterministically, what a run does.

There is no model behind the local backend. When a run starts, and again after its tool
outputs are submitted, :func:`decide` looks at the run (its tools, ``tool_choice``,
``parallel_tool_calls``, ``response_format``), the thread's messages and the contents of
the vector stores the run can search, and returns a :class:`Decision`: server-side tool
steps to record (file search, code interpreter) and one outcome (a reply, function calls,
a failure, ``incomplete`` or ``expired``).

The same :func:`decide` answers the Responses API (:mod:`assistops.backend.responses`):
a response is one "run" whose messages are its conversation (``input``, after the items
of the ``previous_response_id`` chain), whose ``tool_results`` are the
``function_call_output`` items of its input, and whose ``response_format`` is
``text.format``. Both tool shapes are understood: the Assistants one (``{"type":
"function", "function": {"name", ...}}``, ``file_search`` settings under
``file_search``, ``json_schema`` under ``json_schema``, a named ``tool_choice`` under
``function``) and the flat Responses one (``name``, ``parameters``, ``strict``,
``max_num_results`` and ``ranking_options`` at the top of the tool or format).

Default behaviour (no script), first rule that applies wins
-------------------------------------------------------------
"The message" is the text of the latest ``user`` message of the thread.

1. Tool outputs were submitted in this run → reply with one line per call,
   ``"<name> returned: <output>"`` (in call order, joined by newlines).
2. ``tool_choice`` is ``"none"`` → the plain reply (rule 8).
3. ``tool_choice`` names a tool → use it: a named function is called; ``file_search``
   searches (rule 5); ``code_interpreter`` runs the canned step (rule 7).
4. Function tools whose name appears in the message as a word (case-insensitive) →
   call them (all of them if ``parallel_tool_calls``, else the first).
5. A ``file_search`` tool and at least one vector store on the assistant or thread →
   search the stores' files for the message (see :mod:`assistops.backend.retrieval`;
   ``max_num_results`` default 20 and ``ranking_options.score_threshold`` default 0 are
   honoured), record a ``file_search`` tool-calls step, and reply
   ``From <filename>: "<best chunk>"`` with one ``file_citation`` annotation whose
   ``text`` is the quoted chunk and whose ``start_index``/``end_index`` locate it in the
   reply. Without a match the reply is ``No passage in the attached files matches: <message>``.
6. Any function tool → call the first one.
7. A ``code_interpreter`` tool and the message mentions ``code_interpreter`` (or
   ``tool_choice`` is ``"required"``) → record a canned code-interpreter step (input:
   the message; one ``logs`` output, :data:`CODE_LOGS`) and reply ``"code_interpreter
   logs: <logs>"``.
8. Otherwise the plain reply: ``"Echo: <message>"`` (``"Echo: "`` when the thread has no
   user message).

Function arguments are the minimal instance of the function's ``parameters`` schema
(:func:`assistops.backend.schema_sample.sample`, honouring ``strict``). Replies from
rules 1 and 8 follow ``response_format``: ``json_object`` gives ``{"reply": <text>}``,
``json_schema`` gives the minimal instance of the schema, serialized as JSON.

Scripting
---------
A script is one directive (a JSON object) or a JSON array of directives:

* ``{"reply": "text"}`` — complete with this assistant message;
* ``{"call": "fn_name", "arguments": {...}}`` — require this function call (arguments
  optional: generated from the schema when absent); the function must be one of the
  run's tools;
* ``{"calls": [{"call": "a", "arguments": {...}}, {"call": "b"}]}`` — several calls;
* ``{"fail": {"code": "server_error", "message": "..."}}`` — the run fails with this
  ``last_error`` (code ``server_error``, ``rate_limit_exceeded`` or ``invalid_prompt``);
* ``{"incomplete": "max_completion_tokens"}`` (or ``max_prompt_tokens``) — the run ends
  ``incomplete``;
* ``{"expire": true}`` — the run ends ``expired``.

Where scripts come from, first found wins, at each decision point of a run:

1. the control plane queue (``POST /__assistops/script``): each decision point of a run
   on the thread consumes the next directive queued for that thread, else the next
   queued for any thread;
2. at a run's first decision only: the ``assistops_script`` metadata key of the latest
   user message (one directive);
3. at a run's first decision only: the thread's ``assistops_script`` metadata; a list is
   indexed by how many runs the thread had before this one (the last entry repeats).

A decision point reached with no script (e.g. after outputs of a scripted call) follows
the default rules. A script that does not parse fails the run with ``invalid_prompt``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistops.backend import schema_sample
from assistops.backend.retrieval import Document, Hit, search

SCRIPT_KEY = "assistops_script"
DEFAULT_MAX_NUM_RESULTS = 20
CODE_LOGS = "assistops local backend: code_interpreter does not execute code"
FAIL_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")
INCOMPLETE_REASONS = ("max_completion_tokens", "max_prompt_tokens")


class ScriptError(ValueError):
    """A script that does not follow the documented format."""


# -- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One thread message as the responder sees it."""

    role: str
    text: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    """A function call of this run with the output the client submitted for it."""

    call_id: str
    name: str
    arguments: str
    output: str


@dataclass(frozen=True)
class RunInput:
    """Everything :func:`decide` looks at."""

    tools: Sequence[Mapping[str, Any]]
    messages: Sequence[Turn]
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool = True
    response_format: str | Mapping[str, Any] | None = None
    has_vector_store: bool = False
    documents: Sequence[Document] = ()
    thread_metadata: Mapping[str, str] = field(default_factory=dict)
    run_index: int = 0
    tool_results: Sequence[ToolResult] = ()
    queued: Any = None  # a directive from the control-plane queue, not yet parsed


# -- directives -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedReply:
    text: str


@dataclass(frozen=True)
class ScriptedCalls:
    calls: tuple[tuple[str, Mapping[str, Any] | None], ...]


@dataclass(frozen=True)
class ScriptedFail:
    code: str
    message: str


@dataclass(frozen=True)
class ScriptedIncomplete:
    reason: str


@dataclass(frozen=True)
class ScriptedExpire:
    pass


Directive = ScriptedReply | ScriptedCalls | ScriptedFail | ScriptedIncomplete | ScriptedExpire


def parse_directive(raw: Any) -> Directive:
    """One directive from its JSON form, or :class:`ScriptError` saying what is wrong."""
    if not isinstance(raw, Mapping) or len(raw) == 0:
        raise ScriptError('a directive is a JSON object such as {"reply": "text"}')
    keys = set(raw)
    if keys == {"reply"} and isinstance(raw["reply"], str):
        return ScriptedReply(raw["reply"])
    if "call" in raw and keys <= {"call", "arguments"}:
        return ScriptedCalls((_call(raw),))
    if keys == {"calls"} and isinstance(raw["calls"], list) and raw["calls"]:
        return ScriptedCalls(tuple(_call(c) for c in raw["calls"]))
    if keys == {"fail"} and isinstance(raw["fail"], Mapping):
        code, message = raw["fail"].get("code", "server_error"), raw["fail"].get("message")
        if code not in FAIL_CODES or not isinstance(message, str):
            raise ScriptError(f"fail needs a code in {FAIL_CODES} and a message string")
        return ScriptedFail(code, message)
    if keys == {"incomplete"} and raw["incomplete"] in INCOMPLETE_REASONS:
        return ScriptedIncomplete(raw["incomplete"])
    if keys == {"expire"} and raw["expire"] is True:
        return ScriptedExpire()
    raise ScriptError(f"unknown directive {json.dumps(raw)[:200]}")


def parse_script(raw: Any) -> list[Directive]:
    """A script (one directive or a list of them) as directives."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ScriptError("a script list needs at least one directive")
    return [parse_directive(item) for item in items]


def _call(raw: Any) -> tuple[str, Mapping[str, Any] | None]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("call"), str):
        raise ScriptError('a call needs a function name: {"call": "fn_name"}')
    if set(raw) - {"call", "arguments"}:
        raise ScriptError(f"unknown keys in call: {sorted(set(raw) - {'call', 'arguments'})}")
    args = raw.get("arguments")
    if args is not None and not isinstance(args, Mapping):
        raise ScriptError("call arguments must be a JSON object")
    return raw["call"], args


# -- outcomes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """A ``file_citation`` annotation: ``quote`` sits at ``[start, end)`` of the reply."""

    file_id: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class Reply:
    text: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str  # JSON text, as the protocol carries it


@dataclass(frozen=True)
class CallFunctions:
    calls: tuple[FunctionCall, ...]


@dataclass(frozen=True)
class Fail:
    code: str
    message: str


@dataclass(frozen=True)
class Incomplete:
    reason: str


@dataclass(frozen=True)
class Expire:
    pass


@dataclass(frozen=True)
class FileSearchStep:
    """A file search the backend ran itself, recorded as a tool-calls step."""

    query: str
    results: tuple[Hit, ...]
    ranker: str
    score_threshold: float


@dataclass(frozen=True)
class CodeStep:
    """A canned code-interpreter call, recorded as a tool-calls step."""

    input: str
    logs: str


Outcome = Reply | CallFunctions | Fail | Incomplete | Expire
ToolStep = FileSearchStep | CodeStep


@dataclass(frozen=True)
class Decision:
    """Server-side tool steps to record, in order, then how the run ends (or pauses)."""

    outcome: Outcome
    steps: tuple[ToolStep, ...] = ()


# -- the decision ---------------------------------------------------------------------


def decide(run: RunInput) -> Decision:
    """What the run does next (see the module docstring for the rules)."""
    try:
        directive = _script_for(run)
    except ScriptError as exc:
        return Decision(Fail("invalid_prompt", f"{SCRIPT_KEY}: {exc}"))
    if directive is not None:
        return _follow(directive, run)
    return _default(run)


def count_tokens(text: str) -> int:
    """The usage the backend reports for ``text``: one token per 4 characters, rounded up."""
    return math.ceil(len(text) / 4)


def latest_user_text(messages: Sequence[Turn]) -> str:
    """The text of the latest user message ("" when there is none)."""
    return next((m.text for m in reversed(messages) if m.role == "user"), "")


def _script_for(run: RunInput) -> Directive | None:
    if run.queued is not None:
        return parse_directive(run.queued)
    if run.tool_results:
        return None
    latest = next((m for m in reversed(run.messages) if m.role == "user"), None)
    if latest is not None and SCRIPT_KEY in latest.metadata:
        return parse_directive(_json(latest.metadata[SCRIPT_KEY]))
    if SCRIPT_KEY in run.thread_metadata:
        script = parse_script(_json(run.thread_metadata[SCRIPT_KEY]))
        return script[min(run.run_index, len(script) - 1)]
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"not JSON: {exc.msg}") from None


def _follow(directive: Directive, run: RunInput) -> Decision:
    if isinstance(directive, ScriptedReply):
        return Decision(Reply(directive.text))
    if isinstance(directive, ScriptedFail):
        return Decision(Fail(directive.code, directive.message))
    if isinstance(directive, ScriptedIncomplete):
        return Decision(Incomplete(directive.reason))
    if isinstance(directive, ScriptedExpire):
        return Decision(Expire())
    functions = _functions(run.tools)
    calls = []
    for name, arguments in directive.calls:
        if name not in functions:
            return Decision(
                Fail("invalid_prompt", f"{SCRIPT_KEY}: the run has no function tool '{name}'")
            )
        text = json.dumps(arguments) if arguments is not None else _arguments(functions[name])
        calls.append(FunctionCall(name, text))
    return Decision(CallFunctions(tuple(calls)))


def _default(run: RunInput) -> Decision:
    message = latest_user_text(run.messages)
    if run.tool_results:
        lines = [f"{r.name} returned: {r.output}" for r in run.tool_results]
        return Decision(Reply(_formatted("\n".join(lines), run.response_format)))
    choice = run.tool_choice
    functions = _functions(run.tools)
    if choice == "none":
        return Decision(_plain(message, run))
    if isinstance(choice, Mapping):
        kind = choice.get("type")
        if kind == "function":
            name = str((choice.get("function") or choice).get("name", ""))
            if name in functions:
                return _call_functions([functions[name]])
        elif kind == "file_search":
            return _file_search(message, run)
        elif kind == "code_interpreter":
            return _code(message)
    mentioned = [f for n, f in functions.items() if _mentions(message, n)]
    if mentioned:
        return _call_functions(mentioned if run.parallel_tool_calls else mentioned[:1])
    if _tool(run.tools, "file_search") is not None and run.has_vector_store:
        return _file_search(message, run)
    if functions:
        return _call_functions([next(iter(functions.values()))])
    if _tool(run.tools, "code_interpreter") is not None and (
        _mentions(message, "code_interpreter") or choice == "required"
    ):
        return _code(message)
    return Decision(_plain(message, run))


def _plain(message: str, run: RunInput) -> Reply:
    return Reply(_formatted(f"Echo: {message}", run.response_format))


def _formatted(text: str, response_format: str | Mapping[str, Any] | None) -> str:
    if not isinstance(response_format, Mapping):
        return text
    if response_format.get("type") == "json_object":
        return json.dumps({"reply": text})
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or response_format
        instance = schema_sample.sample(spec.get("schema") or {}, strict=bool(spec.get("strict")))
        return json.dumps(instance)
    return text


def _functions(tools: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        if tool.get("type") == "function":
            fn = tool.get("function") or tool
            out.setdefault(str(fn.get("name", "")), fn)
    return out


def _tool(tools: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((t for t in tools if t.get("type") == kind), None)


def _mentions(message: str, name: str) -> bool:
    return (
        bool(name)
        and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message, re.I) is not None
    )


def _arguments(function: Mapping[str, Any]) -> str:
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    return json.dumps(schema_sample.sample(schema, strict=bool(function.get("strict"))))


def _call_functions(functions: Sequence[Mapping[str, Any]]) -> Decision:
    calls = tuple(FunctionCall(str(f.get("name", "")), _arguments(f)) for f in functions)
    return Decision(CallFunctions(calls))


def _file_search(message: str, run: RunInput) -> Decision:
    tool = _tool(run.tools, "file_search") or {}
    options = tool.get("file_search") or tool
    ranking = options.get("ranking_options") or {}
    threshold = float(ranking.get("score_threshold", 0.0))
    hits = search(
        message,
        run.documents,
        max_results=int(options.get("max_num_results") or DEFAULT_MAX_NUM_RESULTS),
        score_threshold=threshold,
    )
    step = FileSearchStep(message, tuple(hits), str(ranking.get("ranker", "auto")), threshold)
    if not hits:
        return Decision(Reply(f"No passage in the attached files matches: {message}"), (step,))
    best = hits[0]
    prefix = f'From {best.filename}: "'
    start = len(prefix)
    citation = Citation(best.file_id, best.text, start, start + len(best.text))
    return Decision(Reply(f'{prefix}{best.text}"', (citation,)), (step,))


def _code(message: str) -> Decision:
    return Decision(Reply(f"code_interpreter logs: {CODE_LOGS}"), (CodeStep(message, CODE_LOGS),))
