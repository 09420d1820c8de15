"""解读 rules (国办发〔2016〕80号): each 规章/规范性文件 has a 政策解读 within the
column's ``interpretation.within_workdays`` — the gaps ``Facts`` computed once with
``interpretation.interpretation_gaps``."""
from __future__ import annotations

from collections.abc import Iterator

from .engine import Hit, rule
from .unitfacts import UnitFacts


@rule("interpretation.missing", cross_unit=True)   # a 解读 may come from another unit
def missing(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for gap in unit.gaps:
        if gap.kind == "missing" and not unit.state(gap.policy).retired:
            p = gap.policy
            yield Hit(f"{p.title}（{p.doc_number or p.index_no}）没有政策解读",
                      f"{gap.allowed} 个工作日内发布政策解读（{gap.basis}）", path=p.source, line=p.line("title"),
                      column=p.column, item=p.index_no or p.title,
                      fix=f"发布政策解读：type: interpretation，interprets: {p.index_no}")


@rule("interpretation.late", cross_unit=True)
def late(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for gap in unit.gaps:
        if gap.kind == "late" and not unit.state(gap.policy).retired:
            p, jd = gap.policy, gap.interpretation
            yield Hit(f"{p.title} 的解读 {jd.source} 晚于文件 {gap.workdays} 个工作日"
                      f"{'' if gap.exact else '（按周一至周五估算）'}",
                      f"不超过 {gap.allowed} 个工作日", path=jd.source, line=jd.line("published"),
                      column=p.column, item=p.index_no or p.title)
