"""A member of the public in a real browser: portal → unit → column → item.

Debian's chromium driven by Playwright; the site is served on 127.0.0.1 by a
server thread that the fixture stops (and that stops itself after 10 minutes).
"""
import re

import pytest
from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    # Everything must come from the site itself: fail on any request elsewhere.
    outside = []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    pg = context.new_page()
    yield pg
    context.close()
    assert outside == []


def test_portal_to_unit_to_column_to_item(page, site_url, tmp_path):
    page.goto(f"{site_url}/index.html")
    expect(page.locator("h1")).to_have_text("政府信息公开专栏")
    page.get_by_role("link", name="示例县人民政府", exact=True).click()
    expect(page.locator("h1")).to_have_text("示例县人民政府信息公开")
    page.get_by_role("navigation", name="栏目导航").get_by_role("link", name="行政规范性文件").click()
    expect(page.locator("h1")).to_have_text("行政规范性文件")
    expect(page.get_by_role("link", name="行政规范性文件")).to_have_attribute("aria-current", "page")
    first = page.locator("table.listing tbody tr").first
    index_no = first.locator("td.c-index").inner_text()
    title = first.locator("td.c-title a").inner_text()
    first.locator("td.c-title a").click()
    expect(page.locator("h1")).to_have_text(title)
    table = page.locator("table.meta-table")
    for label in ("索引号", "主题分类", "发布机构", "成文日期", "文号", "发布日期", "效力状况"):
        expect(table.get_by_role("rowheader", name=label, exact=True)).to_be_visible()
    expect(table.locator("th:text-is('索引号') + td")).to_have_text(index_no)
    page.screenshot(path=str(tmp_path / "item.png"), full_page=True)


def test_keyboard_user_gets_a_skip_link_and_visible_focus(page, site_url):
    page.goto(f"{site_url}/shili-county/index.html")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]")
    assert focused == ["跳到主要内容", "solid"]
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


@pytest.mark.parametrize("path", ["index.html", "shili-county/index.html", "shili-county/gfxwj/index.html",
                                  "shili-county/art/shjz/2026-2026q3-dibao-tekun-zijin-fafang.html",
                                  "shili-county/xxgkzn/index.html"])
def test_phone_width_has_no_sideways_scrolling(browser, site_url, path):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    pg = context.new_page()
    pg.goto(f"{site_url}/{path}")
    width = pg.evaluate("() => document.documentElement.scrollWidth")
    context.close()
    assert width <= 360, f"{path} is {width}px wide on a 360px phone"


def test_base_text_is_large_and_contrasty(page, site_url):
    page.goto(f"{site_url}/shili-county/index.html")
    size, color = page.evaluate("() => { const s = getComputedStyle(document.body); return [s.fontSize, s.color]; }")
    assert float(size.rstrip("px")) >= 18
    assert color == "rgb(31, 31, 31)"


def test_question_on_a_policy_lands_on_its_answer(page, site_url):
    page.goto(f"{site_url}/shili-county/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html")
    readings = page.get_by_role("region", name="相关解读")
    readings.get_by_role("link", name="我不是本县户籍，能不能申请？").click()
    expect(page).to_have_url(re.compile(r"/shili-county/art/zcjd/2026-linshi-jiuzhu-shishi-xize-wenda\.html#q-[0-9a-f]{8}$"))
    answer = page.locator(":target")
    expect(answer).to_contain_text("我不是本县户籍，能不能申请？")
    expect(answer.locator("dd")).to_contain_text("在本县经常居住、持有居住证的非本县户籍人员")
    expect(answer).to_be_in_viewport()
    # the highlighted answer is visibly marked
    assert answer.evaluate("el => getComputedStyle(el).borderLeftColor") == "rgb(168, 22, 28)"


def test_a_units_check_report_summary_fits_a_phone(browser, site_url):
    # The verdict (合格/不合格, score, counts) is read without scrolling sideways; only the
    # findings tables, in labelled scroll regions, may be wider than the phone.
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    pg = context.new_page()
    pg.goto(f"{site_url}/shili-province/check/index.html")
    sizes = pg.evaluate("""() => { const t = document.querySelector('.table-wrap table');
        return [t.getBoundingClientRect().width, t.parentElement.clientWidth, document.documentElement.scrollWidth]; }""")
    context.close()
    table, region, page_width = sizes
    assert table <= region and page_width <= 360, sizes
