"""open_provider from a project on disk: local (SQLite under .assistops/), openai, azure."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from provider_support import CANARY, without_none, write_project

from assistops.backend import BackendControl, RunningBackend, start_server
from assistops.config.project import load_project
from assistops.errors import ConfigError, ProviderError
from assistops.providers import LocalProvider, OpenAIProvider, open_provider, resolve_settings


def test_local_persists_in_sqlite_under_dot_assistops(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, "  dev:\n    provider: local\n"))
    with closing(open_provider(project, "dev", environ={})) as provider:
        assert isinstance(provider, LocalProvider)
        assert provider.label == "local (.assistops/dev.db)"
        assert provider.client.base_url.host == "127.0.0.1"
        created = provider.create_assistant({"model": "gpt-4o", "name": "kept"})
    assert (tmp_path / ".assistops" / "dev.db").is_file()
    assert (tmp_path / ".assistops" / ".gitignore").read_text() == "*\n"
    with closing(open_provider(project, "dev", environ={})) as again:
        assert without_none(again.list_assistants()) == [without_none(created)]


def test_local_environments_are_separate_and_database_is_configurable(tmp_path: Path) -> None:
    envs = (
        "  dev:\n    provider: local\n  qa:\n    provider: local\n    database: state/qa.sqlite\n"
    )
    project = load_project(write_project(tmp_path, envs))
    dev = open_provider(project, "dev", environ={})
    try:
        dev.create_vector_store({"name": "only-in-dev"})
    finally:
        dev.close()
    qa = open_provider(project, "qa", environ={})
    try:
        assert qa.label == "local (state/qa.sqlite)"
        assert qa.list_vector_stores() == []
    finally:
        qa.close()
    assert (tmp_path / "state" / "qa.sqlite").is_file()
    # an environment exists when it is declared: there is no implicit "local" (docs/cli.md)
    with pytest.raises(ConfigError, match="no environment named 'local'"):
        open_provider(project, "local", environ={})
    assert not (tmp_path / ".assistops" / "local.db").exists()


def test_closing_the_local_provider_stops_its_server(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, "  dev:\n    provider: local\n"))
    provider = open_provider(project, "dev", environ={})
    assert isinstance(provider, LocalProvider)
    provider.close()
    with pytest.raises(OSError):  # nothing listens on its port any more
        socket.create_connection((provider.running.host, provider.running.port), timeout=2).close()


def test_openai_reads_the_key_from_the_named_variable(tmp_path: Path) -> None:
    with start_server(":memory:", api_key=CANARY) as locked:
        envs = f"  staging:\n    provider: openai\n    base_url: {locked.base_url}\n"
        envs += "    api_key_env: STAGING_KEY\n"
        project = load_project(write_project(tmp_path, envs))
        environ = {
            "STAGING_KEY": CANARY,
            "OPENAI_API_KEY": "-".join(("sk", "wrong", "key", "0000000000")),
        }
        provider = open_provider(project, "staging", environ=environ)
        try:
            assert provider.label == f"openai ({locked.base_url})"
            created = provider.create_assistant({"model": "gpt-4o"})
            assert [a["id"] for a in provider.list_assistants()] == [created["id"]]
        finally:
            provider.close()


def test_openai_base_url_from_the_environment_variable(
    tmp_path: Path, backend: RunningBackend
) -> None:
    project = load_project(write_project(tmp_path, "  dev:\n    provider: openai\n"))
    environ = {"OPENAI_API_KEY": "k" * 20, "OPENAI_BASE_URL": backend.base_url}
    provider = open_provider(project, "dev", environ=environ)
    try:
        assert provider.list_assistants() == []
        assert provider.label == f"openai ({backend.base_url})"
    finally:
        provider.close()
    default = resolve_settings(project, "dev", {"OPENAI_API_KEY": "k"})
    assert default.base_url == "https://api.openai.com/v1"
    assert default.key_env == "OPENAI_API_KEY"


def test_a_missing_key_names_the_variable_to_set(tmp_path: Path) -> None:
    envs = (
        "  dev:\n    provider: openai\n  prod:\n    provider: openai\n    api_key_env: PROD_KEY\n"
    )
    project = load_project(write_project(tmp_path, envs))
    with pytest.raises(ProviderError, match="set the environment variable OPENAI_API_KEY"):
        open_provider(project, "dev", environ={})
    with pytest.raises(ProviderError, match="set the environment variable PROD_KEY"):
        open_provider(project, "prod", environ={"OPENAI_API_KEY": "not-this-one-000"})
    with pytest.raises(ConfigError, match="no environment named 'nope'"):
        open_provider(project, "nope", environ={})


def test_azure_over_base_url_talks_to_the_backend(
    tmp_path: Path, backend: RunningBackend, control: BackendControl
) -> None:
    envs = f"  az:\n    provider: azure\n    base_url: {backend.base_url}\n"
    envs += "    api_version: 2024-05-01-preview\n"
    project = load_project(write_project(tmp_path, envs))
    provider = open_provider(project, "az", environ={"AZURE_OPENAI_API_KEY": CANARY})
    try:
        assert provider.label == f"azure ({backend.base_url})"
        store = provider.create_vector_store({"name": "kb"})
        file = provider.upload_file("a.txt", b"alpha")
        provider.create_file_batch(store["id"], [{"file_id": file["id"]}])
        assert [f["id"] for f in provider.list_vector_store_files(store["id"])] == [file["id"]]
        assert provider.create_assistant({"model": "gpt-4o"})["object"] == "assistant"
    finally:
        provider.close()
    assert control.requests()["GET /v1/vector_stores/{vector_store_id}/files"] == 1


def test_azure_401_names_its_variable_and_missing_settings_are_named(
    tmp_path: Path,
) -> None:
    with start_server(":memory:", api_key="server-side-key-0123456789") as locked:
        envs = f"  az:\n    provider: azure\n    base_url: {locked.base_url}\n"
        envs += "    api_version: 2024-05-01-preview\n"
        envs += "  bare:\n    provider: azure\n    auth: key\n"
        project = load_project(write_project(tmp_path, envs))
        provider = open_provider(project, "az", environ={"AZURE_OPENAI_API_KEY": CANARY})
        try:
            with pytest.raises(ProviderError) as info:
                provider.list_vector_stores()
        finally:
            provider.close()
    assert "401" in str(info.value) and "AZURE_OPENAI_API_KEY" in str(info.value)
    assert CANARY not in str(info.value)
    with pytest.raises(ProviderError, match="AZURE_OPENAI_API_KEY"):
        open_provider(project, "bare", environ={})
    with pytest.raises(
        ProviderError, match="set the environment variable AZURE_AI_PROJECT_ENDPOINT"
    ):
        open_provider(project, "bare", environ={"AZURE_OPENAI_API_KEY": CANARY})


def test_the_key_is_redacted_from_logs(
    tmp_path: Path, backend: RunningBackend, caplog: pytest.LogCaptureFixture
) -> None:
    envs = f"  dev:\n    provider: openai\n    base_url: {backend.base_url}\n"
    project = load_project(write_project(tmp_path, envs))
    caplog.set_level(logging.DEBUG)
    provider = open_provider(project, "dev", environ={"OPENAI_API_KEY": CANARY})
    try:
        provider.list_assistants()  # the SDK and httpx2 log this request at debug level
        logging.getLogger("openai._base_client").debug("echo %s", f"Bearer {CANARY}")
        logging.getLogger("assistops.somewhere").warning("key=%s", CANARY)
        try:
            raise RuntimeError(f"failed with {CANARY}")
        except RuntimeError:
            logging.getLogger("httpx2").exception("boom")
    finally:
        provider.close()
    assert any(r.name.startswith("openai") for r in caplog.records)
    assert CANARY not in caplog.text
    assert caplog.text.count("[redacted]") >= 3
    assert "Bearer [redacted]" in caplog.text
    assert all(CANARY not in (r.exc_text or "") for r in caplog.records)


def test_open_provider_returns_the_writer_types(tmp_path: Path, backend: RunningBackend) -> None:
    envs = f"  dev:\n    provider: openai\n    base_url: {backend.base_url}\n"
    project = load_project(write_project(tmp_path, envs))
    provider = open_provider(project, "dev", environ={"OPENAI_API_KEY": "k" * 20})
    try:
        assert type(provider) is OpenAIProvider
    finally:
        provider.close()


_FORGETS = (
    "import gc, os, sys\n"
    "import openai\n"
    "from assistops.backend import start_server\n"
    "from assistops.providers import OpenAIProvider\n"
    "server = start_server()\n"
    "def use():\n"
    "    client = openai.OpenAI(api_key='sk-test', base_url=server.base_url)\n"
    "    provider = OpenAIProvider(client, 'test')\n"
    "    print(provider.create_assistant({'model': 'gpt-4o', 'name': 'a'})['id'], flush=True)\n"
    "    return provider\n"
)


@pytest.mark.parametrize(
    "then",
    ["kept = use()\n", "use()\ngc.collect()\n"],  # a collection takes the provider (a cycle)
    ids=["kept", "collected"],
)
def test_a_provider_never_closed_is_closed_at_exit_without_aiohttp_warnings(
    tmp_path: Path, then: str
) -> None:
    # a script that forgets close() used to end with "Unclosed client session" on stderr
    script = tmp_path / "forgets.py"
    script.write_text(_FORGETS + then, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("asst_")
    assert "Unclosed" not in done.stderr and done.stderr == "", done.stderr


def test_a_forked_child_exits_without_waiting_for_its_parents_providers(tmp_path: Path) -> None:
    # the child has none of the parent's loop threads: closing their providers at its exit
    # waited forever for one (what the child's copy of aiohttp says at exit is its own)
    script = tmp_path / "forks.py"
    script.write_text(
        _FORGETS
        + "kept = use()\n"
        + "child = os.fork()\n"
        + "if child == 0:\n    sys.exit(0)\n"
        + "_, status = os.waitpid(child, 0)\n"
        + "print('child', os.waitstatus_to_exitcode(status))\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "child 0", done.stdout
