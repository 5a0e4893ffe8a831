"""The provider interface: the only way the engine reaches a live service.

Reading is split from writing: plan and diff only ever get a :class:`Reader`; only apply holds
a :class:`Writer`. Every method takes and returns plain JSON-able dicts in the protocol's wire
shape (``model_dump(mode="json")`` of the SDK's objects), so the engine never sees SDK types;
uploads and file batches, which apply sends by the thousand, come back as the service sent them
(no typed model is built for them: it is most of a small call's client CPU).
A field the server left out may be missing or ``None`` (the assistant and agent lists keep
objects as the server sent them; the SDK's models fill in ``None``): read them with ``.get``.

Errors: every failure is raised as :class:`assistops.errors.ProviderError` (or a subclass) with
a message that never contains the API key. Deleting something that is already gone is not an
error (deletes are idempotent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

Json = dict[str, Any]
T = TypeVar("T")


class Reader(ABC):
    """Read-only access to live state; lists page with limit=100 until ``has_more`` is false."""

    #: A label for messages, e.g. ``local (.assistops/local.db)`` or ``openai (https://…/v1)``.
    label: str = ""

    @abstractmethod
    def list_assistants(self) -> list[Json]:
        """Every assistant of the account, oldest first."""

    @abstractmethod
    def list_vector_stores(self) -> list[Json]:
        """Every vector store of the account, oldest first."""

    @abstractmethod
    def list_vector_store_files(self, vector_store_id: str) -> list[Json]:
        """Every file attached to one vector store (all statuses), oldest first."""

    @abstractmethod
    def list_files(self, purpose: str = "assistants") -> list[Json]:
        """Every file of one purpose (``assistants`` unless said), oldest first."""

    @abstractmethod
    def file_content(self, file_id: str) -> bytes:
        """``GET /files/{id}/content``: the bytes of a downloadable file (purpose ``batch``;
        the service refuses ``assistants`` and ``user_data``)."""

    @abstractmethod
    def list_agents(self) -> list[Json]:
        """Every OpenAI agent of the project (``GET /agents``, beta), oldest first."""

    @abstractmethod
    def retrieve_assistant(self, assistant_id: str) -> Json:
        """One assistant by id (import only; discovery uses lists)."""

    @abstractmethod
    def retrieve_agent(self, agent_id: str) -> Json:
        """One agent by id (import only)."""

    @abstractmethod
    def retrieve_vector_store(self, vector_store_id: str) -> Json:
        """One vector store by id (import only)."""

    @abstractmethod
    def vector_store_file_content(self, vector_store_id: str, file_id: str) -> str:
        """The parsed text of a file in a vector store (export/import; files of purpose
        ``assistants`` cannot be downloaded)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (and stop an embedded server)."""

    def lock_path(self) -> Path | None:
        """A file apply locks while it writes, when the provider's state is on this machine
        (the local backend); None when no lock is possible (remote services)."""
        return None


class AsyncWriter(ABC):
    """The writes of a :class:`Writer` as coroutines, awaited on the writer's own loop
    (:meth:`Writer.run_async`): what apply's steps call. Each does what the
    :class:`Writer` method of the same name does."""

    @abstractmethod
    async def create_assistant(self, body: Json) -> Json: ...

    @abstractmethod
    async def update_assistant(self, assistant_id: str, body: Json) -> Json: ...

    @abstractmethod
    async def delete_assistant(self, assistant_id: str) -> None: ...

    @abstractmethod
    async def create_agent(self, body: Json) -> Json: ...

    @abstractmethod
    async def update_agent(self, agent_id: str, body: Json) -> Json: ...

    @abstractmethod
    async def delete_agent(self, agent_id: str) -> None: ...

    @abstractmethod
    async def create_vector_store(self, body: Json) -> Json: ...

    @abstractmethod
    async def update_vector_store(self, vector_store_id: str, body: Json) -> Json: ...

    @abstractmethod
    async def delete_vector_store(self, vector_store_id: str) -> None: ...

    @abstractmethod
    async def upload_file(
        self, filename: str, content: bytes | BinaryIO, purpose: str = "assistants"
    ) -> Json: ...

    @abstractmethod
    async def delete_file(self, file_id: str) -> None: ...

    @abstractmethod
    async def create_file_batch(self, vector_store_id: str, files: list[Json]) -> Json: ...

    @abstractmethod
    async def retrieve_file_batch(self, vector_store_id: str, batch_id: str) -> Json: ...

    @abstractmethod
    async def list_file_batch_files(self, vector_store_id: str, batch_id: str) -> list[Json]: ...

    @abstractmethod
    async def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Json
    ) -> Json: ...

    @abstractmethod
    async def detach_file(self, vector_store_id: str, file_id: str) -> None: ...


class Writer(Reader):
    """Read and write access, held only by apply."""

    def limit(self, width: int) -> int | None:
        """At most ``width`` calls in flight from now on, fewer for a while after a rate
        limit (``limiter.py``); returns the width it replaces (None for a writer that sends
        no requests)."""
        return None

    @property
    @abstractmethod
    def aio(self) -> AsyncWriter:
        """These writes as coroutines, for :meth:`run_async`."""

    @abstractmethod
    def run_async(
        self, call: Callable[[], Awaitable[T]], interrupt: Callable[[], None] | None = None
    ) -> T:
        """Await ``call()`` on the loop :attr:`aio`'s coroutines run on and return its result
        here. Interrupted while it waits (Ctrl-C), it runs ``interrupt()`` on that loop (when
        given: the call winds down and this waits for it) or cancels the call, then raises."""

    @abstractmethod
    def create_assistant(self, body: Json) -> Json:
        """``POST /assistants``; the body carries the ownership tags."""

    @abstractmethod
    def update_assistant(self, assistant_id: str, body: Json) -> Json:
        """``POST /assistants/{id}``: partial update, keeps the id."""

    @abstractmethod
    def delete_assistant(self, assistant_id: str) -> None:
        """``DELETE /assistants/{id}``; already gone is fine."""

    @abstractmethod
    def create_agent(self, body: Json) -> Json:
        """``POST /agents``; the body carries the ownership tags."""

    @abstractmethod
    def update_agent(self, agent_id: str, body: Json) -> Json:
        """``POST /agents/{id}``: keeps the id; tools and metadata are replaced."""

    @abstractmethod
    def delete_agent(self, agent_id: str) -> None:
        """``DELETE /agents/{id}``; already gone is fine."""

    @abstractmethod
    def create_vector_store(self, body: Json) -> Json:
        """``POST /vector_stores``; the body carries the ownership tags."""

    @abstractmethod
    def update_vector_store(self, vector_store_id: str, body: Json) -> Json:
        """``POST /vector_stores/{id}`` (name, expires_after, metadata)."""

    @abstractmethod
    def delete_vector_store(self, vector_store_id: str) -> None:
        """``DELETE /vector_stores/{id}``; already gone is fine."""

    @abstractmethod
    def upload_file(
        self, filename: str, content: bytes | BinaryIO, purpose: str = "assistants"
    ) -> Json:
        """``POST /files`` with ``purpose`` (``assistants`` unless said); an open binary file
        is streamed (and read again from its start on a retry)."""

    @abstractmethod
    def delete_file(self, file_id: str) -> None:
        """``DELETE /files/{id}``; already gone is fine."""

    @abstractmethod
    def create_file_batch(self, vector_store_id: str, files: list[Json]) -> Json:
        """``POST /vector_stores/{id}/file_batches`` with ``files`` (each: file_id,
        attributes, chunking_strategy); returns the batch."""

    @abstractmethod
    def retrieve_file_batch(self, vector_store_id: str, batch_id: str) -> Json:
        """``GET /vector_stores/{id}/file_batches/{batch_id}`` (poll it until done)."""

    @abstractmethod
    def list_file_batch_files(self, vector_store_id: str, batch_id: str) -> list[Json]:
        """The files of one batch (to report the failed ones with their errors)."""

    @abstractmethod
    def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Json
    ) -> Json:
        """``POST /vector_stores/{id}/files/{file_id}``: replace the attributes."""

    @abstractmethod
    def detach_file(self, vector_store_id: str, file_id: str) -> None:
        """``DELETE /vector_stores/{id}/files/{file_id}``; already gone is fine."""


class ReadOnly(Reader):
    """A provider seen through its read methods only: what plan and diff hold, so that no
    code path of theirs can change live state (only apply is handed the Writer)."""

    def __init__(self, provider: Reader) -> None:
        self._provider = provider
        self.label = provider.label

    def list_assistants(self) -> list[Json]:
        """See :meth:`Reader.list_assistants`."""
        return self._provider.list_assistants()

    def list_vector_stores(self) -> list[Json]:
        """See :meth:`Reader.list_vector_stores`."""
        return self._provider.list_vector_stores()

    def list_vector_store_files(self, vector_store_id: str) -> list[Json]:
        """See :meth:`Reader.list_vector_store_files`."""
        return self._provider.list_vector_store_files(vector_store_id)

    def list_files(self, purpose: str = "assistants") -> list[Json]:
        """See :meth:`Reader.list_files`."""
        return self._provider.list_files(purpose)

    def file_content(self, file_id: str) -> bytes:
        """See :meth:`Reader.file_content`."""
        return self._provider.file_content(file_id)

    def list_agents(self) -> list[Json]:
        """See :meth:`Reader.list_agents`."""
        return self._provider.list_agents()

    def retrieve_assistant(self, assistant_id: str) -> Json:
        """See :meth:`Reader.retrieve_assistant`."""
        return self._provider.retrieve_assistant(assistant_id)

    def retrieve_agent(self, agent_id: str) -> Json:
        """See :meth:`Reader.retrieve_agent`."""
        return self._provider.retrieve_agent(agent_id)

    def retrieve_vector_store(self, vector_store_id: str) -> Json:
        """See :meth:`Reader.retrieve_vector_store`."""
        return self._provider.retrieve_vector_store(vector_store_id)

    def vector_store_file_content(self, vector_store_id: str, file_id: str) -> str:
        """See :meth:`Reader.vector_store_file_content`."""
        return self._provider.vector_store_file_content(vector_store_id, file_id)

    def close(self) -> None:
        """Close the provider underneath."""
        self._provider.close()

    def lock_path(self) -> Path | None:
        """See :meth:`Reader.lock_path`."""
        return self._provider.lock_path()
