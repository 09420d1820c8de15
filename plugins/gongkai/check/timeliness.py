"""公开时限 (条例第二十六条): published within N working days (with 调休) of the day
the information was formed (``formed``, default ``written``)."""
from __future__ import annotations

from collections.abc import Iterator

from ..interpretation import working_days_after
from .engine import Hit, rule
from .unitfacts import UnitFacts


@rule("timeliness.late-publication", thresholds={"workdays": "int", "skip_types": "list"})
def late_publication(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.public:
        start = item.formed or item.written
        if start is None or item.type in t["skip_types"]:
            continue
        days, exact = working_days_after(start, item.published_date)
        if days > t["workdays"]:
            key = "formed" if item.formed else "written"
            label = "信息形成日期" if item.formed else "成文日期"
            yield Hit(f"{label} {start.isoformat()}，发布于 {item.published_date.isoformat()}，"
                      f"相隔 {days} 个工作日{'' if exact else '（无调休数据，按周一至周五估算）'}",
                      f"不超过 {t['workdays']} 个工作日", path=item.source, line=item.line(key) or item.line("published"),
                      column=item.column, item=item.index_no or item.title)
