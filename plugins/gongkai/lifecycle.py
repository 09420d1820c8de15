"""Lifecycle: what each item is on the build's as-of date (DESIGN §6).

``as_of`` and ``is_public`` are pure functions; ``register`` hooks them into Pelican
so that an item that is not public is skipped before anything renders it.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
from zoneinfo import ZoneInfo

from pelican import signals

from .items import Item

logger = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


class BuildDateError(ValueError):
    pass


def as_of(value: str | None = None, now: dt.datetime | None = None) -> dt.date:
    """The as-of date: ``value`` (BUILD_DATE, YYYY-MM-DD) or today in Asia/Shanghai."""
    value = (value if value is not None else os.environ.get("BUILD_DATE", "")).strip()
    if value:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise BuildDateError(f"BUILD_DATE: expected a date YYYY-MM-DD, got {value!r}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise BuildDateError(f"BUILD_DATE: expected a date YYYY-MM-DD, got {value!r}") from None
    return (now or dt.datetime.now(TZ)).astimezone(TZ).date()


def not_public_reason(item: Item, day: dt.date) -> str | None:
    """Why the item must not appear anywhere in the output on ``day``, or None."""
    if item.draft:
        return "draft"
    if item.disclosure != "主动公开":
        return f"disclosure {item.disclosure}"
    if item.published_date > day:
        return f"embargoed until {item.published_date.isoformat()}"
    return None


def is_public(item: Item, day: dt.date) -> bool:
    return not_public_reason(item, day) is None


def _skip_not_public(generator, metadata):
    item = metadata.get("gk")
    if item is None:
        return
    day = dt.date.fromisoformat(generator.settings["GK_AS_OF"])
    reason = not_public_reason(item, day)
    if reason:
        # Pelican drops 'skip' content before any generator, feed or template sees it.
        metadata["status"] = "skip"
        logger.debug("not built (%s): %s", reason, item.source)


def register():
    signals.article_generator_context.connect(_skip_not_public)
