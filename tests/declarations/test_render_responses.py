"""``assistops render --format responses``: the Responses request each assistant becomes,
offline, references kept logical; what a request cannot express is named on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import BASE, EXAMPLE, reported, run, write_project

pytestmark = pytest.mark.usefixtures("offline")


def requests(root: Path, env: str, *names: str) -> list[dict[str, Any]]:
    """The requests ``--format responses-json`` prints (the command must succeed)."""
    result = run("render", "-C", root, "-e", env, "--format", "responses-json", *names)
    assert result.exit_code == 0, result.output
    out: list[dict[str, Any]] = json.loads(result.stdout)
    return out


def body(root: Path, env: str, name: str) -> dict[str, Any]:
    """The request body of one assistant."""
    (only,) = requests(root, env, name)
    assert only["address"] == f"assistant.{name}"
    assert only["request"] == "POST /v1/responses"
    out: dict[str, Any] = only["body"]
    return out


def test_support_has_flat_strict_functions_and_its_store_inside_file_search() -> None:
    support = body(EXAMPLE, "local", "support")

    file_search, lookup, ticket = support["tools"]
    assert file_search == {
        "type": "file_search",
        "vector_store_ids": ["${vector_store.handbook}"],
        "max_num_results": 8,
        "ranking_options": {"ranker": "auto", "score_threshold": 0.3},
    }
    parameters = json.loads((EXAMPLE / "functions/lookup_order.json").read_text())
    assert lookup == {
        "type": "function",
        "name": "lookup_order",
        "description": "Look up an order by its number and return its status and items.",
        "parameters": parameters,
        "strict": True,
    }
    assert (ticket["name"], ticket["strict"]) == ("create_ticket", True)
    assert ticket["parameters"]["required"] == ["subject", "priority", "customer"]
    # no response_format declared: ordinary text, the default, so no text.format
    assert "text" not in support
    assert support["model"] == "gpt-4o-mini"
    assert support["instructions"].startswith("You are Acme Support, the customer support")
    assert support["temperature"] == 0.2
    assert "top_p" not in support and "reasoning" not in support
    # the user's metadata, as declared: a response is not a managed object, so no tags
    assert support["metadata"] == {"team": "customer-experience", "owner": "support-team"}
    # what the Responses API has no field for is not sent
    for absent in ("name", "description", "tool_resources", "response_format"):
        assert absent not in support


def test_triage_json_schema_becomes_text_format() -> None:
    triage = body(EXAMPLE, "local", "triage")

    schema = json.loads((EXAMPLE / "response_formats/ticket_classification.json").read_text())
    assert triage["text"] == {
        "format": {
            "type": "json_schema",
            "name": "ticket_classification",
            "description": "Category, urgency and a one-line summary of a support ticket.",
            "schema": schema,
            "strict": True,
        }
    }
    assert (triage["temperature"], triage["top_p"]) == (0, 0.9)
    assert "tools" not in triage


def test_analyst_code_interpreter_has_a_container_of_its_files() -> None:
    analyst = body(EXAMPLE, "local", "analyst")

    assert analyst["tools"] == [
        {
            "type": "code_interpreter",
            "container": {
                "type": "auto",
                "file_ids": [
                    "${file.assistant.analyst:analyst/data/regions.csv}",
                    "${file.assistant.analyst:analyst/data/sales.csv}",
                ],
            },
        }
    ]
    assert analyst["reasoning"] == {"effort": "low"}
    assert analyst["temperature"] == 0.0


def test_environment_overrides_are_carried() -> None:
    prod = body(EXAMPLE, "prod", "support")

    assert (prod["model"], prod["temperature"]) == ("gpt-4o", 0.1)
    assert prod["metadata"] == {
        "team": "customer-experience",
        "owner": "support-team",
        "tier": "production",
    }
    assert "support@acme.example." in prod["instructions"]


def test_an_agents_environment_renders_the_same_requests() -> None:
    # it deploys agents (no file_search, no code interpreter); a request holds both
    assert body(EXAMPLE, "local-agents", "support") == body(EXAMPLE, "local", "support")
    analyst = body(EXAMPLE, "local-agents", "analyst")
    assert analyst["tools"][0]["container"]["file_ids"] == [
        "${file.assistant.analyst:analyst/data/regions.csv}",
        "${file.assistant.analyst:analyst/data/sales.csv}",
    ]


def test_what_a_request_cannot_express_is_named_on_stderr_with_its_line() -> None:
    result = run("render", "-C", EXAMPLE, "-e", "prod", "--format", "responses-json", "support")
    assert result.exit_code == 0, result.output

    json.loads(result.stdout)  # stdout stays a clean request
    assert reported(result) == [
        "support/assistant.yaml:3: display_name: a Responses request has no name: 'Acme "
        "Support' is not sent\n    hint: nothing to fix unless your app needs it: it stays in "
        "the declaration; an app that shows it keeps it itself (metadata is yours and is sent "
        "as declared)",
        "support/assistant.yaml:4: description: a Responses request has no description: it is "
        "not sent\n    hint: nothing to fix unless the model should read it: say it in the "
        "instructions",
    ]


def test_every_assistant_by_default_and_names_select() -> None:
    everything = requests(EXAMPLE, "staging")
    assert sorted(r["address"] for r in everything) == [
        "assistant.analyst",
        "assistant.support",
        "assistant.triage",
    ]
    selected = requests(EXAMPLE, "staging", "triage", "assistant.analyst")
    assert sorted(r["address"] for r in selected) == ["assistant.analyst", "assistant.triage"]


def test_yaml_is_the_same_requests() -> None:
    result = run("render", "-C", EXAMPLE, "-e", "local", "--format", "responses")
    assert result.exit_code == 0, result.output

    assert yaml.safe_load(result.stdout) == requests(EXAMPLE, "local")
    assert "instructions: |" in result.stdout  # block scalars, as render's YAML


@pytest.mark.parametrize("names", [("nope",), ("handbook",), ("support", "nope")])
def test_an_unknown_name_is_an_error(names: tuple[str, ...]) -> None:
    result = run("render", "-C", EXAMPLE, "-e", "local", "--format", "responses", *names)

    assert result.exit_code == 1
    assert "no assistant is named " in result.stderr
    assert result.stdout == ""


def test_an_environment_that_does_not_validate_is_refused(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"assistants/helper/assistant.yaml": "name: helper\ntools: 3\n"})

    result = run("render", "-C", root, "-e", "local", "--format", "responses")

    assert result.exit_code != 0
    assert "assistants/helper/assistant.yaml" in result.stderr
    assert result.stdout == ""


AGENTS_ENV = """\
  agents:
    provider: local
    api: agents
    leave_out: [description, temperature, top_p, file_search, code_interpreter, strict]
    variables:
      greeting: Hello from agents
"""

ODD = {
    "assistops.yaml": BASE["assistops.yaml"] + AGENTS_ENV,
    "assistants/helper/assistant.yaml": """\
name: helper
tools:
  - file_search:
      ranking_options:
        ranker: default_2024_08_21
        score_threshold: 0.5
  - function:
      name: ping
  - mcp:
      server_label: tickets
      transport: {type: http, server_url: https://mcp.demo.example/sse, headers: {X-Team: demo}}
      allowed_tools: [open_ticket]
      required: true
  - mcp:
      server_label: files
      transport: {type: stdio, command: serve-files, cwd: /srv}
  - web_search:
      allowed_domains: [demo.example]
      context_size: low
      location: {country: FR, timezone: Europe/Paris}
      mode: cached
""",
}


def test_what_the_responses_api_lacks_is_left_out_and_named(tmp_path: Path) -> None:
    root = write_project(tmp_path, ODD)

    result = run("render", "-C", root, "-e", "agents", "--format", "responses-json")
    assert result.exit_code == 0, result.output

    (helper,) = json.loads(result.stdout)
    assert helper["body"]["tools"] == [
        # a store is not declared; the ranker the Responses API lacks is not sent
        {
            "type": "file_search",
            "vector_store_ids": [],
            "ranking_options": {"score_threshold": 0.5},
        },
        # no parameters declared: an empty object schema; strict explicit (omitted is strict)
        {
            "type": "function",
            "name": "ping",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        },
        {
            "type": "mcp",
            "server_label": "tickets",
            "server_url": "https://mcp.demo.example/sse",
            "headers": {"X-Team": "demo"},
            "allowed_tools": ["open_ticket"],
        },
        {
            "type": "web_search",
            "filters": {"allowed_domains": ["demo.example"]},
            "search_context_size": "low",
            "user_location": {"type": "approximate", "country": "FR", "timezone": "Europe/Paris"},
            "external_web_access": False,
        },
    ]
    fields = [line.split("\n")[0].split(": ")[:2] for line in reported(result)]
    assert fields == [
        ["assistants/helper/assistant.yaml:1", "display_name"],
        ["assistants/helper/assistant.yaml:3", "tools[0].file_search"],
        ["assistants/helper/assistant.yaml:5", "tools[0].file_search.ranking_options.ranker"],
        ["assistants/helper/assistant.yaml:13", "tools[2].mcp.required"],
        ["assistants/helper/assistant.yaml:16", "tools[3].mcp.transport"],
    ]


RESPONSES_ENV = """\
  responses:
    provider: local
    api: responses
    variables:
      greeting: Hello from responses
"""


def test_validate_names_what_a_responses_environment_cannot_send(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {**ODD, "assistops.yaml": BASE["assistops.yaml"] + AGENTS_ENV + RESPONSES_ENV},
    )
    result = run("validate", "-C", root)
    assert result.exit_code == 1
    problems = [p for p in reported(result) if "(in environment responses)" in p]
    fields = [p.split("\n")[0].split(": ")[:2] for p in problems]
    # the display name is never sent and needs no fix; the rest does, each with its line
    assert fields == [
        ["assistants/helper/assistant.yaml:3", "tools[0].file_search"],
        ["assistants/helper/assistant.yaml:5", "tools[0].file_search.ranking_options.ranker"],
        ["assistants/helper/assistant.yaml:13", "tools[2].mcp.required"],
        ["assistants/helper/assistant.yaml:16", "tools[3].mcp.transport"],
    ]
    assert "hint: serve it over HTTP" in problems[-1]


def test_a_description_is_refused_unless_left_out_on_purpose(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"assistops.yaml": BASE["assistops.yaml"] + RESPONSES_ENV})
    refused = run("validate", "-C", root)
    assert refused.exit_code == 1
    [problem, _] = reported(refused)
    assert problem.startswith("assistants/helper/assistant.yaml:2: description: a Responses")
    assert "or add 'description' to environments.responses.leave_out" in problem

    left_out = RESPONSES_ENV.replace(
        "api: responses\n", "api: responses\n    leave_out: [description]\n"
    )
    root = write_project(tmp_path / "b", {"assistops.yaml": BASE["assistops.yaml"] + left_out})
    assert run("validate", "-C", root).exit_code == 0


def test_leave_out_holds_only_what_a_request_cannot_express(tmp_path: Path) -> None:
    env = RESPONSES_ENV.replace(
        "api: responses\n", "api: responses\n    leave_out: [description, temperature]\n"
    )
    root = write_project(tmp_path, {"assistops.yaml": BASE["assistops.yaml"] + env})
    result = run("validate", "-C", root)
    assert result.exit_code == 1
    [problem, _] = reported(result)
    assert (
        "assistops.yaml" in problem
        and "leave_out: a Responses request can hold temperature" in problem
    )
