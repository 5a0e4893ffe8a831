"""import and export through the CLI against the test backend: files written, tags, empty plans."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner, Result
from engine_helpers import KEY_ENV, run, sdk
from hypothesis import given
from hypothesis import strategies as st

from assistops.adopt.instructions import renders_to, template_source
from assistops.backend import BackendControl, RunningBackend
from assistops.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
PROJECT = "acme-support"
INSTRUCTIONS = (
    "You help partners of {{ company }}.\n"
    "Never promise delivery dates; quote {% the policy %} instead.\n"
)
CHECK_STOCK = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "warehouse": {"type": "string"}},
    "required": ["sku", "warehouse"],
    "additionalProperties": False,
}
PLACE_ORDER = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
    "required": ["sku"],
}
QUOTE = {
    "type": "object",
    "properties": {"price": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["price", "currency"],
    "additionalProperties": False,
}
DOCS = {
    "returns-policy.md": b"# Returns\n\nPartners may return unopened stock within 60 days.\n",
    "shipping.md": b"# Shipping\n\nPallets ship on Tuesdays and Thursdays.\n",
}
CSV = b"month,region,units\n2026-07,north,120\n2026-08,north,135\n"


@pytest.fixture
def outside(backend: RunningBackend) -> Iterator[openai.OpenAI]:
    """An SDK client for making objects 'outside assistops'."""
    with sdk(backend) as made:
        yield made


@pytest.fixture
def originals(tmp_path: Path) -> Path:
    """The user's own copies of the uploaded files (for --files-from)."""
    folder = tmp_path / "originals"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "q3-sales.csv").write_bytes(CSV)
    (folder / "q3-sales.csv.bak").write_bytes(CSV)  # a name that must not match
    return folder


def make_partner_desk(client: openai.OpenAI, **overrides: Any) -> Any:
    """An untagged assistant with everything: store of two Markdown files, a CSV for the code
    interpreter, two functions, a json_schema response format, metadata."""
    uploads = [
        client.files.create(file=(name, content), purpose="assistants")
        for name, content in DOCS.items()
    ]
    store = client.vector_stores.create(name="Partner Handbook", metadata={"source": "wiki"})
    client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[
            {
                "file_id": u.id,
                "attributes": {"audience": "partners"},
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 500, "chunk_overlap_tokens": 100},
                },
            }
            for u in uploads
        ],
    )
    csv = client.files.create(file=("q3-sales.csv", CSV), purpose="assistants")
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "name": "Partner Desk",
        "description": "Answers partner questions.",
        "instructions": INSTRUCTIONS,
        "tools": [
            {"type": "code_interpreter"},
            {"type": "file_search", "file_search": {"max_num_results": 6}},
            {
                "type": "function",
                "function": {
                    "name": "check_stock",
                    "description": "Stock of one SKU in one warehouse.",
                    "parameters": CHECK_STOCK,
                    "strict": True,
                },
            },
            {
                "type": "function",
                "function": {"name": "place_order", "parameters": PLACE_ORDER},
            },
        ],
        "tool_resources": {
            "code_interpreter": {"file_ids": [csv.id]},
            "file_search": {"vector_store_ids": [store.id]},
        },
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "quote",
                "description": "A price quote.",
                "schema": QUOTE,
                "strict": True,
            },
        },
        "temperature": 0.5,
        "metadata": {"team": "partners", "tier": "gold"},
    }
    body.update(overrides)
    return client.beta.assistants.create(**body)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def applied(root: Path) -> None:
    """Apply the example project, so that only what a test adds can show in a plan."""
    result = run(root, "apply", "-e", "test", "--auto-approve")
    assert result.exit_code == 0, result.output


def plan_is_empty(root: Path, env: str = "test") -> Result:
    result = run(root, "plan", "-e", env, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    return result


# -- import -----------------------------------------------------------------------------------


def _desk_on_one_store(client: openai.OpenAI) -> tuple[Any, str]:
    """An untagged assistant whose store holds one file; returns it and the upload's id."""
    upload = client.files.create(file=("guide.md", b"# Guide\nAsk us.\n"), purpose="assistants")
    store = client.vector_stores.create(name="Guide")
    client.vector_stores.files.create(vector_store_id=store.id, file_id=upload.id)
    desk = client.beta.assistants.create(
        model="gpt-4o",
        name="Desk",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    return desk, upload.id


def test_import_while_the_store_is_indexing_says_so_and_writes_nothing(
    project: Path, outside: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("reads", reads=1000)  # the store's file stays in_progress
    desk, upload_id = _desk_on_one_store(outside)
    before = tree(project)
    result = run(project, "import", "-e", "test", desk.id)
    assert result.exit_code == 1
    assert "still being indexed" in result.output and upload_id in result.output, result.output
    assert "file glob" not in result.output
    assert tree(project) == before
    assert "assistops" not in (outside.beta.assistants.retrieve(desk.id).metadata or {})


def test_import_of_a_store_whose_files_all_failed_names_the_service_error(
    project: Path, outside: openai.OpenAI, control: BackendControl
) -> None:
    control.set_processing("immediate", fail_pattern="guide.md")
    desk, upload_id = _desk_on_one_store(outside)
    result = run(project, "import", "-e", "test", desk.id)
    assert result.exit_code == 1
    assert f"{upload_id} is failed (The file could not be parsed.)" in result.output, result.output
    assert "file glob" not in result.output


def test_import_writes_declarations_tags_and_plans_clean(
    project: Path, outside: openai.OpenAI, originals: Path
) -> None:
    applied(project)
    desk = make_partner_desk(outside)
    old_csv = desk.tool_resources.code_interpreter.file_ids[0]
    result = run(project, "import", "-e", "test", desk.id, "--files-from", str(originals))
    assert result.exit_code == 0, result.output
    assert "The next plan shows no changes" in result.output, result.output

    folder = project / "partner-desk"  # the example project's paths.assistants is */assistant.yaml
    declared = (folder / "assistant.yaml").read_text()
    assert "yaml-language-server" not in declared  # no schemas/ to point at from a temp folder
    assert "display_name: Partner Desk" in declared
    assert "vector_store: partner-handbook" in declared
    assert "parameters: functions/check_stock.json" in declared
    assert "temperature: 0.5" in declared
    template = (folder / "instructions.md.j2").read_text()
    assert template == "{% raw %}" + INSTRUCTIONS + "{% endraw %}"
    assert json.loads((project / "functions/check_stock.json").read_text()) == CHECK_STOCK
    assert json.loads((project / "functions/place_order.json").read_text()) == PLACE_ORDER
    assert json.loads((project / "response_formats/quote.json").read_text()) == QUOTE
    store_yaml = (project / "knowledge/partner-handbook.yaml").read_text()
    assert "display_name: Partner Handbook" in store_yaml
    assert "max_chunk_size_tokens: 500" in store_yaml
    assert "audience: partners" in store_yaml
    for name, content in DOCS.items():
        assert (project / "knowledge/partner-handbook" / name).read_bytes() == content
    assert (folder / "files/q3-sales.csv").read_bytes() == CSV

    assert run(project, "validate").exit_code == 0
    plan_is_empty(project)

    after = outside.beta.assistants.retrieve(desk.id)  # the same assistant, now tagged
    assert after.metadata["assistops"] == f"{PROJECT}/test/assistant.partner-desk"
    assert after.metadata["team"] == "partners" and after.metadata["tier"] == "gold"
    store_id = after.tool_resources.file_search.vector_store_ids[0]
    store = outside.vector_stores.retrieve(store_id)
    assert store.metadata["assistops"] == f"{PROJECT}/test/vector_store.partner-handbook"
    assert store.metadata["source"] == "wiki"
    for vs_file in outside.vector_stores.files.list(store_id):
        assert vs_file.attributes["audience"] == "partners"
        assert vs_file.attributes["assistops_path"].startswith("knowledge/partner-handbook/")
    [new_csv] = after.tool_resources.code_interpreter.file_ids
    assert new_csv != old_csv
    assert outside.files.retrieve(new_csv).filename.startswith(f"{PROJECT}.test.")
    assert outside.files.retrieve(old_csv).filename == "q3-sales.csv"  # not ours: left alone


def test_plain_instructions_are_written_as_they_are(project: Path, outside: openai.OpenAI) -> None:
    shutil.copytree(REPO / "schemas", project.parent / "schemas")  # editors can now find them
    applied(project)
    text = "Answer in French.\nKeep it short.\n"
    bot = outside.beta.assistants.create(model="gpt-4o-mini", name="Plain Bot", instructions=text)
    result = run(project, "import", "-e", "test", bot.id, "--name", "frenchie")
    assert result.exit_code == 0, result.output
    assert (project / "frenchie/instructions.md.j2").read_text() == text
    declared = (project / "frenchie/assistant.yaml").read_text()
    schema_comment = "# yaml-language-server: $schema=../../schemas/assistant.schema.json"
    assert declared.startswith(schema_comment)
    # the project's defaults set temperature 0.2 and metadata: reset explicitly to what is live
    assert "temperature: 1.0" in declared
    assert "metadata: null" in declared
    plan_is_empty(project)


def test_what_yaml_cannot_express_is_stated(project: Path, outside: openai.OpenAI) -> None:
    # the example project's defaults add metadata team=customer-experience to every assistant;
    # an assistant whose metadata lacks it cannot be declared without that key
    bot = outside.beta.assistants.create(
        model="gpt-4o-mini", name="Owned Bot", metadata={"owner": "ops"}
    )
    result = run(project, "import", "-e", "test", bot.id)
    assert result.exit_code == 0, result.output
    assert "The next plan still shows 1 change" in result.output
    assert "~ assistant.owned-bot: metadata.team" in result.output


def test_already_tagged_assistants_are_refused(project: Path, outside: openai.OpenAI) -> None:
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0
    ours = next(a for a in outside.beta.assistants.list() if a.name == "Acme Support")
    result = run(project, "import", "-e", "test", ours.id)
    assert result.exit_code == 1
    assert "already managed by assistops (this project" in result.output
    foreign = outside.beta.assistants.create(
        model="gpt-4o", metadata={"assistops": "billing/prod/assistant.invoices"}
    )
    before = tree(project)
    result = run(project, "import", "-e", "test", foreign.id)
    assert result.exit_code == 1
    assert "project 'billing'" in result.output
    assert tree(project) == before


def test_missing_code_interpreter_files_are_listed_and_nothing_is_written(
    project: Path, outside: openai.OpenAI
) -> None:
    desk = make_partner_desk(outside)
    before = tree(project)
    result = run(project, "import", "-e", "test", desk.id)
    assert result.exit_code == 1
    assert "cannot get the content of 1 file" in result.output
    assert f"q3-sales.csv ({len(CSV)} bytes" in result.output
    assert "--files-from FOLDER" in result.output
    assert tree(project) == before
    assert "assistops" not in outside.beta.assistants.retrieve(desk.id).metadata


def test_an_existing_file_is_never_overwritten(
    project: Path, outside: openai.OpenAI, originals: Path
) -> None:
    desk = make_partner_desk(outside)
    (project / "partner-desk").mkdir()
    (project / "partner-desk/instructions.md.j2").write_text("Someone else's draft.\n")
    before = tree(project)
    result = run(project, "import", "-e", "test", desk.id, "--files-from", str(originals))
    assert result.exit_code == 1
    assert "refusing to overwrite existing files: partner-desk/instructions.md.j2" in result.output
    assert tree(project) == before


def test_an_import_stopped_while_tagging_finishes_when_run_again(
    project: Path, outside: openai.OpenAI, control: BackendControl, originals: Path
) -> None:
    applied(project)
    desk = make_partner_desk(outside)
    # every update of the assistant fails (the SDK's retries too): the store is tagged by then
    control.add_fault("error", "POST /v1/assistants/{assistant_id}", times=10)
    args = ("import", "-e", "test", desk.id, "--files-from", str(originals))
    first = run(project, *args)
    assert first.exit_code == 1
    assert "tagging stopped (tagged: vector_store.partner-handbook)" in first.output
    assert "Run the same command again to finish" in first.output
    control.clear_faults()
    second = run(project, *args)
    assert second.exit_code == 0, second.output
    plan_is_empty(project)
    ours = [f for f in outside.files.list() if f.filename.startswith(f"{PROJECT}.test.")]
    assert sum(f.filename.endswith("q3-sales.csv") for f in ours) == 1  # uploaded once


def test_declarations_that_do_not_validate_are_removed_untagged(
    project: Path, outside: openai.OpenAI
) -> None:
    # a knowledge file named like a private key: assistops refuses to upload such files
    key_like = outside.files.create(file=("id_rsa.txt", b"not a key\n"), purpose="assistants")
    store = outside.vector_stores.create(name="Keys")
    outside.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=key_like.id)
    bot = outside.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    before = tree(project)
    result = run(project, "import", "-e", "test", bot.id, "--name", "keys")
    assert result.exit_code == 1, result.output
    assert "do not validate, so they were removed again" in result.output
    assert "looks like a credentials file" in result.output
    assert tree(project) == before
    assert "assistops" not in (outside.vector_stores.retrieve(store.id).metadata or {})


# -- export -----------------------------------------------------------------------------------


def test_export_of_an_applied_project_validates_and_plans_clean(
    project: Path, tmp_path: Path, outside: openai.OpenAI
) -> None:
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0
    dest = tmp_path / "exported"
    result = run(project, "export", str(dest), "-e", "test")
    assert result.exit_code == 0, result.output
    config = (dest / "assistops.yaml").read_text()
    assert "project: acme-support" in config
    assert f"api_key_env: {KEY_ENV}" in config
    assert "sk-" not in config
    assert (dest / "knowledge/handbook/returns.md").read_bytes() == (
        project / "knowledge/handbook/returns.md"
    ).read_bytes()
    assert "reasoning_effort: low" in (dest / "assistants/analyst/assistant.yaml").read_text()
    live = next(a for a in outside.beta.assistants.list() if a.name == "Acme Support")
    assert (dest / "assistants/support/instructions.md.j2").read_text() == live.instructions
    assert run(dest, "validate").exit_code == 0
    plan_is_empty(dest)


def test_account_export_adopts_untagged_and_skips_foreign(
    project: Path, tmp_path: Path, outside: openai.OpenAI, backend: RunningBackend, originals: Path
) -> None:
    assert run(project, "apply", "-e", "test", "--auto-approve").exit_code == 0  # acme-support
    desk = make_partner_desk(outside)
    nameless = outside.beta.assistants.create(model="gpt-4o-mini")
    dest = tmp_path / "bootstrap"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            str(dest),
            "--name",
            "bootstrap",
            "--base-url",
            backend.base_url,
            "--api-key-env",
            KEY_ENV,
            "--files-from",
            str(originals),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Skipped:" in result.output
    assert result.output.count("managed by project 'acme-support'") == 3
    derived = nameless.id.lower()  # no name: the logical name comes from the id
    assert sorted(p.name for p in (dest / "assistants").iterdir()) == sorted(
        ["partner-desk", derived]
    )
    for made, name in ((desk, "partner-desk"), (nameless, derived)):
        after = outside.beta.assistants.retrieve(made.id)
        assert after.metadata["assistops"] == f"bootstrap/default/assistant.{name}"
    assert outside.beta.assistants.retrieve(nameless.id).name == derived  # named as declared
    assert run(dest, "validate").exit_code == 0
    plan_is_empty(dest, "default")
    plan_is_empty(project)  # the other project's objects were not touched


def test_account_export_without_needed_files_writes_nothing(
    tmp_path: Path, outside: openai.OpenAI, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "-".join(("sk", "canary", "0123456789abcdefghijklmnop")))
    make_partner_desk(outside)
    dest = tmp_path / "bootstrap"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            str(dest),
            "--name",
            "bootstrap",
            "--base-url",
            backend.base_url,
            "--api-key-env",
            KEY_ENV,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "q3-sales.csv" in result.output and "--files-from" in result.output
    assert not dest.exists()


# -- instructions ---------------------------------------------------------------------------


PIECES = [*"{}%#-+ \n\r\tab", "endraw", "raw", "{% raw %}", "{% endraw %}", "{{ x }}"]


@given(st.lists(st.sampled_from(PIECES)).map("".join) | st.text())
def test_instructions_render_back_to_the_same_text(text: str) -> None:
    assert renders_to(template_source(text), text)
