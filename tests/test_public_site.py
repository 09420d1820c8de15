"""The public site on phones and desktops: each defect found by trying the sample as a
new user would (issue 13), asserted on the built sample and in Debian chromium.

Every test here failed on the site before the fix (see the report of issue 13).
"""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from a11y.audit import PAGE_KINDS, new_context

COUNTY = "shili-county"
SANGONG = f"{COUNTY}/art/sgjf/2026-sangong-juesuan-2025-jt.html"
OVERVIEW = f"{COUNTY}/sgjf/index.html"
ITEM = f"{COUNTY}/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html"
QA_ITEM = f"{COUNTY}/art/zcjd/2026-linshi-jiuzhu-shishi-xize-wenda.html"
WITHDRAWN = f"{COUNTY}/art/shjz/2026-q3-dibao-nixinzeng-gongshi.html"
RETIRED_LIST = f"{COUNTY}/fzhsx/index.html"


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def text_of(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def meta(html: str, name: str) -> str:
    m = re.search(rf'<meta name="{name}" content="([^"]*)">', html)
    assert m, name
    return unescape(m.group(1))


# ---- the built pages -------------------------------------------------------------------

def test_fiscal_item_shows_its_title_once(sample_site):
    html = read(sample_site, SANGONG)
    title = text_of(re.search(r'<h1 class="item-title">(.*?)</h1>', html, re.S).group(1))
    headings = [text_of(h) for h in re.findall(r"<h[2-6][^>]*>(.*?)</h[2-6]>", html, re.S)]
    assert title not in headings


def test_fiscal_chart_is_not_under_the_explanation_heading(sample_site):
    html = read(sample_site, SANGONG)
    explanation = html.index("<h3>增减变化原因</h3>")
    assert html.index("<svg") < explanation  # the chart follows its table, not the 增减变化原因


def test_half_width_brackets_of_a_catalog_label_are_shown_full_width(sample_site):
    html = read(sample_site, SANGONG)
    assert "因公出国（境）费" in html
    assert "因公出国(境)费" not in html


def test_questions_have_no_stray_hash_sign(sample_site):
    html = read(sample_site, QA_ITEM)
    questions = re.findall(r"<dt>(.*?)</dt>", html, re.S)
    assert questions
    for q in questions:
        assert not text_of(q).endswith("#"), q
        assert re.search(r'<a class="q-link" href="#q-[0-9a-f]{8}">', q)  # the question is its own permalink


@pytest.mark.parametrize("column, count", [("zcwd", 2), ("fzhsx", 3)])
def test_generated_columns_show_their_count_in_the_tree(sample_site, column, count):
    html = read(sample_site, f"{COUNTY}/index.html").split('id="column-nav"')[1]
    link = re.search(rf'<a href="\./{column}/index.html"[^>]*>(.*?)</a>', html, re.S).group(1)
    assert re.search(r'<span class="count">.*?</span>', link), link
    assert text_of(link).endswith(f"（{count}条）")


def test_expired_notice_leaves_the_home_page_latest(sample_site):
    html = read(sample_site, f"{COUNTY}/index.html")
    latest = html.split('id="h-latest"')[1]
    assert "2026-q3-dibao-nixinzeng-gongshi" not in latest
    assert latest.split("</section>")[0].count("<li><a") == 10  # still the ten newest


def test_meta_description_is_body_text_not_the_addressee(sample_site):
    html = read(sample_site, ITEM)
    description = meta(html, "Description")
    assert description and not description.endswith("：")
    assert "各乡镇人民政府" not in description
    assert description.startswith("现将《示例县城乡居民临时救助实施细则》印发给你们")


def test_meta_description_of_a_sangong_item_is_not_empty(sample_site):
    for page in sorted((sample_site / COUNTY / "art/sgjf").glob("*.html")):
        description = meta(page.read_text(encoding="utf-8"), "Description")
        assert "“三公”经费" in description and "合计" in description, page


def test_footer_links_a_sitemap_page_not_raw_xml(sample_site):
    html = read(sample_site, f"{COUNTY}/index.html")
    footer = html.split('<footer class="site-footer">')[1]
    assert '<a href="./wzdt.html">网站地图</a>' in footer
    assert "sitemap.xml" not in footer


# ---- in the browser --------------------------------------------------------------------

@pytest.fixture(scope="module")
def phone(browser):
    context = new_context(browser, 375)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def desktop(browser):
    context = new_context(browser, 1280)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("width, elder", [(320, False), (375, False), (414, False), (320, True), (375, True)])
def test_no_page_kind_scrolls_sideways_on_a_phone(browser, site_url, width, elder):
    context = new_context(browser, width, elder)
    page = context.new_page()
    wide = []
    for kind, path in PAGE_KINDS:
        page.goto(f"{site_url}/{path}")
        got = page.evaluate("() => document.documentElement.scrollWidth")
        if got > width:
            wide.append(f"{kind} ({path}): {got}px")
    context.close()
    assert wide == []


def test_200_percent_zoom_loses_nothing(browser, site_url):
    """200 % zoom of a 1280 px window is a 640 px layout at twice the pixels."""
    context = browser.new_context(viewport={"width": 640, "height": 450}, device_scale_factor=2)
    page = context.new_page()
    wide = []
    for kind, path in PAGE_KINDS:
        page.goto(f"{site_url}/{path}")
        if page.evaluate("() => document.documentElement.scrollWidth") > 640:
            wide.append(kind)
    context.close()
    assert wide == []


def test_sangong_table_scrolls_in_its_own_frame_to_its_last_column(phone, site_url):
    phone.goto(f"{site_url}/{SANGONG}")
    frame = phone.locator(".fiscal .table-wrap")
    frame.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    box = frame.bounding_box()
    last = phone.locator(".sangong-table tbody tr").first.locator("td").last
    cell = last.bounding_box()
    assert frame.evaluate("el => el.scrollWidth > el.clientWidth")  # it is the frame that scrolls
    assert cell["x"] >= box["x"] - 0.5 and cell["x"] + cell["width"] <= box["x"] + box["width"] + 0.5
    assert last.inner_text().endswith("%")
    # the row names stay in view, fixed at the left of the frame
    name = phone.locator(".sangong-table tbody th").first.bounding_box()
    assert abs(name["x"] - box["x"]) < 2


@pytest.mark.parametrize("path, table", [(SANGONG, ".sangong-table"), (OVERVIEW, ".overview-table")])
def test_row_names_never_wrap_below_a_readable_width(phone, site_url, path, table):
    phone.goto(f"{site_url}/{path}")
    widths = phone.locator(f"{table} tbody th").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width / parseFloat(getComputedStyle(e).fontSize))")
    assert widths and min(widths) >= 7, widths  # at least seven characters a line


@pytest.mark.parametrize("path", [SANGONG, OVERVIEW, f"{COUNTY}/art/zfyjs/2026-xianji-yusuan-baobiao.html"])
def test_chart_labels_are_at_least_14px_as_rendered_on_a_phone(phone, site_url, path):
    phone.goto(f"{site_url}/{path}")
    sizes = phone.locator("svg.chart text").evaluate_all(
        "els => els.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
    assert sizes and min(sizes) >= 14, sizes


def test_tokens_never_break_inside_on_a_phone(phone, site_url):
    phone.goto(f"{site_url}/{ITEM}")
    table = phone.locator(".meta-table")
    tokens = table.locator(".tok")
    assert tokens.count() >= 4  # 索引号 (two parts), 文号, 成文日期, 发布日期
    lines = tokens.evaluate_all("els => els.map(e => [e.textContent, e.getClientRects().length])")
    assert all(n == 1 for _, n in lines), lines
    phone.goto(f"{site_url}/{COUNTY}/gfxwj/index.html")
    lines = phone.locator(".listing .tok").evaluate_all(
        "els => els.map(e => [e.textContent, e.getClientRects().length])")
    assert lines and all(n == 1 for _, n in lines), lines


def test_retired_documents_table_fits_its_column_on_a_desktop(desktop, site_url):
    desktop.goto(f"{site_url}/{RETIRED_LIST}")
    main = desktop.locator("main").bounding_box()
    table = desktop.locator("table.listing").bounding_box()
    assert table["x"] + table["width"] <= main["x"] + main["width"] + 0.5


def test_phone_home_lists_each_column_once(phone, site_url):
    phone.goto(f"{site_url}/{COUNTY}/index.html")
    visible = phone.locator('a[href="./gfxwj/index.html"]:visible').count()
    assert visible == 1
    assert phone.evaluate("() => document.documentElement.scrollHeight") < 4000
