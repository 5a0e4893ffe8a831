"""``assistops serve``: the local Assistants-compatible backend as a standalone HTTP server."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from assistops.backend import start_server
from assistops.cli.console import make_console
from assistops.cli.options import examples, global_options
from assistops.config.project import PROJECT_FILE
from assistops.errors import AssistopsError

DEFAULT_DB = Path(".assistops") / "local.db"


def _project_dir(start: Path) -> Path:
    """The nearest folder holding assistops.yaml, else ``start`` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return start


def _resolve_key(api_key: str | None, api_key_env: str | None) -> str | None:
    if api_key_env is None:
        return api_key
    value = os.environ.get(api_key_env)
    if not value:
        raise AssistopsError(f"--api-key-env: the environment variable {api_key_env} is not set")
    return value


def _loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (a name other than localhost is
    not trusted to be: it may resolve anywhere)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: How to serve beyond this machine: the backend speaks plain HTTP.
TLS_ADVICE = (
    "serve speaks plain HTTP: to reach it from other machines, keep it on 127.0.0.1 and put a "
    "TLS-terminating reverse proxy in front (Caddy, nginx or a cloud load balancer forwarding "
    "https to http://127.0.0.1:<port>), or an SSH tunnel (ssh -L 8765:127.0.0.1:8765 host)"
)


def _refuse_open_listen(host: str, key: str | None) -> None:
    """A backend on a non-loopback address without a key would let anyone on the network read
    and change every object it holds: refuse, and say how to do it safely."""
    if key is None and not _loopback(host):
        raise AssistopsError(
            f"refusing to listen on {host} without an API key: anyone who can reach this "
            "machine could read and change everything it holds. Require a key with "
            "--api-key-env NAME (e.g. ASSISTOPS_KEY=<secret> assistops serve --host "
            f"{host} --api-key-env ASSISTOPS_KEY). Also: {TLS_ADVICE}"
        )


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--db",
    default=None,
    help=f"SQLite file, or ':memory:'. Default: {DEFAULT_DB} in the project folder.",
)
@click.option(
    "--api-key-env",
    metavar="NAME",
    default=None,
    help="Require 'Authorization: Bearer <key>' with the key read from this variable.",
)
@click.option(
    "--api-key",
    default=None,
    help="Require this bearer key (prefer --api-key-env: arguments show in process lists).",
)
@global_options
@examples(
    "assistops serve                         # http://127.0.0.1:8765/v1",
    "assistops serve --port 0 --db :memory:  # a free port, nothing kept",
    "ASSISTOPS_KEY=s3cret assistops serve --host 0.0.0.0 --api-key-env ASSISTOPS_KEY",
)
def serve(
    host: str, port: int, db: str | None, api_key_env: str | None, api_key: str | None
) -> None:
    """Serve the local backend over HTTP until interrupted (Ctrl-C).

    Any Assistants-compatible client can use it: point its base URL at the printed address.
    """
    key = _resolve_key(api_key, api_key_env)
    _refuse_open_listen(host, key)
    if db is None:
        path = _project_dir(Path.cwd()) / DEFAULT_DB
        path.parent.mkdir(parents=True, exist_ok=True)
        db = str(path)
    console = make_console()
    try:
        running = start_server(db, host=host, port=port, api_key=key)
    except OSError as exc:
        # a taken port or an address this machine does not have: say which, and what to do
        why = exc.strerror or str(exc)
        taken = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        advice = (
            f"another program listens on port {port}; stop it or pick another with --port "
            "(--port 0 picks a free one)"
            if exc.errno == errno.EADDRINUSE
            else "use a port above 1023 or run with the needed rights"
            if taken
            else "check --host: it must be an address of this machine (127.0.0.1, 0.0.0.0, ::1)"
        )
        raise AssistopsError(f"cannot listen on {host}:{port}: {why}; {advice}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        console.print(f"assistops local backend on {running.base_url}")
        console.print(f"  database:      {db}")
        console.print(f"  control plane: {running.control_url}")
        source = f"${api_key_env}" if api_key_env else "--api-key"
        console.print(f"  API key:       {'required (' + source + ')' if key else 'not required'}")
        if not _loopback(host):
            console.print(f"  note:          {TLS_ADVICE}", markup=False)
        sys.stdout.flush()
        running.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        console.print("stopped")
