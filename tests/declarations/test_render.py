"""``assistops render``: exactly what would be sent, per environment, references kept logical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import EXAMPLE, run, write_project

pytestmark = pytest.mark.usefixtures("offline")


def render_json(root: Path, env: str, *names: str) -> list[dict[str, Any]]:
    """The payloads render prints in JSON (the command must succeed)."""
    result = run("render", "-C", root, "-e", env, "--format", "json", *names)
    assert result.exit_code == 0, result.output
    payloads: list[dict[str, Any]] = json.loads(result.stdout)
    return payloads


def body_of(payloads: list[dict[str, Any]], address: str) -> dict[str, Any]:
    """The body of the first request for ``address``."""
    body: dict[str, Any] = next(p["body"] for p in payloads if p["address"] == address)
    return body


def user_metadata(body: dict[str, Any]) -> dict[str, str]:
    """Metadata without the keys assistops reserves for ownership."""
    return {k: v for k, v in body["metadata"].items() if not k.startswith("assistops")}


def test_prod_and_local_differ_by_their_overrides_and_variables() -> None:
    prod = body_of(render_json(EXAMPLE, "prod", "support"), "assistant.support")
    local = body_of(render_json(EXAMPLE, "local", "support"), "assistant.support")

    # per-environment override: model, temperature and one more metadata key (maps merge)
    assert (prod["model"], prod["temperature"]) == ("gpt-4o", 0.1)
    assert (local["model"], local["temperature"]) == ("gpt-4o-mini", 0.2)
    assert user_metadata(prod) == {
        "team": "customer-experience",
        "owner": "support-team",
        "tier": "production",
    }
    assert user_metadata(local) == {"team": "customer-experience", "owner": "support-team"}
    # per-environment template variables
    assert "support@acme.example." in prod["instructions"]
    assert "Escalate by creating a ticket with priority 'high'." in prod["instructions"]
    assert "support@acme.localhost." in local["instructions"]
    assert "escalation is simulated" in local["instructions"]
    # the ownership tag names the environment
    assert prod["metadata"]["assistops"] == "acme-support/prod/assistant.support"
    assert local["metadata"]["assistops"] == "acme-support/local/assistant.support"


def test_instructions_render_partials_and_macros_of_the_example() -> None:
    body = body_of(render_json(EXAMPLE, "staging", "support"), "assistant.support")

    lines = body["instructions"].splitlines()
    assert lines[0] == "You are Acme Support, the customer support assistant of Acme Corp."
    # include of partials/tone.md.j2 with the assistant's own variable
    assert lines[1] == "Write in a warm and concise tone. Use the customer's language."
    # the section() macro imported from partials/macros.md.j2
    assert [line for line in lines if line.startswith("## ")] == [
        "## Knowledge",
        "## Orders",
        "## Escalation",
    ]
    assert "{{" not in body["instructions"] and "{%" not in body["instructions"]


def test_json_shows_references_as_logical_addresses() -> None:
    payloads = render_json(EXAMPLE, "prod")

    support = body_of(payloads, "assistant.support")
    assert support["tool_resources"] == {
        "file_search": {"vector_store_ids": ["${vector_store.handbook}"]}
    }
    analyst = body_of(payloads, "assistant.analyst")
    assert analyst["tool_resources"] == {
        "code_interpreter": {
            "file_ids": [
                "${file.assistant.analyst:analyst/data/regions.csv}",
                "${file.assistant.analyst:analyst/data/sales.csv}",
            ]
        }
    }
    attach = [
        p for p in payloads if p["request"].endswith("/files") and "vector_stores" in p["request"]
    ]
    assert {p["request"] for p in attach} == {
        "POST /v1/vector_stores/${vector_store.handbook}/files"
    }
    assert sorted(p["body"]["file_id"] for p in attach) == [
        "${file.handbook:knowledge/handbook/accounts.md}",
        "${file.handbook:knowledge/handbook/returns.md}",
        "${file.handbook:knowledge/handbook/shipping.md}",
        "${file.handbook:knowledge/handbook/warranty.md}",
    ]
    # the prod override of the store, and the function schema read from its file
    assert body_of(payloads, "vector_store.handbook")["expires_after"] == {
        "anchor": "last_active_at",
        "days": 365,
    }
    lookup = support["tools"][1]["function"]
    assert lookup["name"] == "lookup_order"
    assert lookup["parameters"]["required"] == ["order_number", "include_items"]
    assert lookup["strict"] is True


def test_yaml_is_the_default_format_and_says_the_same_as_json() -> None:
    as_yaml = run("render", "-C", EXAMPLE, "-e", "local")
    as_json = run("render", "-C", EXAMPLE, "-e", "local", "--format", "json")

    assert as_yaml.exit_code == 0
    # any YAML reader, even a YAML 1.1 one like PyYAML, reads back exactly the JSON payloads
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    # instructions print as a block, as they were written
    assert "    instructions: |\n      You are Acme Support" in as_yaml.stdout


def test_names_select_resources() -> None:
    support = render_json(EXAMPLE, "local", "support")
    by_address = render_json(EXAMPLE, "local", "assistant.triage")
    store = render_json(EXAMPLE, "local", "handbook")
    two = render_json(EXAMPLE, "local", "support", "triage")

    assert [p["address"] for p in support] == ["assistant.support"]
    assert [p["address"] for p in by_address] == ["assistant.triage"]
    assert store[0]["address"] == "vector_store.handbook"
    assert {p["address"].split(":")[0] for p in store[1:]} == {"file.handbook"}
    assert len(store) == 1 + 2 * 4  # the store, then upload + attach for each of 4 files
    assert [p["address"] for p in two] == ["assistant.support", "assistant.triage"]


def test_unknown_name_is_a_usage_error() -> None:
    result = run("render", "-C", EXAMPLE, "-e", "local", "suport")

    assert result.exit_code == 1  # every error exits 1; 2 means "changes" (docs/cli.md)
    assert "nothing declared is named suport" in result.stderr


def test_without_e_render_uses_the_first_declared_environment() -> None:
    result = run("render", "-C", EXAMPLE, "--format", "json")

    assert result.exit_code == 0, result.output
    support = next(p for p in json.loads(result.stdout) if p["address"] == "assistant.support")
    assert support["body"]["metadata"]["assistops"] == "acme-support/local/assistant.support"


def test_unknown_environment_is_a_clear_error() -> None:
    result = run("render", "-C", EXAMPLE, "-e", "qa")

    assert result.exit_code == 1
    assert "environments: no environment named 'qa'" in result.stderr
    assert "use one of: local, local-agents, local-responses, staging, prod" in result.stderr


def test_render_refuses_an_invalid_project_and_prints_nothing(tmp_path: Path) -> None:
    root = write_project(
        tmp_path, {"assistants/helper/assistant.yaml": "name: helper\ntemperature: 9\n"}
    )

    result = run("render", "-C", root, "-e", "local")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "assistants/helper/assistant.yaml:2: temperature: 9 is out of range" in result.stderr


YAML_11_TRAPS = """\
name: helper
instructions: "Answer {{ answer }}, switch {{ switch }}, released {{ released }}."
variables:
  answer: no
  switch: on
  released: 2024-05-01
metadata:
  flag: no
  country: NO
  released: 2024-05-01
  at: 12:30
  yes: y
"""


def test_yaml_11_traps_stay_the_strings_that_were_written(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"assistants/helper/assistant.yaml": YAML_11_TRAPS})

    body = body_of(render_json(root, "local", "helper"), "assistant.helper")
    as_yaml = run("render", "-C", root, "-e", "local", "helper").stdout

    expected = {"flag": "no", "country": "NO", "released": "2024-05-01", "at": "12:30", "yes": "y"}
    assert user_metadata(body) == expected
    assert body["instructions"] == "Answer no, switch on, released 2024-05-01."
    # and the YAML output reads back the same with a YAML 1.1 reader
    assert user_metadata(yaml.safe_load(as_yaml)[0]["body"]) == expected


def test_partials_folder_serves_bare_names_and_macros(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "assistops.yaml": "project: demo\npaths:\n  partials: shared/templates\n"
            "defaults:\n  model: gpt-4o-mini\nenvironments:\n  local: {provider: local}\n",
            "assistants/helper/instructions.md.j2": (
                '{% from "macros.md.j2" import rule %}\n'
                '{% include "tone.md.j2" %}\n'
                "{{ rule('Never guess') }}\n"
                '{% include "shared/templates/tone.md.j2" %}'
            ),
            "shared/templates/tone.md.j2": "Tone: {{ tone | default('plain') }}.\n",
            "shared/templates/macros.md.j2": (
                "{% macro rule(text) %}RULE: {{ text }}!{% endmacro %}"
            ),
        },
    )

    body = body_of(render_json(root, "local", "helper"), "assistant.helper")

    assert body["instructions"] == "Tone: plain.\nRULE: Never guess!\nTone: plain.\n"


def test_ordinary_arithmetic_still_works_in_the_sandbox(tmp_path: Path) -> None:
    # '*' and '**' are bounded (see bad_inputs/template-huge-repetition.yaml), not forbidden
    template = "{{ 'ab' * 3 }} {{ 3 * 'c' }} {{ [0] * 2 }} {{ 2 ** 10 }} {{ 2.5 * 2 }}\n"
    root = write_project(tmp_path, {"assistants/helper/instructions.md.j2": template})

    body = body_of(render_json(root, "local", "helper"), "assistant.helper")

    assert body["instructions"] == "ababab ccc [0, 0] 1024 5.0\n"
