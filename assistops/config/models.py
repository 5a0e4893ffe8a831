"""The declaration models: what a user writes in YAML, validated with pydantic.

Three kinds of file, each with its published JSON Schema in ``schemas/``:

- ``assistops.yaml``      -> :class:`ProjectFile` (project, paths, defaults, environments)
- ``<name>/assistant.yaml`` -> :class:`AssistantFile`
- ``knowledge/<store>.yaml`` -> :class:`VectorStoreFile`

Every model refuses unknown keys; values are strict (a number is never taken for a string).

The protocol's ranges, lengths, patterns and list sizes are field constraints here, with the
numbers of :mod:`assistops.limits`, so the published schemas carry them (``minimum``,
``maximum``, ``maxLength``, ``pattern``, ``maxItems``, ``propertyNames``) and an editor flags
what ``validate`` flags. Every layer is checked as written: ``defaults`` and ``overrides`` in
``assistops.yaml`` when the project loads, each resource again once its layers are merged (a
resource whose fields fail is not rendered further, as with a type error).
:mod:`assistops.render.validate` keeps what a schema cannot say: limits on what rendering produces
(instruction length, files a glob resolves to), counts that include the metadata keys assistops
reserves, cross-field and cross-file rules, and the strict-mode rules of JSON Schemas.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from assistops import limits

NAME_PATTERN = rf"^[a-z0-9][a-z0-9_-]{{0,{limits.LOGICAL_NAME_MAX - 1}}}$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        description="Logical name: lowercase letters, digits, '-' and '_', at most "
        f"{limits.LOGICAL_NAME_MAX} characters.",
    ),
]
EnvVar = Annotated[
    str,
    Field(
        pattern=ENV_VAR_PATTERN, description="Name of an environment variable (never the value)."
    ),
]
JsonSchemaRef = Annotated[
    dict[str, Any] | str,
    Field(description="A JSON Schema inline, or the project-relative path of a .json/.yaml file."),
]
MetadataKey = Annotated[str, Field(max_length=limits.METADATA_KEY_MAX)]
MetadataValue = Annotated[str, Field(max_length=limits.METADATA_VALUE_MAX)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(
        description="String key/value pairs stored on the object: at most "
        f"{limits.METADATA_MAX_KEYS} keys in all, including the ones assistops reserves."
    ),
]
AttributeKey = Annotated[str, Field(max_length=limits.ATTRIBUTE_KEY_MAX)]
AttributeText = Annotated[str, Field(max_length=limits.ATTRIBUTE_VALUE_MAX)]


class Strict(BaseModel):
    """Base for every declaration model: unknown keys refused, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


# --- tools ------------------------------------------------------------------------------------


#: A file that looks like a credential is refused unless its exact path is listed here.
ALLOW_SECRETS_DESCRIPTION = (
    "Project-relative paths (exact, not globs) of matched files to upload although their name "
    "(.env, *.pem, *.key, ...) or content (a private key, an API key) looks like a secret."
)


class CodeInterpreter(Strict):
    """The code interpreter tool, with files it can read."""

    files: list[str] = Field(
        default_factory=list,
        description="Project-relative globs of files to upload for the code interpreter "
        f"(at most {limits.CODE_INTERPRETER_FILES_MAX} files in all).",
    )
    allow_secrets: list[str] = Field(
        default_factory=list,
        description=ALLOW_SECRETS_DESCRIPTION,
    )


class RankingOptions(Strict):
    """How file_search ranks chunks."""

    ranker: limits.Ranker = "auto"
    score_threshold: float = Field(
        limits.SCORE_THRESHOLD_MIN, ge=limits.SCORE_THRESHOLD_MIN, le=limits.SCORE_THRESHOLD_MAX
    )


class FileSearch(Strict):
    """The file_search tool over one declared vector store."""

    vector_store: Name | None = Field(
        None, description="Logical name of a vector store declared under knowledge/."
    )
    max_num_results: int | None = Field(
        None, ge=limits.MAX_NUM_RESULTS_MIN, le=limits.MAX_NUM_RESULTS_MAX
    )
    ranking_options: RankingOptions | None = None


class Function(Strict):
    """A function the application implements."""

    name: str = Field(
        pattern=limits.FUNCTION_NAME_PATTERN,
        description="Letters, digits, '_' and '-'; unique per assistant.",
    )
    description: str | None = None
    parameters: JsonSchemaRef | None = None
    strict: bool | None = Field(
        None,
        description="Strict mode: every object needs additionalProperties: false and every "
        "property listed in required.",
    )


class McpHttp(Strict):
    """An MCP server reached over HTTP."""

    type: Literal["http"]
    server_url: str = Field(description="The URL of the MCP server.")
    headers: dict[str, str] | None = Field(
        None, description="Non-secret HTTP headers sent to the server (never credentials)."
    )


class McpStdio(Strict):
    """An MCP server started as a local process of the session's environment."""

    type: Literal["stdio"]
    command: str
    cwd: str = Field(description="The working directory the command starts in.")
    args: list[str] | None = None
    env_vars: list[str] | None = Field(
        None, description="Names of environment variables the process inherits."
    )


class Mcp(Strict):
    """Tools of a remote MCP server (OpenAI Agents only)."""

    server_label: str = Field(
        pattern=limits.FUNCTION_NAME_PATTERN, description="Identifies the server in tool calls."
    )
    transport: McpHttp | McpStdio = Field(discriminator="type")
    allowed_tools: list[str] | None = Field(
        None, description="The server's tools the agent may call; all when omitted."
    )
    required: bool | None = Field(None, description="The server must start before the first turn.")
    connection_origin: Literal["service", "environment"] | None = None


class WebSearchLocation(Strict):
    """Approximate location used to localize search results."""

    city: str | None = None
    country: str | None = Field(None, description="Two-letter ISO country code, such as US.")
    region: str | None = None
    timezone: str | None = Field(None, description="IANA timezone, such as Europe/Paris.")


class WebSearch(Strict):
    """Web search (OpenAI Agents only)."""

    allowed_domains: list[str] | None = None
    context_size: Literal["low", "medium", "high"] | None = None
    location: WebSearchLocation | None = None
    mode: Literal["disabled", "cached", "live"] | None = None


TOOL_KINDS = ("code_interpreter", "file_search", "function", "mcp", "web_search")


class Tool(Strict):
    """One tool: exactly one of ``code_interpreter``, ``file_search``, ``function``, ``mcp``
    or ``web_search`` (the last two on OpenAI Agents only)."""

    code_interpreter: CodeInterpreter | None = None
    file_search: FileSearch | None = None
    function: Function | None = None
    mcp: Mcp | None = None
    web_search: WebSearch | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Tool:
        set_ = [k for k in TOOL_KINDS if getattr(self, k) is not None]
        if len(set_) != 1:
            raise PydanticCustomError(
                "tool_kind",
                "a tool is exactly one of " + ", ".join(f"'{k}'" for k in TOOL_KINDS),
                {
                    "hint": "write each tool as its own list item ('- function: ...')"
                    if set_
                    else "add one of them"
                },
            )
        return self

    @property
    def kind(self) -> str:
        """Which tool it is: one of :data:`TOOL_KINDS`."""
        for k in TOOL_KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated tool has no kind")


# --- response format ---------------------------------------------------------------------------


class JsonSchemaFormat(Strict):
    """A structured-output schema."""

    name: str = Field(
        pattern=limits.RESPONSE_FORMAT_NAME_PATTERN, description="Letters, digits, '_' and '-'."
    )
    description: str | None = None
    schema_: JsonSchemaRef = Field(alias="schema")
    strict: bool | None = None


class JsonSchemaResponseFormat(Strict):
    """``response_format: {json_schema: {...}}``."""

    json_schema: JsonSchemaFormat


ResponseFormat = Literal["auto", "text", "json_object"] | JsonSchemaResponseFormat


# --- instructions ------------------------------------------------------------------------------


class InstructionsFile(Strict):
    """Instructions from a Jinja2 template file."""

    template: str = Field(description="Project-relative path of a Jinja2 template.")


# --- assistant ---------------------------------------------------------------------------------


class AssistantFields(Strict):
    """Fields an assistant declares, and that defaults and overrides may set."""

    display_name: str | None = Field(
        None,
        max_length=limits.ASSISTANT_NAME_MAX,
        description="The name shown by the provider. Defaults to the logical name.",
    )
    description: str | None = Field(None, max_length=limits.ASSISTANT_DESCRIPTION_MAX)
    model: str | None = None
    instructions: str | InstructionsFile | None = Field(
        None,
        description="Inline Jinja2 text, or {template: path}. Defaults to instructions.md.j2 "
        "beside assistant.yaml when that file exists.",
    )
    variables: dict[str, Any] | None = Field(None, description="Template variables.")
    tools: list[Tool] | None = Field(None, max_length=limits.TOOLS_MAX)
    response_format: ResponseFormat | None = None
    temperature: float | None = Field(None, ge=limits.TEMPERATURE_MIN, le=limits.TEMPERATURE_MAX)
    top_p: float | None = Field(None, ge=limits.TOP_P_MIN, le=limits.TOP_P_MAX)
    reasoning_effort: limits.ReasoningEffort | None = None
    metadata: Metadata | None = None


class AssistantFile(AssistantFields):
    """``assistant.yaml``: one assistant."""

    name: Name | None = Field(
        None,
        description="Logical name, the identity of the assistant. Defaults to the folder name.",
    )


class AssistantOverride(AssistantFields):
    """Defaults or per-environment overrides of assistant fields (merged deeply)."""


# --- vector store ------------------------------------------------------------------------------


class StaticChunking(Strict):
    """Static chunking."""

    max_chunk_size_tokens: int = Field(
        limits.AUTO_CHUNK_SIZE, ge=limits.STATIC_CHUNK_MIN, le=limits.STATIC_CHUNK_MAX
    )
    chunk_overlap_tokens: int = Field(
        limits.AUTO_CHUNK_OVERLAP,
        ge=limits.CHUNK_OVERLAP_MIN,
        description="At most half of max_chunk_size_tokens.",
    )


class VectorStoreFields(Strict):
    """Fields a vector store declares, and that overrides may set."""

    display_name: str | None = Field(None, max_length=limits.ASSISTANT_NAME_MAX)
    description: str | None = Field(
        None,
        max_length=limits.ASSISTANT_DESCRIPTION_MAX,
        description="Sent on create only (write-only field).",
    )
    files: list[str] | None = Field(
        None, description="Project-relative globs of the files to index (at least one match each)."
    )
    exclude: list[str] | None = Field(None, description="Globs removed from the matches.")
    allow_secrets: list[str] | None = Field(None, description=ALLOW_SECRETS_DESCRIPTION)
    chunking: Literal["auto"] | StaticChunking | None = None
    expires_after_days: int | None = Field(
        None,
        ge=limits.VECTOR_STORE_EXPIRY_DAYS_MIN,
        le=limits.VECTOR_STORE_EXPIRY_DAYS_MAX,
        description="Expire after this many days without activity.",
    )
    metadata: Metadata | None = None
    attributes: dict[AttributeKey, AttributeText | int | float | bool] | None = Field(
        None,
        description="Attributes set on every file of the store (for filtering): at most "
        f"{limits.ATTRIBUTES_MAX_KEYS} in all, including the ones assistops reserves.",
    )


class VectorStoreFile(VectorStoreFields):
    """``knowledge/<store>.yaml``: a vector store that several assistants can share."""

    name: Name | None = Field(None, description="Logical name. Defaults to the file name.")


class VectorStoreOverride(VectorStoreFields):
    """Per-environment overrides of vector-store fields."""


# --- project -----------------------------------------------------------------------------------


class Paths(Strict):
    """Where the project's files live, relative to assistops.yaml."""

    assistants: list[str] = Field(default_factory=lambda: ["assistants/*/assistant.yaml"])
    knowledge: list[str] = Field(default_factory=lambda: ["knowledge/*.yaml"])
    partials: str = Field("partials", description="Folder of shared template partials.")


class Overrides(Strict):
    """Per-environment overrides, by logical name."""

    assistants: dict[str, AssistantOverride] = Field(default_factory=dict)
    vector_stores: dict[str, VectorStoreOverride] = Field(default_factory=dict)


Api = Literal["assistants", "agents", "responses"]
OPENAI_API = "https://api.openai.com/v1"
#: What an OpenAI agent (or a Responses request) cannot hold, and an environment may leave out
#: on purpose.
LeaveOut = Literal[
    "description", "temperature", "top_p", "file_search", "code_interpreter", "strict"
]


class Environment(Strict):
    """One deploy target."""

    provider: Literal["local", "openai", "azure"]
    api: Api | None = Field(
        None,
        description="What each assistant becomes: 'assistants' (the Assistants protocol), "
        "'agents' (OpenAI Agents) or 'responses' (a release of Responses requests for apps "
        "that call the Responses API themselves). Default: agents on api.openai.com, "
        "assistants elsewhere.",
    )
    leave_out: list[LeaveOut] = Field(
        default_factory=list,
        description="Declared fields this environment's API cannot express, left out on "
        "purpose (validate reports any other).",
    )
    description: str | None = None
    base_url: str | None = Field(None, description="Any Assistants-compatible server.")
    api_key_env: EnvVar | None = Field(
        None,
        description="Variable holding the API key (default OPENAI_API_KEY, or "
        "AZURE_OPENAI_API_KEY for azure).",
    )
    azure_endpoint_env: EnvVar | None = Field(
        None,
        description="azure: variable holding the endpoint when base_url is not declared "
        "(default AZURE_AI_PROJECT_ENDPOINT).",
    )
    api_version: str | None = Field(None, description="azure: API version.")
    database: str | None = Field(
        None,
        description="local: SQLite file of the embedded backend (default .assistops/<env>.db).",
    )
    protected: bool = Field(False, description="Deletes need --allow-delete.")
    variables: dict[str, Any] = Field(default_factory=dict)
    defaults: AssistantOverride | None = None
    overrides: Overrides = Field(default_factory=Overrides)
    auth: Literal["entra", "key"] | None = Field(
        None,
        description="azure: how requests authenticate. entra: Entra ID bearer tokens from "
        "azure-identity's DefaultAzureCredential (scope https://ai.azure.com/.default; pip "
        "install 'assistops[azure]'). key: the key in api_key_env, as an api-key header. "
        "Default: key when api_key_env is declared or the endpoint is not a Foundry project "
        "endpoint (https://<resource>.services.ai.azure.com/api/projects/<project>), else entra.",
    )

    def effective_api(self) -> Api:
        """The declared ``api``, else the default: ``agents`` on api.openai.com (which no longer
        serves the Assistants API), ``assistants`` everywhere else."""
        if self.api is not None:
            return self.api
        if self.provider == "openai" and urlparse(self.base_url or OPENAI_API).hostname == (
            urlparse(OPENAI_API).hostname
        ):
            return "agents"
        return "assistants"


class ProjectFile(Strict):
    """``assistops.yaml``: the project."""

    project: Name
    description: str | None = None
    paths: Paths = Field(default_factory=Paths)
    variables: dict[str, Any] = Field(default_factory=dict)
    defaults: AssistantOverride | None = None
    environments: dict[Name, Environment] = Field(default_factory=dict)


# --- conversation tests ------------------------------------------------------------------------

FunctionName = Annotated[
    str, Field(pattern=limits.FUNCTION_NAME_PATTERN, description="A function tool's name.")
]
OneOrMore = Annotated[str | list[str], Field(description="One value, or a list of them.")]
BuiltinTool = Literal["file_search", "code_interpreter"]


class FunctionCalled(Strict):
    """``called: {function: ..., arguments: ..., arguments_schema: ...}``: a function was
    called in this turn, with these arguments."""

    function: FunctionName
    arguments: dict[str, Any] | None = Field(
        None,
        description="Values some call's arguments must have (keys not listed are not checked; "
        "nested mappings are compared the same way).",
    )
    arguments_schema: JsonSchemaRef | None = Field(
        None, description="A JSON Schema some call's arguments must be valid against."
    )


EXPECTATION_KINDS = (
    "contains",
    "not_contains",
    "matches",
    "json_schema",
    "equals",
    "cites",
    "called",
    "not_called",
    "used",
    "not_used",
    "no_tools",
)


class Expectation(Strict):
    """One check of a turn: exactly one of its keys. On the reply: ``contains``,
    ``not_contains``, ``matches`` (a regular expression), ``json_schema`` (the reply is JSON
    valid against it), ``equals`` (the reply is JSON equal to this value), ``cites`` (a
    knowledge file, by its project path). On tool use: ``called`` (a function, optionally with
    arguments), ``not_called``, ``used`` / ``not_used`` (file_search, code_interpreter),
    ``no_tools``."""

    contains: OneOrMore | None = Field(None, description="Text the reply contains (each one).")
    not_contains: OneOrMore | None = Field(None, description="Text the reply never contains.")
    matches: str | None = Field(
        None, description="A Python regular expression the reply matches (re.search)."
    )
    json_schema: JsonSchemaRef | None = Field(
        None, description="The reply is JSON, valid against this schema (inline or a file)."
    )
    equals: Any = Field(
        None, description="The reply is JSON equal to this value (structured output)."
    )
    cites: OneOrMore | None = Field(
        None,
        description="Knowledge files the reply cites (project-relative paths, as the vector "
        "store declares them).",
    )
    called: FunctionName | FunctionCalled | None = Field(
        None, description="A function called in this turn: its name, or name and arguments."
    )
    not_called: FunctionName | list[FunctionName] | None = Field(
        None, description="Functions not called in this turn."
    )
    used: BuiltinTool | list[BuiltinTool] | None = Field(
        None, description="Built-in tools used in this turn."
    )
    not_used: BuiltinTool | list[BuiltinTool] | None = Field(
        None, description="Built-in tools not used in this turn."
    )
    no_tools: Literal[True] | None = Field(None, description="No tool at all in this turn.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Expectation:
        given = [k for k in EXPECTATION_KINDS if k in self.model_fields_set]
        if len(given) != 1:
            raise PydanticCustomError(
                "expectation_kind",
                "an expectation is exactly one of "
                + ", ".join(f"'{k}'" for k in EXPECTATION_KINDS),
                {
                    "hint": "write each check as its own list item ('- contains: ...')"
                    if given
                    else "add one of them"
                },
            )
        return self

    @property
    def kind(self) -> str:
        """Which check it is: one of :data:`EXPECTATION_KINDS`."""
        return next(k for k in EXPECTATION_KINDS if k in self.model_fields_set)


class FunctionAnswer(Strict):
    """How a test answers one function: a canned ``output``, or a Python ``handler``."""

    output: Any = Field(
        None, description="The output submitted for every call (a string as is, else as JSON)."
    )
    handler: str | None = Field(
        None,
        pattern=r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$",
        description="'<project-relative path>.py:<function>': called with the call's arguments "
        "(a dict); its return value is the output (a string as is, else as JSON).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> FunctionAnswer:
        given = [k for k in ("output", "handler") if k in self.model_fields_set]
        if len(given) != 1:
            raise PydanticCustomError(
                "function_answer",
                "a function answer is exactly one of 'output' and 'handler'",
                {"hint": "write 'output: ...' (canned) or 'handler: path.py:function'"},
            )
        return self


class ConversationTurn(Strict):
    """One user message and the checks of the assistant's answer to it."""

    user: str = Field(min_length=1, description="The user's message.")
    metadata: Metadata | None = Field(
        None,
        description="Metadata of the message (of the request, on a responses environment).",
    )
    expect: list[Expectation] = Field(default_factory=list)


class ConversationTestFile(Strict):
    """``<assistant>/tests/<name>.yaml``: one conversation test of the assistant beside it."""

    name: Name | None = Field(None, description="The test's name. Defaults to the file name.")
    description: str | None = None
    environments: list[Name] | None = Field(
        None,
        description="Run only in these environments (default: every one whose API holds "
        "conversations).",
    )
    repeat: int = Field(
        1, ge=1, le=limits.TEST_REPEAT_MAX, description="Run the conversation this many times."
    )
    pass_threshold: float = Field(
        limits.TEST_PASS_THRESHOLD_MAX,
        gt=0,
        le=limits.TEST_PASS_THRESHOLD_MAX,
        description="The fraction of the repeated runs that must pass (1: every one).",
    )
    timeout: float = Field(
        limits.TEST_TIMEOUT_DEFAULT,
        gt=0,
        le=limits.TEST_TIMEOUT_MAX,
        description="Seconds one run of the conversation may take.",
    )
    functions: dict[FunctionName, FunctionAnswer] = Field(
        default_factory=dict,
        description="How the test answers each function the assistant calls.",
    )
    turns: list[ConversationTurn] = Field(min_length=1)
