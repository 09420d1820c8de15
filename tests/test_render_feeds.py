"""The unit's Atom feed written by feeds.lean_atom_feed: feedgenerator's bytes."""
from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from feedgenerator import Atom1Feed
from feedgenerator.django.utils.xmlutils import UnserializableContentError

from gongkai import feeds

PIECES = ["示例", "政务公开", "&", "<", ">", '"', "'", "a b", "https://example.gov.cn/u1/art/a%20b.html", "\t", "\n", " "]


def _text(rng: random.Random, empty: bool = True) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0 if empty else 1, 6)))


def _feeds(rng: random.Random):
    kwargs = dict(title=_text(rng, False), link="https://example.gov.cn/u1/", description=_text(rng),
                  feed_url=rng.choice([None, "https://example.gov.cn/u1/feed.xml"]), subtitle=rng.choice([None, _text(rng)]),
                  language=rng.choice([None, "zh-CN"]), author_name=rng.choice([None, _text(rng)]),
                  categories=[_text(rng) for _ in range(rng.randint(0, 2))])
    made = [cls(**kwargs) for cls in (Atom1Feed, feeds.lean_atom_feed())]
    for n in range(rng.randint(1, 6)):   # (an empty feed is dated now: feeds.py pins it)
        day = dt.datetime(2026, 1, 1 + n, 9, n, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        item = dict(title=_text(rng, False), link=f"https://example.gov.cn/u1/art/{n}.html", description=rng.choice([None, "", _text(rng)]),
                    content=rng.choice([None, "", _text(rng)]), unique_id=rng.choice([None, f"tag:x,{n}"]),
                    categories=rng.choice([None, [_text(rng, False)]]), author_name=rng.choice(["", _text(rng)]),
                    pubdate=day, updateddate=rng.choice([None, day + dt.timedelta(days=1)]))
        for feed in made:
            feed.add_item(**item)
    return made


def _written(feed) -> str:
    out = io.StringIO()
    feed.write(out, "utf-8")
    return out.getvalue()


def test_lean_atom_feed_writes_feedgenerators_bytes():
    rng = random.Random(19)
    for _ in range(400):
        plain, lean = _feeds(rng)
        assert _written(lean) == _written(plain)


def test_lean_atom_feed_refuses_control_characters_as_feedgenerator_does():
    for feed in (Atom1Feed(title="t", link="https://x/", description=""), feeds.lean_atom_feed()(
            title="t", link="https://x/", description="")):
        feed.add_item(title="a\x01b", link="https://x/a.html", description="", pubdate=dt.datetime(2026, 1, 1))
        with pytest.raises(UnserializableContentError):
            _written(feed)


def test_unit_feeds_write_each_element_in_one_piece():
    """The unit writer's Atom feed is the lean one: an entry's title and summary reach the
    file as one write each (feedgenerator's handler wrote each in four calls), and the
    feed is what feedgenerator's Atom1Feed writes for the same fields."""
    from gongkai.feeds import summary_feed_writer

    writer = summary_feed_writer()("/tmp", settings={"SITEURL": "https://x", "FEED_DOMAIN": "https://x",
                                                     "RELATIVE_URLS": False, "TIMEZONE": "Asia/Shanghai"})
    writer.site_url, writer.feed_url = "https://x", "https://x/feed.xml"
    feed = writer._create_new_feed("atom", "", {"SITENAME": "示例县"})
    plain = Atom1Feed(title="示例县", link="https://x/", feed_url="https://x/feed.xml", description="", subtitle=None)
    for made in (feed, plain):
        made.add_item(title="标题", link="https://x/a.html", description="概述", pubdate=dt.datetime(2026, 1, 1))
    writes = []

    class Out(io.StringIO):
        def write(self, text):
            writes.append(text)
            return super().write(text)

    feed.write(Out(), "utf-8")
    assert "<title>标题</title>" in writes and '<summary type="html">概述</summary>' in writes
    assert "".join(writes) == _written(plain)
