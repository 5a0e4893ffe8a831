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

from assistops.backend import (
    CodeSandbox,
    SandboxUnavailable,
    UpstreamSettings,
    check_upstream,
    start_server,
)
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


def _upstream(
    base_url: str | None,
    api: str,
    key_env: str | None,
    mapping: tuple[str, ...],
    embedding_model: str | None,
    timeout: float,
    code_interpreter: str,
    skip_check: bool,
) -> tuple[UpstreamSettings | None, list[str]]:
    """The upstream model the options name, checked (and the models it lists)."""
    if base_url is None:
        for name, given in (
            ("--model-key-env", key_env),
            ("--model-map", mapping),
            ("--embedding-model", embedding_model),
            ("--code-interpreter sandbox", code_interpreter == "sandbox"),
        ):
            if given:
                raise AssistopsError(f"{name} needs --model-base-url")
        return None, []
    key = None
    if key_env is not None:
        key = os.environ.get(key_env)
        if not key:
            raise AssistopsError(f"--model-key-env: the environment variable {key_env} is not set")
    models: dict[str, str] = {}
    for item in mapping:
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise AssistopsError(
                f"--model-map {item!r}: write ASSISTANT_MODEL=UPSTREAM_MODEL (or '*=MODEL')"
            )
        models[name.strip()] = target.strip()
    settings = UpstreamSettings(
        base_url=base_url,
        api="responses" if api == "responses" else "chat",
        api_key=key,
        model_map=models,
        embedding_model=embedding_model,
        timeout=timeout,
    )
    listed = [] if skip_check else check_upstream(settings)
    return settings, listed


def _sandbox(code_interpreter: str) -> CodeSandbox | None:
    """The code_interpreter sandbox, proved to isolate on this machine, or a refusal."""
    if code_interpreter != "sandbox":
        return None
    sandbox = CodeSandbox()
    try:
        sandbox.probe()
    except SandboxUnavailable as exc:
        raise AssistopsError(
            f"--code-interpreter sandbox: this machine cannot isolate model-written code "
            f"({exc}), so assistops serve refuses to run it; start without the option (the "
            "model is then not offered code_interpreter) or see docs/serve.md#code_interpreter"
        ) from None
    return sandbox


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


def _runs_line(upstream: UpstreamSettings | None, key_env: str | None, listed: list[str]) -> str:
    """Who answers runs, for the start-up banner (never the key itself)."""
    if upstream is None:
        return "scripted responder (no model; see --model-base-url)"
    api = "Responses API" if upstream.api == "responses" else "Chat Completions"
    key = f", key from ${key_env}" if key_env else ""
    served = f", serving {', '.join(listed[:5])}" if listed else ""
    ranking = (
        f"; file_search ranked by {upstream.embedding_model}" if upstream.embedding_model else ""
    )
    return f"{api} at {upstream.root}{key}{served}{ranking}"


def _code_line(upstream: UpstreamSettings | None, sandbox: CodeSandbox | None) -> str | None:
    """Who runs code_interpreter, for the banner (nothing without a model)."""
    if upstream is None:
        return None
    if sandbox is not None:
        landlock = f", Landlock ABI {sandbox.landlock}" if sandbox.landlock else ""
        return f"sandbox on this machine ({sandbox.limits.describe()}{landlock})"
    if upstream.api == "responses":
        return "the upstream's hosted code interpreter"
    return "not offered (see --code-interpreter)"


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
@click.option(
    "--model-base-url",
    metavar="URL",
    default=None,
    help="Answer runs with the model behind this OpenAI-compatible URL (…/v1) instead of "
    "the scripted responder.",
)
@click.option(
    "--model-api",
    type=click.Choice(["chat", "responses"]),
    default="chat",
    show_default=True,
    help="What the upstream speaks: Chat Completions (vLLM, Ollama, llama.cpp, ...) or "
    "the OpenAI Responses API.",
)
@click.option(
    "--model-key-env",
    metavar="NAME",
    default=None,
    help="Send the upstream the key held in this environment variable.",
)
@click.option(
    "--model-map",
    metavar="NAME=MODEL",
    multiple=True,
    help="Run assistants of model NAME on the upstream's MODEL; '*=MODEL' maps every other "
    "name (repeatable).",
)
@click.option(
    "--embedding-model",
    metavar="MODEL",
    default=None,
    help="Rank file_search results with this model of the upstream's /embeddings "
    "(default: lexical ranking).",
)
@click.option(
    "--model-timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds a model call may stay silent before its run fails.",
)
@click.option(
    "--code-interpreter",
    type=click.Choice(["off", "sandbox"]),
    default="off",
    show_default=True,
    help="sandbox: run the model's code_interpreter code on this machine, isolated (no "
    "network, only the run's files, CPU, memory and time limits; refused with the reason "
    "where this machine cannot isolate it). off: with --model-api responses the upstream's "
    "hosted code interpreter runs it, otherwise it is not offered to the model.",
)
@click.option(
    "--skip-model-check",
    is_flag=True,
    help="Do not check the upstream at start-up (for servers without GET /models).",
)
@global_options
@examples(
    "assistops serve                         # http://127.0.0.1:8765/v1",
    "assistops serve --port 0 --db :memory:  # a free port, nothing kept",
    "ASSISTOPS_KEY=s3cret assistops serve --host 0.0.0.0 --api-key-env ASSISTOPS_KEY",
    "assistops serve --model-base-url http://127.0.0.1:11434/v1 --model-map '*=llama3.2'",
    "assistops serve --model-base-url https://api.openai.com/v1 --model-api responses "
    "--model-key-env OPENAI_API_KEY",
)
def serve(
    host: str,
    port: int,
    db: str | None,
    api_key_env: str | None,
    api_key: str | None,
    model_base_url: str | None,
    model_api: str,
    model_key_env: str | None,
    model_map: tuple[str, ...],
    embedding_model: str | None,
    model_timeout: float,
    code_interpreter: str,
    skip_model_check: bool,
) -> None:
    """Serve the local backend over HTTP until interrupted (Ctrl-C).

    Any Assistants-compatible client can use it: point its base URL at the printed address.
    Runs are answered by the scripted responder, or with --model-base-url by a real model.
    """
    key = _resolve_key(api_key, api_key_env)
    _refuse_open_listen(host, key)
    upstream, listed = _upstream(
        model_base_url,
        model_api,
        model_key_env,
        model_map,
        embedding_model,
        model_timeout,
        code_interpreter,
        skip_model_check,
    )
    sandbox = _sandbox(code_interpreter)
    if db is None:
        path = _project_dir(Path.cwd()) / DEFAULT_DB
        path.parent.mkdir(parents=True, exist_ok=True)
        db = str(path)
    console = make_console()
    try:
        running = start_server(
            db, host=host, port=port, api_key=key, upstream=upstream, code_sandbox=sandbox
        )
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
        console.print(f"  runs:          {_runs_line(upstream, model_key_env, listed)}")
        if (code := _code_line(upstream, sandbox)) is not None:
            console.print(f"  code:          {code}", markup=False)
        if not _loopback(host):
            console.print(f"  note:          {TLS_ADVICE}", markup=False)
        sys.stdout.flush()
        running.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        console.print("stopped")
