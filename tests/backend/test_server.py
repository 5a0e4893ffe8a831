"""Running the backend: persistence, concurrency, API keys and ``assistops serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import pytest
from conftest import make_client

from assistops.backend import RunningBackend, start_server


def test_sqlite_file_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state" / "local.db"
    with start_server(db) as first, make_client(first) as sdk:
        assistant = sdk.beta.assistants.create(model="gpt-4o", name="kept", metadata={"a": "1"})
        file = sdk.files.create(file=("data.jsonl", b'{"x": 1}\n'), purpose="batch")
        store = sdk.vector_stores.create(name="kb", file_ids=[file.id])
    with start_server(db) as second, make_client(second) as sdk:
        assert sdk.beta.assistants.retrieve(assistant.id) == assistant
        assert sdk.files.content(file.id).read() == b'{"x": 1}\n'
        again = sdk.vector_stores.retrieve(store.id)
        assert (again.name, again.file_counts.completed, again.usage_bytes) == ("kb", 1, 9)
        assert [s.id for s in sdk.vector_stores.list()] == [store.id]


def test_memory_database_starts_empty_each_time() -> None:
    for _ in range(2):
        with start_server() as running, make_client(running) as sdk:
            assert sdk.beta.assistants.list().data == []
            sdk.beta.assistants.create(model="m")


def test_concurrent_creates_from_threads(backend: RunningBackend) -> None:
    def work(worker: int) -> list[str]:
        with make_client(backend) as sdk:
            return [
                sdk.beta.assistants.create(model="m", name=f"{worker}-{i}").id for i in range(10)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for chunk in pool.map(work, range(8)) for i in chunk]
    assert len(set(ids)) == 80
    with make_client(backend) as sdk:
        listed = [a.id for a in sdk.beta.assistants.list(limit=100)]
    assert sorted(listed) == sorted(ids)


def test_concurrent_attaches_keep_counts_true(backend: RunningBackend) -> None:
    with make_client(backend) as sdk:
        store = sdk.vector_stores.create()
        file_ids = [
            sdk.files.create(file=(f"{i}.md", b"abcd"), purpose="assistants").id for i in range(12)
        ]

    def attach(file_id: str) -> str:
        with make_client(backend) as sdk:
            return sdk.vector_stores.files.create(vector_store_id=store.id, file_id=file_id).status

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(attach, file_ids * 2)) == {"completed"}
    with make_client(backend) as sdk:
        after = sdk.vector_stores.retrieve(store.id)
    assert (after.file_counts.total, after.file_counts.completed) == (12, 12)
    assert after.usage_bytes == 48


def test_api_key_is_required_when_configured() -> None:
    with start_server(api_key="sk-local-secret") as running:
        wrong = make_client(running, api_key="wrong", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError) as info:
            wrong.beta.assistants.list()
        assert info.value.code == "invalid_api_key"
        assert "sk-local-secret" not in str(info.value)
        with httpx2.Client() as http:
            bare = http.get(f"{running.base_url}/assistants")
            probe = http.get(f"{running.control_url}/health")
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "invalid_api_key"
        assert probe.status_code == 200
        with make_client(running, api_key="sk-local-secret") as sdk:
            assert sdk.beta.assistants.list().data == []


def test_assistops_serve_as_a_subprocess(tmp_path: Path) -> None:
    (tmp_path / "assistops.yaml").write_text("project: demo\n")
    workdir = tmp_path / "sub"
    workdir.mkdir()
    env = {**os.environ, "LOCAL_BACKEND_KEY": "sk-serve-secret", "PYTHONWARNINGS": "error"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistops",
            "serve",
            "--port",
            "0",
            "--api-key-env",
            "LOCAL_BACKEND_KEY",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("assistops local backend on http://127.0.0.1:"), first
        base_url = first.rsplit(" ", 1)[1].strip()
        wrong = openai.OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError):
            wrong.beta.assistants.list()
        sdk = openai.OpenAI(base_url=base_url, api_key="sk-serve-secret", max_retries=0)
        with sdk:
            created = sdk.beta.assistants.create(model="gpt-4o", name="served")
            assert sdk.beta.assistants.retrieve(created.id).name == "served"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        # read through the same buffered pipe as readline() (communicate() would skip it)
        out = proc.stdout.read() if proc.stdout else ""
        err = proc.stderr.read() if proc.stderr else ""
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0, err
    printed = first + out + err
    assert "sk-serve-secret" not in printed
    assert "required ($LOCAL_BACKEND_KEY)" in printed
    assert "stopped" in out
    # the default database lives in the project folder, found upwards from the cwd
    assert (tmp_path / ".assistops" / "local.db").is_file()
