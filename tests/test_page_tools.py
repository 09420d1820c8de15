"""Page tools in Debian chromium: 字号, 长者模式, 高对比, 简繁, 朗读, 打印, 上一篇/下一篇, 网站地图.

The tools need no external service: the context fails the test on any request that
leaves the local server.
"""
from __future__ import annotations

import json
import re

import pytest
from a11y.audit import new_context
from playwright.sync_api import expect

COUNTY = "shili-county"
ITEM = f"{COUNTY}/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html"

# speechSynthesis is recorded, not heard: the test sees what the page asked the browser to say.
SPEECH_SPY = """
window.__spoken = []; window.__cancelled = 0;
window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ''; };
Object.defineProperty(window, 'speechSynthesis', {configurable: true, value: {
  speak: function (u) { window.__spoken.push([u.text, u.lang]); },
  cancel: function () { window.__cancelled += 1; },
  speaking: false,
}});
window.print = function () { window.__printed = (window.__printed || 0) + 1; };
"""


@pytest.fixture
def context(browser):
    ctx = new_context(browser, 375)
    outside = []
    ctx.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    yield ctx
    ctx.close()
    assert outside == []


def html_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_font_size_applies_at_once_and_survives_a_reload(context, site_url):
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    assert html_px(page) == 18
    tools = page.get_by_role("toolbar", name="页面工具")
    tools.get_by_role("button", name="大", exact=True).click()
    assert html_px(page) == 22  # no reload needed
    expect(tools.get_by_role("button", name="大", exact=True)).to_have_attribute("aria-pressed", "true")
    page.reload()
    assert html_px(page) == 22
    expect(tools.get_by_role("button", name="大", exact=True)).to_have_attribute("aria-pressed", "true")
    tools.get_by_role("button", name="小", exact=True).click()
    assert html_px(page) == 16
    page.goto(f"{site_url}/{COUNTY}/index.html")  # another page of the site
    assert html_px(page) == 16


def test_choices_apply_before_the_first_paint(context, site_url):
    """The saved size is on <html> before any stylesheet or body is parsed: no flash."""
    context.add_init_script("try { localStorage.setItem('gk-font', 'l'); } catch (e) {}")
    context.add_init_script("""
      new MutationObserver((_, obs) => {
        if (document.body) { window.__atBody = document.documentElement.getAttribute('data-font'); obs.disconnect(); }
      }).observe(document, {childList: true, subtree: true});""")
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    assert page.evaluate("() => window.__atBody") == "l"


def test_elder_mode_survives_a_reload_and_is_usable_by_keyboard(context, site_url):
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    button = page.get_by_role("button", name="长者模式")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert html_px(page) == 24
    page.reload()
    assert page.evaluate("() => document.documentElement.getAttribute('data-elder')") == "1"
    assert html_px(page) == 24
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375  # still no sideways scrolling
    page.get_by_role("button", name="长者模式").focus()
    page.keyboard.press("Space")
    assert html_px(page) == 18


def test_high_contrast_switch(context, site_url):
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    page.get_by_role("button", name="高对比").click()
    page.reload()
    colour = page.evaluate("() => getComputedStyle(document.querySelector('.item-body p')).color")
    assert colour == "rgb(0, 0, 0)"


def test_read_aloud_starts_and_stops_by_keyboard(context, site_url):
    context.add_init_script(SPEECH_SPY)
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    button = page.get_by_role("button", name="朗读全文")
    expect(button).to_be_visible()
    for _ in range(30):  # reach it with the Tab key, as a keyboard user does
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.action") == "speak":
            break
    else:
        pytest.fail("the read-aloud button cannot be reached with Tab")
    page.keyboard.press("Enter")
    spoken = page.evaluate("() => window.__spoken")
    assert spoken and all(lang == "zh-CN" for _, lang in spoken)
    assert spoken[0][0].startswith("示例县人民政府关于印发")
    assert "各乡镇人民政府" in "".join(text for text, _ in spoken)
    stop = page.get_by_role("button", name="停止朗读")
    expect(stop).to_have_attribute("aria-pressed", "true")
    cancelled = page.evaluate("() => window.__cancelled")
    page.keyboard.press("Enter")
    assert page.evaluate("() => window.__cancelled") == cancelled + 1
    expect(page.get_by_role("button", name="朗读全文")).to_have_attribute("aria-pressed", "false")


def test_read_aloud_is_hidden_where_the_browser_cannot_speak(context, site_url):
    context.add_init_script("delete window.speechSynthesis; window.speechSynthesis = undefined;")
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    assert page.locator('[data-action="speak"]').is_hidden()


def test_print_button(context, site_url):
    context.add_init_script(SPEECH_SPY)
    page = context.new_page()
    page.goto(f"{site_url}/{ITEM}")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("() => window.__printed") == 1


def test_traditional_switch_uses_the_built_map_and_switches_back(context, site_url, sample_site):
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{site_url}/{ITEM}")
    assert not any(u.endswith("zhmap.json") for u in requests)  # fetched on first use only
    title = page.locator("h1").inner_text()
    page.get_by_role("button", name="繁體").click()
    expect(page.locator("h1")).to_have_text(re.compile("關於印發"))
    assert page.evaluate("() => document.documentElement.lang") == "zh-Hant"
    # the portal's one map, which every unit's pages share (a browser keeps one copy)
    assert any(u == f"{site_url}/theme/js/zhmap.json" for u in requests), requests
    page.reload()  # the choice persists
    expect(page.locator("h1")).to_have_text(re.compile("關於印發"))
    page.get_by_role("button", name="简体").click()
    expect(page.locator("h1")).to_have_text(title)
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"


def test_zhmap_is_written_once_at_the_root_for_every_unit(sample_site):
    data = json.loads((sample_site / "theme/js/zhmap.json").read_text(encoding="utf-8"))
    assert set(data) == {"s2t", "t2s"}
    assert data["s2t"]["务"] == "務" and data["t2s"]["務"] == "务" and data["s2t"]["开"] == "開"
    assert all(len(k) == 1 and len(v) == 1 for k, v in data["s2t"].items())
    units = [p for p in sample_site.iterdir() if (p / "lifecycle.json").is_file()]
    assert len(units) == 5
    for unit in units:
        # no copy of the theme in a unit: its pages read the portal's (one for the province)
        assert not (unit / "theme").exists()
        page = (unit / "index.html").read_text(encoding="utf-8")
        assert 'src="./../theme/js/tools.js"' in page and 'href="./../theme/css/main.css"' in page


def test_prev_next_follow_the_column_listing(sample_site):
    listing = (sample_site / COUNTY / "gfxwj/index.html").read_text(encoding="utf-8")
    order = re.findall(r'<td class="c-title"><a href="\.\./(art/[^"]+)"', listing)
    assert len(order) >= 3
    middle = (sample_site / COUNTY / order[1]).read_text(encoding="utf-8")
    nav = middle.split('<nav class="prev-next"')[1].split("</nav>")[0]
    assert f'上一篇：<a rel="prev" href="../../{order[0]}">' in nav
    assert f'下一篇：<a rel="next" href="../../{order[2]}">' in nav
    first = (sample_site / COUNTY / order[0]).read_text(encoding="utf-8")
    assert '上一篇：<span class="none">没有了</span>' in first


def test_sitemap_page_lists_every_column(sample_site):
    html = (sample_site / COUNTY / "wzdt.html").read_text(encoding="utf-8")
    assert "<h1 class=\"page-title\">网站地图</h1>" in html
    for column in ("xxgkzn", "gfxwj", "zcwd", "fzhsx", "sgjf", "xxgknb"):
        assert f'href="./{column}/index.html"' in html, column
    for unit in ("shili-town", "shili-province"):
        assert (sample_site / unit / "wzdt.html").is_file()


def test_footer_facts_come_from_unit_yaml_and_are_absent_otherwise(sample_site):
    county = (sample_site / COUNTY / "index.html").read_text(encoding="utf-8").split('<footer class="site-footer">')[1]
    assert '<a href="https://beian.miit.gov.cn/">示ICP备00000000号-1</a>' in county
    assert "示公网安备 99010202000001号" in county and "党政机关网站标识" in county
    assert ">政府网站找错</a>" in county and ">联系我们</a>" in county
    town = (sample_site / "shili-town/index.html").read_text(encoding="utf-8").split('<footer class="site-footer">')[1]
    for word in ("ICP", "公网安备", "党政机关", "找错", "联系我们"):
        assert word not in town
