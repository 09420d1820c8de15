"""Bounded memory (issue 15 point 4): the pre-pass validates units in forked workers,
keeps every unit's full items in the build's private spool and hands the parent slim
items. The parent's items carry no bodies; whoever needs bodies loads one unit's from
the spool, and a spool file that is not ours is refused, never followed."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

from conftest import ROOT, UNIT_YAML, build
from test_incremental import same_trees

from gongkai import check as checker
from gongkai import spool as spool_mod
from gongkai.facts import Facts
from gongkai.site import scan

ITEM = "---\ntitle: 文件{n}\ncolumn: qtwj\nindex_no: {no}\npublished: 2024-01-0{d}\n{extra}---\n正文ZQX{n}BODY\n"
NO = "11990102MB0000003X/2024-{:05d}"


def _content(make_tree) -> Path:
    """Four units, with a problem of every kind the scan reports: per file, per folder, across units."""
    town = UNIT_YAML.replace("level: county", "level: township")
    files = {}
    for u, uid in enumerate(("a", "b", "c", "d")):
        files[f"{uid}/_unit.yaml"] = UNIT_YAML if uid == "a" else town
        for n in range(3):
            files[f"{uid}/qtwj/f{n}.md"] = ITEM.format(n=f"{uid}{n}", no=NO.format(u * 10 + n), d=n + 1, extra="")
    files["b/qtwj/dup.md"] = ITEM.format(n="dup", no=NO.format(0), d=5, extra="")          # duplicate of a/f0
    files["c/qtwj/ref.md"] = ITEM.format(n="ref", no=NO.format(90), d=5, extra=f"repealed_by: {NO.format(99)}\n")
    files["c/qtwj/bad.md"] = "---\ntitle: [\n---\n"                                            # does not parse
    files["d/qtwj/odd.yml"] = "title: x\n"                                                     # not read, said so
    files["d/qtwj/qa.md"] = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\nindex_no: " + NO.format(95)
                             + "\ninterprets: " + NO.format(31) + "\npublished: 2024-01-06\nqa:\n  - q: 问题一\n    a: 答案ZQXANSWER\n---\n正文\n")
    return make_tree(files)


def _shown(problems) -> list[tuple]:
    return [(p.path.split("content/")[-1], p.line, p.field, p.severity, p.message) for p in problems]


def test_parent_items_carry_no_bodies_and_the_spool_has_them(make_tree):
    content = _content(make_tree)
    site = scan(content, ROOT / "catalogs", jobs=2)
    assert site.items and all(i.body == "" for i in site.items)
    assert all(pair.a == "" and pair.q for i in site.items for pair in i.qa)
    full = {i.source.split("content/")[-1]: i for uid in site.units for i in site.full_items(uid)}
    assert full["a/qtwj/f1.md"].body.strip() == "正文ZQXa1BODY"
    assert [p.a for p in full["d/qtwj/qa.md"].qa] == ["答案ZQXANSWER"]
    # The slim items keep what the registry and the messages read: line numbers, 问答 anchors.
    slim = next(i for i in site.items if i.source.endswith("d/qtwj/qa.md"))
    assert slim.line("index_no") == full["d/qtwj/qa.md"].line("index_no") and slim.qa[0].anchor
    assert site.full_item(slim).qa[0].a == "答案ZQXANSWER"


def test_problems_and_items_do_not_depend_on_the_number_of_workers(make_tree):
    content = _content(make_tree)
    one, two = scan(content, ROOT / "catalogs", jobs=1), scan(content, ROOT / "catalogs", jobs=2)
    assert _shown(one.problems) == _shown(two.problems)
    rules = {p[-1].split(" ")[0] for p in _shown(one.problems)}
    assert len(one.problems) >= 4 and rules          # the duplicate, the reference, the parse error, the suffix
    assert [i.source for i in one.items] == [i.source for i in two.items]
    assert one.unread_index_nos == two.unread_index_nos
    assert one.items == two.items


def test_a_spool_file_that_is_not_ours_is_refused_and_the_sources_read_again(make_tree, tmp_path, capsys):
    content = _content(make_tree)
    site = scan(content, ROOT / "catalogs", jobs=2)
    spool = site.spool
    assert oct(spool.folder.stat().st_mode & 0o777) == "0o700"
    a, b, c = spool.path("a"), spool.path("b"), spool.path("c")
    # Another build's file (another token), a damaged one, and a symlink to a file of ours.
    foreign = pickle.loads(a.read_bytes())
    foreign["token"] = "0" * 32
    a.write_bytes(pickle.dumps(foreign))
    b.write_bytes(b"\x80\x05garbage")
    elsewhere = tmp_path / "elsewhere.pickle"
    shutil.copyfile(c, elsewhere)
    c.unlink()
    os.symlink(elsewhere, c)
    for uid in ("a", "b", "c"):
        spool.forget()
        assert spool.load(uid) is None
        bodies = sorted(i.body.strip() for i in site.full_items(uid))   # read again from the sources
        assert bodies and all(body.startswith("正文") for body in bodies)
        assert f"正文ZQX{uid}0BODY" in bodies
    assert "spool" in capsys.readouterr().err
    assert spool.load("d") is not None


def test_the_spool_goes_with_the_scan(make_tree):
    content = _content(make_tree)
    site = scan(content, ROOT / "catalogs", jobs=2)
    folder = site.spool.folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(site.spool.path(u).name for u in site.units)
    site.spool.close()
    assert not folder.exists()


def test_checker_body_rules_read_bodies_from_the_spool(make_tree):
    # An unmasked personal ID in a body and in an answer: the privacy rule sees both with slim items.
    content = _content(make_tree)
    (content / "a" / "qtwj" / "f2.md").write_text(ITEM.format(n="a2", no=NO.format(2), d=3, extra="")
                                                  + "联系人身份证 110101199003074514\n", encoding="utf-8")
    site = scan(content, ROOT / "catalogs", jobs=2)
    facts = Facts.of(site, __import__("datetime").date(2026, 11, 22))
    report = checker.run(site, facts, ROOT / "catalogs" / "rules.yaml", only=["a"])
    found = [f for u in report.units for f in u.findings if f.rule == "privacy.personal-info"]
    assert found and "110101" in found[0].found and found[0].path.endswith("a/qtwj/f2.md")


def test_build_renders_from_the_spool_and_a_refused_spool_gives_the_same_site(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    normal = build(content, tmp_path / "one" / "output", "--no-cache", "--jobs", "2")
    assert normal.returncode == 0, normal.stderr
    assert "spool" not in normal.stderr
    # Every spool file unreadable: the workers and the checker read the sources again, same bytes.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import gongkai.spool as s\ns.Spool.write = lambda self, uid, items, slim=None: None\n", encoding="utf-8")
    refused = build(content, tmp_path / "two" / "output", "--no-cache", "--jobs", "2",
                    env={"PYTHONPATH": f"{hook}{os.pathsep}{ROOT / 'plugins'}"})
    assert refused.returncode == 0, refused.stderr
    assert "spool" in refused.stderr
    same_trees(tmp_path / "one" / "output", tmp_path / "two" / "output")


def test_slim_keeps_everything_but_bodies():
    from gongkai.fields import QA
    from gongkai.items import Item
    import datetime as dt
    item = Item(unit="a", source="content/a/x.md", path=Path("content/a/x.md"), slug="x", type="interpretation",
                title="t", column="zcjd", published=dt.datetime(2024, 1, 1), issuer="i", body="long body",
                qa=[QA("q", "answer", "<p>answer</p>")], lines={("title",): 2})
    thin = spool_mod.slim(item)
    assert thin.body == "" and thin.qa[0].a == "" and thin.qa[0].anchor == item.qa[0].anchor
    assert thin.lines == item.lines and thin.title == item.title and item.body == "long body"



def test_an_item_survives_pickling_with_every_field_and_a_working_path():
    # Items travel by pickle (workers, spool, cache) with their path as parsed parts.
    import datetime as dt

    from gongkai.fields import QA
    from gongkai.items import Item
    for path in (Path("/abs/内容/a/x.md"), Path("content/a/x.md"), Path("x.md")):
        item = Item(unit="a", source=str(path), path=path, slug="x", type="policy", title="t", column="zcjd",
                    published=dt.datetime(2024, 1, 1), issuer="i", body="b", keywords=["k"],
                    qa=[QA("q", "a", "<p>a</p>")], lines={("title",): 2}, valid_until=dt.date(2025, 1, 1))
        back = pickle.loads(pickle.dumps([item, item], protocol=pickle.HIGHEST_PROTOCOL))
        assert back[0] == item and back[0] is back[1]
        assert type(back[0].path) is type(path) and str(back[0].path) == str(path)
        assert back[0].path.parent == path.parent and back[0].path / "y" == path / "y"
        assert hash(back[0].path) == hash(path) and back[0].path.suffix == ".md"


def _cached_scan(content: Path, output: Path, jobs: int = 1):
    from gongkai.incremental import Cache, ItemCache
    store = Cache.open(output)
    cache = ItemCache(store, ROOT / "catalogs")
    site = scan(content, ROOT / "catalogs", cache, jobs=jobs)
    store.save_hashes()
    return site, cache


def test_an_unchanged_unit_is_validated_from_its_slim_record_alone(make_tree, tmp_path, monkeypatch):
    from gongkai.incremental.store import Cache
    content = _content(make_tree)
    output = tmp_path / "output"
    first, _ = _cached_scan(content, output, jobs=2)
    bodies = {uid: [i.body for i in first.full_items(uid)] for uid in first.units}
    (content / "a" / "qtwj" / "f1.md").write_text(ITEM.format(n="a1x", no=NO.format(1), d=2, extra=""),
                                                  encoding="utf-8")
    loaded: list[str] = []
    real = Cache.load_pickle
    monkeypatch.setattr(Cache, "load_pickle", lambda self, name: loaded.append(name) or real(self, name))
    second, cache = _cached_scan(content, output, jobs=1)
    full_files = [n for n in loaded if n.startswith("items/") and not n.endswith(".slim.pickle")]
    # Units a, b, c, d: a changed (its full items are read), c and d have problems (no slim
    # record: read every time, with their messages), b is clean and unchanged: slim record only.
    assert len(full_files) == 3 and cache.hits > 0
    assert _shown(second.problems) == _shown(first.problems)
    assert [i.source for i in second.items] == [i.source for i in first.items]
    assert all(i.body == "" for i in second.items)
    assert [i.body for i in second.full_items("b")] == bodies["b"]      # from the cache file
    assert [i.body.strip() for i in second.full_items("a")][1] == "正文ZQXa1xBODY"


def test_an_unchanged_unit_is_answered_without_walking_it(make_tree, tmp_path, monkeypatch):
    # Issue 15, a one-item edit: a clean unit whose folder did not change is answered by the
    # build's process from its slim record, without listing its item files or a worker.
    from gongkai import site as site_mod
    content = _content(make_tree)
    output = tmp_path / "output"
    _cached_scan(content, output, jobs=2)
    walked: list[str] = []
    real = site_mod.item_files
    monkeypatch.setattr(site_mod, "item_files", lambda unit, problems=None: walked.append(unit.id) or real(unit, problems))
    second, _ = _cached_scan(content, output)
    assert sorted(walked) == ["c", "d"]       # c and d have problems: read every build, with their messages
    (content / "b" / "qtwj" / "note.txt").write_text("不是信息项", encoding="utf-8")   # not an item, in b's folder
    (content / "a" / "qtwj" / "f3.md").write_text(ITEM.format(n="a3", no=NO.format(3), d=4, extra=""),
                                                  encoding="utf-8")
    walked.clear()
    third, _ = _cached_scan(content, output)
    assert sorted(walked) == ["a", "b", "c", "d"]
    assert len(third.items) == len(second.items) + 1 and any(i.source.endswith("a/qtwj/f3.md") for i in third.items)
    assert [i.body.strip() for i in third.full_items("a")][-1] == "正文ZQXa3BODY"
    walked.clear()
    fourth, _ = _cached_scan(content, output)
    assert sorted(walked) == ["c", "d"]       # b's record now holds its new folder
    assert [i.source for i in fourth.items] == [i.source for i in third.items]
    assert _shown(fourth.problems) == _shown(third.problems)
    assert [i.body for i in fourth.full_items("b")] == [i.body for i in third.full_items("b")]


def test_an_unchanged_units_items_go_to_the_store_as_its_slim_record_keeps_them(make_tree, tmp_path, monkeypatch):
    # Issue 15: the slim record keeps the unit's items pickled as one blob, which the parent's
    # store (spool.UnitItems) keeps as it is: an unchanged unit's items are not pickled again.
    # A record of the older layout (the list itself) or a damaged blob is not trusted.
    from gongkai import site as site_mod
    from gongkai.incremental.store import Cache
    from gongkai.incremental.validate import _name
    from gongkai.items import Item
    content = _content(make_tree)
    output = tmp_path / "output"
    first, _ = _cached_scan(content, output, jobs=2)
    pickled: list[str] = []
    real = pickle.dumps

    def dumps(obj, *args, **kwargs):
        if isinstance(obj, list) and obj and isinstance(obj[0], Item):
            pickled.append(obj[0].unit)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(pickle, "dumps", dumps)
    second, _ = _cached_scan(content, output)
    assert sorted(pickled) == ["c", "d"]      # read again every build (they have problems); a and b not pickled
    assert second.items == first.items
    store = Cache.open(output)
    record = store.load_pickle(_name("b", ".slim"))
    assert isinstance(record["slim"], bytes)
    walked: list[str] = []
    real_files = site_mod.item_files
    monkeypatch.setattr(site_mod, "item_files", lambda unit, problems=None: walked.append(unit.id) or real_files(unit, problems))
    for stale in ({**record, "slim": pickle.loads(record["slim"])}, {**record, "slim": b"\x80\x05damaged"}):
        store.save_pickle(_name("b", ".slim"), stale)
        walked.clear()
        again, _ = _cached_scan(content, output)
        assert "b" in walked and again.items == first.items
        assert _shown(again.problems) == _shown(first.problems)


def test_a_first_scan_points_the_spool_at_the_cache_for_clean_units_only(make_tree, tmp_path):
    # Bodies are pickled once: a clean unit's spool entry refers to the cache file just written.
    content = _content(make_tree)
    site, _ = _cached_scan(content, tmp_path / "output", jobs=2)
    entries = {uid: pickle.loads(site.spool.path(uid).read_bytes()) for uid in site.units}
    assert "cache" in entries["a"] and "items" not in entries["a"]
    assert "items" in entries["c"] and "cache" not in entries["c"]       # a unit with problems keeps its own copy
    assert sorted(i.body.strip() for i in site.full_items("a")) == ["正文ZQXa0BODY", "正文ZQXa1BODY", "正文ZQXa2BODY"]

def test_a_cache_file_changed_after_the_scan_is_refused_and_the_sources_read(make_tree, tmp_path, capsys):
    content = _content(make_tree)
    output = tmp_path / "output"
    _cached_scan(content, output)
    site, _ = _cached_scan(content, output)
    # The spool points at the cache's file for unit b; overwrite that file with other items.
    ref = site.spool.held("b")
    assert "cache" in ref
    stored = pickle.loads(Path(ref["cache"]).read_bytes())
    for key, entry in stored["index"].items():
        stored["index"][key] = (["f", "0" * 64], *entry[1:])
    Path(ref["cache"]).write_bytes(pickle.dumps(stored))
    assert site.spool.load("b") is None
    assert "spool" in capsys.readouterr().err
    assert sorted(i.body.strip() for i in site.full_items("b"))[-1] == "正文ZQXdupBODY"


def test_an_unchanged_unit_has_no_spool_file_and_its_worker_gets_the_reference(make_tree, tmp_path, capsys):
    """No spool file a unit whose folder did not change (1,300 files an edit build): the parent
    holds the reference (in its one unnamed spill file), and the worker that builds the unit
    gets it with its job."""
    content = _content(make_tree)
    output = tmp_path / "output"
    _cached_scan(content, output)
    site, _ = _cached_scan(content, output)
    assert site.from_cache == {"a", "b"}
    assert sorted(p.name for p in site.spool.folder.iterdir()) == sorted(site.spool.path(u).name for u in ("c", "d"))
    bodies = sorted(i.body.strip() for i in site.spool.load("a"))
    assert bodies == ["正文ZQXa0BODY", "正文ZQXa1BODY", "正文ZQXa2BODY"]
    worker = spool_mod.Spool.attach(site.spool.folder, site.spool.token)
    worker.hold("a", site.spool.held("a"))
    assert sorted(i.body.strip() for i in worker.load("a")) == bodies
    worker.hold("a", None)
    assert worker.held("a") is None and worker.load("a") is None     # no file: the sources are read again
    assert "spool" in capsys.readouterr().err


def test_units_rebuilt_from_unchanged_folders_render_from_the_held_references(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    first = build(content, tmp_path / "output", "--jobs", "2")
    assert first.returncode == 0, first.stderr
    # A later day: a unit rebuilt whose folder did not change; its worker loads the unit's
    # items by the reference its job carried (a missing one would be said, and the sources read).
    again = build(content, tmp_path / "output", "--jobs", "2", env={"BUILD_DATE": "2026-12-31"})
    assert again.returncode == 0, again.stderr
    said = again.stdout + again.stderr
    assert "rebuilt 1 of 5 units (shili-county: registry,states)" in said
    assert "暂存文件" not in said


def test_a_build_spools_beside_its_output_and_leaves_nothing_there(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    # A killed build's spool is removed by the next build; a symlink named like one is left alone.
    stale = tmp_path / ".output.spool-dead1234"
    stale.mkdir()
    (stale / "x.pickle").write_bytes(b"old")
    target = tmp_path / "keep"
    target.mkdir()
    os.symlink(target, tmp_path / ".output.spool-link")
    result = build(content, tmp_path / "output", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    left = sorted(p.name for p in tmp_path.iterdir() if ".spool-" in p.name)
    assert left == [".output.spool-link"] and target.is_dir()


def test_a_spool_that_cannot_be_written_costs_time_not_the_build(make_tree, monkeypatch, capsys):
    content = _content(make_tree)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(spool_mod.os, "fdopen", full)
    site = scan(content, ROOT / "catalogs", jobs=1)
    monkeypatch.undo()
    assert not any(site.spool.folder.iterdir())
    assert [i.body.strip() for i in site.full_items("a")][0] == "正文ZQXa0BODY"
    assert "spool" in capsys.readouterr().err


def _restored_units(monkeypatch) -> list[str]:
    """The unit of every item made from now on: unpickled (items._restore) or read."""
    from gongkai.items import Item
    out: list[str] = []
    real = Item.__init__

    def init(self, *args, **kwargs):
        out.append(args[0] if args else kwargs.get("unit"))
        real(self, *args, **kwargs)
    monkeypatch.setattr(Item, "__init__", init)
    return out


def _scanned(site) -> tuple:
    """What the scan gives besides the items: the cross-unit facts and the problems."""
    return (_shown(site.problems), list(site.public_on.items()), [i.source for i in site.sangong],
            [i.source for i in site.annual], sorted(site.unread_index_nos))


def test_the_scan_unpickles_no_item_of_an_unchanged_unit(make_tree, tmp_path, monkeypatch):
    # Issue 15, a one-item edit: what the scan reads of a unit's items (their public-on dates,
    # 索引号 claims, references, 三公 and 年报 items: site.unit_notes) is kept beside them in
    # the slim record, so an unchanged unit's items stay pickled until Facts.of reads them.
    content = _content(make_tree)
    output = tmp_path / "output"
    first, _ = _cached_scan(content, output, jobs=2)
    restored = _restored_units(monkeypatch)
    second, _ = _cached_scan(content, output, jobs=1)
    assert "a" not in restored and "b" not in restored    # clean and unchanged (c, d: read every build)
    assert _scanned(second) == _scanned(first) == _scanned(scan(content, ROOT / "catalogs", jobs=1))
    assert second.items == first.items
    # An edit shows in what the scan read: the new item's 索引号 and its duplicate.
    (content / "b" / "qtwj" / "f1.md").write_text(ITEM.format(n="b1x", no=NO.format(0), d=9, extra=""),
                                                  encoding="utf-8")
    third, _ = _cached_scan(content, output, jobs=2)
    assert _scanned(third) == _scanned(scan(content, ROOT / "catalogs", jobs=1)) != _scanned(second)
    assert any(NO.format(0) in p[-1] and p[0] == "b/qtwj/f1.md" for p in _shown(third.problems))


def test_the_scan_of_the_sample_from_the_cache_is_the_scan_without_it(tmp_path, monkeypatch):
    # The sample has 三公 and 年报 items and references across units: the scan answered from
    # the slim records gives the same facts as a scan that reads every file.
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    output = tmp_path / "output"
    _cached_scan(content, output, jobs=2)
    restored = _restored_units(monkeypatch)
    cached, _ = _cached_scan(content, output, jobs=1)
    # The only items unpickled: the 三公 and 年报 items, which the scan keeps as items.
    assert cached.sangong and cached.annual and len(restored) == len(cached.sangong) + len(cached.annual)
    plain = scan(content, ROOT / "catalogs", jobs=1)
    assert _scanned(cached) == _scanned(plain) and cached.items == plain.items


def test_a_slim_record_whose_notes_are_damaged_is_not_trusted(make_tree, tmp_path, monkeypatch):
    from gongkai import site as site_mod
    from gongkai.incremental.store import Cache
    from gongkai.incremental.validate import _name
    content = _content(make_tree)
    output = tmp_path / "output"
    first, _ = _cached_scan(content, output, jobs=2)
    store = Cache.open(output)
    record = store.load_pickle(_name("b", ".slim"))
    notes = pickle.loads(record["notes"])
    walked: list[str] = []
    real_files = site_mod.item_files
    monkeypatch.setattr(site_mod, "item_files", lambda unit, problems=None: walked.append(unit.id) or real_files(unit, problems))
    wrong = pickle.dumps({**notes, "public_on": [(n, "1999-01-01") for n, _ in notes["public_on"]]})
    for stale in ({**record, "notes": wrong}, {k: v for k, v in record.items() if k != "digest"},
                  {**record, "notes": pickle.loads(record["notes"])}):
        store.save_pickle(_name("b", ".slim"), stale)
        walked.clear()
        again, _ = _cached_scan(content, output)
        assert "b" in walked and _scanned(again) == _scanned(first)


def test_a_kept_tree_is_unchanged_exactly_when_its_signature_is_the_same(tmp_path):
    # validate.tree_unchanged answers plain folders from one lstat per file and the hash
    # records; whatever else it meets goes to tree_signature, so its answer and the hashes
    # it marks seen are always tree_signature's.
    from gongkai.incremental.store import Cache
    from gongkai.incremental.validate import tree_signature, tree_unchanged
    folder = tmp_path / "u"
    for name, text in {"a.md": "一", "z/b.md": "二", "z/y/c.md": "三", ".hidden": "四", "b/d.txt": "五"}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    store = Cache(tmp_path / "cache")
    kept = tree_signature(store, folder)
    store.hashes.memo, store.hashes.seen = store.hashes.seen, {}

    def check() -> bool:
        seen_before = dict(store.hashes.seen)
        answer = tree_unchanged(store, folder, kept)
        quick_seen, store.hashes.seen = store.hashes.seen, dict(seen_before)
        assert answer == (tree_signature(store, folder) == kept)
        if answer:
            assert quick_seen == store.hashes.seen
        return answer

    assert check() and len(store.hashes.seen) == 5
    (folder / "z" / "b.md").write_text("二", encoding="utf-8")            # the same bytes written again
    assert check()
    (folder / "z" / "b.md").write_text("贰", encoding="utf-8")            # same size, other bytes
    assert not check()
    (folder / "z" / "b.md").write_text("二", encoding="utf-8")
    (folder / "z" / "y" / "e.md").write_text("", encoding="utf-8")        # a file more
    assert not check()
    (folder / "z" / "y" / "e.md").unlink()
    assert check()
    (folder / "link").symlink_to(folder / "a.md")                         # a link: tree_signature's answer
    assert not check()
    kept = tree_signature(store, folder)
    assert check()
    (folder / "link").unlink()
    os.mkfifo(folder / "z" / "pipe")                                      # never opened
    assert not check()
    assert not tree_unchanged(store, folder, None) and not tree_unchanged(store, tmp_path / "gone", kept)


def test_an_item_changed_after_its_unit_tree_was_taken_is_read_again_next_build(make_tree, tmp_path, monkeypatch):
    """A unit's tree is taken before its files are read. A file changed in between is read as
    it is then, and kept with the signature it was read under, in the items file and in the
    tree (its slim record, its output's key): changed back to what the tree saw, the next
    build reads it again, never takes the other content for it."""
    from gongkai.incremental import validate
    content = _content(make_tree)
    output = tmp_path / "output"
    _cached_scan(content, output)
    target = content / "a" / "qtwj" / "f1.md"
    real = validate._UnitItems.tree

    def then_edited(self):
        got = real(self)
        if self.unit.id == "a" and "EDITED" not in target.read_text(encoding="utf-8"):
            target.write_text(ITEM.format(n="a1EDITED", no=NO.format(1), d=2, extra=""), encoding="utf-8")
        return got

    target.write_text(ITEM.format(n="a1x", no=NO.format(1), d=2, extra=""), encoding="utf-8")
    monkeypatch.setattr(validate._UnitItems, "tree", then_edited)
    second, cache = _cached_scan(content, output)
    monkeypatch.setattr(validate._UnitItems, "tree", real)
    assert "EDITED" in target.read_text(encoding="utf-8")        # edited after the tree, before the read
    assert "正文ZQXa1EDITEDBODY" in [i.body.strip() for i in second.full_items("a")]
    entry = next(e for e in second.trees["a"] if e[0].endswith("f1.md"))
    assert entry[1:] == cache.cache.hashes.signature(target)     # the tree says what was read
    target.write_text(ITEM.format(n="a1x", no=NO.format(1), d=2, extra=""), encoding="utf-8")   # as the tree saw it
    third, cache = _cached_scan(content, output)
    assert "正文ZQXa1xBODY" in [i.body.strip() for i in third.full_items("a")]
    assert "文件a1x" in [i.title for i in third.items] and "文件a1EDITED" not in [i.title for i in third.items]


def test_a_unit_read_whole_signs_its_item_files_by_their_reads(make_tree, tmp_path, monkeypatch):
    """A unit with nothing kept (a cold build) is read whole and its tree is taken after the
    reads: each item file is signed by the bytes it was read from, never read a second time
    to be hashed. A file changed after its read and before the tree is kept with what was
    read, in the items file and in the tree: the next build reads it again."""
    from gongkai.incremental import store, validate
    content = _content(make_tree)
    output = tmp_path / "output"
    hashed = []
    real_hash = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda path: hashed.append(str(path)) or real_hash(path))
    target = content / "a" / "qtwj" / "f1.md"
    real = validate._UnitItems.tree

    def edited_first(self):
        if self.unit.id == "a" and "EDITED" not in target.read_text(encoding="utf-8"):
            target.write_text(ITEM.format(n="a1EDITED", no=NO.format(1), d=2, extra=""), encoding="utf-8")
        return real(self)

    monkeypatch.setattr(validate._UnitItems, "tree", edited_first)
    first, cache = _cached_scan(content, output)
    monkeypatch.setattr(validate._UnitItems, "tree", real)
    read = [i.source for i in first.items]
    # No item file is read a second time to be hashed, but the one edited after its read.
    assert len(read) > 3 and set(read) & set(hashed) == {str(target)}
    assert hashed                                          # the files that are not items are hashed
    assert "正文ZQXa1BODY" in [i.body.strip() for i in first.full_items("a")]   # read before the edit
    entry = next(e for e in first.trees["a"] if e[0].endswith("f1.md"))
    assert entry[1:] != cache.cache.hashes.signature(target)    # the tree says what was read, not the edit
    second, _ = _cached_scan(content, output)
    assert "正文ZQXa1EDITEDBODY" in [i.body.strip() for i in second.full_items("a")]
    assert "文件a1EDITED" in [i.title for i in second.items]


def test_an_attachment_changed_after_its_item_was_read_makes_the_next_build_build_the_unit(make_tree, tmp_path,
                                                                                              monkeypatch):
    """The tree of a unit read whole is taken after the reads. An attachment changed after its
    item was read (the item, and its page, show the old size) is in the tree as the read saw
    it: the next build's tree differs, so the unit's output is not reused, and the item is
    read again with the new size."""
    from gongkai.incremental import validate
    from gongkai.incremental.store import digest
    files = {"a/_unit.yaml": UNIT_YAML, "a/qtwj/x.pdf": b"%PDF-1.4\n" + b"A" * 100}
    for n in range(3):
        files[f"a/qtwj/f{n}.md"] = ITEM.format(n=f"a{n}", no=NO.format(n), d=n + 1,
                                               extra="attachments: [x.pdf]\n" if n == 0 else "")
    content = make_tree(files)
    output = tmp_path / "output"
    att = content / "a" / "qtwj" / "x.pdf"
    real = validate._UnitItems.read

    def read_then_edit(self, path, cats, walked=False):
        got = real(self, path, cats, walked)
        if path.name == "f0.md" and att.stat().st_size < 1000:
            att.write_bytes(b"%PDF-1.4\n" + b"B" * 5000)   # while the unit's other items are read
        return got

    monkeypatch.setattr(validate._UnitItems, "read", read_then_edit)
    first, _ = _cached_scan(content, output)
    monkeypatch.setattr(validate._UnitItems, "read", real)

    def size(site):
        return next(i for i in site.full_items("a") if i.attachments).attachments[0].size

    assert size(first) == 109
    second, cache = _cached_scan(content, output)
    assert size(second) == 5009
    entry = next(e for e in first.trees["a"] if e[0].endswith("x.pdf"))
    assert entry[1:] != cache.cache.hashes.signature(att)       # the version the item was read with
    assert digest(first.trees["a"]) != digest(second.trees["a"])  # the unit's output key changes


def test_items_read_without_a_checked_open_file_are_kept_too(tmp_path, monkeypatch):
    """Where a file cannot be read through a checked open file (no /proc: ``read_walked``
    gives None and the path is vetted instead), its bytes are not seen by the cache: it is
    signed, then read again, and kept under that signature. The next build takes from the
    cache what it takes where the reads are signed."""
    from conftest import write_tree
    from gongkai import schema

    def edit_and_rescan(where: str):
        content = _content(lambda files: write_tree(tmp_path / where / "content", files))
        output = tmp_path / where / "output"
        _cached_scan(content, output)
        (content / "a" / "qtwj" / "f1.md").write_text(ITEM.format(n="a1x", no=NO.format(1), d=2, extra=""),
                                                      encoding="utf-8")
        second, cache = _cached_scan(content, output)
        assert "正文ZQXa1xBODY" in [i.body.strip() for i in second.full_items("a")]
        return cache.hits, cache.misses

    signed = edit_and_rescan("signed")
    monkeypatch.setattr(schema, "read_walked", lambda *a, **k: None)
    assert edit_and_rescan("vetted") == signed and signed[0] > 0


def test_the_items_file_keeps_the_packed_slim_items_and_the_bodies_and_a_damaged_one_is_read_again(
        make_tree, tmp_path, monkeypatch):
    """A unit's items file in the build cache holds the slim items the pre-pass packed for the
    parent, as they are (not the full items pickled again), and what slimming took from each;
    the next build makes its items from them. A damaged one: the sources are read again."""
    from gongkai import spool as spool_mod
    from gongkai.incremental.validate import _name
    content = _content(make_tree)
    output = tmp_path / "output"
    packed = []
    real_pack = spool_mod.pack
    monkeypatch.setattr(spool_mod, "pack", lambda items: packed.append(len(items)) or real_pack(items))
    first, cache = _cached_scan(content, output)
    assert len(packed) == len(first.units)      # once a unit: the items file took the parent's blob
    monkeypatch.setattr(spool_mod, "pack", real_pack)
    record = pickle.loads((cache.cache.folder / _name("a")).read_bytes())
    assert record["format"] == spool_mod.ITEMS_FORMAT and "items" not in record
    assert sorted(body.strip() for body, _ in record["taken"]) == ["正文ZQXa0BODY", "正文ZQXa1BODY", "正文ZQXa2BODY"]
    base = _cached_scan(content, output)[1].misses    # the files with problems, read every time
    (content / "a" / "qtwj" / "f1.md").write_text(ITEM.format(n="a1x", no=NO.format(1), d=2, extra=""),
                                                  encoding="utf-8")
    second, cache = _cached_scan(content, output)
    assert cache.misses == base + 1     # a1 read again; a0 and a2 taken from the items file
    assert sorted(i.body.strip() for i in second.full_items("a")) == ["正文ZQXa0BODY", "正文ZQXa1xBODY",
                                                                      "正文ZQXa2BODY"]
    record = pickle.loads((cache.cache.folder / _name("a")).read_bytes())
    (cache.cache.folder / _name("a")).write_bytes(pickle.dumps({**record, "slim": b"damaged"}))
    (content / "a" / "qtwj" / "f2.md").write_text(ITEM.format(n="a2x", no=NO.format(2), d=3, extra=""),
                                                  encoding="utf-8")
    third, cache = _cached_scan(content, output)
    assert cache.misses == base + 3     # a1x unchanged, but its kept item cannot be made: read again
    assert sorted(i.body.strip() for i in third.full_items("a")) == ["正文ZQXa0BODY", "正文ZQXa1xBODY",
                                                                     "正文ZQXa2xBODY"]
