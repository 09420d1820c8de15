"""``make import SRC=file-or-folder UNIT=… [COLUMN=…]``: turn existing documents into items.

Each document (.docx, .pdf, .html, .txt) is read by ``readers``, its 公文 parts found
by ``gongwen`` (title, 文号, 主送机关, 成文日期 and 发文机关 from the 落款) and, for a
page saved from a government site, its 信息属性 table. The body becomes Markdown with
tables kept, attachments are copied beside the item under safe names, and every
field that was not found is written empty with a note: never guessed. The run prints,
per file, what it found and what is left; ``make check`` then names the same fields.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalogs as catalogs_mod
from ..errors import FieldError
from ..fields import Choice, ColumnId, Ctx, Date
from ..units import Unit, load_units
from . import gongwen, readers
from .itemfile import TODO, free_path, next_index_no, render, taken_index_nos
from .progress import Progress

MAX_FILES = 5000
MAX_ATTACHMENT = 50 * 1024 * 1024
SECONDS_PER_FILE = 60
IMPORT_FOLDER = "imported"   # where items go when no COLUMN= is given


@dataclass
class Result:
    source: Path
    path: Path | None = None
    found: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gongkai import", description="导入已有文件 (import existing documents)")
    ap.add_argument("--content", type=Path, default=Path("content"))
    ap.add_argument("--catalogs", type=Path, default=Path("catalogs"))
    ap.add_argument("--src", default=None)
    ap.add_argument("--unit", default=None)
    ap.add_argument("--column", default=None)
    args = ap.parse_args(argv)
    src = (args.src if args.src is not None else os.environ.get("SRC", "")).strip()
    unit_id = (args.unit if args.unit is not None else os.environ.get("UNIT", "")).strip()
    column = (args.column if args.column is not None else os.environ.get("COLUMN", "")).strip()
    if not src or not unit_id:
        print("用法 (usage): make import SRC=文件或文件夹 UNIT=单位代码 [COLUMN=栏目代码]", file=sys.stderr)
        return 2
    cats = catalogs_mod.load(str(args.catalogs.resolve()))
    units, _ = load_units(args.content, cats)
    if unit_id not in units:
        print(f"UNIT={unit_id}: 没有这个单位，可选：{', '.join(sorted(units))} (unknown unit)", file=sys.stderr)
        return 2
    unit = units[unit_id]
    if column:
        try:
            column = ColumnId()(column, Ctx(cats, unit, unit.folder))
        except FieldError as exc:
            print(f"COLUMN={column}: {exc.message}", file=sys.stderr)
            return 2
    source = Path(src)
    if not source.exists():
        print(f"SRC={src}: 找不到这个文件或文件夹 (not found)", file=sys.stderr)
        return 2
    documents, attachments_of = collect(source)
    if not documents:
        print(f"SRC={src}: 没有可导入的 .docx .pdf .html .txt 文件 (nothing to import)", file=sys.stderr)
        return 2
    taken = taken_index_nos(args.content)
    numbers = imported_numbers(unit)
    results = []
    progress = Progress(len(documents), "导入 (import)", unit_name="个文件")
    for doc_path in documents:
        results.append(import_one(doc_path, attachments_of.get(doc_path, []), unit, column or None, cats, taken,
                                  numbers))
        progress.step()
    progress.done()
    for r in results:
        print(report(r))
    failed = sum(1 for r in results if r.error)
    print(f"导入 {len(results) - failed} 个，失败 {failed} 个；请补齐“待填”各项后运行 make check "
          f"(imported {len(results) - failed}, failed {failed})")
    return 1 if failed else 0


def report(r: Result) -> str:
    if r.error:
        return f"{r.source}: 未导入 (not imported): {r.error}"
    lines = [f"{r.source} -> {r.path}"]
    if r.found:
        lines.append("  找到 (found): " + "；".join(f"{k} {v}" for k, v in r.found.items()))
    lines.append("  待填 (to fill): " + ("；".join(r.missing) if r.missing else "无 (none)"))
    lines += [f"  注意 (note): {n}" for n in r.notes]
    return "\n".join(lines)


def collect(source: Path) -> tuple[list[Path], dict[Path, list[Path]]]:
    """Documents to import, and the files beside each that are its attachments
    (``<name>-附件1.pdf``, ``<name>_附件.xlsx`` …, or a saved page's ``<name>_files/``)."""
    if source.is_file():
        files = [source]
        siblings = sorted(p for p in source.parent.iterdir() if p.is_file())
    else:
        files = siblings = sorted(p for p in source.rglob("*") if p.is_file()
                                  and not any(part.startswith(".") for part in p.relative_to(source).parts))
    files = [p for p in files if not p.is_symlink()][:MAX_FILES]
    docs = [p for p in files if p.suffix.lower() in readers.SUFFIXES or p.suffix.lower() in (".doc", ".wps")]
    attachments: dict[Path, list[Path]] = {}
    for doc in list(docs):
        mine = [p for p in siblings if p != doc and p.parent == doc.parent and _is_attachment_of(p, doc)]
        if mine:
            attachments[doc] = mine
    attached = {p for ps in attachments.values() for p in ps}
    docs = [d for d in docs if d not in attached and not any(part.endswith(("_files", ".files"))
                                                             for part in d.parent.parts)]
    return docs, attachments


def _is_attachment_of(path: Path, doc: Path) -> bool:
    rest = path.stem[len(doc.stem):] if path.stem.startswith(doc.stem) else None
    return rest is not None and bool(re.match(r"^[-_ —]*(附件|附表|附|attachment)", rest, re.I))


@contextlib.contextmanager
def time_limit(seconds: int):
    """Stop a reader that takes too long on a hostile file (main thread, POSIX)."""
    if not hasattr(signal, "SIGALRM") or os.name != "posix":
        yield
        return

    def stop(signum, frame):
        raise readers.ReadError(f"读取超过 {seconds} 秒，已停止 (timed out)")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def import_one(path: Path, extra_attachments: list[Path], unit: Unit, column: str | None, cats,
               taken: set[str], numbers: dict[str, str] | None = None) -> Result:
    result = Result(path)
    try:
        with time_limit(SECONDS_PER_FILE):
            doc = readers.read(path)
    except readers.ReadError as exc:
        result.error = str(exc)
        return result
    except RecursionError:
        result.error = "文件结构嵌套过深，未读取 (nesting too deep)"
        return result
    parts = gongwen.extract(doc.lines)
    ctx = Ctx(cats, unit, unit.folder)
    meta = doc.meta
    result.notes += doc.notes
    title = parts.title or _clean_title(meta.get("title"))
    doc_number = gongwen.find_doc_number(meta.get("doc_number", "")) or parts.doc_number
    written = parts.written or _date(meta.get("written"), ctx)
    published = _date(meta.get("published"), ctx)
    issuer = parts.issuer or (meta.get("issuer") or "").strip() or None
    topic = None
    if meta.get("topic"):
        try:
            topic = Choice("topics")(meta["topic"].strip(), ctx)
        except FieldError:
            result.notes.append(f"原网页的主题分类 {meta['topic']!r} 不在主题分类表中，未采用 (topic not in the vocabulary)")
    index_no = None
    old_index = (meta.get("index_no") or "").strip()
    if old_index and unit.index_re.match(old_index) and old_index not in taken:
        index_no = old_index
    else:
        year = (published or written).year if (published or written) else None
        index_no = next_index_no(unit, year, taken) if year else None
        if old_index:
            result.notes.append(f"原索引号 {old_index} 不符合本单位格式或已被使用，"
                                + (f"已改用 {index_no}" if index_no else "请另填") + " (old 索引号 not used)")
    if index_no:
        taken.add(index_no)
    numbers = imported_numbers(unit) if numbers is None else numbers
    if doc_number and doc_number in numbers:
        result.notes.append(f"本单位已有文号为 {doc_number} 的信息（{numbers[doc_number]}），"
                            "可能已导入过，请核对后删去重复的一条 (same 文号 already in this unit)")
    column_obj = cats.by_id.get(column) if column else None
    needs_number = column_obj is not None and "doc_number" in column_obj.requires

    found = {"标题 title": title, "文号 doc_number": doc_number, "主送机关": parts.addressee,
             "成文日期 written": written.isoformat() if written else None, "发文机关 issuer": issuer,
             "发布日期 published": published.isoformat() if published else None, "主题分类 topic": topic,
             "索引号 index_no": index_no}
    result.found = {k: v for k, v in found.items() if v}
    fields = [("title", title, "" if title else f"{TODO}：标题，未找到 (required)"),
              ("column", column, column_obj.name if column_obj else f"{TODO}：栏目代码，如 gfxwj (required)"),
              ("index_no", index_no, "" if index_no else f"{TODO}：索引号，未能确定年份 (required)"),
              ("doc_number", doc_number, "" if doc_number else ("未找到文号" + ("，必填 (required)" if needs_number
                                                                          else "，没有文号可删去此行"))),
              ("issuer", issuer, "" if issuer else "未找到发文机关，不填即为本单位名称 (optional)"),
              ("written", written.isoformat() if written else None, "" if written else "未找到成文日期 (optional)"),
              ("published", published.isoformat() if published else None,
               "" if published else f"{TODO}：发布日期 YYYY-MM-DD (required)"),
              ("topic", topic, "" if topic else "主题分类，可选 (optional)"),
              ("genre", gongwen.genre_of(title), "")]
    result.missing = [label for key, label in (
        ("title", "title 标题"), ("column", "column 栏目"), ("index_no", "index_no 索引号"),
        ("published", "published 发布日期")) if not dict((k, v) for k, v, _ in fields)[key]]
    if needs_number and not doc_number:
        result.missing.append("doc_number 文号")
    for label, value in (("written 成文日期", written), ("issuer 发文机关", issuer)):
        if not value:
            result.notes.append(f"未找到 {label}（可选，请核对原件）(not found)")
    blocks = doc.blocks[parts.body_start:parts.body_end] if parts.title or parts.doc_number else doc.blocks
    if doc.reflow:
        blocks = readers.reflow(blocks)
    body = "\n\n".join(b.markdown for b in blocks if b.markdown)
    folder = unit.folder / (column or IMPORT_FOLDER)
    year_serial = index_no.rsplit("/", 1)[-1] if index_no and re.search(r"\d{4}-\d+$", index_no) else None
    stem = year_serial or "import-" + hashlib.sha256(path.name.encode()).hexdigest()[:8]
    folder.mkdir(parents=True, exist_ok=True)
    target = free_path(folder, stem)
    links = [(path.parent / href.split("?")[0].split("#")[0]) for href in doc.links]
    names = copy_attachments(extra_attachments + links, path.parent, folder, result)
    if names:
        fields.append(("attachments", names, ""))
    target.write_text(render(fields, body), encoding="utf-8")
    result.path = target
    if doc_number:
        numbers.setdefault(doc_number, target.name)
    return result


_NUMBER_LINE = re.compile(r"^doc_number\s*:\s*['\"]?([^'\"#\n]+?)['\"]?\s*(?:#.*)?$", re.M)


def imported_numbers(unit: Unit) -> dict[str, str]:
    """文号 -> file, of the unit's items, read by their line (for a re-import warning)."""
    out: dict[str, str] = {}
    for path in sorted(unit.folder.rglob("*.md")):
        if path.is_file() and not path.is_symlink():
            head = path.read_bytes()[:8192].decode("utf-8", "replace")
            for number in _NUMBER_LINE.findall(head):
                out.setdefault(number.strip(), path.name)
    return out


def _clean_title(value: str | None) -> str | None:
    value = re.sub(r"\s+", "", value or "")
    return value[:200] or None


def _date(value: str | None, ctx) -> object:
    if not value:
        return None
    value = value.strip()
    m = re.search(r"\d{4}-\d{1,2}-\d{1,2}", value.replace("/", "-").replace(".", "-"))
    if m:
        y, mo, d = (int(x) for x in m.group(0).split("-"))
        try:
            return Date()(f"{y:04d}-{mo:02d}-{d:02d}", ctx)
        except FieldError:
            return None
    return gongwen.parse_date(value)


_UNSAFE = re.compile(r"[^\w\u4e00-\u9fff.()（）-]+")


def safe_name(name: str) -> str:
    """A file name that is safe on every system and in a URL path: letters, digits, CJK,
    . - _ and brackets; no leading dot; at most 80 characters before the suffix."""
    stem, suffix = os.path.splitext(name)
    stem = _UNSAFE.sub("_", stem).strip("._") or "附件"
    suffix = _UNSAFE.sub("", suffix.lower())[:10]
    return stem[:80] + suffix


def copy_attachments(paths: list[Path], base: Path, folder: Path, result: Result) -> list[str]:
    names: list[str] = []
    seen: set[Path] = set()
    allowed = set(readers.ATTACHMENT_TYPES)
    for path in paths:
        try:
            real = path.resolve()
            real.relative_to(base.resolve())
        except (ValueError, OSError):
            result.notes.append(f"附件 {path.name} 不在原文件的文件夹内，未复制 (outside the source folder)")
            continue
        if real in seen:
            continue
        seen.add(real)
        if path.is_symlink() or not real.is_file():
            result.notes.append(f"附件 {path.name} 找不到，未复制 (attachment not found)")
            continue
        if real.suffix.lower().lstrip(".") not in allowed:
            result.notes.append(f"附件 {path.name} 类型不允许，未复制 (type not allowed)")
            continue
        if real.stat().st_size > MAX_ATTACHMENT:
            result.notes.append(f"附件 {path.name} 超过 {MAX_ATTACHMENT // 1024 // 1024} MB，未复制 (too large)")
            continue
        name = safe_name(real.name)
        target = free_path(folder, Path(name).stem, Path(name).suffix)
        shutil.copyfile(real, target)
        names.append(target.name)
    return names
