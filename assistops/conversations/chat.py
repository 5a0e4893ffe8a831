"""An interactive conversation with one deployed assistant (``assistops chat``).

The same :class:`~.driver.Conversation` the tests use, with a person at the other end: the
reply is shown as it streams, tool calls as they happen, function calls are answered by the
handlers the assistant's tests name (or by the person), ``steps`` are the last turn's run
steps, ``new`` starts a new thread, and ``close`` deletes every thread the session made.
"""

from __future__ import annotations

from collections.abc import Callable

from assistops.conversations.driver import Conversation, Listener
from assistops.conversations.handlers import Handler, as_output
from assistops.conversations.results import Step, TurnResult
from assistops.conversations.target import Target

#: Asks the person for a function's output: ``(name, arguments JSON) -> output``.
AskFn = Callable[[str, str], str]


class Chat:
    """A chat session: one conversation at a time, handlers by function name."""

    def __init__(
        self, target: Target, assistant: str, handlers: dict[str, tuple[str, Handler]]
    ) -> None:
        self.target = target
        self.assistant = assistant
        self.handlers = handlers
        self._conversation: Conversation = self._new()

    def _new(self) -> Conversation:
        return self.target.conversation(self.assistant, metadata={"assistops_chat": self.assistant})

    @property
    def conversation_id(self) -> str:
        """The current thread (or first response); '' before the first message."""
        return self._conversation.id

    def send(self, text: str, listener: Listener, ask: AskFn) -> TurnResult:
        """One message; function calls go to a handler, else to ``ask``."""
        import json

        def answer(name: str, arguments: str) -> tuple[str, str]:
            if name in self.handlers:
                ref, handler = self.handlers[name]
                return as_output(handler(json.loads(arguments or "{}"))), f"handler {ref}"
            return ask(name, arguments), "person"

        return self._conversation.send(text, answer=answer, listener=listener)

    def steps(self) -> list[Step]:
        """The last turn's steps."""
        return self._conversation.last_steps()

    def new(self) -> None:
        """Delete the current conversation and start a new one."""
        self._conversation.close()
        self._conversation = self._new()

    def close(self) -> None:
        """Delete the current conversation."""
        self._conversation.close()
