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


def test_the_window_holds_the_states_of_its_day(tmp_path):
    """lifecycle.window: on every day of it, every item has the state it has on the day."""
    from gongkai import lifecycle
    _, site, _ = _scanned(tmp_path)
    public_on_of = lifecycle.lookup(site.public_on)
    days = [dt.date(2010, 1, 1) + dt.timedelta(days=n) for n in range(0, 365 * 18, 97)] + [DAY]
    bounded = 0
    for uid in site.units:
        items = site.items.of(uid)
        for day in days:
            lo, hi = lifecycle.window(items, day, public_on_of)
            assert (lo is None or lo <= day) and (hi is None or day <= hi)
            want = [lifecycle.state(i, day, public_on_of) for i in items]
            ends = [d for d in (lo, hi) if d is not None]
            bounded += len(ends)
            for other in ends + [d + dt.timedelta(days=k) for d in ends for k in (-1, 1) if lo and hi and lo < d < hi]:
                assert [lifecycle.state(i, other, public_on_of) for i in items] == want, (uid, day, other)
            # The day past each end changes some state, or is a change day of an item (the
            # window is not wider than the change days make it).
            for end, step in ((lo, -1), (hi, 1)):
                if end is not None:
                    past = end + dt.timedelta(days=step)
                    edge = end if step < 0 else past
                    assert any(edge in lifecycle.change_days(i, public_on_of) for i in items)
    assert bounded


def test_a_new_day_that_changes_no_state_reads_no_unit(tmp_path, monkeypatch):
    """Issue 15, the daily build: a unit whose items keep their states on the new day keeps
    its part (main: the day was in the key, every unit was unpickled and evaluated again)."""
    from gongkai import lifecycle
    _, site, kept = _scanned(tmp_path)
    public_on_of = lifecycle.lookup(site.public_on)
    windows = {uid: lifecycle.window(site.items.of(uid), DAY, public_on_of) for uid in site.units}
    Facts.of(site, DAY, kept)
    quiet = next(DAY + dt.timedelta(days=n) for n in range(1, 400)
                 if all(hi is None or DAY + dt.timedelta(days=n) <= hi for _, hi in windows.values()))
    read = _unpickled(site, monkeypatch)
    moved = Facts.of(site, quiet, kept)
    monkeypatch.undo()
    assert read == [] and _plain(moved) == _plain(Facts.of(site, quiet))
    # The first day past a unit's window: that unit (and only units whose window ends) is read.
    edge = min(hi for _, hi in windows.values() if hi is not None) + dt.timedelta(days=1)
    Facts.of(site, DAY, kept)
    read = _unpickled(site, monkeypatch)
    crossed = Facts.of(site, edge, kept)
    monkeypatch.undo()
    assert _plain(crossed) == _plain(Facts.of(site, edge))
    assert read and set(read) == {uid for uid, (lo, hi) in windows.items() if hi is not None and hi < edge}
