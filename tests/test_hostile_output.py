"""Hostile input on the output side (issue 9): names reaching markup, CSV formula cells,
errors that never show a traceback, concurrent builds, a crash between the swap's
renames, withdrawn notices, and links to hidden items."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import AS_OF, FIXTURES, ROOT, UNIT_YAML, build
from gongkai import build as build_mod
from gongkai import charts, fiscal_plugin, lifecycle, render

INJECT = 'x"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"

SANGONG = """\
title: 测试县2025年“三公”经费预算
column: sgjf
type: sangong
index_no: 11990102MB0000003X/2025-{n:05d}
department: 测试县财政局
year: {year}
stage: 预算
unit: 万元
approved: 2025-01-24
published: 2025-02-12
amounts:
  因公出国(境)费: 0.00
  公务接待费: 3.10
  公务用车购置费: 0.00
  公务用车运行维护费: 5.00
total: 8.10
"""

FISCAL = """\
title: 测试县2026年县级预算报表
column: zfyjs
type: fiscal
index_no: 11990102MB0000003X/2026-00024
issuer: 测试县财政局
year: 2026
stage: 预算
scope: 政府
unit: 万元
approved: 2026-01-16
published: 2026-02-04
tables:
  - name: 一般公共预算收入表
    rows:
      - code: '101'
        name: '=HYPERLINK("http://evil.example/","点击")'
        amount: 92000.00
      - code: '103'
        name: '@SUM(1+1)'
        amount: 20200.00
      - code: '104'
        name: '+cmd|calc'
        amount: 1.00
"""


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_no_live_markup(html: str, where=""):
    for tag, attrs in tags(html):
        assert tag != "img", (where, tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (where, tag, attrs)
        for key in ("href", "src"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith("javascript:"), (where, tag, attrs)


# --- 1. names reaching markup -------------------------------------------------

@pytest.mark.parametrize("raw", [INJECT, JS, "chart-sgjf-" + INJECT, "a b", "图表"])
def test_chart_id_from_any_name_is_one_safe_token(raw):
    svg = charts.bar_chart(raw, "标题", [("2025年", Decimal("8.10"))], "万元")
    assert_no_live_markup(svg)
    svg_tag = tags(svg)[0][1]
    ids = [attrs["id"] for _, attrs in tags(svg) if "id" in attrs]
    assert len(ids) == 2 and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", i) for i in ids), ids
    assert svg_tag["aria-labelledby"].split() == ids


def test_chart_ids_of_different_names_differ():
    one = charts.safe_id("chart-" + INJECT)
    two = charts.safe_id("chart-" + INJECT.replace("1", "2"))
    assert one != two
    assert charts.safe_id("chart-2025-sangong") == "chart-2025-sangong"


def test_download_links_of_hostile_names_are_relative_files():
    for name in (JS, INJECT):
        href = fiscal_plugin.href(f"{name}-sangong.csv")
        assert not href.lower().startswith("javascript:"), href
        assert '"' not in href and "<" not in href and ":" not in href.split("/")[0], href


@pytest.mark.parametrize("name", [INJECT, JS, "图表 空格"])
def test_fiscal_views_of_hostile_names_render_no_markup(cats, name):
    import jinja2

    from gongkai.fiscal import Fiscal, Row, Sangong, Table
    amounts = {k: Decimal("1.00") for k in ("因公出国(境)费", "公务接待费", "公务用车购置费", "公务用车运行维护费")}
    sangong = Sangong("测试县财政局", 2025, "预算", "万元", amounts, Decimal("4.00"))
    fiscal = Fiscal(2026, "预算", "政府", "测试县财政局", "万元",
                    (Table("收入表", (Row("101", "税收收入", Decimal("5")),), Decimal("5")),))
    item = SimpleNamespace(slug=f"sgjf/{name}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "theme/templates")), autoescape=True)
    from gongkai.render import add_theme_filters
    add_theme_filters(env)   # macros.html's token, date and ymd filters, as every unit's environment has them
    for view in (fiscal_plugin.sangong_view(item, sangong, cats.fiscal, {}), fiscal_plugin.fiscal_view(item, fiscal)):
        ctx = {"GK": SimpleNamespace(labels={}, unit={"name": "县"}, units={}), "SITEURL": "."}
        macros = env.get_template("macros.html").make_module(ctx)
        html = env.get_template("fiscal.html").render(article=SimpleNamespace(fiscal=view), m=macros, **ctx)
        assert_no_live_markup(html, name)
        for _tag, attrs in tags(html):
            assert not (attrs.get("href") or "").startswith(("javascript", "x\"")), attrs
            for key in ("id", "aria-labelledby"):
                assert all(re.fullmatch(r"[A-Za-z][\w-]*", v) for v in (attrs.get(key) or "a").split()), attrs


def test_hostile_file_names_are_refused_and_reach_no_page(make_tree, tmp_path):
    # Both defences hold: the reading side refuses such names (one line naming each
    # file), and the rendering side escapes them anyway (the test above, names allowed).
    files = {"demo-county/_unit.yaml": UNIT_YAML}
    for n, name in enumerate((INJECT, JS), 1):
        files[f"demo-county/sgjf/{name}.yaml"] = SANGONG.format(n=n, year=2024 + n)
    files[f"demo-county/zfyjs/{JS}.yaml"] = FISCAL
    content = make_tree(files)
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"sgjf/{JS}.yaml" in result.stderr and f"zfyjs/{JS}.yaml" in result.stderr
    assert not out.exists()


# --- 2. CSV formula injection ------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+1", "@SUM(A1)", "-1+2", "\tx", "\rx", "=HYPERLINK(\"x\")", "-", "-cmd"])
def test_formula_cells_are_neutralised(cell):
    rows = list(csv.reader(io.StringIO(fiscal_plugin.csv_bytes(["h"], [[cell]]).decode("utf-8-sig"))))
    assert rows[1] == ["'" + cell]


@pytest.mark.parametrize("cell", ["-5.0", "-12.34", "0.00", "12", "-0.1", "说明", ""])
def test_numbers_and_text_stay_as_they_are(cell):
    rows = list(csv.reader(io.StringIO(fiscal_plugin.csv_bytes(["h"], [[cell]]).decode("utf-8-sig"))))
    assert rows[1] == [cell]


def test_fiscal_csv_download_has_no_formula_cell(make_tree, tmp_path):
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML, "demo-county/zfyjs/2026-ys.yaml": FISCAL})
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO((out / "demo-county/art/zfyjs/2026-ys-1.csv").read_bytes().decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(\"http://evil.example/\",\"点击\")" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], cells
    assert not [c for c in cells if c.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", c)], cells


# --- 3. no traceback reaches an editor ----------------------------------------------

def theme_settings(tmp_path: Path, template: str, line: int, text: str) -> Path:
    """A copy of the theme with ``text`` put in at ``line`` of ``template``, and settings using it."""
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    path = theme / "templates" / template
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(line - 1, text)
    path.write_text("\n".join(lines), encoding="utf-8")
    settings = tmp_path / "conf.py"
    settings.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pelicanconf import *\nTHEME = {str(theme)!r}\n")
    return settings


def run(content: Path, out: Path, *extra: str, settings: Path | None = None, env: dict | None = None):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(out),
         "--settings", str(settings or ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"), *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": AS_OF, **(env or {})},
        capture_output=True, text=True, timeout=300)
    result.seconds = time.monotonic() - started
    return result


def assert_one_clean_error(result, *needles: str, code: int):
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if all(n in line for n in needles)]
    assert errors, (needles, result.stderr)
    assert re.search(r"[\u4e00-\u9fff]", errors[0]) and re.search(r"\([a-z][a-z ,-]+", errors[0]), errors[0]


def _in_main_block(template: str) -> int:
    """The line just inside ``{% block main %}``: text outside a block of a child template is never rendered."""
    lines = (ROOT / "theme/templates" / template).read_text(encoding="utf-8").split("\n")
    return next(n for n, text in enumerate(lines, 1) if "{% block main %}" in text) + 1


@pytest.mark.parametrize("template,line,text,kind", [
    ("article.html", _in_main_block("article.html"), "{% if %}", "模板语法错误 (template syntax error)"),
    ("article.html", _in_main_block("article.html"), "{{ article.nope.deeper }}", "模板变量未定义 (undefined in template)"),
    ("portal.html", 3, "{% for %}", "模板语法错误 (template syntax error)"),
    ("portal.html", 3, "{{ units.nope.deeper }}", "模板变量未定义 (undefined in template)"),
])
def test_template_errors_name_template_and_line(tmp_path, template, line, text, kind):
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = sorted(p.name for p in out.iterdir())
    settings = theme_settings(tmp_path, template, line, text)
    result = run(FIXTURES / "good", out, settings=settings)
    assert_one_clean_error(result, f"templates/{template}:{line}:", kind, code=1)
    assert sum(f"templates/{template}:{line}:" in e for e in result.stderr.splitlines()) == 1  # once, not per unit
    assert sorted(p.name for p in out.iterdir()) == before
    debug = run(FIXTURES / "good", out, "--debug", settings=settings)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): " + done.stderr.decode(errors="replace"))


@pytest.fixture
def tmpfs(tmp_path):
    mounted = []

    def mount(name: str, options: str) -> Path:
        path = tmp_path / name
        _mount_tmpfs(path, options)
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_full_disk_is_one_line_naming_the_file(tmpfs):
    disk = tmpfs("small", "size=300k")
    result = run(ROOT / "content", disk / "output")
    assert_one_clean_error(result, "磁盘空间不足 (no space left on device)", str(disk), code=3)
    assert not (disk / ".output.partial").exists()


def test_read_only_output_parent_is_one_line_naming_it(tmpfs):
    ro = tmpfs("ro", "ro,size=64k")
    result = run(FIXTURES / "good", ro / "output")
    assert_one_clean_error(result, "只读文件系统", str(ro), code=3)


def test_output_symlink_is_refused_and_its_target_kept(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep", encoding="utf-8")
    link = tmp_path / "output"
    link.symlink_to(target)
    result = run(FIXTURES / "good", link)
    assert_one_clean_error(result, str(link), "符号链接", code=2)
    assert link.is_symlink() and (target / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_attachment_vanishing_during_build_is_one_line(make_tree, tmp_path, monkeypatch):
    """A file readable at check time but gone when the worker copies it (a dangling
    symlink, an unmounted share): one line naming it, non-zero exit (in-process build)."""
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML})
    shutil.copytree(FIXTURES / "good/demo-county/gfxwj", content / "demo-county/gfxwj")
    real_copy = shutil.copyfile

    def vanish(src, dst, *a, **k):
        if str(src).endswith("kaohe.csv"):
            raise FileNotFoundError(2, "No such file or directory", str(src))
        return real_copy(src, dst, *a, **k)

    monkeypatch.setattr(shutil, "copyfile", vanish)
    monkeypatch.setenv("BUILD_DATE", AS_OF)
    from gongkai import __main__ as cli
    code = cli.main(["html", "--content", str(content), "--output", str(tmp_path / "out"),
                     "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"), "--jobs", "1"])
    assert code == 3
    assert not (tmp_path / "out").exists()


def test_describe_never_gives_a_traceback():
    assert build_mod.describe(OSError(28, "No space left on device", "/o/x.html")) == \
        "/o/x.html: 磁盘空间不足 (no space left on device)"
    assert build_mod.describe(PermissionError(13, "Permission denied", "/o")) == "/o: 没有权限 (permission denied)"
    assert build_mod.describe(FileNotFoundError(2, "No such file", "/c/a.pdf")).startswith("/c/a.pdf: 文件不存在")
    broken = SyntaxError("invalid syntax", ("/p/conf.py", 3, 1, "THEME = \n"))
    assert build_mod.describe(broken) == "/p/conf.py:3: Python 语法错误 (syntax error): invalid syntax"
    line = build_mod.describe(ZeroDivisionError("division by zero"))
    assert "\n" not in line and "--debug" in line


# --- 4. one build at a time; a swap cut short is restored -------------------------------

def footer_dates(out: Path) -> set[str]:
    dates = set()
    for page in out.rglob("*.html"):
        dates.update(re.findall(r"本站内容截至 (\d{4}-\d{2}-\d{2}) 生成", page.read_text(encoding="utf-8")))
    return dates


def as_of_dates(out: Path) -> set[str]:
    return {json.loads(p.read_text(encoding="utf-8"))["as_of"] for p in out.glob("*/lifecycle.json")}


def start(content: Path, out: Path, day: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(out),
         "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"), *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": day},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_builds_never_mix(tmp_path):
    out = tmp_path / "output"
    first = start(ROOT / "content", out, "2026-11-22", "--jobs", "1")
    deadline = time.monotonic() + 30
    while not (tmp_path / ".output.partial").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = start(ROOT / "content", out, "2026-11-23", "--jobs", "1")
    results = [(p, *p.communicate(timeout=300)) for p in (first, second)]
    codes = [p.returncode for p, _, _ in results]
    units = sorted(p.name for p in (ROOT / "content").iterdir() if (p / "_unit.yaml").is_file())
    assert sorted(p.parent.name for p in out.glob("*/lifecycle.json")) == units
    days = as_of_dates(out)
    assert len(days) == 1, days
    assert footer_dates(out) == days
    # The second run either waited for the first (and then its build is the one in place)
    # or said why it refused; either way it never exits 0 with a mixed tree.
    err = results[1][2]
    if codes[1] == 0:
        assert "waiting for another build" in err and days == {"2026-11-23"}
    else:
        assert codes[1] == 4 and "another build" in err
    assert codes[0] == 0, results[0][2]
    assert not (tmp_path / ".output.partial").exists() and not (tmp_path / ".output.old").exists()


def test_second_build_refuses_after_its_wait(tmp_path):
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = sorted(str(p) for p in out.rglob("*"))
    with build_mod.build_lock(out, wait=0):
        result = run(FIXTURES / "good", out, "--wait", "1", env={"BUILD_DATE": "2026-11-23"})
    assert_one_clean_error(result, ".output.lock", "another build", code=4)
    assert "waiting for another build" in result.stderr
    assert result.seconds < 30
    assert sorted(str(p) for p in out.rglob("*")) == before and as_of_dates(out) == {AS_OF}


def test_lock_of_a_dead_build_is_taken_over(tmp_path):
    out = tmp_path / "output"
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / ".output.lock").write_text(f"{dead.pid}\n", encoding="ascii")
    result = run(FIXTURES / "good", out, "--wait", "0")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".output.lock").read_text(encoding="ascii").strip() != str(dead.pid)


def test_swap_killed_between_renames_is_restored(tmp_path, monkeypatch):
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    partial = tmp_path / ".output.partial"
    shutil.copytree(out, partial)
    real_rename, calls = os.rename, []

    def killed_after_first(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies here
        return real_rename(src, dst)

    monkeypatch.setattr(build_mod.os, "rename", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        build_mod._swap(partial, out)
    monkeypatch.undo()
    assert not out.exists() and (tmp_path / ".output.old").is_dir()
    # The next build, even one that fails on content, starts by restoring the output.
    result = build(FIXTURES / "bad", out)
    assert result.returncode == 1
    assert "restored" in result.stderr
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (tmp_path / ".output.old").exists()


def test_recover_is_a_no_op_on_a_clean_output(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    assert build_mod.recover(out) is False and out.is_dir()
    old = tmp_path / ".output.old"
    old.mkdir()
    assert build_mod.recover(out) is False and not old.exists() and out.is_dir()


# --- 5. withdrawn 公示, links to hidden items, encoded {filename} links ---------------

NOTICE = """\
---
title: 测试县低保拟新增对象名单公示
column: gsgg
type: notice
index_no: 11990102MB0000003X/2026-00019
doc_number: 测民发〔2026〕77号
issuer: 测试县民政局XYZ
genre: 公告
topic: 民政、扶贫、救灾\\社会救助
written: 2026-10-07
published: 2026-10-08
publicity_until: 2026-10-15
keywords: [低保名单关键词]
---

王秀兰 990102198503120236
"""

LINKS = """\
---
title: 链接测试
column: xxgkzd
type: page
published: 2025-01-05
---

见[草稿页](../gsgg/2026-draft.html)、[草稿源](../gsgg/2026-draft.md)、[实体](&#123;filename&#125;../gsgg/2026-draft.md)、[十进制](&#x7B;filename&#x7D;../gsgg/2026-apply.md)、[百分号](%7Bfilename%7D../gsgg/2027-embargo.md)、[公开](../../art/xxgkzd/zhidu.html)。
"""


def test_withdrawn_notice_keeps_only_title_dates_and_index_no(make_tree, tmp_path):
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML, "demo-county/gsgg/2026-gongshi.md": NOTICE})
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    page = (out / "demo-county/art/gsgg/2026-gongshi.html").read_text(encoding="utf-8")
    listing = (out / "demo-county/gsgg/index.html").read_text(encoding="utf-8")
    for text in (page, listing):
        text = re.sub(r"<[^>]+>", "", text)  # 索引号 and dates are set in token spans
        assert "测试县低保拟新增对象名单公示" in text and "11990102MB0000003X/2026-00019" in text and "2026-10-08" in text
    assert "公示期已满" in page and "2026-10-15" in page
    for path, text in all_output(out):
        for gone in ("测民发〔2026〕77号", "测试县民政局XYZ", "低保名单关键词", "990102198503120236", "民政、扶贫"):
            assert gone not in text, (gone, path)


def all_output(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".xml", ".json", ".csv"):
            yield path, path.read_text(encoding="utf-8")


def test_links_to_hidden_items_become_plain_text_with_a_warning(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "good", content)
    other = ("\n[他县草稿](../../../demo-county/art/gsgg/2026-draft.html) "
             "[他县依申请](http://127.0.0.1:8000/demo-county/art/gsgg/2026-apply.html) "
             "[他县源](../../demo-county/gsgg/2027-embargo.md)\n")
    (content / "demo-county/xxgkzd/links.md").write_text(LINKS + other, encoding="utf-8")
    town_links = LINKS.replace("链接测试", "镇链接").replace("column: xxgkzd", "column: nync").split("见[")[0]
    (content / "demo-town/nync/links.md").write_text(town_links + other, encoding="utf-8")
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    page = (out / "demo-county/art/xxgkzd/links.html").read_text(encoding="utf-8")
    body = page[page.index('<div class="item-body">'):]
    hrefs = [attrs.get("href", "") for tag, attrs in tags(body) if tag == "a"]
    assert [h for h in hrefs if h.endswith("zhidu.html")], hrefs  # a public item stays linked
    for hidden in ("2026-draft", "2026-apply", "2027-embargo", "filename", "%7B"):
        assert not [h for h in hrefs if hidden in h], (hidden, hrefs)
        assert hidden not in page, hidden
    for text in ("草稿页", "草稿源", "实体", "十进制", "百分号", "他县草稿", "他县依申请", "他县源"):
        assert text in body
    town = (out / "demo-town/art/nync/links.html").read_text(encoding="utf-8")
    for hidden in ("2026-draft", "2026-apply", "2027-embargo"):
        assert hidden not in town, hidden
    assert "他县依申请" in town
    warnings = [line for line in result.stderr.splitlines() if "demo-county/xxgkzd/links.md" in line]
    assert len(warnings) == 8, result.stderr
    assert len([line for line in result.stderr.splitlines() if "demo-town/nync/links.md" in line]) == 3
    assert all("warning" in w and re.search(r"[\u4e00-\u9fff]", w) for w in warnings), warnings


@pytest.mark.parametrize("href", ["&#123;filename&#125;a.md", "%7Bfilename%7Da.md", "%257Bstatic%257Da.pdf",
                                  "&#x7b;attach&#x7d;x.pdf", "{filename}a.md", "&amp;#123;index&amp;#125;"])
def test_encoded_pelican_links_are_unlinked(href):
    html, dropped = render.unlink(f'<p><a href="{href}" rel="noopener">文<b>字</b></a></p>', lambda url: False)
    assert html == "<p>文<b>字</b></p>" and dropped == [("文字", "pelican")]


def test_render_unlink_keeps_ordinary_links():
    fragment = '<p><a href="https://www.gov.cn/">政府网</a> <a href="#h-1">本页</a> <a href="b.html">乙</a></p>'
    assert render.unlink(fragment, lambda url: False) == (fragment, [])
    hidden = render.unlink(fragment, lambda url: url == "b.html")
    assert hidden == ('<p><a href="https://www.gov.cn/">政府网</a> <a href="#h-1">本页</a> 乙</p>', [("乙", "hidden")])


def test_damaged_previous_output_never_stops_a_build(tmp_path):
    out = tmp_path / "output"
    assert build(FIXTURES / "good", out).returncode == 0
    (out / "demo-county/lifecycle.json").write_text("{not json", encoding="utf-8")
    (out / "demo-town/lifecycle.json").write_text("[1, 2]", encoding="utf-8")
    result = build(FIXTURES / "good", out)
    assert result.returncode == 0, result.stderr
    assert as_of_dates(out) == {AS_OF}


@pytest.mark.parametrize("url, expected", [
    ("../gsgg/a.html", {"u/art/gsgg/a.html", "u/gsgg/a.html"}),
    ("../../../v/art/x.html", {"v/art/x.html", "../v/art/x.html"}),
    ("http://127.0.0.1:8000/v/art/x.html#p", {"v/art/x.html"}),
    ("https://www.gov.cn/x.html", set()),
    ("/v/art/x.html", set()),
    ("#frag", set()),
    ("//[zz/", set()),            # urlsplit raises on these: not a page of ours
    ("http://[::1/x", set()),
])
def test_link_target_reads_a_link_beside_the_page_and_beside_the_source(url, expected):
    got = lifecycle.link_target(url, "u/art/zcwj/p.html", "u/zcwj/p", "http://127.0.0.1:8000")
    assert got == expected


def test_unparseable_link_builds_and_is_a_checker_finding(tmp_path):
    # urlsplit raises ValueError on a bracket that opens an IPv6 host and never closes; the
    # sanitizer keeps such an href. Before, the unit failed with "internal error".
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "good", content)
    (content / "demo-county/xxgkzd/links.md").write_text(
        LINKS + '\n<a href="//[zz/">坏链接</a> [另一个](http://[::1/x)\n', encoding="utf-8")
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    found = json.dumps(json.loads((out / "check/check.json").read_text(encoding="utf-8")), ensure_ascii=False)
    assert "链接 '//[zz/' 指向的文件不存在" in found
