"""Validated items of one build, one file per unit, so the parent need not hold them.

The pre-pass (``site.scan``) validates each unit in a worker; the worker writes the
unit's full items (bodies, answers, line maps) here and hands the parent a slim copy
of each (``slim``): what the cross-unit facts, the registry, the checker's metadata
rules and the 年报/三公 series read. Whoever needs a unit's bodies (the render worker
that builds it, the checker's body rules) loads that unit's file and drops it after.
A unit whose folder did not change since the build cache kept its items has no file:
the parent holds a reference into the cache (``refer(held=True)``), and the worker
that builds the unit gets it with its job.

The folder is private to this build: made by ``tempfile.mkdtemp`` (mode 0700, a fresh
random name; beside the output, ``.<output>.spool-XXXX``, for a build, so that a tmpfs
/tmp does not hold a province's bodies in memory), with a random token inside every file. A file that is not a regular file
of this user, is too large, cannot be unpickled or carries another token is refused
(never followed, never trusted); the caller then reads the unit's sources again.
"""
from __future__ import annotations

import errno
import hashlib
import os
import pickle
import secrets
import shutil
import stat
import sys
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from .items import _FIELDS, DIGIT_RUN, Item, values_of

MAX_BYTES = 1024 * 1024 * 1024   # one unit's items; far above any real unit


def slim(item: Item) -> Item:
    """``item`` without what only rendering and the body rules read: the body and the
    answers of its 问答 (questions and their anchors stay: the registry shows them).

    Slim items are read-only (nobody changes a field or a list of theirs in place), so
    equal values are shared: the vocabulary fields, keywords, dates, line maps (items
    of one layout have the same map) and empty lists. A unit's slim items then share
    one object of each in the result its pre-pass worker pickles for the parent (pickle
    keeps an object once): ~1.1 KiB an item in the parent instead of ~2.5 (issue 15)."""
    if len(_SHARED) > _SHARED_MAX or len(_KEYS) > _SHARED_MAX:
        forget_shared()     # bounded in a long-lived process (``--jobs 1`` scans in the parent)
    share = _SHARED.setdefault
    # The thin copy is made from its field values in one go (not dataclasses.replace or
    # copy.copy, ~10x slower; nor a getattr and setattr per field, ~2x), each value put in
    # place first.
    values = list(values_of(item))
    for at, name in _SHARED_AT:
        value = values[at]
        if value is not None:
            values[at] = _shared((name, type(value), value), value)
    keywords = item.keywords
    if all(type(k) is str for k in keywords):
        values[_KEYWORDS_AT] = share(("keywords", *keywords), [share(("kw", k), k) for k in keywords])
    for at, name in _EMPTY_AT:
        if not values[at]:
            values[at] = share((name,), [])
    if not item.data:
        values[_DATA_AT] = share(("data",), {})
    run = DIGIT_RUN.search
    values[_DIGIT_RUNS_AT] = bool(run(item.body) or any(run(pair.q) or run(pair.a) for pair in item.qa))
    values[_BODY_AT] = ""
    values[_QA_AT] = [replace(pair, a="", a_html="") for pair in item.qa] if item.qa else share(("qa",), [])
    # Items of one layout have equal line maps: the map is looked up by its pairs as they are,
    # and only a map not seen yet has its keys shared one by one.
    pairs = tuple(item.lines.items())
    lines = _SHARED.get(("lines", *pairs))
    if lines is None:
        pairs = tuple((_KEYS.setdefault(k, k), v) for k, v in pairs)
        lines = _shared(("lines", *pairs), dict(pairs))
    values[_LINES_AT] = lines
    return Item(*values)   # the fields in order; the generated __init__ only assigns them


def _shared(key: tuple, value):
    """The one object kept for ``value`` (the type is in ``key``: True and 1 are equal)."""
    try:
        return _SHARED.setdefault(key, value)
    except TypeError:     # not hashable: kept as it is
        return value


# Line-map keys are tuples like ("title",), made afresh for every file; the slim items of
# a worker share one of each (the parent gets them shared within each unit's result).
_KEYS: dict[tuple, tuple] = {}
# Equal values of slim items, shared (``slim``); emptied past ``_SHARED_MAX`` entries.
_SHARED: dict[tuple, object] = {}
_SHARED_MAX = 200_000
_SHARED_FIELDS = ("type", "column", "issuer", "topic", "genre", "validity", "disclosure", "catalog_item", "form",
                  "written", "formed", "valid_until", "publicity_until", "approved")
_EMPTY_LISTS = ("attachments", "images", "interprets")
_SHARED_AT = tuple((_FIELDS.index(name), name) for name in _SHARED_FIELDS)
_EMPTY_AT = tuple((_FIELDS.index(name), name) for name in _EMPTY_LISTS)
(_KEYWORDS_AT, _DATA_AT, _DIGIT_RUNS_AT, _BODY_AT, _QA_AT, _LINES_AT) = (
    _FIELDS.index(name) for name in ("keywords", "data", "digit_runs", "body", "qa", "lines"))


def forget_shared() -> None:
    """Empty the tables of shared values: sharing is within one build's results, so each
    build (each new ``Spool``) starts with empty ones, and a process that builds again and
    again (the test suite, a preview server) does not keep every value it ever saw."""
    _SHARED.clear()
    _KEYS.clear()


def _remove(folder: str, owner: int) -> None:
    # A forked worker inherits this finalizer; only the process that made the folder removes it.
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


class Spool:
    """The private folder of one build's validated items (removed when the object goes)."""

    def __init__(self, base: Path | None = None, prefix: str = ".gongkai-spool-"):
        forget_shared()   # a new build: nothing of the last one's is shared with it
        self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        self.token = secrets.token_hex(16)
        self.warned = False
        self._last: tuple[str, list[Item]] | None = None
        # ``refer(held=True)``: unit -> where its reference is in ``_spill`` (this process's);
        # ``hold``: unit -> the reference a job brought (a worker's)
        self._held_at: dict[str, tuple[int, int]] = {}
        self._held: dict[str, dict] = {}
        self._spill: Spill | None = None
        self._final = weakref.finalize(self, _remove, str(self.folder), os.getpid())

    @classmethod
    def attach(cls, folder: Path, token: str) -> Spool:
        """The spool of a build made in another process (the unit workers' pool, pool.py),
        to load from: the folder stays its maker's to remove."""
        self = object.__new__(cls)
        self.folder, self.token, self.warned, self._last = Path(folder), token, False, None
        self._held_at, self._held, self._spill = {}, {}, None
        self._final = None
        return self

    def path(self, uid: str) -> Path:
        return self.folder / f"{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"

    def write(self, uid: str, items: list[Item], slim: bytes | None = None) -> None:
        """Keep ``uid``'s full items (in a worker of the pre-pass, or in the parent).

        ``slim``: these very items slimmed and packed (``pack([slim(i) for i in items])``),
        as the pre-pass has them anyway. The file then holds that blob and what slimming
        took from each item (its body, its 问答 with the answers) instead of the items
        pickled again (``items`` is then that blob, ``taken`` the rest): ~4x less to pickle
        per item (issue 15), and the same items loaded."""
        if slim is None:
            self._write(uid, {"token": self.token, "unit": uid, "items": items})
        else:
            self._write(uid, {"token": self.token, "unit": uid, "items": slim,
                              "taken": [(item.body, item.qa) for item in items]})

    def _write(self, uid: str, value: dict) -> None:
        # A spool that cannot be written (a full disk) costs time, never the build: the
        # unit's file is then missing, and whoever loads it reads the sources again.
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        target = self.path(uid)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except OSError:
            for path in (tmp, target):
                if path is not None:
                    Path(path).unlink(missing_ok=True)
        except BaseException:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise

    def refer(self, uid: str, cache_file: str, unit_key: str, refs: list, held: bool = False) -> None:
        """``uid``'s full items are those of the build cache's file for the unit
        (incremental/validate.py): the spool keeps where, and which file versions.

        ``held``: kept by this process in one unnamed file (a ``Spill``), not a file each:
        the parent refers every unit whose folder did not change, and a file each cost an
        edit build at 1,300 units 0.9 s on an ext4 that had just deleted files (its inode
        allocator's ``recently_deleted``); held in memory instead, they took the parent's
        peak up 16 MiB at 100k items. A unit worker that builds the unit gets the reference
        with its job (``held`` / ``hold``)."""
        value = {"token": self.token, "unit": uid, "cache": cache_file, "unit_key": unit_key, "refs": refs}
        if held:
            try:
                if self._spill is None:
                    self._spill = Spill(self.folder)
                self._held_at[uid] = self._spill.put(value)
                return
            except OSError:
                pass   # a full disk: the file of its own below (which may fail too: sources read again)
        self._write(uid, value)

    def held(self, uid: str) -> dict | None:
        """``uid``'s reference if this process holds it (``load``'s, and the job's of the worker
        building it); None when it does not, or its spill file was cut short (then the unit's
        file is looked for, which no held unit has: its sources are read again)."""
        if uid in self._held:
            return self._held[uid]
        at = self._held_at.get(uid)
        if at is None or self._spill is None:
            return None
        try:
            return self._spill.get(at)
        except OSError:
            return None

    def hold(self, uid: str, reference: dict | None) -> None:
        """Take ``uid``'s reference held by the spool's maker (a job's ``held``), or drop it (None)."""
        if self._last is not None and self._last[0] == uid:
            self._last = None
        if reference is None:
            self._held.pop(uid, None)
        else:
            self._held[uid] = reference

    def load(self, uid: str) -> list[Item] | None:
        """``uid``'s full items, or None when its file is missing or not ours (said once)."""
        if self._last is not None and self._last[0] == uid:
            return self._last[1]
        self._last = None   # the previous unit's bodies go before the next unit's come in
        path = self.path(uid)
        try:
            held = self.held(uid)
            data = _read_pickle(path) if held is None else held
            if not isinstance(data, dict) or data.get("token") != self.token or data.get("unit") != uid:
                raise ValueError("not written by this build")
            items = _from_cache(data) if "cache" in data else _unslim(data) if "taken" in data else data.get("items")
            if not isinstance(items, list) or not all(isinstance(i, Item) for i in items):
                raise ValueError("not a list of items")
        except Exception as exc:  # noqa: BLE001 - a damaged file is read again from the sources, never trusted
            self._warn(path, exc)
            return None
        self._last = (uid, items)
        return items

    def forget(self) -> None:
        """Drop the unit kept in memory: the next ``load`` reads its file again."""
        self._last = None

    def close(self) -> None:
        self._last = None
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._final is not None:
            self._final()

    def _warn(self, path: Path, exc: BaseException) -> None:
        if not self.warned:
            print(f"warning: 本次构建的暂存文件不可用，已重新读取源文件 (build spool file refused, sources read "
                  f"again): {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.warned = True


def _read_pickle(path: Path | str):
    """A pickle of ours: a regular file of this user (a symlink is not followed), bounded."""
    # O_NONBLOCK: a FIFO put in the cache's spool folder is refused below, never waited on
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise ValueError("not a regular file of this user")
        if st.st_size > MAX_BYTES:
            raise ValueError("too large")
        return pickle.load(f)  # noqa: S301 - our private folder (mkdtemp, 0700) or our cache folder, checked


def _unslim(data: dict) -> list[Item]:
    """The full items of a file ``write`` made from slim items."""
    return unslim(data["items"], data["taken"])


def unslim(blob: bytes, taken: list) -> list[Item]:
    """Full items from slim ones (``pack``'s ``blob``) and what ``slim`` took from each,
    in their order (``taken``: its body, its 问答 with answers; ``digit_runs`` is a slim
    item's): the spool's files and the build cache's items files keep them so."""
    items = pickle.loads(blob)  # noqa: S301 - a spool or build cache file of ours, checked by the caller
    if not isinstance(items, list) or not isinstance(taken, list) or len(items) != len(taken):
        raise ValueError("slim items and bodies do not match")
    for item, (body, qa) in zip(items, taken):
        item.body, item.qa, item.digit_runs = body, qa, None
        # Slim items share equal lists and an empty ``data`` (``slim``); a full item is a unit
        # worker's to use as it likes: its own containers, as a pickled item had them.
        item.keywords, item.attachments, item.images = list(item.keywords), list(item.attachments), list(item.images)
        item.interprets, item.data = list(item.interprets), dict(item.data)
    return items


# The build cache's items file of a unit (incremental/validate.py ``_UnitItems``):
# {"unit_key", "format", "slim": the unit's slim items packed, "taken": what slimming took
# from each, "index": path -> (signature, shown path, [(read path, signature)], place)}.
# As the spool keeps items (``write``): the slim items are packed for the build's parent
# anyway, and the bodies pickled beside them cost ~4x less than the full items pickled again.
ITEMS_FORMAT = 2


def items_record(unit_key: str, entries: dict, blob: bytes | None = None, items: list | None = None) -> dict:
    """The items file's record of ``entries`` (path -> (signature, shown path, reads, full
    item)); ``blob``: ``items`` (these very full items, in ``entries``' order) already slimmed
    and packed, as the pre-pass has them: taken as it is, else packed here."""
    full = [entry[3] for entry in entries.values()]
    if blob is None or items is None or len(items) != len(full) or any(a is not b for a, b in zip(items, full)):
        blob = pack([slim(item) for item in full])
    return {"unit_key": unit_key, "format": ITEMS_FORMAT, "slim": blob,
            "taken": [(item.body, item.qa) for item in full],
            "index": {path: (entry[0], entry[1], entry[2], n) for n, (path, entry) in enumerate(entries.items())}}


def items_index(stored, unit_key: str) -> dict | None:
    """The index of an items file's record made by ``items_record`` for ``unit_key``, or None."""
    if isinstance(stored, dict) and stored.get("unit_key") == unit_key and stored.get("format") == ITEMS_FORMAT \
            and isinstance(stored.get("index"), dict) and isinstance(stored.get("slim"), bytes) \
            and isinstance(stored.get("taken"), list):
        return stored["index"]
    return None


def _from_cache(ref: dict) -> list[Item]:
    """The items a spool entry points at in the build cache, each at the file version the
    pre-pass saw: a cache file changed since (another build, a damaged file) is refused."""
    stored = _read_pickle(ref["cache"])
    index = items_index(stored, ref["unit_key"])
    if index is None:
        raise ValueError("the build cache no longer holds this unit's items")
    items = unslim(stored["slim"], stored["taken"])
    out = []
    for path, signature in ref["refs"]:
        entry = index.get(path)
        if not (isinstance(entry, tuple) and len(entry) == 4 and entry[0] == signature and type(entry[3]) is int
                and 0 <= entry[3] < len(items)):
            raise ValueError(f"the build cache no longer holds {path} as validated")
        out.append(items[entry[3]])
    return out


class Spill:
    """Values a stage keeps for a later one without holding them in memory: pickled into
    one unnamed file (in ``folder``, the build's spool folder, when it is one: a tmpfs /tmp
    then does not hold them), made on the first ``put``, written and read by this process
    only, gone when closed or when the process ends."""

    def __init__(self, folder: Path | None = None):
        self._folder, self._file, self._end = folder, None, 0

    def put(self, value) -> tuple[int, int]:
        """Keep ``value``; returns where it is, for ``get``."""
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if self._file is None:
            folder = self._folder
            self._file = tempfile.TemporaryFile(dir=folder if folder is not None and folder.is_dir() else None)
        at = (self._end, len(data))
        # A short write (the disk filled mid-value) is written on from where it stopped; one
        # that writes nothing is a full disk. Either way the end moves only past a whole value,
        # so ``get`` never unpickles part of one and the callers' OSError path is the only one.
        done, view = 0, memoryview(data)
        while done < len(data):
            n = os.pwrite(self._file.fileno(), view[done:], self._end + done)
            if n <= 0:
                raise OSError(errno.ENOSPC, f"{getattr(self._file, 'name', '?')}: 暂存文件写入不完整 "
                                            "(a spill file could not be written)")
            done += n
        self._end += len(data)
        return at

    def get(self, at: tuple[int, int]):
        """The value kept at ``at``; OSError when the file was cut short."""
        offset, size = at
        data = os.pread(self._file.fileno(), size, offset) if self._file is not None else b""
        if len(data) != size:
            raise OSError(f"{getattr(self._file, 'name', '?')}: 暂存文件读取不完整 "
                          "(a spill file was cut short)")
        return pickle.loads(data)  # noqa: S301 - written by this process into its own unnamed file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def pack(items: list[Item]) -> bytes:
    """A unit's slim items as one blob: what a pre-pass worker hands the parent, the
    parent's store keeps (``UnitItems``) and the cache's slim record holds, the same bytes."""
    return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)


class UnitItems:
    """Every unit's validated items, each unit's kept as one pickled blob (``site.items``).

    The parent of a build needs a unit's items a unit at a time (the facts, the unit keys,
    the checker) but used to hold the whole province's for the whole build (~1.4 KiB a slim
    item; issue 15). A unit's pickle keeps the objects its slim items share once (``slim``):
    ~300 B an item. ``of(uid)`` unpickles a unit, keeping the last ``KEEP`` units;
    iterating gives every item, unit by unit, in the order the units were added. The lists
    handed out are read-only, like the slim items in them."""

    KEEP = 4

    def __init__(self):
        self._blobs: dict[str, bytes] = {}
        self._counts: dict[str, int] = {}
        self._live: dict[str, list[Item]] = {}   # the last units unpickled, oldest first

    @classmethod
    def of_items(cls, items) -> UnitItems:
        """A store of ``items`` (a tool's or a test's list), grouped by unit in first-seen order."""
        groups: dict[str, list[Item]] = {}
        for item in items:
            groups.setdefault(item.unit, []).append(item)
        out = cls()
        for uid, group in groups.items():
            out.add(uid, group)
        return out

    def add(self, uid: str, items: list[Item]) -> None:
        """Keep ``uid``'s items (after any it has already): the scan adds each unit once."""
        items = [*self.of(uid), *items] if uid in self._blobs else list(items)
        if not items:
            return
        self._blobs[uid] = pack(items)
        self._counts[uid] = len(items)
        self._live.pop(uid, None)

    def add_pickled(self, uid: str, blob: bytes, count: int) -> None:
        """Keep ``uid``'s items as pickled (a list of ``count`` items) by a pre-pass worker."""
        if uid in self._blobs:
            self.add(uid, pickle.loads(blob))  # noqa: S301 - pickled by our own worker
            return
        if count:
            self._blobs[uid], self._counts[uid] = blob, count
            self._live.pop(uid, None)

    def of(self, uid: str) -> list[Item]:
        """``uid``'s items in file order (empty for a unit without items)."""
        live = self._live.pop(uid, None)
        if live is None:
            blob = self._blobs.get(uid)
            if blob is None:
                return []
            live = pickle.loads(blob)  # noqa: S301 - pickled by this process, never read from a file
        self._live[uid] = live          # now the newest
        while len(self._live) > self.KEEP:
            del self._live[next(iter(self._live))]
        return live

    def unit_ids(self) -> list[str]:
        """The units with items, in the order they were added."""
        return list(self._blobs)

    def blob(self, uid: str) -> bytes | None:
        """``uid``'s items as kept, pickled (None for a unit without items)."""
        return self._blobs.get(uid)

    def units(self) -> Iterator[tuple[str, list[Item]]]:
        """(unit id, its items) of every unit with items, in the order they were added."""
        for uid in list(self._blobs):
            yield uid, self.of(uid)

    def count(self, uid: str) -> int:
        return self._counts.get(uid, 0)

    def __iter__(self) -> Iterator[Item]:
        for _, items in self.units():
            yield from items

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __bool__(self) -> bool:
        return bool(self._blobs)

    def __eq__(self, other) -> bool:
        """The same units in the same order, with equal items (compared a unit at a time)."""
        if not isinstance(other, UnitItems):
            return NotImplemented
        return list(self._blobs) == list(other._blobs) and all(self.of(uid) == other.of(uid) for uid in self._blobs)

    __hash__ = None

    def nbytes(self) -> int:
        """The bytes of every unit's pickle (what the store holds besides the units kept live)."""
        return sum(map(len, self._blobs.values()))
