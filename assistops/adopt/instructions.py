"""Live instructions -> the source of an ``instructions.md.j2`` that renders to the same text.

Instructions are Jinja templates, so text that contains Jinja syntax (``{{``, ``{%``, ``{#``) is
wrapped in ``{% raw %}``. Where raw cannot hold the text exactly (it contains ``endraw``, or
characters Jinja rewrites such as ``\\r``), each delimiter is written as an expression that
prints it instead. Either form is checked by rendering it with the project's Jinja settings.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistops.render.templates import make_environment

_SYNTAX = ("{{", "{%", "{#")
# what Jinja treats specially in plain text: a "{" that opens a delimiter (or that would open one
# with the expression written after it), and "\r", which it normalizes to "\n"
_SPECIAL = re.compile(r"\{(?=[{%#\r])|\r")


def renders_to(source: str, text: str) -> bool:
    """True when ``source``, rendered as the project renders instructions, gives ``text``."""
    env = make_environment(Path("."))
    try:
        return env.from_string(source).render() == text
    except Exception:  # any template error simply means "not this form"
        return False


def template_source(text: str) -> str:
    """A template that renders to exactly ``text``."""
    if not any(s in text for s in _SYNTAX) and "\r" not in text:
        return text
    # no newline after {% raw %}: trim_blocks does not apply to raw, so it would be kept
    raw = "{% raw %}" + text + "{% endraw %}"
    if renders_to(raw, text):
        return raw
    return escaped(text)


def escaped(text: str) -> str:
    """``text`` with every special character written as an expression printing it."""
    return _SPECIAL.sub(lambda m: "{{ " + repr(m.group(0)) + " }}", text)
