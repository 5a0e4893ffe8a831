"""JSON Schemas of the YAML files, generated from the declaration models.

``scripts/generate_schemas.py`` writes them to ``schemas/``; a test fails when the committed
copies drift from the models.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from assistops import __version__
from assistops.config.models import (
    AssistantFile,
    ConversationTestFile,
    ProjectFile,
    VectorStoreFile,
)

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "project.schema.json": (ProjectFile, "assistops.yaml: the project and its environments"),
    "assistant.schema.json": (AssistantFile, "assistant.yaml: one assistant"),
    "vector-store.schema.json": (VectorStoreFile, "knowledge/<store>.yaml: one vector store"),
    "conversation-test.schema.json": (
        ConversationTestFile,
        "<assistant>/tests/<name>.yaml: one conversation test of the assistant",
    ),
}


def schema_of(model: type[BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one declaration model."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Generated from assistops {__version__} models; do not edit.",
        "title": title,
        **schema,
    }


def render_all() -> dict[str, str]:
    """File name -> JSON text of every published schema."""
    return {
        name: json.dumps(schema_of(model, title), indent=2, sort_keys=True) + "\n"
        for name, (model, title) in SCHEMAS.items()
    }
