"""Atom feeds carry each item's 内容概述 (summary) and link, not its full body.

Readers follow the link to the page, which shows the metadata table and the state;
the full bodies doubled the feed's size (about an eighth of a unit's bytes) for
no reader. Pelican's own switch (``RSS_FEED_SUMMARY_ONLY``) covers RSS only, so the
feed object drops the content that Pelican's writer hands it.
"""
from __future__ import annotations

from pelican import signals
from pelican.writers import Writer


class SummaryFeedWriter(Writer):
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


def _writer(pelican):
    return SummaryFeedWriter


def register():
    signals.get_writer.connect(_writer)
