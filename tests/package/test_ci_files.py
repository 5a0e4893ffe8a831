"""The files CI and users run: the project's workflow, the deploy workflows users copy
(checked with actionlint), and the pre-commit hook (run with ``pre-commit try-repo``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((REPO / "examples" / "github-actions").glob("*.yml"))


def actionlint(*files: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The actionlint of the dev extras (a binary in the virtualenv's bin/)."""
    return subprocess.run(
        [str(BIN / "actionlint"), "-no-color", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key "on" as True
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def test_the_workflows_pass_actionlint() -> None:
    assert WORKFLOWS and len(EXAMPLES) == 2

    done = actionlint(*WORKFLOWS, *EXAMPLES)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    # the check above can fail: an undefined job in needs and a bad expression are errors
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    needs: nowhere\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.evnt.name }}\n",
        encoding="utf-8",
    )

    done = actionlint(broken, cwd=tmp_path)

    assert done.returncode == 1
    assert 'job "a" needs job "nowhere" which does not exist' in done.stdout
    assert "evnt" in done.stdout


def test_ci_runs_every_check_on_every_supported_python() -> None:
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    (job,) = ci["jobs"].values()
    runs = "\n".join(step.get("run", "") for step in job["steps"])

    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    for command in (
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "lint-imports",
        "python scripts/generate_schemas.py",
        "git diff --exit-code -- schemas",
        "actionlint .github/workflows/*.yml examples/github-actions/*.yml",
        "python -m pytest",
    ):
        assert command in runs, command


def test_ci_runs_the_readme_main_command_as_written() -> None:
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    (job,) = ci["jobs"].values()
    step = next(s for s in job["steps"] if "README" in s.get("name", ""))
    extract = step["run"].splitlines()[1]  # the awk line, as CI runs it
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Set-up", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]

    done = subprocess.run(
        ["bash", "-c", extract.replace('> "$RUNNER_TEMP/main.sh"', "")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == block
    assert "assistops apply -C assistants -e local --auto-approve" in block
    assert block.endswith("assistops plan -C assistants -e local")


def test_deploy_workflows_plan_pull_requests_and_promote_through_a_reviewed_environment() -> None:
    pr = load(REPO / "examples" / "github-actions" / "assistops-pull-request.yml")
    deploy = load(REPO / "examples" / "github-actions" / "assistops-deploy.yml")
    every = [pr, deploy]

    for workflow in every:
        assert "pull_request_target" not in triggers(workflow)
        assert workflow["permissions"] == {"contents": "read"}
    assert "pull_request" in triggers(pr)
    plan = pr["jobs"]["plan"]
    assert plan["environment"] == "${{ matrix.environment }}-plan"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    comment = pr["jobs"]["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    script = "\n".join(str(s.get("with", {}).get("script", "")) for s in comment["steps"])
    assert "updateComment" in script and "createComment" in script
    shown = "\n".join(s.get("run", "") for s in comment["steps"])
    assert "assistops show" in shown and "--format markdown" in shown

    assert triggers(deploy)["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers(deploy)
    assert triggers(deploy)["push"]["tags"] == ["v*"]
    jobs = deploy["jobs"]
    assert jobs["staging"]["concurrency"] == {
        "group": "assistops-staging",
        "cancel-in-progress": False,
    }
    assert jobs["prod"]["concurrency"]["group"] == "assistops-prod"
    assert jobs["prod"]["environment"] == "prod"
    assert jobs["prod"]["needs"] == "promote-plan"
    promote = "\n".join(s.get("run", "") for s in jobs["promote-plan"]["steps"])
    assert "promote --from staging --to prod" in promote
    checkout = jobs["promote-plan"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    for workflow in every:
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                for value in (step.get("env") or {}).values():
                    # keys come from the GitHub environment's secrets, never written out
                    assert "sk-" not in str(value)


# -- pre-commit -----------------------------------------------------------------------------------


def try_repo(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``pre-commit try-repo <this repository> assistops-validate --all-files`` in ``project``."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("ASSISTOPS_ENV", None)
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(REPO), "assistops-validate", "--all-files"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


@pytest.mark.slow
def test_the_pre_commit_hook_runs_validate(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert (
        subprocess.run(
            [str(BIN / "assistops"), "init", str(project)], capture_output=True, check=False
        ).returncode
        == 0
    )
    config = project / "assistops.yaml"
    config.write_text(
        config.read_text().replace("  model: gpt-4o-mini", "  modle: gpt-4o-mini"),
        encoding="utf-8",
    )
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)

    broken = try_repo(project, tmp_path / "pre-commit")
    config.write_text(config.read_text().replace("modle:", "model:"), encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    fixed = try_repo(project, tmp_path / "pre-commit")

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "assistops validate" in broken.stdout and "Failed" in broken.stdout
    assert "assistops.yaml:" in broken.stdout
    assert "defaults.modle: unknown key 'modle'" in broken.stdout
    assert "did you mean 'model'?" in broken.stdout
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "assistops validate" in fixed.stdout and "Passed" in fixed.stdout
