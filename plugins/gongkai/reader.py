"""Pelican readers for disclosure items: Markdown with YAML front matter, and YAML.

The read → validate stage inside Pelican: each file goes through the same
``schema.read_item`` as ``make check``; the validated Item rides on the Pelican
article as ``article.gk`` and the Markdown body is rendered and sanitized here.
"""
from __future__ import annotations

import datetime
import logging
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import escape
from pelican import signals
from pelican.readers import BaseReader

from . import catalogs as catalogs_mod
from . import gongwen, images, items, paths
from .columns import PageDate
from .errors import ContentError, Problem
from .items import Item
from .render import READ_BODY, Renderer, RenderTimeout, share_environment
from .schema import read_item
from .spool import Spool
from .units import Unit

logger = logging.getLogger(__name__)

# The spool of this build's pre-pass (spool.py; set by build.py only around the pool of
# forked workers): each worker loads the items of the unit it builds from it, instead
# of parsing and validating every file a second time.
SPOOL: list[Spool] = []


class _ItemReader(BaseReader):
    enabled = True
    # Pelican registers every BaseReader subclass by its extensions; the base class
    # would otherwise inherit ["static"] and read linked files as static content.
    file_extensions: list[str] = []

    def __init__(self, settings):
        super().__init__(settings)
        self._catalogs = None
        self._unit = None
        # Pelican makes a reader of every kind for every generator; only the articles
        # generator reads items, so the Markdown instance is made on the first read.
        self._renderer: Renderer | None = None
        self._known: dict[str, Item] = {}   # this unit's items from the pre-pass, by absolute path

    def read(self, source_path):
        # Pelican logs a failed read as "Could not process <file>" without the cause;
        # say the cause first so the editor sees it.
        try:
            return self._read(source_path)
        except ContentError as exc:
            for problem in exc.problems:
                logger.error("%s", problem)
            raise
        except Exception:
            logger.exception("unexpected failure reading %s", source_path)
            raise

    def _read(self, source_path):
        # The pre-pass's items are known by the text of their path (str(Path)); Pelican names
        # a file the same way (a normalised path is its own str(Path)), so the text is looked
        # up first and a Path made only for a file named otherwise or read again (~4 µs).
        if self._catalogs is None:
            self._catalogs = catalogs_mod.load(self.settings["GK_CATALOGS"])
            self._unit = Unit.from_settings(self.settings["GK_UNIT"])
            self._renderer = Renderer()
            if SPOOL:
                # By the path as the scan named it: the unit folder is resolved (units.py) and the scan
                # never enters a link, so Pelican names each file the same way; the same string is the
                # same file, and a file named otherwise is read again (resolving each path cost ~40 µs).
                self._known = {str(i.path): i for i in SPOOL[0].load(self._unit.id) or ()}
        item = self._known.pop(source_path, None) if type(source_path) is str else None
        if item is None:
            path = Path(source_path)
            item = self._known.pop(str(path), None)
        spooled = item is not None
        if item is None:
            if not paths.is_regular(path):
                # Pelican lists FIFOs and sockets named *.md too; the scan warned about them
                # and opening one would block this worker forever. (An item from the pre-pass
                # was a regular file it read; its file is not opened again here.)
                return "", {"status": "skip"}
            item, problems = read_item(path, self._unit, self._catalogs)
            if item is None:
                raise ContentError(problems)
        else:
            item = items.copy(item)  # rendered fields are set below; keep the pre-pass copy as read
        try:
            content = self._renderer(item.body) if item.body.strip() else ""
            content = images.rewrite(content, item.images)
            item.qa = [replace(pair, a_html=images.rewrite(self._renderer(pair.a), item.images)) for pair in item.qa]
        except images.UncheckedImage as exc:
            raise ContentError([Problem(item.source, item.body_line, "body", str(exc), "正文", rule="item.image")]) from None
        except RenderTimeout as exc:
            raise ContentError([Problem(item.source, item.body_line, "body",
                                        f"正文无法在 {exc} 秒内排版，请检查是否有大量未闭合的 ![ 、[ 或 < 等标记 "
                                        f"(the body could not be rendered within {exc} s)", "正文",
                                        rule="item.render")]) from None
        if item.type in ("document", "notice") and content:
            content = gongwen.layout(content)
        content = gongwen.frame_tables(content)
        if not item.summary:
            item.summary = gongwen.summary(content)
        metadata = {
            "title": item.title,
            "date": page_date(item.published, self.settings),
            "slug": item.slug,
            "url": item.url,
            "save_as": item.save_as,
            "summary": str(escape(item.summary)),
            "status": "published",
            "template": "article",
            "gk": item,
        }
        if spooled:
            # The body as read: a function of the files the pre-pass read the item from, at
            # the signatures the unit's tree holds, and of the code. A page whose body is still
            # this very object is keyed by those (incremental/pages.py), not by its bytes.
            metadata[READ_BODY] = content
        return content, metadata


def page_date(published, settings: dict):
    """``published`` as Pelican's Content makes an article's date of it (``set_date_tzinfo``:
    a naive datetime put in the TIMEZONE setting, as a SafeDatetime), as a columns.PageDate,
    whose strftime of a plain format skips Pelican's regex strftime (Content formats every
    item's ``locale_date`` with it). Pelican then keeps the date as it is (it is aware); any
    other value (aware, a date, no time zone set) is handed over unchanged."""
    zone = settings.get("TIMEZONE", "UTC")
    if type(published) is not datetime.datetime or published.tzinfo is not None or not zone:
        return published
    return PageDate(published.year, published.month, published.day, published.hour, published.minute,
                    published.second, published.microsecond, ZoneInfo(zone))


class MarkdownItemReader(_ItemReader):
    file_extensions = ["md"]


class YamlItemReader(_ItemReader):
    file_extensions = ["yaml"]


def _add_readers(readers):
    # Replace Pelican's own Markdown reader: our files carry YAML front matter.
    for ext in ("md", "markdown", "mkd", "mdown", "htm", "html", "rst"):
        readers.reader_classes.pop(ext, None)
    readers.reader_classes["md"] = MarkdownItemReader
    readers.reader_classes["yaml"] = YamlItemReader


def _share_templates(generator):
    # Every generator of every unit in this process loads each template once.
    share_environment(generator)
    # Pelican walks the unit's folder once more for each generator, before reading, to warn
    # about files a disabled reader would have read; with none disabled (ours replace them)
    # that walk can find nothing (~5 ms a unit).
    if hasattr(generator, "check_disabled_readers") and not generator.readers.disabled_extensions:
        generator.check_disabled_readers = _nothing


def _nothing() -> None:
    pass


def _forget_rendered(pelican):
    # Pelican's @memoized get_content/get_summary live on the class: they kept every
    # article of every unit this worker built (each holding the settings, which hold
    # the whole registry) until the worker ended. A unit's pages are written by now.
    from pelican.contents import Content

    from .render import forget_run
    Content.get_content.cache.clear()
    Content.get_summary.cache.clear()
    forget_run()


def register():
    signals.readers_init.connect(_add_readers)
    signals.generator_init.connect(_share_templates)
    signals.finalized.connect(_forget_rendered)
