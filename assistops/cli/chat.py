"""``assistops chat``: talk to a deployed assistant, watching its tool calls as they happen."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from assistops import api
from assistops.cli.console import use_color
from assistops.cli.options import env_option, examples, global_options
from assistops.conversations.results import ToolCall
from assistops.errors import AssistopsError
from assistops.output import test_report

HELP = "commands: /steps (the last reply's run steps), /new (a new thread), /quit (or Ctrl-D)"


class _Shown:
    """Prints the conversation as it happens: text as it streams, a line per tool call."""

    def __init__(self, out: IO[str], color: bool) -> None:
        self.out = out
        self.color = color
        self.streaming = False
        self.wrote = False

    def _line(self, text: str) -> None:
        if self.streaming:  # a tool call in the middle of a reply starts its own line
            self.out.write("\n")
            self.streaming = False
        self.out.write(click.style(text, dim=True) if self.color else text)
        self.out.write("\n")
        self.out.flush()

    def text(self, delta: str) -> None:
        """A piece of the reply, written as it arrives."""
        if not self.streaming:
            label = "assistant> "
            self.out.write(click.style(label, bold=True) if self.color else label)
            self.streaming = True
        self.wrote = True
        self.out.write(delta)
        self.out.flush()

    def tool(self, call: ToolCall) -> None:
        """A tool call, when it is known."""
        if call.type == "function":
            self._line(f"[function] {call.name}({call.arguments})")
        elif call.type == "file_search":
            names = sorted({r.path or r.file_name for r in call.results})
            found = f": {', '.join(names)}" if names else ""
            self._line(f"[file_search] {len(call.results)} results{found}")
        else:
            self._line(f"[code_interpreter] {call.input[:200]}")

    def output(self, call: ToolCall) -> None:
        """A function's output, once submitted."""
        self._line(f"[output] {call.output} ({call.answered_by})")

    def end(self) -> None:
        """The reply is complete."""
        if self.streaming:
            self.out.write("\n")
            self.out.flush()
            self.streaming = False


@click.command()
@click.argument("name", metavar="NAME")
@env_option
@global_options
@examples(
    "assistops chat -e local support",
    "printf 'How do returns work?\\n/steps\\n' | assistops chat -e local support",
)
def chat(name: str, env: str | None) -> None:
    """Talk to the assistant NAME as ENV runs it.

    The reply streams as it arrives and tool calls show as they happen. Function calls are
    answered by the handlers the assistant's tests name, else you type the output. /steps
    prints the last reply's run steps, /new starts a new thread, /quit or Ctrl-D ends; the
    threads are deleted at the end. Reading from a pipe, each line is a message (or a
    function's output, when one is asked for) and the output is plain text.
    """
    stdin = sys.stdin
    out = sys.stdout
    interactive = stdin.isatty()
    color = use_color(out)
    shown = _Shown(out, color)

    def read(prompt: str) -> str | None:
        if interactive:
            try:
                return input(prompt)
            except EOFError:
                return None
        line = stdin.readline()
        return None if not line else line.rstrip("\n")

    def ask(function: str, arguments: str) -> str:
        shown.end()
        answer = read(f"{function} output> ")
        return answer if answer is not None else ""

    with api.chat(Path("."), env, name) as session:
        target = session.target
        if interactive:
            click.echo(
                f"Chatting with {name} in {target.environment} ({target.label}). {HELP}", err=True
            )
        while True:
            try:
                line = read("you> ")
            except KeyboardInterrupt:
                click.echo("", err=True)
                break
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            text = line.strip()
            if not text:
                continue
            if text == "/help":
                click.echo(HELP)
                continue
            if text == "/new":
                session.new()
                click.echo("(a new thread)")
                continue
            if text == "/steps":
                steps = session.steps()
                if not steps:
                    click.echo("(no run yet)")
                for step in steps:
                    for row in test_report.step_lines(step):
                        click.echo(row.strip() if not interactive else row)
                continue
            if text.startswith("/"):
                click.echo(f"unknown command {text}; {HELP}")
                continue
            shown.wrote = False
            try:
                result = session.send(text, shown, ask)
            except KeyboardInterrupt:
                shown.end()
                click.echo("(interrupted: the run was cancelled)", err=True)
                continue
            except AssistopsError as exc:
                shown.end()
                click.echo(f"Error: {exc}", err=True)
                continue
            if result.reply and not shown.wrote:  # nothing streamed: show it whole
                shown.text(result.reply)
            shown.end()
            if result.error:
                click.echo(f"Error: {result.error}", err=True)
            for citation in result.citations:
                click.echo(f"  [cites {citation.path or citation.file_name}]")
    if interactive:
        click.echo("Bye: the threads of this chat were deleted.", err=True)
    sys.stdout.flush()
