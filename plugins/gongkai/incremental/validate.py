"""The pre-pass reads only what changed: a validated item is kept per file, keyed by
the file's content hash, the unit it belongs to, the files it reads beside it
(attachments, body images) and the global key (code, catalogs, schema).

Only items that validated without any problem are kept: a file with a problem is read
again every build, so its messages are always the ones ``read_item`` gives today.
Cross-file checks (duplicates, references, the 三公 series) are not cached: ``scan``
runs them every build over the items.
"""
from __future__ import annotations

import hashlib
import os
import stat
import struct
import sys
from collections.abc import Callable
from pathlib import Path

from ..items import Item
from ..schema import read_item
from ..spool import items_index, items_record, pack, unslim
from ..units import Unit
from .store import SCHEMA, Cache, digest

PACKAGE = Path(__file__).resolve().parents[1]


def tree_signature(cache: Cache, folder: Path, by_path: dict[str, list] | None = None) -> list:
    """Every file below ``folder`` (hidden ones and links included, links not followed)
    with its content signature. ``by_path``: filled with each file's path (``folder``
    joined with its path below it) -> its entry of the list returned."""
    out = []
    signature = cache.hashes.signature
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        # One relpath per folder, not per file: it was half the time of an edit build's walk.
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel + os.sep
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if "__pycache__" in path:
                continue
            entry = [prefix + name, *signature(path)]
            out.append(entry)
            if by_path is not None:
                by_path[path] = entry
    return out


def tree_unchanged(cache: Cache, folder: Path, kept: list) -> bool:
    """Whether ``tree_signature(cache, folder)`` would give ``kept``: the same answer and
    the same hashes marked seen, at about half the cost for a folder of plain files (one
    lstat and one hash-record lookup each, no lists made). Anything else on the way (a
    link, an unreadable folder, a file whose record does not match its stat) is left to
    ``tree_signature`` itself, so the answer is its answer."""
    if not isinstance(kept, list):
        return False
    hashes = cache.hashes
    memo, seen, probe_of, size = hashes.memo, hashes.seen, hashes.PROBE.pack, hashes.SIZE
    at = hashes.PROBE.size
    found: dict[str, bytes] = {}
    entries = iter(kept)

    def same(top: str, prefix: str) -> bool:
        # tree_signature's order: the folder's files sorted, then its sub-folders, sorted
        # (os.walk, top-down, with its dirnames sorted in place).
        with os.scandir(top) as listing:
            files, folders = [], []
            for entry in listing:
                if entry.is_symlink():
                    return False
                (folders if entry.is_dir(follow_symlinks=False) else files).append(entry)
        for entry in sorted(files, key=_name_of):
            path = entry.path
            if "__pycache__" in path:
                return False
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                return False
            want = next(entries, None)
            known = seen.get(path) or memo.get(path)
            if not (type(known) is bytes and len(known) == size and want is not None and len(want) == 3
                    and want[0] == prefix + entry.name and want[1] == "f"
                    and known.startswith(probe_of(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev))
                    and known[at:].hex() == want[2]):
                return False
            found[path] = known
        return all(same(entry.path, prefix + entry.name + os.sep) for entry in sorted(folders, key=_name_of))

    try:
        quick = same(str(folder), "") and next(entries, None) is None
    except (OSError, struct.error):
        quick = False
    if quick:
        seen.update(found)
        return True
    return tree_signature(cache, folder) == kept


def _name_of(entry: os.DirEntry) -> str:
    return entry.name


def code_key(cache: Cache) -> str:
    """The build code and the libraries it runs on (once per build: several keys hold it)."""
    if cache.code is None:
        libs = installed()
        cache.code = digest({"schema": SCHEMA, "python": sys.version, "code": tree_signature(cache, PACKAGE),
                             "libs": libs})
    return cache.code


def installed() -> list[str]:
    """The installed distributions, as the names of their metadata folders on ``sys.path``
    (``<name>-<version>.dist-info``): a name or a version that changes, changes this list.
    Not importlib.metadata: parsing every distribution's METADATA took 0.1–0.3 s of each
    build, a one-item edit's included."""
    out = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:     # a zip, a missing folder
            continue
        out.update(n for n in names if n.endswith((".dist-info", ".egg-info")))
    return sorted(out)


def read_key(cache: Cache, catalogs: Path) -> str:
    """What every validated item depends on besides its own unit and files."""
    return digest({"code": code_key(cache), "catalogs": tree_signature(cache, catalogs.resolve()),
                   "cwd": os.getcwd()})


class ItemCache:
    """``read_item`` with a memory: one pickle per unit, of path -> (key, item)."""

    def __init__(self, cache: Cache, catalogs: Path):
        self.cache = cache
        self.key = read_key(cache, catalogs) if cache.enabled else ""
        self.hits = self.misses = 0
        self._saved: tuple = (0, 0, {})   # the counters around one unit's pre-pass (begin/end)

    def unit(self, unit) -> _UnitItems:
        return _UnitItems(self, unit)

    def units(self, content: Path, load: Callable) -> tuple[dict, list]:
        """``load(content)`` (units.load_units: every ``_unit.yaml`` parsed and checked),
        kept when it found no problem, under the read key (code, catalogs, working folder),
        the content folder and every unit folder's name and ``_unit.yaml`` signature: one
        stat per unit on a build that changed none (issue 15: 1,300 YAML files parsed every
        build of a province, ~1 s)."""
        if not self.cache.enabled or not content.is_dir():
            return load(content)
        root = content.resolve()
        listing = units_listing(self.cache, root)
        if listing is None:
            return load(content)
        key = digest([self.key, str(root), listing])
        stored = self.cache.load_pickle(UNITS)
        if isinstance(stored, dict) and stored.get("key") == key and isinstance(stored.get("units"), dict) \
                and all(isinstance(u, Unit) for u in stored["units"].values()):
            return stored["units"], []
        units, problems = load(content)
        if problems:
            self.cache.remove(UNITS)
        else:
            self.cache.save_pickle(UNITS, {"key": key, "units": units})
        return units, problems

    # The pre-pass validates units in forked workers (site.scan): what one unit adds to
    # the counters and to the hashes seen is handed back to the parent and merged there.
    def begin(self) -> None:
        self._saved = (self.hits, self.misses, self.cache.hashes.seen)
        self.hits = self.misses = 0
        self.cache.hashes.seen = {}

    def end(self) -> dict:
        out = {"hits": self.hits, "misses": self.misses, "seen": self.cache.hashes.seen}
        self.hits, self.misses, self.cache.hashes.seen = self._saved
        return out

    def merge(self, part: dict | None) -> None:
        if part:
            self.hits += part["hits"]
            self.misses += part["misses"]
            self.cache.hashes.seen.update(part["seen"])


UNITS = "units.pickle"   # the units read from every _unit.yaml (ItemCache.units)


def units_listing(cache: Cache, root: Path) -> list | None:
    """What ``units.load_units(content)`` reads, as a key: each folder of the content folder
    ``root`` (resolved) it would read, with the signature of its ``_unit.yaml``. None when
    anything there is other than plain (a link, a ``_unit.yaml`` that is not a regular file,
    a folder that cannot be listed): ``load_units`` then runs and names it."""
    out = []
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=_name_of)
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_symlink():
                return None
            if not entry.is_dir(follow_symlinks=False):
                continue    # files beside the unit folders are not read
            sig = cache.hashes.signature(os.path.join(entry.path, "_unit.yaml"))
            if sig[0] != "f":
                return None
            out.append([entry.name, sig[1]])
    except OSError:
        return None
    return out


def _name(uid: str, kind: str = "") -> str:
    return f"items/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}{kind}.pickle"


class _UnitItems:
    """One unit's kept items: ``items/<unit>.pickle`` holds the full items by path;
    ``items/<unit>.slim.pickle``, written beside it when every file of the unit validated
    without a problem, holds the unit's slim items in file order with the signatures they
    were read at. An unchanged unit is answered from the slim file alone (``reuse``):
    an edit build's pre-pass does not unpickle the province's bodies."""

    def __init__(self, owner: ItemCache, unit):
        self.owner, self.unit = owner, unit
        cache = owner.cache
        self.enabled = cache.enabled
        self.unit_key = digest([owner.key, repr(unit), cache.hashes.signature(unit.folder / "_unit.yaml")]) \
            if self.enabled else ""
        self._old: dict | None = None
        self._stored: dict | None = None   # the items file's record, until its items are made (_old_item)
        self._old_items: list[Item] | None = None
        self._tree: list | None = None
        # path -> its entry of the tree (``tree``): its signature as the tree took it.
        self._signed: dict[str, list] = {}
        self.new: dict = {}
        self.changed = False
        self._record: dict | None | object = _UNREAD   # the slim record (``_slim_record``), loaded once

    @property
    def old(self) -> dict:
        """path -> (signature, shown path, reads, place) of the items the last build kept
        (spool.items_record); each item made when first taken (``_old_item``)."""
        if self._old is None:
            stored = self.owner.cache.load_pickle(_name(self.unit.id)) if self.enabled else None
            index = items_index(stored, self.unit_key)
            self._old, self._stored = (index, stored) if index is not None else ({}, None)
        return self._old

    def _old_item(self, at: object) -> Item | None:
        """The kept item at place ``at``: the unit's kept items are made on the first one asked."""
        if self._old_items is None:
            stored, self._stored = self._stored, None
            try:
                self._old_items = unslim(stored["slim"], stored["taken"]) if stored is not None else []
            except Exception as exc:  # noqa: BLE001 - a damaged cache file: its items are read again
                self.owner.cache.warn(_name(self.unit.id), exc)
                self._old_items = []
        found = self._old_items[at] if type(at) is int and 0 <= at < len(self._old_items) else None
        return found if isinstance(found, Item) else None

    def tree(self) -> list:
        """Every file of the unit's folder with its signature (``tree_signature``), taken
        once: before any file is read when the unit may be reused (site.py), else after the
        reads, when the files read are signed as they were read (``read``, ``Hashes.took``).
        Kept with the slim items, each item's entry as its read signed it (``_tree_as_read``):
        a file changed while the unit was read makes the next build read it again."""
        if self._tree is None:
            self._tree = tree_signature(self.owner.cache, self.unit.folder, self._signed)
        return self._tree

    def _signature(self, path: Path) -> list:
        """``path``'s signature as the unit's tree took it (before any file was read), else
        taken now: what the files that were not read are compared with (``reuse``)."""
        found = self._signed.get(str(path))
        return found[1:] if found is not None else self.owner.cache.hashes.signature(path)

    def _tree_as_read(self) -> None:
        """The tree's entry of each item read as the signature it was read under. An item is
        kept with the signature of the bytes it was read from (or taken right before it was
        read), not with the tree's, taken before or after the whole unit was read: a file
        changed in between (and changed back later) would otherwise be kept, and its unit's
        output reused, for content it no longer has. The tree then says what was read, and
        the next build sees the change. So for the files the items read beside their own."""
        signed = self._signed
        # The files the items read beside their own (attachments, images) likewise, as each
        # item's read signed them: the tree may be taken after the reads (``tree``). A file
        # read under two versions: an entry no file has, so the next build's tree differs
        # and the unit is built again.
        read: dict[str, list] = {}
        for key, entry in self.new.items():
            read.setdefault(os.path.normpath(key), []).append(entry[0])
            for path, sig in entry[2]:
                read.setdefault(os.path.normpath(path), []).append(sig)
        for path, sigs in read.items():
            found = signed.get(path)
            if found is not None:
                want = sigs[0] if all(sig == sigs[0] for sig in sigs) else ["?"]
                if found[1:] != want:
                    found[1:] = want

    def unchanged(self) -> tuple[list, bytes, tuple[str, str, list], bytes, str | None] | None:
        """(tree, notes, spool refs, the slim items pickled, the tree's digest or None) of a
        unit whose folder is, file for file, what it was when its slim items were kept (and
        whose items read nothing outside it that changed); else None. The tree's digest
        (``digest(tree)``, kept with it) is the ``files`` part of the unit's reuse key
        (incremental/units.py): not made again for every unchanged unit every build.
        ``notes``: what the scan keeps of the items besides them (site.unit_notes), pickled. Answered by the build's process without a
        worker and without unpickling the items: no walk of the unit for its item files, no
        slim item pickled across processes (issue 15: a one-item edit's pre-pass)."""
        record = self._slim_record()
        if record is None or not tree_unchanged(self.owner.cache, self.unit.folder, record.get("tree")) \
                or not all(map(self._reads_unchanged, record["files"])):
            return None
        self._tree = record["tree"]
        self.owner.hits += len(record["files"])
        tree_key = record.get("tree_key")
        return self._tree, record["notes"], self._spool_refs([(path, sig) for path, sig, _ in record["files"]]), \
            record["slim"], tree_key if isinstance(tree_key, str) else None

    def reuse(self, paths: list[Path]) -> tuple[bytes, bytes] | None:
        """(the slim items pickled, their notes pickled) of ``paths`` (the unit's files, in
        order) when none of them nor what they read changed since they were kept without a
        problem; else None."""
        record = self._slim_record()
        if record is None or len(record["files"]) != len(paths):
            return None
        for path, entry in zip(paths, record["files"], strict=True):
            own = self._signature(path)
            if entry[0] != str(path) or own[0] != "f" or own != entry[1] or not self._reads_unchanged(entry):
                return None
        self.owner.hits += len(paths)
        if record.get("tree") != self._tree:
            # Something beside the items changed (or the record predates the tree): kept
            # with the tree now, so that the next build answers it without a worker.
            tree = self.tree()
            self.owner.cache.save_pickle(_name(self.unit.id, ".slim"), {**record, "tree": tree,
                                                                        "tree_key": digest(tree)})
        return record["slim"], record["notes"]

    def kept_before(self) -> bool:
        """Whether the unit's slim record is there to answer ``reuse`` (else its items are all read)."""
        return self._slim_record() is not None

    def _slim_record(self) -> dict | None:
        if self._record is _UNREAD:
            self._record = self._load_slim_record()
        return self._record

    def _load_slim_record(self) -> dict | None:
        """The unit's slim record, when it is kept under this unit key and whole: ``files``
        [(path, signature, [(read path, signature)])] beside ``slim``, the slim items pickled
        as one blob (the build's parent keeps them so, spool.UnitItems, and need not pickle
        them again), and ``notes``, what the scan reads of them, pickled; ``digest``, the
        sha-256 of the two blobs as written, stands for their being whole: they are not
        unpickled here (a one-item edit's pre-pass unpickled every unit's items for this)."""
        if not self.enabled:
            return None
        record = self.owner.cache.load_pickle(_name(self.unit.id, ".slim"))
        if not isinstance(record, dict) or record.get("unit_key") != self.unit_key:
            return None
        files, slim, notes = record.get("files"), record.get("slim"), record.get("notes")
        if not (isinstance(slim, bytes) and isinstance(notes, bytes) and record.get("digest") == _blobs_digest(slim, notes)):
            return None   # damaged, or of an older layout: read again
        if not (isinstance(files, list) and all(isinstance(entry, tuple) and len(entry) == 3
                                                and isinstance(entry[2], list) for entry in files)):
            return None
        return record

    def _reads_unchanged(self, entry: tuple) -> bool:
        """Whether the files an item read beside its own (attachments, images) are as they were."""
        signature = self.owner.cache.hashes.signature
        return all(signature(p) == sig for p, sig in entry[2])

    def refs(self, paths: list[Path]) -> tuple[str, str, list]:
        """Where the full items of a unit answered by ``reuse`` are: (cache file, unit key,
        [(path, signature)]), for the build's spool to read them from (spool.Spool.refer)."""
        new = self.new
        return self._spool_refs([(str(p), new[str(p)][0] if str(p) in new else self._signature(p)) for p in paths])

    def _spool_refs(self, files: list[tuple[str, list]]) -> tuple[str, str, list]:
        return str(self.owner.cache.folder / _name(self.unit.id)), self.unit_key, files

    def read(self, path: Path, cats, walked: bool = False) -> tuple[Item | None, list]:
        """The item of ``path``: kept, when the file and what it read are as they were when
        it was kept, else read and kept under the signature of the very bytes it was read
        from (``Hashes.took``: the file is not read a second time to sign it)."""
        if not self.enabled:
            return read_item(path, self.unit, cats, walked=walked)
        hashes = self.owner.cache.hashes
        key = str(path)
        found = self.old.get(key)
        own = None
        if isinstance(found, tuple) and len(found) == 4 and isinstance(found[2], list):
            own = hashes.signature(path)   # right before the read, not the tree's (``_tree_as_read``)
            if own[0] != "f":   # links, and anything odd: read_item names it, every time
                return read_item(path, self.unit, cats, walked=walked)
            # The shown path is a function of the path and the working folder (in the read key).
            if found[0] == own and all(hashes.signature(p) == sig for p, sig in found[2]):
                item = self._old_item(found[3])
                if item is not None:
                    self.new[key] = (own, found[1], found[2], item)
                    self.owner.hits += 1
                    return item, []
        took: list = []
        item, problems = read_item(path, self.unit, cats, walked=walked,
                                   on_read=lambda st, data: took.append(hashes.took(key, st, data)))
        if took:
            own = took[0]
        elif own is None:
            # Not read through an open checked file (a link; a system without /proc): its
            # bytes were not seen. Signed now, and a plain file read again after that, as
            # before the reads were signed: the item kept is then no older than its signature.
            own = hashes.signature(path)
            if own[0] != "f":   # links, and anything odd: read_item names it, every time
                return item, problems
            item, problems = read_item(path, self.unit, cats, walked=walked)
        self.owner.misses += 1
        if item is not None and not problems:
            self.new[key] = (own, item.source, [(p, hashes.signature(p)) for p in _deps(item)], item)
        self.changed = True
        return item, problems

    def save(self, slim: list[Item] | None = None, paths: list[Path] | None = None,
             pickled: bytes | None = None, notes: bytes | None = None, items: list[Item] | None = None) -> bool:
        """Keep the full items; ``slim`` (with the unit's ``paths``, in order): the unit
        had no problem at all, so the next build may take it from the slim file (``pickled``:
        the unit's ``items``, every item read, slimmed and packed; ``notes``: what the scan
        reads of them, pickled, kept beside them). True when the cache's file holds every one
        of ``paths`` (then ``refs`` can point at them)."""
        if not self.enabled:
            return False
        self._tree_as_read()
        if self.changed or set(self.new) != set(self.old):
            self.owner.cache.save_pickle(_name(self.unit.id), items_record(self.unit_key, self.new, pickled, items))
        keys = [str(p) for p in paths or ()]
        if slim is not None and notes is not None and len(slim) == len(keys) and all(k in self.new for k in keys):
            files = [(k, self.new[k][0], self.new[k][2]) for k in keys]
            blob = pickled if pickled is not None else pack(slim)
            self.owner.cache.save_pickle(_name(self.unit.id, ".slim"),
                                         {"unit_key": self.unit_key, "files": files, "slim": blob, "notes": notes,
                                          "digest": _blobs_digest(blob, notes), "tree": self._tree,
                                          "tree_key": digest(self._tree) if self._tree is not None else None})
            return True
        self.owner.cache.remove(_name(self.unit.id, ".slim"))
        return False


_UNREAD = object()


def _blobs_digest(slim: bytes, notes: bytes) -> str:
    h = hashlib.sha256(len(slim).to_bytes(8, "little"))
    h.update(slim)
    h.update(notes)
    return h.hexdigest()


def _deps(item: Item) -> list[str]:
    """The files besides its own that validating ``item`` read."""
    folder = item.path.parent
    out = set()
    for att in item.attachments:
        out.update((str(folder / att.name), str(att.source)))
    for img in item.images:
        out.update((str(folder / img.src), str(img.path)))
    return sorted(out)
