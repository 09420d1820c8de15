"""Per-page reuse inside a unit that is rebuilt (issue 15: "editing one item re-renders
that item, the listings and pages that show it").

A unit whose key changed (units.py) runs Pelican again, but most of its item pages
usually show exactly what they showed last time: one item's body was edited, or a few
items changed state on a new as-of date. Each item page gets a key made of everything
the page shows (``page_key``); when it equals the key the previous build recorded for
that page, the page's bytes are copied from the previous ``output/<unit>/`` instead of
rendered. Listings, home, feed, sitemap, search shards and every other page of the
unit are rendered as before.

Safety:
- The previous keys are trusted only when the units record (``units.json``, written
  after the swap, dropped before it) names them: then ``output/<unit>/`` is the folder
  they describe (units.py, ``Reuse.page_job``). The record file's sha256 is checked.
- Copied, not linked or moved: the previous output is only read, so a build that stops
  anywhere leaves it whole, and nothing later can write through a shared inode.
- When in doubt a page is rendered: a page of another template than ``article`` (年报),
  a file it depends on that the parent did not sign, a previous page that is not a
  regular file below real folders.

The worker reports how many item pages it rendered and copied (the build's
``incremental:`` line).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import weakref
from pathlib import Path

from ..facts import REF_KEYS
from ..items import as_list
from ..lifecycle import State
from ..paths import read_regular
from ..render import PELICAN_LINK, READ_BODY
from .store import _write_atomic, digest, plain_digest
from .validate import _deps

SETTING = "GK_PAGE_REUSE"   # set per unit job by the parent (units.Reuse.page_job)
# 年报 pages (template "annual") show a view built from the report and the roll-up
# (annual/plugin.py): rendered every time, a page or two a unit.
REUSABLE_TEMPLATES = ("article",)
SHOWN = 10   # rendered pages named in the build's line, at most
PAGES_KEY = 5   # bump when what a page key holds, or how it is made, changes
MAX_OLD_PAGE = 64 * 1024 * 1024   # a previous page read to be copied or patched; larger: rendered again


def record_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def load_record(path: str | None, want: str | None) -> dict:
    """The previous build's record of the unit's pages ({"pages": {save_as: [core, shape,
    tree]}, "trees": {tree: html}}), or {} when absent, damaged, or not the file the units
    record names (digest ``want``)."""
    if not path or not want:
        return {}
    try:
        data = read_regular(path, 256 * 1024 * 1024)
        if record_digest(data) != want:
            return {}
        record = json.loads(data.decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(record, dict) or not isinstance(record.get("pages"), dict):
        return {}
    pages = {k: v for k, v in record["pages"].items()
             if isinstance(k, str) and isinstance(v, list) and len(v) == 3 and all(isinstance(x, str) for x in v)}
    trees = record.get("trees") if isinstance(record.get("trees"), dict) else {}
    return {"pages": pages, "trees": {k: v for k, v in trees.items() if isinstance(k, str) and isinstance(v, str)}}


class Pages:
    """One unit's item pages in a worker: key each, copy the unchanged ones.

    A page is the sum of two things: what it shows of itself and of the build (its
    ``core`` key: its files, state, registry entries, neighbours, the unit's settings…)
    and the column tree of the side navigation, which is the same HTML on every page of
    the unit at one folder depth (``GK.nav_tree``) and carries each column's count. An
    item entering or leaving a listing changes the counts, so the tree on every page: a
    page whose core did not change then gets the previous page's bytes with the old tree
    replaced by the new one (the tree's HTML recorded by the previous build, found exactly
    once in the page, else the page is rendered)."""

    def __init__(self, generator, spec: dict):
        self.generator = generator
        self.spec = spec
        self.base = spec["base"]
        # The unit's tree_signature entries [path, *signature], as the parent scanned them.
        self.files: dict[str, list] = {entry[0]: entry[1:] for entry in spec.get("files") or ()}
        self.folder = os.path.realpath(generator.settings["PATH"])
        record = load_record(spec.get("record"), spec.get("record_digest"))
        self.previous: dict[str, list] = record.get("pages", {})
        self.old_trees: dict[str, str] = record.get("trees", {})
        self.old_root = spec.get("previous")
        self.out = Path(generator.output_path)
        self.keys: dict[str, list] = {}
        self.rendered = self.copied = self.patched = 0
        self.rendered_pages: list[str] = []   # the first SHOWN, for the build's line
        self._shape: str | None = None
        self._real_dirs: dict[str, bool] = {}
        self._real: dict[str, str] = {}
        self._siteurls: dict[str, str] = {}

    # --- the key -------------------------------------------------------------
    def shape(self, gk) -> str:
        """What the column tree shows besides the catalogs: each column's count."""
        if self._shape is None:
            self._shape = digest([(c.id, gk.listed(c) if c.is_leaf else gk.count(c)) for c in gk.tree.walk()])
        return self._shape

    def file_signatures(self, item) -> list | None:
        """The signatures (parent's content hashes) of the item's file and every file its
        validation read (attachments, images), or None when one is not signed or is not a
        regular file: a link is signed as one ('l', by ``tree_signature``, which does not
        follow it), and a page of an item read through a link is always rendered. The parent
        signed the files before the pre-pass read them: whatever changed since is signed
        otherwise by the next build, which then renders the page (~5 µs a page: no ``lstat``)."""
        out = []
        # _deps sorts the files an item's attachments and images name: most items have none
        for path in [str(item.path), *_deps(item)] if item.attachments or item.images else [str(item.path)]:
            head, tail = os.path.split(path)
            prefix = self._real.get(head)
            if prefix is None:   # realpath is ~0.1 ms: once per folder, not once per file
                real = os.path.relpath(os.path.realpath(head), self.folder)   # normalised
                prefix = self._real[head] = "" if real == "." else real + "/"
            rel = prefix + tail   # a file's name: no "/", never "." or ".."
            sig = self.files.get(rel)
            if not sig or sig[0] != "f":
                return None
            out.append([rel, sig])
        return out

    def core_key(self, name: str, template, gk, article) -> str | None:
        """Everything the page shows but the column tree."""
        item = getattr(article, "gk", None)
        st = getattr(article, "lifecycle", None)
        if item is None or not isinstance(st, State) or getattr(template, "name", None) is None:
            return None
        files = self.file_signatures(item)
        if files is None:
            return None
        # The body as our plugins left it (hidden links unlinked, withdrawn emptied); Pelican's
        # ``content`` only adds {filename}-style link rewriting, refused in sources (schema.py).
        content = getattr(article, "_content", None) or ""
        if PELICAN_LINK.search(content):
            return None   # a link Pelican would rewrite from other pages' paths: rendered
        # A body no plugin replaced is the reader's of the item's files (signed above) and of
        # the code (in the base): keyed by them, not hashed again (~9 KB a page). Only that
        # very object counts: an item the pre-pass did not read (no READ_BODY) was read by
        # the worker from its file as it is now, which the tree's signature may not be, so
        # its body goes in whole (a file changed and changed back must not match its key).
        read = getattr(article, READ_BODY, None)
        body = 0 if read is not None and content is read else content
        index_no = item.index_no
        refs = (item.interprets, item.repealed_by, item.replaced_by)
        # Most items name no other: their one registry entry is their own (~20k pages a province).
        if st.by or any(refs):
            named = sorted({r for ref in refs for r in as_list(ref)} | ({st.by} if st.by else set())
                           | ({index_no} if index_no else set()))
        else:
            named = [index_no] if index_no else []
        registry = getattr(gk, "registry", None) or {}
        reverse = getattr(gk, "reverse", None) or {}
        public_on = self.generator.settings.get("GK_PUBLIC_ON") or {}
        referring = [reverse.get((key, index_no), ()) for key in REF_KEYS] if index_no else None
        neighbours = [(getattr(n, "url", None), getattr(n, "title", None)) if n is not None else None
                      for n in (getattr(article, "gk_prev", None), getattr(article, "gk_next", None))] \
            if hasattr(article, "gk_prev") else "undefined"
        retired = gk.retired_column
        summary = str(getattr(article, "summary", ""))
        fiscal, annual = getattr(article, "fiscal", None), getattr(article, "annual", None)
        # The item's fields are a function of its files (signed above), the unit's settings,
        # the catalogs and the code (the base); what the worker changes in it afterwards is
        # keyed here: the summary, the 问答 answers (hidden links unlinked), the state (a
        # withdrawn 公示 is emptied; its label is its code's). The objects among them (问答,
        # fiscal and annual facts) as their repr; the rest plain data, pickled without a memo
        # (``plain_digest``): equal values give equal bytes whichever objects they share.
        # The item's own summary only where the page's differs from it (a withdrawn 公示's;
        # True, which no summary is, where they are the same).
        parts = (PAGES_KEY, self.base, name, template.name, files, st.code, st.since, st.by, st.reason,
                 article.title, article.url, summary, True if item.summary == summary else item.summary,
                 repr(item.qa) if item.qa else None, item.column, body,
                 repr(fiscal) if fiscal is not None else None, repr(annual) if annual is not None else None,
                 [(n, registry.get(n), public_on.get(n)) for n in named], referring, neighbours,
                 retired.id if retired is not None else None)
        try:
            return plain_digest(parts)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
            return None   # a value a plugin put there that cannot be pickled: the page is rendered

    def siteurl(self, name: str, context) -> str:
        """The page's SITEURL as Pelican's writer sets it (writers.py _get_localcontext)."""
        if self.generator.settings.get("RELATIVE_URLS"):
            # a function of the folder (its depth): once per folder, not once per page
            folder, base = os.path.split(name)
            url = self._siteurls.get(folder) if base else None
            if url is None:
                from pelican.utils import get_relative_path, path_to_url
                url = path_to_url(get_relative_path(name))
                if base:
                    self._siteurls[folder] = url
            return url
        return str(context.get("SITEURL"))

    # --- writing -------------------------------------------------------------
    def write(self, write, name, template, context, **kwargs):
        """Pelican's ``write`` for one article: copied (the tree patched when only its
        counts changed) when its key matches, else rendered."""
        article = kwargs.get("article")
        gk = context.get("GK")
        entry = None
        if article is not None and gk is not None and getattr(article, "template", None) in REUSABLE_TEMPLATES \
                and _safe_name(name):
            try:
                core = self.core_key(name, template, gk, article)
                if core is not None:
                    entry = [core, self.shape(gk), f"{self.siteurl(name, context)}\n{gk.tree.id}"]
            except Exception:  # noqa: BLE001 - a page we cannot key is rendered
                entry = None
        if entry is not None:
            self.keys[name] = entry
            old = self.previous.get(name)
            if old == entry and self._copy(name):
                self.copied += 1
                return None
            if old is not None and old[0] == entry[0] and old[2] == entry[2] and \
                    self._patch(name, gk, entry[2], f"{self.siteurl(name, context)}/{_column_url(article)}"):
                self.patched += 1
                return None
        self.rendered += 1
        if article is not None and len(self.rendered_pages) < SHOWN:
            self.rendered_pages.append(name)
        return write(name, template, context, **kwargs)

    def _real_dir(self, path: str) -> bool:
        known = self._real_dirs.get(path)
        if known is None:
            known = self._real_dirs[path] = os.path.realpath(path) == os.path.abspath(path) and os.path.isdir(path)
        return known

    def _read_old(self, name: str) -> bytes | None:
        if not self.old_root:
            return None
        src = os.path.join(self.old_root, name)
        if not self._real_dir(os.path.dirname(src)):
            return None
        try:
            # a FIFO or a huge file in the old output: the page is rendered again, not read
            return read_regular(src, MAX_OLD_PAGE)
        except (OSError, ValueError):
            return None

    def _put(self, name: str, data: bytes) -> bool:
        try:
            dest = self.out / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "xb") as f:
                f.write(data)
        except OSError:
            return False
        return True

    def _copy(self, name: str) -> bool:
        data = self._read_old(name)
        return data is not None and self._put(name, data)

    def _patch(self, name: str, gk, tree: str, current_href: str) -> bool:
        """The previous page with its column tree replaced by this build's: only once the
        tree of that depth was rendered in this build (by a page rendered in full)."""
        siteurl, _, node = tree.partition("\n")
        new = getattr(gk, "_trees", {}).get((siteurl, node))
        old = self.old_trees.get(tree)
        if new is None or old is None:
            return False
        data = self._read_old(name)
        if data is None:
            return False
        try:
            page = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        # as GK.nav_tree marks the current column
        was = old.replace(f'<a href="{current_href}">', f'<a href="{current_href}" aria-current="page">', 1)
        now = new.replace(f'<a href="{current_href}">', f'<a href="{current_href}" aria-current="page">', 1)
        if page.count(was) != 1:
            return False
        return self._put(name, page.replace(was, now).encode("utf-8"))

    def save(self) -> None:
        """The page keys of this build, the trees they hold, and the counts, for the
        parent (units.Reuse.keep)."""
        out = self.spec.get("out")
        if not out:
            return
        gk = self.generator.context.get("GK")
        built = {f"{siteurl}\n{node}": html for (siteurl, node), html in getattr(gk, "_trees", {}).items()}
        trees = {}
        for entry in self.keys.values():
            html = built.get(entry[2], self.old_trees.get(entry[2]))
            if html is not None:
                trees[entry[2]] = html
        data = json.dumps({"pages": self.keys, "trees": trees, "rendered": self.rendered,
                           "copied": self.copied + self.patched, "patched": self.patched,
                           "rendered_pages": self.rendered_pages},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        _write_atomic(Path(out), data)


def _column_url(article) -> str:
    from ..columns import column_save_as
    return column_save_as(article.gk.column)


def _safe_name(name: str) -> bool:
    return bool(name) and not name.startswith("/") and ".." not in name.split("/") and "\\" not in name


def _wrap(generator) -> None:
    """Give the articles generator a ``generate_articles`` that keys every item page."""
    spec = generator.settings.get(SETTING)
    if not isinstance(spec, dict) or not spec.get("base"):
        return
    # Held weakly: the wrapper lives in the generator's own __dict__, so strong references to
    # the generator (or to its bound method) made a cycle, and each unit's generator, its
    # Articles and their items waited for the cyclic garbage collector in the unit worker
    # (several units' worth at a time).
    owner = weakref.ref(generator)
    try:
        original = weakref.WeakMethod(generator.generate_articles)
    except TypeError:       # already an instance's plain function (another wrapper): held as it is
        held = generator.generate_articles
        original = lambda: held  # noqa: E731

    def generate_articles(write):
        pages = Pages(owner(), spec)

        def page_write(name, template, context, **kwargs):
            return pages.write(write, name, template, context, **kwargs)

        original()(page_write)
        pages.save()

    generator.generate_articles = generate_articles


def register():
    from pelican import signals  # here: the build's process imports this module, not Pelican (pool.py)

    signals.article_generator_finalized.connect(_wrap)
