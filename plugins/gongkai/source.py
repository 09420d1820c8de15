"""Read a content file's bytes into text and split Markdown front matter.

Editors on Windows often save GBK; that is reported with the encoding found and
the line of the first byte that is not UTF-8, instead of a UnicodeDecodeError.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path


class SourceError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError("file is encoded as UTF-16, expected UTF-8 (save it as UTF-8)", 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"file is not UTF-8: it looks like {_guess(data)}; "
                          "convert it, e.g. iconv -f GB18030 -t UTF-8", line) from None
    if _looks_like_gbk(text, data):
        line = next(i for i, ln in enumerate(text.split("\n"), 1) if any("\x80" <= ch < "\u0800" for ch in ln))
        raise SourceError("file is not UTF-8: it looks like GBK/GB18030 (Chinese Windows encoding) that "
                          "happens to decode as UTF-8 garbage; convert it, e.g. iconv -f GB18030 -t UTF-8", line)
    if "\x00" in text:
        raise SourceError("file contains NUL bytes; expected UTF-8 text", data.count(b"\n", 0, data.index(b"\x00")) + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def shown_path(path: Path) -> str:
    """A path as an editor sees it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _looks_like_gbk(text: str, data: bytes) -> bool:
    """Short GBK text can be valid UTF-8 by accident (通知 is CD A8 D6 AA). Real Chinese
    content in UTF-8 has CJK characters (3 bytes each); GBK read as UTF-8 has only
    2-byte Latin/Greek/Cyrillic-range characters. Decide by both readings."""
    # The same test as a scan per character, done by the regex engine (it ran on every file).
    if text.isascii() or not re.search("[\x80-\u07ff]", text) or re.search("[\u0800-\U0010ffff]", text):
        return False
    try:
        other = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return any("\u4e00" <= ch <= "\u9fff" for ch in other)


def _guess(data: bytes) -> str:
    for name, label in (("gb18030", "GBK/GB18030 (Chinese Windows encoding)"), ("big5", "Big5")):
        try:
            data.decode(name)
            return label
        except UnicodeDecodeError:
            continue
    return "an unknown encoding"


@dataclass
class Split:
    front: str
    body: str
    front_line: int   # file line where the YAML starts
    body_line: int    # file line where the body starts


def split_front_matter(text: str) -> Split:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise SourceError("missing front matter: the file must start with a '---' line, "
                          "then YAML fields, then a closing '---' line", 1)
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return Split("\n".join(lines[1:i]), "\n".join(lines[i + 1:]), 2, i + 2)
    raise SourceError("front matter is not closed: expected a '---' line after the fields", 1)
