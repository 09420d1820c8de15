"""Facts across reports and items: what one report is compared with, and roll-ups.

- ``item_counts``: the unit's own 规章/规范性文件 of a year — published in the year,
  retired in the year, in force on 31 December — read from ``lifecycle.state`` on
  31 December (never re-deriving the lifecycle rules here).
- ``findings``: every warning of every report (last year's report, the unit's items).
- ``due`` / ``status``: 条例第四十九条 deadlines and who has published on time.
- ``settings``: what each unit's build and the portal receive (JSON-able).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import lifecycle
from ..errors import Problem
from ..facts import Facts
from ..items import Item
from . import rules
from .model import Report
from .spec import Spec, table3_layout

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ..site import Site

StateOn = Callable[[Item, dt.date], lifecycle.State]


def year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def item_counts(items: list[Item], column: str, year: int, state_on: StateOn) -> dict[str, int]:
    """本年制发 / 本年废止 / 现行有效 of ``column``'s items for ``year``."""
    end, before = year_end(year), year_end(year - 1)
    issued = repealed = in_force = 0
    for item in items:
        if item.column != column:
            continue
        now = state_on(item, end)
        if not now.public:
            continue
        if item.published_date.year == year:
            issued += 1
        if now.retired and not state_on(item, before).retired:
            repealed += 1
        elif not now.retired:
            in_force += 1
    return {"issued": issued, "repealed": repealed, "in_force": in_force}


def unit_counts(items: list[Item], year: int, spec: Spec, state_on: StateOn) -> dict[str, dict[str, int]]:
    return {row.key: item_counts(items, row.column, year, state_on) for row in spec.proactive_rows if row.column}


def _shown(item: Item, day: dt.date | None) -> bool:
    """Public on ``day`` (or, without a day, ever): an embargoed report must not stand in
    for the public one in comparisons, roll-ups or warnings shown on public pages."""
    return lifecycle.is_public(item, day) if day is not None else lifecycle.public_on(item) is not None


def reports(site: Site, day: dt.date | None = None) -> dict[tuple[str, int], Item]:
    """(unit id, year) -> the report item public on ``day`` (the later file wins a tie)."""
    out: dict[tuple[str, int], Item] = {}
    for item in sorted(site.annual, key=lambda i: (i.published, i.source)):
        if item.type == "annual-report" and isinstance(item.facts, Report) and _shown(item, day):
            out[(item.unit, item.facts.year)] = item
    return out


def state_on_of(site: Site) -> StateOn:
    public_on_of = lifecycle.lookup(site.public_on)
    return lambda item, day: lifecycle.state(item, day, public_on_of)


def findings(site: Site, day: dt.date | None = None) -> dict[str, list[rules.Finding]]:
    """item.source -> the warnings of that report."""
    spec = site.catalogs.annual
    if spec is None:
        return {}
    found = reports(site, day)
    state_on = state_on_of(site)
    out = {}
    for (unit, year), item in sorted(found.items()):
        last = found.get((unit, year - 1))
        counts = unit_counts(site.items.of(unit), year, spec, state_on)
        out[item.source] = rules.compare(item.facts, last.facts if last else None, counts, spec)
    return out


def duplicates(site: Site, day: dt.date | None = None) -> list[Problem]:
    """A second report of the same unit and year: the later one is the one shown and compared."""
    label = site.catalogs.item_labels
    first: dict[tuple[str, int], Item] = {}
    out = []
    for item in sorted(site.annual, key=lambda i: (i.published, i.source)):
        if item.type != "annual-report" or not isinstance(item.facts, Report) or not _shown(item, day):
            continue
        key = (item.unit, item.facts.year)
        if key in first:
            out.append(Problem(item.source, item.line("year"), "year", f"{item.facts.year}年 already has a report in "
                               f"{first[key].source}: one report per unit and year; this later one is the one shown "
                               "in roll-ups and compared", label.get("year"), rule="annual.duplicate",
                               severity="warning"))
        first.setdefault(key, item)
    return out


def problems(site: Site, day: dt.date | None = None) -> list[Problem]:
    """The warnings as build problems (file, line of the figure, message naming both figures)."""
    label = site.catalogs.item_labels
    out = duplicates(site, day)
    by_source = {i.source: i for i in site.annual}
    for source, found in findings(site, day).items():
        item = by_source[source]
        for f in found:
            key = str(f.at[0])
            out.append(Problem(source, item.lines.get(tuple(f.at)) or item.lines.get(tuple(f.at[:-1]))
                               or item.line(key), key, f.text, label.get(key),
                               rule=f.rule, severity="warning"))
    return out


# --- deadlines and roll-ups ---------------------------------------------------------

def due(year: int, level: str, spec: Spec) -> dt.date:
    """条例第四十九条: a department by 1月31日, a government by 3月31日 of the next year."""
    month, day = (int(p) for p in spec.due_md(level).split("-"))
    return dt.date(year + 1, month, day)


def status(published: dt.date | None, due_day: dt.date, today: dt.date) -> str:
    """on_time | late (published after the deadline) | missing (deadline passed) | pending (not yet due)."""
    if published is not None and published <= today:
        return "on_time" if published <= due_day else "late"
    return "missing" if today > due_day else "pending"


STATUS_LABELS = {"on_time": "按时发布", "late": "逾期发布", "missing": "逾期未发布", "pending": "未到期"}


def settings(site: Site, facts: Facts) -> dict:
    """What each unit's build and the portal need, JSON-able: every report that is public
    on the as-of date (with its table 三), hand-written reports found in 年报 columns, and
    each report's warnings."""
    spec = site.catalogs.annual
    if spec is None:
        return {"reports": {}, "documents": {}, "warnings": {}, "years": []}
    day = facts.day
    public = reports(site, day)
    entries = {}
    for (unit, year), item in sorted(public.items()):
        entries[f"{unit}/{year}"] = {
            "unit": unit, "year": year, "url": item.url, "title": item.title,
            "published": item.published_date.isoformat(),
            "requests": {row.key: list(item.facts.requests[row.path]) for row in spec.rows}}
    # Reports published as plain documents (not yet as data): counted as published, not summed.
    documents: dict[str, dict] = {}
    for item in sorted(site.annual, key=lambda i: (i.published, i.source)):
        if item.column == "xxgknb" and item.type != "annual-report" and facts.state(item).public:
            for year in range(2008, day.year):
                if f"{year}年" in item.title and f"{item.unit}/{year}" not in entries:
                    documents.setdefault(f"{item.unit}/{year}", {"unit": item.unit, "year": year, "url": item.url,
                                                                  "title": item.title,
                                                                  "published": item.published_date.isoformat()})
    warnings = {}
    for source, found in findings(site, day).items():
        warnings[source] = [f.as_dict() for f in found]
    years = sorted({e["year"] for e in entries.values()} | {e["year"] for e in documents.values()}, reverse=True)
    return {"reports": entries, "documents": documents, "warnings": warnings, "years": years}


def rollup(units: dict[str, dict], unit_ids: list[str], year: int, data: dict, spec: Spec,
           today: dt.date) -> dict:
    """Who of ``unit_ids`` has published the report for ``year``, who is late, and table 三 summed.

    ``units`` is the build's unit tree (id -> {name, level, …}); ``data`` is ``settings(…)``."""
    rows, sums, summed = [], {row.key: [0] * len(spec.columns) for row in spec.rows}, 0
    for uid in unit_ids:
        unit = units[uid]
        due_day = due(year, unit["level"], spec)
        entry = data["reports"].get(f"{uid}/{year}")
        doc = data["documents"].get(f"{uid}/{year}")
        found = entry or doc
        published = dt.date.fromisoformat(found["published"]) if found else None
        code = status(published, due_day, today)
        rows.append({"unit": uid, "name": unit["name"], "level": unit["level"], "due": due_day.isoformat(),
                     "status": code, "status_label": STATUS_LABELS[code], "published": found["published"] if found
                     else None, "url": found["url"] if found else None, "data": entry is not None})
        if entry:
            summed += 1
            for key, values in entry["requests"].items():
                sums[key] = [a + b for a, b in zip(sums[key], values, strict=True)]
    table = [{"row": row, "values": sums[row.key]} for row in spec.rows]
    return {"year": year, "units": rows, "summed": summed, "table": table, "layout": table3_layout(spec),
            "late": sum(r["status"] in ("late", "missing") for r in rows)}


def descendants(units: dict[str, dict], uid: str) -> list[str]:
    """Every unit below ``uid`` in the tree, depth first, in the tree's order."""
    out, seen = [], {uid}
    stack = list(reversed(units[uid].get("children", [])))
    while stack:
        child = stack.pop()
        if child in seen or child not in units:
            continue
        seen.add(child)
        out.append(child)
        stack.extend(reversed(units[child].get("children", [])))
    return out
