"""The first hour: init's output and files, and validate reporting everything at once."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import call, run


def test_init_here_prints_no_cd_and_names_the_environment(tmp_path: Path) -> None:
    done = call("init", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "cd ." not in done.stdout
    assert done.stdout.endswith(
        "It declares one environment, local: the embedded backend (no key, no network).\n"
        "Next: assistops validate && assistops plan && assistops apply\n"
    )


def test_init_in_a_folder_prints_the_cd_relative_to_here(tmp_path: Path) -> None:
    done = call("init", "new one", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "  created 'new one/assistops.yaml'" not in done.stdout  # paths as they are
    assert "  created new one/assistops.yaml\n" in done.stdout
    assert "Next: cd 'new one' && assistops validate" in done.stdout


def test_init_renders_instructions_without_a_double_full_stop(project: Path) -> None:
    result = run("render", "-C", project, "--format", "json", "assistant")

    assert result.exit_code == 0, result.output
    instructions = json.loads(result.stdout)[0]["body"]["instructions"]
    assert ".." not in instructions
    assert "You are the assistant of Example Corp. Hello from the local environment." in (
        instructions
    )


def test_init_files_name_their_schema_and_the_schema_is_there(project: Path) -> None:
    for rel, schema in (
        ("assistops.yaml", "schemas/project.schema.json"),
        ("assistants/assistant/assistant.yaml", "../../schemas/assistant.schema.json"),
        ("knowledge/docs.yaml", "../schemas/vector-store.schema.json"),
    ):
        first = (project / rel).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema={schema}"
        target = (project / rel).parent / schema
        assert json.loads(target.read_text())["$schema"].startswith("https://json-schema.org/")


def test_a_yaml_error_in_one_file_does_not_hide_problems_in_others(project: Path) -> None:
    (project / "knowledge" / "docs.yaml").write_text("files: [knowledge/docs/*.md\n")
    (project / "assistants" / "assistant" / "assistant.yaml").write_text(
        "name: assistant\nmodle: gpt-4o\n"
    )

    result = run("validate", "-C", project)

    assert result.exit_code == 1
    assert "knowledge/docs.yaml:" in result.stderr  # the syntax error
    assert "assistants/assistant/assistant.yaml:2: modle: unknown key 'modle'" in result.stderr
    assert result.stderr.rstrip().endswith("problems found.")


def test_an_undefined_template_variable_gets_a_did_you_mean(project: Path) -> None:
    template = project / "assistants" / "assistant" / "instructions.md.j2"
    template.write_text(template.read_text().replace("{{ company }}", "{{ compnay }}"))

    result = run("validate", "-C", project)

    assert result.exit_code == 1
    assert (
        "assistants/assistant/instructions.md.j2:2: instructions: undefined template variable: "
        "'compnay' is undefined\n    hint: did you mean 'company'?"
    ) in result.stderr
