"""Markdown rendering and sanitizing: nothing executable reaches a page."""
import pytest

from gongkai.render import Renderer, first_paragraph, sanitize


@pytest.mark.parametrize("raw", [
    "<script>alert(1)</script>",
    '<img src="x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<svg><script>alert(1)</script></svg>',
    '<form action="https://evil.example"><input></form>',
    '[x](javascript:alert(1))',
])
def test_nothing_executable_survives(raw):
    html = Renderer()(raw).lower()
    for bad in ("<script", "onerror", "javascript:", "<iframe", "style=", "<form", "<svg"):
        assert bad not in html


def test_tables_headings_and_links_survive():
    html = Renderer()("## 一、总则\n\n| 项目 | 金额 |\n|---|---|\n| 合计 | 1.00 |\n\n[链接](https://www.gov.cn/)\n")
    assert '<h2 id="h-一、总则">' not in html  # punctuation is folded out of ids
    assert '<h2 id="h-一-总则">一、总则</h2>' in html
    assert "<table>" in html and "<td>合计</td>" in html
    assert '<a href="https://www.gov.cn/" rel="noopener noreferrer">链接</a>' in html


def test_sanitize_keeps_cell_spans():
    html = sanitize('<table><tr><td colspan="2" onclick="x()">a</td></tr></table>')
    assert html == '<table><tbody><tr><td colspan="2">a</td></tr></tbody></table>'


def test_first_paragraph_is_plain_text():
    assert first_paragraph("<h2>x</h2><p>各单位：<strong>请</strong>执行 &amp; 落实。</p><p>二</p>") == "各单位：请执行 & 落实。"
    assert first_paragraph("<p>" + "字" * 300 + "</p>", limit=10) == "字" * 10 + "…"
    assert first_paragraph("<ul><li>x</li></ul>") == ""
