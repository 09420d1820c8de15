"""The facts of one build, computed once: what rendering, search, the checker and the
annual report all read instead of asking ``lifecycle`` the same question again.

``Facts.of(site, day)`` runs after read → validate and before render. Every field
is derived from the validated items and the as-of date only, so two builds of the
same content on the same day have equal facts.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import fiscal, interpretation, lifecycle
from .items import Item, as_list
from .spool import Spill, UnitItems

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from .site import Registry, Site

REF_KEYS = ("repealed_by", "replaced_by", "interprets")


@dataclass
class Facts:
    day: dt.date
    public_on: dict[str, str | None]                 # 索引号 -> first public day (ISO) or None
    states: dict[str, lifecycle.State]               # item.source -> its state on ``day``
    registry: Registry                               # 索引号 -> what other units may show of it
    by_unit: UnitItems = field(default_factory=UnitItems)   # every unit's items, a unit at a time (site.items)
    # For the checker (and anyone else asking): policies without a timely 解读, among the
    # items public on ``day``; and the 预算法 deadline of each public item with ``approved``.
    gaps: list[interpretation.Gap] = field(default_factory=list)
    fiscal_deadlines: dict[str, dict[str, dict]] = field(default_factory=dict)   # unit id -> item.source -> deadline_fact
    # Pages and source files of the items that are not public, in every unit: a body link
    # to one of them becomes plain text (lifecycle.py), across units too.
    hidden: list[str] = field(default_factory=list)
    public_counts: dict[str, int] = field(default_factory=dict)             # unit id -> its public items
    index_nos: list[str] = field(default_factory=list)                      # every 索引号 (the checker's not_ids)
    # What the unit keys and job slices read of each unit's items, so that they need not
    # unpickle them again: its items' sources in file order (the keys of ``states``), and
    # its own 索引号 with those its items name (repealed_by, replaced_by, interprets).
    sources: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    # unit id -> the digest of its states as its reuse key holds them (incremental/facts.py
    # ``states_key``), for the units whose part is kept in the build cache.
    state_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, site: Site, day: dt.date, kept=None, early: Early | None = None) -> Facts:
        """The facts on ``day``, in one pass over the items, a unit at a time (issue 15: the
        parent holds no list of every item). ``kept`` (incremental/facts.py ``KeptFacts``):
        each unit's part as an earlier build made it from the same items, on a day with the
        same states, with the same dates of the items they name; a unit taken from it is not
        unpickled. ``early``: the parts made during the pre-pass (``Early``), for ``day``."""
        from .site import Registry
        public_on = site.public_on
        public_on_of = lifecycle.lookup(public_on)
        states: dict[str, lifecycle.State] = {}
        early = early if early is not None and early.day == day else None
        registry = Registry()
        rule, explained = _part_rules(site)
        read: list[Item] = []
        deadlines: dict[str, dict[str, dict]] = {}
        hidden: set[str] = set()
        counts: dict[str, int] = {}
        sources: dict[str, list[str]] = {}
        numbers: dict[str, tuple[set[str], set[str]]] = {}
        state_keys: dict[str, str] = {}
        for uid in site.items.unit_ids():
            made = early.take(uid, public_on) if early is not None else None
            if made is not None:
                part, window = made
                if kept is not None:
                    kept.save(uid, site.items.blob(uid), window, public_on, part)
            else:
                part = kept.load(uid, site.items.blob(uid), day, public_on) if kept is not None else None
            # A kept or early part (unpickled) shares its rows' dates and empty lists as this
            # registry's do once entered with ``put``.
            enter = registry.put if part is not None else registry.rows.__setitem__
            if part is None:
                items = site.items.of(uid)
                part = unit_part(items, day, public_on_of, registry, rule, explained)
                if kept is not None:
                    kept.save(uid, site.items.blob(uid), lifecycle.window(items, day, public_on_of), public_on, part)
                del items
            if "states_key" in part:
                state_keys[uid] = part["states_key"]
            sources[uid] = part["sources"]
            # As tuples (an empty set is 216 B, a tuple 40 + 8 a number): 1,300 units hold two each.
            numbers[uid] = (tuple(sorted(part["own"])), tuple(sorted(part["named"])))
            states.update(zip(part["sources"], part["states"]))
            for number, row in part["rows"]:
                enter(number, row)
            hidden.update(part["hidden"])
            read.extend(part["read"])
            if part["deadlines"]:
                deadlines[uid] = part["deadlines"]
            counts[uid] = part["public"]
        gaps = interpretation.interpretation_gaps(read, site.catalogs)
        return cls(day, public_on, states, registry, site.items, gaps, deadlines, sorted(hidden), counts,
                   list(public_on), sources, numbers, state_keys)

    def state(self, item: Item) -> lifecycle.State:
        return self.states[item.source]

    def shown(self, uid: str) -> set[str]:
        """The 索引号 whose registry entries ``uid``'s pages can show: its own, those its
        items name (repealed_by, replaced_by, interprets), and the public entries naming its
        items. Its unit key (incremental/units.py) and its job's slice (build.unit_slices)
        hold the same set."""
        own, named = self.numbers.get(uid, ((), ()))
        naming = self.registry.naming()
        return set(named) | set(own) | {n for o in own for n in naming.get(o, ())}

    def unit_states(self, uid: str) -> list[tuple[str, lifecycle.State]]:
        """(item.source, state) of ``uid``'s items, in file order, without reading its items."""
        states = self.states
        return [(source, states[source]) for source in self.sources.get(uid, ())]

    def public(self, unit: str | None = None) -> list[Item]:
        """The items that are public on the as-of date (of one unit, or of all)."""
        items = self.by_unit.of(unit) if unit else self.by_unit
        return [i for i in items if self.states[i.source].public]


def _part_rules(site: Site) -> tuple[dict, set[str]]:
    """What ``unit_part`` reads of the catalogs: the 预算法 deadline rule, and the columns with
    an interpretation rule (interpretation_gaps reads their public items and the 解读, no other)."""
    rule = (site.catalogs.fiscal or {}).get("deadline") or {}
    explained = {cid for cid, column in site.catalogs.by_id.items() if column.interpretation_workdays is not None}
    return rule, explained


_ABSENT = object()


class Early:
    """Each unit's part of the facts (``unit_part``), made as the pre-pass hands the unit
    over (site.scan's ``on_unit``) while its workers still read the units after it:
    ``Facts.of`` then gathers them, and the stretch between the pre-pass and the first unit
    rendered, the build's process alone with a core idle, is shorter (issue 15).

    A part reads the first public days of the items its unit names as the pre-pass has them
    so far (``site.public_on``): it is taken only if each one it read is the same at the
    end (``take``), else ``Facts.of`` makes it again. Units answered from the build cache
    are left to ``Facts.of``: their kept part costs less than a new one."""

    def __init__(self, day: dt.date, window: bool = False):
        from .site import Registry
        self.day, self.window = day, window
        # For ``row_of`` only: the rows go pickled to the spill, and Facts.of's registry
        # shares their dates and words again as it enters them (``put``).
        self._registry = Registry()
        self._parts: dict[str, tuple[tuple[int, int], dict]] = {}   # uid -> (where in the spill, what it read)
        self._spill: Spill | None = None
        self._rules: tuple[dict, set[str]] | None = None
        self.cpu = 0.0      # this process's CPU seconds spent here (the lifecycle stage's, in the figures)

    def __call__(self, site: Site, uid: str) -> None:
        if uid in site.from_cache:
            return
        started = time.process_time()
        if self._rules is None:
            self._rules = _part_rules(site)
        public_on, read = site.public_on, {}

        def public_on_of(number: str) -> dt.date | None:
            when = public_on.get(number, _ABSENT)
            read.setdefault(number, when)
            return dt.date.fromisoformat(when) if when and when is not _ABSENT else None

        items = site.items.of(uid)
        part = unit_part(items, self.day, public_on_of, self._registry, *self._rules)
        window = lifecycle.window(items, self.day, public_on_of) if self.window else None
        # Pickled into an unnamed file until taken: held live, a province's parts (a list, a
        # set, a tuple per item) took the parent from 87 to 95 MiB after the facts at 20k
        # items in 1,300 units; held pickled in memory, to 93.
        if self._spill is None:
            self._spill = site.spill()
        try:
            self._parts[uid] = (self._spill.put((part, window)), read)
        except OSError:
            pass    # a full disk costs time, never the build: Facts.of makes the part
        self.cpu += time.process_time() - started

    def take(self, uid: str, public_on: dict) -> tuple[dict, tuple | None] | None:
        """(part, its lifecycle window or None) of ``uid`` when every first public day it read
        is the same in ``public_on`` (the pre-pass's, complete); else None."""
        made = self._parts.pop(uid, None)
        if made is None or any(public_on.get(number, _ABSENT) != when for number, when in made[1].items()):
            return None
        try:
            return self._spill.get(made[0])
        except OSError:
            return None     # the file cut short: the part is made again

    def close(self) -> None:
        """Let the parts go (the file with them)."""
        self._parts.clear()
        if self._spill is not None:
            self._spill.close()


def unit_part(items: list[Item], day: dt.date, public_on_of, registry: Registry, rule: dict,
              explained: set[str]) -> dict:
    """What one unit's items give the facts on ``day`` (``Facts.of``): their sources in file
    order, own 索引号 and those they name, states (equal ones one object: they are frozen),
    registry rows (``Registry.row_of``) in file order, hidden pages, how many are public,
    the public items interpretation_gaps reads, and the 预算法 deadlines. A function of the
    items, the day and the first public days of the items they name (``public_on_of``)."""
    states, rows, hidden, read, deadlines = [], [], set(), [], {}
    same: dict[lifecycle.State, lifecycle.State] = {}
    public = 0
    for item in items:
        st = lifecycle.state(item, day, public_on_of)
        st = same.setdefault(st, st)
        states.append(st)
        if item.index_no and (row := registry.row_of(item, st)) is not None:
            rows.append((item.index_no, row))
        if not st.public:
            hidden.update(lifecycle.hidden_targets([item]))
            continue
        public += 1
        if item.type == "interpretation" or item.column in explained:
            read.append(item)
        if item.approved is not None and rule:
            deadlines[item.source] = fiscal.deadline_fact(item.approved, item.published_date, rule)
    return {"sources": [item.source for item in items], "own": {i.index_no for i in items if i.index_no},
            "named": {r for i in items for key in REF_KEYS for r in as_list(getattr(i, key))},
            "states": states, "rows": rows, "hidden": sorted(hidden), "public": public, "read": read,
            "deadlines": deadlines}


def reverse_refs(registry: dict[str, dict]) -> dict[tuple[str, str], list[dict]]:
    """(key, 索引号) -> public items whose ``key`` points at that 索引号, by 索引号."""
    out: dict[tuple[str, str], list[dict]] = {}
    for number, entry in sorted(registry.items()):
        for key in REF_KEYS:
            for target in as_list(entry.get(key)):
                out.setdefault((key, target), []).append({**entry, "index_no": number})
    return out
