"""``assistops test``: run the conversation tests against an environment or the working tree."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.text import Text

from assistops import api
from assistops.cli.console import make_console
from assistops.cli.options import env_option, examples, format_option, global_options, shown_path
from assistops.conversations.junit import junit_xml
from assistops.conversations.results import TestResult
from assistops.errors import ConversationError
from assistops.output import test_report

_STYLE = {"PASS": "bold green", "FAIL": "bold red"}


@click.command(name="test")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@env_option
@click.option(
    "--working-tree",
    is_flag=True,
    help="Deploy the working tree's declarations to a throwaway local backend (or --server), "
    "test there, and remove them: tests a change before it is deployed anywhere.",
)
@click.option(
    "--server",
    "server_url",
    metavar="URL",
    help="With --working-tree: deploy to this 'assistops serve' (e.g. one running a real "
    "model) instead of a throwaway backend; what is deployed is removed afterwards.",
)
@click.option(
    "--server-key-env",
    metavar="VAR",
    help="With --server: the environment variable holding the server's API key.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Conversations run at the same time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds each attempt may take (instead of each test's own timeout).",
)
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the results as JUnit XML to FILE.",
)
@format_option("text", "json", default="text")
@global_options
@examples(
    "assistops test -e local",
    "assistops test -e staging support --junit results.xml",
    "assistops test --working-tree",
    "assistops test --working-tree --server http://127.0.0.1:8765/v1",
    "assistops test -e local support/returns-policy --format json",
)
def test(
    names: tuple[str, ...],
    env: str | None,
    working_tree: bool,
    server_url: str | None,
    server_key_env: str | None,
    jobs: int,
    timeout: float | None,
    junit: Path | None,
    fmt: str,
) -> None:
    """Run the conversation tests (<assistant>/tests/*.yaml) against what ENV runs.

    NAME selects an assistant ('support') or one test ('support/returns-policy'); default:
    every test. Each test gets its own thread (or response chain), deleted afterwards, even
    when it fails or the run is interrupted. A failure prints the conversation and the run
    steps. Exit code 1 when any test fails.
    """
    if (server_url or server_key_env) and not working_tree:
        raise click.UsageError("--server and --server-key-env go with --working-tree")
    if server_key_env and not server_url:
        raise click.UsageError("--server-key-env goes with --server")
    options = api.TestOptions(
        names=names,
        jobs=jobs,
        timeout=timeout,
        working_tree=working_tree,
        server_url=server_url,
        server_key_env=server_key_env,
    )
    out = make_console()
    err = make_console(stderr=True)
    text = fmt == "text"

    def shown(result: TestResult) -> None:
        if not text:
            return
        status = test_report.status_word(result)
        line = Text("  ")
        line.append(status, style=_STYLE[status])
        runs = f"  {result.passes}/{result.repeat}" if result.repeat > 1 else ""
        line.append(f"  {result.id}{runs}  {result.duration_s:.2f}s")
        if not result.passed:
            line.append(f"  {result.first_failure()}")
        out.print(line)

    def start(head: api.TestReport, count: int) -> None:
        if text:
            out.print(test_report.header(head, count), markup=False)
            for note in head.notes:
                err.print(f"note: {note}", markup=False)

    if working_tree and text:
        where = server_url or "a throwaway local backend"
        err.print(f"Deploying the working tree to {where}...", markup=False)
    try:
        report = api.run_tests(Path("."), env, options, on_start=start, on_result=shown)
    except KeyboardInterrupt:
        raise ConversationError(
            "interrupted: the conversations the tests had started were deleted"
        ) from None
    if junit is not None:
        junit.write_text(junit_xml(report, test_report.transcript), encoding="utf-8")
    if not text:
        click.echo(json.dumps(report.document(), indent=2, sort_keys=True))
    else:
        for result in report.tests:
            if not result.passed:
                out.print("", markup=False)
                out.print(test_report.transcript(result), markup=False, highlight=False)
        out.print("", markup=False)
        summary = Text(test_report.summary_line(report))
        summary.stylize("bold green" if report.passed else "bold red")
        out.print(summary)
        if junit is not None:
            err.print(f"JUnit XML written to {shown_path(junit)}", markup=False)
    if not report.passed:
        raise SystemExit(1)
