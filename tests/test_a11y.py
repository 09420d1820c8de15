"""Accessibility audit: axe-core (npm, pinned by tests/a11y/package-lock.json) in Debian
chromium over every page kind of the sample, at 1280 px, at 375 px, in 长者模式 and in 高对比.

Zero serious or critical violations. The audit helper itself is tested on a page
broken on purpose, so a silent audit cannot pass for a clean one.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from a11y.audit import MODES, PAGE_KINDS, blocking, describe, ensure_axe, new_context, run_axe, serve

BROKEN = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>坏页面</title></head>
<body><main>
<h1>坏页面</h1>
<img src="x.png">
<p style="color:#bbb;background:#fff">对比度不足的文字</p>
<button></button>
<a href="a.html"></a>
</main></body></html>
"""


@pytest.fixture(scope="module")
def browser(browser):
    ensure_axe()  # axe-core from the lockfile, before the first audit
    return browser


def test_axe_is_pinned_by_the_lockfile():
    import json
    lock = json.loads((Path(__file__).parent / "a11y/package-lock.json").read_text(encoding="utf-8"))
    package = json.loads((Path(__file__).parent / "a11y/package.json").read_text(encoding="utf-8"))
    pinned = package["dependencies"]["axe-core"]
    assert pinned[0].isdigit(), "axe-core is pinned to one exact version"
    assert lock["packages"]["node_modules/axe-core"]["version"] == pinned
    assert lock["packages"]["node_modules/axe-core"]["integrity"].startswith("sha512-")


def test_the_audit_finds_violations_on_a_broken_page(browser, tmp_path):
    (tmp_path / "broken.html").write_text(BROKEN, encoding="utf-8")
    context = new_context(browser, 375)
    page = context.new_page()
    with serve(tmp_path) as url:
        page.goto(f"{url}/broken.html")
        found = run_axe(page)
    context.close()
    ids = {v["id"] for v in blocking(found)}
    assert {"image-alt", "color-contrast", "button-name", "link-name"} <= ids, describe(found)


@pytest.mark.parametrize("mode, width, prefs", MODES, ids=[m for m, _, _ in MODES])
def test_no_serious_or_critical_violation_on_any_page_kind(browser, site_url, mode, width, prefs):
    context = new_context(browser, width, prefs=prefs)
    page = context.new_page()
    failures = []
    for kind, path in PAGE_KINDS:
        response = page.goto(f"{site_url}/{path}")
        assert response and response.ok, f"{kind}: {path} is missing from the sample"
        if prefs.get("gk-elder"):
            assert page.evaluate("() => document.documentElement.getAttribute('data-elder')") == "1"
        if prefs.get("gk-contrast"):
            assert page.evaluate("() => document.documentElement.getAttribute('data-contrast')") == "high"
        bad = blocking(run_axe(page))
        if bad:
            failures.append(f"{kind} ({path}): {describe(bad)}")
    context.close()
    assert failures == [], "\n".join(failures)
