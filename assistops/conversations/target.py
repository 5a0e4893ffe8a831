"""What an environment runs, found for conversations: each assistant's live id (``assistants``)
or its released Responses request (``responses``), and the files citations name.

It reads with the plan the environment's resources already have (list calls only), so a test
of an assistant that is not deployed, or whose deployed version differs from the declarations,
says so before any conversation starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistops.conversations.declarations import CONVERSATION_APIS
from assistops.conversations.driver import (
    Conversation,
    FileIndex,
    ResponsesConversation,
    ThreadConversation,
)
from assistops.engine.plan import Plan
from assistops.errors import ConversationError
from assistops.kinds.assistant import assistant_address
from assistops.kinds.file import FileSpec
from assistops.kinds.release import read_releases
from assistops.kinds.spec import DesiredState
from assistops.providers.base import Json, Reader
from assistops.providers.sessions import Sessions

#: What the local backend and the Assistants protocol can hold a conversation on.


def refuse_agents(environment: str, api: str) -> None:
    """ConversationError for an environment whose assistants cannot be talked to here."""
    if api in CONVERSATION_APIS:
        return
    raise ConversationError(
        f"environment '{environment}' deploys OpenAI agents (api: {api}); conversations with "
        "an agent run in OpenAI's agent sessions, which assistops does not drive (and the "
        "local backend does not serve). Test the same declarations on an 'assistants' or "
        "'responses' environment (the example project's local and local-responses), or "
        "before deploying with 'assistops test --working-tree'"
    )


@dataclass
class Target:
    """The assistants of one environment, ready for conversations."""

    environment: str
    api: str
    label: str
    sessions: Sessions
    files: FileIndex
    assistant_ids: dict[str, str]
    requests: dict[str, Json]

    def conversation(
        self, assistant: str, *, metadata: dict[str, str] | None = None
    ) -> Conversation:
        """A new conversation with ``assistant`` (nothing is created before its first turn)."""
        if self.api == "responses":
            return ResponsesConversation(self.sessions, self.requests[assistant], self.files)
        return ThreadConversation(
            self.sessions, self.assistant_ids[assistant], self.files, thread_metadata=metadata
        )


def find_target(
    reader: Reader,
    sessions: Sessions,
    state: DesiredState,
    plan: Plan,
    assistants: list[str],
    *,
    apply_hint: str,
) -> tuple[Target, list[str]]:
    """The live ``assistants`` of ``state``'s environment, and notes on what differs from the
    declarations. ConversationError when one is not deployed (``apply_hint`` says how)."""
    refuse_agents(state.environment, state.api)
    notes: list[str] = []
    ids: dict[str, str] = {}
    requests: dict[str, Json] = {}
    by_address = {r.address: r for r in plan.resources}
    if state.api == "assistants":
        missing = []
        for name in assistants:
            change = by_address.get(assistant_address(name))
            if change is None or change.id is None or change.action == "create":
                missing.append(name)
                continue
            ids[name] = change.id
            if change.action != "no-op":
                notes.append(
                    f"assistant.{name} differs from the declarations ({change.action} pending): "
                    "the tests talk to what is deployed"
                )
        if missing:
            raise ConversationError(
                f"{_names(missing)} not deployed in environment '{state.environment}': {apply_hint}"
            )
    else:
        current = read_releases(reader, state.project, state.environment).current
        if current is None or current.requests is None:
            why = current.problem if current is not None else "no release is published"
            raise ConversationError(
                f"environment '{state.environment}' has no readable release ({why}): {apply_hint}"
            )
        missing = [n for n in assistants if n not in current.requests]
        if missing:
            raise ConversationError(
                f"the release of '{state.environment}' (revision {current.name.revision}) has no "
                f"{_names(missing).removesuffix(' is').removesuffix(' are')}: {apply_hint}"
            )
        requests = {n: current.requests[n] for n in assistants}
        pending = [r for r in plan.changes if r.kind == "release"]
        if pending:
            notes.append(
                f"the release differs from the declarations ({pending[0].action} pending): the "
                f"tests use the published one (revision {current.name.revision})"
            )
    paths = {s.sha256[:16]: s.path for s in state.resources.values() if isinstance(s, FileSpec)}
    files = FileIndex.build(reader.list_files(), paths)
    label = plan.provider_label
    return Target(state.environment, state.api, label, sessions, files, ids, requests), notes


def _names(names: list[str]) -> str:
    shown = ", ".join(f"assistant '{n}'" for n in names)
    return f"{shown} {'is' if len(names) == 1 else 'are'}"
