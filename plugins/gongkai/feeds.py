"""Feeds carry no wall-clock time: a unit's Atom ``<updated>`` comes from content.

feedgenerator falls back to ``datetime.now()`` for a feed with no entries (a unit
with nothing public yet), so two builds of the same input differed. With entries it
is the newest entry's date; without, it is the build's as-of date (00:00 in the
site's time zone), which is what "as of" means to a reader.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pelican import signals


def as_of_time(settings: dict) -> dt.datetime:
    """Midnight of the as-of date in the site's time zone."""
    day = dt.date.fromisoformat(settings["GK_AS_OF"])
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.get("TIMEZONE") or "Asia/Shanghai"))


def _pin_updated(context, feed) -> None:
    if feed.items or "GK_AS_OF" not in context:
        return
    when = as_of_time(context)
    feed.latest_post_date = lambda: when


def register():
    signals.feed_generated.connect(_pin_updated)
