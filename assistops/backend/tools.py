"""Tools, ``response_format`` and ``tool_resources``: shared by assistants, threads and runs.

Use the models in request bodies (``tools: list[Tool]``), then :func:`dump_tools`,
:func:`check_response_format` and :func:`resolve_tool_resources` to get the stored form.
What the service fills in and we mirror: a ``file_search`` tool gets the default
``ranking_options`` (``default_2024_08_21``, ``score_threshold`` 0.0); a ``function``
gets ``strict: false`` when not given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Tag

from assistops.backend import files, vector_stores
from assistops.backend.core import Backend
from assistops.backend.parsing import Body, invalid, parse
from assistops.backend.rules import ChunkingStrategy, Doc, check_id, tag_by_type
from assistops.limits import (
    ASSISTANT_VECTOR_STORES_MAX,
    CODE_INTERPRETER_FILES_MAX,
    FUNCTION_NAME_MAX,
    FUNCTION_NAME_PATTERN,
    MAX_NUM_RESULTS_MAX,
    MAX_NUM_RESULTS_MIN,
    SCORE_THRESHOLD_MAX,
    SCORE_THRESHOLD_MIN,
)

DEFAULT_RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}


class CodeInterpreterTool(Body):
    """``{"type": "code_interpreter"}``."""

    type: Literal["code_interpreter"]


class RankingOptions(Body):
    """``file_search.ranking_options``."""

    ranker: Literal["auto", "default_2024_08_21"] = "auto"
    score_threshold: float = Field(ge=SCORE_THRESHOLD_MIN, le=SCORE_THRESHOLD_MAX)


class FileSearchParams(Body):
    """``file_search`` settings of a file-search tool."""

    max_num_results: int | None = Field(
        default=None, ge=MAX_NUM_RESULTS_MIN, le=MAX_NUM_RESULTS_MAX
    )
    ranking_options: RankingOptions | None = None


class FileSearchTool(Body):
    """``{"type": "file_search", "file_search": {...}}``."""

    type: Literal["file_search"]
    file_search: FileSearchParams | None = None


class FunctionDef(Body):
    """A function tool's definition."""

    name: str = Field(min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(Body):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"]
    function: FunctionDef


Tool = Annotated[
    Annotated[CodeInterpreterTool, Tag("tool:code_interpreter")]
    | Annotated[FileSearchTool, Tag("tool:file_search")]
    | Annotated[FunctionTool, Tag("tool:function")],
    tag_by_type("tool"),
]


def dump_tools(tools: list[CodeInterpreterTool | FileSearchTool | FunctionTool]) -> list[Doc]:
    """The stored (and returned) form of validated tools, with the service's defaults."""
    out: list[Doc] = []
    for tool in tools:
        doc = tool.model_dump(exclude_unset=True, by_alias=True)
        if isinstance(tool, FileSearchTool):
            params = doc.setdefault("file_search", {})
            params.setdefault("ranking_options", dict(DEFAULT_RANKING))
        elif isinstance(tool, FunctionTool):
            doc["function"].setdefault("strict", False)
        out.append(doc)
    return out


# response_format -------------------------------------------------------------------------


class TextFormat(Body):
    """``{"type": "text"}``."""

    type: Literal["text"]


class JsonObjectFormat(Body):
    """``{"type": "json_object"}``."""

    type: Literal["json_object"]


class JsonSchemaSpec(Body):
    """``json_schema`` of a ``json_schema`` response format."""

    name: str = Field(min_length=1, max_length=FUNCTION_NAME_MAX, pattern=FUNCTION_NAME_PATTERN)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(Body):
    """``{"type": "json_schema", "json_schema": {...}}``."""

    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


class _Format(Body):
    response_format: Annotated[
        Annotated[TextFormat, Tag("format:text")]
        | Annotated[JsonObjectFormat, Tag("format:json_object")]
        | Annotated[JsonSchemaFormat, Tag("format:json_schema")],
        tag_by_type("format"),
    ]


def check_response_format(value: Any) -> Any:
    """``"auto"``, ``None`` or a validated format object (as a dict)."""
    if value is None or value == "auto":
        return value
    if isinstance(value, str):
        raise invalid(
            "response_format",
            f"Invalid value: '{value}'. Supported values are: 'auto'.",
            "invalid_value",
        )
    parsed = parse(_Format, {"response_format": value})
    return parsed.response_format.model_dump(exclude_unset=True, by_alias=True)


# tool_resources --------------------------------------------------------------------------


class CodeInterpreterResources(Body):
    """``tool_resources.code_interpreter``."""

    file_ids: list[str] = Field(default_factory=list, max_length=CODE_INTERPRETER_FILES_MAX)


class VectorStoreHelper(Body):
    """One item of ``tool_resources.file_search.vector_stores`` (create only)."""

    file_ids: list[str] = Field(default_factory=list)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Any = None


class FileSearchResources(Body):
    """``tool_resources.file_search`` on create."""

    vector_store_ids: list[str] | None = Field(default=None, max_length=ASSISTANT_VECTOR_STORES_MAX)
    vector_stores: list[VectorStoreHelper] | None = Field(
        default=None, max_length=ASSISTANT_VECTOR_STORES_MAX
    )


class ToolResources(Body):
    """``tool_resources`` on create."""

    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


class ModifyFileSearchResources(Body):
    """``tool_resources.file_search`` on modify (no ``vector_stores`` helper)."""

    vector_store_ids: list[str] | None = Field(default=None, max_length=ASSISTANT_VECTOR_STORES_MAX)


class ModifyToolResources(Body):
    """``tool_resources`` on modify."""

    code_interpreter: CodeInterpreterResources | None = None
    file_search: ModifyFileSearchResources | None = None


def resolve_tool_resources(
    backend: Backend, resources: ToolResources | ModifyToolResources | None
) -> Doc:
    """Check referenced files and stores exist; create helper stores; the stored form."""
    out: Doc = {}
    if resources is None:
        return out
    if resources.code_interpreter is not None:
        ids = resources.code_interpreter.file_ids
        for i, file_id in enumerate(ids):
            files.get_file(backend, file_id, f"tool_resources.code_interpreter.file_ids[{i}]")
        out["code_interpreter"] = {"file_ids": list(ids)}
    search = resources.file_search
    if search is not None:
        helpers = search.vector_stores if isinstance(search, FileSearchResources) else None
        if search.vector_store_ids is not None and helpers is not None:
            raise invalid(
                "tool_resources.file_search",
                "Invalid 'tool_resources.file_search': 'vector_store_ids' and 'vector_stores' "
                "are mutually exclusive.",
                "invalid_value",
            )
        store_ids = list(search.vector_store_ids or [])
        for i, vs_id in enumerate(store_ids):
            param = f"tool_resources.file_search.vector_store_ids[{i}]"
            check_id(vs_id, vector_stores.PREFIX, param)
            vector_stores.get_store(backend, vs_id, param)
        for i, helper in enumerate(helpers or []):
            body = vector_stores.CreateVectorStore(
                file_ids=helper.file_ids,
                chunking_strategy=helper.chunking_strategy,
                metadata=helper.metadata,
            )
            prefix = f"tool_resources.file_search.vector_stores[{i}]."
            store_ids.append(vector_stores.create_store(backend, body, prefix)["id"])
        out["file_search"] = {"vector_store_ids": store_ids}
    return out
