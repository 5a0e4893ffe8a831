"""Bad input is refused before any API call, with file, line and field; what cannot run is
said plainly; an interrupted run leaves no thread behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from cli.helpers import SCRIPT, _environ, run
from conftest import KEY_ENV
from conv_helpers import only_tests, write_test

from assistops.backend import BackendControl, RunningBackend
from assistops.backend.conversation import THREAD

ENV = {KEY_ENV: "convtest-key"}


def test_a_malformed_test_file_is_refused_before_any_api_call(
    remote: Path, control: BackendControl
) -> None:
    write_test(
        remote,
        "support",
        "broken",
        "turns:\n  - user: Hi\n    expect:\n      - contians: hello\n",
    )
    write_test(
        remote, "triage", "regex", "turns:\n  - user: Hi\n    expect:\n      - matches: '(['\n"
    )
    control.clear_requests()

    result = run("-C", remote, "test", "-e", "remote", "--format", "json", env=ENV)

    assert result.exit_code == 1
    assert "support/tests/broken.yaml:4: turns[0].expect[0].contians: unknown key" in result.stderr
    assert "did you mean 'contains'?" in result.stderr
    assert "triage/tests/regex.yaml:4: turns[0].expect[0].matches: not a valid regular" in (
        result.stderr
    )
    assert '"code": "config"' in result.stdout
    assert control.requests()["total"] == 0


def test_a_test_naming_what_the_assistant_lacks_is_refused(remote: Path) -> None:
    write_test(
        remote,
        "support",
        "typo",
        "turns:\n  - user: Hi\n    expect:\n      - called: lookup_ordr\n"
        "      - cites: knowledge/handbook/return.md\n",
    )

    result = run("-C", remote, "test", "-e", "local")

    assert result.exit_code == 1
    assert (
        "support/tests/typo.yaml:4: turns[0].expect[0].called: assistant 'support' has no "
        "function 'lookup_ordr' in environment 'local'" in result.stderr
    )
    assert "did you mean 'lookup_order'?" in result.stderr
    assert "did you mean 'knowledge/handbook/returns.md'?" in result.stderr


def test_validate_checks_the_test_files_too(example: Path) -> None:
    write_test(example, "triage", "bad", "repeat: 0\nturns: []\n")

    result = run("-C", example, "validate")

    assert result.exit_code == 1
    assert "triage/tests/bad.yaml:1: repeat" in result.stderr
    assert "triage/tests/bad.yaml:2: turns" in result.stderr


def test_an_agents_environment_is_refused_plainly(example: Path) -> None:
    result = run("-C", example, "test", "-e", "local-agents")

    assert result.exit_code == 1
    assert "deploys OpenAI agents" in result.stderr
    assert "--working-tree" in result.stderr


def test_tests_of_an_assistant_not_deployed_say_how_to_deploy(remote: Path) -> None:
    result = run("-C", remote, "test", "-e", "remote", "support", env=ENV)

    assert result.exit_code == 1
    assert "assistant 'support' is not deployed in environment 'remote'" in result.stderr
    assert "assistops apply -e remote" in result.stderr


def test_an_unknown_test_name_lists_the_tests(example: Path) -> None:
    result = run("-C", example, "test", "-e", "local", "support/return-policy")

    assert result.exit_code == 1
    assert "did you mean 'support/returns-policy'?" in result.stderr


BLOCKING = """\
import time
from pathlib import Path


def lookup_order(arguments):
    Path(__file__).with_name("started").write_text("yes")
    time.sleep(120)
    return "never"
"""


def test_an_interrupted_run_deletes_its_threads(remote: Path, backend: RunningBackend) -> None:
    only_tests(remote, {"support": ["returns-policy"]})
    write_test(
        remote,
        "support",
        "blocked",
        "functions:\n  lookup_order: {handler: support/tests/blocking.py:lookup_order}\n"
        "turns:\n  - user: Please lookup_order A-10001\n",
    )
    (remote / "support" / "tests" / "blocking.py").write_text(BLOCKING, encoding="utf-8")
    assert run("-C", remote, "apply", "-e", "remote", "--auto-approve", env=ENV).exit_code == 0
    started = remote / "support" / "tests" / "started"

    proc = subprocess.Popen(
        [os.fspath(SCRIPT), "-C", os.fspath(remote), "test", "-e", "remote", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environ(ENV),
    )
    deadline = time.monotonic() + 60  # a guard against a hang, not a measure of speed
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), proc.communicate(timeout=60)
    # the blocked test's thread exists, waiting for the function's output
    assert backend.backend.store.all(THREAD) != []
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 1, (out, err)
    assert "interrupted: the conversations the tests had started were deleted" in err
    assert backend.backend.store.all(THREAD) == []
