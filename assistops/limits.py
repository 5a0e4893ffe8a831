"""Limits of the Assistants protocol, shared by the declaration models, offline validation and
the local backend: each number is written here and only here.

Sources: the official OpenAPI description (schemas named beside each value) and the
API reference prose where the schema is silent. ``LOGICAL_NAME_MAX`` is assistops' own.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

ASSISTANT_NAME_MAX = 256  # CreateAssistantRequest.name
ASSISTANT_DESCRIPTION_MAX = 512  # CreateAssistantRequest.description
INSTRUCTIONS_MAX = 256_000  # CreateAssistantRequest.instructions
TOOLS_MAX = 128  # CreateAssistantRequest.tools
RUN_TOOLS_MAX = 20  # CreateRunRequest.tools
RUN_TOKEN_BUDGET_MIN = 256  # CreateRunRequest.max_prompt_tokens / max_completion_tokens
RUN_EXPIRY_SECONDS = 600  # RunObject.expires_at is created_at + 10 min (spec examples)
CODE_INTERPRETER_FILES_MAX = 20  # tool_resources.code_interpreter.file_ids
ASSISTANT_VECTOR_STORES_MAX = 1  # tool_resources.file_search.vector_store_ids
MAX_NUM_RESULTS_MIN, MAX_NUM_RESULTS_MAX = 1, 50  # AssistantToolsFileSearch
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0
TOP_P_MIN, TOP_P_MAX = 0.0, 1.0
SCORE_THRESHOLD_MIN, SCORE_THRESHOLD_MAX = 0.0, 1.0
Ranker = Literal["auto", "default_2024_08_21"]  # FileSearchRanker
RANKERS: tuple[str, ...] = get_args(Ranker)
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
REASONING_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)

METADATA_MAX_KEYS = 16  # Metadata (prose)
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512

ATTRIBUTES_MAX_KEYS = 16  # VectorStoreFileAttributes
ATTRIBUTE_KEY_MAX = 64
ATTRIBUTE_VALUE_MAX = 512

FUNCTION_NAME_MAX = 64  # FunctionObject.name (prose)
FUNCTION_NAME_PATTERN = rf"^[a-zA-Z0-9_-]{{1,{FUNCTION_NAME_MAX}}}$"
FUNCTION_NAME_RE = re.compile(FUNCTION_NAME_PATTERN)
RESPONSE_FORMAT_NAME_PATTERN = FUNCTION_NAME_PATTERN  # ResponseFormatJsonSchema.json_schema.name
RESPONSE_FORMAT_NAME_RE = FUNCTION_NAME_RE

LOGICAL_NAME_MAX = 64  # assistops: names of the project, its environments and resources

STATIC_CHUNK_MIN, STATIC_CHUNK_MAX = 100, 4096  # StaticChunkingStrategy.max_chunk_size_tokens
AUTO_CHUNK_SIZE, AUTO_CHUNK_OVERLAP = 800, 400  # what "auto" resolves to (and static's defaults)
CHUNK_OVERLAP_MIN = 0  # StaticChunkingStrategy.chunk_overlap_tokens (at most half the size)
VECTOR_STORE_EXPIRY_DAYS_MIN, VECTOR_STORE_EXPIRY_DAYS_MAX = 1, 365  # VectorStoreExpirationAfter
VECTOR_STORE_CREATE_FILE_IDS_MAX = 500
FILE_BATCH_MAX = 2000
FILE_EXPIRY_SECONDS_MIN, FILE_EXPIRY_SECONDS_MAX = 3600, 2_592_000  # FileExpirationAfter
#: The largest file the service takes (POST /files: "Individual files can be up to 512 MB").
FILE_BYTES_MAX = 512 * 1024 * 1024
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")

LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 20, 100
FILES_LIST_LIMIT_DEFAULT, FILES_LIST_LIMIT_MAX = 10_000, 10_000

# Agents (beta ``/v1/agents``): no OpenAPI description; the openai SDK's generated types and
# docstrings (``types/beta/agent*.py``) are the source, unless marked as assistops' choice.
AGENT_NAME_MAX = 256  # assistops' choice: the SDK states no limit; the assistants' one
AGENT_TOOLS_JSON_MAX_BYTES = 3 * 1024 * 1024  # AgentCreateParams.tools: compact UTF-8 JSON
AGENT_SUBAGENTS_MIN = 1  # MultiAgentConfigParam.max_concurrent_subagents (assistops' floor)
AgentServiceTier = Literal["auto", "default", "flex", "priority", "fast", "ultrafast"]
AGENT_SERVICE_TIERS: tuple[str, ...] = get_args(AgentServiceTier)

# Responses (``/v1/responses``): ``CreateResponse`` in the official description
RESPONSE_MAX_OUTPUT_TOKENS_MIN = 16  # CreateResponse.max_output_tokens
RESPONSE_TOP_LOGPROBS_MAX = 20  # CreateResponse.top_logprobs
RESPONSE_CALL_ID_MAX = 64  # FunctionCallOutputItemParam.call_id
RESPONSE_SAFETY_IDENTIFIER_MAX = 64  # CreateResponse.safety_identifier
RESPONSE_TOOLS_MAX = 128  # assistops' choice: the description states no limit; the assistants' one

# Conversation tests (assistops' choices): how often one test may repeat, how long an attempt
# may take (seconds), and the timeout of an attempt when the test does not say
TEST_REPEAT_MAX = 100
TEST_TIMEOUT_MAX = 3600
TEST_TIMEOUT_DEFAULT = 120
TEST_PASS_THRESHOLD_MAX = 1.0  # a fraction of the attempts; the default: every one passes

#: What a strict-mode schema may hold (Structured Outputs guide, "Supported schemas"): object
#: nesting, object properties in all, enum values in all, and the characters of every property
#: name, definition name and enum value together. The service answers 400 past any of them.
STRICT_SCHEMA_DEPTH_MAX = 10
STRICT_SCHEMA_PROPERTIES_MAX = 5000
STRICT_SCHEMA_ENUM_VALUES_MAX = 1000
STRICT_SCHEMA_NAME_CHARS_MAX = 120_000
