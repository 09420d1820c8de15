"""The units of a cached build (issue 15, helper "edit"): every ``_unit.yaml`` was parsed
with YAML every build (~1 s at 1,300 units). A scan with the build cache keeps what
``load_units`` found when it found no problem, keyed by each unit folder's name and
``_unit.yaml`` signature: a build that changed none parses none, and anything else is
read as before."""
from __future__ import annotations

import os

from conftest import ROOT, UNIT_YAML

from gongkai import units as units_mod
from gongkai.site import scan

ITEM = "---\ntitle: 文件{n}\ncolumn: qtwj\nindex_no: {no}\npublished: 2024-01-02\n---\n正文\n"
NO = "11990102MB0000003X/2024-{:05d}"
TOWN = UNIT_YAML.replace("level: county", "level: township")


def _content(make_tree):
    files = {}
    for u, uid in enumerate(("a", "b", "c")):
        files[f"{uid}/_unit.yaml"] = UNIT_YAML if uid == "a" else TOWN
        files[f"{uid}/qtwj/f.md"] = ITEM.format(n=uid, no=NO.format(u))
    return make_tree(files)


def _scan(content, output):
    from gongkai.incremental import Cache, ItemCache
    store = Cache.open(output)
    site = scan(content, ROOT / "catalogs", ItemCache(store, ROOT / "catalogs"), jobs=1)
    store.save_hashes()
    return site


def _counting(monkeypatch) -> list[str]:
    parsed: list[str] = []
    real = units_mod._read_unit

    def counted(path, *args, **kwargs):
        parsed.append(path.parent.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(units_mod, "_read_unit", counted)
    return parsed


def _plain(site) -> dict:
    return {uid: repr(u) for uid, u in site.units.items()}


def test_unchanged_unit_files_are_not_parsed_again(make_tree, tmp_path, monkeypatch):
    content = _content(make_tree)
    output = tmp_path / "output"
    parsed = _counting(monkeypatch)
    first = _scan(content, output)
    assert sorted(parsed) == ["a", "b", "c"]
    parsed.clear()
    again = _scan(content, output)
    assert parsed == [] and _plain(again) == _plain(first) and again.ok
    assert _plain(again) == _plain(scan(content, ROOT / "catalogs", jobs=1))   # the same as without the cache


def test_a_changed_new_or_removed_unit_file_is_read_again(make_tree, tmp_path, monkeypatch):
    content = _content(make_tree)
    output = tmp_path / "output"
    _scan(content, output)
    parsed = _counting(monkeypatch)
    (content / "b" / "_unit.yaml").write_text(TOWN.replace("name: ", "name: 新"), encoding="utf-8")
    site = _scan(content, output)
    assert "b" in parsed and site.units["b"].name.startswith("新")
    assert _plain(site) == _plain(scan(content, ROOT / "catalogs", jobs=1))
    parsed.clear()
    (content / "d" / "qtwj").mkdir(parents=True)
    (content / "d" / "_unit.yaml").write_text(TOWN, encoding="utf-8")
    (content / "d" / "qtwj" / "f.md").write_text(ITEM.format(n="d", no=NO.format(9)), encoding="utf-8")
    site = _scan(content, output)
    assert parsed and "d" in site.units
    (content / "d" / "qtwj" / "f.md").unlink()
    (content / "d" / "qtwj").rmdir()
    (content / "d" / "_unit.yaml").unlink()
    (content / "d").rmdir()
    site = _scan(content, output)
    assert "d" not in site.units and sorted(site.units) == ["a", "b", "c"]


def test_unit_problems_are_reported_every_build(make_tree, tmp_path, monkeypatch):
    content = _content(make_tree)
    output = tmp_path / "output"
    (content / "c" / "_unit.yaml").write_text("name: [\n", encoding="utf-8")
    first = _scan(content, output)
    parsed = _counting(monkeypatch)
    again = _scan(content, output)
    assert "c" in parsed and not again.ok
    assert [(p.path, p.message) for p in again.problems if p.rule.startswith("unit.")] == \
        [(p.path, p.message) for p in first.problems if p.rule.startswith("unit.")]
    # A unit folder without its file: reported again too.
    (content / "c" / "_unit.yaml").unlink()
    assert any(p.rule == "unit.missing" for p in _scan(content, output).problems)


def test_a_linked_unit_folder_or_file_is_left_to_load_units(make_tree, tmp_path, monkeypatch):
    content = _content(make_tree)
    output = tmp_path / "output"
    _scan(content, output)
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(TOWN, encoding="utf-8")
    (content / "b" / "_unit.yaml").unlink()
    os.symlink(outside, content / "b" / "_unit.yaml")
    parsed = _counting(monkeypatch)
    site = _scan(content, output)
    assert any(p.rule == "unit.path" for p in site.problems)     # refused as before, not taken from the cache
    (content / "b" / "_unit.yaml").unlink()
    (content / "b" / "_unit.yaml").write_text(TOWN, encoding="utf-8")
    _scan(content, output)
    parsed.clear()
    os.symlink(content / "a", content / "e")
    site = _scan(content, output)
    assert parsed   # read by load_units, which judges the link
    assert _plain(site) == _plain(scan(content, ROOT / "catalogs", jobs=1))
