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


def working_days_after(start: dt.date, end: dt.date) -> tuple[int, bool]:
    """Working days in (start, end]: how late ``end`` is, counted from ``start``."""
    count, exact = 0, True
    day = start + dt.timedelta(days=1)
    while day <= end:
        work, known = is_workday(day)
        count += work
        exact &= known
        day += dt.timedelta(days=1)
    return count, exact


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
