"""元数据 rules: 规范性文件 carry the fields of the metadata table; 文号 in the
standard form of GB/T 9704-2012 7.2.5 (legacy forms build as issued and are
reported here with the standard form suggested); old 规范性文件 without an end of
validity are due for review."""
from __future__ import annotations

import re
from collections.abc import Iterator

from dateutil.relativedelta import relativedelta

from .engine import Hit, later_than, rule
from .unitfacts import UnitFacts

STANDARD = re.compile(r"^\S+?〔\d{4}〕[1-9]\d*号$")
# Brackets editors and older systems use around the year; 第 and leading zeros; 號.
_LOOSE = re.compile(r"^(?P<org>.*?)\s*[\[\(（【［〔{｛]\s*(?P<year>\d{4})\s*[\]\)）】］〕}｝]\s*第?\s*(?P<n>\d+)\s*[号號]$")


def standard_doc_number(value: str) -> str | None:
    """The GB/T 9704 form of a 文号 (``苏办发[2013]45号`` -> ``苏办发〔2013〕45号``), or None."""
    m = _LOOSE.match(value.strip())
    if not m or not m["org"] or int(m["n"]) == 0:
        return None
    return f"{m['org']}〔{m['year']}〕{int(m['n'])}号"


@rule("metadata.required", thresholds={"columns": "list", "fields": "list"})
def required(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    topics = unit.catalogs.vocab.get("topics")
    labels = unit.catalogs.item_labels
    for item in unit.public:
        if item.column not in t["columns"] or item.type != "document":
            continue
        missing = [k for k in t["fields"] if not getattr(item, k, None)]
        problems = [f"缺少 {labels.get(k, k)} ({k})" for k in missing]
        if item.topic and topics is not None and "topic" in t["fields"] and item.topic not in topics:
            problems.append(f"主题分类 '{item.topic}' 不在 catalogs/vocab/topics.yaml 中")
        if item.written and item.written > item.published_date:
            problems.append(f"成文日期 {item.written.isoformat()} 晚于发布日期 {item.published_date.isoformat()}")
        if problems:
            yield Hit("；".join(problems), "规范性文件写明 " + "、".join(labels.get(k, k) for k in t["fields"])
                      + "，成文日期不晚于发布日期", path=item.source, line=item.line(missing[0]) if missing else None,
                      column=item.column, item=item.index_no or item.title)


@rule("metadata.doc-number-form")
def doc_number_form(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.public:
        number = item.doc_number
        if not number or STANDARD.match(number):
            continue
        suggestion = standard_doc_number(number)
        yield Hit(f"文号 '{number}' 不是标准写法",
                  f"标准写法 {suggestion}" if suggestion else "机关代字〔年份〕序号号，如 示政发〔2024〕3号",
                  path=item.source, line=item.line("doc_number"), column=item.column, item=item.index_no or item.title,
                  fix=(f"标准写法：{suggestion}（已印发的文件按原文公开，新文件按标准编号）" if suggestion else None))


@rule("metadata.review-old", thresholds={"columns": "list", "years": "int"}, as_of=True)
def review_old(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.current:
        # published < as-of - years, asked as a comparison: the answer holds until the day it turns
        if item.column in t["columns"] and item.valid_until is None \
                and unit.day >= later_than(item.published_date, relativedelta(years=t["years"])):
            yield Hit(f"发布于 {item.published_date.isoformat()}，已超过 {t['years']} 年，未写有效期",
                      "定期评估清理：写明有效期至 valid_until，或按评估结果标注效力状况", path=item.source,
                      line=item.line("published"), column=item.column, item=item.index_no or item.title)
