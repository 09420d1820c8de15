"""Incremental rebuilds (issue 15 point 3): the cache beside the output never serves a
stale page. Each scenario rebuilds with the cache, checks what must have changed, and
compares the tree byte for byte with an uncached (``--no-cache``) build of the same
input and date: the test that catches any input forgotten in a unit's key."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import AS_OF, ROOT, build

UNIT = "shili-town"
NOTICE = """\
---
title: 示例镇临时公示ZQXNOTICE
column: gsgg
type: notice
index_no: {index_no}
published: 2026-11-10
publicity_until: 2026-11-25
---

公示正文ZQXBODYTOKEN，请在公示期内反映。
"""


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def same_trees(a: Path, b: Path) -> None:
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb), set(ta) ^ set(tb)
    differ = [name for name in ta if ta[name] != tb[name]]
    assert not differ, differ[:10]


def rebuilt(stdout: str) -> tuple[int, int]:
    m = re.search(r"incremental: rebuilt (\d+) of (\d+) units", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def site(tmp_path):
    """A copy of the sample content with one open 公示 of the town, and a first cached build."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    index_nos = re.findall(r"^index_no:\s*(\S+)", "\n".join(
        p.read_text(encoding="utf-8") for p in (content / UNIT).rglob("*.md")), re.M)
    prefix, _, _ = sorted(index_nos)[-1].rpartition("-")
    (content / UNIT / "gsgg" / "2026-zqx-gongshi.md").write_text(
        NOTICE.format(index_no=f"{prefix}-09999"), encoding="utf-8")
    out = tmp_path / "output"
    first = build(content, out, "--jobs", "2")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / ".output.cache").is_dir()
    return content, out


def rebuild(content: Path, out: Path, day: str = AS_OF, *extra: str):
    result = build(content, out, "--jobs", "2", *extra, env={"BUILD_DATE": day})
    assert result.returncode == 0, result.stderr
    return result


def check_uncached(content: Path, out: Path, tmp_path: Path, day: str = AS_OF, *extra: str) -> None:
    fresh = tmp_path / "fresh" / "output"
    rebuild(content, fresh, day, "--no-cache", *extra)
    same_trees(out, fresh)
    shutil.rmtree(fresh.parent)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def files_with(folder: Path, token: str) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and token.encode() in p.read_bytes()}


def test_unchanged_input_reuses_every_unit(site, tmp_path):
    content, out = site
    result = rebuild(content, out)
    built, total = rebuilt(result.stdout)
    assert (built, total) == (0, 5)
    check_uncached(content, out, tmp_path)


def test_edit_an_item_shows_everywhere(site, tmp_path):
    content, out = site
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    source = text(item)
    title = re.search(r"^title:\s*(.+)$", source, re.M).group(1)
    item.write_text(source.replace(f"title: {title}", f"title: {title}EDITMARK", 1), encoding="utf-8")
    result = rebuild(content, out)
    assert rebuilt(result.stdout) == (1, 5)
    # The search line counts what this build indexed, not the kept indexes' old figures.
    m = re.search(r"^search: [\d.]+ s to index (\d+) pages of (\d+) unit\(s\) .*; the indexes of (\d+) "
                  r"unchanged unit\(s\) kept$", result.stdout, re.M)
    assert m, result.stdout
    assert (int(m.group(2)), int(m.group(3))) == (1, 4)
    assert int(m.group(1)) == json.loads(text(out / UNIT / "search" / "index.json"))["n"]
    found = files_with(out / UNIT, "EDITMARK")
    page = "art/xxgkzd/2025-zhengwu-gongkai-gongzuo-zhidu.html"
    assert page in found, found
    assert "xxgkzd/index.html" in found            # its listing
    assert "feed.xml" in found
    assert any(name.startswith("search/") for name in found), found   # the unit's search shards
    units = {p.name for p in content.iterdir() if p.is_dir()}
    others = {n for n in files_with(out, "EDITMARK") if n.split("/")[0] in units - {UNIT}}
    assert not others   # only the edited unit was rebuilt, and no other unit shows the item
    check_uncached(content, out, tmp_path)


def copied_theme(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the theme and a settings file that builds with it (to change a template)."""
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    settings = tmp_path / "conf.py"
    settings.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pelicanconf import *\n"
                        f"THEME = {str(theme)!r}\n", encoding="utf-8")
    return theme, settings


def test_template_change_changes_every_page(site, tmp_path):
    content, out = site
    theme, settings = copied_theme(tmp_path)
    first = rebuild(content, out, AS_OF, "--settings", str(settings))
    assert rebuilt(first.stdout)[0] == 5          # settings differ: every unit
    before = tree(out)
    # macros.html, not base.html: the footer is rendered once per unit from it,
    # so this also proves a change in an imported file reaches every page.
    macros = theme / "templates" / "macros.html"
    edited = text(macros).replace("</footer>", "<!-- TPLMARK --></footer>", 1)
    assert edited != text(macros)
    macros.write_text(edited, encoding="utf-8")
    result = rebuild(content, out, AS_OF, "--settings", str(settings))
    assert rebuilt(result.stdout) == (5, 5)
    after = tree(out)
    pages = [n for n in after if n.endswith(".html") and n.split("/")[0] in
             {p.name for p in content.iterdir() if p.is_dir()} and "/check/" not in n and not n.endswith("/search.html")]
    assert pages
    unchanged = [n for n in pages if after[n] == before.get(n)]
    assert not unchanged, unchanged[:5]
    assert all(b"TPLMARK" in after[n] for n in pages)
    check_uncached(content, out, tmp_path, AS_OF, "--settings", str(settings))


def test_date_past_publicity_until_withdraws_everywhere(site, tmp_path):
    content, out = site
    assert "gsgg/2026-zqx-gongshi.html" in " ".join(files_with(out / UNIT, "ZQXBODYTOKEN"))
    assert any(n.startswith("search/") for n in files_with(out / UNIT, "ZQXBODYTOKEN"))
    report = json.loads(text(out / UNIT / "lifecycle.json"))
    url = next(u for u in report["states"] if u.endswith("2026-zqx-gongshi.html"))
    assert report["states"][url] == "open"
    day = "2026-11-26"
    result = rebuild(content, out, day)
    assert rebuilt_units(result.stdout) == {UNIT}   # the town (state changed) only: no other page shows it
    assert not files_with(out, "ZQXBODYTOKEN")     # page, feed, search shards: the body is gone
    report = json.loads(text(out / UNIT / "lifecycle.json"))
    assert report["states"][url] == "closed"       # withdrawn: what remains of a 公示 after its period
    assert report["as_of"] == day
    check_uncached(content, out, tmp_path, day)


def test_delete_an_item_removes_it_everywhere(site, tmp_path):
    content, out = site
    assert files_with(out / UNIT, "ZQXNOTICE")
    (content / UNIT / "gsgg" / "2026-zqx-gongshi.md").unlink()
    result = rebuild(content, out)
    assert rebuilt(result.stdout)[0] >= 1
    assert not files_with(out, "ZQXNOTICE")
    assert not (out / UNIT / "art" / "gsgg" / "2026-zqx-gongshi.html").exists()
    check_uncached(content, out, tmp_path)


def test_corrupt_cache_is_ignored(site, tmp_path):
    content, out = site
    cache = tmp_path / ".output.cache"
    for path in cache.rglob("*"):
        if path.is_file() and path.name != "gongkai-cache.json":
            path.write_bytes(b"\x80garbage{")
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    item.write_text(text(item).replace("\n---\n", "\n---\nZQXCORRUPT\n", 1), encoding="utf-8")
    result = rebuild(content, out)
    assert "build cache ignored" in result.stderr
    assert "Traceback" not in result.stderr
    assert rebuilt(result.stdout)[0] == 5       # nothing trusted from a damaged cache
    assert files_with(out / UNIT, "ZQXCORRUPT")
    check_uncached(content, out, tmp_path)
    again = rebuild(content, out)                # and the cache is whole again
    assert rebuilt(again.stdout) == (0, 5)


def test_cache_folder_that_is_not_ours_is_refused(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".output.cache").symlink_to(elsewhere)
    out = tmp_path / "output"
    result = rebuild(content, out)
    assert "build cache not used" in result.stderr
    assert list(elsewhere.iterdir()) == []
    (tmp_path / ".output.cache").unlink()
    (tmp_path / ".output.cache").mkdir()       # a folder without our marker: not ours either
    (tmp_path / ".output.cache" / "keep.txt").write_text("x", encoding="utf-8")
    result = rebuild(content, out)
    assert "build cache not used" in result.stderr
    assert [p.name for p in (tmp_path / ".output.cache").iterdir()] == ["keep.txt"]


def test_no_cache_build_drops_the_recorded_keys(site, tmp_path):
    """An uncached build replaces the output: the next cached build must not reuse from it
    on the strength of keys recorded for the output before it."""
    content, out = site
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    original = text(item)
    item.write_text(original.replace("\n---\n", "\n---\nZQXNOCACHE\n", 1), encoding="utf-8")
    rebuild(content, out, AS_OF, "--no-cache")
    item.write_text(original, encoding="utf-8")
    result = rebuild(content, out)
    assert rebuilt(result.stdout)[0] == 5
    assert not files_with(out, "ZQXNOCACHE")


@pytest.mark.parametrize("cut", ["before-swap", "between-renames"])
def test_a_stopped_build_never_loses_a_reused_unit(site, tmp_path, cut):
    """Reused units' files are moved (renamed) into the partial folder just before the
    swap; a build killed there leaves the previous output whole at the next start."""
    from gongkai import build as build_mod
    from gongkai.incremental import units as units_mod
    content, out = site
    before = tree(out)
    partial = tmp_path / ".output.partial"
    moves = {}
    for uid in ("shili-town", "shili-city"):
        (partial / uid).mkdir(parents=True)
        (partial / uid / "lifecycle.json").write_text("{}", encoding="utf-8")   # a new build's own file
        moves[uid] = sorted(p.name for p in (out / uid).iterdir() if p.name not in units_mod.NOT_LINKED)
    # The journal of an earlier layout, which moved each entry on its own: still undone.
    units_mod.journal(out).write_text(json.dumps({"partial": partial.name, "moves": moves}), encoding="utf-8")
    for uid, names in moves.items():
        for name in names[: len(names) // 2 + 1]:       # killed halfway through the moves
            (out / uid / name).rename(partial / uid / name)
    if cut == "between-renames":
        for uid, names in moves.items():
            for name in names[len(names) // 2 + 1:]:
                (out / uid / name).rename(partial / uid / name)
        out.rename(tmp_path / ".output.old")             # the swap's first rename, then killed
    build_mod.recover(out)
    assert tree(out) == before
    assert not units_mod.journal(out).exists()
    result = rebuild(content, out)                       # and the next build starts clean
    assert rebuilt(result.stdout) == (0, 5)
    assert tree(out) == before


def test_link_check_of_a_reused_unit_sees_another_units_page_go(site, tmp_path):
    """The checker keeps a reused unit's link findings only while its links into other
    units resolve as before: deleting the page another unit links to is reported."""
    content, out = site
    city_item = content / "shili-city" / "gsgg" / "2026-dongji-gongre-tongzhi.md"
    href = "../../../shili-city/art/gsgg/2026-dongji-gongre-tongzhi.html"
    notice_no = re.search(r"^index_no: (\S+)", text(content / UNIT / "gsgg" / "2026-zqx-gongshi.md"), re.M)[1]
    (content / UNIT / "gsgg" / "2026-zqx-link.md").write_text(
        f"---\ntitle: 示例镇转发市供热通知\ncolumn: gsgg\nindex_no: {notice_no[:-5]}09998\n"
        "published: 2026-11-12\n---\n\n"
        f"详见[市供热通知]({href})。\n", encoding="utf-8")
    first = rebuild(content, out)
    assert rebuilt(first.stdout) == (1, 5)
    assert href not in text(out / "check" / "check.json")
    city_item.unlink()
    result = rebuild(content, out)
    assert f"{UNIT}:" not in result.stdout.split("incremental:")[1].split("\n")[0]   # the town is reused
    assert href in text(out / "check" / "check.json")
    check_uncached(content, out, tmp_path)


# --- the as-of date: a new day rebuilds only the units where something shown changed ---

def rebuilt_units(stdout: str) -> set[str]:
    """The units the build line names as rebuilt (it names up to five)."""
    m = re.search(r"incremental: rebuilt (\d+) of \d+ units(?: \(([^)]*)\))?", stdout)
    assert m, stdout
    names = {part.split(":")[0].strip() for part in (m.group(2) or "").split(";") if ":" in part}
    assert len(names) == int(m.group(1)), stdout
    return names


def test_a_day_that_changes_no_state_rebuilds_nothing(site, tmp_path):
    """The sample has 年报 with a roll-up (示例县 sums the reports of the units below it)
    and, here, a unit with no public item (its empty feed is dated by the as-of day)."""
    content, out = site
    (content / "empty-town").mkdir()
    unit_yaml = text(content / UNIT / "_unit.yaml")
    (content / "empty-town" / "_unit.yaml").write_text(
        re.sub(r"^name:.*$", "name: 空镇人民政府", re.sub(r"^short_name:.*\n", "", unit_yaml, flags=re.M), flags=re.M),
        encoding="utf-8")
    rebuild(content, out)   # a new unit changes the unit tree: every unit is rebuilt
    assert f"<updated>{AS_OF}T00:00:00+08:00</updated>" in text(out / "empty-town" / "feed.xml")
    day = "2026-11-23"
    result = rebuild(content, out, day)
    assert rebuilt_units(result.stdout) == set()
    assert f"<updated>{day}T00:00:00+08:00</updated>" in text(out / "empty-town" / "feed.xml")
    assert json.loads(text(out / UNIT / "lifecycle.json"))["as_of"] == day
    check_uncached(content, out, tmp_path, day)


def test_a_day_that_passes_a_report_deadline_rebuilds_only_the_roll_up(site, tmp_path):
    """On 2026-04-01 the township's 2025 年报 (due 3月31日, here not published) turns from
    未到期 to 逾期未发布 in 示例县's roll-up: that unit is rebuilt, and besides it only the
    units whose items change state on that day."""
    content, out = site
    (content / UNIT / "xxgknb" / "2026-2025-xxgk-niandu-baogao.md").unlink()
    before, after = "2026-03-31", "2026-04-01"
    rebuild(content, out, before)
    page = out / "shili-county" / "art" / "xxgknb" / "2026-2025-xxgk-niandu-baogao.html"
    assert "未到期" in text(page)
    result = rebuild(content, out, after)
    units = rebuilt_units(result.stdout)
    assert "shili-county" in units
    report_units = {u for u in units if json.loads(text(out / u / "lifecycle.json"))["changes"]}
    assert units - report_units == {"shili-county"}, (units, report_units)
    assert "逾期未发布" in text(page) and "未到期" not in text(page)
    check_uncached(content, out, tmp_path, after)


# --- per-page reuse: a rebuilt unit copies the item pages whose inputs did not change ---

def page_counts(stdout: str) -> tuple[int, int, set[str]]:
    """(rendered, copied, the rendered pages when the line names them) of the rebuilt units."""
    m = re.search(r"item pages of rebuilt units: rendered (\d+)(?: \(([^)]*)\))?, copied (\d+)", stdout)
    assert m, stdout
    names = {n.strip() for n in (m.group(2) or "").split(",") if n.strip()}
    return int(m.group(1)), int(m.group(3)), names


def patched(stdout: str) -> int:
    """Copied pages whose column tree was replaced (its counts changed)."""
    m = re.search(r"copied \d+ \((\d+) with the column tree's counts updated\)", stdout)
    assert m, stdout
    return int(m.group(1))


def annual_pages(out: Path, unit: str) -> set[str]:
    """年报 pages: rendered every build (pages.py REUSABLE_TEMPLATES)."""
    return {f"{unit}/{p.relative_to(out / unit).as_posix()}" for p in (out / unit / "art").rglob("*.html")
            if b'class="item item-annual-report' in p.read_bytes()}


def item_pages(out: Path, unit: str) -> set[str]:
    return {f"{unit}/{p.relative_to(out / unit).as_posix()}" for p in (out / unit / "art").rglob("*.html")}


def test_body_edit_renders_exactly_that_page(site, tmp_path):
    content, out = site
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    page = f"{UNIT}/art/xxgkzd/2025-zhengwu-gongkai-gongzuo-zhidu.html"
    before = tree(out)
    item.write_text(text(item) + "\n编辑后追加的一段BODYEDITMARK。\n", encoding="utf-8")
    result = rebuild(content, out)
    assert rebuilt(result.stdout) == (1, 5)
    rendered, copied, names = page_counts(result.stdout)
    assert names == {page} | annual_pages(out, UNIT), result.stdout
    assert rendered == len(names)
    assert copied == len(item_pages(out, UNIT)) - rendered > 5
    assert b"BODYEDITMARK" in (out / page).read_bytes()
    after = tree(out)
    changed = {n for n in after if n.startswith(f"{UNIT}/art/") and n.endswith(".html") and after[n] != before.get(n)}
    assert changed == {page}, changed      # its neighbours and the other items show no body
    check_uncached(content, out, tmp_path)
    # and again: the page rendered this time is copied next time (its key was recorded)
    item.write_text(text(item) + "\n再追加一段。\n", encoding="utf-8")
    again = page_counts(rebuild(content, out).stdout)
    assert again[2] == names
    check_uncached(content, out, tmp_path)


def test_a_body_a_plugin_changed_is_keyed_by_what_it_shows(site, tmp_path):
    """A page whose body is still the reader's is keyed by its files, not by the body's bytes
    (pages.py); a body the build changed afterwards (a link to an item made a draft is unlinked)
    is keyed by what it shows. The target is another unit's, so the linking unit's column tree
    keeps its counts: its linking page, whose file did not change, is the one page rendered
    again, both ways, and the output equals an uncached build each time."""
    content, out = site
    target = content / "shili-city" / "gsgg" / "2026-dongji-gongre-tongzhi.md"
    href = "../../../shili-city/art/gsgg/2026-dongji-gongre-tongzhi.html"
    notice_no = re.search(r"^index_no: (\S+)", text(content / UNIT / "gsgg" / "2026-zqx-gongshi.md"), re.M)[1]
    (content / UNIT / "gsgg" / "2026-zqx-link.md").write_text(
        f"---\ntitle: 示例镇转发市供热通知\ncolumn: gsgg\nindex_no: {notice_no[:-5]}09998\n"
        "published: 2026-11-12\n---\n\n"
        f"详见[市供热通知LINKMARK]({href})。\n", encoding="utf-8")
    rebuild(content, out)
    page = f"{UNIT}/art/gsgg/2026-zqx-link.html"
    live = f'href="{href}"'    # only the body links to that page
    assert live in text(out / page)
    source = text(target)
    for edited, shown in ((source.replace("\n---\n", "\ndraft: true\n---\n", 1), False), (source, True)):
        target.write_text(edited, encoding="utf-8")
        result = rebuild(content, out)
        assert rebuilt_units(result.stdout) == {"shili-city", UNIT}, result.stdout
        rendered, copied, names = page_counts(result.stdout)
        town = {n for n in names if n.startswith(f"{UNIT}/")}
        assert town == {page} | annual_pages(out, UNIT), result.stdout
        assert (live in text(out / page)) is shown and "市供热通知LINKMARK" in text(out / page)
        check_uncached(content, out, tmp_path)


def test_title_edit_renders_the_pages_that_show_it(site, tmp_path):
    """A policy's title is shown by its page, its listings, its neighbours' 上一篇/下一篇,
    and the interpretations of it (their 解读对象 link, in its unit and in another)."""
    content, out = site
    county = "shili-county"
    policy = content / county / "gfxwj" / "2026-linshi-jiuzhu-shishi-xize.md"
    source = text(policy)
    title = re.search(r"^title:\s*(.+)$", source, re.M).group(1)
    policy.write_text(source.replace(f"title: {title}", f"title: {title}TITLEMARK", 1), encoding="utf-8")
    result = rebuild(content, out)
    assert rebuilt_units(result.stdout) == {county, UNIT}, result.stdout
    rendered, copied, names = page_counts(result.stdout)
    showing = {n for u in (county, UNIT) for n in item_pages(out, u)
               if b"TITLEMARK" in (out / n).read_bytes()}
    assert f"{county}/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html" in showing
    assert f"{county}/art/zcjd/2026-linshi-jiuzhu-shishi-xize-wenda.html" in showing   # its 解读, same unit
    assert f"{UNIT}/art/zcjd/2026-linshi-jiuzhu-banshi-wenda.html" in showing         # its 解读, another unit
    assert len(showing) >= 4, showing                                                  # a neighbour too
    assert names == showing | annual_pages(out, county) | annual_pages(out, UNIT), (names, showing)
    assert rendered == len(names) and copied > 10
    assert b"TITLEMARK" in (out / county / "gfxwj" / "index.html").read_bytes()   # its listing
    check_uncached(content, out, tmp_path)


def test_expiry_renders_that_page_and_its_listings(site, tmp_path):
    """An item whose valid_until passes leaves its column for 废止和失效文件: its page gets
    the banner, both listings change, its old and new neighbours are rendered; every other
    item page of the unit is copied with the column tree's new counts (they are on every
    page); the output equals an uncached build."""
    content, out = site
    item = content / UNIT / "qtwj" / "2026-dongji-fanghuo-tongzhi.md"
    source = text(item)
    assert "valid_until" not in source
    item.write_text(source.replace("\n---\n", "\nvalid_until: 2026-11-23\n---\n", 1), encoding="utf-8")
    rebuild(content, out)
    page = out / UNIT / "art" / "qtwj" / "2026-dongji-fanghuo-tongzhi.html"
    assert "status-banner" not in text(page)
    day = "2026-11-24"
    result = rebuild(content, out, day)
    assert UNIT in rebuilt_units(result.stdout)
    assert "status-banner" in text(page)
    rendered, copied, names = page_counts(result.stdout)
    assert f"{UNIT}/art/qtwj/2026-dongji-fanghuo-tongzhi.html" in names, result.stdout
    assert rendered < len(item_pages(out, UNIT)) and patched(result.stdout) > 3, result.stdout
    count = re.compile(r'qtwj/index.html"[^>]*>[^<]*<span class="count"><span[^>]*>（</span>(\d+)')
    copied_page = text(out / UNIT / "art" / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.html")
    assert count.findall(copied_page) == count.findall(text(out / UNIT / "qtwj" / "index.html")) == ["1"]
    check_uncached(content, out, tmp_path, day)


def test_closing_publicity_renders_only_that_page(site, tmp_path):
    """A 公示 that closes stays listed (the column counts do not change): of its unit's
    item pages only its own is rendered again."""
    content, out = site
    day = "2026-11-26"
    result = rebuild(content, out, day)
    assert rebuilt_units(result.stdout) == {UNIT}
    rendered, copied, names = page_counts(result.stdout)
    assert names == {f"{UNIT}/art/gsgg/2026-zqx-gongshi.html"} | annual_pages(out, UNIT), result.stdout
    assert copied == len(item_pages(out, UNIT)) - rendered
    assert "公示期已满" in text(out / UNIT / "art" / "gsgg" / "2026-zqx-gongshi.html")
    check_uncached(content, out, tmp_path, day)


def test_template_change_renders_every_item_page(site, tmp_path):
    content, out = site
    theme, settings = copied_theme(tmp_path)
    rebuild(content, out, AS_OF, "--settings", str(settings))
    article = theme / "templates" / "article.html"
    article.write_text(text(article).replace("</article>", "<!-- ARTMARK --></article>", 1), encoding="utf-8")
    result = rebuild(content, out, AS_OF, "--settings", str(settings))
    rendered, copied, _ = page_counts(result.stdout)
    assert copied == 0 and rendered == sum(len(item_pages(out, p.name)) for p in content.iterdir() if p.is_dir())
    pages = [p for p in out.rglob("art/**/*.html") if b'class="item item-annual-report' not in p.read_bytes()]
    assert pages and all(b"ARTMARK" in p.read_bytes() for p in pages)
    check_uncached(content, out, tmp_path, AS_OF, "--settings", str(settings))


def test_a_changed_previous_page_record_is_not_trusted(site, tmp_path):
    """Page keys are trusted only as the units record names them (their sha256)."""
    content, out = site
    for record in (tmp_path / ".output.cache" / "pages").glob("*.json"):
        data = json.loads(record.read_text(encoding="utf-8"))
        data["pages"] = {name: "0" * 64 for name in data["pages"]}
        record.write_text(json.dumps(data), encoding="utf-8")
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    item.write_text(text(item) + "\n追加。\n", encoding="utf-8")
    result = rebuild(content, out)
    rendered, copied, _ = page_counts(result.stdout)
    assert copied == 0 and rendered == len(item_pages(out, UNIT))
    check_uncached(content, out, tmp_path)


def test_plain_digest_is_a_function_of_the_value_alone():
    # The unit keys' per-item parts are digested from a memo-less pickle (issue 15): equal
    # values must give equal digests however their objects are shared, and any change a new one.
    from gongkai.incremental.store import plain_digest
    shared = "现行有效"
    a = [("a.md", {"state": shared, "by": None}), ("b.md", {"state": shared, "by": None})]
    b = [("a.md", {"state": "现行" + "有效", "by": None}), ("b.md", {"state": "".join(["现行", "有效"]), "by": None})]
    assert plain_digest(a) == plain_digest(b)
    assert plain_digest(a) != plain_digest([("a.md", {"state": shared, "by": None})])
    assert plain_digest(a) != plain_digest([a[0], ("b.md", {"state": "已废止", "by": None})])
    assert plain_digest([1, "1"]) != plain_digest(["1", 1]) and plain_digest(None) != plain_digest("")


def test_a_damaged_or_linked_previous_lifecycle_json_is_made_again(site, tmp_path):
    # A reused unit's lifecycle.json is taken from the previous output (same key, same day);
    # one that is not JSON, or a symlink, is never trusted: it is computed again.
    content, out = site
    (out / UNIT / "lifecycle.json").write_text('{"as_of": "' + AS_OF + '", "states": {', encoding="utf-8")
    outside = tmp_path / "elsewhere.json"
    outside.write_text((out / "shili-county" / "lifecycle.json").read_text(encoding="utf-8")
                       .replace('"current"', '"expired"'), encoding="utf-8")
    (out / "shili-county" / "lifecycle.json").unlink()
    (out / "shili-county" / "lifecycle.json").symlink_to(outside)
    rebuild(content, out)
    assert not (out / "shili-county" / "lifecycle.json").is_symlink()
    assert json.loads(text(out / UNIT / "lifecycle.json"))["as_of"] == AS_OF
    check_uncached(content, out, tmp_path)


def test_the_code_key_names_every_installed_distribution_with_its_version(tmp_path, monkeypatch):
    """The cache's code key holds the installed libraries (a new version of one rebuilds
    everything), read from their metadata folders' names, not by parsing every METADATA."""
    import sys

    from gongkai.incremental import validate
    from importlib import metadata
    names = validate.installed()
    for dist in ("pelican", "Jinja2", "Markdown", "nh3"):
        version = metadata.version(dist)
        assert any(n.lower().replace("_", "-").startswith(f"{dist.lower()}-{version}.") for n in names), dist
    site = tmp_path / "site"
    (site / "somelib-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing"), *sys.path])
    before = validate.installed()
    (site / "somelib-1.0.dist-info").rename(site / "somelib-1.1.dist-info")
    after = validate.installed()
    assert "somelib-1.0.dist-info" in before and "somelib-1.1.dist-info" in after and before != after


def test_a_rebuild_leaves_the_replaced_tree_to_the_next_build_and_bounds_it(site, tmp_path):
    """A rebuild that reused units renames the replaced output to ``.output.trash-…`` rather
    than deleting ~600 files on its critical path (build._swap); a later build's zygote
    removes it (build.sweep_trash), and builds too short for that keep at most MAX_TRASH."""
    from gongkai import build as build_mod
    content, out = site
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    source = text(item)
    trash = lambda: sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".output.trash-"))  # noqa: E731
    seen = 0
    for n in range(4):
        item.write_text(source + f"\n\n追加第{n}段TRASHMARK{n}。\n", encoding="utf-8")
        rebuild(content, out)
        assert files_with(out, f"TRASHMARK{n}")
        assert not (tmp_path / ".output.old").exists()
        left = trash()
        assert len(left) <= build_mod.MAX_TRASH
        # A trash folder is an old output, never the current one.
        for name in left:
            assert not files_with(tmp_path / name, f"TRASHMARK{n}")
        seen += bool(left)
    assert seen
    build_mod.sweep_trash(out)
    assert trash() == [] and files_with(out, "TRASHMARK3")
    check_uncached(content, out, tmp_path)


def test_sweeping_the_trash_touches_only_trash_and_follows_no_link(tmp_path):
    from gongkai.build import sweep_trash
    out = tmp_path / "output"
    out.mkdir()
    (out / "index.html").write_text("current", encoding="utf-8")
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "keep.txt").write_text("keep", encoding="utf-8")
    deep = tmp_path / ".output.trash-aa" / "u1" / "art" / "x"
    deep.mkdir(parents=True)
    (deep / "index.html").write_text("old", encoding="utf-8")
    (deep / "link-to-dir").symlink_to(outside)
    (deep / "link-to-file").symlink_to(outside / "sub" / "keep.txt")
    (tmp_path / ".output.trash-bb").symlink_to(outside)                 # a trash name that is a link
    (tmp_path / ".output.trashy").mkdir()                                # not our name: left alone
    (tmp_path / ".other.trash-cc").mkdir()                               # another output's
    sweep_trash(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.trash-cc", ".output.trashy", "output", "outside"]
    assert (outside / "sub" / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert (out / "index.html").read_text(encoding="utf-8") == "current"
    # stop() is asked as it goes: a sweep told to stop leaves the rest for the next one.
    for k in range(20):
        (tmp_path / ".output.trash-dd" / f"d{k}" / "e").mkdir(parents=True)
    sweep_trash(out, stop=lambda: True)
    assert (tmp_path / ".output.trash-dd").exists()
    sweep_trash(out)
    assert not (tmp_path / ".output.trash-dd").exists()


FIRST_JOB = """\
import sys
from gongkai import facts, pool
asked = []
real_shown = facts.Facts.shown
facts.Facts.shown = lambda self, uid: asked.append(uid) or real_shown(self, uid)
first = []
real_send = pool.Zygote._send
def send(self, message):
    if isinstance(message, dict) and not first:
        first.append(sorted(set(asked)))
    return real_send(self, message)
pool.Zygote._send = send
from gongkai.__main__ import main
code = main(sys.argv[1:])
print("FIRST", first)
sys.exit(code)
"""


def test_the_edited_units_job_goes_before_the_other_units_keys_are_made(site, tmp_path):
    # Issue 15, a one-item edit: the unit whose files changed is planned first and its job
    # handed to the workers; the keys of the units the scan answered from the build cache
    # (each reads the registry: Facts.shown) are made while that unit is built.
    import subprocess
    import sys
    content, out = site
    item = next((content / "shili-county").rglob("*.md"))
    item.write_text(text(item) + "\n编辑后追加的一段ZQXEDIT。\n", encoding="utf-8")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": AS_OF}
    result = subprocess.run([sys.executable, "-c", FIRST_JOB, "html", "--content", str(content), "--output", str(out),
                             "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"),
                             "--jobs", "2"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert rebuilt(result.stdout) == (1, 5)
    first = re.search(r"^FIRST \[(.*)\]$", result.stdout, re.M).group(1)
    assert first == "['shili-county']", first
    assert files_with(out / "shili-county" / "art", "ZQXEDIT")      # the page shows the edit
    check_uncached(content, out, tmp_path)


def test_the_page_keying_wrapper_leaves_no_reference_cycle():
    """incremental/pages.py puts its ``generate_articles`` on the generator itself: holding
    the generator (or its bound method) strongly from there made a cycle, so each unit's
    generator, Articles and items stayed in the unit worker until the cyclic collector ran.
    With reference counting alone, the generator goes when its run lets go of it."""
    import gc
    import weakref

    from gongkai.incremental import pages as pages_mod

    class Generator:
        def __init__(self):
            self.settings = {pages_mod.SETTING: {"base": "kept"}}

        def generate_articles(self, write):
            raise AssertionError("not called here")

    generator = Generator()
    pages_mod._wrap(generator)
    assert "generate_articles" in vars(generator)          # wrapped
    gone = weakref.ref(generator)
    gc.disable()
    try:
        del generator
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("size", [0, 10, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5])
def test_file_hash_is_the_hash_of_every_byte(tmp_path, size):
    import hashlib

    from gongkai.incremental.store import sha256_file
    data = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
