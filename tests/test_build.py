"""Whole builds of small fixture trees through the command line."""
import hashlib
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, UNIT_YAML, build, gongkai

NOT_PUBLIC = ("SECRET-DRAFT-BODY", "草稿公示不应出现", "EMBARGOED-BODY-TEXT", "尚未到发布日期的公告",
              "ON-REQUEST-BODY-TEXT", "依申请公开的内部文件", "2026-draft", "2027-embargo", "2026-apply")


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def all_text(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".xml", ".json", ".txt", ".csv"):
            yield path, path.read_text(encoding="utf-8")


def test_good_fixture_builds_every_column_of_each_level(good_site, cats):
    for unit, level in (("demo-county", "county"), ("demo-town", "township")):
        for col in cats.tree_for(level).walk():
            page = "index.html" if col.id == "zfxxgk" else f"{col.id}/index.html"
            assert (good_site / unit / page).is_file(), (unit, col.id)
    assert (good_site / "demo-county/art/gfxwj/2025-kaohe.html").is_file()
    assert (good_site / "index.html").is_file()


def test_nothing_that_is_not_public_reaches_any_file(good_site):
    for path, text in all_text(good_site):
        for marker in NOT_PUBLIC:
            assert marker not in text, f"{marker} in {path}"
    names = [str(p) for p in good_site.rglob("*")]
    assert not [n for n in names if "draft" in n or "embargo" in n or "apply" in n]


def test_embargoed_item_appears_once_its_day_comes(tmp_path):
    out = tmp_path / "out"
    assert build(FIXTURES / "good", out, env={"BUILD_DATE": "2027-01-05"}).returncode == 0
    page = out / "demo-county/art/gsgg/2027-embargo.html"
    assert "EMBARGOED-BODY-TEXT" in page.read_text(encoding="utf-8")


OWN_SCRIPT = re.compile(r'<script src="(?:[^"<>]*/)?theme/(?:js|search)/[a-z0-9_-]+\.js"( defer)?></script>')


def test_raw_html_is_sanitized_in_pages_and_feeds(good_site):
    for path, text in all_text(good_site):
        # The theme's own scripts (page tools, search) are files under theme/js/; nothing else.
        lowered = OWN_SCRIPT.sub("", text.lower())
        assert "<script" not in lowered and "javascript:" not in lowered, path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", lowered), path
    feed = (good_site / "demo-county/feed.xml").read_text(encoding="utf-8")
    assert "alert(" not in feed


def test_attachments_are_copied_byte_for_byte_with_type_and_size(good_site):
    src = FIXTURES / "good/demo-county/gfxwj/kaohe.csv"
    out = good_site / "demo-county/art/gfxwj/kaohe.csv"
    assert out.read_bytes() == src.read_bytes()
    page = (good_site / "demo-county/art/gfxwj/2025-kaohe.html").read_text(encoding="utf-8")
    assert f'<a href="kaohe.csv" download>kaohe.csv</a> <span class="att-meta">（CSV，{src.stat().st_size} B）</span>' in page


def test_same_input_and_date_give_identical_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert build(FIXTURES / "good", one).returncode == 0
    assert build(FIXTURES / "good", two, "--jobs", "1").returncode == 0
    assert tree_digest(one) == tree_digest(two)


def test_build_never_touches_content(tmp_path):
    before = tree_digest(FIXTURES / "good")
    assert build(FIXTURES / "good", tmp_path / "out").returncode == 0
    assert tree_digest(FIXTURES / "good") == before


BAD_LINES = [
    "tests/fixtures/bad/bad-county/gfxwj/bad-date.md:6: published (发布日期): 没有13月（月份是01到12）：请改为实有的日期 "
    "(no such date '2024-13-01', expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')",
    "tests/fixtures/bad/bad-county/qtwj/broken-yaml.md:5: invalid YAML: while parsing a flow sequence, did not "
    "find expected ',' or ']'",
    "tests/fixtures/bad/bad-county/qtwj/gbk.md:2: 文件不是 UTF-8 编码（看起来是 GBK/GB18030，中文 Windows 常用的编码）："
    "用记事本打开，点“文件 → 另存为”，“编码”选 UTF-8 后保存；或运行 make fix-encoding "
    "FILE=tests/fixtures/bad/bad-county/qtwj/gbk.md (file is not UTF-8: it looks like GBK/GB18030 (Chinese Windows "
    "encoding))",
    "tests/fixtures/bad/bad-county/qtwj/good.md:4: index_no (索引号): 索引号 014046317/2024-00010 已被 "
    "tests/fixtures/bad/bad-county/gfxwj/duplicate.md:4 使用（发布于 2024-03-02），请为本文件另取一个，make new 会给出下一个空号 "
    "(expected a unique index number, '014046317/2024-00010' is already used)",
    "tests/fixtures/bad/bad-county/qtwj/missing-attachment.md:6: attachments (附件): item 1: file '附件1.pdf' not "
    "found beside the item",
    "tests/fixtures/bad/bad-county/qtwj/types.md:6: written (成文日期): 2024-03-09 is after published 2024-03-04 "
    "(expected a date on or before the publication date)",
    "tests/fixtures/bad/bad-county/qtwj/types.md:7: draft (草稿): expected true or false, got 'yes'",
    "tests/fixtures/bad/bad-county/qtwj/types.md:8: topic (主题分类): expected a 主题分类 value "
    "(catalogs/vocab/topics.yaml), got '政务公开'; did you mean '综合政务\\政务公开'?",
    "tests/fixtures/bad/bad-county/qtwj/unknown-column.md:3: column (栏目): expected a column id from "
    "catalogs/columns.yaml, got 'zcwj'; did you mean 'zcjd'?",
    "tests/fixtures/bad/bad-town/_unit.yaml:3: parent (上级单位): unknown unit 'no-such-county'; expected one of "
    "bad-county, bad-town, cycle-a, cycle-b",
    "tests/fixtures/bad/cycle-a/_unit.yaml:3: parent (上级单位): the unit tree has a cycle: cycle-a -> cycle-b -> cycle-a",
    "tests/fixtures/bad/lost-unit/_unit.yaml:2: level (层级): expected one of province, city, county, township, "
    "department, got 'village'",
    "tests/fixtures/bad/lost-unit/_unit.yaml:3: org_code (统一社会信用代码): expected a 统一社会信用代码 of 18 "
    "characters or a 组织机构代码 of 9, got 'ABC'",
    "13 error(s) in 10 file(s)",
]


def test_check_prints_one_precise_line_per_problem():
    result = gongkai("check", "--content", "tests/fixtures/bad")
    assert result.returncode == 1
    assert result.stderr.splitlines() == BAD_LINES


def test_check_of_the_sample_passes():
    result = gongkai("check")
    assert result.returncode == 0, result.stderr
    # the 2 warnings are the department's deliberate 年报 mismatch (content/shili-county-czj/xxgknb/)
    assert result.stdout.startswith("ok: 5 units, ") and "no errors, 2 warning(s) (as of 2026-11-22)" in result.stdout


def test_failed_build_leaves_previous_output_untouched(tmp_path):
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = tree_digest(out)
    result = build(FIXTURES / "bad", out)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"13 error(s) in 10 file(s); nothing was built, {out} is unchanged"
    assert tree_digest(out) == before
    assert not (tmp_path / ".output.partial").exists()


def build_with(settings_text: str, out: Path, tmp_path: Path):
    """The good fixture built into ``out`` with pelicanconf plus ``settings_text``
    (written to ``tmp_path / 'conf.py'``, which is returned with the result)."""
    settings = tmp_path / "conf.py"
    settings.write_text("from pelicanconf import *\n" + settings_text)
    return settings, gongkai("html", "--content", str(FIXTURES / "good"), "--output", str(out), "--settings",
                             str(settings), env={"PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}"})


def test_failure_inside_pelican_also_keeps_output(tmp_path):
    """A unit whose render fails (here: a broken theme) fails the whole build."""
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = tree_digest(out)
    theme = tmp_path / "theme"
    import shutil
    shutil.copytree(ROOT / "theme", theme)
    (theme / "templates/column.html").write_text("{% extends 'base.html' %}{% block main %}{{ nope.x.y }}{% endblock %}")
    _, result = build_with(f"THEME = {str(theme)!r}\n", out, tmp_path)
    assert result.returncode == 1
    assert "unit(s) failed to build" in result.stderr
    assert tree_digest(out) == before


def test_one_theme_folder_at_the_root_serves_every_unit_under_its_configured_name(tmp_path):
    """The theme is written once, to <output>/<THEME_STATIC_DIR>/, and every page of every
    unit, its check report and its search page read it there: no unit holds a copy, and
    every local src/href of the tree names a file that exists."""
    out = tmp_path / "output"
    _, result = build_with("THEME_STATIC_DIR = 'assets'\n", out, tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("css/main.css", "js/tools.js", "js/zhmap.json", "search/search.js", "search/search.css"):
        assert (out / "assets" / name).is_file(), name
    assert not (out / "theme").exists()
    units = [p for p in out.iterdir() if (p / "lifecycle.json").is_file()]
    assert units and not any((u / "assets").exists() or (u / "theme").exists() for u in units)
    search = (units[0] / "search.html").read_text(encoding="utf-8")
    assert 'data-search-theme="./../assets/"' in search and 'src="./../assets/search/search.js"' in search
    missing = []
    for page in out.rglob("*.html"):
        # local paths only: no scheme (mailto:, tel:, https:), not a bare #fragment or ?query
        for ref in re.findall(r'(?:href|src)="([^"#?:]+)(?:[#?][^"]*)?"', page.read_text(encoding="utf-8")):
            target = (page.parent / ref).resolve()
            if not (target / "index.html" if target.is_dir() else target).is_file():
                missing.append((str(page.relative_to(out)), ref))
    assert missing == []


def test_the_theme_holds_the_zhmap_without_the_search_plugin(tmp_path):
    """Every page's 繁體 switch (tools.js) fetches the 简繁 map from the root theme: it is
    written with the portal, whether or not the search plugin indexed any unit."""
    out = tmp_path / "output"
    _, result = build_with("PLUGINS = [p for p in PLUGINS if p != 'gongkai.search']\n", out, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (out / "demo-county" / "search.html").exists()
    assert (out / "theme/js/zhmap.json").is_file() and (out / "theme/js/tools.js").is_file()


@pytest.mark.parametrize("value", ["../escape", "<absolute>", "", "..", "a/b"])
def test_a_theme_folder_that_is_a_path_is_refused_before_anything_is_written(tmp_path, value):
    """THEME_STATIC_DIR is one folder name at the output's root: '../escape' wrote the theme
    beside the output. Refused with the settings file, its line and the field; the last good
    output stands and nothing is written outside it."""
    out = tmp_path / "site" / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = tree_digest(out)
    value = str(tmp_path / "abs") if value == "<absolute>" else value
    settings, result = build_with(f"THEME_STATIC_DIR = {value!r}\n", out, tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{settings}:2: THEME_STATIC_DIR:" in result.stderr and "Traceback" not in result.stderr
    assert tree_digest(out) == before
    assert sorted(p.name for p in (tmp_path / "site").iterdir() if not p.name.startswith(".")) == ["output"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.py", "site"]


def test_a_refused_theme_folder_names_the_assignment_python_kept(tmp_path):
    """The line named is the last THEME_STATIC_DIR assignment (the value Python kept), not a
    longer name that starts alike, a comment, or an earlier good value."""
    text = "THEME_STATIC_DIRS = 1\nTHEME_STATIC_DIR = 'ok'\n# THEME_STATIC_DIR = 'x'\nTHEME_STATIC_DIR = '../esc'\n"
    settings, result = build_with(text, tmp_path / "output", tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{settings}:5: THEME_STATIC_DIR:" in result.stderr and "'../esc'" in result.stderr


def test_bad_build_date_is_refused():
    result = gongkai("check", env={"BUILD_DATE": "22/11/2026"})
    assert result.returncode == 2
    assert result.stderr.strip() == "BUILD_DATE: expected a date YYYY-MM-DD, got '22/11/2026'"


def test_listing_is_paginated_newest_first(make_tree, tmp_path):
    files = {"demo/_unit.yaml": UNIT_YAML}
    for n in range(1, 26):
        files[f"demo/qtwj/{n:02d}.md"] = (f"---\ntitle: 第{n}号文件\ncolumn: qtwj\n"
                                         f"index_no: 11990102MB0000003X/2024-{n:05d}\npublished: 2024-01-{n:02d}\n---\n正文\n")
    out = tmp_path / "out"
    assert build(make_tree(files), out).returncode == 0
    first = (out / "demo/qtwj/index.html").read_text(encoding="utf-8")
    second = (out / "demo/qtwj/index2.html").read_text(encoding="utf-8")
    titles = re.findall(r"第(\d+)号文件</a>", first)
    assert titles == [str(n) for n in range(25, 5, -1)]
    assert re.findall(r"第(\d+)号文件</a>", second) == ["5", "4", "3", "2", "1"]
    assert 'rel="next" href="../qtwj/index2.html"' in first
    assert 'rel="prev" href="../qtwj/index.html"' in second
    assert "第 2 / 2 页，共 25 条" in second


def test_shipped_sample_builds_identically_twice(sample_site, tmp_path):
    again = tmp_path / "again"
    assert build(ROOT / "content", again).returncode == 0
    assert tree_digest(again) == tree_digest(sample_site)


def test_publish_uses_absolute_urls_and_minified_css(tmp_path):
    out = tmp_path / "out"
    result = gongkai("html", "--content", str(FIXTURES / "good"), "--output", str(out),
                     "--settings", str(ROOT / "publishconf.py"), env={"SITE_ROOT": "https://gk.example.gov.cn"})
    assert result.returncode == 0, result.stderr
    page = (out / "demo-county/gfxwj/index.html").read_text(encoding="utf-8")
    assert 'href="https://gk.example.gov.cn/demo-county/art/gfxwj/2025-kaohe.html"' in page
    # The theme is the portal's, once at the root, for every unit's pages: no copy in a unit.
    assert 'href="https://gk.example.gov.cn/theme/css/main.css"' in page
    assert not (out / "demo-county/theme").exists()
    assert '<a href="https://gk.example.gov.cn/index.html">' in page  # portal, not …/demo-county/..
    css = (out / "theme/css/main.css").read_text(encoding="utf-8")
    assert "/*" not in css and len(css.splitlines()) <= 3
    sitemap = (out / "demo-county/sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://gk.example.gov.cn/demo-county/index.html</loc>" in sitemap


def test_build_shows_twenty_warnings_and_check_shows_all(make_tree, tmp_path):
    policy = ("---\ntitle: 办法\ncolumn: gfxwj\nindex_no: 11990102MB0000003X/2024-00001\ndoc_number: 测政发〔2024〕1号\n"
              "published: 2024-06-01\n---\n正文\n")
    reading = ("---\ntitle: 解读{n}\ncolumn: zcjd\ntype: interpretation\ninterprets: 11990102MB0000003X/2024-00001\n"
               "published: 2024-01-{n:02d}\n---\n正文\n")
    files = {"demo/_unit.yaml": UNIT_YAML, "demo/gfxwj/p.md": policy}
    files.update({f"demo/zcjd/{n:02d}.md": reading.format(n=n) for n in range(1, 26)})
    content = make_tree(files)
    result = build(content, tmp_path / "out")
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 20
    assert "… and 5 more warning(s): `make check` lists them all" in result.stderr
    checked = gongkai("check", "--content", str(content))
    # Content is valid (warnings only); the checker's veto (nothing new since 2024) sets the exit status.
    assert checked.returncode == 1 and "[freshness.home-stale]" in checked.stdout
    assert checked.stderr.count(": warning: ") == 25
    assert "no errors, 25 warning(s)" in checked.stdout
