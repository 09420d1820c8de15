"""个人信息 rules: no unmasked 身份证号 (valid checksum and birth date) or mobile
number in what a unit publishes — body, 问答, and the text of attachments (read once
by extract.py) — and every 公示 ends (``publicity_until``), so its personal data
leaves the site. Masked forms (320282********4512, 139****5678) pass; org codes and
索引号 of every unit are not personal IDs. Findings never repeat the number in clear."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator

from ..items import DIGIT_RUN
from .engine import Hit, rule
from .unitfacts import UnitFacts

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9})(?![0-9A-Za-z])")
_RUN = DIGIT_RUN
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def is_id_number(value: str, today: dt.date | None = None) -> bool:
    """GB 11643: an 18-character 公民身份号码 with a valid birth date and check digit."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or (today and born > today):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17].upper()


def mask(value: str) -> str:
    return f"{value[:6]}{'*' * 8}{value[-4:]}" if len(value) == 18 else f"{value[:3]}****{value[-4:]}"


def not_id_tokens(codes: Iterable[str]) -> frozenset[str]:
    """The digit runs of org codes and 索引号 that look like a 身份证号 or a mobile number."""
    out = set()
    run = _RUN.search
    for code in codes:
        if not run(code):
            continue    # both patterns need 11 digits in a row: most 索引号 stop here (every build reads them all)
        out.update(m[1] for m in _ID.finditer(code))
        out.update(m[1] for m in _MOBILE.finditer(code))
    return frozenset(out)


def personal_numbers(text: str, not_ids: Iterable[str] = (), today: dt.date | None = None) -> list[tuple[str, str]]:
    """(kind, masked number) of every unmasked 身份证号 or mobile number in ``text``.

    ``not_ids``: org codes and 索引号 (or their ``not_id_tokens``), never reported."""
    if not _RUN.search(text):
        return []   # both patterns need 11 digits in a row: most lines stop here, fast
    skip = not_ids if isinstance(not_ids, frozenset) else not_id_tokens(not_ids)
    out = []
    for m in _ID.finditer(text):
        if is_id_number(m[1], today) and m[1] not in skip:
            out.append(("身份证号", mask(m[1])))
    for m in _MOBILE.finditer(text):
        if m[1] not in skip:
            out.append(("手机号", mask(m[1])))
    return out


def _places(unit: UnitFacts) -> Iterator[tuple[str, int | None, str, str]]:
    """(file, line or page, place word, text) of everything the unit's pages show."""
    for item in unit.shown:
        yield item.source, item.line("title"), "行", item.title
        if item.summary:
            yield item.source, item.line("summary"), "行", item.summary
        if item.digit_runs is False:
            continue   # a slim item whose body and 问答 have no run of 11 digits (spool.slim): nothing to load
        full = unit.full(item)   # the body and the answers are read here only, one unit at a time
        if _RUN.search(full.body):   # a body with no run of 11 digits has no line to report: one search
            for offset, line in enumerate(full.body.split("\n")):
                yield item.source, item.body_line + offset, "行", line
        for n, pair in enumerate(full.qa):
            yield item.source, item.lines.get(("qa", n, "q")), "行", pair.q
            yield item.source, item.lines.get(("qa", n, "a")), "行", pair.a
    for text in unit.texts:
        for place, chunk in text.chunks:
            yield text.path, place, text.unit_of_place, chunk


@rule("privacy.personal-info", thresholds={"attachment_exts": "list", "max_bytes": "int", "max_chars": "int",
                                           "max_pages": "int"}, as_of=True)   # a birth date after the as-of date is no 身份证号
def personal_info(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for path, place, word, text in _places(unit):
        found = personal_numbers(text, unit.not_ids, unit.day)
        if found:
            where = f"第 {place} 页" if word == "页" else (f"第 {place} {word}" if place else "")
            yield Hit(f"{where}有未遮盖的" + "、".join(f"{kind} {number}" for kind, number in found),
                      "身份证号、手机号遮盖后公开（如 320282********4512、139****5678）", path=path,
                      line=place)


@rule("privacy.attachment-unread")
def attachment_unread(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for path, why in unit.unread:
        yield Hit(f"附件未检查：{why}", "可读取文本、大小在限度内的附件", path=path)


@rule("privacy.publicity-until", thresholds={"title_marker": "str"})
def publicity_until(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.public:
        if item.type == "notice" and t["title_marker"] in item.title and item.publicity_until is None:
            yield Hit("公示没有写公示截止日期", "写明公示截止 publicity_until（期满后正文、附件自动撤下）",
                      path=item.source, line=item.line("title"), column=item.column, item=item.index_no or item.title)
