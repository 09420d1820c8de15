"""Render the column tree of a unit: home, group pages, paginated leaf listings,
the 公开指南 page, and the attachments of public items.

The tree comes from catalogs/columns.yaml pruned to the unit's level; templates
receive it through the ``GK`` context object and never hard-code a column.
"""
from __future__ import annotations

import datetime
import functools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup, escape, soft_str
from pelican import signals
from pelican.generators import Generator
from pelican.utils import SafeDatetime

from . import catalogs as catalogs_mod
from . import images
from .catalogs import Column
from .facts import reverse_refs  # noqa: F401 - its old home; the build's process imports it from facts
from .items import as_list

HOME = "zfxxgk"
SITEMAP_PAGE = "wzdt.html"   # 网站地图 (pinyin initials, as government sites name it)


def column_save_as(column_id: str) -> str:
    return "index.html" if column_id == HOME else f"{column_id}/index.html"


def listing_order(article) -> tuple:
    """Newest first; ties broken by 索引号 then path so the order never depends on the disk."""
    item = article.gk
    return (-item.published.timestamp(), item.index_no or "", item.slug)


def retired_order(article) -> tuple:
    """废止和失效文件: most recently retired first, undated ones after, then by listing order."""
    since = article.lifecycle.since
    return (since is None, -(since.toordinal() if since else 0), *listing_order(article))


class Fields(dict):
    """A mapping the templates read as ``x.key`` (the unit, the item labels). Jinja tries
    ``getattr`` before ``[]``, and on a plain dict the failed ``getattr`` costs ~0.5 µs:
    ~14 lookups an item page. Each key that is an identifier and not the name of one of
    dict's own attributes is also an instance attribute, so ``getattr`` finds it at once;
    any other name falls through to the mapping as before (``x.items`` is still the
    method, as on a dict). Read-only: the attributes are a copy of the items."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shadowed = _DICT_NAMES
        self.__dict__.update((k, v) for k, v in self.items()
                             if isinstance(k, str) and k.isidentifier() and k not in shadowed)

    def _read_only(self, *args, **kwargs):
        raise TypeError("Fields is read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self):
        return (type(self), (dict(self),))


_DICT_NAMES = frozenset(dir(Fields)) | {"__dict__"}

# The strftime directives Pelican's SafeDatetime.strftime formats, each alone, with
# datetime's own strftime (pelican/utils.py): a format whose every directive is one of
# these, without the "%-" zero stripping, comes out the same from datetime's strftime.
_C89 = "aAbBcdfGHIjmMpSUuVwWxXyYzZ%"
_DIRECTIVE = re.compile("%[-]?.")


@functools.lru_cache(maxsize=64)
def _plain_format(fmt: str) -> bool:
    # (a "%" left over, at the very end, makes Pelican's strftime raise: not plain)
    return "%" not in _DIRECTIVE.sub("", fmt) and all(len(d) == 2 and d[1] in _C89 for d in _DIRECTIVE.findall(fmt))


def strftime(value, fmt: str) -> str:
    """``value.strftime(fmt)``. Pelican's dates (SafeDatetime) run a regex over the format
    and format its directives one by one (~5 µs); item pages and listings format two to
    four dates each. For a plain format (``_plain_format``) datetime's strftime gives the
    same string at once (~1.5 µs; the two formats the theme uses are put together from the
    fields, ``_direct``); any other format, and any other value, is formatted as before."""
    direct = _direct(value, fmt)
    if direct is not None:
        return direct
    if isinstance(value, SafeDatetime) and _plain_format(fmt):
        return datetime.datetime.strftime(value, fmt)
    return value.strftime(fmt)


class PageDate(SafeDatetime):
    """Pelican's SafeDatetime, whose strftime of a plain format (``_plain_format``) is
    datetime's own, the same string (see ``strftime``). Pelican's Content formats every
    item's date with its regex strftime (``locale_date``, ~10 µs an item): the reader hands
    it the date already made as Pelican would make it, of this type (reader.page_date)."""

    __slots__ = ()

    def strftime(self, fmt, safe=True):
        if safe and isinstance(fmt, str) and _plain_format(fmt):
            return datetime.datetime.strftime(self, fmt)
        return super().strftime(fmt, safe)


# The types whose strftime of the formats below is the C library's (SafeDatetime's too, for
# these plain formats): a subclass may format otherwise and is left to its own strftime.
_DATETIMES = (datetime.datetime, SafeDatetime)


def _direct(value, fmt: str) -> str | None:
    """``value.strftime(fmt)`` for "%Y-%m-%d" (any date) and "%Y-%m-%d %H:%M" (a datetime),
    from the fields, or None. Years before 1000 are left to strftime: the C library does not
    pad %Y on every system."""
    kind = type(value)
    if fmt == "%Y-%m-%d":
        if (kind is datetime.date or kind in _DATETIMES) and value.year >= 1000:
            return "%04d-%02d-%02d" % (value.year, value.month, value.day)
    elif fmt == "%Y-%m-%d %H:%M":
        if kind in _DATETIMES and value.year >= 1000:
            return "%04d-%02d-%02d %02d:%02d" % (value.year, value.month, value.day, value.hour, value.minute)
    return None


def _escaped(text: str) -> bool:
    """Whether markupsafe's escape would change ``text`` (it replaces & < > ' ")."""
    return _TO_ESCAPE.search(text) is not None


_TO_ESCAPE = re.compile("[&<>'\"]")


def token(value, empty: str = "—") -> Markup:
    """A token that must never break inside; a 索引号 may break after its "/" (the theme's
    ``token`` filter, and GK.token)."""
    if not value:
        return escape(empty)
    if type(value) is str and not _escaped(value):
        # (nothing to escape: each "/" closes one span and opens the next, as the join below)
        return Markup('<span class="tok">' + value.replace("/", '/</span><wbr><span class="tok">') + "</span>")
    parts = [str(escape(part)) for part in soft_str(value).split("/")]
    return Markup('<span class="tok">' + '/</span><wbr><span class="tok">'.join(parts) + "</span>")


def date_tag(value, empty: str = "—") -> Markup:
    """A date as <time> that does not break (the theme's ``date`` filter, and GK.date)."""
    if not value:
        return escape(empty)
    d = _direct(value, "%Y-%m-%d")   # digits and "-": nothing to escape
    d = str(escape(strftime(value, "%Y-%m-%d"))) if d is None else d
    return Markup('<time class="tok" datetime="' + d + '">' + d + "</time>")


def ymd(value) -> str:
    """``value.strftime("%Y-%m-%d")``, '' for no value (the theme's ``ymd`` filter and macro)."""
    return strftime(value, "%Y-%m-%d") if value else ""


# Filters every environment that renders the theme has (render.share_environment): the
# row and metadata-table formatters, called as filters because a filter is called directly
# where a call in a template (``GK.token(x)``) goes through Jinja's Context.call, ~1 µs a
# call; a listing row and an item's metadata table make three to six of them.
THEME_FILTERS = {"token": token, "date": date_tag, "ymd": ymd}


@dataclass
class GK:
    """Everything our templates need about the unit, its tree and the catalogs."""

    unit: dict
    units: dict[str, dict]
    tree: Column
    columns: dict[str, Column]
    lists: dict[str, list]
    labels: dict[str, str]
    level_names: dict[str, str]
    vocab: dict[str, Any]
    as_of: str
    registry: dict[str, dict] = field(default_factory=dict)
    reverse: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    # The side navigation rendered once per (page SITEURL, tree node): see nav_tree.
    _trees: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    # Blocks of base.html rendered once per key: see once.
    _blocks: dict[tuple, Markup] = field(default_factory=dict, repr=False, compare=False)
    # macros.html as imported with a page's context, once per SITEURL: see macros.
    _macros: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # ColumnType by column id (every item page asks): see column_type.
    _types: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        # Templates read these as ``GK.unit.name``, ``L.index_no`` on every page: see Fields.
        if type(self.unit) is dict:
            self.unit = Fields(self.unit)
        if type(self.labels) is dict:
            self.labels = Fields(self.labels)

    @pass_context
    def macros(self, context):
        """macros.html imported with context (what ``{% import … with context %}`` does),
        built once per SITEURL instead of once per page: its macros read only the unit
        (GK), SITEURL and the build's settings from the context, never a page's own
        variables (those are their arguments)."""
        key = str(context.get("SITEURL"))
        module = self._macros.get(key)
        if module is None:
            module = self._macros[key] = context.environment.get_template("macros.html").make_module(
                context.get_all(), True)
        return module

    def once(self, key: tuple, render, *args) -> Markup:
        """``render(*args)`` (macros.html's head_end, header or footer) rendered the first time ``key`` is
        asked for, and that HTML every later time. The key holds everything the block
        reads that differs between the unit's pages: its SITEURL (folder depth), and
        the macro's arguments."""
        html = self._blocks.get(key)
        if html is None:
            html = self._blocks[key] = Markup(str(render(*args)))
        return html

    def nav_tree(self, siteurl: str, node: Column, render, current: str) -> Markup:
        """The column tree of the side navigation, the link to column ``current`` (an id, or
        '' for none) marked ``aria-current``. ``render(node)`` (the tree_full macro) depends
        only on the unit, its lists and the page's SITEURL (its folder depth), so it runs
        once per depth, not once per page; every column has its own href, so the first
        match is the column."""
        key = (str(siteurl), node.id)
        html = self._trees.get(key)
        if html is None:
            html = self._trees[key] = str(render(node))
        if current:
            href = self.col_href(siteurl, current)
            html = html.replace(f'<a href="{href}">', f'<a href="{href}" aria-current="page">', 1)
        return Markup(html)

    def col_href(self, siteurl: str, column_id: str) -> str:
        """The col_href macro of macros.html (``{{ SITEURL }}/{{ GK.column_url(id) }}``) in
        Python, for nav_tree: base.html calls it on every page, two macro calls fewer."""
        return f"{escape(siteurl)}/{escape(self.column_url(column_id))}"

    # token and date: the macros of macros.html with those names, as Python (same bytes);
    # the theme calls them as the filters of the same names (THEME_FILTERS).
    token = staticmethod(token)
    date = staticmethod(date_tag)

    @staticmethod
    def strftime(value, fmt: str) -> str:
        """``value.strftime(fmt)`` as the templates called it (see the module's ``strftime``)."""
        return strftime(value, fmt)

    def ref(self, index_no: str | None) -> dict | None:
        """Registry entry of a public item (any unit), or None: unpublished items are never linked."""
        return self.registry.get(index_no or "")

    def referring(self, index_no: str | None, key: str) -> list[dict]:
        """Public items whose ``key`` (repealed_by, replaced_by, interprets) names ``index_no``."""
        return self.reverse.get((key, index_no), []) if index_no else []

    def related(self, index_no: str | None) -> dict[str, list[dict]]:
        """``referring(index_no, key)`` for each of interprets, repealed_by and replaced_by, in
        one call (an item page asks for all three)."""
        return {key: self.referring(index_no, key) for key in ("interprets", "repealed_by", "replaced_by")}

    def qa_groups(self, articles: list) -> list[dict]:
        """政策问答: the questions of these interpretations, grouped by the policy they explain."""
        groups: dict[str, dict] = {}
        for article in articles:
            for target in article.gk.interprets:
                group = groups.setdefault(target, {"index_no": target, "policy": self.ref(target), "entries": []})
                group["entries"].append(article)
        def order(group):
            policy = group["policy"] or {}
            return (policy.get("published", ""), group["index_no"])
        return sorted((g for g in groups.values() if g["policy"]), key=order, reverse=True)

    @functools.cached_property
    def retired_column(self) -> Column | None:
        return next((c for c in self.columns.values() if c.generated == "retired"), None)

    def column_url(self, column_id: str) -> str:
        return column_save_as(column_id)

    def path_to(self, column_id: str) -> list[Column]:
        out, col = [], self.columns.get(column_id)
        while col is not None:
            out.append(col)
            col = self.columns.get(col.parent) if col.parent else None
        return list(reversed(out))

    def column_type(self, column_id: str) -> str:
        """ColumnType meta value: the nearest column up the tree that declares one."""
        kind = self._types.get(column_id)
        if kind is None:
            kind = self._types[column_id] = next(
                (col.column_type for col in reversed(self.path_to(column_id)) if col.column_type), "")
        return kind

    def _filed(self, column: Column):
        """Leaf lists under ``column`` that hold items once (政策问答 repeats interpretations)."""
        for col in column.walk():
            if col.is_leaf and col.generated != "qa":
                yield self.lists.get(col.id, [])

    def latest(self, column: Column, n: int = 5) -> list:
        """Newest items of a column and its sub-columns (for home and group pages).

        A withdrawn 公示 keeps its URL but is no longer news: it is not listed here."""
        return sorted((a for items in self._filed(column) for a in items if not a.lifecycle.withdrawn),
                      key=listing_order)[:n]

    def count(self, column: Column) -> int:
        return sum(len(items) for items in self._filed(column))

    def listed(self, column: Column) -> int:
        """What a leaf's own page lists (政策问答 and 废止和失效文件 included), for the tree counts."""
        return len(self.lists.get(column.id, [])) if column.is_leaf else self.count(column)

    def ancestors(self) -> list[dict]:
        out, parent = [], self.unit.get("parent")
        while parent and parent in self.units and len(out) < 10:
            out.append(self.units[parent])
            parent = self.units[parent].get("parent")
        return list(reversed(out))


# GK's methods the templates call (``{{ GK.once(…) }}``). Jinja's Context.call asks what it
# calls for ``jinja_pass_arg`` (what pass_context and its kin set) to learn whether to pass
# the context; on a method without one both lookups fail (~0.4 µs a call, ~15 calls an
# item page). None says what Jinja concluded from the failure: pass nothing.
TEMPLATE_METHODS = ("once", "nav_tree", "ref", "referring", "related", "column_type", "column_url", "path_to", "latest",
                    "count", "listed", "ancestors", "qa_groups", "strftime", "token", "date", "col_href")
for _name in TEMPLATE_METHODS:
    getattr(GK, _name).jinja_pass_arg = None


class ColumnsGenerator(Generator):
    """Adds ``GK`` to the context and writes every column page of the unit."""

    def generate_context(self):
        cats = catalogs_mod.load(self.settings["GK_CATALOGS"])
        registry = self.settings.get("GK_REGISTRY", {})
        unit = self.settings["GK_UNIT"]
        tree = cats.tree_for(unit["level"])
        columns = {c.id: c for c in tree.walk()}
        lists: dict[str, list] = {c.id: [] for c in columns.values() if c.is_leaf}
        retired_id = next((c.id for c in columns.values() if c.generated == "retired"), None)
        qa_id = next((c.id for c in columns.values() if c.generated == "qa"), None)
        for article in self.context.get("articles", []):
            if qa_id and article.gk.qa and article.gk.type == "interpretation":
                lists.setdefault(qa_id, []).append(article)
            # Retired documents leave their column for 废止和失效文件; their URL stays.
            target = retired_id if article.lifecycle.retired and retired_id else article.gk.column
            lists.setdefault(target, []).append(article)
        for cid, items in lists.items():
            items.sort(key=retired_order if cid == retired_id else listing_order)
            if cid == qa_id:
                continue  # an interpretation's neighbours are those of its own column
            # 上一篇/下一篇: the neighbours in the listing the item is filed in, fixed at build time.
            for i, article in enumerate(items):
                article.gk_prev = items[i - 1] if i > 0 else None
                article.gk_next = items[i + 1] if i + 1 < len(items) else None
        self.gk = GK(unit=unit, units=self.settings["GK_UNITS"], tree=tree, columns=columns, lists=lists,
                     labels=cats.item_labels, level_names=cats.level_names, vocab=cats.vocab,
                     as_of=self.settings["GK_AS_OF"], registry=registry,
                     reverse=self.settings["GK_REVERSE"] if "GK_REVERSE" in self.settings else reverse_refs(registry))
        self.context["GK"] = self.gk
        # Pelican copies files named by {static}/{attach} links whatever STATIC_PATHS says;
        # our files reach the output only through attachments and images of public items.
        self.context["static_links"] = set()

    def generate_output(self, writer):
        relative = self.settings["RELATIVE_URLS"]
        for col in self.gk.tree.walk():
            if col.id == HOME:
                continue  # the unit home is Pelican's 'index' direct template
            save_as = column_save_as(col.id)
            common = dict(column=col, page_name=save_as[: -len(".html")], url=save_as)
            if col.generated in ("guide", "qa"):
                writer.write_file(save_as, self.get_template(col.generated), self.context, relative,
                                  template_name=col.generated, articles=self.gk.lists.get(col.id, []), **common)
            elif col.is_leaf:
                writer.write_file(save_as, self.get_template("column"), self.context, relative,
                                  paginated={"articles": self.gk.lists.get(col.id, [])},
                                  template_name="column", **common)
            else:
                writer.write_file(save_as, self.get_template("group"), self.context, relative,
                                  template_name="group", **common)
        # 网站地图: the column tree as a page (the footer links it; sitemap.xml is for crawlers).
        writer.write_file(SITEMAP_PAGE, self.get_template("wzdt"), self.context, relative,
                          template_name="wzdt", page_name="wzdt", url=SITEMAP_PAGE)
        self._copy_attachments()

    def _copy_attachments(self):
        """Files of public items only. Images are re-encoded, never copied: no EXIF leaves."""
        out = Path(self.output_path)
        done: set[Path] = set()
        for items in self.gk.lists.values():
            for article in items:
                if not (article.gk.attachments or article.gk.images):
                    continue   # (most items: no folder path to work out)
                folder = out / Path(article.gk.save_as).parent
                for att in article.gk.attachments:
                    dest = folder / att.name
                    if dest in done:
                        continue
                    done.add(dest)
                    if att.ext in images.IMAGE_EXTS:
                        images.strip_copy(att.source, dest)
                    else:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(att.source, dest)
                for img in article.gk.images:
                    if (folder, img.src) not in done:
                        done.add((folder, img.src))
                        img.write(folder)


def _generators(pelican):
    return ColumnsGenerator


def register():
    signals.get_generators.connect(_generators)
