"""Runs answered by a model: ``assistops serve`` with an upstream (issue 13, parts 2 and 3).

Every test drives the official SDK over real HTTP against a backend whose runs the
scripted upstream answers; most run once per upstream API (Chat Completions, Responses).
"""

from __future__ import annotations

from typing import Any

import openai

from .scripted_upstream import ScriptedUpstream, Turn


def _assistant(sdk: openai.OpenAI, **kw: Any) -> Any:
    kw.setdefault("model", "tiny-chat")
    return sdk.beta.assistants.create(**kw)


def test_a_run_completes_with_the_models_reply_and_its_usage(
    sdk: openai.OpenAI, upstream: ScriptedUpstream, api: str
) -> None:
    upstream.script(Turn(text=["Hello", " there"], usage=(31, 4)))
    assistant = _assistant(sdk, instructions="Be brief.")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert run.last_error is None
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (31, 4)
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    assert reply.role == "assistant" and reply.run_id == run.id
    assert reply.content[0].text.value == "Hello there"  # type: ignore[union-attr]
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert [s.type for s in steps] == ["message_creation"]
    assert steps[0].usage is not None and steps[0].usage.total_tokens == 35
    [sent] = upstream.requests
    assert sent["model"] == "tiny-chat"
    if api == "chat":
        assert sent["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ]
    else:
        assert sent["instructions"] == "Be brief."
        assert sent["input"] == [{"role": "user", "content": "Hi"}]
