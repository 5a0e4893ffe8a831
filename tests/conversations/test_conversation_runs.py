"""``assistops test`` driven as a user would, against the local backend's scripted responder
over real HTTP: the example tests, a failure's transcript, handlers, repeats, clean-up."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from cli.helpers import run
from conftest import KEY_ENV
from conv_helpers import only_tests, write_test

from assistops.backend import BackendControl, RunningBackend
from assistops.backend.conversation import THREAD
from assistops.backend.responses import KIND as RESPONSE

ENV = {KEY_ENV: "convtest-key"}


def applied(root: Path, env: str) -> None:
    result = run("-C", root, "apply", "-e", env, "--auto-approve", env=ENV)
    assert result.exit_code == 0, result.output


def test_the_example_tests_pass_on_local(example: Path) -> None:
    applied(example, "local")

    result = run("-C", example, "test", "-e", "local")

    assert result.exit_code == 0, result.output
    for name in (
        "support/returns-policy",
        "support/order-status",
        "triage/classification  3/3",
        "analyst/code-interpreter",
    ):
        assert f"PASS  {name}" in result.stdout
    assert "4 passed" in result.stdout


def test_the_example_tests_pass_on_local_responses(example: Path) -> None:
    applied(example, "local-responses")

    result = run("-C", example, "test", "-e", "local-responses", "--format", "json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["api"] == "responses"
    # the analyst's test leaves local-responses out (no code interpreter there)
    assert sorted(t["id"] for t in report["tests"]) == [
        "support/order-status",
        "support/returns-policy",
        "triage/classification",
    ]
    [returns] = [t for t in report["tests"] if t["id"] == "support/returns-policy"]
    [turn] = returns["attempts"][0]["turns"]
    assert turn["citations"][0]["path"] == "knowledge/handbook/returns.md"


FAILING = """\
functions:
  lookup_order: {output: {status: processing}}
turns:
  - user: Please lookup_order A-10001 and tell me when it ships.
    expect:
      - contains: delivered
      - called: {function: lookup_order, arguments: {order_number: A-10001}}
  - user: What is the refund policy for returns?
    expect:
      - cites: knowledge/handbook/shipping.md
  - user: Hello
    metadata:
      assistops_script: '{"fail": {"code": "server_error", "message": "The model is overloaded."}}'
"""


def test_a_failing_test_prints_the_conversation_and_its_run_steps(
    remote: Path, backend: RunningBackend
) -> None:
    only_tests(remote, {})
    write_test(remote, "support", "fails", FAILING)
    applied(remote, "remote")
    junit = remote / "results.xml"

    result = run("-C", remote, "test", "-e", "remote", "--junit", junit, env=ENV)

    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "FAIL  support/fails" in out
    # turn 1: the function call with the arguments sent and the output the test gave
    assert 'function lookup_order({"order_number": "A-00000", "include_items": true})' in out
    assert '-> {"status": "processing"}  [output]' in out
    assert 'FAIL  contains (line 6): the reply does not contain "delivered"' in out
    assert 'does not have the arguments {"order_number": "A-10001"}' in out
    # turn 2: the search results with the files they came from, and the citation
    assert "file_search: " in out and "knowledge/handbook/returns.md (file-" in out
    assert (
        "does not cite knowledge/handbook/shipping.md; it cites knowledge/handbook/returns.md"
        in out
    )
    # turn 3: the run's last_error
    assert "failed; last_error server_error: The model is overloaded." in out
    assert "message_creation (completed): message msg_" in out
    assert "0 passed, 1 failed" in out
    # JUnit: one failure, with the same transcript
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == "1"
    failure = suites.find("testsuite/testcase/failure")
    assert failure is not None and "last_error server_error" in (failure.text or "")
    # every thread the test made is gone, the failure notwithstanding
    assert backend.backend.store.all(THREAD) == []


HANDLED = """\
functions:
  lookup_order:
    handler: support/tests/recording.py:lookup_order
turns:
  - user: Please lookup_order A-10001
    expect:
      - called: {function: lookup_order, arguments_schema: functions/lookup_order.json}
      - contains: 'carrier DHL for A-00000'
"""

RECORDING = """\
import json
from pathlib import Path


def lookup_order(arguments):
    with Path(__file__).with_name("calls.jsonl").open("a") as log:
        log.write(json.dumps(arguments) + "\\n")
    return "carrier DHL for " + arguments["order_number"]
"""


def test_a_function_round_trip_through_a_python_handler(
    remote: Path, backend: RunningBackend
) -> None:
    only_tests(remote, {})
    write_test(remote, "support", "handled", HANDLED)
    (remote / "support" / "tests" / "recording.py").write_text(RECORDING, encoding="utf-8")
    applied(remote, "remote")

    result = run("-C", remote, "test", "-e", "remote", "--format", "json", env=ENV)

    assert result.exit_code == 0, result.output
    calls = (remote / "support" / "tests" / "calls.jsonl").read_text().splitlines()
    assert [json.loads(c) for c in calls] == [{"order_number": "A-00000", "include_items": True}]
    [test] = json.loads(result.stdout)["tests"]
    [turn] = test["attempts"][0]["turns"]
    [call] = [c for c in turn["tool_calls"] if c["type"] == "function"]
    assert call["answered_by"] == "handler support/tests/recording.py:lookup_order"
    assert call["output"] == "carrier DHL for A-00000"
    assert turn["reply"] == "lookup_order returned: carrier DHL for A-00000"


def repeated(threshold: float) -> str:
    return (
        f"repeat: 3\npass_threshold: {threshold}\n"
        "turns:\n  - user: Is it in stock?\n    expect:\n      - contains: 'yes'\n"
    )


def test_a_repeated_test_passes_when_enough_attempts_do(
    remote: Path, control: BackendControl
) -> None:
    only_tests(remote, {})
    write_test(remote, "triage", "stock", repeated(0.66))
    applied(remote, "remote")
    # the responder answers the attempts' runs in order: two of the three say yes
    control.script({"reply": "yes"}, {"reply": "no"}, {"reply": "yes"})

    result = run("-C", remote, "test", "-e", "remote", "-j", "1", env=ENV)

    assert result.exit_code == 0, result.output
    assert "PASS  triage/stock  2/3" in result.stdout


def test_a_repeated_test_fails_below_its_threshold(remote: Path, control: BackendControl) -> None:
    only_tests(remote, {})
    write_test(remote, "triage", "stock", repeated(1.0))
    applied(remote, "remote")
    control.script({"reply": "yes"}, {"reply": "no"}, {"reply": "yes"})

    result = run("-C", remote, "test", "-e", "remote", "-j", "1", env=ENV)

    assert result.exit_code == 1, result.output
    assert "FAIL  triage/stock  2/3" in result.stdout
    assert "2/3 attempts passed, 3 needed" in result.stdout
    assert "attempt 2 of 3" in result.stdout and "attempt 1 of 3" not in result.stdout


def test_a_test_that_times_out_fails_and_leaves_no_thread(
    remote: Path, backend: RunningBackend
) -> None:
    only_tests(remote, {})
    write_test(
        remote,
        "support",
        "slow",
        "timeout: 0.5\nfunctions:\n  lookup_order: {handler: support/tests/slow.py:lookup_order}\n"
        "turns:\n  - user: Please lookup_order A-10001\n",
    )
    (remote / "support" / "tests" / "slow.py").write_text(
        "import time\n\ndef lookup_order(arguments):\n    time.sleep(2)\n    return 'late'\n",
        encoding="utf-8",
    )
    applied(remote, "remote")

    result = run("-C", remote, "test", "-e", "remote", env=ENV)

    assert result.exit_code == 1
    assert "error: timed out after 0.5s" in result.stdout
    assert backend.backend.store.all(THREAD) == []


def test_responses_are_deleted_after_the_tests(remote: Path, backend: RunningBackend) -> None:
    only_tests(remote, {"support": ["returns-policy", "order-status"]})
    applied(remote, "remote-responses")

    result = run("-C", remote, "test", "-e", "remote-responses", env=ENV)

    assert result.exit_code == 0, result.output
    assert backend.backend.store.all(RESPONSE) == []


def test_the_working_tree_is_tested_on_a_throwaway_backend(example: Path) -> None:
    result = run("-C", example, "test", "-e", "local", "--working-tree")

    assert result.exit_code == 0, result.output
    assert "against the working tree on local (throwaway, in memory)" in result.stdout
    assert not (example / ".assistops" / "local.db").exists()  # the environment was not used


def test_the_working_tree_on_a_server_is_removed_afterwards(
    example: Path, backend: RunningBackend
) -> None:
    result = run(
        "-C",
        example,
        "test",
        "-e",
        "local-responses",
        "--working-tree",
        "--server",
        backend.base_url,
    )

    assert result.exit_code == 0, result.output
    store = backend.backend.store
    assert store.all("assistant") == [] and store.all("vector_store") == []
    assert [f for f in store.all("file") if not f.get("deleted")] == []
