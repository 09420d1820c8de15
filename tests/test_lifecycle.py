"""The as-of date and the public gate (DESIGN §6, first part)."""
import datetime as dt

import pytest

from gongkai import lifecycle
from gongkai.items import Item


def item(**kw):
    base = dict(unit="u", source="s", path=None, slug="s", type="document", title="t", column="qtwj",
                published=dt.datetime(2026, 11, 22, 9, 0), issuer="i")
    return Item(**{**base, **kw})


def test_as_of_from_build_date_or_shanghai_today():
    assert lifecycle.as_of("2026-11-22") == dt.date(2026, 11, 22)
    # 2026-11-21 17:00 UTC is already the 22nd in Shanghai
    now = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)
    assert lifecycle.as_of("", now=now) == dt.date(2026, 11, 22)
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
    assert lifecycle.not_public_reason(item(**fields), dt.date(2026, 11, 22)) == reason


def test_published_later_the_same_day_is_public_that_day():
    assert lifecycle.is_public(item(published=dt.datetime(2026, 11, 22, 23, 59)), dt.date(2026, 11, 22))
