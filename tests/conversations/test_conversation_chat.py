"""``assistops chat`` driven through a pipe (stdin) and through a real terminal (a pty)."""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path

from cli.helpers import SCRIPT, _environ, run
from click.testing import CliRunner

from assistops.backend import start_server
from assistops.backend.conversation import THREAD
from assistops.cli.main import cli


def applied(root: Path) -> None:
    result = run("-C", root, "apply", "-e", "local", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_chat_from_a_pipe_streams_tools_steps_and_a_new_thread(example: Path) -> None:
    applied(example)
    lines = [
        "How many days do I have to return an item?",
        "Please lookup_order A-10001",
        "/steps",
        "/new",
        "Please create_ticket for me",
        '{"ticket": "T-9"}',  # the person answers create_ticket: no handler names it
        "/quit",
    ]

    result = CliRunner().invoke(
        cli, ["-C", str(example), "chat", "-e", "local", "support"], input="\n".join(lines) + "\n"
    )

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[file_search] 1 results: knowledge/handbook/returns.md" in out
    assert "within 30 days of delivery" in out and "[cites knowledge/handbook/returns.md]" in out
    assert '[function] lookup_order({"order_number": "A-00000", "include_items": true})' in out
    assert "(handler support/tests/handlers.py:lookup_order)" in out
    assert "step step_" in out and "tool_calls (completed)" in out
    assert "(a new thread)" in out
    assert '[output] {"ticket": "T-9"} (person)' in out
    assert 'assistant> create_ticket returned: {"ticket": "T-9"}' in out
    assert "\x1b[" not in out  # plain text in a pipe
    # both threads (before and after /new) were deleted when the chat ended
    with start_server(example / ".assistops" / "local.db") as running:
        assert running.backend.store.all(THREAD) == []


def _read_until(master: int, wanted: bytes, seen: bytearray) -> None:
    deadline = time.monotonic() + 60  # a guard against a hang, not a measure of speed
    while wanted not in seen:
        ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"{wanted!r} never came; so far: {bytes(seen)!r}")
        seen += os.read(master, 65536)


def test_chat_on_a_terminal_streams_and_quits_cleanly(example: Path) -> None:
    applied(example)
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [os.fspath(SCRIPT), "-C", os.fspath(example), "chat", "-e", "local", "support"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_environ({}),
        close_fds=True,
    )
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, b"you> ", seen)
        assert b"Chatting with support in local" in seen
        os.write(master, b"Please lookup_order A-10001\n")
        _read_until(master, b"lookup_order returned:", seen)
        _read_until(master, b"you> ", seen)
        os.write(master, b"/steps\n")
        _read_until(master, b"message_creation (completed)", seen)
        os.write(master, b"/quit\n")
        _read_until(master, b"Bye: the threads of this chat were deleted.", seen)
    finally:
        code = proc.wait(timeout=60)
        os.close(master)
    text = bytes(seen).decode("utf-8", "replace")
    assert code == 0
    assert "[function] lookup_order(" in text
    assert "\x1b[1m" in text  # a terminal gets the bold 'assistant>' label
