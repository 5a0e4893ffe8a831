"""``assistops serve`` choosing its model at start-up (issue 13, part 1).

A wrong URL, key or model name is one line and exit code 1 before the server listens;
the right ones serve runs the model answers, as a subprocess an SDK client talks to.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from cli.helpers import run

from .conftest import sandbox_refused
from .scripted_upstream import ScriptedUpstream

SECRET = "sk-upstream-secret-123"


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = run("serve", "--port", "0", "--db", ":memory:", *args, env=env)
    return result.exit_code, result.stdout + result.stderr


def test_an_unreachable_model_url_is_one_line() -> None:
    code, said = _serve("--model-base-url", "http://127.0.0.1:9/v1")
    assert code == 1
    assert "--model-base-url http://127.0.0.1:9/v1 cannot be reached" in said
    assert "Traceback" not in said and len(said.strip().splitlines()) == 1


def test_a_wrong_key_is_one_line_without_the_key(upstream: ScriptedUpstream) -> None:
    upstream.key = "sk-the-right-one"
    code, said = _serve(
        "--model-base-url",
        upstream.url,
        "--model-key-env",
        "UPSTREAM_KEY",
        env={"UPSTREAM_KEY": SECRET},
    )
    assert code == 1
    assert f"--model-base-url {upstream.url} refused the key (401: Incorrect API key" in said
    assert SECRET not in said


def test_a_missing_key_variable_is_named() -> None:
    code, said = _serve(
        "--model-base-url", "http://127.0.0.1:9/v1", "--model-key-env", "NOT_SET_ANYWHERE"
    )
    assert code == 1
    assert "the environment variable NOT_SET_ANYWHERE is not set" in said


def test_a_mapped_model_the_upstream_does_not_serve_is_refused(upstream: ScriptedUpstream) -> None:
    code, said = _serve("--model-base-url", upstream.url, "--model-map", "gpt-4o=llama-99b")
    assert code == 1
    assert "does not serve llama-99b (it serves: tiny-chat, tiny-embed)" in said


def test_a_url_that_is_not_an_openai_api_is_refused(upstream: ScriptedUpstream) -> None:
    root = upstream.url.removesuffix("/v1")
    code, said = _serve("--model-base-url", root)
    assert code == 1
    assert "is not an OpenAI-compatible API: GET /models answered 404" in said
    assert "usually ends in /v1" in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model-map", "a=b"), "--model-map needs --model-base-url"),
        (("--code-interpreter", "sandbox"), "--code-interpreter sandbox needs --model-base-url"),
    ],
)
def test_options_that_cannot_work_are_refused(args: tuple[str, ...], message: str) -> None:
    code, said = _serve(*args)
    assert code == 1 and message in said


def test_a_sandbox_this_machine_cannot_build_is_refused_with_the_reason(
    upstream: ScriptedUpstream,
) -> None:
    # the probe really runs; the variable makes the launcher's user-namespace step fail as
    # a kernel without unprivileged user namespaces (or a seccomp'd container) would
    code, said = _serve(
        "--model-base-url",
        upstream.url,
        "--code-interpreter",
        "sandbox",
        env={"ASSISTOPS_SANDBOX_DENY": "CLONE_NEWPID"},
    )
    assert code == 1
    assert said.strip().startswith(
        "Error: --code-interpreter sandbox: this machine cannot isolate model-written code "
        "(the sandbox could not be built: unshare(CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|"
        "CLONE_NEWIPC|CLONE_NEWUTS) failed: refused (ASSISTOPS_SANDBOX_DENY is set)), so "
        "assistops serve refuses to run it"
    )
    assert len(said.strip().splitlines()) == 1


def test_serve_with_a_model_answers_runs_over_http(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    upstream.key = SECRET
    env = {**os.environ, "UPSTREAM_KEY": SECRET, "PYTHONWARNINGS": "error"}
    # with the sandbox where this machine can isolate code (a kernel that refuses it is
    # refused at start-up, shown by the test above)
    sandboxed = sandbox_refused() is None
    code_args = ["--code-interpreter", "sandbox"] if sandboxed else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistops",
            "serve",
            "--port",
            "0",
            "--db",
            ":memory:",
            "--model-base-url",
            upstream.url,
            "--model-key-env",
            "UPSTREAM_KEY",
            "--model-map",
            "gpt-4o=tiny-chat",
            *code_args,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base_url = first.rsplit(" ", 1)[1].strip()
        with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0) as sdk:
            assistant = sdk.beta.assistants.create(model="gpt-4o")
            run_ = sdk.beta.threads.create_and_run_poll(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": "served for real"}]},
            )
            assert run_.status == "completed"
            reply = sdk.beta.threads.messages.list(thread_id=run_.thread_id).data[0]
            assert reply.content[0].text.value == "Echo: served for real"  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        out = proc.stdout.read() if proc.stdout else ""
        err = proc.stderr.read() if proc.stderr else ""
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0, err
    printed = first + out + err
    assert (
        f"Chat Completions at {upstream.url}, key from $UPSTREAM_KEY, serving tiny-chat" in printed
    )
    assert SECRET not in printed
    if sandboxed:
        assert "code:          sandbox on this machine (30 s CPU, 60 s wall, 1024 MiB" in printed
    else:
        assert "code:          not offered (see --code-interpreter)" in printed
    assert upstream.requests[-1]["model"] == "tiny-chat"  # mapped from gpt-4o
