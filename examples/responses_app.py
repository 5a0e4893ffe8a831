"""An app that runs the example project's support assistant with the Responses API.

The app keeps no model, instructions or tools of its own: it loads the release that
``assistops apply -e local-responses`` published (every assistant's resolved Responses request)
and adds only the user's input. It answers a question from the handbook (file search, with a
file citation) and completes one function-call round trip (``lookup_order``).

Against the local backend (no key, no network), from the repository's root::

    cd assistants && assistops apply -e local-responses --auto-approve
    assistops serve --db .assistops/local-responses.db --port 8765 &
    cd .. && python examples/responses_app.py --base-url http://127.0.0.1:8765/v1

Against OpenAI, the same program with ``OPENAI_API_KEY`` set, ``--base-url`` left out and the
environment of your project that publishes to it.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from openai import OpenAI
from openai.types.responses import ResponseInputParam

import assistops

PROJECT = "acme-support"


def lookup_order(order_number: str, **_: Any) -> dict[str, Any]:
    """The app's own implementation of the declared ``lookup_order`` function."""
    return {"order_number": order_number, "status": "shipped", "carrier": "DHL"}


def ask(client: OpenAI, request: dict[str, Any], question: str) -> str:
    """One turn: the released request plus the question; function calls are run and their
    outputs sent back until the model answers."""
    response = client.responses.create(**request, input=question)
    while True:
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            break
        outputs: ResponseInputParam = []
        for call in calls:
            arguments = json.loads(call.arguments or "{}")
            result = lookup_order(**arguments) if call.name == "lookup_order" else {}
            print(f"  (app ran {call.name}({call.arguments}))")
            outputs.append(
                {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": json.dumps(result),
                }
            )
        response = client.responses.create(
            **request, input=outputs, previous_response_id=response.id
        )
    lines = [response.output_text]
    for item in response.output:
        if item.type == "message":
            for part in item.content:
                for note in getattr(part, "annotations", None) or []:
                    if note.type == "file_citation":
                        lines.append(f"  [cites {note.filename} ({note.file_id})]")
    return "\n".join(lines)


def main() -> None:
    """Load the release and ask the support assistant two questions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="e.g. http://127.0.0.1:8765/v1")
    parser.add_argument("--environment", default="local-responses")
    args = parser.parse_args()
    client = OpenAI(base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", "local"))

    release = assistops.load_release(client, PROJECT, args.environment)
    print(f"release {release.project}/{release.environment} at revision {release.revision}")
    support = release.request("support")

    for question in ("How many days do I have to return an item?", "Please lookup_order A-1001"):
        print(f"> {question}")
        print(ask(client, support, question))


if __name__ == "__main__":
    main()
