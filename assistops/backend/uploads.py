"""Multipart bodies read as they arrive, file parts written straight into the store.

The request body is fed to python-multipart's push parser piece by piece; a text field is
kept in memory (up to :data:`FIELD_BYTES_MAX`), a file part goes to a :class:`BlobWriter`
under a fresh ``upload-…`` id, one chunk at a time, in a worker thread. Nothing is spooled
to a temporary file (which may be memory on a tmpfs ``/tmp``) and nothing holds a file in
memory. The handler adopts the chunks as a file's blob (:meth:`Store.adopt_blob`); whatever it
does not adopt is removed when the request ends (by :meth:`Parts.discard`, in the handler's
own thread when it has one: a thread hop costs more than a small upload's own work), and
chunks a crash left behind are removed when the store is next opened.

A file part over ``upload_max`` bytes stops being stored at once; the rest of the body is
still read (answering while the client is still sending breaks its connection, which the SDK
retries) and the request is refused with the service's 400 "File is too large."
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from assistops.backend.parsing import file_too_large, invalid
from assistops.backend.routing import Upload
from assistops.backend.store import CHUNK_BYTES, BlobWriter, Store

#: The largest text field of a multipart body (the SDK's are a few bytes: a purpose).
FIELD_BYTES_MAX = 1024 * 1024


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    text: bytearray = field(default_factory=bytearray)
    writer: BlobWriter | None = None
    received: int = 0
    too_large: bool = False


@dataclass
class _Parse:
    """The parser's state between callbacks (which are synchronous, inside ``write``)."""

    store: Store
    upload_max: int
    charset: str = "utf-8"
    part: _Part = field(default_factory=_Part)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    writers: list[BlobWriter] = field(default_factory=list)
    backlog: list[tuple[BlobWriter, bytes]] = field(default_factory=list)  # for the thread
    finished: list[tuple[str, _Part]] = field(default_factory=list)
    too_large: bool = False
    field_too_large: str | None = None
    discarded: bool = False

    # python-multipart callbacks ---------------------------------------------------------

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.decode("latin-1").lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode(self.charset, errors="replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode(self.charset, errors="replace")
            self.part.content_type = self.headers.get("content-type", b"").decode("latin-1")
            # a fresh id: nothing to replace, so no store access here on the event loop
            self.part.writer = BlobWriter(self.store, "upload-" + uuid.uuid4().hex, fresh=True)
            self.writers.append(self.part.writer)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.writer is None:
            if len(part.text) + (end - start) > FIELD_BYTES_MAX:
                self.field_too_large = part.name
                return
            part.text += data[start:end]
            return
        part.received += end - start
        if part.received > self.upload_max:
            part.too_large = self.too_large = True
        if part.too_large:
            return  # read and dropped: the chunks already stored go when the request ends
        self.backlog.append((part.writer, data[start:end]))

    def on_part_end(self) -> None:
        self.finished.append((self.part.name, self.part))

    def on_end(self) -> None:
        pass

    # between callbacks, in a worker thread ---------------------------------------------

    def flush(self) -> None:
        """Store what the last ``write`` produced, and finish the parts that ended."""
        for writer, piece in self.backlog:
            writer.write(piece)
        self.backlog.clear()
        for name, part in self.finished:
            if part.writer is None:
                self.fields[name] = part.text.decode(self.charset, errors="replace")
            elif not part.too_large:
                size = part.writer.finish()
                self.files[name] = Upload(
                    part.filename or "upload",
                    part.content_type,
                    self.store,
                    part.writer.id,
                    size,
                )
        self.finished.clear()

    def discard(self) -> None:
        """Remove every chunk written for this request that no handler adopted (once)."""
        if self.discarded:
            return
        self.discarded = True
        for writer in self.writers:
            self.store.discard_chunks(writer.id)

    def pending(self) -> bool:
        """Whether :meth:`flush` has anything to do."""
        return bool(self.backlog or self.finished)


@dataclass(frozen=True)
class Parts:
    """A multipart body read: its text fields, its file parts (in the store), and
    ``discard``, which removes the chunks no handler adopted (off the event loop, once)."""

    fields: dict[str, str]
    files: dict[str, Upload]
    discard: Callable[[], None]


@asynccontextmanager
async def read_multipart(
    chunks: AsyncIterator[bytes], content_type: str, store: Store, upload_max: int
) -> AsyncIterator[Parts]:
    """The text fields and file parts of a multipart body, its files already in the store.

    The file parts' chunks are removed when the block ends unless the handler adopted them
    or :meth:`Parts.discard` already ran.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise invalid(None, "The multipart body has no boundary in its Content-Type.")
    state = _Parse(store, upload_max, charset=_charset(params.get(b"charset")))
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": state.on_part_begin,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
            "on_end": state.on_end,
        },
    )
    try:
        async for piece in chunks:
            parser.write(piece)
            if state.finished or _has_a_chunk(state):
                await anyio.to_thread.run_sync(state.flush)
        parser.finalize()
        if state.pending():  # a small body was flushed with its last piece
            await anyio.to_thread.run_sync(state.flush)
        if state.too_large:
            raise file_too_large()
        if state.field_too_large is not None:
            raise invalid(
                state.field_too_large,
                f"The field '{state.field_too_large}' is over {FIELD_BYTES_MAX} bytes.",
            )
        yield Parts(state.fields, state.files, state.discard)
    finally:
        if not state.discarded and state.writers:
            await anyio.to_thread.run_sync(state.discard)


def _has_a_chunk(state: _Parse) -> bool:
    # store in whole chunks: a thread hop per network read (64 KiB) would cost more than
    # the copy; the backlog never holds much more than one chunk
    return sum(len(piece) for _, piece in state.backlog) >= CHUNK_BYTES


def _charset(value: bytes | None) -> str:
    try:
        return codecs.lookup((value or b"utf-8").decode("latin-1")).name
    except LookupError:
        return "latin-1"
