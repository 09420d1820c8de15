"""Cross-unit facts, read once before the per-unit builds.

The unit tree and the 索引号 registry are what one unit's build needs to know about
the others: links to parent and child units, links to items of other units, and
the rule that a 索引号 is unique across all units.
"""
from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import os
import pickle
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from . import catalogs as catalogs_mod
from . import fiscal, lifecycle, paths, timings
from . import spool as spool_mod
from .errors import Problem
from .facts import REF_KEYS
from .fields import q
from .items import Item, as_list
from .schema import read_item
from .source import shown_path
from .spool import Spool, UnitItems
from .tools.progress import Progress
from .units import Unit, load_units

ITEM_SUFFIXES = (".md", ".yaml")
# Spellings of item files that are not read: say so instead of skipping them silently.
NEAR_SUFFIXES = (".yml", ".markdown", ".mdown", ".mkd")


@dataclass
class Site:
    catalogs: catalogs_mod.Catalogs
    units: dict[str, Unit]
    # Every unit's items, one unit at a time (spool.UnitItems): the parent holds no list of
    # the province's items (issue 15). The scan keeps beside it the few cross-unit facts
    # read from items: ``public_on``, the 三公 items and the 年报 items.
    items: UnitItems = field(default_factory=UnitItems)
    problems: list[Problem] = field(default_factory=list)
    unread_index_nos: set[str] = field(default_factory=set)   # of files that failed to read
    spool: Spool | None = field(default=None, repr=False)     # every unit's full items (spool.py)
    slim: bool = False                                        # ``items`` carry no bodies (scan)
    _full: tuple | None = field(default=None, repr=False, compare=False)   # (unit id, source -> full item)
    workers_cpu: float = 0.0       # CPU seconds of the scan's workers (timings: stage validate)
    workers_rss: float = 0.0       # their largest peak RSS, MiB
    # unit id -> every file in its folder with its signature (incremental.validate.tree_signature),
    # taken by the scan's workers when a build cache is on, for the unit reuse keys.
    trees: dict[str, list] = field(default_factory=dict, repr=False, compare=False)
    # unit id -> ``digest`` of its tree above, kept with it in the build cache (units answered
    # from the cache only): the ``files`` part of its reuse key.
    tree_keys: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # The units the scan answered from the build cache, their folders unchanged (the build
    # plans the others first: incremental/units.py).
    from_cache: set[str] = field(default_factory=set, repr=False, compare=False)
    # 索引号 -> the first day the item may be public (ISO), or None if never: repeals and
    # revisions take effect on that day of the repealing item. Set by the scan, read-only.
    public_on: dict[str, str | None] = field(default_factory=dict, repr=False)
    sangong: list[Item] = field(default_factory=list, repr=False)   # 三公 items with their figures
    annual: list[Item] = field(default_factory=list, repr=False)    # 年报 items, and items of the 年报 column

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def spill(self) -> spool_mod.Spill:
        """A file for what a stage of this build keeps for a later one (spool.Spill), in the
        build's spool folder when it has one."""
        return spool_mod.Spill(self.spool.folder if self.spool is not None else None)

    def full_items(self, uid: str) -> list[Item]:
        """``uid``'s items with their bodies, loaded one unit at a time (``items`` may be
        slim: see ``scan``). A spool file that is refused is replaced by reading the
        unit's files again (the scan reported their problems)."""
        if not self.slim:
            return self.items.of(uid)
        full = self.spool.load(uid) if self.spool is not None else None
        if full is None:
            unit, full = self.units[uid], []
            for slim_item in self.items.of(uid):
                item = read_item(slim_item.path, unit, self.catalogs)[0]
                if item is None:
                    # Changed or removed since the scan: its body is not judged, and the editor is told so.
                    print(f"warning: {slim_item.source}: 构建期间文件已改动或删除，检查器未读取其正文 (the file changed "
                          "during the build: its body was not checked)", file=sys.stderr)
                    continue
                full.append(item)
        return full

    def full_item(self, item: Item) -> Item:
        """``item`` with its body and the answers of its 问答; the unit's full items are
        kept until another unit's are asked for (the checker goes unit by unit)."""
        if not self.slim:
            return item
        if self._full is None or self._full[0] != item.unit:
            self._full = None
            self._full = (item.unit, {i.source: i for i in self.full_items(item.unit)})
        return self._full[1].get(item.source, item)

    def sangong_series(self, day: dt.date) -> list[dict]:
        """Every public 三公 item's figures, for comparisons and overviews in any unit."""
        out = []
        for item in self.sangong:
            f = item.facts
            if not lifecycle.is_public(item, day):
                continue
            out.append({"unit_id": item.unit, "url": item.url, "department": f.department, "year": f.year,
                        "stage": f.stage, "unit": f.unit, "amounts": {k: str(v) for k, v in f.amounts.items()},
                        "total": str(f.total), "published": item.published.isoformat()})
        return sorted(out, key=lambda e: (e["published"], e["url"], e["unit_id"]))

    def registry(self, day: dt.date, states: dict[str, lifecycle.State] | None = None) -> Registry:
        """索引号 -> what any unit's pages may show of another item that is public on ``day``
        (``Registry.add``). ``states`` (item.source -> State) saves computing each state again;
        a build's registry is made by ``Facts.of`` in its one pass over the items."""
        public_on_of = lifecycle.lookup(self.public_on) if states is None else None
        out = Registry()
        for item in self.items:
            if item.index_no:
                out.add(item, states[item.source] if states is not None else lifecycle.state(item, day, public_on_of))
        return out


class Registry(Mapping):
    """The 索引号 registry: 索引号 -> entry, a dict with ``KEYS`` (a State's ``as_dict``
    among them). The parent holds one entry per public item of the province, so each is
    kept as a tuple (~180 B where the dict cost ~640: ~45 MiB at 100k items, issue 15);
    every lookup gives a new dict, so no reader can change an entry for the others."""

    KEYS = ("unit", "url", "title", "doc_number", "published", "repealed_by", "replaced_by", "interprets",
            "type", "form", "questions", "state", "label", "since", "by", "reason")
    REFS = (("repealed_by", 5), ("replaced_by", 6), ("interprets", 7))   # (key, its place in KEYS)

    def __init__(self):
        self.rows: dict[str, tuple] = {}
        self._naming: dict[str, set[str]] | None = None
        # One object per equal value where most entries repeat it (dates, no references, no
        # questions): the parent holds an entry per public item (issue 15).
        self._iso: dict[dt.date, str] = {}
        self._text: dict[str, str] = {}    # the same date strings and words, by their text (put)
        self._none: list = []

    def add(self, item: Item, st: lifecycle.State) -> None:
        """Enter ``item`` (which has a 索引号) in its state ``st``: an item that is not public is
        absent, and a withdrawn 公示 is entered as what remains of it, so nothing of either can
        reach another unit's pages. A later item of the same 索引号 replaces an earlier one."""
        row = self.row_of(item, st)
        if row is not None:
            self.rows[item.index_no] = row
            self._naming = None

    def put(self, number: str, row: tuple) -> None:
        """Enter a row made by ``row_of`` in an earlier build (facts.Facts.of's kept units),
        its dates and empty lists shared as ``row_of`` shares them."""
        none, share = self._none, self._text.setdefault
        published, interprets, kind, form, questions, since = row[4], row[7], row[8], row[9], row[10], row[13]
        self.rows[number] = (*row[:4], share(published, published), *row[5:7],
                             interprets if interprets else none, kind and share(kind, kind), form and share(form, form),
                             questions if questions else none,
                             *row[11:13], None if since is None else share(since, since), *row[14:])
        self._naming = None

    def row_of(self, item: Item, st: lifecycle.State) -> tuple | None:
        """The entry of ``item`` in state ``st`` as its values in ``KEYS`` order (``add``), or None."""
        if not st.public:
            return None
        iso, none, share = self._iso, self._none, self._text.setdefault
        shown = lifecycle.withdraw(item) if st.withdrawn else item
        # The vocabulary words one object across units (slim items share them within their
        # unit only): the parent holds an entry per public item, over 1,300 units (issue 15).
        kind, form = shown.type, shown.form
        published = shown.published_date
        since = st.since
        # In KEYS order.
        return (
            shown.unit, shown.url, shown.title, shown.doc_number,
            iso.get(published) or self._day(published),
            shown.repealed_by, shown.replaced_by,
            list(shown.interprets) if shown.interprets else none, kind and share(kind, kind), form and share(form, form),
            [{"q": pair.q, "anchor": pair.anchor} for pair in shown.qa] if shown.qa else none,
            st.code, st.label,
            None if since is None else iso.get(since) or self._day(since),
            st.by, st.reason)

    def _day(self, day: dt.date) -> str:
        text = day.isoformat()
        self._iso[day] = found = self._text.setdefault(text, text)
        return found

    def __getitem__(self, number: str) -> dict:
        entry = dict(zip(self.KEYS, self.rows[number]))
        entry["interprets"] = list(entry["interprets"])      # the row's lists are shared (see registry)
        entry["questions"] = [dict(pair) for pair in entry["questions"]]
        return entry

    def __contains__(self, number) -> bool:
        return number in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, number: str) -> tuple | None:
        """The entry as its values in ``KEYS`` order (None when absent): what a key digests."""
        return self.rows.get(number)

    def naming(self) -> dict[str, set[str]]:
        """索引号 -> the public entries whose repealed_by / replaced_by / interprets name it.
        Computed once: the unit keys and the unit slices both read it."""
        if self._naming is None:
            naming: dict[str, set[str]] = {}
            for number, row in self.rows.items():
                for _, at in self.REFS:
                    if row[at]:     # most entries name nothing (issue 15: 100k rows every build)
                        for target in as_list(row[at]):
                            naming.setdefault(target, set()).add(number)
            self._naming = naming
        return self._naming


def item_files(unit: Unit, problems: list[Problem] | None = None) -> list[Path]:
    """The item files of a unit, every entry vetted on the way (nothing is opened here).

    A symbolic link to a folder, or one that leaves the content folder or dangles, is
    an error naming the link; a FIFO, socket or device named like an item is skipped
    with a warning (opening a FIFO would block the build)."""
    problems = [] if problems is None else problems
    root = unit.folder.parent
    out = []
    for path, kind in paths.walk_kinds(unit.folder):
        if path.name == "_unit.yaml" and path.parent == unit.folder:
            continue
        suffix = path.suffix
        if kind == "link":
            if suffix in ITEM_SUFFIXES:
                out.append(path)  # read_item names the link and refuses it
                continue
            try:
                if path.resolve().is_dir():
                    raise paths.PathError(path, "是指向文件夹的符号链接，不会读取 (symbolic link to a folder)")
                paths.vet(path, root, links=True)
            except paths.PathError as exc:
                problems.append(Problem(exc.shown, None, None, exc.message, rule="item.path"))
            continue
        if suffix.lower() in NEAR_SUFFIXES or (suffix.lower() in ITEM_SUFFIXES and suffix not in ITEM_SUFFIXES):
            problems.append(Problem(shown_path(path), None, None, f"not read: item files end in .md or "
                                    f".yaml (lower case), got {suffix!r}", rule="item.suffix"))
            continue
        if suffix not in ITEM_SUFFIXES or kind == "dir":
            continue
        if kind != "file":
            problems.append(Problem(shown_path(path), None, None, "不是普通文件，已跳过 (not a regular file: "
                                    "skipped, never opened)", rule="item.path", severity="warning"))
            continue
        out.append(path)
    return out


def scan(content: Path, catalog_dir: Path, cache=None, jobs: int | None = None, slim: bool = True,
         spool_at: tuple[Path, str] | None = None, on_unit: Callable[[Site, str], None] | None = None) -> Site:
    """Read and validate every unit and item; collect every problem. ``cache``
    (incremental.validate.ItemCache) keeps the items of files that did not change.

    Units are validated in ``jobs`` forked workers (default: one per core); each writes
    its unit's full items to the build's spool and returns slim ones (``slim=False``:
    the full items stay in ``site.items``, for tools that want every body at hand).
    ``spool_at``: (folder, name prefix) of the spool (default: a private folder in the temp dir).
    ``on_unit(site, uid)``: called as each unit's result is taken in (facts.Early).
    Results are taken in unit order, so problems and items do not depend on scheduling."""
    cats = catalogs_mod.load(str(catalog_dir.resolve()))
    units, problems = cache.units(content, functools.partial(load_units, catalogs=cats)) if cache is not None \
        else load_units(content, cats)
    site = Site(cats, units, problems=problems, spool=Spool(*(spool_at or ())), slim=slim)
    for folder in sorted(p for p in content.iterdir() if p.name not in units and p.name[:1] not in "._"
                         and p.is_dir() and not p.is_symlink()) if content.is_dir() else ():
        # A unit whose _unit.yaml is reported: its items' 索引号 are not reported again as missing.
        # Its folder only: a link (to /tmp, say) is neither walked nor read (load_units names it).
        for path, kind in paths.walk_kinds(folder):
            if kind == "file" and path.suffix == ".md":
                site.unread_index_nos.update(declared_index_nos(path))
    progress = Progress(len(units), "检查 (check)")
    task = _Validate(units, cats, cache, site.spool, slim)
    # Units whose folder did not change are answered here from the cache; the others are
    # read by the workers.
    quick = {uid: found for uid in units if (found := task.unchanged(uid)) is not None}
    rest = [uid for uid in units if uid not in quick]
    site.from_cache = set(quick)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(rest)))
    read = _results(task, rest, workers)
    across = _Across()
    for result in (quick[uid] if uid in quick else next(read) for uid in units):
        site.problems.extend(result["problems"])
        # What the checks across units and the cross-unit facts read of the unit's items
        # comes beside them (unit_notes, made where they were read or kept with them); the
        # items themselves are kept pickled, a unit to a blob, as they came: the scan
        # unpickles none (Facts.of reads each unit once).
        notes = result["notes"]
        if type(notes) is bytes:
            notes = pickle.loads(notes)  # noqa: S301 - our worker's, or our cache's under its digest
        across.note(site, notes)
        blob = result.get("pickled")
        if blob is not None:
            site.items.add_pickled(result["unit"], blob, notes["count"])
        else:
            site.items.add(result["unit"], result["items"])
        site.unread_index_nos.update(result["unread"])
        if cache is not None:
            cache.merge(result["cache"])
        if "tree" in result:
            site.trees[result["unit"]] = result["tree"]
            if result.get("tree_key") is not None:
                site.tree_keys[result["unit"]] = result["tree_key"]
        if "worker" in result:
            site.workers_cpu += result["worker"][0]
            site.workers_rss = max(site.workers_rss, result["worker"][1])
        if on_unit is not None:
            on_unit(site, result["unit"])
        progress.step(notes["count"])
    progress.done()
    across.check(site)
    _check_sangong_series(site)
    return site


class _Validate:
    """One unit's pre-pass, the same in a forked worker and in the parent."""

    def __init__(self, units: dict[str, Unit], cats, cache, spool: Spool, slim: bool):
        self.units, self.cats, self.cache, self.spool, self.slim = units, cats, cache, spool, slim

    def unchanged(self, uid: str) -> dict | None:
        """The result of ``__call__`` for a unit whose folder did not change since its slim
        items were kept (incremental/validate.py ``unchanged``); else None."""
        if self.cache is None or not self.slim:
            return None
        self.cache.begin()
        found = self.cache.unit(self.units[uid]).unchanged()
        if found is None:
            self.cache.end()
            return None
        tree, notes, refs, pickled, tree_key = found
        self.spool.refer(uid, *refs, held=True)   # the parent's: no file a unit (Spool.refer)
        return {"unit": uid, "problems": [], "unread": set(), "items": None, "pickled": pickled, "notes": notes,
                "cache": self.cache.end(), "tree": tree, "tree_key": tree_key}

    def __call__(self, uid: str) -> dict:
        unit = self.units[uid]
        problems: list[Problem] = []
        items: list[Item] = []
        unread: set[str] = set()
        if self.cache is not None:
            self.cache.begin()
        kept = self.cache.unit(unit) if self.cache is not None else None
        # The unit's files as the reuse key of its output sees them (incremental/units.py),
        # taken here, in parallel, rather than by a second walk in the parent: before the
        # reads when the unit may be answered from its slim record (``reuse`` compares the
        # files with it), else after them, when each item file read is signed by its read
        # (``_UnitItems.read``) and is not read again to be signed.
        signing = kept is not None and kept.enabled
        signed_first = signing and self.slim and kept.kept_before()
        tree = {"tree": kept.tree()} if signed_first else {}
        paths = item_files(unit, problems)
        reused = kept.reuse(paths) if kept is not None and self.slim and not problems else None
        if reused is not None:
            # Nothing of the unit changed: its slim items come from the cache as kept, and its
            # full items stay in the cache file, which the spool points at.
            self.spool.refer(uid, *kept.refs(paths))
            return {"unit": uid, "problems": problems, "unread": unread, "items": None, "pickled": reused[0],
                    "notes": reused[1], "cache": self.cache.end(), **tree}
        for path in paths:
            item, item_problems = (kept.read(path, self.cats, walked=True) if kept is not None
                                   else read_item(path, unit, self.cats, walked=True))
            problems.extend(item_problems)
            if item is not None:
                items.append(item)
            else:
                unread.update(declared_index_nos(path))
        if signing and not signed_first:
            tree = {"tree": kept.tree()}
        slim = [spool_mod.slim(i) for i in items] if self.slim else None
        # Pickled once: for the parent's store (spool.UnitItems) and the cache's slim record.
        pickled = spool_mod.pack(slim) if self.slim else None
        # The 三公 and 年报 items in them are the slim ones, as the parent keeps every item.
        notes = pickle.dumps(unit_notes(slim if self.slim else items), protocol=pickle.HIGHEST_PROTOCOL)
        if kept is not None and kept.save(slim if not problems and len(items) == len(paths) else None, paths,
                                          pickled, notes, items):
            # The cache's file now holds these very items: the spool points at it rather than
            # pickling every body a second time.
            self.spool.refer(uid, *kept.refs(paths))
        else:
            self.spool.write(uid, items, pickled)
        return {"unit": uid, "problems": problems, "unread": unread, "items": slim if self.slim else items,
                "pickled": pickled, "notes": notes, "cache": self.cache.end() if self.cache is not None else None,
                **tree}


_TASK: list = []   # the pre-pass of the current scan, in each forked worker (set by the pool's initializer)


def _init_worker(task: _Validate) -> None:
    _TASK[:] = [task]


def _run(uid: str) -> dict:
    cpu = time.process_time()
    result = _TASK[0](uid)
    if result.get("pickled") is not None:
        # The parent gets the unit's items pickled once, as it keeps them (spool.UnitItems),
        # not the list pickled again by the pool.
        result["items"] = None
    elif _TASK[0].slim:
        result["pickled"] = spool_mod.pack(result["items"])
        result["items"] = None
    # The parent's own figures do not see a worker's: each unit's CPU and the worker's peak go back.
    result["worker"] = (time.process_time() - cpu, timings.peak_rss_mib())
    return result


def _results(task: _Validate, uids: list[str], workers: int) -> Iterator[dict]:
    """Each unit's result, in the order of ``uids``."""
    if workers <= 1 or len(uids) <= 1:
        yield from map(task, uids)
        return
    # Forked: the catalogs, the units and the cache are inherited, not pickled per unit.
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(task,)) as pool:
        yield from pool.map(_run, uids)


_INDEX_LINE = re.compile(r"""^index_no\s*[:：]\s*['"]?([^'"#\s]+)""", re.M)


def declared_index_nos(path: Path) -> set[str]:
    """The 索引号 a file that failed to read declares, found by its line alone, so that
    references to it are not reported a second time. Only a regular file is read, and only
    its first 64 KiB: not a link (its target may be outside the content folder), and not a
    FIFO, which would hold the open or the read."""
    try:
        data = paths.read_regular(path, 65536, truncate=True)
    except (OSError, ValueError):
        return set()
    return set(_INDEX_LINE.findall(data.decode("utf-8", "replace")))


class _Claim(NamedTuple):
    """What the checks across units read of an item with a 索引号 (not the item itself)."""
    published: dt.datetime
    source: str
    index_no: str
    line: int | None          # of its index_no
    published_date: dt.date
    public_on: dt.date | None
    draft: bool
    disclosure: str | None


class _Ref(NamedTuple):
    source: str
    key: str                  # repealed_by, replaced_by or interprets
    ref: str
    line: int | None
    public_on: dt.date | None  # of the item that names ``ref``


def unit_notes(items: list[Item]) -> dict:
    """What the scan reads of one unit's items (``_Across``): each 索引号 with the first day
    its item may be public, the claims and references the checks across units compare, the
    三公 and 年报 items (the few kept as items), and how many items there are. A function of
    the items alone, made where they are read (the pre-pass worker) and kept beside them in
    the build cache (incremental/validate.py), so that the build's process unpickles no
    unit's items for it (issue 15: a one-item edit's pre-pass unpickled all 20k)."""
    dates, claims, refs, sangong, annual = [], [], [], [], []
    for item in items:
        when = lifecycle.public_on(item)
        if item.index_no:
            dates.append((item.index_no, when.isoformat() if when else None))
            claims.append(_Claim(item.published, item.source, item.index_no, item.line("index_no"),
                                 item.published_date, when, item.draft, item.disclosure))
        for key in REF_KEYS:
            for ref in as_list(getattr(item, key)):
                refs.append(_Ref(item.source, key, ref, item.line(key), when))
        if item.type == "sangong" and item.facts is not None:
            sangong.append(item)
        if item.type == "annual-report" or item.column == "xxgknb":
            annual.append(item)
    return {"count": len(items), "public_on": dates, "claims": claims, "refs": refs, "sangong": sangong,
            "annual": annual}


class _Across:
    """The scan's checks across units (a 索引号 used twice, a reference to no item, an
    interpretation public before its policy), noted unit by unit as the results come in,
    so that no list of every item is kept for them."""

    def __init__(self):
        self.claims: list[_Claim] = []
        self.refs: list[_Ref] = []
        # One object per equal public-on date text of the province, kept until the units are
        # built: each unit's notes come unpickled on their own (issue 15).
        self._same: dict[str, str] = {}

    def note(self, site: Site, notes: dict) -> None:
        """Take what the checks and the cross-unit facts read of a unit's items (``unit_notes``)."""
        same = self._same.setdefault
        site.public_on.update([(number, when and same(when, when)) for number, when in notes["public_on"]])
        self.claims.extend(notes["claims"])
        self.refs.extend(notes["refs"])
        site.sangong.extend(notes["sangong"])
        site.annual.extend(notes["annual"])

    def check(self, site: Site) -> None:
        labels = site.catalogs.item_labels
        seen: dict[str, _Claim] = {}
        # The older item keeps its 索引号; the message goes to the newer one, which is the mistake.
        for claim in sorted(self.claims, key=lambda c: (c.published, c.source)):
            first = seen.get(claim.index_no)
            if first is not None:
                site.problems.append(Problem(claim.source, claim.line, "index_no",
                                             f"索引号 {claim.index_no} 已被 {first.source}:{first.line} 使用"
                                             f"（发布于 {first.published_date.isoformat()}），请为本文件另取一个，"
                                             "make new 会给出下一个空号 (expected a unique index number, "
                                             f"{q(claim.index_no)} is already used)",
                                             labels.get("index_no"), rule="item.duplicate"))
            else:
                seen[claim.index_no] = claim
        for ref in self.refs:
            if ref.ref in site.unread_index_nos:
                continue   # that item's own error is reported: one mistake, one message
            if ref.ref not in seen:
                site.problems.append(Problem(ref.source, ref.line, ref.key,
                                             f"no item has index number {q(ref.ref)} (expected the 索引号 of an "
                                             "item in any unit)", labels.get(ref.key), rule="item.reference"))
            elif ref.key == "interprets":
                _check_interpreted(ref, seen[ref.ref], site.problems, labels)


def _check_sangong_series(site: Site) -> None:
    """Each 三公 item explains its changes against last year (and, for 决算, this year's 预算)."""
    rules = site.catalogs.fiscal
    labels = site.catalogs.item_labels
    series: dict[tuple, Item] = {}
    for item in sorted((i for i in site.sangong if lifecycle.public_on(i)),
                       key=lambda i: (i.published, i.source)):
        f = item.facts
        key = (f.department, f.year, f.stage)
        if key in series:
            site.problems.append(Problem(item.source, item.line("year"), "year",
                                         f"{f.department} {f.year}年{f.stage} is also in {series[key].source}; "
                                         "the later one is compared and shown in the overview",
                                         labels.get("year"), rule="fiscal.duplicate", severity="warning"))
        series[key] = item
    for (department, year, stage), item in sorted(series.items(), key=lambda kv: kv[1].source):
        if item.facts.explanation:
            continue
        against = [("上年" + stage, series.get((department, year - 1, stage)))]
        if stage == "决算":
            against.append(("本年预算", series.get((department, year, "预算"))))
        for label, other in against:
            changes = other and fiscal.nonzero_changes(rules, item.facts.amounts, other.facts.amounts)
            if changes:
                site.problems.append(Problem(
                    item.source, item.line("amounts"), "explanation",
                    f"required: amounts changed against {label} ({other.source}): {'; '.join(changes)} "
                    "(expected the 增减变化原因)", labels.get("explanation"), rule="fiscal.explanation"))
                break


def _check_interpreted(ref: _Ref, policy: _Claim, problems: list[Problem], labels: dict) -> None:
    """An interpretation may not be public before (or without) the policy it explains."""
    mine, theirs = ref.public_on, policy.public_on
    if mine is None:
        return
    if theirs is None:
        why = "a draft" if policy.draft else f"{policy.disclosure}"
        problems.append(Problem(ref.source, ref.line, "interprets",
                                f"{q(policy.index_no)} ({policy.source}) is {why}, never public: an interpretation "
                                "must explain a 主动公开 item", labels.get("interprets"), rule="item.reference"))
    elif theirs > mine:
        problems.append(Problem(ref.source, ref.line, "interprets",
                                f"{q(policy.index_no)} is published {theirs.isoformat()}, after this interpretation "
                                f"({mine.isoformat()}): until then it is shown without a link",
                                labels.get("interprets"), rule="item.order", severity="warning"))
