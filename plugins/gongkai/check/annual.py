"""年度事项 rules: every ``frequency: annual`` 事项 of the domain catalogs that applies
to the unit's level has an item for each past year, by its deadline; the 政府信息公开
工作年度报告 of last year is online by 1月31日 (departments) or 3月31日 (governments)
(条例第四十九条). The 年报's own arithmetic lives in annual_report.py (issue 12)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from .engine import Hit, rule
from .unitfacts import UnitFacts


def _period(item_day: dt.date, deadline: dict) -> int:
    """The year an item of the 事项 is for: a 'by MM-DD after year end' 事项 reports on the year before."""
    return item_day.year - 1 if "by" in deadline else item_day.year


def _due(period: int, deadline: dict) -> dt.date:
    if "by" in deadline:
        month, day = (int(x) for x in deadline["by"].split("-"))
        return dt.date(period + 1, month, day)
    return dt.date(period, 12, 31)


@rule("annual.matter-yearly", thresholds={"since": "str"}, as_of=True)
def matter_yearly(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    if not unit.public:
        return
    unit_first = min(i.published_date for i in unit.public)
    for matter_id in sorted(unit.catalogs.domain_items):
        matter = unit.catalogs.domain_items[matter_id]
        if matter.frequency != "annual" or unit.level not in matter.levels:
            continue
        items = [i for i in unit.public if i.catalog_item == matter_id]
        if t["since"] == "matter":
            if not items:
                continue
            first = min(_period(i.published_date, matter.deadline) for i in items)
        else:
            first = unit_first.year     # a unit that exists in a year reports on that year
        periods: dict[int, list] = {}
        for i in items:
            periods.setdefault(_period(i.published_date, matter.deadline), []).append(i)
        period = first
        while _due(period, matter.deadline) < unit.day:
            due = _due(period, matter.deadline)
            found = periods.get(period, [])
            name = f"{matter.level1}·{matter.level2}（{matter_id}）"
            if not found:
                yield Hit(f"{period}年度没有“{name}”的信息", f"每年公开，期限：{matter.deadline_text or due.isoformat()}",
                          path=f"{unit.folder}/{matter.column}/", column=matter.column, item=matter_id)
            elif "by" in matter.deadline and all(i.published_date > due for i in found):
                late = min(found, key=lambda i: (i.published, i.source))
                yield Hit(f"{period}年度“{name}”于 {late.published_date.isoformat()} 公开，晚于 {due.isoformat()}",
                          f"{due.isoformat()} 前公开", path=late.source, line=late.line("published"),
                          column=matter.column, item=late.index_no or late.title)
            period += 1


def report_due(unit: UnitFacts, year: int, due: dict) -> dt.date | None:
    """The 年报 of ``year`` is due on this day of the next year (None: no rule for this level)."""
    when = due.get(unit.level) or due.get("default") or ""
    try:
        month, day = (int(x) for x in when.split("-"))
        return dt.date(year + 1, month, day)
    except ValueError:
        return None


@rule("annual.report", thresholds={"column": "str", "due": "map"}, as_of=True)
def report(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    if not unit.public:
        return
    year = unit.day.year - 1
    due = report_due(unit, year, t["due"])
    if due is None:
        return
    if due >= unit.day:
        year -= 1   # last year's report is not due yet: check the one before
        due = report_due(unit, year, t["due"])
    if min(i.published_date for i in unit.public) > due:
        return      # the unit's column started after that report was due
    reports = [i for i in unit.public if i.column == t["column"] and
               (str(i.data.get("year", "")) == str(year) or f"{year}年" in i.title)]
    who = "部门" if unit.level == "department" else "政府"
    if not reports:
        yield Hit(f"没有 {year} 年政府信息公开工作年度报告", f"{who}于 {due.isoformat()} 前公开上一年度年报",
                  path=f"{unit.folder}/{t['column']}/", column=t["column"])
        return
    first = min(reports, key=lambda i: (i.published, i.source))
    if first.published_date > due:
        yield Hit(f"{year} 年年报于 {first.published_date.isoformat()} 公开，晚于 {due.isoformat()}",
                  f"{who}于 {due.isoformat()} 前公开", path=first.source, line=first.line("published"),
                  column=t["column"], item=first.index_no or first.title)
