"""公文 layout (GB/T 9704 on the web) and the default Description: pure functions."""
from gongkai.gongwen import layout, roles, summary

DOC = ("<p>各乡镇人民政府，县各委办局：</p><p>现将《细则》印发给你们，请认真贯彻执行。</p>"
       "<p>附件：示例县临时救助申请表</p><p>示例县人民政府</p><p>2026年7月8日</p><p>（此件公开发布）</p>")


def test_roles_of_a_gongwen():
    texts = ["各乡镇人民政府，县各委办局：", "现将《细则》印发给你们，请认真贯彻执行。", "附件：示例县临时救助申请表",
             "示例县人民政府", "2026年7月8日", "（此件公开发布）"]
    assert roles(texts) == ["zhusong", None, "fujian", "luokuan", "date", None]


def test_layout_marks_the_paragraphs_and_changes_nothing_else():
    html = layout(DOC)
    assert html == ('<p class="gw-zhusong">各乡镇人民政府，县各委办局：</p><p>现将《细则》印发给你们，请认真贯彻执行。</p>'
                    '<p class="gw-fujian">附件：示例县临时救助申请表</p><p class="gw-luokuan">示例县人民政府</p>'
                    '<p class="gw-date">2026年7月8日</p><p>（此件公开发布）</p>')


def test_chinese_numeral_date_and_joint_issue():
    assert roles(["国务院办公厅　财政部", "二〇二六年七月八日"]) == ["luokuan", "date"]


def test_ordinary_text_is_left_alone():
    texts = ["根据《条例》：", "本办法自2026年1月1日起施行。", "示例县人民政府研究决定，现通知如下："]
    # a colon ending a sentence of body text is not a 主送机关 when it is not the first paragraph
    assert roles(texts[1:]) == [None, None]
    assert roles(["本办法自2026年1月1日起施行。", "2026年7月8日"]) == [None, "date"]  # a sentence is no 落款


def test_summary_skips_the_addressee_and_signature():
    assert summary(DOC) == "现将《细则》印发给你们，请认真贯彻执行。"
    assert summary("<p>各单位：</p>") == ""
    assert summary("<p>" + "字" * 300 + "</p>", limit=10) == "字" * 10 + "…"


def test_body_tables_get_a_focusable_scrolling_frame():
    from gongkai.gongwen import frame_tables
    html = frame_tables('<p>a</p><table><tr><td>1</td></tr></table><p>b</p><table class="x"></table>')
    assert html == ('<p>a</p><div class="table-wrap body-table" role="region" aria-label="正文表格1" tabindex="0">'
                    '<table><tr><td>1</td></tr></table></div><p>b</p>'
                    '<div class="table-wrap body-table" role="region" aria-label="正文表格2" tabindex="0">'
                    '<table class="x"></table></div>')
    assert frame_tables("<p>no table</p>") == "<p>no table</p>"


def _summary_of_every_role(fragment: str, limit: int = 200) -> str:
    """summary() as first written: the roles of every paragraph, then the first body text."""
    import re

    from gongkai.gongwen import _P, _text
    texts = [re.sub(r"\s+", " ", _text(m.group(1))) for m in _P.finditer(fragment)]
    for text, kind in zip(texts, roles(texts), strict=True):
        if text and kind is None:
            return text if len(text) <= limit else text[:limit].rstrip() + "…"
    return ""


def test_summary_reads_only_the_first_paragraphs_and_says_the_same():
    import random
    pieces = ["各乡镇人民政府，县各委办局：", "各单位：", "现将《细则》印发给你们。", "示例县人民政府", "财政局",
              "2026年7月8日", "二〇二六年七月八日", "附件：申请表", "附件:名单", "", " ", "（此件公开发布）",
              "根据《条例》：", "<strong>通知</strong>如下：", "甲 &amp; 乙", "a\n  b", "本办法自2026年1月1日起施行。"]
    rng = random.Random(15)
    for _ in range(5000):
        paragraphs = [rng.choice(pieces) for _ in range(rng.randint(0, 6))]
        fragment = "".join(f"<p>{p}</p>" for p in paragraphs)
        if rng.random() < 0.3:
            fragment = layout(fragment)   # the reader summarizes the laid-out body
        assert summary(fragment) == _summary_of_every_role(fragment), fragment
        assert summary(fragment, limit=3) == _summary_of_every_role(fragment, limit=3), fragment


def test_layout_of_a_body_without_gongwen_parts_is_the_same_string():
    body = "<p>现将《细则》印发给你们。</p>\n<p>请认真贯彻执行。</p>"
    assert layout(body) is body


def test_layout_reads_only_the_paragraphs_that_can_have_a_role_and_marks_the_same(monkeypatch):
    """layout takes the text of the first paragraph, of those that can be a date or a 附件说明
    (a 日 or 附 in their HTML, or an entity) and of the one before a date; it marks what
    roles() says of every paragraph's text, on random bodies with tags and entities that
    make or hide a date, a 附件说明 or a 落款."""
    import random

    from gongkai import gongwen

    pieces = ["各乡镇人民政府，县各委办局：", "各单位：", "现将《细则》印发给你们。", "示例县人民政府", "财政局",
              "2026年7月8日", "二〇二六年七月八日", "附件：申请表", "附件:名单", "", " ", "（此件公开发布）",
              "根据《条例》：", "<strong>通知</strong>如下：", "甲 &amp; 乙", "a\n  b", "本办法自2026年1月1日起施行。",
              "2026年7月8&#26085;", "&#38468;件：表", "附<b></b>件：表", "<em>2026年7月8日</em> ", "今日", "附注",
              "示例县<br>人民政府", "&lt;p&gt;", "日", "附件："]
    rng = random.Random(9704)
    for _ in range(5000):
        paragraphs = [rng.choice(pieces) + rng.choice(["", "", "日", " "]) for _ in range(rng.randint(0, 7))]
        fragment = "".join(f"<p>{p}</p>" for p in paragraphs)
        want = roles([gongwen._text(m.group(1)) for m in gongwen._P.finditer(fragment)])
        marked = "".join(f'<p class="gw-{k}">{p}</p>' if k else f"<p>{p}</p>" for p, k in zip(paragraphs, want))
        assert layout(fragment) == marked, fragment
    read = []
    real = gongwen._text
    monkeypatch.setattr(gongwen, "_text", lambda raw: read.append(raw) or real(raw))
    body = "<p>现将细则印发给你们。</p>" + "".join(f"<p>第{n}段正文，请认真贯彻执行。</p>" for n in range(30))
    assert layout(body) is body
    assert read == ["现将细则印发给你们。"]   # the first paragraph's text only


def test_paragraphs_are_found_as_the_lazy_pattern_found_them():
    """gongwen's paragraph pattern (no lazy quantifier) matches exactly what
    ``<p>(.*?)</p>`` with re.S matched, on random HTML built from the pieces that meet or
    break a paragraph's end."""
    import random
    import re

    from gongkai import gongwen

    lazy = re.compile(r"<p>(.*?)</p>", re.S)
    assert gongwen._P.pattern != lazy.pattern
    pieces = ["<p>", "</p>", "<", "/", "p", ">", "</ p>", "</P>", "</pre>", "<p class=x>", "\n", "文", "a", "<b>",
              "</b>", "&amp;", "</p", "<<", "p>"]
    rng = random.Random(17)
    for _ in range(20000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert [m.span(1) for m in gongwen._P.finditer(html)] == [m.span(1) for m in lazy.finditer(html)], html
