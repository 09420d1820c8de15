"""Read a content file's bytes into text and split Markdown front matter.

Editors on Windows often save GBK; that is reported with the encoding found and
the line of the first byte that is not UTF-8, instead of a UnicodeDecodeError.
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import parts_below, read_regular


class SourceError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def read_bytes(path: Path | str) -> bytes:
    """The file's bytes: open, fstat, one read (Path.read_bytes makes four more system
    calls a file: an ioctl, two lseeks and a read to see the end; a province reads every
    item)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_sized(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def read_sized(fd: int, size: int) -> bytes:
    """The rest of an open file that fstat says holds ``size`` bytes, in one read when it
    does; a read that stops short of that size, or goes past it, reads on to the end."""
    data = os.read(fd, size + 1)
    if len(data) == size:
        return data
    parts = [data]
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def read_walked(full: str, root: str, max_bytes: int, stat_out: list | None = None) -> bytes | None:
    """The bytes of ``full`` (absolute, normal), a file below the content folder ``root``
    that the caller's ``paths.walk_kinds`` listed as a regular file (or as a link), reached
    through real folders: then ``paths.vet`` would lstat each part again only to see what
    the walk saw. Here the file is opened without following a link and without blocking,
    and the open file is checked: a regular file within ``max_bytes``, whose real path
    (the kernel's, ``/proc/self/fd``) is ``full`` itself, so no part of the way was a link
    when it was opened (a folder swapped for a link after the walk included). None when
    anything is not so (a link, a FIFO, gone, too large, unreadable, no ``/proc``):
    nothing is read, and the caller vets the path as before, which names what is wrong.
    Three system calls and no Python loop where vet makes three lstats. ``stat_out``: see
    ``paths.read_regular``."""
    parts = parts_below(full, root)
    if not parts:
        return None
    try:
        return read_regular(full, max_bytes, same_path=full, stat_out=stat_out)
    except (OSError, ValueError):
        return None


def read_text(path: Path, data: bytes | None = None) -> str:
    """The text of the file at ``path`` (``data``: its bytes, when the caller has read them)."""
    if data is None:
        try:
            data = read_bytes(path)
        except OSError as exc:  # permissions, a folder removed mid-build, an I/O error
            raise SourceError(f"无法读取文件 (cannot read the file: {exc.strerror or exc})") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError("文件是 UTF-16 编码，请另存为 UTF-8 (file is encoded as UTF-16, expected UTF-8: save it as UTF-8)", 1)
    utf16 = _utf16_without_bom(data)
    if utf16:
        raise SourceError(f"文件是 {utf16} 编码（没有 BOM）(file is encoded as {utf16} without a BOM, expected UTF-8; "
                          "save it as UTF-8)", 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(encoding_message(_guess(data), path), line) from None
    if _looks_like_gbk(text, data):
        line = next(i for i, ln in enumerate(text.split("\n"), 1) if any("\x80" <= ch < "\u0800" for ch in ln))
        raise SourceError(encoding_message("GBK/GB18030 (Chinese Windows encoding)", path), line)
    if "\x00" in text:
        raise SourceError("文件含有 NUL 字节，不是文本文件 (file contains NUL bytes; expected UTF-8 text)", data.count(b"\n", 0, data.index(b"\x00")) + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def encoding_message(found: str, path: Path) -> str:
    """The not-UTF-8 message: a fix that works on Windows (Notepad) and one command."""
    zh = {"GBK/GB18030 (Chinese Windows encoding)": "GBK/GB18030，中文 Windows 常用的编码",
          "Big5": "Big5，繁体中文编码"}.get(found, "未知编码")
    return (f"文件不是 UTF-8 编码（看起来是 {zh}）：用记事本打开，点“文件 → 另存为”，"
            f"“编码”选 UTF-8 后保存；或运行 make fix-encoding FILE={shown_path(path)} "
            f"(file is not UTF-8: it looks like {found})")


def shown_path(path: Path) -> str:
    """A path as an editor sees it: relative to the working folder when inside it
    (a symbolic link named as the link, not as its target)."""
    from .paths import shown
    return shown(path)


def _utf16_without_bom(data: bytes) -> str | None:
    """Notepad's "Unicode" is UTF-16LE; without a BOM it is neither UTF-8 nor GBK.

    Text in UTF-16 has a NUL in every other byte for ASCII, and decodes to CJK,
    ASCII and line breaks; GBK or UTF-8 text decoded that way gives mostly
    unassigned or rare code points, and never the newline UTF-16 files carry."""
    if len(data) < 4 or len(data) % 2:
        return None
    # Either reading has a newline only from a 0x0A byte beside a 0x00 one: without a NUL
    # byte (every UTF-8 text file) neither can answer, and the two decodings are not made.
    if b"\x00" not in data:
        return None
    for codec, label in (("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\n" not in text:
            continue
        usual = sum(1 for ch in text if ch in "\n\r\t" or " " <= ch <= "~" or "\u3000" <= ch <= "\u303f"
                    or "\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
        if usual >= 0.95 * len(text):
            return label
    return None


def _looks_like_gbk(text: str, data: bytes) -> bool:
    """Short GBK text can be valid UTF-8 by accident (通知 is CD A8 D6 AA). Real Chinese
    content in UTF-8 has CJK characters (3 bytes each); GBK read as UTF-8 has only
    2-byte Latin/Greek/Cyrillic-range characters. Decide by both readings."""
    # The same test as a scan per character, done by the regex engine (it ran on every file).
    # A CJK character is looked for first: in Chinese text it is found within a few characters,
    # where the search for a 2-byte one reads the whole text to find none.
    if text.isascii() or re.search("[\u0800-\U0010ffff]", text) or not re.search("[\x80-\u07ff]", text):
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


# What an editor reads when the front matter is missing or left open (DESIGN §9: Chinese first).
NO_FRONT_MATTER = ("缺少文件头：文件第一行须为 ---，其后是 YAML 字段，再以一行 --- 结束 (missing front matter: the "
                   "file must start with a '---' line, then YAML fields, then a closing '---' line)")
OPEN_FRONT_MATTER = ("文件头未结束：字段之后须有一行 --- (front matter is not closed: expected a '---' line after "
                     "the fields)")


@dataclass
class Split:
    front: str
    body: str
    front_line: int   # file line where the YAML starts
    body_line: int    # file line where the body starts


def split_front_matter(text: str) -> Split:
    # Line by line up to the closing line only: the body is cut out as it is, not split
    # into lines and joined again (the same strings as ``text.split("\n")`` gave).
    end = text.find("\n")
    if (text if end < 0 else text[:end]).strip() != "---":
        raise SourceError(NO_FRONT_MATTER, 1)
    first = start = end + 1   # where line 1 starts; the line found is line i
    i = 1
    while end >= 0:
        end = text.find("\n", start)
        if (text[start:] if end < 0 else text[start:end]).strip() in ("---", "..."):
            return Split(text[first:start - 1], "" if end < 0 else text[end + 1:], 2, i + 2)
        start, i = end + 1, i + 1
    raise SourceError(OPEN_FRONT_MATTER, 1)
