"""Indexing failures, slow indexing, a killed apply, and the confirmation prompt on a terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import KEY, KEY_ENV, all_assistants, run, sdk

from assistops import api
from assistops.backend import BackendControl, RunningBackend
from assistops.engine.options import ApplyOptions, Event
from assistops.errors import ApplyError


def test_a_file_that_fails_to_index_is_reported_with_its_error(
    project: Path, control: BackendControl
) -> None:
    control.set_processing("immediate", fail_pattern="*warranty.md")
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 1
    assert "knowledge/handbook/warranty.md" in result.output
    assert "failed to index" in result.output
    control.set_processing("immediate")
    again = run(project, "apply", "-e", "test", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def test_an_index_failure_message_says_each_file_once_with_the_service_code_and_what_to_do(
    project: Path, control: BackendControl
) -> None:
    control.set_processing("immediate", fail_pattern="*.md")
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 1
    error = result.output[result.output.index("Error:") :]
    assert error.count("vector_store.handbook") == 1, error
    assert ".." not in error and ".;" not in error, error
    lines = error.splitlines()
    assert lines[0] == (
        "Error: vector_store.handbook: attach files failed: 4 of 4 files failed to index:"
    )
    for name in ("accounts", "returns", "shipping", "warranty"):
        line = f"  knowledge/handbook/{name}.md: The file could not be parsed (invalid_file)"
        assert line in lines, error
    # running again does not fix a file the service cannot parse: say so
    assert "fix or remove them" in lines[-1] and "picks up where" not in error


def test_apply_waits_until_files_are_indexed_before_assistants_use_them(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    control.set_processing("reads", reads=3)
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "4/4 files indexed" in result.output
    client = sdk(backend)
    [store] = client.vector_stores.list().data
    assert store.file_counts.completed == 4 and store.file_counts.in_progress == 0
    assert (
        control.requests()["GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"] >= 1
    )


def _cli(root: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("assistops")
    return [str(script), *args, "-C", str(root)]


def _stopped_midway(
    project: Path,
    control: BackendControl,
    concurrency: int,
    uploads: int,
    sig: int,
    *,
    again_after: float | None = None,
    latency_ms: int = 150,
) -> tuple[int, str]:
    """``assistops apply`` in a child, every request slowed down, sent ``sig`` once
    ``uploads`` uploads have arrived (and again ``again_after`` seconds later); its exit code
    and output."""
    control.add_fault("latency", "*", times=None, latency_ms=latency_ms)
    child = subprocess.Popen(
        _cli(project, "apply", "-e", "test", "--auto-approve", "--concurrency", str(concurrency)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, KEY_ENV: KEY},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and control.requests().get("POST /v1/files", 0) < uploads:
        time.sleep(0.02)
    child.send_signal(sig)
    if again_after is not None:
        time.sleep(again_after)
        child.send_signal(sig)
    output, _ = child.communicate(timeout=30)
    control.clear_faults()
    return child.returncode, output.decode()


def test_an_apply_killed_midway_converges_on_the_next_run(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    _stopped_midway(project, control, concurrency=1, uploads=3, sig=signal.SIGKILL)
    client = sdk(backend)
    assert 0 < len(list(client.files.list(purpose="assistants"))) < 6  # really interrupted
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert len(all_assistants(client)) == 3
    assert len(client.vector_stores.list().data) == 1
    assert len(list(client.files.list(purpose="assistants"))) == 6  # no duplicate upload
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def test_ctrl_c_lets_the_calls_in_flight_finish_says_so_and_the_next_run_converges(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    code, text = _stopped_midway(project, control, concurrency=2, uploads=2, sig=signal.SIGINT)
    assert code == 1, text
    assert "interrupted: the calls in flight finished and nothing new was started" in text
    assert "Traceback" not in text
    client = sdk(backend)
    uploaded = len(list(client.files.list(purpose="assistants")))
    assert 0 < uploaded < 6  # stopped early, and what was in flight was kept
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert len(list(client.files.list(purpose="assistants"))) == 6  # no duplicate upload
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def test_a_second_ctrl_c_cancels_the_calls_in_flight_says_so_and_the_next_run_converges(
    project: Path, backend: RunningBackend, control: BackendControl
) -> None:
    # every call takes 2 s, so the second Ctrl-C lands while the first waits for them
    code, text = _stopped_midway(
        project, control, 2, 2, signal.SIGINT, again_after=0.5, latency_ms=2000
    )
    assert code == 1, text
    assert "interrupted: the calls in flight were cancelled" in text, text
    assert "finished" not in text and "Traceback" not in text, text
    result = run(project, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output
    client = sdk(backend)
    assert len(all_assistants(client)) == 3
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def _apply_on_a_terminal(project: Path, answer: bytes) -> tuple[int, bytes]:
    primary, secondary = pty.openpty()
    env = {**os.environ, KEY_ENV: KEY, "NO_COLOR": "1", "COLUMNS": "120"}
    child = subprocess.Popen(
        _cli(project, "apply", "-e", "test"),
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    shown = _read_until(primary, b"Only 'yes' will be accepted", 60)
    os.write(primary, answer + b"\n")
    shown += _read_until(primary, b"\x00", 60)  # read to the end
    code = child.wait(timeout=60)
    os.close(primary)
    return code, shown


def test_on_a_terminal_apply_shows_the_plan_and_asks(
    project: Path, backend: RunningBackend
) -> None:
    code, shown = _apply_on_a_terminal(project, b"no")
    assert b"Plan: 10 to add" in shown
    assert code == 1 and b"cancelled" in shown
    assert all_assistants(sdk(backend)) == []
    code, shown = _apply_on_a_terminal(project, b"yes")
    assert code == 0, shown.decode(errors="replace")
    assert len(all_assistants(sdk(backend))) == 3


def test_a_progress_display_that_fails_stops_apply_with_its_error_not_a_hang(
    project: Path,
) -> None:
    # on_event is public (ApplyOptions); the CLI's is the terminal reporter, which can fail
    # (a closed pipe). A failure while a phase is announced must end the run like a step's.
    seen: list[str] = []

    def display(event: Event) -> None:
        seen.append(event.kind)
        if event.kind == "phase" and seen.count("phase") == 2:
            raise BrokenPipeError("display gone")

    outcome: list[BaseException] = []

    def apply() -> None:
        try:
            api.apply(
                project,
                "test",
                confirm=lambda plan: True,
                options=ApplyOptions(on_event=display, concurrency=4),
            )
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=apply, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "apply hung after its display failed"
    assert len(outcome) == 1 and isinstance(outcome[0], ApplyError), outcome
    assert "display gone" in str(outcome[0])
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0


def test_a_display_that_fails_after_a_step_says_so_and_counts_the_step_as_done(
    project: Path,
) -> None:
    # the step's call succeeded: the error must not say that step failed
    def display(event: Event) -> None:
        if event.kind == "step":
            raise BrokenPipeError("display gone")

    with pytest.raises(ApplyError) as stopped:
        options = ApplyOptions(on_event=display, concurrency=1)
        api.apply(project, "test", confirm=lambda plan: True, options=options)
    [done] = stopped.value.result.done
    message = str(stopped.value)
    assert message.startswith(f"{done.address}: showing the progress failed: display gone")
    assert "1 step was done" in message
    assert f"{done.op.replace('_', ' ')} failed" not in message
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0


def test_a_display_that_fails_while_a_store_indexes_is_not_the_steps_failure(
    project: Path, control: BackendControl
) -> None:
    control.set_processing("reads", reads=3)  # the batch is polled: progress is shown

    def display(event: Event) -> None:
        if event.kind == "index":
            raise BrokenPipeError("display gone")

    with pytest.raises(ApplyError) as stopped:
        options = ApplyOptions(on_event=display)
        api.apply(project, "test", confirm=lambda plan: True, options=options)
    message = str(stopped.value)
    assert message.startswith("vector_store.handbook: showing the progress failed: display gone")
    assert "attach files failed" not in message
    control.set_processing("immediate")
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0


def test_ctrl_c_before_the_run_reaches_the_loop_says_nothing_was_started(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistops.providers.event_loop import CallLoop

    hand_over = CallLoop._hand_over

    def interrupted(self: CallLoop, start: Any) -> None:
        if start.__name__ == "start":  # the run itself, not its wind-down or cancel
            raise KeyboardInterrupt
        hand_over(self, start)

    monkeypatch.setattr(CallLoop, "_hand_over", interrupted)
    with pytest.raises(ApplyError) as stopped:
        api.apply(project, "test", confirm=lambda plan: True)
    message = str(stopped.value)
    assert message.startswith("interrupted: nothing was started;"), message
    monkeypatch.setattr(CallLoop, "_hand_over", hand_over)
    again = run(project, "apply", "-e", "test", "--auto-approve")
    assert again.exit_code == 0, again.output


def test_apply_runs_its_steps_on_the_providers_loop_not_a_thread_each(project: Path) -> None:
    # a step is a coroutine: sixteen in flight cost no sixteen threads (client CPU, issue 14)
    before = {t.ident for t in threading.enumerate()}
    emitters: set[str] = set()
    started: set[str] = set()

    def display(event: Event) -> None:
        if event.kind == "step":
            emitters.add(threading.current_thread().name)
            started.update(t.name for t in threading.enumerate() if t.ident not in before)

    outcome = api.apply(
        project,
        "test",
        confirm=lambda plan: True,
        options=ApplyOptions(on_event=display, concurrency=16),
    )
    assert outcome.result is not None and len(outcome.result.done) > 6
    [name] = emitters
    assert name.startswith("assistops-calls")
    # besides the loop: the in-process backend's workers and the loop's resolver (aiohttp)
    others = {n for n in started if not n.startswith(("AnyIO worker", "asyncio_"))}
    assert others == {name}
    assert run(project, "plan", "-e", "test", "--detailed-exitcode").exit_code == 0
