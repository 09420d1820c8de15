"""The 年报 page on a phone (375 px): the page never scrolls sideways, table 三 scrolls
inside its own frame with its label columns held in place (position: sticky)."""
from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGES = ["shili-county/art/xxgknb/2026-2025-xxgk-niandu-baogao.html",
         "shili-county-czj/art/xxgknb/2026-2025-xxgk-niandu-baogao.html", "annual/index.html"]


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", device_scale_factor=2)
    outside = []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    yield context.new_page()
    context.close()
    assert outside == []


@pytest.mark.parametrize("rel", PAGES)
def test_the_page_does_not_scroll_sideways_the_table_frame_does(site_url, phone, rel):
    phone.goto(f"{site_url}/{rel}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    frame = phone.locator(".annual-frame-t3").first
    widths = frame.evaluate("f => [f.scrollWidth, f.clientWidth, getComputedStyle(f).overflowX]")
    assert widths[0] > widths[1] and widths[2] == "auto", widths
    # scroll the frame: the figures move, the row labels stay where they are
    label = phone.locator(".annual-t3 tbody tr:first-child th").first
    figure = phone.locator(".annual-t3 tbody tr:first-child td").first
    before = (label.bounding_box()["x"], figure.bounding_box()["x"])
    frame.evaluate("f => { f.scrollLeft = 150; }")
    after = (label.bounding_box()["x"], figure.bounding_box()["x"])
    assert after[0] == before[0] and after[1] < before[1] - 100, (before, after)
    assert phone.evaluate("window.scrollX") == 0 and phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_report_prints_on_a4_without_the_scroll_frame(site_url, phone):
    phone.goto(f"{site_url}/{PAGES[0]}")
    phone.emulate_media(media="print")
    try:
        overflow = phone.locator(".annual-frame-t3").first.evaluate("f => getComputedStyle(f).overflowX")
        position = phone.locator(".annual-t3 th.l0").first.evaluate("e => getComputedStyle(e).position")
        assert (overflow, position) == ("visible", "static")
    finally:
        phone.emulate_media(media="screen")
