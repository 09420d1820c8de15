"""``make new``: start an item with the next free 索引号, the column's required fields
and today's date, then say what is left to fill.

Interactive when stdin is a terminal (asks for what was not given, with lists to
pick from); otherwise takes UNIT= COLUMN= TITLE= (and DOC_NUMBER=, WRITTEN=,
INTERPRETS=, PUBLICITY_UNTIL=, TYPE=) from the arguments or the environment, as
``make new UNIT=… COLUMN=…`` passes them. Nothing is invented: a field only the
editor knows is asked for, or written empty with a note and listed at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .. import catalogs as catalogs_mod
from .. import lifecycle
from ..errors import FieldError
from ..fields import ColumnId, Ctx, Date, DocNumber, IndexRef, Text
from ..schema import read_item
from ..site import item_files
from ..units import Unit, load_units
from .gongwen import genre_of
from .itemfile import TODO, free_path, next_index_no, render, taken_index_nos

# Columns whose items are of another type than a document by default.
COLUMN_TYPES = {"zcjd": "interpretation", "gsgg": "notice"}
WRITABLE_TYPES = ("document", "interpretation", "notice", "page")
PICK_LIST = 15


class Abort(Exception):
    """Stop with this message (exit status 2)."""


def main(argv: list[str] | None = None, ask: Callable[[str], str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gongkai new", description="新建一条公开信息 (start a new item)")
    ap.add_argument("--content", type=Path, default=Path("content"))
    ap.add_argument("--catalogs", type=Path, default=Path("catalogs"))
    for name in ("unit", "column", "title", "doc-number", "written", "interprets", "publicity-until", "type", "slug"):
        ap.add_argument(f"--{name}", default=None)
    args = ap.parse_args(argv)
    given = {k: (v if v is not None else os.environ.get(k.upper(), "")).strip() for k, v in vars(args).items()
             if k not in ("content", "catalogs")}
    if ask is None and sys.stdin.isatty():
        ask = _ask_terminal
    try:
        path, todo = new_item(args.content, args.catalogs, given, ask)
    except Abort as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"已新建 (created): {path}")
    for line in todo:
        print(f"  待填 (to fill): {line}")
    print("  正文写在第二个 --- 之后；写好后运行 make check 检查 (write the body after the second ---, then make check)")
    return 0


def _ask_terminal(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        raise Abort("已取消 (cancelled)") from None


def _value(given: dict, key: str, prompt: str, ask, check: Callable[[str], str] | None, required: bool) -> str:
    """``given[key]`` checked; when missing or wrong, asked again on a terminal."""
    value = given.get(key, "")
    while True:
        if not value and ask is not None:
            value = ask(prompt)
        if not value:
            if required:
                raise Abort(f"缺少 {key.upper()}：{prompt.strip('：: ')} "
                            f"(missing {key.upper()}=; e.g. make new UNIT=… COLUMN=… TITLE=…)")
            return ""
        try:
            return check(value) if check else value
        except FieldError as exc:
            if ask is None:
                raise Abort(f"{key.upper()}={value}: {exc.message}") from None
            print(f"  {exc.message}", file=sys.stderr)
            value = ""


def new_item(content: Path, catalog_dir: Path, given: dict, ask=None) -> tuple[Path, list[str]]:
    cats = catalogs_mod.load(str(catalog_dir.resolve()))
    units, _ = load_units(content, cats)
    if not units:
        raise Abort(f"{content} 里没有单位 (no units in {content})")

    def pick_unit(value: str) -> str:
        if value not in units:
            raise FieldError(f"没有单位 {value!r}，可选：{', '.join(sorted(units))} (unknown unit)")
        return value

    if not given.get("unit") and ask is not None:
        print("单位 (units): " + "，".join(f"{u}（{units[u].name}）" for u in sorted(units)))
    unit = units[_value(given, "unit", "单位代码 (UNIT)：", ask, pick_unit, True)]
    ctx = Ctx(cats, unit, unit.folder)
    fileable = [c for c in cats.leaf_ids(unit.level) if not cats.by_id[c].generated]
    if not given.get("column") and ask is not None:
        print("栏目 (columns): " + "，".join(f"{c}（{cats.by_id[c].name}）" for c in fileable))
    column = cats.by_id[_value(given, "column", "栏目代码 (COLUMN)：", ask, lambda v: ColumnId()(v, ctx), True)]
    item_type = given.get("type") or COLUMN_TYPES.get(column.id, "document")
    if item_type not in WRITABLE_TYPES:
        raise Abort(f"TYPE={item_type}：结构化数据（三公经费、预决算、年报）请照 docs/content.md 的示例编写 "
                    f"(make new writes {', '.join(WRITABLE_TYPES)})")
    title = _value(given, "title", "标题 (TITLE)：", ask, lambda v: Text(max_len=200, one_line=True)(v, ctx), True)
    todo: list[str] = []
    needs_number = "doc_number" in column.requires
    doc_number = _value(given, "doc_number", "文号 (DOC_NUMBER)" + ("" if needs_number else "，没有请直接回车") + "：",
                        ask, lambda v: DocNumber()(v, ctx), False)
    if needs_number and not doc_number:
        todo.append(f"doc_number 文号：{column.name}必须有文号 (required in {column.id})")
    written = _value(given, "written", "成文日期 YYYY-MM-DD（落款日期，不知道请回车）：", ask,
                     lambda v: Date()(v, ctx).isoformat(), False)
    if not written:
        todo.append("written 成文日期：文件落款的日期 (optional, the date signed)")
    interprets: list[str] = []
    publicity_until = ""
    if item_type == "interpretation":
        interprets = _interprets(given, ask, unit, cats, ctx)
        if not interprets:
            todo.append("interprets 解读对象：被解读文件的索引号 (required: the 索引号 of the policy explained)")
    if item_type == "notice":
        publicity_until = _value(given, "publicity_until", "公示截止日期 YYYY-MM-DD（不是公示请回车）：", ask,
                                 lambda v: Date()(v, ctx).isoformat(), False)
        if not publicity_until:
            todo.append("publicity_until 公示截止：公示的最后一天；不是公示请删去这一行 (last day of a 公示)")
    today = lifecycle.as_of()
    taken = taken_index_nos(content)
    index_no = next_index_no(unit, today.year, taken) if item_type != "page" else None
    if index_no is None and item_type != "page":
        todo.append(f"index_no 索引号：按本单位的格式填写 ({unit.index_expected})")
    genre = genre_of(title)
    fields = [("title", title, ""), ("column", column.id, column.name)]
    if item_type != "document":
        fields.append(("type", item_type, ""))
    if item_type != "page":
        fields.append(("index_no", index_no, "" if index_no else f"{TODO}：索引号 (required)"))
    if doc_number or needs_number:
        fields.append(("doc_number", doc_number, "" if doc_number else f"{TODO}：文号 (required)"))
    if item_type == "interpretation":
        fields.append(("interprets", interprets, "" if interprets else f"{TODO}：被解读文件的索引号 (required)"))
    fields += [("written", written, "" if written else "成文日期，可选 (optional)"),
               ("published", today.isoformat(), "发布日期：今天，发布前可改")]
    if item_type == "notice":
        fields.append(("publicity_until", publicity_until, "" if publicity_until else f"{TODO}：公示截止日期"))
    fields += [("topic", None, "主题分类，可选，见 catalogs/vocab/topics.yaml (optional)"),
               ("genre", genre, "" if genre else "体裁，可选：通知 意见 决定 … (optional)")]
    serial = index_no.rsplit("-", 1)[-1] if index_no else "new"
    stem = given.get("slug") or f"{today.year}-{serial}"
    if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in stem):
        raise Abort(f"SLUG={stem}: 文件名只用字母、数字、- 和 _ (expected [A-Za-z0-9_-])")
    folder = unit.folder / column.id
    folder.mkdir(parents=True, exist_ok=True)
    path = free_path(folder, stem)
    path.write_text(render(fields, ""), encoding="utf-8")
    todo.insert(0, "正文 (body)")
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return shown, todo


def _interprets(given: dict, ask, unit: Unit, cats, ctx) -> list[str]:
    """索引号 of the policies explained: given, or picked from the unit's recent policies."""
    raw = given.get("interprets", "")
    if not raw and ask is not None:
        policies = recent_policies(unit, cats)
        for n, item in enumerate(policies, 1):
            print(f"  {n:2d}) {item.published_date} {item.title}（{item.doc_number or '无文号'}）{item.index_no}")
        raw = ask("解读哪个文件？输入编号或索引号，多个用逗号隔开：")
        chosen = []
        for part in [p.strip() for p in raw.replace("，", ",").split(",") if p.strip()]:
            if part.isdigit() and 1 <= int(part) <= len(policies):
                chosen.append(policies[int(part) - 1].index_no)
            else:
                chosen.append(part)
        raw = ",".join(chosen)
    out = []
    for part in [p.strip() for p in raw.replace("，", ",").split(",") if p.strip()]:
        try:
            out.append(IndexRef()(part, ctx))
        except FieldError as exc:
            raise Abort(f"INTERPRETS={part}: {exc.message}") from None
    return out


def recent_policies(unit: Unit, cats, limit: int = PICK_LIST) -> list:
    """The unit's newest items in columns that need a 政策解读 (规章, 规范性文件)."""
    wanted = {c.id for c in cats.by_id.values() if c.interpretation_workdays is not None}
    items = []
    for path in item_files(unit):
        item, _ = read_item(path, unit, cats)
        if item is not None and item.column in wanted and item.index_no:
            items.append(item)
    items.sort(key=lambda i: (i.published, i.index_no), reverse=True)
    return items[:limit]
