"""``make fix-encoding FILE=…``: convert a GBK/GB18030 or Big5 file to UTF-8 in place.

Shows the first lines as the build reads them now and as they will read after the
conversion, asks on a terminal, keeps the original as ``FILE.bak``, and refuses when
the file is already UTF-8 or cannot be decoded as any of the Chinese encodings.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from ..source import SourceError, read_text

SHOWN_LINES = 8
MAX_SIZE = 20 * 1024 * 1024


def convert(data: bytes) -> tuple[str, str] | None:
    """(encoding, text) of a file that is not UTF-8; None when it is UTF-8 or undecodable."""
    for name in ("gb18030", "big5"):
        try:
            return name, data.decode(name)
        except UnicodeDecodeError:
            continue
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gongkai fix-encoding", description="把文件转为 UTF-8 (convert a file to UTF-8)")
    ap.add_argument("file", nargs="?", default=None)
    ap.add_argument("--yes", action="store_true", help="do not ask")
    args = ap.parse_args(argv)
    name = (args.file if args.file is not None else os.environ.get("FILE", "")).strip()
    if not name:
        print("用法 (usage): make fix-encoding FILE=content/单位/栏目/文件.md", file=sys.stderr)
        return 2
    path = Path(name)
    if path.is_symlink() or not path.is_file():
        print(f"{name}: 找不到这个文件 (not a regular file)", file=sys.stderr)
        return 2
    if path.stat().st_size > MAX_SIZE:
        print(f"{name}: 文件过大，未转换 (file too large)", file=sys.stderr)
        return 2
    data = path.read_bytes()
    try:
        read_text(path)
        print(f"{name}: 已经是 UTF-8，无需转换 (already UTF-8)")
        return 0
    except SourceError:
        pass
    found = convert(data)
    if found is None:
        print(f"{name}: 不是 GBK/GB18030 或 Big5，无法自动转换：请用记事本“另存为”UTF-8 (unknown encoding)",
              file=sys.stderr)
        return 1
    encoding, text = found
    before = data.decode("utf-8", "replace").splitlines()[:SHOWN_LINES]
    after = text.splitlines()[:SHOWN_LINES]
    print(f"{name}: 按 {encoding.upper()} 转为 UTF-8，前 {SHOWN_LINES} 行的变化 (first lines, before -> after):")
    for line in difflib.unified_diff(before, after, "现在 (now)", "转换后 (after)", lineterm="", n=0):
        print("  " + line)
    if not args.yes and sys.stdin.isatty():
        answer = input("转换吗？(y/N) ").strip().lower()
        if answer not in ("y", "yes", "是"):
            print("未转换 (not converted)")
            return 1
    backup = path.with_name(path.name + ".bak")
    if backup.exists() or backup.is_symlink():
        print(f"{backup} 已存在，未转换：请先移走它 (backup exists)", file=sys.stderr)
        return 1
    backup.write_bytes(data)
    path.write_text(text, encoding="utf-8", newline="")
    print(f"已转换 (converted): {name}；原文件保存为 {backup.name}，核对无误后可删除 (original kept)")
    return 0
