"""Run the backend over real HTTP: uvicorn in a daemon thread on a pre-bound socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from assistops.backend.core import Backend
from assistops.backend.routes import create_app

if TYPE_CHECKING:
    from assistops.backend.code_sandbox import CodeSandbox
    from assistops.backend.upstream import UpstreamSettings

#: uvicorn checks ``should_exit`` this often (its own interval): also the date header's clock
_TICK = 0.1


class _Server(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is told to.

    uvicorn notices ``should_exit`` on its next 0.1 s tick, then sleeps 0.1 s more for open
    connections to close: 0.15 s on average added to every command that opens a local
    environment. Here :meth:`wake` ends the wait at once, and with no connection open there is
    nothing to wait for.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        """uvicorn's loop of ticks, each wait cut short by :meth:`wake`."""
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), _TICK)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, without its pause for connections when none is open."""
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()

    def wake(self) -> None:
        """Stop now (from any thread)."""
        self.should_exit = True
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(woken.set)


class RunningBackend:
    """A backend serving on ``base_url`` until :meth:`stop` (or the ``with`` block ends)."""

    def __init__(self, backend: Backend, sock: socket.socket, *, log_level: str = "warning"):
        self.backend = backend
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        config = uvicorn.Config(
            create_app(backend),
            lifespan="off",
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"assistops-backend-{self.port}",
        )
        self._stopped = False

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT`` with no path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What the SDK takes as ``base_url``: ``http://HOST:PORT/v1``."""
        return f"{self.root_url}/v1"

    @property
    def control_url(self) -> str:
        """The control plane: ``http://HOST:PORT/__assistops``."""
        return f"{self.root_url}/__assistops"

    def start(self, timeout: float = 10.0) -> RunningBackend:
        """Start serving and wait until uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.002)
        if not self._server.started:
            self.stop()
            raise RuntimeError("the assistops backend did not start")
        return self

    def serve_forever(self) -> None:
        """Block until the server stops (used by ``assistops serve``)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving, close the socket and the database; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.wake()
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()
        self.backend.close()

    def __enter__(self) -> RunningBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    db: str | Path = ":memory:",
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    upstream: UpstreamSettings | None = None,
    code_sandbox: CodeSandbox | None = None,
    **settings: Any,
) -> RunningBackend:
    """Serve a backend on ``host:port`` (0 = a free port) and return once it is ready.

    ``upstream``: runs are answered by this model (see :mod:`.model_runner`) instead of
    the scripted responder; check it first with :func:`.upstream.check`.
    ``code_sandbox``: that model's code_interpreter calls run in it (probe it first).
    ``settings`` go to :class:`~assistops.backend.core.Backend` (``seed``, ``frozen_at``,
    ``processing``, ``poll_after_ms``).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without it
    # Nagle's algorithm and delayed ACKs add ~40 ms to every response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    try:  # a database that cannot be opened (a newer schema) closes the socket too
        model = None
        if upstream is not None:  # the model runner (httpx, its wire formats) only for serve
            from assistops.backend.model_runner import ModelRunner

            model = ModelRunner(upstream, sandbox=code_sandbox)
        backend = Backend(db, api_key=api_key, model=model, **settings)
    except BaseException:
        sock.close()
        raise
    return RunningBackend(backend, sock).start()
