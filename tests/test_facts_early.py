"""Issue 15, the cold build's idle core: each unit's part of the facts is made as the
pre-pass hands the unit over (facts.Early), and taken only if the first public days it
read are the pre-pass's final ones; the facts are the facts made afterwards."""
from __future__ import annotations

import shutil

from conftest import ROOT
from test_facts_kept import DAY, _plain, _unpickled

from gongkai import lifecycle
from gongkai.facts import Early, Facts
from gongkai.site import scan


def _early_scan(content):
    early = Early(DAY)
    return scan(content, ROOT / "catalogs", jobs=1, on_unit=early), early


def test_parts_made_during_the_prepass_are_the_facts_and_not_made_again(tmp_path, monkeypatch):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    site, early = _early_scan(content)
    assert site.ok
    read = _unpickled(site, monkeypatch)
    facts = Facts.of(site, DAY, early=early)
    monkeypatch.undo()
    assert _plain(facts) == _plain(Facts.of(site, DAY))
    assert read == []     # the sample names no item of a unit the pre-pass reads after the naming one
    assert facts.gaps and facts.hidden and facts.fiscal_deadlines


def test_a_part_that_read_a_date_the_prepass_did_not_have_yet_is_made_again(tmp_path, monkeypatch):
    """shili-city is read before shili-town: a city document repealed by a town one read
    the town's date as unknown; its part is made again, and shows it repealed."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    town = "11990102MB00000041/2026-00001"
    assert any(town in p.read_text(encoding="utf-8") for p in (content / "shili-town").rglob("*.md"))
    doc = content / "shili-city/gfxwj/2023-zhengfu-touzi-xiangmu-guanli.md"
    text = doc.read_text(encoding="utf-8")
    doc.write_text(text.replace("column: gfxwj\n", f"column: gfxwj\nrepealed_by: '{town}'\n", 1), encoding="utf-8")
    site, early = _early_scan(content)
    assert site.ok, [str(p) for p in site.problems if p.severity == "error"]
    assert site.public_on[town] and lifecycle.lookup(site.public_on)(town) <= DAY
    read = _unpickled(site, monkeypatch)
    facts = Facts.of(site, DAY, early=early)
    monkeypatch.undo()
    assert read == ["shili-city"]
    assert facts.states[str(doc)].code == "repealed"
    assert _plain(facts) == _plain(Facts.of(site, DAY))


def test_parts_of_another_day_are_not_taken(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    site, early = _early_scan(content)
    later = DAY.replace(year=DAY.year + 1)
    assert _plain(Facts.of(site, later, early=early)) == _plain(Facts.of(site, later))


def test_a_spill_that_cannot_be_written_costs_time_not_the_build(tmp_path, monkeypatch):
    """A full disk under the spill: the parts are not kept, Facts.of makes them, the facts are the same."""
    from gongkai import spool

    def full(self, value):
        raise OSError(28, "No space left on device")

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    monkeypatch.setattr(spool.Spill, "put", full)
    site, early = _early_scan(content)
    read = _unpickled(site, monkeypatch)
    facts = Facts.of(site, DAY, early=early)
    assert sorted(read) == sorted(site.items.unit_ids())
    assert _plain(facts) == _plain(Facts.of(site, DAY))
