"""Conversations with a deployed assistant: threads and streamed runs, or Responses.

This is what ``assistops test`` and ``assistops chat`` talk through; the layers above never see
the SDK. Everything comes back in the protocol's wire shape (plain dicts), and a stream is an
iterator of :class:`StreamEvent` (the server-sent event's name and its data as a dict), so the
code that interprets a conversation is the same for every server that speaks the protocol.

Two calls create something that must not outlive a test: ``create_thread`` (deleted with
``delete_thread``) and ``stream_response`` (each response is stored by the service, and deleted
with ``delete_response``). Deleting something that is already gone is not an error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

import openai

from assistops.errors import ProviderError
from assistops.providers.base import Json, Reader
from assistops.providers.failures import CallContext, provider_error
from assistops.providers.openai_provider import PAGE_SIZE, OpenAIProvider, dump

T = TypeVar("T")

#: Run steps and streamed steps carry the text of each file_search result only when asked.
STEP_SEARCH_CONTENT: Final = "step_details.tool_calls[*].file_search.results[*].content"
#: ...and a response's file_search_call item its results.
RESPONSE_SEARCH_RESULTS: Final = "file_search_call.results"


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: ``thread.message.delta``, ``response.output_text.delta``, ..."""

    name: str
    data: Json


class Sessions(ABC):
    """Conversations with deployed assistants (Assistants threads, or the Responses API).

    ``timeout`` (seconds) bounds each call; streams are never retried (a retried run would
    be a second run).
    """

    @abstractmethod
    def create_thread(self, metadata: dict[str, str] | None = None) -> str:
        """``POST /threads``; returns the new thread's id."""

    @abstractmethod
    def add_message(
        self, thread_id: str, text: str, metadata: dict[str, str] | None = None
    ) -> Json:
        """``POST /threads/{id}/messages`` with one user message."""

    @abstractmethod
    def stream_run(
        self, thread_id: str, assistant_id: str, *, timeout: float | None = None
    ) -> Iterator[StreamEvent]:
        """``POST /threads/{id}/runs`` with ``stream: true``: the run's events until it ends
        or pauses (``thread.run.requires_action``)."""

    @abstractmethod
    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[tuple[str, str]],
        *,
        timeout: float | None = None,
    ) -> Iterator[StreamEvent]:
        """``POST .../runs/{id}/submit_tool_outputs`` with ``stream: true``; ``outputs`` are
        (tool_call_id, output) pairs."""

    @abstractmethod
    def run_steps(self, thread_id: str, run_id: str) -> list[Json]:
        """Every step of a run, oldest first, file_search results with their text."""

    @abstractmethod
    def cancel_run(self, thread_id: str, run_id: str) -> None:
        """``POST .../runs/{id}/cancel``; a run that already ended is fine."""

    @abstractmethod
    def delete_thread(self, thread_id: str) -> None:
        """``DELETE /threads/{id}`` (its messages, runs and steps go with it); gone is fine."""

    @abstractmethod
    def stream_response(
        self,
        request: Json,
        input: str | list[Json],
        *,
        previous_response_id: str | None = None,
        metadata: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[StreamEvent]:
        """``client.responses.create(**request, input=..., stream=True)``, file_search results
        included; ``metadata`` is merged over the request's."""

    @abstractmethod
    def delete_response(self, response_id: str) -> None:
        """``DELETE /responses/{id}``; gone is fine."""


class OpenAISessions(Sessions):
    """:class:`Sessions` over the SDK client of an :class:`OpenAIProvider` (local, openai,
    azure): it shares the provider's client, its timeouts and its error messages."""

    def __init__(self, client: openai.OpenAI, ctx: CallContext) -> None:
        self.client = client
        self._ctx = ctx

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except openai.OpenAIError as exc:
            error = provider_error(exc, self._ctx)
        raise error from None  # outside the handler: no SDK error in __context__

    def _gone_is_fine(self, fn: Callable[[], object]) -> None:
        error: ProviderError | None = None
        try:
            fn()
        except openai.NotFoundError:
            pass
        except openai.OpenAIError as exc:
            error = provider_error(exc, self._ctx)
        if error is not None:
            raise error from None

    def _events(self, open_stream: Callable[[], Any]) -> Iterator[StreamEvent]:
        stream = self._call(open_stream)
        try:
            while True:
                try:
                    event = next(stream)
                except StopIteration:
                    return
                except openai.OpenAIError as exc:
                    error = provider_error(exc, self._ctx)
                    raise error from None
                name = getattr(event, "event", None) or getattr(event, "type", "")
                data = event.data if hasattr(event, "event") else event
                yield StreamEvent(str(name), dump(data))
        finally:
            stream.close()  # an abandoned stream gives its connection back

    def _once(self, timeout: float | None) -> openai.OpenAI:
        # no retries: a retried streaming create would start a second run or response
        if timeout is None:
            return self.client.with_options(max_retries=0)
        return self.client.with_options(max_retries=0, timeout=timeout)

    def create_thread(self, metadata: dict[str, str] | None = None) -> str:
        """``POST /threads``."""
        thread = self._call(lambda: self.client.beta.threads.create(metadata=metadata or {}))
        return str(thread.id)

    def add_message(
        self, thread_id: str, text: str, metadata: dict[str, str] | None = None
    ) -> Json:
        """``POST /threads/{id}/messages``."""
        return self._call(
            lambda: dump(
                self.client.beta.threads.messages.create(
                    thread_id, role="user", content=text, metadata=metadata or {}
                )
            )
        )

    def stream_run(
        self, thread_id: str, assistant_id: str, *, timeout: float | None = None
    ) -> Iterator[StreamEvent]:
        """A streamed run."""
        client = self._once(timeout)
        return self._events(
            lambda: client.beta.threads.runs.create(
                thread_id=thread_id,
                assistant_id=assistant_id,
                stream=True,
                include=[STEP_SEARCH_CONTENT],
            )
        )

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[tuple[str, str]],
        *,
        timeout: float | None = None,
    ) -> Iterator[StreamEvent]:
        """Submit tool outputs, streamed."""
        client = self._once(timeout)
        body = [{"tool_call_id": call_id, "output": output} for call_id, output in outputs]
        return self._events(
            lambda: client.beta.threads.runs.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=cast(Any, body), stream=True
            )
        )

    def run_steps(self, thread_id: str, run_id: str) -> list[Json]:
        """Every step of the run, oldest first."""
        return self._call(
            lambda: [
                dump(step)
                for step in self.client.beta.threads.runs.steps.list(
                    run_id,
                    thread_id=thread_id,
                    include=[STEP_SEARCH_CONTENT],
                    limit=PAGE_SIZE,
                    order="asc",
                )
            ]
        )

    def cancel_run(self, thread_id: str, run_id: str) -> None:
        """Cancel; a run that already ended answers 400, which is fine here."""
        try:
            self.client.beta.threads.runs.cancel(run_id, thread_id=thread_id)
        except (openai.BadRequestError, openai.NotFoundError):
            pass
        except openai.OpenAIError as exc:
            error = provider_error(exc, self._ctx)
            raise error from None

    def delete_thread(self, thread_id: str) -> None:
        """``DELETE /threads/{id}``."""
        self._gone_is_fine(lambda: self.client.beta.threads.delete(thread_id))

    def stream_response(
        self,
        request: Json,
        input: str | list[Json],
        *,
        previous_response_id: str | None = None,
        metadata: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[StreamEvent]:
        """``responses.create(**request, input=..., stream=True)``."""
        client = self._once(timeout)
        kwargs: dict[str, Any] = dict(request)
        if metadata:
            kwargs["metadata"] = {**(request.get("metadata") or {}), **metadata}
        if previous_response_id is not None:
            kwargs["previous_response_id"] = previous_response_id
        kwargs["include"] = [RESPONSE_SEARCH_RESULTS]
        return self._events(
            lambda: client.responses.create(**kwargs, input=cast(Any, input), stream=True)
        )

    def delete_response(self, response_id: str) -> None:
        """``DELETE /responses/{id}``."""
        self._gone_is_fine(lambda: self.client.responses.delete(response_id))


def sessions_of(provider: Reader) -> Sessions:
    """The conversations of an opened provider (any provider built on the SDK client)."""
    inner = getattr(provider, "_provider", provider)  # a ReadOnly view: the provider under it
    if not isinstance(inner, OpenAIProvider):
        raise ProviderError(f"{provider.label} cannot hold conversations")
    return OpenAISessions(inner.client, inner.call_context)
