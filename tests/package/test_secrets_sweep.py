"""The API key never leaves the environment variable that holds it (issue 15, part 7).

Every command runs as the installed ``assistops`` script with a recognisable fake key in the
variable the project names (``api_key_env``), against three services: the test backend
(commands succeed), a closed port (every call fails to connect) and a server answering 401
that echoes the key it was sent back in its error message, as some services do. Each run is
made plain and with ``--debug`` (tracebacks). Then everything written is searched: stdout,
stderr, saved plans, JUnit reports, exported and imported projects, the ``.assistops`` folder
and any other file under the test's folder. The key must appear nowhere, not even in part.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from contract.loopback import serve
from engine.engine_helpers import KEY, KEY_ENV, example_project, sdk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assistops.backend import RunningBackend

SCRIPT = Path(sys.executable).with_name("assistops")
# A key not shaped like an OpenAI key (as Azure's and other services' are): only the registry
# of live secrets can hide it, not the "sk-..." pattern. Split like KEY, for secret scanners.
OPAQUE = "".join(("canary", "7f3e9a1c", "5b2d4e6f", "8a0b1c2d"))
WINDOW = 8  # no 8 characters of the secret part in a row may appear anywhere
ENVIRONMENTS = ("test", "closed", "rejected")


def secret_part(key: str) -> str:
    """What a masked echo ("sk-canary-***mnop") leaves out: the key past its prefix."""
    return key.rsplit("-", 1)[1] if key.startswith("sk-") else key.removeprefix("canary")


def fragments(key: str) -> list[str]:
    """The whole key, and every run of WINDOW characters of its secret part."""
    secret = secret_part(key)
    return [key] + [secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)]


def leaks(text: str, key: str = KEY) -> list[str]:
    """The fragments of ``key`` found in ``text``."""
    return [piece for piece in fragments(key) if piece in text]


@dataclass
class Rejecting:
    """A stand-in for a third-party service: 401 to everything, with the key echoed back."""

    url: str = ""
    seen: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def reject(request: Request) -> Response:
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
            self.seen.append(sent)
            return JSONResponse(
                {
                    "error": {
                        "message": f"Incorrect API key provided: {sent}. You can find your "
                        "API key at https://platform.example/account/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
                status_code=401,
                headers={"x-echo": sent},
            )

        methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
        return Starlette(routes=[Route("/{path:path}", reject, methods=methods)])


@pytest.fixture
def rejecting() -> Iterator[Rejecting]:
    server = Rejecting()
    with serve(server.app()) as root:
        server.url = f"{root}/v1"
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


VARIABLES = (
    "    variables:\n"
    "      support_email: support@sweep.example\n"
    "      escalation: Escalate in the sweep queue.\n"
)


@pytest.fixture
def sweep_project(tmp_path: Path, backend: RunningBackend, rejecting: Rejecting) -> Path:
    """The example project with 'test' and 'guarded' on the backend, 'closed' on a closed
    port and 'rejected' on the 401 server, all reading the key from KEY_ENV; a git
    repository with one commit, as promote wants."""
    root = example_project(tmp_path, backend)
    with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
        for name, url in (
            ("closed", f"http://127.0.0.1:{closed_port()}/v1"),
            ("rejected", rejecting.url),
        ):
            handle.write(
                f"\n  {name}:\n    provider: openai\n    base_url: {url}\n"
                f"    api_key_env: {KEY_ENV}\n{VARIABLES}"
            )
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    git["GIT_COMMITTER_EMAIL"] = "t@t"
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sweep"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **git})
    return root


@dataclass
class Sweep:
    """Runs of the installed script, every output kept for the search."""

    root: Path
    out: Path
    key: str = KEY
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def run(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [os.fspath(SCRIPT), *args, "-C", os.fspath(self.root)]
        if debug:
            argv.append("--debug")
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "AZURE"))}
        environ[KEY_ENV] = self.key
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=300, check=False, env=environ
        )
        label = " ".join(args) + (" --debug" if debug else "")
        self.outputs.append((f"{label} (exit {done.returncode})", done.stdout + done.stderr))
        return done

    def output_of(self, command: str) -> str:
        """What the runs starting with ``command`` printed (a failure's message shows it)."""
        return "\n".join(
            f"$ {label}\n{text}" for label, text in self.outputs if label.startswith(command)
        )

    def everything(self) -> Iterator[tuple[str, str]]:
        """Every output, then every file written under the test's folder."""
        yield from self.outputs
        for path in sorted(self.out.parent.rglob("*")):
            if path.is_file() and ".git" not in path.relative_to(self.out.parent).parts[:2]:
                yield os.fspath(path), path.read_bytes().decode("utf-8", "replace")


def commands(env: str, url: str, out: Path) -> list[list[str]]:
    """Every command, in the order a user would run them, for environment ``env``."""
    other = "guarded" if env == "test" else "test"
    return [
        ["render", "-e", env],
        ["render", "-e", env, "--format", "responses"],
        ["plan", "-e", env],
        ["plan", "-e", env, "--format", "json"],
        ["plan", "-e", env, "--out", os.fspath(out / f"{env}.plan")],
        ["apply", "-e", env, "--auto-approve"],
        ["status", "-e", env],
        ["test", "-e", env, "--junit", os.fspath(out / f"{env}-junit.xml")],
        ["export", os.fspath(out / f"{env}-export"), "-e", env],
        [
            "export",
            os.fspath(out / f"{env}-account"),
            "--account",
            "--name",
            "swept",
            "--base-url",
            url,
            "--api-key-env",
            KEY_ENV,
        ],
        ["promote", "--from", env, "--to", other, "--auto-approve"],
        ["destroy", "-e", env, "--auto-approve"],
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("debug", "key"), [(False, KEY), (True, OPAQUE)], ids=["plain-sk-key", "debug-opaque-key"]
)
def test_no_command_writes_the_key_anywhere(
    sweep_project: Path,
    tmp_path: Path,
    backend: RunningBackend,
    rejecting: Rejecting,
    debug: bool,
    key: str,
) -> None:
    out = tmp_path / "written"
    out.mkdir()
    urls = {
        "test": backend.base_url,
        "closed": f"http://127.0.0.1:{closed_port()}/v1",
        "rejected": rejecting.url,
    }
    sweep = Sweep(sweep_project, out, key)
    exits: dict[str, dict[str, int]] = {}
    assert sweep.run("validate", debug=debug).returncode == 0
    for env in ENVIRONMENTS:
        exits[env] = {}
        for args in commands(env, urls[env], out):
            done = sweep.run(*args, debug=debug)
            exits[env][" ".join(args[:2])] = done.returncode
        plan_file = out / f"{env}.plan"
        if plan_file.exists():
            exits[env]["show"] = sweep.run("show", os.fspath(plan_file), debug=debug).returncode
        # import reads an object assistops does not manage: one made outside it, on the backend
        with sdk(backend) as client:
            made = client.beta.assistants.create(model="gpt-4o-mini", name="outside")
        target = made.id if env == "test" else "asst_doesnotexist"
        exits[env]["import"] = sweep.run(
            "import", target, "-e", env, "--name", f"imported-{env}", debug=debug
        ).returncode

    # the sweep proves something only if the commands ran: they worked on the backend,
    # failed elsewhere, and the 401 server really was sent the key (and echoed it)
    ok = exits["test"]
    for name in ("render -e", "plan -e", "apply -e", "status -e", "test -e", "promote --from"):
        assert ok[name] == 0, sweep.output_of(name)
    assert ok["export " + os.fspath(out / "test-export")] == 0, sweep.outputs
    assert ok["destroy -e"] == ok["show"] == ok["import"] == 0, sweep.outputs
    for env in ("closed", "rejected"):
        for name in ("plan -e", "apply -e", "status -e", "destroy -e", "import"):
            assert exits[env][name] == 1, (env, name, exits[env])
    # every environment at once, after each was tried: one row each, two of them failing
    assert sweep.run("status", "--all-envs", "--format", "json", debug=debug).returncode == 0
    assert key in rejecting.seen
    assert (sweep_project / ".assistops").is_dir()
    assert any((out / "test-export").rglob("*.yaml"))

    found = [(where, leaks(text, key)) for where, text in sweep.everything()]
    found = [(where, pieces) for where, pieces in found if pieces]
    assert not found, f"the key was written: {found}"
    assert len(sweep.outputs) == 2 + 3 * 13 + 1  # validate, 13 commands x 3 services, show


def test_the_search_finds_the_key_when_it_is_written(tmp_path: Path) -> None:
    # the search itself must not be blind: a masked echo, a whole key, a key in a file
    secret = secret_part(KEY)
    masked = f"{KEY[:10]}***{secret[-4:]}"
    assert leaks(masked) == []
    assert leaks(f"error: {KEY}") and leaks(f"Bearer ...{secret[3:14]}...")
    assert leaks(f"x-api-key: {OPAQUE[4:20]}", OPAQUE) and not leaks("canary", OPAQUE)
    out = tmp_path / "written"
    (out / ".assistops").mkdir(parents=True)
    (out / ".assistops" / "state.json").write_text(json.dumps({"k": KEY}))
    sweep = Sweep(tmp_path, out)
    assert [where for where, text in sweep.everything() if leaks(text)] == [
        os.fspath(out / ".assistops" / "state.json")
    ]


@pytest.mark.slow
def test_serve_writes_the_key_it_requires_nowhere(
    tmp_path: Path, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'assistops serve --api-key-env' with the key in its variable (--debug on), used by
    # apply, status and destroy with the right key and by a plan with a wrong one; then its
    # output (the server's log), its database and every file the clients wrote are searched
    root = example_project(tmp_path, backend)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "AZURE"))}
    environ[KEY_ENV] = OPAQUE
    db = tmp_path / "served" / "serve.db"
    db.parent.mkdir()
    argv = [os.fspath(SCRIPT), "serve", "--port", "0", "--db", os.fspath(db)]
    proc = subprocess.Popen(
        [*argv, "--api-key-env", KEY_ENV, "--debug"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("assistops local backend on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        with (root / "assistops.yaml").open("a", encoding="utf-8") as handle:
            handle.write(
                f"\n  served:\n    provider: openai\n    base_url: {url}\n"
                f"    api_key_env: {KEY_ENV}\n{VARIABLES}"
                f"\n  wrong-key:\n    provider: openai\n    base_url: {url}\n"
                f"    api_key_env: SWEEP_WRONG_KEY\n{VARIABLES}"
            )
        sweep = Sweep(root, tmp_path / "written", OPAQUE)
        sweep.out.mkdir()
        for args in (
            ["apply", "-e", "served", "--auto-approve"],
            ["status", "-e", "served"],
            ["destroy", "-e", "served", "--auto-approve"],
        ):
            assert sweep.run(*args, debug=True).returncode == 0, sweep.outputs[-1]
        monkeypatch.setenv("SWEEP_WRONG_KEY", "-".join(("sk", "wrong", "0000000000000000")))
        refused = sweep.run("plan", "-e", "wrong-key", debug=True)
        assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        log = proc.communicate(timeout=15)
    sweep.outputs.append(("assistops serve's output", "".join(log)))
    assert db.stat().st_size > 0
    found = [(where, leaks(text, OPAQUE)) for where, text in sweep.everything()]
    found = [(where, pieces) for where, pieces in found if pieces]
    assert not found, f"the key was written: {found}"
