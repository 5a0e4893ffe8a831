"""Live assistants and vector stores -> declarations and the files beside them.

A :class:`Drafter` plans every file (nothing is written here) and collects the files whose
content it could not obtain, so the caller can refuse before writing anything. What each live
field becomes follows the renderer backwards: the rendered declaration must project exactly to
the live object (see each kind's ``from_live`` and ``projection`` in :mod:`assistops.kinds`),
so that the next plan is empty.
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from assistops.adopt import AdoptError
from assistops.adopt.contents import Contents, Wanted
from assistops.adopt.instructions import template_source
from assistops.adopt.names import Layout, safe_basename
from assistops.adopt.writer import ProjectFiles
from assistops.adopt.yamltext import to_yaml
from assistops.config.project import unsafe_pattern
from assistops.kinds import agent as agent_kind
from assistops.kinds import assistant as assistant_kind
from assistops.kinds import vector_store as store_kind
from assistops.kinds.agent import agent_address
from assistops.kinds.assistant import DEFAULT_RANKERS, assistant_address
from assistops.kinds.tags import (
    PATH_ATTRIBUTE,
    RESERVED_ATTRIBUTES,
    RESERVED_METADATA,
    SHA_ATTRIBUTE,
    UploadName,
    user_attributes,
)
from assistops.kinds.vector_store import chunking_projection, vector_store_address
from assistops.limits import ATTRIBUTES_MAX_KEYS, METADATA_MAX_KEYS
from assistops.providers.base import Json


@dataclass
class StoreDraft:
    """A vector store to declare: the live store and, per file, where its content goes."""

    raw: Json
    name: str
    yaml_path: str
    files: list[tuple[Json, str]] = field(default_factory=list)  # (live store file, path)
    adopt: bool = True  # False: already tagged as ours

    @property
    def address(self) -> str:
        """``vector_store.<name>``."""
        return vector_store_address(self.name)


@dataclass
class CodeFile:
    """A code-interpreter file: its live id, its project path and content."""

    file_id: str
    path: str
    content: bytes
    ours: bool  # uploaded under our name for this project and environment already


@dataclass
class AssistantDraft:
    """An assistant to declare."""

    raw: Json
    name: str
    yaml_path: str
    code_files: list[CodeFile] = field(default_factory=list)
    adopt: bool = True
    agent: bool = False  # the live object is an OpenAI agent (an agents environment)

    @property
    def address(self) -> str:
        """``assistant.<name>``, or ``agent.<name>`` for an agent."""
        return agent_address(self.name) if self.agent else assistant_address(self.name)


class Drafter:
    """Plans the files of adopted objects into ``files``; collects what it could not get."""

    def __init__(
        self,
        layout: Layout,
        files: ProjectFiles,
        contents: Contents,
        uploads: dict[str, Json],
        *,
        project: str,
        environment: str,
    ) -> None:
        self.layout = layout
        self.files = files
        self.contents = contents
        self.uploads = uploads  # file id -> live file (purpose assistants)
        self.project = project
        self.environment = environment
        self.wanted: list[Wanted] = []
        self.notes: list[str] = []

    # -- vector stores ---------------------------------------------------------------------

    def store(
        self,
        raw: Json,
        name: str,
        live_files: list[Json],
        *,
        adopt: bool,
        description: str | None = None,
    ) -> StoreDraft:
        """Declare a store and plan its files (``live_files``: its vector-store files)."""
        rel = self.layout.store_file(name)
        draft = StoreDraft(raw, name, rel, adopt=adopt)
        folder = f"{PurePosixPath(rel).parent}/{name}".removeprefix("./")
        label = f"vector store '{raw.get('name') or name}' ({raw['id']})"
        indexing = [f["id"] for f in live_files if f.get("status") == "in_progress"]
        if indexing:
            # a declaration without these files would detach them on the next apply, and one
            # without any file does not validate: wait rather than write half a store
            raise AdoptError(
                f"{label}: {len(indexing)} file(s) are still being indexed "
                f"({', '.join(indexing[:3])}{' ...' if len(indexing) > 3 else ''}); nothing was "
                "written. Wait until the store's files are indexed, then run this again"
            )
        completed = [f for f in live_files if f.get("status") == "completed"]
        if live_files and not completed:
            reasons = sorted(
                {
                    f"{f['id']} is {f.get('status')}"
                    + (
                        f" ({(f.get('last_error') or {}).get('message')})"
                        if f.get("last_error")
                        else ""
                    )
                    for f in live_files
                }
            )
            raise AdoptError(
                f"{label}: none of its files is indexed ({'; '.join(reasons[:3])}); nothing was "
                "written. Attach the files again (or remove the store from the assistant), "
                "then run this again"
            )
        for f in live_files:
            if f.get("status") != "completed":
                self.notes.append(
                    f"{label}: file {f['id']} is {f.get('status')} and was not imported"
                )
        for vs_file in completed:
            path = self._store_file(raw, vs_file, folder, label, adopt=adopt)
            if path is not None:
                draft.files.append((vs_file, path))
        live = store_kind.from_live(raw, vector_store_address(name))
        data: dict[str, Any] = {"name": name}
        if live.display_name and live.display_name != name:
            data["display_name"] = live.display_name
        if description is not None:
            data["description"] = description
        paths = [p for _, p in draft.files]
        in_folder = all(PurePosixPath(p).parent.as_posix() == folder for p in paths)
        if paths and in_folder and self.files.only_planned_in(folder):
            data["files"] = [glob.escape(folder) + "/*"]
        else:
            data["files"] = sorted(glob.escape(p) for p in paths)
        chunking = self._chunking(completed, label)
        if chunking is not None:
            data["chunking"] = chunking
        if live.expires_after_days is not None:
            data["expires_after_days"] = live.expires_after_days
        if live.metadata:
            data["metadata"] = dict(live.metadata)
        attributes = self._attributes(completed, label)
        if attributes:
            data["attributes"] = attributes
        header = self.layout.header(rel, "vector_store")
        self.files.add(rel, to_yaml(data, header=header).encode("utf-8"))
        return draft

    def _store_file(
        self, store: Json, vs_file: Json, folder: str, label: str, *, adopt: bool
    ) -> str | None:
        upload = self.uploads.get(vs_file["id"], {})
        filename = str(upload.get("filename") or vs_file["id"])
        ours = UploadName.parse(filename)
        attributes = vs_file.get("attributes") or {}
        room = ATTRIBUTES_MAX_KEYS - len(RESERVED_ATTRIBUTES)
        if adopt and len(user_attributes(vs_file)) > room:
            raise AdoptError(
                f"{label}: file {vs_file['id']} has {len(attributes)} attributes; assistops "
                f"needs {len(RESERVED_ATTRIBUTES)} of the {ATTRIBUTES_MAX_KEYS}: remove some first"
            )
        sha = attributes.get(SHA_ATTRIBUTE) if not adopt else None
        wanted = Wanted(
            owner=label,
            file_id=vs_file["id"],
            filename=ours.basename if ours else filename,
            bytes=upload.get("bytes"),
            sha256=sha if isinstance(sha, str) else None,
            why="its parsed text is not the original file",
        )
        found = self.contents.knowledge(store["id"], wanted)
        if found is None:
            self.wanted.append(wanted)
            return None
        recorded = attributes.get(PATH_ATTRIBUTE)
        if not adopt and isinstance(recorded, str) and not unsafe_pattern(recorded):
            path = recorded  # keeps the file's address, so the plan matches it
        else:
            base = safe_basename(wanted.filename, vs_file["id"])
            path = self._free(f"{folder}/{base}", found.content)
        self.files.add(path, found.content)
        return path

    def _chunking(self, files: list[Json], label: str) -> dict[str, int] | None:
        seen = Counter(
            json.dumps(chunking_projection(f.get("chunking_strategy")), sort_keys=True)
            for f in files
        )
        if not seen:
            return None
        if len(seen) > 1:
            self.notes.append(
                f"{label}: its files are chunked differently; declared the most common"
            )
        common: dict[str, Any] = json.loads(seen.most_common(1)[0][0])
        if "type" in common:
            self.notes.append(f"{label}: chunking '{common['type']}' cannot be declared")
            return None
        if common == chunking_projection(None):
            return None
        keys = ("max_chunk_size_tokens", "chunk_overlap_tokens")  # in the order people write
        return {k: int(common[k]) for k in keys}

    def _attributes(self, files: list[Json], label: str) -> dict[str, Any]:
        per_file = [user_attributes(f) for f in files]
        if not per_file:
            return {}
        common = {k: v for k, v in per_file[0].items() if all(a.get(k) == v for a in per_file)}
        if any(a != common for a in per_file):
            self.notes.append(
                f"{label}: its files have different attributes; a store declares one set for "
                "all of them, so only the shared ones were declared"
            )
        return common

    # -- assistants ------------------------------------------------------------------------

    def assistant(
        self,
        raw: Json,
        name: str,
        store: str | None,
        *,
        adopt: bool,
        reasoning_effort: str | None = None,
    ) -> AssistantDraft:
        """Declare an assistant (``store``: the logical name of its vector store)."""
        rel = self.layout.assistant_file(name)
        folder = PurePosixPath(rel).parent.as_posix()
        draft = AssistantDraft(raw, name, rel, adopt=adopt)
        # the scalar fields as the kind reads them back (its files and tools are drafted below)
        live, _ = assistant_kind.from_live(
            raw, assistant_address(name), store_of=str, uploads={}, desired_files=[]
        )
        metadata = dict(live.metadata)
        if adopt and len(metadata) > METADATA_MAX_KEYS - len(RESERVED_METADATA):
            raise AdoptError(
                f"assistant {raw['id']} uses {len(metadata)} of its {METADATA_MAX_KEYS} metadata "
                f"keys; assistops needs {len(RESERVED_METADATA)} for its tags: remove some first"
            )
        defaults = self.layout.defaults
        data: dict[str, Any] = {"name": name}
        if (live.display_name and live.display_name != name) or "display_name" in defaults:
            data["display_name"] = live.display_name or name
        _set(data, "description", live.description, defaults)
        data["model"] = live.model
        notes: dict[str, str] = {}
        text = live.instructions
        if text:
            path = self.files.add(
                f"{folder}/instructions.md.j2", template_source(text).encode("utf-8")
            )
            if "instructions" in defaults:
                data["instructions"] = {"template": path}
        elif "instructions" in defaults:
            data["instructions"] = None
        tools = self._tools(raw, name, folder, store, draft)
        if tools or "tools" in defaults:
            data["tools"] = tools
        response_format = self._response_format(raw.get("response_format"), name, folder)
        _set(data, "response_format", response_format, defaults)
        for key, value in (("temperature", live.temperature), ("top_p", live.top_p)):
            value = 1.0 if value is None else value
            if value != 1.0 or key in defaults:
                data[key] = value
        _set(data, "reasoning_effort", reasoning_effort, defaults)
        _set(data, "metadata", metadata or None, defaults)
        if text and "instructions" not in defaults:
            after_model = list(data)[list(data).index("model") + 1 :]
            if after_model:
                notes[after_model[0]] = (
                    "instructions: rendered from instructions.md.j2 beside this file"
                )
        header = self.layout.header(rel, "assistant")
        self.files.add(rel, to_yaml(data, header=header, notes=notes).encode("utf-8"))
        return draft

    def agent(
        self, raw: Json, name: str, *, adopt: bool, requested_effort: bool = True
    ) -> AssistantDraft:
        """Declare an OpenAI agent as an assistant declaration of an agents environment.

        ``requested_effort`` False: the live reasoning effort is the model's default, which
        the service filled in, so none is declared."""
        rel = self.layout.assistant_file(name)
        folder = PurePosixPath(rel).parent.as_posix()
        draft = AssistantDraft(raw, name, rel, adopt=adopt, agent=True)
        live = agent_kind.from_live(raw, agent_address(name))
        if adopt and len(live.metadata) > METADATA_MAX_KEYS - len(RESERVED_METADATA):
            raise AdoptError(
                f"agent {raw['id']} uses {len(live.metadata)} of its {METADATA_MAX_KEYS} "
                f"metadata keys; assistops needs {len(RESERVED_METADATA)} for its tags: remove "
                "some first"
            )
        defaults = self.layout.defaults
        data: dict[str, Any] = {"name": name}
        if (live.display_name and live.display_name != name) or "display_name" in defaults:
            data["display_name"] = live.display_name or name
        data["model"] = live.model
        for key in ("description", "temperature", "top_p"):
            if key in defaults:
                data[key] = None  # an agent holds none of these: reset what defaults set
        notes: dict[str, str] = {}
        if live.instructions:
            path = self.files.add(
                f"{folder}/instructions.md.j2",
                template_source(live.instructions).encode("utf-8"),
            )
            if "instructions" in defaults:
                data["instructions"] = {"template": path}
            else:
                notes["model"] = "instructions: rendered from instructions.md.j2 beside this file"
        elif "instructions" in defaults:
            data["instructions"] = None
        tools = self._agent_tools(live.tools, name, raw["id"])
        if tools or "tools" in defaults:
            data["tools"] = tools
        if live.text_format is not None:
            schema = self.files.add_shared(
                [f"response_formats/{name}.json"],
                _json_file(live.text_format.get("schema") or {}),
            )
            data["response_format"] = {"json_schema": {"name": name, "schema": schema}}
        elif "response_format" in defaults:
            data["response_format"] = None
        effort = live.reasoning_effort if requested_effort else None
        _set(data, "reasoning_effort", effort, defaults)
        _set(data, "metadata", dict(live.metadata) or None, defaults)
        header = self.layout.header(rel, "assistant")
        self.files.add(rel, to_yaml(data, header=header, notes=notes).encode("utf-8"))
        return draft

    def _agent_tools(self, tools: tuple[Json, ...], name: str, agent_id: str) -> list[Json]:
        out: list[Json] = []
        for tool in tools:
            kind = tool.get("type")
            if kind == "function":
                out.append({"function": self._function(tool, name)})
            elif kind == "mcp":
                keys = ("server_label", "transport", "allowed_tools", "required")
                mcp = {k: tool[k] for k in keys if tool.get(k) not in (None, False)}
                if tool.get("connection_origin") not in (None, "service"):
                    mcp["connection_origin"] = tool["connection_origin"]
                transport = {k: v for k, v in (mcp.get("transport") or {}).items() if v}
                mcp["transport"] = transport
                if tool.get("credential_id") or tool.get("request_metadata"):
                    self.notes.append(
                        f"agent {agent_id}: the credential and request metadata of mcp server "
                        f"'{tool.get('server_label')}' cannot be declared"
                    )
                out.append({"mcp": mcp})
            elif kind == "web_search":
                keys = ("allowed_domains", "context_size", "location", "mode")
                out.append({"web_search": {k: tool[k] for k in keys if tool.get(k) is not None}})
            else:
                self.notes.append(f"agent {agent_id}: tool type '{kind}' cannot be declared")
        return out

    def _tools(
        self, raw: Json, name: str, folder: str, store: str | None, draft: AssistantDraft
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for tool in raw.get("tools") or []:
            kind = tool.get("type")
            if kind == "code_interpreter":
                paths = self._code_files(raw, folder, draft)
                out.append({"code_interpreter": {"files": paths} if paths else {}})
            elif kind == "file_search":
                out.append({"file_search": _file_search(tool.get("file_search") or {}, store)})
            elif kind == "function":
                out.append({"function": self._function(tool.get("function") or {}, name)})
            else:
                self.notes.append(f"assistant {raw['id']}: tool type '{kind}' cannot be declared")
        return out

    def _function(self, fn: Json, assistant: str) -> dict[str, Any]:
        fname = str(fn.get("name"))
        body: dict[str, Any] = {"name": fname}
        if fn.get("description"):
            body["description"] = fn["description"]
        if fn.get("parameters") is not None:
            body["parameters"] = self.files.add_shared(
                [f"functions/{fname}.json", f"functions/{assistant}.{fname}.json"],
                _json_file(fn["parameters"]),
            )
        if fn.get("strict"):
            body["strict"] = True
        return body

    def _response_format(self, value: Any, assistant: str, folder: str) -> Any:
        if value is None or value == "auto":
            return None
        if isinstance(value, dict) and value.get("type") in ("text", "json_object"):
            return value["type"]
        if not isinstance(value, dict) or value.get("type") != "json_schema":
            self.notes.append(f"assistant '{assistant}': response_format {value!r} is unknown")
            return None
        js = value.get("json_schema") or {}
        name = str(js.get("name"))
        body: dict[str, Any] = {"name": name}
        if js.get("description") is not None:
            body["description"] = js["description"]
        body["schema"] = self.files.add_shared(
            [f"response_formats/{name}.json", f"response_formats/{assistant}.{name}.json"],
            _json_file(js.get("schema") or {}),
        )
        if js.get("strict") is not None:
            body["strict"] = js["strict"]
        return {"json_schema": body}

    def _code_files(self, raw: Json, folder: str, draft: AssistantDraft) -> list[str]:
        resources = raw.get("tool_resources") or {}
        ids = (resources.get("code_interpreter") or {}).get("file_ids") or []
        label = f"code interpreter of assistant '{raw.get('name') or draft.name}' ({raw['id']})"
        paths: list[str] = []
        for file_id in ids:
            upload = self.uploads.get(file_id, {})
            filename = str(upload.get("filename") or file_id)
            name = UploadName.parse(filename)
            ours = (
                name is not None
                and name.project == self.project
                and name.environment == self.environment
            )
            wanted = Wanted(
                owner=label,
                file_id=file_id,
                filename=name.basename if name else filename,
                bytes=upload.get("bytes"),
                sha16=name.sha16 if name else None,
            )
            found = self.contents.code_interpreter(wanted)
            if found is None:
                self.wanted.append(wanted)
                continue
            if not draft.adopt and found.project_path is not None:
                path = found.project_path  # the recorded digest names this path
            else:
                base = safe_basename(wanted.filename, file_id)
                path = self._free(f"{folder}/files/{base}", found.content)
            self.files.add(path, found.content)
            draft.code_files.append(CodeFile(file_id, path, found.content, ours))
            paths.append(glob.escape(path))
        return sorted(set(paths))

    def _free(self, rel: str, content: bytes) -> str:
        """``rel``, or ``<stem>-2<suffix>``... when another content is planned or present."""
        path = PurePosixPath(rel)
        candidate, n = rel, 2
        while not self.files.can_hold(candidate, content):
            candidate = str(path.with_name(f"{path.stem}-{n}{path.suffix}"))
            n += 1
        return candidate


def _set(data: dict[str, Any], key: str, value: Any, defaults: frozenset[str]) -> None:
    """Write ``value``; an unset one only to reset what the defaults would set (``null``)."""
    if value is not None or key in defaults:
        data[key] = value


def _file_search(body: Json, store: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if store is not None:
        out["vector_store"] = store
    if body.get("max_num_results") is not None:
        out["max_num_results"] = body["max_num_results"]
    ranking = body.get("ranking_options") or {}
    threshold = ranking.get("score_threshold") or 0.0
    if ranking and (ranking.get("ranker") not in DEFAULT_RANKERS or threshold):
        out["ranking_options"] = {"ranker": ranking.get("ranker"), "score_threshold": threshold}
    return out


def _json_file(schema: Any) -> bytes:
    return (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
