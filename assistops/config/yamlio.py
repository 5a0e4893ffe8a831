"""Strict YAML: a safe YAML 1.2 composer that keeps line numbers and refuses surprises.

We compose the node graph with ruamel.yaml and build plain Python values ourselves, so that:
- any tag outside the YAML core schema (``!!python/...``, custom tags) is an error, never code;
- duplicate keys are an error naming both lines;
- YAML 1.1 traps cannot change a value: ``no``/``yes``/``on`` stay strings (YAML 1.2), and an
  unquoted date stays the text that was written;
- alias expansion is bounded (the "billion laughs" document is refused);
- every key and item keeps its line, so errors can point at ``file:line``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from assistops.config.problems import field_path
from assistops.errors import ConfigError, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}


@dataclass
class Document:
    """A parsed YAML file: its data, and the line (1-based) of every key and item in it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    scalars: dict[Path_, str] = field(default_factory=dict)  # source text of non-string scalars

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.lines: dict[Path_, int] = {}
        self.scalars: dict[Path_, str] = {}

    def fail(self, node: Node, path: Path_, message: str, hint: str = "") -> ConfigError:
        line = node.start_mark.line + 1
        return ConfigError([Problem(self.file, line, field_path(path), message, hint)])

    def bad_tag(self, node: Node, path: Path_) -> ConfigError:
        tag = str(node.tag or "")
        shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
        return self.fail(
            node,
            path,
            f"unsupported YAML tag {shown!r}",
            "remove the tag (or quote the value): assistops reads plain YAML data only, "
            "never objects",
        )

    def build(self, node: Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            # point at the key whose value explodes, not deep inside the repeated aliases
            keys = path[: next((i for i, p in enumerate(path) if isinstance(p, int)), len(path))]
            line = self.lines.get(keys, node.start_mark.line + 1)
            raise ConfigError(
                [
                    Problem(
                        self.file,
                        line,
                        field_path(keys),
                        f"document expands to more than {MAX_NODES} values (alias expansion?)",
                        "remove the anchors and aliases that multiply content",
                    )
                ]
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        tag = node.tag or ""
        if isinstance(node, MappingNode):
            if tag != _TAG + "map":
                raise self.bad_tag(node, path)
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if tag != _TAG + "seq":
                raise self.bad_tag(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, MappingNode):
                        raise self.fail(
                            src, path, "a merge key '<<' needs a mapping", "merge an anchor"
                        )
                    for k, v in self._mapping(src, path).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (
                _TAG + "str",
                _TAG + "int",
                _TAG + "bool",
                _TAG + "float",
                _TAG + "null",
                _TAG + "timestamp",
            ):
                raise self.fail(
                    key_node, path, "mapping keys must be plain scalars", "write the key as text"
                )
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise self.fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first defined on line {seen[key]})",
                    "keep one of them",
                )
            seen[key] = line
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _scalar(self, node: ScalarNode, path: Path_) -> Any:
        tag, text = node.tag, node.value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "timestamp":
            # an unquoted date is kept exactly as written: no silent datetime
            return text
        self.scalars[path] = text
        if tag == _TAG + "null" and text in _NULLS:
            return None
        if tag == _TAG + "bool" and text in _BOOLS:
            return _BOOLS[text]
        try:
            if tag == _TAG + "int":
                digits = text.replace("_", "")
                # YAML 1.2 reads 010 as ten; Python's base 0 refuses a leading zero
                return int(digits, 10) if digits.lstrip("+-").isdigit() else int(digits, 0)
            if tag == _TAG + "float":
                low = text.lower().replace("_", "")
                if low in (".inf", "+.inf"):
                    return math.inf
                if low == "-.inf":
                    return -math.inf
                if low == ".nan":
                    return math.nan
                return float(low)
        except ValueError:
            raise self.fail(
                node, path, f"cannot read {text!r} as a number", "quote it if it is text"
            ) from None
        raise self.bad_tag(node, path)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document strictly; raise ConfigError naming ``file`` and the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ConfigError(
            [
                Problem(
                    file,
                    None,
                    "",
                    f"file is larger than {MAX_FILE_BYTES} bytes",
                    "split it; long text belongs in template or knowledge files",
                )
            ]
        )
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        node = yaml.compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in str(exc.problem or ""):
            mark = exc.context_mark  # the end of the file says nothing; where it began does
        line = mark.line + 1 if mark is not None else None
        context = str(exc.context or "")
        if context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            # the construct that failed started elsewhere (an unclosed quote or bracket)
            context += f" (started on line {exc.context_mark.line + 1})"
        message = ": ".join(x for x in (context, str(exc.problem or "")) if x)
        raise ConfigError(
            [Problem(file, line, "", f"invalid YAML: {message}", "fix the YAML syntax")]
        ) from None
    except YAMLError as exc:
        raise ConfigError(
            [Problem(file, None, "", f"invalid YAML: {exc}", "fix the YAML syntax")]
        ) from None
    builder = _Builder(file)
    data = None if node is None else builder.build(node, ())
    return Document(file=file, data=data, lines=builder.lines, scalars=builder.scalars)


def load_yaml(path: Path, display: str) -> Document:
    """Read and parse ``path``; ``display`` is the project-relative name used in errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            [Problem(display, None, "", "file is not valid UTF-8", "save it as UTF-8")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [Problem(display, None, "", f"cannot read file: {exc.strerror}")]
        ) from None
    return parse_yaml(text, display)
