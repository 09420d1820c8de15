"""Markdown rendering and sanitizing: nothing executable reaches a page."""
from pathlib import Path

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


# Pieces of bodies: plain ones the fast path takes, and every kind of character that must
# send a body through python-markdown (ASCII punctuation, controls, edge whitespace).
PIECES = ["政府", "信息", "，", "。", "、", "“", "”", "（一）", "１．", "\u3000", "\u3000\u3000", "\xa0", "\u2003",
          " ", "  ", "a", "Z", "1", "23", "é", "\u200b", "\ufeff", "\U0001F600", "\n", "\n\n", "\n\n\n",
          "**", "*", "-", "#", "<", "&", "\t", "\r", ">", ":", "|", "_", "[", "]", "(", ")", "\\", "`", ".",
          "\x02", "\x85", "\u2028", "=", "+", "~", "!", "'", '"', "{", "}"]


def test_plain_paragraphs_equal_python_markdown():
    import random

    from gongkai.render import plain_paragraphs
    renderer, rng, taken = Renderer(), random.Random(15), 0
    for _ in range(20000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        fast = plain_paragraphs(text)
        if fast is None:
            continue
        taken += 1
        renderer._md.reset()
        assert fast == renderer._md.convert(text), repr(text)
    assert taken > 200   # the comparison ran on many bodies, not on none
    body = "各部门通告就业创业12345热线。\n第二行 word\n\n第二段。"
    assert plain_paragraphs(body) == "<p>各部门通告就业创业12345热线。\n第二行 word</p>\n<p>第二段。</p>"


@pytest.mark.parametrize("text", ["落实**“放管服”**改革", "\u3000\u3000正文", "正文  \n下一行", "1. 一", "a & b",
                                  "<b>x</b>", "正文\t", "# 标题", "    代码"])
def test_marked_up_bodies_go_through_python_markdown(text):
    from gongkai.render import plain_paragraphs
    assert plain_paragraphs(text) is None
    renderer = Renderer()
    renderer._md.reset()
    assert Renderer()(text) == sanitize(renderer._md.convert(text))
    if "**" in text:
        assert "<strong>“放管服”</strong>" in Renderer()(text)


def test_plain_paragraphs_skip_nh3_only_where_it_changes_nothing():
    # The fast path returns a plain body's paragraphs without nh3 when it has no U+00A0:
    # nh3 changes no other character the fast path takes (text is serialized per character,
    # so every such character is checked at once, in long runs).
    from gongkai.render import _PLAIN_LINE
    taken = [chr(cp) for cp in range(0x20, 0x110000)
             if not 0xD800 <= cp < 0xE000 and _PLAIN_LINE.fullmatch("字" + chr(cp) + "字")]
    assert len(taken) > 1_000_000
    changed = []
    for start in range(0, len(taken), 20000):
        run = "".join(taken[start:start + 20000])
        if sanitize(f"<p>{run}</p>") != f"<p>{run}</p>":
            changed += [ch for ch in run if sanitize(f"<p>{ch}</p>") != f"<p>{ch}</p>"]
    assert changed == ["\xa0"]
    assert Renderer()("一\xa0二\n\n三") == "<p>一&nbsp;二</p>\n<p>三</p>"   # U+00A0 still goes through nh3
    assert Renderer()("一二\n三\n\n\n四") == "<p>一二\n三</p>\n<p>四</p>"


def test_template_files_are_signed_once_per_pelican_run(monkeypatch):
    """share_environment keys the environment by the template files' signatures; a run's
    generators (four a unit) share its settings, so the files are stat()ed once a run, and
    again for the next run (a template edited between two builds of one process)."""
    from pelican.generators import Generator
    from pelican.settings import read_settings

    from gongkai import render

    calls = []
    real = render._signatures
    monkeypatch.setattr(render, "_signatures", lambda folders: calls.append(folders) or real(folders))
    render.forget_run()
    conf = str(Path(__file__).resolve().parents[1] / "pelicanconf.py")
    for run in (1, 2):
        settings = read_settings(conf)
        for _ in range(4):
            generator = Generator({}, settings, settings["PATH"], settings["THEME"], settings["OUTPUT_PATH"])
            render.share_environment(generator)
        assert len(calls) == run
    render.forget_run()
    render.share_environment(generator)
    assert len(calls) == 3


def test_unit_environments_have_the_themes_filters_and_a_sites_own_win():
    """Every environment a unit's generator renders with (share_environment) has the theme's
    token, date and ymd filters (macros.html's listing rows and metadata table call them as
    filters: a filter is called directly, a call in a template goes through Jinja's
    Context.call), giving what GK.token, GK.date and GK.strftime give; a filter of the same
    name in the settings' JINJA_FILTERS is kept."""
    import datetime as dt

    from pelican.generators import Generator
    from pelican.settings import read_settings

    from gongkai import render
    from gongkai.columns import GK

    conf = str(Path(__file__).resolve().parents[1] / "pelicanconf.py")
    source = "{{ v|token }}|{{ v|token('无') }}|{{ d|date }}|{{ d|date('') }}|{{ d|ymd }}"
    for value, day in (("11990102MB00000041/2026-00001", dt.datetime(2026, 1, 2, 3, 4)), ("a<b>/&", dt.date(999, 1, 2)),
                       ("", None), (None, dt.date(2026, 11, 22))):
        for sharing in (True, False):
            settings = read_settings(conf, override={"TEMPLATE_PAGES": {} if sharing else {"x.html": "x.html"}})
            generator = Generator({}, settings, settings["PATH"], settings["THEME"], settings["OUTPUT_PATH"])
            render.share_environment(generator)
            got = generator.env.from_string(source).render(v=value, d=day)
            assert got == (f"{GK.token(value)}|{GK.token(value, '无')}|{GK.date(day)}|{GK.date(day, '')}|"
                           f"{GK.strftime(day, '%Y-%m-%d') if day else ''}")
    render.forget_run()
    settings = read_settings(conf, override={"JINJA_FILTERS": {"date": lambda value: "site-own"}})
    generator = Generator({}, settings, settings["PATH"], settings["THEME"], settings["OUTPUT_PATH"])
    render.share_environment(generator)
    assert generator.env.from_string("{{ 1|date }}|{{ 'a/b'|token }}").render() == (
        "site-own|" + str(GK.token("a/b")))
    render.forget_run()


class _Html:
    def __html__(self):
        return "<i>safe</i>"


class _Str(str):
    pass


class _Safe(str):
    def __html__(self):
        return "<b>" + self + "</b>"


ESCAPED = ["", "plain", "中文 政务公开", "a<b>&c\"d'e", "<script>alert(1)</script>", "\x00\u3000&amp;",
           _Str("<sub>"), _Safe("x"), _Html(), 0, 42, 3.5, None, True, ["<li>"]]


@pytest.mark.parametrize(("value", "as_markup"), [(v, False) for v in ESCAPED]
                         + [(v, True) for v in ESCAPED if type(v) is str])   # Markup of a str only
def test_page_escape_gives_markupsafes_value(value, as_markup):
    import markupsafe

    from gongkai.render import page_escape
    if as_markup:
        value = markupsafe.Markup(value)
    got, want = page_escape(value), markupsafe.escape(value)
    assert type(got) is markupsafe.Markup and got == want


def test_the_theme_environment_escapes_pages_through_page_escape(tmp_path, monkeypatch):
    """share_environment makes the theme's templates PageTemplates: their {{ … }} go through
    page_escape, and a page renders as Jinja's own Template renders it."""
    import jinja2
    import markupsafe

    from gongkai import render
    from test_perf import fake_generator
    monkeypatch.setattr(render, "ENVIRONMENTS", {})
    (tmp_path / "page.html").write_text("<p title=\"{{ t }}\">{{ x }}|{{ m }}|{{ n }}|{{ x ~ m }}</p>"
                                        "{% macro k(v) %}<b>{{ v }}</b>{% endmacro %}{{ k(x) }}")
    gen = fake_generator(tmp_path)
    gen.env.autoescape = True
    render.share_environment(gen)
    template = gen.env.get_template("page.html")
    assert isinstance(template, render.PageTemplate)
    assert template.root_render_func.__globals__["escape"] is render.page_escape
    values = {"t": "a\"b", "x": "<x>&", "m": markupsafe.Markup("<i>m</i>"), "n": 7}
    plain = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), autoescape=True)
    assert template.render(values) == plain.get_template("page.html").render(values)
    # A template from a string is compiled through from_code too: the same escaping.
    assert gen.env.from_string("{{ x }}").root_render_func.__globals__["escape"] is render.page_escape
