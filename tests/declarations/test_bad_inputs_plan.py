"""The bad-input corpus through ``plan`` and ``test``: a broken project never reaches the
service (issue 15, part 6).

Every case of ``bad_inputs/`` whose environment can be moved to the test backend is run there
with a key set: the base project's ``prod`` address is rewritten in place (one line, so every
line number stays as written), a project declaring no environment gets ``prod`` appended at
the end of its ``assistops.yaml``, and an ``openai`` environment without ``base_url`` follows
``OPENAI_BASE_URL``, set to the backend. ``plan`` (``test``, for a case that breaks a
conversation test: plan deploys no test file) must exit 1 naming the problems ``validate``
names (file, line, field, message), and the backend must count zero requests: the checks run
before any provider is opened. The cases of secrets in knowledge globs are also applied with
``--auto-approve``: nothing is uploaded. Left to ``test_bad_inputs.py``: cases whose address is
itself what is wrong (another ``base_url``), and cases whose problems are only in the embedded
``local`` environment (or that declare ``local`` alone).
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from assistops.backend import BackendControl, RunningBackend

from .helpers import BASE, run, write_project
from .test_bad_inputs import CASE_FILES, Case, build, load_case

BASE_URL = "https://assistants.demo.example/v1"
KEY_VAR = "DEMO_API_KEY"
KEY = "-".join(("sk", "canary", "corpus", "0123456789abcdef"))


def target(case: Case) -> str | None:
    """The environment to plan, when it can be moved to the backend (None: it cannot)."""
    config = case.files.get("assistops.yaml", BASE["assistops.yaml"]) or ""
    if case.env == "local":
        return None
    urls = [line.split(":", 1)[1].strip() for line in config.splitlines() if "base_url:" in line]
    if any(url != BASE_URL for url in urls):
        return None
    env = case.env or "prod"
    if "environments:" not in config:
        return env  # point_at appends one
    local_only = all(elsewhere(want.message, env) for want in case.expect)
    return None if local_only or f"\n  {env}:" not in config else env


def elsewhere(message: str, env: str) -> bool:
    """Whether a problem's message places it in an environment other than ``env``."""
    return env != "local" and ("(in environment local)" in message or "'local'" in message)


def command(case: Case) -> str:
    """``plan``, or ``test`` for a broken conversation test (``test`` must refuse it)."""
    in_tests = all("/tests/" in want.file for want in case.expect)
    return "test" if in_tests else "plan"


POINTABLE = [p for p in CASE_FILES if target(load_case(p))]


def point_at(root: Path, backend: RunningBackend, env: str) -> None:
    """Move ``env`` to the backend, every line number unchanged (appended, or one line)."""
    config = root / "assistops.yaml"
    text = config.read_text(encoding="utf-8")
    if "environments:" not in text:
        text += (
            f"environments:\n  {env}:\n    provider: openai\n"
            f"    base_url: {BASE_URL}\n    api_key_env: {KEY_VAR}\n"
        )
    config.write_text(text.replace(BASE_URL, backend.base_url), encoding="utf-8")


@pytest.mark.parametrize("case_file", POINTABLE, ids=lambda p: p.stem)
def test_bad_input_makes_no_api_call(
    case_file: Path,
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = load_case(case_file)
    root = build(case, tmp_path)
    env = str(target(case))
    point_at(root, backend, env)
    # an openai environment without base_url goes where OPENAI_BASE_URL says: the backend too
    monkeypatch.setenv("OPENAI_BASE_URL", backend.base_url)
    for var in (KEY_VAR, "OPENAI_API_KEY"):
        monkeypatch.setenv(var, KEY)
    control.clear_requests()

    result = run(command(case), "-C", root, "-e", env)

    assert result.exit_code == 1, result.output
    # a problem of another environment only (local) is not this command's to report
    wanted = [w for w in case.expect if not elsewhere(w.message, env)]
    assert wanted
    for want in wanted:
        assert want.prefix() in result.stderr and want.message in result.stderr, (
            want,
            result.stderr,
        )
    assert control.requests()["total"] == 0, control.requests()
    assert KEY not in result.output


SECRET_MESSAGES = ("credentials file", "holds secrets or state", "contains what looks like")
SECRET_CASES = [
    p
    for p in POINTABLE
    if any(
        want.field.startswith("files[") and any(m in want.message for m in SECRET_MESSAGES)
        for want in load_case(p).expect
    )
]


@pytest.mark.parametrize("case_file", SECRET_CASES, ids=lambda p: p.stem)
def test_a_secret_in_a_knowledge_glob_is_never_uploaded(
    case_file: Path,
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = load_case(case_file)
    root = build(case, tmp_path)
    env = str(target(case))
    point_at(root, backend, env)
    monkeypatch.setenv(KEY_VAR, KEY)
    control.clear_requests()

    result = run("apply", "-C", root, "-e", env, "--auto-approve")

    assert result.exit_code == 1, result.output
    assert all(want.message in result.stderr for want in case.expect), result.stderr
    assert control.requests()["total"] == 0, control.requests()


# split so that no committed line looks like a real key to secret scanners
SHAPED = {
    "an OpenAI API key": "-".join(("sk", "proj", "canary0123456789abcdefghij")),
    "an AWS access key": "".join(("AKIA", "CANARY0123456789")),
    "a private key": " ".join(("-----BEGIN", "RSA", "PRIVATE", "KEY-----")),
}


@pytest.mark.parametrize("label", sorted(SHAPED))
def test_a_key_inside_a_knowledge_file_is_never_uploaded(
    label: str,
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the corpus holds no key-shaped text (it is committed); these are built here instead
    notes = f"# Setup\nUse this for the staging account:\n{SHAPED[label]}\n"
    root = write_project(tmp_path / "project", {"knowledge/docs/setup.md": notes})
    point_at(root, backend, "prod")
    monkeypatch.setenv(KEY_VAR, KEY)
    control.clear_requests()

    result = run("apply", "-C", root, "-e", "prod", "--auto-approve")

    assert result.exit_code == 1, result.output
    want = f"knowledge/docs/setup.md contains what looks like {label}; it is not uploaded"
    assert f"knowledge/docs.yaml:2: files[0]: {want}" in result.stderr, result.stderr
    assert SHAPED[label] not in result.output
    assert control.requests()["total"] == 0, control.requests()


def test_most_of_the_corpus_is_planned_against_the_backend() -> None:
    # a change to the base project's address would silently empty the test above
    assert BASE_URL in BASE["assistops.yaml"]
    assert len(POINTABLE) >= 100, len(POINTABLE)
    assert len(SECRET_CASES) >= 7, SECRET_CASES


def test_a_file_the_declaration_allows_is_uploaded_and_nothing_else(
    tmp_path: Path,
    backend: RunningBackend,
    control: BackendControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an allowance lifts the refusal for the files it names, exactly: the public certificate
    # (refused by name) and the notes holding a key-shaped example (refused by content)
    notes = f"# Setup\nExample key shape (revoked):\n{SHAPED['an AWS access key']}\n"
    cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUB0\n-----END CERTIFICATE-----\n"
    root = write_project(
        tmp_path / "project",
        {
            "knowledge/docs.yaml": (
                "files:\n  - knowledge/docs/*\n"
                "allow_secrets:\n  - knowledge/docs/ca.pem\n  - knowledge/docs/setup.md\n"
            ),
            "knowledge/docs/ca.pem": cert,
            "knowledge/docs/setup.md": notes,
        },
    )
    point_at(root, backend, "prod")
    monkeypatch.setenv(KEY_VAR, KEY)

    result = run("apply", "-C", root, "-e", "prod", "--auto-approve")

    assert result.exit_code == 0, result.output
    uploaded = openai.OpenAI(base_url=backend.base_url, api_key=KEY).files.list()
    names = sorted(f.filename.split(".", 3)[3] for f in uploaded)  # demo.prod.<sha16>.<name>
    assert names == ["ca.pem", "intro.md", "setup.md"], names

    # one more file that looks like a secret, not allowed: refused again, nothing uploaded
    (root / "knowledge/docs/server.key").write_text("not really a key\n", encoding="utf-8")
    control.clear_requests()
    again = run("apply", "-C", root, "-e", "prod", "--auto-approve")
    assert again.exit_code == 1, again.output
    assert "knowledge/docs/server.key looks like a credentials file" in again.stderr
    assert control.requests()["total"] == 0, control.requests()
