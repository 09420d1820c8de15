"""公文 layout on the web (GB/T 9704 conventions), from plain Markdown paragraphs.

Editors write a 公文 as it reads on paper, one paragraph per part (docs/content.md):
the 主送机关 is the first paragraph and ends with a colon (顶格, no indent); the
落款 is a short paragraph with the issuing organ's name directly before a
paragraph that is only the 成文日期 (both right-aligned); a paragraph that
starts with 附件： is the 附件说明. This module recognises those paragraphs in the
sanitized HTML and adds a class; nothing else of the body changes. ``frame_tables``
puts each body table in a scrolling frame.
"""
from __future__ import annotations

import html
import re

# A paragraph: "<p>", then everything up to the first "</p>" (what ``<p>(.*?)</p>`` with
# re.S matches), written without the lazy quantifier, which tried "</p>" at every
# character (~17 µs a corpus body, against ~4).
_P = re.compile(r"<p>((?:[^<]++|<(?!/p>))*+)</p>")
_TAGS = re.compile(r"<[^>]+>")
_CN_DIGITS = "〇○零一二三四五六七八九十"
DATE = re.compile(rf"^(?:\d{{4}}|[{_CN_DIGITS}]{{4}})年(?:\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})月"
                  rf"(?:\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})日$")
ADDRESSEE_MAX = 120     # a 主送机关 line is one line of organ names
SIGNATURE_MAX = 40      # a 落款 is one organ name (or two, joint issue)
SENTENCE = re.compile(r"[。；！？]")
_SPACES = re.compile(r"\s+")


def _text(fragment: str) -> str:
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()   # most paragraphs: no tag to drop, no entity to undo
    return html.unescape(_TAGS.sub("", fragment)).strip()


def is_addressee(text: str) -> bool:
    return bool(text) and text[-1] in "：:" and len(text) <= ADDRESSEE_MAX and not SENTENCE.search(text)


def is_date(text: str) -> bool:
    return bool(DATE.match(text))


def is_signature(text: str) -> bool:
    return 0 < len(text) <= SIGNATURE_MAX and not SENTENCE.search(text) and not re.search(r"[：:，,]$", text)


def roles(paragraphs: list[str]) -> list[str | None]:
    """The 公文 role of each paragraph (plain text), or None for body text."""
    out: list[str | None] = [None] * len(paragraphs)
    if paragraphs and is_addressee(paragraphs[0]):
        out[0] = "zhusong"
    for i, text in enumerate(paragraphs):
        if is_date(text):
            out[i] = "date"
            if i > 0 and out[i - 1] is None and is_signature(paragraphs[i - 1]):
                out[i - 1] = "luokuan"
        elif _is_fujian(text):
            out[i] = "fujian"
    return out


def _is_fujian(text: str) -> bool:
    return text.startswith(("附件：", "附件:"))


def _roles_of(raws: list[str]) -> list[str | None]:
    """``roles([_text(r) for r in raws])``, taking a paragraph's text only where it can have
    a role: the first (主送机关), one that can be a date or a 附件说明, and the one before a
    date (落款). Without an entity ("&") a paragraph's text holds only characters of its
    HTML, and a date ends with 日 and a 附件说明 starts with 附: a paragraph with neither
    (and no "&") is body text, whatever it says. Most bodies' paragraphs are (~25 µs a
    body: every paragraph's text and two tests)."""
    texts: dict[int, str] = {}

    def text(i: int) -> str:
        found = texts.get(i)
        if found is None:
            found = texts[i] = _text(raws[i])
        return found

    out: list[str | None] = [None] * len(raws)
    if raws and is_addressee(text(0)):
        out[0] = "zhusong"
    for i, raw in enumerate(raws):
        if "日" not in raw and "附" not in raw and "&" not in raw:
            continue
        current = text(i)
        if is_date(current):
            out[i] = "date"
            if i > 0 and out[i - 1] is None and is_signature(text(i - 1)):
                out[i - 1] = "luokuan"
        elif _is_fujian(current):
            out[i] = "fujian"
    return out


def layout(fragment: str) -> str:
    """Add gw-* classes to the 主送机关, 落款, 成文日期 and 附件说明 paragraphs."""
    matches = list(_P.finditer(fragment))
    kinds = _roles_of([m.group(1) for m in matches])
    if not any(kinds):
        return fragment   # nothing to mark: the same string, not rebuilt
    out, last = [], 0
    for m, kind in zip(matches, kinds, strict=True):
        out.append(fragment[last:m.start()])
        out.append(f'<p class="gw-{kind}">{m.group(1)}</p>' if kind else m.group(0))
        last = m.end()
    out.append(fragment[last:])
    return "".join(out)


def summary(fragment: str, limit: int = 200) -> str:
    """The default 内容概述 / meta Description: the first paragraph of body text,
    skipping the 主送机关, 落款 and date lines (a Description that only says
    "各乡镇人民政府，县各委办局：" describes nothing)."""
    # What roles() says of the whole list, paragraph by paragraph: a paragraph's role
    # depends only on it and the next one (a 落款 is the line before a date), so a body's
    # first paragraphs are read, not all of them.
    paragraphs = (_SPACES.sub(" ", _text(m.group(1))) for m in _P.finditer(fragment))
    text, after, first = next(paragraphs, None), next(paragraphs, None), True
    while text is not None:
        if text and not (first and is_addressee(text)) and not is_date(text) and not _is_fujian(text) \
                and not (after is not None and is_date(after) and is_signature(text)):
            return text if len(text) <= limit else text[:limit].rstrip() + "…"
        text, after, first = after, next(paragraphs, None), False
    return ""


_TABLE_OPEN = re.compile(r"<table(?=[\s>])")


def frame_tables(fragment: str) -> str:
    """Each table of a body scrolls inside its own frame on a phone, never the page; the
    frame is focusable and named, so keyboard users can scroll it (WCAG 2.1.1)."""
    if "<table" not in fragment:
        return fragment
    count = iter(range(1, 10_000))
    opened = _TABLE_OPEN.sub(lambda m: '<div class="table-wrap body-table" role="region" '
                             f'aria-label="正文表格{next(count)}" tabindex="0"><table', fragment)
    return opened.replace("</table>", "</table></div>")
