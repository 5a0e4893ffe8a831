"""Driving the CLI as a user does: in-process (click's runner), as the installed
``assistops`` script, and on a real terminal (a pty) for what only a terminal shows."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from assistops.cli.main import cli

SCRIPT = Path(sys.executable).with_name("assistops")
#: Variables that would change what the CLI prints; unset in every run here.
UNSET = ("NO_COLOR", "FORCE_COLOR", "ASSISTOPS_ENV", "OPENAI_API_KEY", "OPENAI_BASE_URL")


def run(*args: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Result:
    """``assistops ARGS`` in-process, stdout and stderr apart, no terminal anywhere."""
    environ: dict[str, str | None] = dict.fromkeys(UNSET)
    environ.update(env or {})
    return CliRunner().invoke(
        cli,
        [os.fspath(a) for a in args],
        env=environ,
        catch_exceptions=False,
        prog_name="assistops",
    )


def _environ(env: Mapping[str, str] | None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in UNSET}
    out.setdefault("TERM", "xterm-256color")
    out.update(env or {})
    return out


def call(
    *args: str | os.PathLike[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``assistops`` script, output captured (pipes: not a terminal)."""
    return subprocess.run(
        [os.fspath(SCRIPT), *map(os.fspath, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_environ(env),
    )


def on_terminal(
    *args: str,
    cwd: Path,
    answer: tuple[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """The installed script on a real pseudo-terminal (stdin, stdout and stderr), as in a
    person's shell; ``answer`` is (prompt text, what the person types once it shows).
    Returns the exit code and everything the terminal received, escapes included."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [os.fspath(SCRIPT), *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_environ(env),
        close_fds=True,
    )
    os.close(slave)
    received = b""
    typed = False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:  # a guard against a hang, not a measure of speed
                proc.kill()
                raise AssertionError(f"no output for 2 minutes; so far: {received!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
            if answer is not None and not typed and answer[0].encode() in received:
                os.write(master, answer[1].encode())
                typed = True
    finally:
        os.close(master)
    return proc.wait(timeout=120), received.decode("utf-8", "replace")


def new_project(where: Path, *, name: str = "demo") -> Path:
    """A project as ``assistops init`` writes it (one environment, local)."""
    result = run("init", where, "--name", name)
    assert result.exit_code == 0, result.output
    return where


def many_changes_project(root: Path, *, assistants: int, stores: int, files: int) -> Path:
    """A project with ``assistants`` assistants, ``stores`` stores and ``files`` knowledge
    files in each store: from empty, a plan of assistants + stores * (1 + files) creates."""
    (root / "assistants").mkdir(parents=True)
    (root / "knowledge").mkdir()
    (root / "assistops.yaml").write_text(
        "project: big\ndefaults:\n  model: gpt-4o-mini\nenvironments:\n  local:\n"
        "    provider: local\n",
        encoding="utf-8",
    )
    for s in range(stores):
        folder = root / "knowledge" / f"s{s}"
        folder.mkdir()
        (root / "knowledge" / f"s{s}.yaml").write_text(
            f"files:\n  - knowledge/s{s}/*.md\n", encoding="utf-8"
        )
        for f in range(files):
            (folder / f"p{f:04}.md").write_text(f"# Page {s}.{f}\n", encoding="utf-8")
    for a in range(assistants):
        folder = root / "assistants" / f"a{a:03}"
        folder.mkdir()
        (folder / "assistant.yaml").write_text(
            f"instructions: Answer from store s{a % stores}.\n"
            f"tools:\n  - file_search: {{vector_store: s{a % stores}}}\n",
            encoding="utf-8",
        )
    return root
