"""Text of attachments (.txt .html .csv .docx .xlsx .pdf) for the 个人信息 rule.

The build copies attachments but never reads them, so this is the one place their
text is read: once per public attachment per check, bounded in bytes, characters
and pages. Each chunk keeps where it came from (line, row or page) so a finding
can name it. Libraries: python-docx, openpyxl, pypdf (pinned in requirements).
"""
from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Text:
    path: str                          # as shown to the editor
    unit_of_place: str                 # 行 (line) / 页 (page) / 段 (paragraph) / 行 of a sheet
    chunks: tuple[tuple[int, str], ...]  # (place number, text)


class Unreadable(Exception):
    pass


def extract(path: Path, shown: str, ext: str, max_bytes: int, max_chars: int, max_pages: int) -> Text:
    """The text of one attachment; Unreadable (with the reason) when it cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Unreadable(f"无法读取 (cannot read): {exc.strerror}") from None
    if size > max_bytes:
        raise Unreadable(f"文件过大 {size} 字节 (larger than max_bytes {max_bytes})")
    try:
        data = path.read_bytes()
        if ext in ("txt", "csv", "html", "htm"):
            text = _decode(data)
            if ext == "csv":
                chunks = _csv(text)
            else:
                if ext in ("html", "htm"):
                    text = html.unescape(_TAG.sub(" ", text))
                chunks = [(n, line) for n, line in enumerate(text.split("\n"), 1)]
            return Text(shown, "行", _bound(chunks, max_chars))
        if ext == "docx":
            import docx
            document = docx.Document(io.BytesIO(data))
            chunks = [(n, p.text) for n, p in enumerate(document.paragraphs, 1)]
            for table in document.tables:
                for row in table.rows:
                    chunks.append((len(chunks) + 1, " ".join(c.text for c in row.cells)))
            return Text(shown, "段", _bound(chunks, max_chars))
        if ext == "xlsx":
            import openpyxl
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            chunks, used = [], 0
            for sheet in book.worksheets:
                for n, row in enumerate(sheet.iter_rows(values_only=True), 1):
                    line = " ".join("" if v is None else str(v) for v in row)
                    chunks.append((n, f"{sheet.title}: {line}"))
                    used += len(line)
                    if used > max_chars:
                        break
            book.close()
            return Text(shown, "行", _bound(chunks, max_chars))
        if ext == "pdf":
            import pypdf
            reader = pypdf.PdfReader(io.BytesIO(data))
            chunks, used = [], 0
            for n, page in enumerate(reader.pages[:max_pages], 1):
                text = page.extract_text() or ""
                chunks.append((n, text))
                used += len(text)
                if used > max_chars:
                    break
            return Text(shown, "页", _bound(chunks, max_chars))
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile or broken file is a notice, never a crash
        raise Unreadable(f"无法读取文本 (cannot read text: {type(exc).__name__})") from None
    raise Unreadable(f"不支持的类型 (type {ext} is not read)")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _csv(text: str) -> list[tuple[int, str]]:
    out = []
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
            out.append((n, " ".join(row)))
    except csv.Error:
        out = [(n, line) for n, line in enumerate(text.split("\n"), 1)]
    return out


def _bound(chunks: list[tuple[int, str]], max_chars: int) -> tuple[tuple[int, str], ...]:
    out, used = [], 0
    for place, text in chunks:
        if used >= max_chars:
            break
        out.append((place, text[: max_chars - used]))
        used += len(text)
    return tuple(out)
