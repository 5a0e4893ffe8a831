"""``/v1/agents`` (beta): create, retrieve, update, delete, list.

There is no OpenAPI description of this API; the openai SDK's generated types
(``types/beta/agent*.py``, ``persisted_agent_tool*.py``, ``text_format*.py``,
``multi_agent_config*.py``) and their docstrings are the contract. What is not in them
is assistops' choice, listed in ``tests/contract/KNOWN_DEVIATIONS.md``.

Rules: every request needs the ``OpenAI-Beta: agents=v1`` header (the SDK sends it;
without it: 400). ``model`` is required (a non-empty string). ``name`` ≤256 characters,
metadata 16/64/512. ``tools`` is the persisted tool union (``function``, ``tool_search``,
``programmatic_tool_calling``, ``mcp``, ``web_search``, ``computer_use``,
``automations``), at most 3 MiB of compact UTF-8 JSON as sent; ``file_search`` and
``code_interpreter`` are refused by name; function names (and MCP server labels) follow
the function-name pattern and are unique in the list; function ``parameters`` (``{}``
allowed) and a ``json_schema`` text format's ``schema`` must be valid JSON Schemas
(draft 2020-12) of ``type: "object"``. Responses carry every field resolved:
``reasoning.effort`` ``medium`` when omitted, ``text`` ``{"format": {"type": "text"},
"verbosity": "medium"}``, ``service_tier`` ``auto``, ``multi_agent`` disabled (6
subagents when enabled without a number), ``compaction`` ``{"async": false}``,
``experimental`` ``{"time_awareness": false}``, and each tool with its defaults. Update
is partial: ``tools`` and ``metadata`` replace wholesale, ``reasoning``, ``text``,
``multi_agent`` and ``compaction`` replace their whole object, ``experimental`` merges
by key, ``null`` resets a field to its default; ``updated_at`` moves, ``id`` and
``created_at`` never do. Lists page by ``after``/``limit``/``order`` (20/100, ``desc``);
an unknown id is 404.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, StrictBool, StrictInt, Tag

from assistops.backend.core import Backend
from assistops.backend.pagination import page_store, parse_list_query
from assistops.backend.parsing import Body, invalid, not_found, parse, supported
from assistops.backend.routing import Call, Reply, Route
from assistops.backend.rules import Doc, check_metadata, deleted, public, tag_by_type
from assistops.errors import BackendError
from assistops.limits import (
    AGENT_NAME_MAX,
    AGENT_SUBAGENTS_MIN,
    AGENT_TOOLS_JSON_MAX_BYTES,
    FUNCTION_NAME_MAX,
    FUNCTION_NAME_PATTERN,
    AgentServiceTier,
    ReasoningEffort,
)

KIND = "agent"
PREFIX = "agent_"
BETA_HEADER = "OpenAI-Beta"
BETA = "agents=v1"
DEFAULT_EFFORT: ReasoningEffort = "medium"  # assistops' choice of "the model's default"
DEFAULT_VERBOSITY = "medium"
DEFAULT_SERVICE_TIER = "auto"
DEFAULT_SUBAGENTS = 6  # MultiAgentConfig.max_concurrent_subagents when enabled
# the persisted tool union (AgentTool below), and Assistants tools agents do not have
TOOL_TYPES = (
    "function",
    "tool_search",
    "programmatic_tool_calling",
    "mcp",
    "web_search",
    "computer_use",
    "automations",
)
NO_SUCH_TOOL = ("file_search", "code_interpreter")
# the SDK's sub-resources under /agents/ (not served): never taken for an agent id
SUBRESOURCES = frozenset({"automations", "environments", "sessions"})

A = TypeVar("A", bound="_AgentFields")
Verbosity = Literal["low", "medium", "high"]


# tools -----------------------------------------------------------------------------------


class FunctionTool(Body):
    """``{"type": "function", "name", "description", "parameters", ...}``."""

    type: Literal["function"]
    name: str = Field(min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN)
    description: str
    parameters: dict[str, Any]
    defer_loading: StrictBool = False
    async_: StrictBool = Field(default=False, alias="async")


class ToolSearchTool(Body):
    """``{"type": "tool_search"}``."""

    type: Literal["tool_search"]


class ProgrammaticToolCallingTool(Body):
    """``{"type": "programmatic_tool_calling", "enabled": true}``."""

    type: Literal["programmatic_tool_calling"]
    enabled: StrictBool = True


class HttpTransport(Body):
    """An MCP server reached over HTTP."""

    type: Literal["http"]
    server_url: str
    headers: dict[str, str] | None = None


class StdioTransport(Body):
    """An MCP server started as a local process."""

    type: Literal["stdio"]
    command: str = Field(min_length=1)
    cwd: str
    args: list[str] | None = None
    env_vars: list[str] | None = None


McpTransport = Annotated[
    Annotated[HttpTransport, Tag("mcp_transport:http")]
    | Annotated[StdioTransport, Tag("mcp_transport:stdio")],
    tag_by_type("mcp_transport"),
]


class McpTool(Body):
    """``{"type": "mcp", "server_label", "transport", ...}`` (no stored credentials)."""

    type: Literal["mcp"]
    server_label: str = Field(
        min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN
    )
    transport: McpTransport
    allowed_tools: list[str] | None = None
    connection_origin: Literal["service", "environment"] | None = None
    credential_id: str | None = None
    request_metadata: dict[str, Any] | None = None
    required: StrictBool = False


class WebSearchLocation(Body):
    """The approximate location of a web-search tool."""

    city: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    region: str | None = None
    timezone: str | None = None


class WebSearchTool(Body):
    """``{"type": "web_search", ...}``."""

    type: Literal["web_search"]
    allowed_domains: list[str] | None = None
    context_size: Literal["low", "medium", "high"] | None = None
    location: WebSearchLocation | None = None
    mode: Literal["disabled", "cached", "live"] | None = None


class ComputerUseTool(Body):
    """``{"type": "computer_use", "include_screenshots": false}``."""

    type: Literal["computer_use"]
    include_screenshots: StrictBool = False


class AutomationsTool(Body):
    """``{"type": "automations"}``."""

    type: Literal["automations"]


AgentTool = Annotated[
    Annotated[FunctionTool, Tag("agent_tool:function")]
    | Annotated[ToolSearchTool, Tag("agent_tool:tool_search")]
    | Annotated[ProgrammaticToolCallingTool, Tag("agent_tool:programmatic_tool_calling")]
    | Annotated[McpTool, Tag("agent_tool:mcp")]
    | Annotated[WebSearchTool, Tag("agent_tool:web_search")]
    | Annotated[ComputerUseTool, Tag("agent_tool:computer_use")]
    | Annotated[AutomationsTool, Tag("agent_tool:automations")],
    tag_by_type("agent_tool"),
]

AnyTool = (
    FunctionTool
    | ToolSearchTool
    | ProgrammaticToolCallingTool
    | McpTool
    | WebSearchTool
    | ComputerUseTool
    | AutomationsTool
)


# settings --------------------------------------------------------------------------------


class TextFormatText(Body):
    """``{"type": "text"}``."""

    type: Literal["text"]


class TextFormatJsonSchema(Body):
    """``{"type": "json_schema", "schema": {...}}``."""

    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


TextFormat = Annotated[
    Annotated[TextFormatText, Tag("agent_format:text")]
    | Annotated[TextFormatJsonSchema, Tag("agent_format:json_schema")],
    tag_by_type("agent_format"),
]


class TextConfig(Body):
    """``text``: the output format and verbosity."""

    format: TextFormat | None = None
    verbosity: Verbosity | None = None


class ReasoningConfig(Body):
    """``reasoning``: effort and summary."""

    effort: ReasoningEffort | None = None
    summary: Literal["concise", "detailed", "auto"] | None = None


class MultiAgentConfig(Body):
    """``multi_agent``: subagent tools."""

    enabled: StrictBool
    max_concurrent_subagents: StrictInt = Field(default=DEFAULT_SUBAGENTS, ge=AGENT_SUBAGENTS_MIN)


class CompactionConfig(Body):
    """``compaction``: blocking unless ``async``."""

    async_: StrictBool | None = Field(default=None, alias="async")


class ExperimentalConfig(Body):
    """``experimental``: merged by key on update."""

    time_awareness: StrictBool = False


class _AgentFields(Body):
    # required on create; on update not nullable, and the default is never validated
    model: str = Field(default="", min_length=1)
    compaction: CompactionConfig | None = None
    # not nullable (the SDK types it without Optional); the default is never validated
    experimental: ExperimentalConfig = Field(default_factory=ExperimentalConfig)
    instructions: str | None = None
    metadata: Any = None
    multi_agent: MultiAgentConfig | None = None
    name: str | None = Field(default=None, max_length=AGENT_NAME_MAX)
    reasoning: ReasoningConfig | None = None
    service_tier: AgentServiceTier | None = None
    text: TextConfig | None = None
    tools: list[AgentTool] | None = None


class CreateAgent(_AgentFields):
    """``POST /agents``."""

    model: str = Field(min_length=1)


class UpdateAgent(_AgentFields):
    """``POST /agents/{agent_id}``."""


# rules -----------------------------------------------------------------------------------


def get_agent(backend: Backend, agent_id: str) -> Doc:
    """The stored agent or a 404 (any id: the service's prefix is not known for certain)."""
    doc = backend.store.get(KIND, agent_id)
    if doc is None:
        raise not_found(f"No agent found with id '{agent_id}'.")
    return doc


def check_tools_size(body: Any) -> None:
    """Refuse a ``tools`` list over 3 MiB of compact UTF-8 JSON, as sent."""
    tools = body.get("tools") if isinstance(body, dict) else None
    if not isinstance(tools, list):
        return
    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > AGENT_TOOLS_JSON_MAX_BYTES:
        raise invalid(
            "tools",
            f"Invalid 'tools': the tool list is {size:,} bytes of compact UTF-8 JSON, but at "
            f"most {AGENT_TOOLS_JSON_MAX_BYTES:,} bytes (3 MiB) are allowed.",
            "invalid_value",
        )


def check_no_assistant_tools(body: Any) -> None:
    """Refuse ``file_search``/``code_interpreter`` with a message naming what agents lack."""
    tools = body.get("tools") if isinstance(body, dict) else None
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in NO_SUCH_TOOL:
            raise invalid(
                f"tools[{i}].type",
                f"Invalid value: '{kind}'. Agents have no '{kind}' tool (it is an Assistants "
                f"tool); supported values are: {supported(TOOL_TYPES)}.",
                "invalid_value",
            )


def _context(path: Any) -> str:
    return f"In context={tuple(path)!r}, " if path else ""


def check_object_schema(
    schema: dict[str, Any], param: str, what: str, code: str, *, allow_empty: bool
) -> None:
    """A valid draft 2020-12 JSON Schema whose root is ``type: "object"``."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise invalid(
            param, f"Invalid schema for {what}: {_context(exc.path)}{exc.message}.", code
        ) from None
    if allow_empty and not schema:
        return
    if schema.get("type") != "object":
        got = schema.get("type")
        raise invalid(
            param,
            f"Invalid schema for {what}: schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: \"{got}\"'.",
            code,
        )


def _check_url(url: str, param: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(
            param,
            f"Invalid '{param}': expected an http or https URL, but got '{url}'.",
            "invalid_value",
        )


def _dump_transport(transport: HttpTransport | StdioTransport, param: str) -> Doc:
    if isinstance(transport, HttpTransport):
        _check_url(transport.server_url, f"{param}.server_url")
        return {
            "type": "http",
            "server_url": transport.server_url,
            "headers": dict(transport.headers or {}),
        }
    return {
        "type": "stdio",
        "command": transport.command,
        "cwd": transport.cwd,
        "args": list(transport.args or []),
        "env_vars": list(transport.env_vars or []),
    }


def _dump_tool(tool: AnyTool, param: str) -> Doc:
    """The stored (and returned) form of one validated tool, its defaults filled in."""
    if isinstance(tool, FunctionTool):
        check_object_schema(
            tool.parameters,
            f"{param}.parameters",
            f"function '{tool.name}'",
            "invalid_function_parameters",
            allow_empty=True,
        )
        out: Doc = {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "defer_loading": tool.defer_loading,
        }
        if "async_" in tool.model_fields_set:
            out["async"] = tool.async_
        return out
    if isinstance(tool, ProgrammaticToolCallingTool):
        return {"type": tool.type, "enabled": tool.enabled}
    if isinstance(tool, McpTool):
        return {
            "type": "mcp",
            "server_label": tool.server_label,
            "transport": _dump_transport(tool.transport, f"{param}.transport"),
            "allowed_tools": None if tool.allowed_tools is None else list(tool.allowed_tools),
            "connection_origin": tool.connection_origin or "service",
            "credential_id": tool.credential_id,
            "request_metadata": dict(tool.request_metadata or {}),
            "required": tool.required,
        }
    if isinstance(tool, WebSearchTool):
        location = None
        if tool.location is not None:
            location = tool.location.model_dump()
        return {
            "type": "web_search",
            "allowed_domains": tool.allowed_domains,
            "context_size": tool.context_size or "medium",
            "location": location,
            "mode": tool.mode or "live",
        }
    if isinstance(tool, ComputerUseTool):
        return {"type": "computer_use", "include_screenshots": tool.include_screenshots}
    return {"type": tool.type}  # tool_search, automations


def _identity(tool: AnyTool, param: str) -> tuple[str, str, str]:
    """What must be unique in a tool list: (what, value, param)."""
    if isinstance(tool, FunctionTool):
        return ("function name", tool.name, f"{param}.name")
    if isinstance(tool, McpTool):
        return ("MCP server_label", tool.server_label, f"{param}.server_label")
    return ("tool type", tool.type, f"{param}.type")


def dump_tools(tools: list[AnyTool]) -> list[Doc]:
    """Validate what a schema cannot say (uniqueness, JSON Schemas, URLs); the stored form."""
    seen: set[tuple[str, str]] = set()
    out = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        what, value, where = _identity(tool, param)
        if (what, value) in seen:
            raise invalid(
                where,
                f"Invalid '{where}': duplicate {what} '{value}'. Each tool must be unique.",
                "invalid_value",
            )
        seen.add((what, value))
        out.append(_dump_tool(tool, param))
    return out


def resolve_reasoning(reasoning: ReasoningConfig | None) -> Doc:
    """``reasoning`` as returned: an omitted effort is the default one."""
    given = reasoning or ReasoningConfig()
    effort = DEFAULT_EFFORT if given.effort is None else given.effort
    return {"effort": effort, "summary": given.summary}


def resolve_text(text: TextConfig | None) -> Doc:
    """``text`` as returned: plain text format and medium verbosity unless given."""
    given = text or TextConfig()
    fmt: Doc = {"type": "text"}
    if isinstance(given.format, TextFormatJsonSchema):
        check_object_schema(
            given.format.schema_,
            "text.format.schema",
            "'text.format.schema'",
            "invalid_json_schema",
            allow_empty=False,
        )
        fmt = {"type": "json_schema", "schema": given.format.schema_}
    return {"format": fmt, "verbosity": given.verbosity or DEFAULT_VERBOSITY}


def resolve_multi_agent(config: MultiAgentConfig | None) -> Doc:
    """``multi_agent`` as returned: the subagent cap is ``null`` while disabled."""
    if config is None or not config.enabled:
        return {"enabled": False, "max_concurrent_subagents": None}
    return {"enabled": True, "max_concurrent_subagents": config.max_concurrent_subagents}


def resolve_compaction(config: CompactionConfig | None) -> Doc:
    """``compaction`` as returned: blocking (``async`` false) unless asked otherwise."""
    return {"async": bool(config is not None and config.async_)}


def _apply(doc: Doc, body: _AgentFields, given: set[str]) -> None:
    """Copy the given fields of ``body`` onto ``doc`` (``None`` resets to the default)."""
    for name in ("model", "name", "instructions"):
        if name in given:
            doc[name] = getattr(body, name)
    if "metadata" in given:
        doc["metadata"] = check_metadata(body.metadata) or {}
    if "tools" in given:
        doc["tools"] = dump_tools(list(body.tools or []))
    if "reasoning" in given:
        doc["reasoning"] = resolve_reasoning(body.reasoning)
    if "text" in given:
        doc["text"] = resolve_text(body.text)
    if "service_tier" in given:
        doc["service_tier"] = body.service_tier or DEFAULT_SERVICE_TIER
    if "multi_agent" in given:
        doc["multi_agent"] = resolve_multi_agent(body.multi_agent)
    if "compaction" in given:
        doc["compaction"] = resolve_compaction(body.compaction)
    if "experimental" in given:
        changes = body.experimental.model_dump(include=body.experimental.model_fields_set)
        doc["experimental"] = {**doc["experimental"], **changes}


def create_agent(backend: Backend, body: CreateAgent) -> Doc:
    """Validate and store a new agent."""
    doc: Doc = {
        "id": "",
        "object": "agent",
        "created_at": 0,
        "updated_at": 0,
        "name": None,
        "model": body.model,
        "instructions": None,
        "tools": [],
        "metadata": {},
        "reasoning": resolve_reasoning(None),
        "text": resolve_text(None),
        "service_tier": DEFAULT_SERVICE_TIER,
        "multi_agent": resolve_multi_agent(None),
        "compaction": resolve_compaction(None),
        "experimental": ExperimentalConfig().model_dump(),
    }
    _apply(doc, body, set(body.model_fields_set))
    # the id and the time are taken once the request is known to be valid
    doc["id"] = backend.new_id(PREFIX)
    doc["created_at"] = doc["updated_at"] = backend.now()
    backend.store.insert(KIND, doc)
    return doc


def update_agent(backend: Backend, agent_id: str, body: UpdateAgent) -> Doc:
    """Apply a partial update; ``updated_at`` moves to now."""
    given = set(body.model_fields_set)
    with backend.store.transaction():
        doc = get_agent(backend, agent_id)
        _apply(doc, body, given)
        doc["updated_at"] = backend.now()
        backend.store.put(KIND, doc)
    return doc


def _parse(model: type[A], data: Any) -> A:
    check_tools_size(data)
    check_no_assistant_tools(data)
    return parse(model, data)


# handlers --------------------------------------------------------------------------------


def _beta(handler: Callable[[Backend, Call], Reply]) -> Callable[[Backend, Call], Reply]:
    """Refuse a request without ``OpenAI-Beta: agents=v1`` (comma-separated values allowed).

    ``/agents/sessions`` and the other sub-resources match ``/agents/{agent_id}``; they
    are answered as the unknown URLs they are here, not as an agent that does not exist.
    """

    @functools.wraps(handler)
    def checked(backend: Backend, call: Call) -> Reply:
        if call.params.get("agent_id") in SUBRESOURCES:
            raise BackendError(404, f"Invalid URL ({call.method} {call.path})")
        values = {v.strip() for v in call.headers.get(BETA_HEADER.lower(), "").split(",")}
        if BETA not in values:
            raise invalid(
                None,
                f"You must provide the '{BETA_HEADER}' header to access the Agents API. "
                f"Please try again by setting the header '{BETA_HEADER}: {BETA}'.",
            )
        return handler(backend, call)

    return checked


def _create(backend: Backend, call: Call) -> Doc:
    return public(create_agent(backend, _parse(CreateAgent, call.body)))


def _retrieve(backend: Backend, call: Call) -> Doc:
    return public(get_agent(backend, call.params["agent_id"]))


def _update(backend: Backend, call: Call) -> Doc:
    body = _parse(UpdateAgent, call.body)
    return public(update_agent(backend, call.params["agent_id"], body))


def _delete(backend: Backend, call: Call) -> Doc:
    agent_id = call.params["agent_id"]
    with backend.store.transaction():
        get_agent(backend, agent_id)
        backend.store.delete(KIND, agent_id)
    return deleted(agent_id, "agent.deleted")


def _list(backend: Backend, call: Call) -> Doc:
    q = parse_list_query(call.query, allow_before=False)
    return page_store(backend.store, KIND, q)


ROUTES = [
    Route("POST", "/agents", _beta(_create)),
    Route("GET", "/agents", _beta(_list)),
    Route("GET", "/agents/{agent_id}", _beta(_retrieve)),
    Route("POST", "/agents/{agent_id}", _beta(_update)),
    Route("DELETE", "/agents/{agent_id}", _beta(_delete)),
]
