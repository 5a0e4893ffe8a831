"""One convention for every command (docs/cli.md): -C, --no-color, --debug, exit codes,
help examples, completion."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistops.cli.commands import COMMANDS, load

from .helpers import SCRIPT, call, run

NAMES = sorted(COMMANDS)


def test_every_command_takes_the_global_options_after_its_name_too() -> None:
    for name in NAMES:
        page = run(name, "--help")
        assert page.exit_code == 0, name
        for option in ("-C, --chdir, --project DIR", "--no-color", "--debug"):
            assert option in page.stdout, (name, option)


@pytest.mark.parametrize("name", ["", *NAMES])
def test_every_help_page_has_an_example(name: str) -> None:
    page = run(*([name] if name else []), "--help")

    assert page.exit_code == 0
    examples = page.stdout.split("Examples:\n", 1)[1]
    first = next(line for line in examples.splitlines() if line.strip())
    assert first.strip().startswith(("assistops ", "eval ", "ASSISTOPS_KEY="))


def test_chdir_before_or_after_the_command_is_the_same(project: Path, tmp_path: Path) -> None:
    before = call("-C", "demo", "validate", cwd=tmp_path)
    after = call("validate", "-C", "demo", cwd=tmp_path)
    long = call("--chdir", "demo", "validate", cwd=tmp_path)

    assert before.returncode == after.returncode == long.returncode == 0, before.stderr
    assert before.stdout == after.stdout == long.stdout == "demo: valid in 1 environment (local)\n"


def test_chdir_makes_relative_paths_relative_to_it(project: Path, tmp_path: Path) -> None:
    done = call("-C", "demo", "plan", "--out", "saved.json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (project / "saved.json").is_file()
    assert not (tmp_path / "saved.json").exists()
    # the advice pastes from where the user is
    assert "Apply exactly it with: assistops -C demo apply saved.json" in done.stderr


def test_a_usage_error_exits_1_not_the_2_of_pending_changes(project: Path) -> None:
    result = run("plan", "-C", project, "--detailed-exitcode", "--bogus")

    assert result.exit_code == 1
    assert "No such option '--bogus'" in result.stderr
    assert "Try 'assistops plan -h' for help." in result.stderr
    assert result.stdout == ""


def test_the_installed_script_exits_1_on_a_usage_error(tmp_path: Path) -> None:
    done = call("frobnicate", cwd=tmp_path)
    missing = call("import", cwd=tmp_path)  # a missing argument

    assert (done.returncode, missing.returncode) == (1, 1)
    assert "No such command 'frobnicate'" in done.stderr
    assert "Missing argument 'ASSISTANT_ID'" in missing.stderr


def test_detailed_exitcode_is_2_with_changes_and_0_without(project: Path) -> None:
    pending = run("plan", "-C", project, "--detailed-exitcode")
    assert pending.exit_code == 2, pending.output
    assert run("apply", "-C", project, "--auto-approve").exit_code == 0
    clean = run("plan", "-C", project, "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output
    assert "No changes." in clean.stdout


def test_debug_shows_the_traceback_of_an_error_and_only_then(tmp_path: Path) -> None:
    plain = call("plan", cwd=tmp_path)
    debug = call("plan", "--debug", cwd=tmp_path)
    global_debug = call("--debug", "plan", cwd=tmp_path)

    assert plain.returncode == debug.returncode == global_debug.returncode == 1
    assert "Traceback" not in plain.stderr
    assert plain.stderr.startswith("Error: ")
    assert "no assistops.yaml here or in any parent folder" in plain.stderr
    for done in (debug, global_debug):
        assert "Traceback (most recent call last)" in done.stderr
        assert "ConfigError" in done.stderr


def test_no_color_is_an_option_of_every_command(project: Path) -> None:
    for args in (["validate"], ["render"], ["status"], ["apply", "--auto-approve"]):
        result = run(args[0], "-C", project, "--no-color", *args[1:])
        assert result.exit_code == 0, (args, result.output)
        assert "\x1b[" not in result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = run("completion", shell)

    assert result.exit_code == 0
    assert "_ASSISTOPS_COMPLETE" in result.stdout
    assert f"{shell}_source" in result.stdout or shell in result.stdout


def _complete(words: str, cwd: Path) -> list[str]:
    """What bash completion offers after ``assistops WORDS`` (the last word being typed)."""
    parts = ["assistops", *words.split(" ")]
    done = subprocess.run(
        [str(SCRIPT)],
        cwd=cwd,
        env={
            "_ASSISTOPS_COMPLETE": "bash_complete",
            "COMP_WORDS": " ".join(parts),
            "COMP_CWORD": str(len(parts) - 1),
            "PATH": str(SCRIPT.parent),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def test_completion_offers_the_declared_environments(project: Path) -> None:
    config = project / "assistops.yaml"
    config.write_text(
        config.read_text().replace(
            "  # any Assistants", "  staging:\n    provider: local\n  # any Assistants"
        )
    )

    assert _complete("plan -e ", project) == ["local", "staging"]
    assert _complete("plan -e st", project) == ["staging"]
    assert _complete("-C demo validate -e ", project.parent) == ["local", "staging"]


def test_completion_offers_addresses_and_names(project: Path) -> None:
    offered = _complete("plan --target ", project)

    assert "assistant.assistant" in offered and "vector_store.docs" in offered
    assert "file.docs:knowledge/docs/getting-started.md" in offered
    assert "docs" in offered  # a name, as render accepts
    assert _complete("render vector", project) == ["vector_store.docs"]


def test_version_and_json_usage_errors(project: Path) -> None:
    result = run("plan", "-C", project, "--format", "json", "--bogus")

    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["error"]["code"] == "usage"
    assert doc["error"]["message"] == "No such option '--bogus'. Did you mean '--out'?"
    assert doc["exit_code"] == 1


def test_the_command_list_says_what_each_command_says_of_itself() -> None:
    for name, entry in COMMANDS.items():
        command = load(name)
        assert command.name == name
        assert command.get_short_help_str(limit=300) == entry.summary, name


#: What a command that opens no provider must never import: the SDK, the backend and its
#: server, and deepdiff (a plan imports it only for a resource that changed).
NEVER_OFFLINE = ("openai", "assistops.backend", "starlette", "uvicorn", "deepdiff")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plan", "--help"],
        ["apply", "--help"],
        ["validate"],
        ["render"],
        ["render", "--format", "json"],
        ["render", "-e", "local-responses", "--format", "responses"],
    ],
    ids=" ".join,
)
def test_offline_commands_import_neither_the_backend_nor_the_sdk(args: list[str]) -> None:
    # the command list comes from the table; validate and render read files only. One fresh
    # process per command: what one imports must not hide behind another's
    probe = (
        "import sys\n"
        "from assistops.cli.main import cli\n"
        "try:\n"
        "    cli.main(sys.argv[2:] + ['-C', sys.argv[1]], standalone_mode=False)\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"never = {NEVER_OFFLINE!r}\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in never or m.startswith(never)]\n"
        "print('LOADED', loaded)\n"
    )
    example = Path(__file__).resolve().parents[2] / "assistants"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(example), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout[-2000:]


def test_the_probe_sees_what_a_local_plan_imports(tmp_path: Path) -> None:
    # the probe above is not blind: a plan of a local environment imports the SDK and backend
    probe = (
        "import sys\n"
        "from assistops.cli.main import cli\n"
        "try:\n"
        "    cli.main(['plan', '-e', 'local', '-C', sys.argv[1]], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    root = Path(__file__).resolve().parents[2] / "assistants"
    project = tmp_path / "example"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns(".assistops"))
    done = subprocess.run(
        [sys.executable, "-c", probe, str(project)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "'openai'" in done.stdout and "'uvicorn'" in done.stdout, done.stdout[-2000:]
