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
        def _create_new_feed(self, feed_type, feed_title, context):
            # Pelican's Writer._create_new_feed (writers.py, 4.12), an Atom feed made as
            # lean_atom_feed's class (its XML written in fewer, larger pieces).
            if feed_type == "rss":
                feed = super()._create_new_feed(feed_type, feed_title, context)
            else:
                from markupsafe import Markup
                feed_title = context["SITENAME"] + " - " + feed_title if feed_title else context["SITENAME"]
                feed = lean_atom_feed()(title=Markup(feed_title).striptags(), link=(self.site_url + "/"),
                                        feed_url=self.feed_url, description=context.get("SITESUBTITLE", ""),
                                        subtitle=context.get("SITESUBTITLE", None))
            add_item = feed.add_item

            def summary_only(**fields):
                # Pelican leaves the summary out when it equals the content; keep one of them.
                if fields.get("description"):
                    fields["content"] = None
                return add_item(**fields)
            feed.add_item = summary_only
            return feed
    return SummaryFeedWriter


@functools.cache
def lean_atom_feed() -> type:
    """feedgenerator's Atom1Feed, written by ``LeanXMLGenerator``: the same bytes. Its
    SimplerXMLGenerator writes each element of an entry in four to six calls (start tag,
    each attribute, text, end tag), ~2,400 calls for a unit's 50 entries (~7 ms)."""
    import re
    from xml.sax.saxutils import escape, quoteattr

    from feedgenerator import Atom1Feed
    from feedgenerator.django.utils.xmlutils import SimplerXMLGenerator, UnserializableContentError

    control = re.compile(r"[\x00-\x08\x0B-\x0C\x0E-\x1F]")   # (SimplerXMLGenerator.characters' test)

    class LeanXMLGenerator(SimplerXMLGenerator):
        def addQuickElement(self, name, contents=None, attrs=None):
            # What startElement (attributes sorted), characters (refusing control characters,
            # writing nothing for ""), endElement (short "/>" when empty) write, in one write.
            if contents is not None and type(contents) is not str:
                return super().addQuickElement(name, contents, attrs)
            self._finish_pending_start_element()
            text = "<" + name
            if attrs:
                for key, value in sorted(attrs.items()):
                    text += " %s=%s" % (key, quoteattr(value))
            if contents:
                if control.search(contents):
                    raise UnserializableContentError("Control characters are not supported in XML 1.0")
                text += ">" + escape(contents) + "</%s>" % name
            else:
                text += "/>"
            self._write(text)

    class LeanAtom1Feed(Atom1Feed):
        def write(self, outfile, encoding):
            # Atom1Feed.write (feedgenerator 2.x) with the lean handler
            handler = LeanXMLGenerator(outfile, encoding, short_empty_elements=True)
            handler.startDocument()
            handler.startElement("feed", self.root_attributes())
            self.add_root_elements(handler)
            self.write_items(handler)
            handler.endElement("feed")

    return LeanAtom1Feed


def _writer(pelican):
    return summary_feed_writer()


def register():
    from pelican import signals

    signals.feed_generated.connect(_pin_updated)
    signals.get_writer.connect(_writer)
