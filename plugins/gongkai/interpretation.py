"""政策解读 rules as pure functions: Q&A anchors (see anchors.py), official working
days, and which policies lack a timely interpretation (for the checker)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar

from .anchors import qa_anchor  # noqa: F401 - part of this module's rules
from .items import Item


@functools.lru_cache(maxsize=None)  # pure; chinese-calendar re-scans its tables on every call
def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(working day?, exact?). Official 调休 data exists for the years chinese-calendar
    ships; outside them Monday–Friday is assumed and the answer is marked inexact."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@functools.lru_cache(maxsize=None)
def _year(year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per day of ``year``: working days and inexact days from 1 January up to and
    including that day (index 0 is 1 January)."""
    work, inexact, day = [], [], dt.date(year, 1, 1)
    w = n = 0
    # One library call tells whether the year has official data; then its own tables are
    # read directly (its is_workday scans every holiday for the year range on each call).
    known = is_workday(day)[1]
    while day.year == year:
        is_work = (day in chinese_calendar.workdays or (day.weekday() < 5 and day not in chinese_calendar.holidays)) \
            if known else day.weekday() < 5
        w += is_work
        n += not known
        work.append(w)
        inexact.append(n)
        day += dt.timedelta(days=1)
    return tuple(work), tuple(inexact)


def _through(day: dt.date) -> tuple[int, int]:
    """(working days, inexact days) from 1 January of ``day``'s year through ``day``."""
    work, inexact = _year(day.year)
    i = day.timetuple().tm_yday - 1
    return work[i], inexact[i]


def working_days_after(start: dt.date, end: dt.date) -> tuple[int, bool]:
    """Working days in (start, end]: how late ``end`` is, counted from ``start``.
    Counted from per-year running totals: the checker asks this for every policy."""
    if end <= start:
        return 0, True
    w_end, n_end = _through(end)
    w_start, n_start = _through(start)
    count, inexact = w_end - w_start, n_end - n_start
    for year in range(start.year, end.year):
        work, unknown = _year(year)
        count += work[-1]
        inexact += unknown[-1]
    return count, inexact == 0


@dataclass(frozen=True)
class Gap:
    kind: str                   # "missing" or "late"
    policy: Item
    interpretation: Item | None
    workdays: int | None
    allowed: int
    exact: bool
    basis: str

    def __str__(self) -> str:
        what = f"{self.policy.title}（{self.policy.doc_number or self.policy.index_no}）"
        if self.kind == "missing":
            return f"{what}: 无政策解读 (expected one within {self.allowed} working days; {self.basis})"
        return (f"{what}: 解读晚于文件 {self.workdays} 个工作日{'' if self.exact else '（按周一至周五估算）'} "
                f"(expected at most {self.allowed}; {self.basis})")


def interpretation_gaps(items: list[Item], catalogs) -> list[Gap]:
    """规章/规范性文件 (columns with an ``interpretation`` rule) without an interpretation,
    or whose first interpretation came more than the allowed working days later."""
    by_target: dict[str, list[Item]] = {}
    for item in items:
        if item.type == "interpretation":
            for target in item.interprets:
                by_target.setdefault(target, []).append(item)
    gaps = []
    for policy in sorted(items, key=lambda i: (i.unit, i.index_no or "", i.slug)):
        column = catalogs.by_id.get(policy.column)
        if column is None or column.interpretation_workdays is None or policy.type == "interpretation":
            continue
        allowed = column.interpretation_workdays
        found = sorted(by_target.get(policy.index_no or "", []), key=lambda i: i.published)
        if not found:
            gaps.append(Gap("missing", policy, None, None, allowed, True, column.interpretation_basis))
            continue
        first = found[0]
        days, exact = working_days_after(policy.published_date, first.published_date)
        if days > allowed:
            gaps.append(Gap("late", policy, first, days, allowed, exact, column.interpretation_basis))
    return gaps
