"""``assistops completion SHELL``: print the shell's completion script."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from assistops.cli.options import examples, global_options

SHELLS = ("bash", "zsh", "fish")
#: The variable click's completion protocol reads; the scripts below set it.
COMPLETE_VAR = "_ASSISTOPS_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@global_options
@examples(
    'eval "$(assistops completion bash)"        # in ~/.bashrc',
    'eval "$(assistops completion zsh)"         # in ~/.zshrc',
    "assistops completion fish > ~/.config/fish/completions/assistops.fish",
)
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script of SHELL (bash, zsh or fish).

    Commands and options complete, and so do the environments of the project (-e) and the
    declared addresses and names (--target, render NAMES).
    """
    root = ctx.find_root().command
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships the three
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(root, {}, "assistops", COMPLETE_VAR).source())
