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
    """Parse one YAML document; ``first_line`` is the file line of ``text``'s start.

    Built from the parser's event stream without recursion: content has no use for
    anchors and aliases (an alias bomb expands a few lines into gigabytes), and
    nesting deeper than MAX_DEPTH is refused before it can exhaust the stack (libyaml's
    composer crashes the interpreter on a deep enough document)."""
    return flat(text, first_line) or full(text, first_line)


def full(text: str, first_line: int = 1) -> Doc:
    """``load`` by PyYAML's parser, for any document."""
    doc = Doc(data=None)
    try:
        _build(yaml.parse(text, Loader=_LOADER), doc, first_line)
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
    if isinstance(doc.data, str) and (slip := fullwidth_colon(text, first_line)) is not None:
        raise slip
    return doc


# The front matter of nearly every item: one `key: value` per line, values plain text or
# a one-line `[a, b]` list. ``flat`` reads exactly that subset itself (a fifth of the
# pre-pass's CPU went to PyYAML's event stream, issue 15); anything else — quotes, block
# lists, comments, a character YAML treats specially — goes to the full parser. A key:
# ASCII, short (libyaml refuses implicit keys over 1024 characters).
_FLAT_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,63}):(?: +(.*))?")
# What may not start a plain scalar: YAML's indicators, and a space. (Some may, when a
# non-space follows; those are left to the full parser.)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` \t")
# Characters that end, or change, a plain scalar, or that YAML does not take as printable:
# left to the full parser, which gives its answer or its error.
_UNSAFE = re.compile("[:#\t\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_UNSAFE_ITEM = re.compile("[][{}:#\t\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def flat(text: str, first_line: int = 1) -> Doc | None:
    """``load``'s result for a document of ``key: value`` lines (plain values or one-line
    ``[a, b]`` lists of plain values), else None: then only the full parser answers.
    tests/test_yamlsrc.py holds it to the full parser's result on random documents."""
    doc = Doc(data={})
    data, lines = doc.data, doc.lines
    unsafe, unsafe_item, match = _UNSAFE.search, _UNSAFE_ITEM.search, _FLAT_LINE.fullmatch
    # Lines in the order the full parser records them: the mapping, then each key and its list's items.
    for n, line in enumerate(text.split("\n"), first_line):
        if not line:
            continue
        m = match(line)
        if m is None:
            return None
        key, value = m[1], m[2]
        if key in data:
            return None     # the full parser names the duplicate
        if not lines:
            lines[()] = n
        lines[(key,)] = n
        if not value:
            data[key] = None
        elif value[0] == "[" and value[-1] == "]":
            inner = value[1:-1]
            if unsafe_item(inner):
                return None
            seq = []
            if inner:
                for part in inner.split(","):
                    part = part.strip(" ")
                    if not part or part[0] in _INDICATORS:
                        return None
                    lines[(key, len(seq))] = n
                    seq.append(None if part in NULLS else part)
            data[key] = seq
        elif value[0] in _INDICATORS or value[-1] == " " or unsafe(value):
            return None
        else:
            data[key] = None if value in NULLS else value
    return doc if data else None


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


# Deep enough for every structured type (annual report: section -> row -> cell).
MAX_DEPTH = 20


class _Frame:
    __slots__ = ("value", "path", "key", "index")

    def __init__(self, value, path: Path):
        self.value, self.path, self.key, self.index = value, path, None, 0


def _build(events, doc: Doc, offset: int) -> None:
    stack: list[_Frame] = []
    documents = 0
    for event in events:
        line = event.start_mark.line + offset if event.start_mark else None
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlError("invalid YAML: expected a single document, found another '---' document", line)
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlError("YAML 锚点和别名（& 和 *）不可用，请直接写出内容 (anchors and aliases are not "
                            "allowed in content)", line)
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            continue
        parent = stack[-1] if stack else None
        if parent is not None and isinstance(parent.value, dict) and parent.key is None:
            if not isinstance(event, yaml.ScalarEvent):
                raise YamlError("invalid YAML: a key must be plain text", line)
            key = event.value
            if parent.path + (key,) in doc.lines:
                raise YamlError(f"duplicate key '{key}' (first on line {doc.lines[parent.path + (key,)]})", line)
            doc.lines[parent.path + (key,)] = line
            parent.key = key
            continue
        if parent is None:
            path: Path = ()
            doc.lines[()] = line
        elif isinstance(parent.value, dict):
            path = parent.path + (parent.key,)
        else:
            path = parent.path + (parent.index,)
            doc.lines[path] = line
        if isinstance(event, yaml.ScalarEvent):
            if event.style in ("|", ">"):
                doc.block_scalars.add(path)
            # A quoted '' or 'null' is text; only plain empties are null. (libyaml marks
            # a plain scalar with style '', the pure-Python parser with None.)
            value = None if not event.style and event.value in NULLS else event.value
        else:
            if len(stack) >= MAX_DEPTH:
                raise YamlError(f"嵌套超过 {MAX_DEPTH} 层 (nesting deeper than {MAX_DEPTH} levels)", line)
            value = {} if isinstance(event, yaml.MappingStartEvent) else []
        if parent is None:
            doc.data = value
        elif isinstance(parent.value, dict):
            parent.value[parent.key] = value
            parent.key = None
        else:
            parent.value.append(value)
            parent.index += 1
        if not isinstance(event, yaml.ScalarEvent):
            stack.append(_Frame(value, path))
