"""One validator per kind of field value.

Each validator takes the raw value as the YAML loader gave it (text, list, mapping
or None) and returns the typed value, or raises FieldError saying what it expected
and what it got. Callers add the file, line and field name.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import images, paths
from .anchors import qa_anchor
from .errors import FieldError


@dataclass
class Ctx:
    """What a validator may need to know: catalogs, the unit, the item's folder."""

    catalogs: Any
    unit: Any = None
    folder: Path | None = None
    root: Path | None = None    # the content folder: every file read must resolve inside it


def q(value: Any) -> str:
    """Quote a value for a message as the editor wrote it (repr would double backslashes)."""
    return f"'{value}'"


def _got(raw: Any) -> str:
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return q(raw)


def blank(raw: Any) -> bool:
    """A value written empty: ``key:``, ``key: ''``, ``key: '  '``, ``key: []`` or ``key: {}``.

    Every reader of fields (items, _unit.yaml, the structured data of 三公 and 预决算)
    asks this one question: an optional field written empty is absent, a required
    one written empty is missing (DESIGN §4)."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return isinstance(raw, (list, dict)) and not raw


# C0 controls (tab and newline are text) and the bidi overrides that make text read
# differently from what it is.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _text(raw: Any, expected: str) -> str:
    if not isinstance(raw, str):
        raise FieldError(f"expected {expected}, got {_got(raw)}")
    return raw.strip()


class Kind:
    expected = "a value"

    def __call__(self, raw: Any, ctx: Ctx) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Text(Kind):
    expected = "text"

    def __init__(self, max_len: int | None = None, one_line: bool = False):
        self.max_len = max_len
        self.one_line = one_line

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        if not value:
            raise FieldError("expected text, got an empty value")
        if self.one_line and "\n" in value:
            raise FieldError("expected one line of text, got several lines")
        bad = _CONTROL.search(value)
        if bad:
            raise FieldError(f"含有控制字符 U+{ord(bad.group(0)):04X}，请删除 (control character in the text)")
        if self.max_len and len(value) > self.max_len:
            raise FieldError(f"expected at most {self.max_len} characters, got {len(value)}")
        return value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$")


class Date(Kind):
    """A calendar date YYYY-MM-DD; with ``allow_time`` also 'YYYY-MM-DD HH:MM[:SS]'."""

    def __init__(self, allow_time: bool = False):
        self.allow_time = allow_time
        self.expected = "a date YYYY-MM-DD" + (" or 'YYYY-MM-DD HH:MM'" if allow_time else "")

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        try:
            if _DATE.match(value):
                day = dt.date.fromisoformat(value)
                return dt.datetime.combine(day, dt.time()) if self.allow_time else day
            m = _DATETIME.match(value)
            if m and self.allow_time:
                return dt.datetime.fromisoformat(f"{m[1]}T{m[2]}:{m[3]}:{m[4] or '00'}")
        except ValueError:
            why = no_such_day(value)
            if why:
                raise FieldError(f"{why}：请改为实有的日期 (no such date {q(value)}, "
                                 f"expected {self.expected})") from None
        raise FieldError(f"expected {self.expected}, got {q(value)}")


def no_such_day(value: str) -> str | None:
    """Why a well-formed YYYY-MM-DD is not a real day, in an editor's words ("11月没有31日")."""
    import calendar
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        return f"没有{month}月（月份是01到12）"
    last = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if day == 0:
        return "日期没有0日（日是01起）"
    if day > last:
        if month == 2 and day == 29:
            return f"{year}年不是闰年，2月没有29日"
        return f"{month}月没有{day}日"
    return None


class Bool(Kind):
    expected = "true or false"

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected).lower()
        if value in ("true", "false"):
            return value == "true"
        raise FieldError(f"expected true or false, got {q(raw)}")


class Choice(Kind):
    """A value from a vocabulary in catalogs/vocab/<name>.yaml."""

    def __init__(self, vocab: str):
        self.vocab = vocab

    def __call__(self, raw, ctx):
        vocab = ctx.catalogs.vocab[self.vocab]
        value = _text(raw, f"one of the {vocab.label} values")
        if value in vocab:
            return value
        near = _near(value, vocab.values)
        if len(vocab.values) <= 20:
            wanted = "one of " + ", ".join(f"'{v}'" for v in vocab.values)
        else:
            wanted = f"a {vocab.label} value"
        raise FieldError(f"expected {wanted} (catalogs/vocab/{self.vocab}.yaml), got {q(value)}"
                         + (f"; did you mean {q(near)}?" if near else ""))


def _near(value: str, options) -> str | None:
    import difflib
    found = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


class Pattern(Kind):
    def __init__(self, regex: str, expected: str):
        self.regex = re.compile(regex)
        self.expected = expected

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        if not self.regex.match(value):
            raise FieldError(f"expected {self.expected}, got {q(value)}")
        return value


class ListOf(Kind):
    """A YAML list; a single scalar is taken as a list of one (or split on commas)."""

    _SPLIT = re.compile(r"\s*[,，、;；]\s*")

    def __init__(self, kind: Kind, split: bool = False):
        self.kind = kind
        self.split = split
        self.expected = f"a list of {kind.expected}"

    def __call__(self, raw, ctx):
        if isinstance(raw, str):
            raw = [p for p in self._SPLIT.split(raw.strip())] if self.split else [raw]
        if not isinstance(raw, list):
            raise FieldError(f"expected {self.expected}, got {_got(raw)}")
        out = []
        for i, item in enumerate(raw):
            try:
                out.append(self.kind(item, ctx))
            except FieldError as exc:
                raise FieldError(f"item {i + 1}: {exc.message}", (i,) + exc.subpath) from None
        return out


class IndexNo(Kind):
    """索引号 in the unit's form (default <org_code>/<YYYY>-<serial>)."""

    expected = "an index number <org_code>/<YYYY>-<serial>"

    def __call__(self, raw, ctx):
        value = Text(max_len=100, one_line=True)(raw, ctx)
        unit = ctx.unit
        if unit is not None and not unit.index_matches(value):
            raise FieldError(f"expected {unit.index_expected}, got {q(value)}")
        return value


class IndexRef(Kind):
    """A reference to another item by 索引号 (checked against all units later)."""

    expected = "an index number of another item"

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        if not re.match(r"^\S+/\S+$", value):
            raise FieldError(f"expected {self.expected} (like 11320282014046317X/2024-00012), got {q(value)}")
        return value


_DOC_NUMBER = re.compile(r"^(?P<org>\S+?)〔(?P<year>\d{4})〕(?P<n>[1-9]\d*)号$")


def doc_number_issues(value: str) -> list[str]:
    """How a 文号 differs from the standard form X〔YYYY〕N号 of GB/T 9704 (六角括号,
    no 第, no leading zero); empty when it is standard. For the checker: older and
    traditional forms are real 文号 of real documents, published as issued."""
    if _DOC_NUMBER.match(value):
        return []
    why = []
    if re.search(r"[\[\]【】()（）{}［］]", value):
        why.append("the year in 六角括号 〔〕, not [] 【】 or ()")
    if "第" in value:
        why.append("no '第' before the number")
    if re.search(r"[〕\]】)）]第?0\d*[号號]$", value):
        why.append("no leading zero in the number")
    if "號" in value:
        why.append("号, not 號")
    elif not value.endswith("号"):
        why.append("ending in 号")
    return why or ["the form 机关代字〔年份〕序号号"]


class DocNumber(Text):
    """文号, published exactly as issued: legacy and traditional forms build (the checker
    reports them, see ``doc_number_issues``); only sanity limits apply here."""

    expected = "a document number like 示政发〔2024〕3号"

    def __init__(self):
        super().__init__(max_len=80, one_line=True)


class ColumnId(Kind):
    expected = "a column id"

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        cats = ctx.catalogs
        level = ctx.unit.level if ctx.unit is not None else None
        col = cats.by_id.get(value)
        leaves = cats.leaf_ids(level) if level else [c.id for c in cats.root.walk() if c.is_leaf]
        if col is not None and col.is_leaf and not col.generated and value in leaves:
            return value    # a column of the unit's level: the lists below name the others
        fileable = [c for c in leaves if not cats.by_id[c].generated]
        if col is None:
            named = [c for c in fileable if cats.by_id[c].name == value]
            if named:
                raise FieldError(f"“{value}”是栏目名称，column 要写栏目代码：请改为 column: {named[0]} "
                                 f"(expected the column id {q(named[0])}, got the column name)")
            near = _near(value, fileable)
            raise FieldError(f"expected a column id from catalogs/columns.yaml, got {q(value)}"
                             + (f"; did you mean {q(near)}?" if near else ""))
        if not col.is_leaf:
            raise FieldError(f"expected a leaf column, got {q(value)} ({col.name}), which has sub-columns: "
                             + ", ".join(c.id for c in col.children))
        if col.generated == "retired":
            raise FieldError(f"column {q(value)} ({col.name}) is built from the lifecycle: file the item in "
                             "its own column and set validity / valid_until / repealed_by")
        if col.generated == "qa":
            raise FieldError(f"column {q(value)} ({col.name}) is built from the qa of interpretations: file "
                             "the interpretation in its own column (e.g. zcjd) with qa")
        if value not in leaves:
            level_name = cats.level_names.get(level, level)
            raise FieldError(f"栏目 {value}（{col.name}）不适用于{level_name}，请改为本级的栏目之一："
                             + "、".join(f"{c}（{cats.by_id[c].name}）" for c in fileable)
                             + f" (column {q(value)} does not apply to {level} units)")
        return value


class DomainItemId(Kind):
    expected = "an id of a 事项 in catalogs/domains/"

    def __call__(self, raw, ctx):
        value = _text(raw, self.expected)
        if value not in ctx.catalogs.domain_items:
            near = _near(value, ctx.catalogs.domain_items)
            raise FieldError(f"expected {self.expected}, got {q(value)}" + (f"; did you mean {q(near)}?" if near else ""))
        return value


@dataclass(frozen=True)
class Attachment:
    name: str
    source: Path
    size: int
    ext: str
    kind: str

    @property
    def size_text(self) -> str:
        if self.size < 1024:
            return f"{self.size} B"
        if self.size < 1024 * 1024:
            return f"{self.size / 1024:.1f} KB"
        return f"{self.size / 1024 / 1024:.1f} MB"


class Attachments(Kind):
    expected = "a list of file names beside the item"

    def __call__(self, raw, ctx):
        names = ListOf(Text())(raw, ctx)
        vocab = ctx.catalogs.vocab["attachments"]
        out = []
        for i, name in enumerate(names):
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or "\\" in name:
                raise FieldError(f"item {i + 1}: expected a file name beside the item, got {q(name)}", (i,))
            ext = Path(name).suffix.lower().lstrip(".")
            if ext not in vocab:
                raise FieldError(f"item {i + 1}: expected a file of type {', '.join(vocab.values)}, got {q(name)}", (i,))
            path = (ctx.folder / name) if ctx.folder else Path(name)
            try:
                paths.check_names(path, ctx.folder or Path.cwd())
                if ctx.root is not None:
                    real = paths.vet(path, ctx.root, links=True)
                elif path.is_file():
                    real = path
                else:
                    raise paths.PathError(path, "文件不存在 (not found)")
                if ext in images.IMAGE_EXTS:
                    images.probe(real)
            except paths.PathError as exc:
                if exc.message.startswith("文件不存在") and exc.path == path:
                    raise FieldError(f"item {i + 1}: file {q(name)} not found beside the item", (i,)) from None
                raise FieldError(f"item {i + 1}: {exc.shown}: {exc.message}", (i,)) from None
            except images.ImageError as exc:
                raise FieldError(f"item {i + 1}: {exc}", (i,)) from None
            out.append(Attachment(name, real, real.stat().st_size, ext, vocab.name(ext)))
        return out


@dataclass(frozen=True)
class QA:
    q: str
    a: str
    a_html: str = ""   # the answer rendered from Markdown (set by the reader)

    @property
    def anchor(self) -> str:
        return qa_anchor(self.q)


class QAList(Kind):
    expected = "a list of {q: question, a: answer}"

    def __call__(self, raw, ctx):
        if not isinstance(raw, list):
            raise FieldError(f"expected {self.expected}, got {_got(raw)}")
        out = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict) or set(entry) != {"q", "a"}:
                raise FieldError(f"item {i + 1}: expected {{q: …, a: …}}, got {_got(entry) if not isinstance(entry, dict) else 'keys ' + ', '.join(entry)}", (i,))
            try:
                pair = QA(Text()(entry["q"], ctx), Text()(entry["a"], ctx))
            except FieldError as exc:
                raise FieldError(f"item {i + 1}: {exc.message}", (i,)) from None
            same = next((n for n, other in enumerate(out, 1) if other.anchor == pair.anchor), None)
            if same:
                raise FieldError(f"item {i + 1}: the same question as item {same} (each question needs its own "
                                 "permalink)", (i,))
            out.append(pair)
        return out
