"""The facts of one build, computed once: what rendering, search, the checker and the
annual report all read instead of asking ``lifecycle`` the same question again.

``Facts.of(site, day)`` runs after read → validate and before render. Every field
is derived from the validated items and the as-of date only, so two builds of the
same content on the same day have equal facts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import fiscal, interpretation, lifecycle
from .items import Item, as_list

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from .site import Registry, Site

REF_KEYS = ("repealed_by", "replaced_by", "interprets")


@dataclass
class Facts:
    day: dt.date
    public_on: dict[str, str | None]                 # 索引号 -> first public day (ISO) or None
    states: dict[str, lifecycle.State]               # item.source -> its state on ``day``
    registry: Registry                               # 索引号 -> what other units may show of it
    reverse: dict[tuple[str, str], list[Item]] = field(default_factory=dict)  # (key, 索引号) -> items naming it
    by_unit: dict[str, list[Item]] = field(default_factory=dict)             # unit id -> its items (all)
    # For the checker (and anyone else asking): policies without a timely 解读, among the
    # items public on ``day``; and the 预算法 deadline of each public item with ``approved``.
    gaps: list[interpretation.Gap] = field(default_factory=list)
    fiscal_deadlines: dict[str, dict] = field(default_factory=dict)          # item.source -> deadline_fact

    @classmethod
    def of(cls, site: Site, day: dt.date) -> Facts:
        public_on = site.public_on()
        public_on_of = lifecycle.lookup(public_on)
        states = {item.source: lifecycle.state(item, day, public_on_of) for item in site.items}
        reverse: dict[tuple[str, str], list[Item]] = {}
        by_unit: dict[str, list[Item]] = {uid: [] for uid in site.units}
        for item in site.items:
            by_unit.setdefault(item.unit, []).append(item)
            for key in REF_KEYS:
                for ref in as_list(getattr(item, key)):
                    reverse.setdefault((key, ref), []).append(item)
        public = [i for i in site.items if states[i.source].public]
        gaps = interpretation.interpretation_gaps(public, site.catalogs)
        rule = (site.catalogs.fiscal or {}).get("deadline") or {}
        deadlines = {i.source: fiscal.deadline_fact(i.approved, i.published_date, rule)
                     for i in public if i.approved is not None and rule}
        return cls(day, public_on, states, site.registry(day, states), reverse, by_unit, gaps, deadlines)

    def state(self, item: Item) -> lifecycle.State:
        return self.states[item.source]

    def shown(self, uid: str) -> set[str]:
        """The 索引号 whose registry entries ``uid``'s pages can show: its own, those its
        items name (repealed_by, replaced_by, interprets), and the public entries naming its
        items. Its unit key (incremental/units.py) and its job's slice (build.unit_slices)
        hold the same set."""
        items = self.by_unit.get(uid, [])
        own = {i.index_no for i in items if i.index_no}
        naming = self.registry.naming()
        return {r for i in items for key in REF_KEYS for r in as_list(getattr(i, key))} | own \
            | {n for o in own for n in naming.get(o, ())}

    def public(self, unit: str | None = None) -> list[Item]:
        """The items that are public on the as-of date (of one unit, or of all)."""
        items = self.by_unit.get(unit, []) if unit else [i for group in self.by_unit.values() for i in group]
        return [i for i in items if self.states[i.source].public]


def reverse_refs(registry: dict[str, dict]) -> dict[tuple[str, str], list[dict]]:
    """(key, 索引号) -> public items whose ``key`` points at that 索引号, by 索引号."""
    out: dict[tuple[str, str], list[dict]] = {}
    for number, entry in sorted(registry.items()):
        for key in ("repealed_by", "replaced_by", "interprets"):
            for target in as_list(entry.get(key)):
                out.setdefault((key, target), []).append({**entry, "index_no": number})
    return out
