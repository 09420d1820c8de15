"""Freshness rules (国办秘函〔2019〕19号): each column with a ``freshness`` rule in
catalogs/columns.yaml is updated within it; the unit home shows something new."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from dateutil.relativedelta import relativedelta

from .engine import Hit, later_than, rule
from .unitfacts import UnitFacts


def stale_columns(unit: UnitFacts, undated_is_stale: bool = True) -> list[tuple[str, dt.date | None]]:
    """(column id, newest date or None) of each stale column: its newest item is older than
    the as-of date minus the column's months (asked as a comparison with the as-of date:
    the answer holds until the day it turns).

    Only non-empty columns: an empty one is a 空白栏目 (structure.empty-column)."""
    out = []
    for col in unit.tree.walk():
        items = unit.listings.get(col.id)
        if not col.is_leaf or col.freshness_months is None or not items:
            continue
        dates = [i.published_date for i in items if i.published is not None]
        newest = max(dates) if dates else None
        if (newest is None and undated_is_stale) or \
                (newest is not None and unit.day >= later_than(newest, relativedelta(months=col.freshness_months))):
            out.append((col.id, newest))
    return out


@rule("freshness.stale-column", thresholds={"undated_is_stale": "bool"}, as_of=True)
def stale_column(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for cid, newest in stale_columns(unit, t["undated_is_stale"]):
        col = unit.columns[cid]
        newest_item = max(unit.listings[cid], key=lambda i: (i.published, i.source))
        found = f"栏目 {cid}（{col.name}）最新信息发布于 {newest.isoformat()}" if newest else \
            f"栏目 {cid}（{col.name}）的信息都没有发布日期"
        # The day the column became stale, not the as-of date: the finding then reads the
        # same on every later day (its window, engine.AsOf), and is kept across dates.
        since = f"（{later_than(newest, relativedelta(months=col.freshness_months)).isoformat()} 起即超期）" \
            if newest else ""
        yield Hit(found, f"{col.freshness_months} 个月内有更新{since}",
                  path=newest_item.source, line=newest_item.line("published"), column=cid,
                  item=newest_item.index_no or newest_item.title)


@rule("freshness.stale-columns-veto",
      thresholds={"priority_columns": "list", "priority_count": "int", "any_count": "int"}, as_of=True)
def stale_columns_veto(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    stale = [cid for cid, _ in stale_columns(unit)]
    priority = [cid for cid in stale if cid in t["priority_columns"]]
    if len(priority) >= t["priority_count"]:
        yield Hit(f"通知公告、政策文件类栏目 {len(priority)} 个未按期更新：{', '.join(priority)}",
                  f"少于 {t['priority_count']} 个")
    elif len(stale) >= t["any_count"]:
        yield Hit(f"{len(stale)} 个栏目未按期更新：{', '.join(stale)}", f"少于 {t['any_count']} 个")


@rule("freshness.home-stale", thresholds={"days": "int"}, as_of=True)
def home_stale(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    dates = [i.published_date for i in unit.current]
    newest = max(dates) if dates else None
    if newest is None or unit.day > newest + dt.timedelta(days=t["days"]):    # newest < as-of - days
        # The day the home became stale (not the as-of date: the finding holds for every later day).
        since = f"（{(newest + dt.timedelta(days=t['days'] + 1)).isoformat()} 起即超期）" if newest else ""
        yield Hit(f"专栏首页最新信息发布于 {newest.isoformat()}" if newest else "专栏首页没有任何信息",
                  f"{t['days']} 天内有新信息{since}", path=f"{unit.folder}/")
