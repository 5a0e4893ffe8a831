"""What only a terminal shows: colour, and the confirmation prompt (a real pty)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .helpers import call, on_terminal

pytestmark = pytest.mark.slow  # each test starts the installed script

PROMPT = "Only 'yes' will be accepted: "
HIDE_CURSOR = "\x1b[?25l"
ERASE_LINE = "\x1b[2K"


def test_the_prompt_is_not_redrawn_over_what_the_person_types(project: Path) -> None:
    code, screen = on_terminal("apply", cwd=project, answer=(PROMPT, "yes\r"))

    assert code == 0, screen
    before, after = screen.split(PROMPT, 1)
    # no live display runs before or during the prompt: nothing hides the cursor or
    # erases the line the answer is typed on
    assert HIDE_CURSOR not in before and ERASE_LINE not in before
    typed, rest = after.split("\n", 1)
    assert typed.strip() == "yes"  # echoed as typed, intact
    assert "Apply complete: 3 added" in rest


def test_the_plan_at_the_prompt_is_coloured_on_a_terminal(project: Path) -> None:
    code, screen = on_terminal("apply", cwd=project, answer=(PROMPT, "no\r"))

    assert code == 1
    assert "\x1b[32m" in screen.split(PROMPT)[0]  # green '+'
    assert "apply cancelled; nothing was changed" in screen


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--no-color"], {}), ([], {"NO_COLOR": "1"}), ([], {"TERM": "dumb"})],
    ids=["--no-color", "NO_COLOR", "TERM=dumb"],
)
def test_no_colour_at_the_prompt_either(
    project: Path, args: list[str], env: dict[str, str]
) -> None:
    code, screen = on_terminal("apply", *args, cwd=project, answer=(PROMPT, "no\r"), env=env)

    assert code == 1
    assert "Plan: 3 to add" in screen
    assert "\x1b[3" not in screen and "\x1b[1m" not in screen


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--no-color"], {}), ([], {"NO_COLOR": "1"}), ([], {"TERM": "dumb"})],
    ids=["--no-color", "NO_COLOR", "TERM=dumb"],
)
def test_no_colour_in_plan_validate_and_errors(
    project: Path, args: list[str], env: dict[str, str]
) -> None:
    coloured = on_terminal("plan", cwd=project)[1]
    assert "\x1b[" in coloured  # the control: on a terminal, colour
    for command, expected in ((["plan"], 0), (["validate"], 0), (["plan", "-e", "nope"], 1)):
        code, screen = on_terminal(*command, *args, cwd=project, env=env)
        assert code == expected, screen
        assert "\x1b[" not in screen, (command, screen)


def test_a_pipe_gets_no_colour(project: Path) -> None:
    done = call("plan", cwd=project)

    assert done.returncode == 0
    assert "\x1b[" not in done.stdout + done.stderr


def test_serve_on_a_taken_port_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = call("serve", "--port", str(port), "--db", ":memory:", cwd=tmp_path)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "another program listens on port" in done.stderr and "--port 0" in done.stderr


def test_serve_on_an_address_it_cannot_bind_says_so(tmp_path: Path) -> None:
    done = call(
        "serve",
        *("--host", "192.0.2.1", "--port", "0", "--db", ":memory:", "--api-key-env", "SRV_KEY"),
        cwd=tmp_path,
        env={"SRV_KEY": "a-key-for-the-test"},
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "cannot listen on 192.0.2.1:0" in done.stderr
    assert "check --host: it must be an address of this machine" in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "backend.example"])
def test_serve_refuses_a_non_loopback_address_without_a_key_and_says_how(
    tmp_path: Path, host: str
) -> None:
    done = call("serve", "--host", host, "--port", "0", "--db", ":memory:", cwd=tmp_path)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: refusing to listen on {host} without an API key")
    assert "--api-key-env" in done.stderr
    assert "TLS-terminating reverse proxy" in done.stderr  # how to serve beyond this machine
    assert "assistops local backend on" not in done.stdout  # it never listened
