"""The list of commands; each lives in its own module and is added to the group here."""

from __future__ import annotations

import click

from assistops.cli.apply import apply, destroy
from assistops.cli.completion import completion
from assistops.cli.export import export
from assistops.cli.import_ import import_
from assistops.cli.init import init
from assistops.cli.plan import plan
from assistops.cli.promote import promote
from assistops.cli.render import render
from assistops.cli.serve import serve
from assistops.cli.show import show
from assistops.cli.status import status
from assistops.cli.validate import validate

COMMANDS: list[click.Command] = [
    init,
    validate,
    render,
    plan,
    show,
    status,
    apply,
    destroy,
    promote,
    import_,
    export,
    serve,
    completion,
]
