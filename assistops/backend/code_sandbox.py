"""code_interpreter executed by ``assistops serve`` itself: isolated Python, probed at start.

``assistops serve --code-interpreter sandbox`` runs the code a model writes for a
``code_interpreter`` tool on the serving machine. :class:`CodeSandbox` is that runner:

* :meth:`CodeSandbox.probe` (at start-up) runs a small program in the sandbox and checks
  that it cannot reach the network nor see ``/etc``, that it can write its scratch folder,
  and that the file it wrote comes back. A step the kernel refuses (no user namespaces, no
  ``pivot_root``, ...) raises :class:`SandboxUnavailable` naming that step, and the server
  refuses to start with it;
* :meth:`CodeSandbox.run` runs one piece of code with the run's files copied into
  ``/mnt/data`` (the folder OpenAI's code interpreter uses) and returns an
  :class:`Execution`: the combined stdout and stderr (capped), how the code ended (exit
  code, or which limit stopped it), and the files it created or changed.

The isolation itself is :mod:`.sandbox_launcher`'s (namespaces, a new root, resource
limits); ``docs/serve.md`` says what it enforces and what it does not. Each call starts a
fresh sandbox with the files it is given: nothing else is kept between calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

SCRATCH = "/mnt/data"
_LOGS_MAX = 64 * 1024  # characters of stdout+stderr handed back (the rest is cut)
_BACKSTOP = 15.0  # seconds past the wall time before the launcher itself is killed


def _launcher() -> ModuleType:
    """The launcher module, imported only by a sandbox: it loads libc through ctypes, which
    every other use of the backend (the embedded ``local`` provider) would pay for."""
    from assistops.backend import sandbox_launcher

    return sandbox_launcher


class SandboxUnavailable(Exception):
    """The isolation cannot be had on this machine; the message says which part and why.

    ``refused_step``: the step of building the sandbox the kernel refused (``None`` when the
    sandbox was built but did not isolate as it must, or did not run at all).
    """

    def __init__(self, message: str, refused_step: str | None = None) -> None:
        super().__init__(message)
        self.refused_step = refused_step


@dataclass(frozen=True)
class SandboxLimits:
    """What one execution may use."""

    cpu_seconds: int = 30
    wall_seconds: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024  # address space (RLIMIT_AS)
    file_bytes: int = 64 * 1024 * 1024  # any one file written
    scratch_bytes: int = 256 * 1024 * 1024  # all of /mnt/data
    processes: int = 64
    max_outputs: int = 20
    max_inodes: int = 10_000  # files and folders in /mnt/data

    def describe(self) -> str:
        """One line for the start-up banner."""
        return (
            f"{self.cpu_seconds} s CPU, {self.wall_seconds:g} s wall, "
            f"{self.memory_bytes // 2**20} MiB memory, {self.scratch_bytes // 2**20} MiB "
            "scratch, no network"
        )


@dataclass(frozen=True)
class OutputFile:
    """A file the code created or changed in the scratch folder."""

    name: str  # relative to /mnt/data
    data: bytes


@dataclass(frozen=True)
class Execution:
    """How one piece of code ran."""

    logs: str
    exit_code: int | None
    stopped_by: str | None  # why a limit ended it ("wall_time", "cpu_time", "memory")
    files: list[OutputFile] = field(default_factory=list)
    skipped: int = 0  # outputs not returned (links, too many)

    @property
    def ok(self) -> bool:
        """The code ran to its end without an error."""
        return self.exit_code == 0 and self.stopped_by is None


@dataclass(frozen=True)
class Runtime:
    """The interpreter the sandbox runs and what of this machine it needs to see."""

    python: str
    binds: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    pythonpath: tuple[str, ...]


def runtime() -> Runtime:
    """This server's own interpreter, its standard library, system libraries, packages.

    Packages installed beside assistops (its environment's site-packages) are importable
    in the sandbox, read-only: install pandas or matplotlib there to offer them.
    """
    # a virtual environment's interpreter is a link to (or a copy of) its base one
    python = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    binds: list[str] = []
    links: list[tuple[str, str]] = []
    base = os.path.realpath(sys.base_prefix)
    if base == "/usr":
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        binds += [python, f"/usr/lib/{version}"]
    else:
        binds.append(base)
    for lib in ("/lib", "/lib64", "/usr/lib", "/usr/lib64"):
        if os.path.islink(lib):
            links.append((lib, os.readlink(lib)))
        elif os.path.isdir(lib) and lib not in binds:
            binds.append(lib)
    paths: list[str] = []
    if os.path.realpath(sys.prefix) != base:  # a virtual environment: its packages too
        for key in ("purelib", "platlib"):
            folder = os.path.realpath(sysconfig.get_paths()[key])
            if os.path.isdir(folder) and folder not in paths:
                paths.append(folder)
    binds += paths
    if not any(python.startswith(b + "/") for b in binds):
        binds.append(python)
    # a folder inside another bound folder is visible through it already
    kept = [p for p in dict.fromkeys(binds) if not any(p.startswith(o + "/") for o in binds)]
    return Runtime(python, tuple(kept), tuple(links), tuple(paths))


class CodeSandbox:
    """Runs Python in isolation (see :mod:`.sandbox_launcher`) within :class:`SandboxLimits`."""

    def __init__(self, limits: SandboxLimits | None = None, max_concurrent: int = 2) -> None:
        self.limits = limits or SandboxLimits()
        self.runtime = runtime()
        self.landlock = _launcher().landlock_abi()  # 0: the namespaces alone
        self.max_concurrent = max_concurrent  # executions at once (run_async); others wait
        self._slots: asyncio.Semaphore | None = None

    def probe(self) -> None:
        """Prove the isolation works here, or raise :class:`SandboxUnavailable` saying why."""
        code = (
            "import os, socket\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=2).close()\n"
            "    print('network: reachable')\n"
            "except OSError:\n"
            "    print('network: unreachable')\n"
            "print('etc: visible' if os.path.exists('/etc') else 'etc: hidden')\n"
            "open('probe.txt', 'w').write(open('in.txt').read() + ' back')\n"
        )
        try:
            result = self.run(code, {"in.txt": b"probe"})
        except SandboxUnavailable:
            raise
        except OSError as exc:
            raise SandboxUnavailable(f"the sandbox could not be started: {exc}") from None
        if "network: unreachable" not in result.logs:
            raise SandboxUnavailable(
                "the probe reached the network from the sandbox (or did not run): "
                + result.logs.strip()[-300:]
            )
        if "etc: hidden" not in result.logs:
            raise SandboxUnavailable("the probe could see /etc: the new root was not entered")
        back = {f.name: f.data for f in result.files}
        if back.get("probe.txt") != b"probe back":
            raise SandboxUnavailable(
                "the probe's output file did not come back from the scratch folder: "
                + result.logs.strip()[-300:]
            )

    def run(self, code: str, files: Mapping[str, bytes]) -> Execution:
        """Run ``code`` with ``files`` (name → bytes) in ``/mnt/data``; blocks until it ends.

        Raises :class:`SandboxUnavailable` when the sandbox itself could not be built.
        """
        work = Path(tempfile.mkdtemp(prefix="assistops-sandbox-"))
        try:
            argv, env = self._prepare(work, code, files)
            with (work / "logs").open("wb") as logs:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=logs,
                    stderr=logs,
                    env=env,
                    start_new_session=True,  # its own process group, killed as one below
                )
                try:
                    process.wait(self.limits.wall_seconds + _BACKSTOP)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            return self._finish(work, process.returncode)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def run_async(self, code: str, files: Mapping[str, bytes]) -> Execution:
        """:meth:`run` for an event loop: at most ``max_concurrent`` at once, and a
        cancelled task (a cancelled run) kills the code at once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        async with self._slots:
            work = Path(tempfile.mkdtemp(prefix="assistops-sandbox-"))
            try:
                argv, env = await asyncio.to_thread(self._prepare, work, code, files)
                with (work / "logs").open("wb") as logs:
                    process = await asyncio.create_subprocess_exec(
                        *argv,
                        stdin=subprocess.DEVNULL,
                        stdout=logs,
                        stderr=logs,
                        env=env,
                        start_new_session=True,
                    )
                    try:
                        await asyncio.wait_for(process.wait(), self.limits.wall_seconds + _BACKSTOP)
                    except (asyncio.CancelledError, TimeoutError):
                        os.killpg(process.pid, signal.SIGKILL)
                        await asyncio.shield(process.wait())
                        raise
                return await asyncio.to_thread(self._finish, work, process.returncode)
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def _prepare(
        self, work: Path, code: str, files: Mapping[str, bytes]
    ) -> tuple[list[str], dict[str, str]]:
        """Write the job (its files, code and limits) under ``work``; the launcher's argv."""
        sandbox_launcher = _launcher()
        for sub in ("root", "inputs", "out"):
            (work / sub).mkdir()
        digests = {}
        for name, data in files.items():
            (work / "inputs" / name).write_bytes(data)
            digests[name] = hashlib.sha256(data).hexdigest()
        limits = self.limits
        job = {
            "root": str(work / "root"),
            "inputs": str(work / "inputs"),
            "outdir": str(work / "out"),
            "input_digests": digests,
            "code": code,
            "python": self.runtime.python,
            "binds": list(self.runtime.binds),
            "links": [list(link) for link in self.runtime.links],
            "pythonpath": list(self.runtime.pythonpath),
            "drop_to": sandbox_launcher.NOBODY if os.geteuid() == 0 else None,
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "wall_seconds": limits.wall_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "scratch_bytes": limits.scratch_bytes,
                "processes": limits.processes,
                "max_outputs": limits.max_outputs,
                "max_inodes": limits.max_inodes,
            },
        }
        (work / "job.json").write_text(json.dumps(job))
        env = {"PATH": "/usr/bin:/bin"}
        if os.environ.get(sandbox_launcher.DENY_ENV):
            env[sandbox_launcher.DENY_ENV] = os.environ[sandbox_launcher.DENY_ENV]
        launcher = str(Path(__file__).with_name("sandbox_launcher.py"))
        return [self.runtime.python, "-I", "-S", launcher, str(work / "job.json")], env

    def _finish(self, work: Path, returncode: int | None) -> Execution:
        """What the launcher reported of the job under ``work``."""
        logs_path = work / "logs"
        report_path = work / "out" / "report.json"
        if not report_path.is_file():
            raise SandboxUnavailable(
                f"the sandbox launcher ended ({returncode}) without a report: "
                + _read_logs(logs_path)[-300:]
            )
        report = json.loads(report_path.read_text())
        if report.get("failed"):
            raise SandboxUnavailable(
                f"the sandbox could not be built: {report['failed']} failed: {report['error']}",
                refused_step=str(report["failed"]),
            )
        text = _read_logs(logs_path)
        stopped = report.get("killed")
        sig = report.get("signal")
        if stopped is None and sig in (signal.SIGXCPU, signal.SIGKILL):
            stopped = "cpu_time"
        if stopped is None and report.get("exit_code") and "MemoryError" in text[-2000:]:
            stopped = "memory"
        outputs = [OutputFile(f["name"], Path(f["path"]).read_bytes()) for f in report["files"]]
        return Execution(
            logs=text + self._note(stopped, sig),
            exit_code=report.get("exit_code"),
            stopped_by=stopped,
            files=outputs,
            skipped=int(report.get("skipped") or 0),
        )

    def _note(self, stopped: str | None, sig: int | None) -> str:
        """The line appended to the logs when a limit (or a signal) ended the code."""
        limits = self.limits
        if stopped == "wall_time":
            why = f"the code ran past the {limits.wall_seconds:g} s wall-time limit"
        elif stopped == "cpu_time":
            why = f"the code used up its {limits.cpu_seconds} s CPU-time limit"
        elif stopped == "memory":
            why = f"the code hit the {limits.memory_bytes // 2**20} MiB memory limit"
        elif sig is not None:
            why = f"signal {signal.Signals(sig).name}"
        else:
            return ""
        return f"\n[assistops sandbox] stopped: {why}\n"


def _read_logs(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read(_LOGS_MAX + 1)
    text = data[:_LOGS_MAX].decode("utf-8", errors="replace")
    if len(data) > _LOGS_MAX:
        text += f"\n[assistops sandbox] output cut at {_LOGS_MAX} bytes\n"
    return text
