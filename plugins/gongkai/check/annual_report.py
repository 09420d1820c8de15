"""年报 rules (issue 12): the 政府信息公开工作年度报告's own arithmetic (its 勾稽关系,
国办公开办函〔2021〕30号) and its consistency with last year's report and with the unit's
own 规章/行政规范性文件. The findings themselves come from annual/rules.py (pure
functions, tested there); this module only hands them to the checker.

Content validation already refuses a report whose arithmetic fails, so
``annual.arithmetic`` fires only where that validation was bypassed; the
comparisons of ``annual.consistency`` are what a valid report can still get wrong.
"""
from __future__ import annotations

from collections.abc import Iterator

from ..annual import checker as annual_checker
from .engine import Hit, rule
from .unitfacts import UnitFacts


def _hits(unit: UnitFacts, severity: str) -> Iterator[Hit]:
    for item, f in unit.annual_findings:   # both rules' findings, worked out once a unit
        if f.severity != severity:
            continue
        year = item.facts.year
        yield Hit(f"{year}年年报 {f.row}（{f.column}）：{f.message}",
                  f"{f.row}（{f.column}）为 {f.expected}（{f.source}）",
                  path=item.source, line=annual_checker.line_of(item, f), column=item.column,
                  item=item.index_no or item.title)


@rule("annual.arithmetic")
def arithmetic(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    yield from _hits(unit, "error")


@rule("annual.consistency")
def consistency(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    yield from _hits(unit, "warning")
