"""The process that runs model-written Python in isolation (started by :mod:`.code_sandbox`).

It is run as a script by a fresh interpreter (``python -I -S sandbox_launcher.py JOB``), so
it imports the standard library only and is single-threaded when it forks. ``JOB`` is a
JSON file :mod:`.code_sandbox` wrote; the launcher:

1. leaves the server's namespaces: ``unshare`` of mount, network, PID, IPC and UTS
   namespaces (plus a user namespace when it is not root, mapping only its own uid);
2. builds a new root on a small tmpfs: read-only bind mounts of the Python runtime (and
   the system libraries it loads), ``/dev/null``, ``/dev/zero``, ``/dev/urandom``, and a
   size-limited tmpfs at ``/mnt/data`` holding copies of the run's files;
3. forks the child, which becomes PID 1 of the new PID namespace, enters a mount
   namespace of its own, ``pivot_root``\\ s into the new root and detaches the old one, sets
   ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE``, ``RLIMIT_NPROC`` and ``RLIMIT_CORE``,
   drops to ``nobody`` (when root), sets ``no_new_privs``, restricts itself with Landlock
   (where the kernel has it) and a seccomp filter (x86_64), and forks again: the grandchild
   executes the interpreter on the code with a clean environment, PID 1 reaps and reports
   how it ended (when PID 1 exits, every process left in the namespace is killed);
4. waits at most the wall time (then kills it: the PID namespace dies with its PID 1),
   copies the regular files the code created or changed in ``/mnt/data`` out (never
   following a link), and writes ``report.json``.

A step the kernel refuses ends the launcher with ``report.json`` naming it
(``{"failed": "unshare(CLONE_NEWNET)", "error": "..."}``): :mod:`.code_sandbox` turns that
into the reason ``--code-interpreter sandbox`` is refused.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import signal
import stat
import sys
import time
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
NOBODY = 65534
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
_FS_READ = 1 | 4 | 8  # EXECUTE, READ_FILE, READ_DIR
_FS_ALL_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FS_MAKE_DEVICES = (1 << 6) | (1 << 11)  # MAKE_CHAR, MAKE_BLOCK
_NET_TCP = 1 | 2  # BIND_TCP, CONNECT_TCP (ABI 4)
_SCOPES = 1 | 2  # abstract unix sockets, signals outside the domain (ABI 6)
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
AUDIT_ARCH_X86_64 = 0xC000003E
#: x86_64 system calls the code never needs and a kernel exploit often does: namespaces and
#: mounts (the sandbox's own walls), tracing, BPF, keyrings, io_uring, modules, kexec, ...
_DENIED_X86_64 = {
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
    "chroot": 161, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248, "request_key": 249,
    "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "acct": 163, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "quotactl": 179, "lookup_dcookie": 212, "vhangup": 153,
}  # fmt: skip
_X86_64_CLONE, _X86_64_CLONE3 = 56, 435
_NEW_NAMESPACES = (
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
) | 0x02000000  # CLONE_NEWCGROUP
#: a step named here fails as if the kernel refused it (how tests show the refusal)
DENY_ENV = "ASSISTOPS_SANDBOX_DENY"

_libc = ctypes.CDLL(None, use_errno=True)


class StepFailed(Exception):
    """A step of building the sandbox that the kernel refused."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


def _check(step: str, result: int) -> None:
    if os.environ.get(DENY_ENV) and os.environ[DENY_ENV] in step:
        raise StepFailed(step, f"refused ({DENY_ENV} is set)")
    if result != 0:
        err = ctypes.get_errno()
        raise StepFailed(step, f"{os.strerror(err)} (errno {err})")


def _unshare(flags: int, step: str) -> None:
    _check(step, _libc.unshare(flags))


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
    def b(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    result = _libc.mount(b(src), b(dst), b(fstype), ctypes.c_ulong(flags), b(data))
    what = f"mount {fstype or 'bind'} {src or ''} on {dst}".replace("  ", " ")
    _check(what, result)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _bind_readonly(src: str, dst: str) -> None:
    """``src`` visible at ``dst``, read-only (keeping the flags the kernel locks)."""
    _mount(src, dst, None, MS_BIND | MS_REC, None)
    locked = 0
    flags = os.statvfs(src).f_flag
    for st_flag, ms_flag in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV)):
        if flags & st_flag:
            locked |= ms_flag
    if flags & os.ST_NOEXEC:
        locked |= MS_NOEXEC
    _mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | locked, None)


def _build_root(job: dict[str, Any]) -> None:
    root = job["root"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    for link, target in job["links"]:
        os.makedirs(os.path.dirname(root + link), exist_ok=True)
        os.symlink(target, root + link)
    for path in job["binds"]:
        inside = root + path
        if os.path.isdir(path):
            os.makedirs(inside, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(inside), exist_ok=True)
            open(inside, "w").close()
        _bind_readonly(path, inside)
    os.makedirs(root + "/dev", exist_ok=True)
    for device in ("null", "zero", "urandom"):
        open(f"{root}/dev/{device}", "w").close()
        _mount(f"/dev/{device}", f"{root}/dev/{device}", None, MS_BIND, None)
    data = root + "/mnt/data"
    os.makedirs(data)
    limit = int(job["limits"]["scratch_bytes"])
    options = f"size={limit},nr_inodes={int(job['limits']['max_inodes'])},mode=0777"
    _mount("tmpfs", data, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for name in sorted(os.listdir(job["inputs"])):
        src = os.path.join(job["inputs"], name)
        with open(src, "rb") as f_in, open(os.path.join(data, name), "wb") as f_out:
            f_out.write(f_in.read())
        if job["drop_to"] is not None:
            os.chown(os.path.join(data, name), NOBODY, NOBODY)
        os.chmod(os.path.join(data, name), 0o666)
    os.makedirs(root + "/sandbox")
    _write(root + "/sandbox/main.py", job["code"])
    os.makedirs(root + "/.old")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none, or disabled)."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, int(version))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock() -> None:
    """A second wall inside the new root: read-only everywhere but ``/mnt/data``, no TCP,
    no abstract unix sockets or signals outside (as far as the kernel's ABI has them)."""
    abi = landlock_abi()
    if abi == 0:
        return  # the namespaces are the isolation; Landlock only adds to them
    fs = _FS_ALL_BY_ABI[max(k for k in _FS_ALL_BY_ABI if k <= abi)]
    attr = (ctypes.c_uint64 * 3)(fs, _NET_TCP if abi >= 4 else 0, _SCOPES if abi >= 6 else 0)
    size = 8 * (3 if abi >= 6 else 2 if abi >= 4 else 1)
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    _check("landlock_create_ruleset", 0 if ruleset >= 0 else -1)
    try:
        for path, allowed in (("/", _FS_READ), ("/mnt/data", fs & ~_FS_MAKE_DEVICES)):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(allowed & fs, fd)
                result = _libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0)
                _check(f"landlock_add_rule {path}", result)
            finally:
                os.close(fd)
        fd = os.open("/dev/null", os.O_PATH | os.O_CLOEXEC)
        try:
            rule = _PathBeneath(2 | 4, fd)  # WRITE_FILE, READ_FILE
            _check(
                "landlock_add_rule /dev/null",
                _libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0),
            )
        finally:
            os.close(fd)
        _check("landlock_restrict_self", _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0))
    finally:
        os.close(ruleset)


class _Filter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def seccomp_program() -> list[tuple[int, int, int, int]] | None:
    """The seccomp filter (classic BPF) of the sandbox, ``None`` on an architecture it
    has no table for. Denied calls fail with ``EPERM``; ``clone3`` with ``ENOSYS``, so the
    C library falls back to ``clone``, whose namespace flags are checked."""
    if platform.machine() != "x86_64":
        return None
    ld_abs, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    kill = 0x80000000  # SECCOMP_RET_KILL_PROCESS
    prog: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq, 1, 0, AUDIT_ARCH_X86_64),
        (ret, 0, 0, kill),
        (ld_abs, 0, 0, 0),  # seccomp_data.nr
        (0x35, 0, 1, 0x40000000),  # JGE: the x32 ABI, never needed
        (ret, 0, 0, eperm),
    ]
    for number in sorted(_DENIED_X86_64.values()):
        prog += [(jeq, 0, 1, number), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, _X86_64_CLONE3), (ret, 0, 0, enosys)]
    prog += [
        (jeq, 0, 3, _X86_64_CLONE),
        (ld_abs, 0, 0, 16),  # the low half of args[0]: clone's flags
        (jset, 0, 1, _NEW_NAMESPACES),
        (ret, 0, 0, eperm),
        (ret, 0, 0, allow),
    ]
    return prog


def _seccomp() -> None:
    program = seccomp_program()
    if program is None:
        return
    filters = (_Filter * len(program))(*(_Filter(*op) for op in program))
    fprog = _Program(len(program), filters)
    _check(
        "prctl(PR_SET_SECCOMP)",
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
    )


def _enter(job: dict[str, Any], report_fd: int) -> None:
    """In the child: the new root, the limits, no privileges; then run the code and write
    how it ended to ``report_fd`` (never returns)."""
    import resource

    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    root = job["root"]
    _unshare(CLONE_NEWNS, "unshare(CLONE_NEWNS) for the child")
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise StepFailed("pivot_root", f"no syscall number known for {platform.machine()}")
    _check("pivot_root", _libc.syscall(number, root.encode(), (root + "/.old").encode()))
    os.chdir("/")
    _check("umount the old root", _libc.umount2(b"/.old", MNT_DETACH))
    os.rmdir("/.old")
    # the root itself read-only: /mnt/data is the one writable place
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    limits = job["limits"]
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = int(limits["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    procs = int(limits["processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))
    if job["drop_to"] is not None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _check("prctl(PR_SET_NO_NEW_PRIVS)", _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    os.makedirs("/mnt/data/.tmp", exist_ok=True)
    _landlock()
    os.chdir("/mnt/data")
    _seccomp()  # last: what came before needed mount, unshare and the like
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/mnt/data",
        "LANG": "C.UTF-8",
        "TMPDIR": "/mnt/data/.tmp",
        "MPLCONFIGDIR": "/mnt/data/.config/matplotlib",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if job["pythonpath"]:
        env["PYTHONPATH"] = os.pathsep.join(job["pythonpath"])
    python = job["python"]
    # this process stays PID 1 of the namespace, only reaping: the kernel ignores signals
    # PID 1 has no handler for (SIGXCPU at the soft CPU limit), so the code must not be it
    code_pid = os.fork()
    if code_pid == 0:
        os.execve(python, [python, "/sandbox/main.py"], env)
    while True:
        done, status = os.waitpid(-1, 0)
        if done == code_pid:
            os.write(report_fd, json.dumps({"status": status}).encode())
            os._exit(0)  # every other process of the namespace dies with PID 1


def _collect(job: dict[str, Any], report: dict[str, Any]) -> None:
    """Copy the files the code made or changed out of ``/mnt/data`` (regular files only)."""
    data = job["root"] + "/mnt/data"
    before = job["input_digests"]
    out = job["outdir"]
    files: list[dict[str, Any]] = []
    skipped = 0
    for folder, dirs, names in os.walk(data, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, data)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                skipped += 1  # a link, a fifo, a socket: not an output
                continue
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    skipped += 1
                    continue
                content = f.read(int(job["limits"]["file_bytes"]) + 1)
            if before.get(rel) == hashlib.sha256(content).hexdigest():
                continue  # an input the code left as it was
            if len(files) >= int(job["limits"]["max_outputs"]):
                skipped += 1
                continue
            target = os.path.join(out, f"{len(files)}.bin")
            with open(target, "wb") as f:
                f.write(content)
            files.append({"name": rel, "path": target, "bytes": len(content)})
    report["files"] = files
    report["skipped"] = skipped


def main(job_path: str) -> int:
    """Run the job described by ``job_path``; its ``report.json`` says what happened."""
    with open(job_path) as f:
        job = json.load(f)
    report: dict[str, Any] = {"failed": None}
    report_path = os.path.join(job["outdir"], "report.json")
    try:
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        uid, gid = os.geteuid(), os.getegid()
        if job["drop_to"] is None:
            _unshare(CLONE_NEWUSER, "unshare(CLONE_NEWUSER)")
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        names = "CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS"
        _unshare(flags, f"unshare({names})")
        _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        _libc.sethostname(b"sandbox", 7)  # the new UTS namespace: not this machine's name
        _build_root(job)
    except (StepFailed, OSError) as exc:
        step = exc.step if isinstance(exc, StepFailed) else "building the sandbox's root"
        report.update(failed=step, error=exc.error if isinstance(exc, StepFailed) else str(exc))
        _write(report_path, json.dumps(report))
        return 1
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _enter(job, write_end)
        except StepFailed as exc:
            os.write(write_end, json.dumps({"failed": exc.step, "error": exc.error}).encode())
        except OSError as exc:
            os.write(write_end, json.dumps({"failed": "entering", "error": str(exc)}).encode())
        os._exit(127)
    os.close(write_end)
    deadline = time.monotonic() + float(job["limits"]["wall_seconds"])
    status = None
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # PID 1 of the namespace: every process in it dies
            report["killed"] = "wall_time"
            _, status = os.waitpid(pid, 0)
        else:
            time.sleep(0.02)
    said = json.loads(os.read(read_end, 4096) or b"{}")  # empty when killed at the wall time
    if said.get("failed"):
        report.update(said)
        _write(report_path, json.dumps(report))
        return 1
    status = said.get("status", status)
    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit_code"] = os.WEXITSTATUS(status)
    _collect(job, report)
    _write(report_path, json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
