"""code_interpreter with a model (issue 13, part 5): run by the server in its sandbox, or
by the Responses API's hosted tool.

The sandbox tests run real code in the real sandbox on this machine; each boundary (the
network, files outside the scratch folder, CPU, memory, wall time) is proved by code that
tries to cross it, and the server answers the next run afterwards.
"""

from __future__ import annotations

import base64
import platform
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from contract.validator import ContractRecorder

from assistops.backend import (
    CodeSandbox,
    RunningBackend,
    SandboxLimits,
    SandboxUnavailable,
    start_server,
)
from assistops.backend.run_recorder import partial_code

from .conftest import make_client, sandbox_refused, settings_for
from .scripted_upstream import ScriptedUpstream, Turn

# CPU well below the wall time, so a loaded machine still meets the CPU limit first
LIMITS = SandboxLimits(cpu_seconds=3, wall_seconds=30, memory_bytes=256 * 2**20)
SALES = b"region,amount\nnorth,17\nsouth,25\n"
TOTAL = "import csv\nrows = list(csv.DictReader(open('/mnt/data/sales.csv')))\n" + (
    "print('total', sum(int(r['amount']) for r in rows))\n"
)


MEMORY = "hit the 256 MiB memory limit"


def _png() -> bytes:
    """A 1x1 PNG (what plotting code would save), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG_CODE = (
    "import base64\n"
    f"open('chart.png', 'wb').write(base64.b64decode({base64.b64encode(_png()).decode()!r}))\n"
    "open('report.csv', 'w').write('region,total\\nall,42\\n')\n"
    "print('saved')\n"
)


@pytest.fixture(scope="module")
def _sandboxed(_upstream_server: ScriptedUpstream) -> Iterator[RunningBackend]:
    if (refused := sandbox_refused()) is not None:
        pytest.skip(f"this machine's kernel refuses the sandbox: {refused}")
    sandbox = CodeSandbox(LIMITS)
    sandbox.probe()  # the isolation must hold on this machine: a failure here fails the tests
    with start_server(
        ":memory:", upstream=settings_for(_upstream_server, "chat"), code_sandbox=sandbox
    ) as running:
        yield running


@pytest.fixture(scope="module")
def _short_wall(
    _sandboxed: RunningBackend, _upstream_server: ScriptedUpstream
) -> Iterator[RunningBackend]:
    limits = SandboxLimits(cpu_seconds=60, wall_seconds=2)
    settings = settings_for(_upstream_server, "chat")
    with start_server(upstream=settings, code_sandbox=CodeSandbox(limits)) as running:
        yield running


@pytest.fixture
def coder(_sandboxed: RunningBackend, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    """The SDK against a backend that runs code_interpreter in its sandbox (every exchange
    checked against the protocol's description)."""
    recorder = ContractRecorder()
    with make_client(_sandboxed, recorder=recorder) as sdk:
        yield sdk
    recorder.assert_clean()


def _code_assistant(sdk: openai.OpenAI, *file_ids: str) -> Any:
    return sdk.beta.assistants.create(
        model="tiny-chat",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": list(file_ids)}},
    )


def _run_code(sdk: openai.OpenAI, upstream: ScriptedUpstream, code: str) -> tuple[Any, Any]:
    """A run whose model runs ``code`` once, then answers; (run, the code call)."""
    upstream.script(Turn(calls=[("code_interpreter", {"code": code})]), Turn(text=["done"]))
    assistant = _code_assistant(sdk)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "run it"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    [call] = steps.data[0].step_details.tool_calls  # type: ignore[union-attr]
    return run, call


def _logs(call: Any) -> str:
    return "".join(o.logs for o in call.code_interpreter.outputs if o.type == "logs")


def test_code_reads_the_runs_csv_and_its_logs_stream_back(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    sales = coder.files.create(file=("sales.csv", SALES, "text/csv"), purpose="assistants")
    notes = coder.files.create(file=("notes.txt", b"north is new"), purpose="assistants")
    assistant = _code_assistant(coder, sales.id)
    code = TOTAL + "print(open('/mnt/data/notes.txt').read())\n"
    upstream.script(
        Turn(calls=[("code_interpreter", {"code": code})]), Turn(text=["The total is 42."])
    )
    thread = coder.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Total the sales.",
                "attachments": [{"file_id": notes.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )
    inputs: list[str] = []
    outputs: list[Any] = []
    order: list[str] = []
    with coder.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "code_interpreter"}
    ) as stream:
        for event in stream:
            order.append(event.event)
            if event.event == "thread.run.step.delta":
                details = event.data.delta.step_details
                for call in details.tool_calls or []:  # type: ignore[union-attr]
                    assert call.type == "code_interpreter"
                    if call.code_interpreter.input:  # type: ignore[union-attr]
                        inputs.append(call.code_interpreter.input)  # type: ignore[union-attr]
                    outputs += call.code_interpreter.outputs or []  # type: ignore[union-attr]
        run = stream.get_final_run()
    assert run.status == "completed", run.last_error
    assert len(inputs) >= 2 and "".join(inputs) == code  # streamed as the model wrote it
    assert [o.type for o in outputs] == ["logs"]
    assert outputs[0].logs == "total 42\nnorth is new\n"
    step_events = [e for e in order if e.startswith("thread.run.step.") and "delta" not in e]
    assert step_events[:3] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.completed",
    ]
    steps = coder.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    assert steps.data[0].status == "completed"
    [call] = steps.data[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.code_interpreter.input == code
    assert _logs(call) == "total 42\nnorth is new\n"
    first, second = upstream.requests
    [tool] = first["tools"]
    assert tool["function"]["name"] == "code_interpreter"
    assert "/mnt/data: sales.csv, notes.txt" in tool["function"]["description"]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "code_interpreter"}}
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call.id,
        "content": "total 42\nnorth is new\n",
    }


def test_an_image_is_an_image_output_and_other_files_are_linked(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(
        Turn(calls=[("code_interpreter", {"code": PNG_CODE})]),
        Turn(text=["Here is the chart; [the table](sandbox:/mnt/data/report.csv)."]),
    )
    assistant = _code_assistant(coder)
    thread = coder.beta.threads.create(messages=[{"role": "user", "content": "chart it"}])
    run = coder.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    steps = coder.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    [call] = steps.data[0].step_details.tool_calls  # type: ignore[union-attr]
    logs, image = call.code_interpreter.outputs
    assert logs.logs == "saved\n"  # type: ignore[union-attr]
    assert image.type == "image"
    chart = coder.files.retrieve(image.image.file_id)  # type: ignore[union-attr]
    assert (chart.filename, chart.purpose) == ("chart.png", "assistants_output")
    assert coder.files.content(chart.id).read() == _png()
    told = upstream.requests[1]["messages"][-1]["content"]
    assert "sandbox:/mnt/data/chart.png (an image, shown to the user)" in told
    reply = coder.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    text = reply.content[0].text  # type: ignore[union-attr]
    [link] = text.annotations
    assert link.type == "file_path" and link.text == "sandbox:/mnt/data/report.csv"
    assert text.value[link.start_index : link.end_index] == link.text
    table = link.file_path.file_id  # type: ignore[union-attr]
    assert coder.files.content(table).read() == b"region,total\nall,42\n"
    assert [a.file_id for a in reply.attachments or []] == [table]


def test_a_runs_later_calls_see_the_files_its_earlier_ones_wrote(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    sales = coder.files.create(file=("sales.csv", SALES), purpose="assistants")
    upstream.script(
        Turn(calls=[("code_interpreter", {"code": "open('sales.csv', 'a').write('east,8\\n')"})]),
        Turn(calls=[("code_interpreter", {"code": TOTAL + "x = 1"})]),
        Turn(calls=[("code_interpreter", {"code": "print(x)"})]),
        Turn(text=["50"]),
    )
    thread = coder.beta.threads.create(messages=[{"role": "user", "content": "add east"}])
    run = coder.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_code_assistant(coder, sales.id).id
    )
    assert run.status == "completed", run.last_error
    steps = coder.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    calls = [s.step_details.tool_calls[0] for s in steps.data if s.type == "tool_calls"]  # type: ignore[union-attr]
    assert _logs(calls[1]) == "total 50\n"  # the changed CSV, not the assistant's
    assert "NameError: name 'x' is not defined" in _logs(calls[2])  # a fresh interpreter
    # the changed CSV is a file of its own; the assistant's is untouched
    assert coder.files.retrieve(sales.id).bytes == len(SALES)
    told = upstream.requests[1]["messages"][-1]["content"]
    assert "Files written: sandbox:/mnt/data/sales.csv" in told


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on this machine's loopback that accepts connections (from outside)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_the_network_is_unreachable(
    coder: openai.OpenAI, upstream: ScriptedUpstream, listener: int
) -> None:
    socket.create_connection(("127.0.0.1", listener), timeout=2).close()  # it listens
    # TCP meets Landlock first where the kernel has it (EACCES), else the empty network
    # namespace (ENETUNREACH); UDP, which Landlock does not filter, meets the namespace
    code = (
        "import socket\n"
        "print(socket.if_nameindex())\n"
        f"for host in ('127.0.0.1', '1.1.1.1'):\n"
        "    try:\n"
        f"        socket.create_connection((host, {listener}), timeout=2)\n"
        "        print(host, 'reached')\n"
        "    except OSError as exc:\n"
        "        print(host, 'refused:', exc.strerror)\n"
        "    try:\n"
        "        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"        udp.sendto(b'x', (host, {listener}))\n"
        "        print(host, 'sent')\n"
        "    except OSError as exc:\n"
        "        print(host, 'not sent:', exc.strerror)\n"
    )
    run, call = _run_code(coder, upstream, code)
    assert run.status == "completed"
    lines = _logs(call).splitlines()
    assert lines[0] == "[(1, 'lo')]"  # no interface but loopback, and that one down
    tcp = lines[1::2]
    assert all(
        line.split(" refused: ")[1] in ("Permission denied", "Network is unreachable")
        for line in tcp
    ), tcp
    assert lines[2::2] == [
        "127.0.0.1 not sent: Network is unreachable",
        "1.1.1.1 not sent: Network is unreachable",
    ]


def test_nothing_outside_the_scratch_folder_is_readable_or_writable(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    here = Path(__file__).resolve()
    code = (
        "import os\n"
        f"for path in ('/etc/hostname', '/etc/passwd', {str(here)!r}, '/proc/self/environ'):\n"
        "    try:\n"
        "        open(path).read()\n"
        "        print(path, 'read')\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)\n"
        "for path in ('/usr/lib/written', '/written'):\n"
        "    try:\n"
        "        open(path, 'w')\n"
        "        print(path, 'written')\n"
        "    except OSError as exc:\n"
        "        print(path, exc.strerror)\n"
        "print(sorted(os.listdir('/')), os.getcwd())\n"
    )
    run, call = _run_code(coder, upstream, code)
    assert run.status == "completed"
    lines = _logs(call).splitlines()
    assert lines[:4] == [
        "/etc/hostname FileNotFoundError",
        "/etc/passwd FileNotFoundError",
        f"{here} FileNotFoundError",
        "/proc/self/environ FileNotFoundError",
    ]
    assert lines[4:6] == [
        "/usr/lib/written Read-only file system",
        "/written Read-only file system",
    ]
    assert "'etc'" not in lines[6] and "'proc'" not in lines[6] and "'home'" not in lines[6]
    assert lines[6].endswith(" /mnt/data")


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("while True:\n    pass\n", "used up its 3 s CPU-time limit"),
        ("hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))\n", MEMORY),
        ("import time\ntime.sleep(600)\n", "ran past the 2 s wall-time limit"),
    ],
    ids=["runaway-loop", "memory-bomb", "sleeper"],
)
def test_a_limit_stops_the_code_and_the_server_answers_afterwards(
    coder: openai.OpenAI,
    upstream: ScriptedUpstream,
    code: str,
    said: str,
    _short_wall: RunningBackend,
) -> None:
    if "wall-time" in said:  # a server of its own: a 2 s wall is too short for the others
        with make_client(_short_wall) as short:
            run, call = _run_code(short, upstream, code)
    else:
        run, call = _run_code(coder, upstream, code)
    assert run.status == "completed"  # the code failed, not the run: the model is told
    assert f"[assistops sandbox] stopped: the code {said}" in _logs(call)
    told = upstream.requests[1]["messages"][-1]["content"]
    assert said in told
    upstream.script(Turn(text=["still here"]))
    thread = coder.beta.threads.create(messages=[{"role": "user", "content": "hello?"}])
    after = coder.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=_code_assistant(coder).id
    )
    assert after.status == "completed"


def test_a_fork_bomb_meets_the_process_limit(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    code = (
        "import os, time\n"
        "made = 0\n"
        "try:\n"
        "    while made < 500:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        made += 1\n"
        "except OSError as exc:\n"
        "    print('stopped after', made, exc.strerror)\n"
    )
    run, call = _run_code(coder, upstream, code)
    assert run.status == "completed"
    words = _logs(call).split()
    assert words[:2] == ["stopped", "after"] and int(words[2]) < LIMITS.processes
    assert " ".join(words[3:]) == "Resource temporarily unavailable"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the seccomp table is x86_64's")
def test_the_code_cannot_build_walls_of_its_own_yet_threads_and_processes_work(
    coder: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    code = (
        "import ctypes, os, subprocess, sys, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "calls = {\n"
        "    'unshare(CLONE_NEWUSER)': lambda: libc.unshare(0x10000000),\n"
        "    'mount': lambda: libc.mount(b'none', b'/mnt/data', b'tmpfs', 0, None),\n"
        "    'ptrace': lambda: libc.ptrace(16, 1, 0, 0),\n"
        "    'clone(CLONE_NEWNET)': lambda: libc.syscall(56, 0x40000000 | 17, 0, 0, 0, 0),\n"
        "}\n"
        "for name, call in calls.items():\n"
        "    print(name, call(), os.strerror(ctypes.get_errno()))\n"
        "box = []\n"
        "worker = threading.Thread(target=lambda: box.append('thread'))\n"
        "worker.start()\n"
        "worker.join()\n"
        "child = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True)\n"
        "print(box[0], child.stdout.decode().strip())\n"
    )
    run, call = _run_code(coder, upstream, code)
    assert run.status == "completed"
    assert _logs(call).splitlines() == [
        "unshare(CLONE_NEWUSER) -1 Operation not permitted",
        "mount -1 Operation not permitted",
        "ptrace -1 Operation not permitted",
        "clone(CLONE_NEWNET) -1 Operation not permitted",
        "thread 42",
    ]


def test_a_sandbox_the_kernel_refuses_is_refused_with_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSISTOPS_SANDBOX_DENY", "CLONE_NEWNET")
    with pytest.raises(SandboxUnavailable) as caught:
        CodeSandbox(LIMITS).probe()
    assert str(caught.value) == (
        "the sandbox could not be built: "
        "unshare(CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS) failed: "
        "refused (ASSISTOPS_SANDBOX_DENY is set)"
    )


def test_the_responses_api_runs_code_in_its_hosted_interpreter_with_the_files(
    upstream: ScriptedUpstream,
) -> None:
    url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    outputs = [{"type": "logs", "logs": "total 42\n"}, {"type": "image", "url": url}]
    settings = settings_for(upstream, "responses")
    recorder = ContractRecorder()
    with (
        start_server(":memory:", upstream=settings) as running,
        make_client(running, recorder=recorder) as sdk,
    ):
        sales = sdk.files.create(file=("sales.csv", SALES, "text/csv"), purpose="assistants")
        assistant = _code_assistant(sdk, sales.id)
        for _ in range(2):
            upstream.script(Turn(hosted_code=[(TOTAL, outputs)], text=["The total is 42."]))
            thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "total?"}])
            run = sdk.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert run.status == "completed", run.last_error
        steps = sdk.beta.threads.runs.steps.list(
            thread_id=thread.id, run_id=run.id, order="asc"
        ).data
        assert [s.type for s in steps] == ["tool_calls", "message_creation"]
        [call] = steps[0].step_details.tool_calls  # type: ignore[union-attr]
        assert call.type == "code_interpreter"
        assert call.code_interpreter.input == TOTAL
        logs, picture = call.code_interpreter.outputs
        assert logs.logs == "total 42\n"  # type: ignore[union-attr]
        png = sdk.files.content(picture.image.file_id).read()  # type: ignore[union-attr]
        assert png == _png()
        reply = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
        assert reply.content[0].text.value == "The total is 42."  # type: ignore[union-attr]
    recorder.assert_clean()
    # the file went to the upstream once, and its container got it both times
    [uploaded] = upstream.uploads
    assert (uploaded["filename"], uploaded["data"]) == ("sales.csv", SALES)
    for request in upstream.requests:
        container = {"type": "auto", "file_ids": [uploaded["id"]]}
        assert request["tools"] == [{"type": "code_interpreter", "container": container}]
        assert request["include"] == ["code_interpreter_call.outputs"]


def test_without_a_sandbox_chat_models_are_not_offered_code(
    sdk: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = _code_assistant(sdk)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert "tools" not in upstream.requests[0]
    forced = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "code_interpreter"}
    )
    assert forced.status == "failed" and forced.last_error is not None
    assert "start it with --code-interpreter sandbox" in forced.last_error.message


def test_partial_code_decodes_the_arguments_as_they_arrive() -> None:
    whole = '{"code": "print(\\"a\\\\nb\\")\\n\\u00e9"}'
    seen = [partial_code(whole[:i]) for i in range(len(whole) + 1)]
    assert seen[-1] == 'print("a\\nb")\né'
    # every prefix decodes to a prefix of the code: nothing streamed is taken back
    assert all(seen[-1].startswith(s) for s in seen)


MARKER = "cancel-me-1234"  # the process name the cancelled code gives itself


def _sandboxed_code_running() -> list[int]:
    """Processes of this machine named :data:`MARKER` (other tests' code is not)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name == MARKER:
            found.append(int(entry.name))
    return found


def _wait_for(condition: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_cancelling_a_run_kills_its_code(upstream: ScriptedUpstream) -> None:
    if (refused := sandbox_refused()) is not None:
        pytest.skip(f"this machine's kernel refuses the sandbox: {refused}")
    sandbox = CodeSandbox(SandboxLimits(cpu_seconds=5, wall_seconds=300))
    settings = settings_for(upstream, "chat")
    with (
        start_server(upstream=settings, code_sandbox=sandbox) as running,
        make_client(running) as sdk,
    ):
        sleeper = {
            "code": "import ctypes, time\n"
            f"ctypes.CDLL(None).prctl(15, b{MARKER!r}, 0, 0, 0)\n"  # PR_SET_NAME
            "time.sleep(600)\n"
        }
        upstream.script(Turn(calls=[("code_interpreter", sleeper)]))
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "wait"}])
        run = sdk.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=_code_assistant(sdk).id
        )
        assert _wait_for(_sandboxed_code_running), "the code never started"
        sdk.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
        assert _wait_for(lambda: not _sandboxed_code_running()), "the code outlived its run"
        assert _wait_for(
            lambda: (
                sdk.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id).status
                == "cancelled"
            )
        )


def test_the_sandbox_serves_a_responses_upstream_too(upstream: ScriptedUpstream) -> None:
    if (refused := sandbox_refused()) is not None:
        pytest.skip(f"this machine's kernel refuses the sandbox: {refused}")
    settings = settings_for(upstream, "responses")
    with (
        start_server(upstream=settings, code_sandbox=CodeSandbox(LIMITS)) as running,
        make_client(running) as sdk,
    ):
        run, call = _run_code(sdk, upstream, "print(6 * 7)")
    assert run.status == "completed"
    assert _logs(call) == "42\n"
    first, second = upstream.requests
    # the server's sandbox, offered as a function: no hosted tool, no upload
    assert [t["type"] for t in first["tools"]] == ["function"]
    assert first["tools"][0]["name"] == "code_interpreter"
    assert second["input"][-1] == {
        "type": "function_call_output",
        "call_id": call.id,
        "output": "42\n",
    }
    assert upstream.uploads == []
