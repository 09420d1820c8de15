"""Each unit's part of the build's facts (facts.py ``unit_part``: its items' states, registry
rows, hidden pages…), kept per unit under what it is a function of: the unit's items (the
sha-256 of their pickle, as the scan keeps them), the first public days of the items they
name, the read key (code, catalogs), and the day, as the window of days on which no item of
the unit changes state (lifecycle.window): the part is a function of the states, not of the
day itself. A one-item edit's ``Facts.of`` then unpickles and evaluates one unit's items, not
the province's; a new day, only the units with an item whose state changes (issue 15)."""
from __future__ import annotations

import datetime as dt
import hashlib

from ..items import Item
from ..lifecycle import State
from .store import Cache, plain_digest

PART = ("sources", "own", "named", "states", "rows", "hidden", "public", "read", "deadlines")


def states_key(pairs) -> str:
    """The digest of a unit's (item.source, State) pairs: the ``states`` part of its reuse
    key (incremental/units.py), kept with the unit's facts part so that a unit whose part is
    kept is not digested again (issue 15: 100k states every edit and every day)."""
    return plain_digest(sorted((source, st.as_dict()) for source, st in pairs))


def _name(uid: str) -> str:
    return f"facts/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"


class KeptFacts:
    def __init__(self, cache: Cache, read_key: str):
        self.cache, self.read_key = cache, read_key

    def _key(self, blob: bytes | None, public_on: dict, named) -> list | None:
        if blob is None or not self.cache.enabled:
            return None
        return [self.read_key, hashlib.sha256(blob).hexdigest(), [(n, public_on.get(n)) for n in sorted(named)]]

    def load(self, uid: str, blob: bytes | None, day: dt.date, public_on: dict) -> dict | None:
        """The unit's part kept for these items and these dates, made on a day with the same
        states as ``day`` (its window holds ``day``); else None."""
        if blob is None or not self.cache.enabled:
            return None
        record = self.cache.load_pickle(_name(uid))
        if not (isinstance(record, dict) and isinstance(record.get("part"), dict)):
            return None
        part = record["part"]
        if not (set(part) == set(PART) and isinstance(part["named"], set)
                and _in_window(day, record.get("window"))
                and record.get("key") == self._key(blob, public_on, part["named"])):
            return None
        sources, states, rows = part["sources"], part["states"], part["rows"]
        if not (isinstance(sources, list) and isinstance(states, list) and len(sources) == len(states)
                and all(type(st) is State for st in states) and isinstance(part["own"], set)
                and isinstance(rows, list) and all(isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], tuple)
                                                   for r in rows)
                and isinstance(part["hidden"], list) and type(part["public"]) is int
                and isinstance(part["read"], list) and all(isinstance(i, Item) for i in part["read"])
                and isinstance(part["deadlines"], dict)):
            return None
        if isinstance(record.get("states_key"), str):
            part["states_key"] = record["states_key"]
        return part

    def save(self, uid: str, blob: bytes | None, window: tuple, public_on: dict, part: dict) -> None:
        """Keep ``part``, made from the unit's items (``blob``) on a day of ``window``
        (lifecycle.window: the days with the same states)."""
        key = self._key(blob, public_on, part["named"])
        if key is not None:
            digest = states_key(zip(part["sources"], part["states"]))
            self.cache.save_pickle(_name(uid), {"key": key, "window": list(window), "part": part,
                                                "states_key": digest})
            part["states_key"] = digest


def _in_window(day: dt.date, window) -> bool:
    """Whether ``day`` is in a kept window [first, last] (None: unbounded on that side)."""
    if not (isinstance(window, list) and len(window) == 2
            and all(end is None or type(end) is dt.date for end in window)):
        return False
    lo, hi = window
    return (lo is None or lo <= day) and (hi is None or day <= hi)
