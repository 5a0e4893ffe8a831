"""Start-up of the command: the collector held while it imports, and what a local plan loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "assistants"

# at exit: is the collector on, how many objects were frozen, was the sandbox launcher loaded
REPORT = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('GC', gc.isenabled(), gc.get_freeze_count(),"
    " 'assistops.backend.sandbox_launcher' in sys.modules))\n"
)


def _run(tmp_path: Path, body: str) -> list[str]:
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".assistops"))
    done = subprocess.run(
        [sys.executable, "-c", REPORT + body, str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout.splitlines()


def test_the_command_freezes_what_its_imports_made_and_collects_after(tmp_path: Path) -> None:
    # the console script's entry point, as the installed `assistops` calls it
    lines = _run(
        tmp_path,
        "from assistops.cli.main import main\n"
        "sys.argv = ['assistops', 'plan', '-e', 'local', '-C', sys.argv[1]]\n"
        "main()\n",
    )
    _, enabled, frozen, launcher = lines[-1].split()
    assert enabled == "True"  # held only while modules import: the command itself collects
    assert int(frozen) > 100_000  # the SDK's types, the backend, the kinds: frozen, not rescanned
    assert launcher == "False"  # the code sandbox's ctypes launcher: only `serve` needs it


def test_a_command_that_opens_no_provider_collects_once_its_module_is_loaded(
    tmp_path: Path,
) -> None:
    # validate, render, serve: nothing more to import after the command's module
    lines = _run(
        tmp_path,
        "import gc\n"
        "from assistops.cli.main import main\n"
        "from assistops.cli import validate\n"
        "command = validate.validate.callback\n"
        "def spy(*args, **kwargs):\n"
        "    print('DURING', gc.isenabled())\n"
        "    return command(*args, **kwargs)\n"
        "validate.validate.callback = spy\n"
        "sys.argv = ['assistops', 'validate', '-C', sys.argv[1]]\n"
        "main()\n",
    )
    assert "DURING True" in lines  # the command itself runs with the collector on
    _, enabled, frozen, _ = lines[-1].split()
    assert enabled == "True" and int(frozen) > 10_000


def test_a_library_user_keeps_its_collector_as_it_was(tmp_path: Path) -> None:
    lines = _run(
        tmp_path,
        "from pathlib import Path\n"
        "from assistops import api\n"
        "api.plan(Path(sys.argv[1]), 'local')\n",
    )
    _, enabled, frozen, _ = lines[-1].split()
    assert (enabled, frozen) == ("True", "0")
