"""政策解读 rules: stable question anchors, official working days, timeliness gaps."""
import datetime as dt

from conftest import ROOT
from gongkai import lifecycle
from gongkai.anchors import qa_anchor
from gongkai.interpretation import interpretation_gaps, working_days_after
from gongkai.items import Item
from gongkai.site import scan


def test_anchor_depends_on_the_question_only():
    a = qa_anchor("到哪里申请？")
    assert a.startswith("q-") and len(a) == 10
    assert qa_anchor(" 到哪里 申请? ") == a
    assert qa_anchor("到哪里申请临时救助？") != a


def test_working_days_follow_the_official_calendar():
    # Spring Festival 2026: 15–23 Feb off, Saturday 14 Feb worked (调休).
    assert working_days_after(dt.date(2026, 2, 13), dt.date(2026, 2, 24)) == (2, True)
    assert working_days_after(dt.date(2026, 9, 30), dt.date(2026, 9, 30)) == (0, True)
    # No official data for 2027 yet: Monday–Friday, flagged as an estimate.
    assert working_days_after(dt.date(2027, 3, 5), dt.date(2027, 3, 9)) == (2, False)


def test_working_days_match_a_day_by_day_count_across_years():
    # The running totals must agree with counting each day, also across year ends and
    # into years without official data (inexact as soon as one such day is counted).
    from gongkai.interpretation import is_workday

    def by_day(start, end):
        count, exact, day = 0, True, start + dt.timedelta(days=1)
        while day <= end:
            work, known = is_workday(day)
            count, exact, day = count + work, exact and known, day + dt.timedelta(days=1)
        return count, exact

    starts = [dt.date(2019, 12, 31), dt.date(2024, 2, 28), dt.date(2025, 12, 30), dt.date(2026, 12, 31)]
    for start in starts:
        for span in (0, 1, 2, 7, 40, 365, 366, 800):
            end = start + dt.timedelta(days=span)
            assert working_days_after(start, end) == by_day(start, end), (start, end)
    assert working_days_after(dt.date(2026, 3, 9), dt.date(2026, 3, 5)) == (0, True)


def policy(index_no, published, column="gfxwj"):
    return Item(unit="u", source=f"{index_no}.md", path=None, slug=index_no, type="document", title=f"政策{index_no}",
                column=column, published=dt.datetime.fromisoformat(published), issuer="i", index_no=index_no,
                doc_number="示政发〔2026〕1号")


def reading(index_no, target, published):
    return Item(unit="u", source=f"{index_no}.md", path=None, slug=index_no, type="interpretation",
                title=f"解读{index_no}", column="zcjd", published=dt.datetime.fromisoformat(published), issuer="i",
                index_no=index_no, interprets=[target])


def test_gaps_missing_late_and_on_time(cats):
    items = [
        policy("A", "2026-02-13"), reading("a", "A", "2026-02-24"),   # 2 working days: on time
        policy("B", "2026-03-02"), reading("b", "B", "2026-03-06"),   # 4 working days: late
        policy("C", "2026-03-02"),                                      # none
        policy("D", "2026-03-02", column="qtwj"),                       # 其他文件 need none
    ]
    gaps = interpretation_gaps(items, cats)
    assert [(g.kind, g.policy.index_no, g.workdays) for g in gaps] == [("late", "B", 4), ("missing", "C", None)]
    assert str(gaps[0]).startswith("政策B（示政发〔2026〕1号）: 解读晚于文件 4 个工作日 (expected at most 3; 《国务院办公厅")
    assert "国办发〔2016〕80号" in gaps[1].basis


def test_sample_has_one_policy_without_interpretation_on_purpose(cats):
    items = scan(ROOT / "content", ROOT / "catalogs").items
    public = [i for i in items if lifecycle.is_public(i, dt.date(2026, 11, 22))]
    missing = {g.policy.index_no for g in interpretation_gaps(public, cats) if g.kind == "missing"}
    # the checker's imperfect unit (shili-province) lacks one on purpose; the others have theirs
    assert "11990000MB0000001M/2026-00007" in missing
    assert "11990102MB0000003X/2026-00018" not in missing      # the 废止 decision: 问答
    assert "11990102MB0000003X/2026-00008" not in missing      # 问答 ×2, one from the town
    assert "11990102MB0000003X/2024-00001" not in missing      # 图解
