"""Read YAML keeping line numbers and leaving every scalar as text.

Plain YAML 1.1 guesses types: ``org_code: 014046317`` becomes an octal int,
``doc_number: 2020`` an int, ``validity: 有效`` stays text only by luck and
``no``/``on`` become booleans. Disclosure metadata must be read by its schema, so
this loader composes the node graph with PyYAML's BaseLoader (every scalar is a
str) and records the line of every key, for error messages that point at the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

import yaml

Path = tuple[Union[str, int], ...]

# libyaml's loader gives the same nodes and marks, several times faster.
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

# Plain scalars YAML users write to mean "nothing".
NULLS = frozenset({"", "~", "null", "Null", "NULL"})


class YamlError(Exception):
    """A syntax problem, with the 1-based line where YAML noticed it."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Doc:
    """A parsed YAML document: plain data plus the line of each key path."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    block_scalars: set[Path] = field(default_factory=set)   # values written as | or > blocks

    def line(self, *path: str | int) -> int | None:
        """Line of the key at ``path``, else of the nearest parent, else None."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def load(text: str, first_line: int = 1) -> Doc:
    """Parse one YAML document; ``first_line`` is the file line of ``text``'s start."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        slip = fullwidth_colon(text, first_line)
        if slip is not None:
            raise slip from None
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}, {problem}"
        raise YamlError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks nearly everything
        raise YamlError(f"invalid YAML: {exc}", None) from None
    doc = Doc(data=None)
    if node is None:
        return doc
    if isinstance(node, yaml.ScalarNode) and (slip := fullwidth_colon(text, first_line)) is not None:
        raise slip
    doc.lines[()] = node.start_mark.line + first_line
    doc.data = _convert(node, (), doc, first_line)
    return doc


# `genre：通知`: the most common Chinese-keyboard slip; YAML only sees a colon-less line.
_FULLWIDTH_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][A-Za-z0-9_-]*)\s*：\s*(.*)$")


def fullwidth_colon(text: str, first_line: int = 1) -> YamlError | None:
    """The first ``key：value`` line (full-width colon), as a message an editor can act on."""
    for n, line in enumerate(text.split("\n")):
        m = _FULLWIDTH_KEY.match(line)
        if m:
            key, value = m[2], m[3].strip()
            fixed = f"{key}: {value}" if value else f"{key}:"
            return YamlError(f"“{key}”后面是全角冒号“：”，请改成半角冒号加一个空格：{fixed} "
                             f"(full-width colon after {key!r}, expected '{key}: ')", n + first_line)
    return None


def _convert(node: yaml.Node, path: Path, doc: Doc, offset: int) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("invalid YAML: a key must be plain text", key_node.start_mark.line + offset)
            key = key_node.value
            line = key_node.start_mark.line + offset
            if key in out:
                raise YamlError(f"duplicate key '{key}' (first on line {doc.lines[path + (key,)]})", line)
            doc.lines[path + (key,)] = line
            out[key] = _convert(value_node, path + (key,), doc, offset)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, child in enumerate(node.value):
            doc.lines[path + (i,)] = child.start_mark.line + offset
            items.append(_convert(child, path + (i,), doc, offset))
        return items
    if node.style in ("|", ">"):
        doc.block_scalars.add(path)
    # A quoted '' or 'null' is text; only plain empties are null. (libyaml marks a
    # plain scalar with style '', the pure-Python composer with None.)
    if not node.style and node.value in NULLS:
        return None
    return node.value
