"""Read the parts of a 公文 (GB/T 9704 layout) from its lines of text, as pure functions.

A 公文 has a fixed order: 版头 (发文机关标志, 发文字号), 标题, 主送机关, 正文, 附件说明,
落款 (发文机关署名, 成文日期), 版记 (抄送, 印发机关和印发日期). Each function looks for
one part where it stands in that order and returns None when it is not there: an
importer must leave a field empty rather than guess it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

# 文号 as issued, in every real form: 〔〕 [] 【】 （） () ［］, 第, 号/號.
DOC_NUMBER = re.compile(
    r"(?P<org>[\u4e00-\u9fffA-Za-z]{1,20}?)\s*[〔\[【（(［]\s*(?P<year>(?:19|20)\d{2})\s*[〕\]】）)］]"
    r"\s*第?\s*(?P<n>\d{1,6})\s*[号號]")

_DIGITS = {**{c: i for i, c in enumerate("〇一二三四五六七八九")}, "○": 0, "零": 0, "O": 0, "Ｏ": 0,
           "０": 0, "１": 1, "２": 2, "３": 3, "４": 4, "５": 5, "６": 6, "７": 7, "８": 8, "９": 9,
           "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6, "陸": 6, "柒": 7, "捌": 8, "玖": 9}
_NUM = r"[0-9０-９〇○零OＯ一二三四五六七八九十壹贰貳叁參肆伍陆陸柒捌玖拾]"
DATE = re.compile(rf"(?P<y>{_NUM}{{4}})\s*年\s*(?P<m>{_NUM}{{1,3}})\s*月\s*(?P<d>{_NUM}{{1,4}})\s*日")

# Words a 公文 title ends with (simplified and traditional), optionally with （试行）.
_TITLE_END = re.compile(
    r"(通知|通告|公告|决定|決定|意见|意見|办法|辦法|规定|規定|细则|細則|方案|批复|批覆|报告|報告|请示|請示|函|纪要|紀要"
    r"|决议|決議|命令|公报|公報|通报|通報|议案|議案|规划|規劃|计划|計劃|条例|條例|规则|規則|公示|答复|答覆|措施|意見書)"
    r"(（[^）]{1,10}）|\([^)]{1,10}\))?$")
GENRES = {"通知": "通知", "通告": "通告", "公告": "公告", "决定": "决定", "決定": "决定", "意见": "意见", "意見": "意见",
          "批复": "批复", "批覆": "批复", "报告": "报告", "報告": "报告", "请示": "请示", "請示": "请示", "函": "函",
          "纪要": "纪要", "紀要": "纪要", "决议": "决议", "決議": "决议", "命令": "命令", "公报": "公报", "公報": "公报",
          "通报": "通报", "通報": "通报", "议案": "议案", "議案": "议案"}
# How an organization's name ends (发文机关署名), simplified and traditional.
_ORG_END = re.compile(
    r"(人民政府|政府|办公室|辦公室|办公厅|辦公廳|委员会|委員會|人民代表大会常务委员会|局|厅|廳|部|委|院|署|中心|所|站|处|處"
    r"|街道办事处|街道辦事處|管理委员会|管委会|管委會|领导小组|領導小組|指挥部|指揮部|公司|协会|協會|联合会|聯合會|党组|黨組)$")
_PUNCT = re.compile(r"[，。；！？,.;!?、：:“”\"《》]")
_BACK_MATTER = re.compile(r"^(抄送|抄報|抄报|主送|附件|印发|印發|（此件|\(此件|（联系|（聯系|（聯繫|\(联系|联系人|聯系人)")
_ISSUED_LINE = re.compile(r"(印发|印發)\s*$")


def chinese_int(text: str) -> int | None:
    """'二十三' -> 23, '十' -> 10, '2' -> 2, '０４' -> 4, '二〇一三' -> 2013 (digit by digit)."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if "十" in text or "拾" in text:
        tens, _, ones = text.replace("拾", "十").partition("十")
        if len(_) != 1:
            return None
        t = _DIGITS.get(tens) if tens else 1
        o = _DIGITS.get(ones) if ones else 0
        if t is None or o is None or len(tens) > 1 or len(ones) > 1:
            return None
        return t * 10 + o
    value = 0
    for ch in text:
        d = _DIGITS.get(ch, int(ch) if ch.isascii() and ch.isdigit() else None)
        if d is None:
            return None
        value = value * 10 + d
    return value


def parse_date(text: str) -> dt.date | None:
    """The first written date in ``text``: 2013年4月23日, 二〇一三年四月二十三日, ２０１３年…"""
    for m in DATE.finditer(text):
        y, mo, d = chinese_int(m["y"]), chinese_int(m["m"]), chinese_int(m["d"])
        if None in (y, mo, d):
            continue
        try:
            return dt.date(y, mo, d)
        except ValueError:
            continue
    return None


def find_doc_number(text: str) -> str | None:
    """The first 文号 in ``text``, exactly as written (spaces inside removed)."""
    m = DOC_NUMBER.search(text)
    return re.sub(r"\s+", "", m.group(0)) if m else None


def _clean(line: str) -> str:
    return re.sub(r"[\s\u3000]+", "", line)


def _is_doc_number_line(line: str) -> str | None:
    """A line that holds only the 发文字号 (maybe beside 签发人, as on 上行文)."""
    s = re.sub(r"(签发人|簽發人)[:：].*$", "", _clean(line))
    number = find_doc_number(s)
    return number if number and len(s) <= len(number) + 2 else None


def is_org_name(line: str) -> bool:
    s = _clean(line)
    return 2 <= len(s) <= 40 and not _PUNCT.search(s) and bool(_ORG_END.search(s)) and not DATE.search(s)


@dataclass
class Parts:
    """What was found in a 公文; None where the part is not there."""

    title: str | None = None
    doc_number: str | None = None
    addressee: str | None = None          # 主送机关
    written: dt.date | None = None        # 成文日期 from the 落款
    issuer: str | None = None             # 发文机关 from the 落款 (or the 版头)
    body_start: int = 0                   # first line of the body (主送机关 included)
    body_end: int = 0                     # after the 落款 and its notes (版记 excluded)
    found: dict[str, str] = field(default_factory=dict)


HEAD_LINES = 15   # the 版头 and the title sit in the first lines of the first page


def extract(lines: list[str]) -> Parts:
    """Find the parts of a 公文 in its lines (paragraphs) of text."""
    lines = [ln.rstrip() for ln in lines]
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    parts = Parts(body_end=len(lines))
    if not nonempty:
        return parts
    head = nonempty[:HEAD_LINES]
    header_org = None
    after = nonempty[0]
    number_at = None
    for i in head:
        number = _is_doc_number_line(lines[i])
        if number:
            parts.doc_number, number_at = number, i
            after = i + 1
            break
    # 版头: "示例县人民政府文件" — the issuing organ as its mark.
    first = _clean(lines[nonempty[0]])
    if first.endswith("文件") and is_org_name(first[:-2]):
        header_org = first[:-2]
        after = max(after, nonempty[0] + 1)
    title_at = _find_title(lines, [i for i in head if i >= after] or head)
    if title_at is None and number_at is not None:
        # Some pages put the 文号 under the title: look above it too.
        title_at = _find_title(lines, [i for i in head if i < number_at and not (i == nonempty[0] and header_org)])
    if title_at:
        start, end = title_at
        parts.title = "".join(_clean(lines[i]) for i in range(start, end + 1) if lines[i].strip())
        parts.body_start = end + 1 if number_at is None or number_at < start else max(end, number_at) + 1
        if parts.doc_number is None:
            # A 文号 written just under the title (common on 规范性文件 pages) counts too.
            for i in [j for j in nonempty if end < j <= end + 2]:
                number = _is_doc_number_line(lines[i])
                if number:
                    parts.doc_number = number
                    parts.body_start = i + 1
                    break
        for i in [j for j in nonempty if j >= parts.body_start][:2]:
            s = _clean(lines[i])
            if s.endswith(("：", ":")) and 2 < len(s) <= 120 and not _BACK_MATTER.match(s):
                parts.addressee = s[:-1]
                break
    else:
        parts.body_start = after if parts.doc_number or header_org else 0
    _find_signature(lines, parts)
    if parts.issuer is None and header_org:
        parts.issuer = header_org
    for key in ("title", "doc_number", "addressee", "written", "issuer"):
        value = getattr(parts, key)
        if value is not None:
            parts.found[key] = value.isoformat() if isinstance(value, dt.date) else value
    return parts


def _find_title(lines: list[str], candidates: list[int]) -> tuple[int, int] | None:
    """The title: up to three lines, the last ending with a 公文 word, none a sentence."""
    for k, i in enumerate(candidates):
        s = _clean(lines[i])
        if not s or re.search(r"[，。；：:！？]", s):
            continue
        if s.endswith("文件") or _is_doc_number_line(s):
            continue
        joined = ""
        for j in candidates[k:k + 3]:
            part = _clean(lines[j])
            if re.search(r"[。；：:！？]$", part) or (joined and j != candidates[k] and _is_doc_number_line(part)):
                break
            joined += part
            if _TITLE_END.search(joined) and ("关于" in joined or "關於" in joined or len(joined) <= 40):
                return i, j
    return None


def _find_signature(lines: list[str], parts: Parts) -> None:
    """落款: the 成文日期 on a line of its own near the end, the 发文机关 above it."""
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    tail = [i for i in nonempty if i >= parts.body_start][-25:]
    end = len(lines)
    # 版记 (抄送, 印发) sits after the 落款: the body ends before it.
    for i in reversed(tail):
        s = _clean(lines[i])
        if s.startswith(("抄送", "抄報", "抄报")) or _ISSUED_LINE.search(s):
            end = i
    for i in reversed([j for j in tail if j < end]):
        s = _clean(lines[i])
        m = DATE.search(s)
        if not m:
            continue
        rest = s[:m.start()]
        if s[m.end():].strip("。.") or (rest and not is_org_name(rest)):
            continue
        day = parse_date(s)
        if day is None:
            continue
        parts.written = day
        orgs = [rest] if rest else []
        k = nonempty.index(i) - 1
        while not rest and k >= 0 and len(orgs) < 4 and is_org_name(lines[nonempty[k]]):
            orgs.insert(0, _clean(lines[nonempty[k]]))
            k -= 1
        if orgs:
            parts.issuer = "、".join(orgs)
        # Notes after the date — （此件公开发布） and the like — stay in the body.
        parts.body_end = end
        return
    parts.body_end = end


def genre_of(title: str | None) -> str | None:
    """体裁 when the title ends with one of the 15 公文 kinds (…的通知 → 通知)."""
    if not title:
        return None
    m = _TITLE_END.search(title)
    return GENRES.get(m.group(1)) if m else None
