"""Issue 15, a one-item edit: each unit's part of the build's facts is kept under its
items, the day and the dates of the items they name (incremental/facts.py); facts made
from kept parts are the facts made afresh, whatever changed."""
from __future__ import annotations

import datetime as dt
import shutil

from conftest import ROOT

from gongkai.facts import Facts
from gongkai.incremental import Cache, ItemCache
from gongkai.incremental.facts import KeptFacts
from gongkai.site import scan

DAY = dt.date(2026, 11, 22)


def _plain(facts: Facts) -> tuple:
    return (facts.day, facts.states, dict(facts.registry.rows), facts.hidden, facts.public_counts,
            facts.fiscal_deadlines, facts.gaps, facts.sources, facts.numbers, facts.index_nos)


def _scanned(tmp_path):
    content = tmp_path / "content"
    if not content.exists():
        shutil.copytree(ROOT / "content", content)
    store = Cache.open(tmp_path / "output")
    cache = ItemCache(store, ROOT / "catalogs")
    return content, scan(content, ROOT / "catalogs", cache, jobs=1), KeptFacts(store, cache.key)


def _unpickled(site, monkeypatch) -> list[str]:
    out: list[str] = []
    real = site.items.of
    monkeypatch.setattr(site.items, "of", lambda uid: out.append(uid) or real(uid))
    return out


def test_kept_facts_are_the_facts_and_no_unit_is_read_again(tmp_path, monkeypatch):
    _, site, kept = _scanned(tmp_path)
    fresh = Facts.of(site, DAY, kept)
    assert _plain(fresh) == _plain(Facts.of(site, DAY))
    assert fresh.gaps and fresh.hidden and fresh.fiscal_deadlines     # the sample has each
    read = _unpickled(site, monkeypatch)
    again = Facts.of(site, DAY, kept)
    assert read == [] and _plain(again) == _plain(fresh)


def test_kept_facts_follow_the_day_an_edit_and_the_dates_of_named_items(tmp_path, monkeypatch):
    content, site, kept = _scanned(tmp_path)
    Facts.of(site, DAY, kept)
    for day in (DAY + dt.timedelta(days=1), dt.date(2025, 1, 1), DAY):   # every unit again, then kept again
        assert _plain(Facts.of(site, day, kept)) == _plain(Facts.of(site, day))
    # An item that another names (repealed_by / replaced_by / interprets) public on another day:
    # the units naming it are evaluated again, and only they.
    named = {n for uid in site.units for n in Facts.of(site, DAY).numbers[uid][1]}
    number = sorted(n for n in named if site.public_on.get(n))[0]
    site.public_on[number], was = "2099-01-01", site.public_on[number]
    read = _unpickled(site, monkeypatch)
    moved = Facts.of(site, DAY, kept)
    monkeypatch.undo()
    assert _plain(moved) == _plain(Facts.of(site, DAY))
    assert read and sorted(read) == sorted(uid for uid in site.units if number in moved.numbers[uid][1])
    site.public_on[number] = was
    Facts.of(site, DAY, kept)
    # An edit: the new scan keeps the unit's new items; its part is made again.
    item = next((content / "shili-town").rglob("*.md"))
    item.write_text(item.read_text(encoding="utf-8").replace("title:", "title: 改", 1), encoding="utf-8")
    _, site, kept = _scanned(tmp_path)
    read = _unpickled(site, monkeypatch)
    edited = Facts.of(site, DAY, kept)
    monkeypatch.undo()
    assert read == ["shili-town"] and _plain(edited) == _plain(Facts.of(site, DAY))


def test_a_damaged_or_foreign_kept_part_is_not_taken(tmp_path):
    import pickle

    from gongkai.incremental.facts import _name
    _, site, kept = _scanned(tmp_path)
    fresh = Facts.of(site, DAY, kept)
    store = kept.cache
    record = store.load_pickle(_name("shili-town"))
    other = store.load_pickle(_name("shili-city"))
    for bad in (b"\x80\x05garbage", pickle.dumps({**record, "part": {**record["part"], "public": "1"}}),
                pickle.dumps({**other}), pickle.dumps({**record, "key": record["key"][:-1]})):
        (store.folder / _name("shili-town")).write_bytes(bad)
        assert _plain(Facts.of(site, DAY, kept)) == _plain(fresh)
