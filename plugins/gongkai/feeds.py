"""Atom feeds: dated from content and the as-of date, never the clock, and carrying
each item's 内容概述 (summary) and link rather than its full body.

feedgenerator falls back to ``datetime.now()`` for a feed with no entries (a unit
with nothing public yet), so two builds of the same input differed. With entries it
is the newest entry's date; without, it is the build's as-of date (00:00 in the
site's time zone), which is what "as of" means to a reader.

Readers follow the link to the page, which shows the metadata table and the state;
the full bodies doubled the feed's size (about an eighth of a unit's bytes) for no
reader. Pelican's own switch (``RSS_FEED_SUMMARY_ONLY``) covers RSS only, so the
feed object drops the content that Pelican's writer hands it.
"""
from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo


def as_of_time(settings: dict) -> dt.datetime:
    """Midnight of the as-of date in the site's time zone."""
    day = dt.date.fromisoformat(settings["GK_AS_OF"])
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.get("TIMEZONE") or "Asia/Shanghai"))


def _pin_updated(context, feed) -> None:
    if feed.items or "GK_AS_OF" not in context:
        return
    when = as_of_time(context)
    feed.latest_post_date = lambda: when


@functools.cache
def summary_feed_writer() -> type:
    """The unit's Pelican Writer (articles.UnitWriter), whose feeds carry the summary: made
    on first use, so that the build's process, which imports this module
    (incremental/units.py), never imports Pelican."""
    from .articles import UnitWriter

    class SummaryFeedWriter(UnitWriter):
        def _create_new_feed(self, *args, **kwargs):
            feed = super()._create_new_feed(*args, **kwargs)
            add_item = feed.add_item

            def summary_only(**fields):
                # Pelican leaves the summary out when it equals the content; keep one of them.
                if fields.get("description"):
                    fields["content"] = None
                return add_item(**fields)
            feed.add_item = summary_only
            return feed
    return SummaryFeedWriter


def _writer(pelican):
    return summary_feed_writer()


def register():
    from pelican import signals

    signals.feed_generated.connect(_pin_updated)
    signals.get_writer.connect(_writer)
