"""Lifecycle (DESIGN §6): every state transition, on its boundary days."""
import datetime as dt

import pytest

from gongkai import lifecycle
from gongkai.items import Item

D = dt.date


def item(**kw):
    base = dict(unit="u", source="s", path=None, slug="s", type="document", title="t", column="gfxwj",
                published=dt.datetime(2024, 1, 10, 9, 0), issuer="i", index_no="X/2024-00001")
    return Item(**{**base, **kw})


def never(index_no):
    return None


def public_from(**dates):
    """A lookup where 索引号 'new' becomes public on the given date."""
    return lambda index_no: dates.get(index_no)


def code(it, day, lookup=never):
    return lifecycle.state(it, day, lookup).code


def test_as_of_from_build_date_or_shanghai_today():
    assert lifecycle.as_of("2026-11-22") == D(2026, 11, 22)
    # 2026-11-21 17:00 UTC is already the 22nd in Shanghai
    now = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)
    assert lifecycle.as_of("", now=now) == D(2026, 11, 22)
    with pytest.raises(lifecycle.BuildDateError, match="BUILD_DATE: expected a date YYYY-MM-DD, got '2026-02-30'"):
        lifecycle.as_of("2026-02-30")


@pytest.mark.parametrize("fields, reason", [
    ({}, None),
    ({"draft": True}, "draft"),
    ({"disclosure": "依申请公开"}, "disclosure 依申请公开"),
    ({"disclosure": "不予公开"}, "disclosure 不予公开"),
    ({"published": dt.datetime(2026, 11, 23)}, "embargoed until 2026-11-23"),
])
def test_not_public_reasons(fields, reason):
    assert lifecycle.not_public_reason(item(**fields), D(2026, 11, 22)) == reason
    assert code(item(**fields), D(2026, 11, 22)) == ("current" if reason is None else "hidden")


def test_embargo_lifts_on_the_publication_day_whatever_the_hour():
    it = item(published=dt.datetime(2026, 11, 22, 23, 59))
    assert code(it, D(2026, 11, 21)) == "hidden"
    assert code(it, D(2026, 11, 22)) == "current"


def test_valid_until_day_is_still_valid_the_day_after_is_not():
    it = item(valid_until=D(2025, 12, 31))
    assert code(it, D(2025, 12, 31)) == "current"
    st = lifecycle.state(it, D(2026, 1, 1), never)
    assert (st.code, st.label, st.since, st.retired) == ("expired", "失效", D(2026, 1, 1), True)
    assert st.reason == "有效期至2025-12-31届满"


def test_repeal_takes_effect_when_the_repealing_item_is_published():
    it = item(repealed_by="new")
    lookup = public_from(new=D(2026, 11, 10))
    assert code(it, D(2026, 11, 9), lookup) == "current"
    st = lifecycle.state(it, D(2026, 11, 10), lookup)
    assert (st.code, st.label, st.since, st.by) == ("repealed", "已废止", D(2026, 11, 10), "new")


def test_a_repealing_item_that_never_becomes_public_repeals_nothing():
    assert code(item(repealed_by="new"), D(2030, 1, 1), never) == "current"


def test_explicit_validity():
    assert code(item(validity="废止"), D(2024, 1, 10)) == "repealed"
    assert code(item(validity="失效"), D(2024, 1, 10)) == "expired"
    assert code(item(validity="修订"), D(2024, 1, 10)) == "revised"
    assert lifecycle.state(item(validity="失效", valid_until=D(2024, 5, 1)), D(2024, 6, 1), never).since == D(2024, 5, 2)


def test_revision_by_a_replacing_item():
    it = item(replaced_by="new")
    lookup = public_from(new=D(2025, 3, 12))
    assert code(it, D(2025, 3, 11), lookup) == "current"
    st = lifecycle.state(it, D(2025, 3, 12), lookup)
    assert (st.code, st.label, st.by, st.retired) == ("revised", "已修订", "new", True)


def test_repeal_wins_over_expiry_and_revision():
    it = item(valid_until=D(2025, 1, 1), replaced_by="b", repealed_by="a")
    assert code(it, D(2026, 1, 1), public_from(a=D(2025, 6, 1), b=D(2025, 6, 1))) == "repealed"


def test_publicity_period_last_day_is_open_the_day_after_is_withdrawn():
    notice = item(type="notice", column="gsgg", publicity_until=D(2026, 10, 15))
    assert code(notice, D(2026, 10, 15)) == "open"
    st = lifecycle.state(notice, D(2026, 10, 16), never)
    assert (st.code, st.label, st.since, st.withdrawn, st.retired) == ("closed", "公示期满", D(2026, 10, 16), True, False)


def test_withdrawn_item_keeps_only_title_dates_and_index_no():
    full = item(type="notice", body="王秀兰 990102198503120236", summary="s", keywords=["k"], qa=["x"],
                attachments=["a"], images=["scan"], data={"a": 1}, facts="f")
    kept = lifecycle.withdraw(full)
    assert (kept.body, kept.summary, kept.keywords, kept.qa, kept.attachments, kept.images, kept.data, kept.facts) == (
        "", "", [], [], [], [], {}, None)
    assert (kept.title, kept.published, kept.index_no) == (full.title, full.published, full.index_no)


def test_changes_since_yesterday():
    items = [item(valid_until=D(2025, 12, 31), title="a", slug="a"),
             item(published=dt.datetime(2026, 1, 1), title="b", slug="b"),
             item(title="c", slug="c"),
             item(draft=True, title="d", slug="d")]
    found = lifecycle.changes(items, D(2026, 1, 1), never)
    assert [(c["title"], c["from"], c["to"]) for c in found] == [("a", "现行有效", "失效"), ("b", "未公开", "现行有效")]
    assert lifecycle.changes(items, D(2026, 1, 2), never) == []
