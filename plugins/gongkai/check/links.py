"""链接 rule: every internal link and #anchor of a unit's built pages resolves in the
built output; external links are listed in the report, never fetched.

``scan_output`` reads each built HTML page once (the build wrote them; nothing in
content/ is read again) and keeps its links and its anchors; the rule compares them.
Our templates write attributes in double quotes, escaped, so a regular expression
over attributes is enough and fast on tens of thousands of pages.

In a build, each unit's worker scans the folder it has just written (``stash_unit``:
the pages are still in the page cache, and the workers run in parallel) and leaves
the scan in a per-build stash beside the unit folders (``STASH``); the parent's check
stage reads the stash (incremental/checks.py ``Scanner``), not the pages. The parent
holds no unit's files or anchors for the whole stage: a link that leaves its unit loads
the files of the unit it points into, and its anchors only when it has a #fragment, a
few units at a time (``UnitFiles``).
"""
from __future__ import annotations

import bisect
import hashlib
import html
import io
import json
import operator
import os
import pickle
import posixpath
import re
import stat
import sys
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from ..paths import TooLarge, is_regular, read_regular
from .engine import Hit, rule
from .unitfacts import UnitFacts

_LINK = re.compile(r"""\s(?:href|src)\s*=\s*"([^"]*)\"""")
_ANCHOR = re.compile(r"""\s(?:id|name)\s*=\s*"([^"]*)\"""")
_IGNORED_SCHEMES = ("mailto", "tel", "javascript", "data", "sms")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~/-]+")   # an href ``Resolver._parse`` takes as it is
MAX_PAGE_BYTES = 20_000_000
STASH = ".check-stash"     # beside the unit folders of one build: each unit's scan, left by its worker
STASH_FORMAT = 5
OUTSIDE_MEMO = 1 << 16     # answers on links that leave a unit kept at most (``internal``)


class Link(NamedTuple):
    line: int
    href: str


@dataclass
class PageLinks:
    path: str                       # relative to the output root, e.g. shili-county/art/x.html
    links: list[tuple[int, str]] = field(default_factory=list)   # (line, href), as ``Link``


@dataclass
class SiteFiles:
    """Every file of the built output (relative paths) and the anchors of each HTML page."""

    shown_root: str                 # how messages name the output folder, e.g. 'output'
    site_root: str = ""             # absolute URL prefix that also means 'this site'
    files: set[str] = field(default_factory=set)
    anchors: dict[str, frozenset[str]] = field(default_factory=dict)
    # Unit folders built elsewhere (a subset build): links into them are left to merge.
    foreign: frozenset[str] = frozenset()
    # The link rule's answers on links that leave a unit (``internal``): (target, fragment) ->
    # (the file it names, whether it resolves). Valid while these files are.
    outside_ok: dict[tuple[str | None, str], tuple[str | None, bool]] = field(default_factory=dict, repr=False,
                                                                            compare=False)

    def elsewhere(self, target: str | None) -> bool:
        return bool(self.foreign) and target is not None and target.split("/", 1)[0] in self.foreign


def scan_output(root: Path, shown_root: str, site_root: str = "", skip: frozenset[str] = frozenset()
                ) -> tuple[SiteFiles, dict[str, list[PageLinks]]]:
    """(every file and anchor, unit id -> its pages' links) of the built output under ``root``;
    top-level folders named in ``skip`` are left out (the caller adds them: ``add_unit``)."""
    files = SiteFiles(shown_root, site_root.rstrip("/"))
    pages: dict[str, list[PageLinks]] = {}
    top = str(root)
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == top:
            dirnames[:] = [d for d in dirnames if d not in skip]
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/")
        for name in filenames:
            rel = name if prefix == "." else f"{prefix}/{name}"
            page = _scan_file(os.path.join(dirpath, name), rel, files)
            if page is not None:
                pages.setdefault(rel.split("/", 1)[0], []).append(page)
    for found in pages.values():
        found.sort(key=lambda p: p.path.split("/"))
    return files, pages


def scan_unit(folder: Path, uid: str, leave_out: frozenset[str] = frozenset(), written: Written | None = None
              ) -> tuple[SiteFiles, list[PageLinks]]:
    """One unit's folder as ``scan_output`` sees it (paths from the output root), without
    the top-level entries in ``leave_out``. Each folder's pages after its first are read
    against the first (``_fast_scan``'s ``base``): pages of one folder end alike. A folder
    with one page (a column's index.html: ~30 of a unit's ~40 pages when its columns hold few
    items) is read against the first such page of its depth: column pages end with the same
    navigation and footer, their relative links alike at one depth. Any base gives the same
    answer (``_sync`` compares the texts); a good one only reads less. ``written``: the
    text of the pages the unit's writer wrote in this build (``Written``): such a page is
    not read back; the files are still those the walk finds."""
    files = SiteFiles("")
    found: list[PageLinks] = []
    interned: dict[str, str] = {}
    lone: dict[int, _Marks] = {}   # depth -> the marks of the first one-page folder's page there
    for where, rel, names in _regular_files(str(folder), uid, leave_out):
        base = _Marks()
        if sum(name.endswith(".html") for name in names) == 1:
            base = lone.setdefault(rel.count("/"), base)
        for name in names:
            page = _scan_file(os.path.join(where, name), f"{rel}/{name}", files, interned, base, regular=True,
                              written=written)
            if page is not None:
                found.append(page)
    found.sort(key=lambda p: p.path.split("/"))
    return files, found


def _regular_files(top: str, uid: str, leave_out: frozenset[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(folder, its path from the output root, the names of its regular files) for ``top``
    and every folder under it, as ``os.walk`` then ``lstat`` find them: a symlink is neither
    followed nor listed, an unreadable folder is passed over. The file system's entry type
    answers (no ``lstat`` per file) when it gives one."""
    stack = [(top, uid)]
    while stack:
        where, rel = stack.pop()
        names, below = [], []
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    if where == top and entry.name in leave_out:
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            below.append((entry.path, f"{rel}/{entry.name}"))
                        elif entry.is_file(follow_symlinks=False):
                            names.append(entry.name)
                    except OSError:
                        continue
        except OSError:
            continue
        yield where, rel, names
        stack.extend(reversed(below))


def stash_unit(folder: Path, uid: str, stash: Path, site_root: str, written: Written | None = None) -> None:
    """Scan the unit folder a worker has just written and leave the scan in ``stash``
    (``<stash>/<uid>.pickle``): a header (files, external links, folder tokens) the check
    stage reads for every unit, the anchors of its pages (read only when a link with a #fragment
    points into the unit), then the link rule's verdicts on the unit's links
    (``judge_unit``), read when the rule reaches the unit.
    Written to a temporary name and renamed: a stash file is whole or absent. ``written``:
    see ``scan_unit``."""
    from types import SimpleNamespace

    files, found = scan_unit(folder, uid, written=written)
    files.site_root = site_root.rstrip("/")
    resolver = Resolver(files)   # external_links and judge_unit resolve the same links
    external = external_links(SimpleNamespace(pages=found, files=files), resolver)
    anchors = dump_anchors(files.anchors)
    header = {"format": STASH_FORMAT, "unit": uid, "site_root": site_root, "files": sorted(files.files),
              "external": external, "anchors_bytes": len(anchors), "dirs": dir_tokens(files.files, files.anchors)}
    body = judge_unit(uid, found, files, resolver)
    stash.mkdir(exist_ok=True)
    tmp = stash / f".{uid}.pickle.tmp"
    with open(tmp, "wb") as f:
        pickle.dump(header, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.write(anchors)
        pickle.dump(body, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, stash / f"{uid}.pickle")


def read_stash(path: Path, uid: str, site_root: str) -> tuple[dict, bytes, bytes] | None:
    """(header, the pickled anchors' bytes, the pickled verdicts' bytes) of a unit's stash
    file, or None when it is missing, not a regular file (a symlink is not followed),
    damaged, or made for another unit or site root (then the folder is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            data = f.read()
        view = io.BytesIO(data)
        header = pickle.load(view)  # noqa: S301 - written by this build's own workers, in its own partial folder
    except Exception:  # noqa: BLE001 - a damaged stash is only a slower check stage
        return None
    if not (isinstance(header, dict) and header.get("format") == STASH_FORMAT and header.get("unit") == uid
            and header.get("site_root") == site_root and isinstance(header.get("anchors_bytes"), int)
            and isinstance(header.get("dirs"), dict)):
        return None
    start = view.tell()
    end = start + header["anchors_bytes"]
    if end > len(data):
        return None
    return header, data[start:end], data[end:]


def load_verdicts(body: bytes) -> tuple[list, list, bytes]:
    """The verdicts from the bytes ``read_stash`` returned (or the cache kept)."""
    failing, outside, places = pickle.loads(body)  # noqa: S301 - our own stash or cache folder
    return failing, outside, places


def dump_verdicts(verdicts: tuple[list, list, bytes]) -> bytes:
    return pickle.dumps(verdicts, protocol=pickle.HIGHEST_PROTOCOL)


def dump_anchors(anchors: dict[str, frozenset[str]]) -> bytes:
    """The anchors pickled, each distinct id and each distinct list of ids one object: a
    pickle stores an object it meets again as a reference, so the pages of one kind (the
    same ids) cost a reference each, and loading them makes each string and list once (the
    check stage loads a unit's anchors for links into it from every other unit)."""
    ids_of: dict[frozenset[str], list[str]] = {}
    names: dict[str, str] = {}
    out = {}
    for page, ids in sorted(anchors.items()):
        got = ids_of.get(ids)
        if got is None:
            got = ids_of[ids] = [names.setdefault(name, name) for name in sorted(ids)]
        out[page] = got
    return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)


def dir_tokens(files: Iterable[str], anchors: dict[str, frozenset[str]]) -> dict[str, bytes]:
    """Folder (from the output root, '' for the root) -> a digest of what a link can see
    in it: the names of its files and the anchors of its pages. Whether a link resolves
    depends on its target's folder only (and, for a link to a folder, on that folder:
    ``_target``), so the link rule's hits for a unit hold while the folders its outside
    links point into are the same (``internal``, incremental/checks.py ``link_hits``); a
    new day that adds a search shard or an item page elsewhere in the unit leaves them be."""
    grouped: dict[str, list] = {}
    for rel in sorted(files):
        folder, _, name = rel.rpartition("/")
        ids = anchors.get(rel)
        grouped.setdefault(folder, []).append([name, sorted(ids)] if ids is not None else [name])
    # ensure_ascii: a name the file system gave as surrogates encodes as well.
    return {folder: hashlib.blake2b(json.dumps(entries).encode("ascii"), digest_size=16).digest()
            for folder, entries in grouped.items()}


def link_folders(target: str) -> tuple[str, str]:
    """The folders whose ``dir_tokens`` decide a link to ``target`` (a file from the output
    root): its own folder, and the target as a folder (a link to a folder means its index.html)."""
    return target.rpartition("/")[0], target


def load_anchors(body: bytes) -> Mapping[str, frozenset[str]]:
    """Page -> its anchor ids, from ``dump_anchors``' bytes; pages of one kind carry the
    same ids, so each distinct set is one object. A link with a #fragment asks one page of
    the unit: each page's set is made when first asked (``_Anchors``)."""
    found = pickle.loads(body)  # noqa: S301 - our own stash or cache folder
    if not isinstance(found, dict) or not all(type(v) is list for v in found.values()):
        raise ValueError("not a map of anchors")
    return _Anchors(found)


class _Anchors(Mapping):
    """``dump_anchors``' map read back: page -> frozenset of its ids, each made on first use."""

    def __init__(self, lists: dict[str, list[str]]):
        self._lists = lists
        self._made: dict[str, frozenset[str]] = {}
        self._sets: dict[frozenset[str], frozenset[str]] = {}

    def __getitem__(self, page: str) -> frozenset[str]:
        try:
            return self._made[page]
        except KeyError:
            ids = frozenset(self._lists[page])
            made = self._made[page] = self._sets.setdefault(ids, ids)
            return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)


class UnitFiles:
    """Every unit's files and anchors, as the link rule asks about them (``SiteFiles.files``
    and ``.anchors`` are views over it): a unit's files are loaded when a link points into
    the unit, its anchors only when such a link has a #fragment, and the last ``keep``
    units of each are kept. The check stage's memory then does not grow with the number
    of units (issue 15); the links inside a unit were judged from its own folder
    (``judge_unit``). ``portal``: the files and anchors outside unit folders, all kept."""

    KEEP = 32

    def __init__(self, portal: SiteFiles, keep: int | None = None):
        self.portal_files, self.portal_anchors = portal.files, portal.anchors
        self.keep = keep or self.KEEP
        self.loaders: dict[str, tuple[Callable[[], Iterable[str]], Callable[[], dict[str, frozenset[str]]]]] = {}
        self._files: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._anchors: OrderedDict[str, dict[str, frozenset[str]]] = OrderedDict()
        self.loads: dict[str, Counter] = {"files": Counter(), "anchors": Counter()}   # unit -> times loaded
        self.most_held = 0     # the most units whose files or anchors were held at once

    def add(self, uid: str, files: Callable[[], Iterable[str]],
            anchors: Callable[[], dict[str, frozenset[str]]]) -> None:
        """``uid``'s files and anchors come from these (each called when first needed)."""
        self.loaders[uid] = (files, anchors)

    def _unit(self, rel: object) -> str | None:
        if not isinstance(rel, str):
            return None
        uid = rel.split("/", 1)[0]
        return uid if uid in self.loaders and uid != rel else None

    def _get(self, kind: str, held: OrderedDict, uid: str):
        if uid in held:
            held.move_to_end(uid)
            return held[uid]
        found = self.loaders[uid][0]() if kind == "files" else self.loaders[uid][1]()
        held[uid] = frozenset(found) if kind == "files" else found
        self.loads[kind][uid] += 1
        if len(held) > self.keep:
            held.popitem(last=False)
        self.most_held = max(self.most_held, len(self._files), len(self._anchors))
        return held[uid]

    def has(self, rel: object) -> bool:
        uid = self._unit(rel)
        if uid is None:
            return rel in self.portal_files
        return rel in self._get("files", self._files, uid)

    def anchors(self, rel: str, default: frozenset[str] = frozenset()) -> frozenset[str]:
        uid = self._unit(rel)
        if uid is None:
            return self.portal_anchors.get(rel, default)
        return self._get("anchors", self._anchors, uid).get(rel, default)


class _FilesView:
    """``SiteFiles.files`` over a ``UnitFiles`` (the link rule asks only ``in``)."""

    def __init__(self, store: UnitFiles):
        self.store = store

    def __contains__(self, rel: object) -> bool:
        return self.store.has(rel)


class _AnchorsView:
    """``SiteFiles.anchors`` over a ``UnitFiles`` (the link rule asks only ``get``)."""

    def __init__(self, store: UnitFiles):
        self.store = store

    def get(self, rel: str, default: frozenset[str] = frozenset()) -> frozenset[str]:
        return self.store.anchors(rel, default)


def lazy_files(files: SiteFiles, store: UnitFiles) -> SiteFiles:
    """``files`` (the portal's) answering for every unit through ``store``."""
    files.files, files.anchors = _FilesView(store), _AnchorsView(store)  # type: ignore[assignment]
    return files


def add_unit(files: SiteFiles, part: SiteFiles) -> None:
    files.files.update(part.files)
    files.anchors.update(part.anchors)


def _scan_file(path: str, rel: str, files: SiteFiles, interned: dict[str, str] | None = None,
               base: _Marks | None = None, regular: bool = False, written: Written | None = None
               ) -> PageLinks | None:
    """Add a regular file (never a symlink) to ``files``; the links of an HTML page.
    ``base``: the marks of its folder's first page (filled when empty: ``_fast_scan``);
    ``regular``: the caller found ``path`` a regular file (``_regular_files``);
    ``written``: the texts the unit's writer wrote (a page it holds is not read)."""
    if not rel.endswith(".html"):
        if regular or is_regular(path):
            files.files.add(rel)
        return None
    text = written.text(path) if written is not None and regular else None
    if text is None:
        data = _read_page(path, regular)
        if data is None:
            return None
        text = None if data is _TOO_LARGE else data.decode("utf-8", "replace")
    files.files.add(rel)
    if text is None:
        return None
    if "\r" in text:  # what a text-mode read gives (universal newlines)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    unit = "/" in rel    # the portal's own pages belong to no unit: their links are not kept
    # One object per distinct href: every page repeats the navigation, and a pickle of the
    # unit's links stores a repeated object once.
    intern = interned.setdefault if interned is not None else None
    found = None
    if base is not None:
        found = _fast_scan(text, unit, intern, base) if base.text is not None else _fast_scan(text, unit, intern,
                                                                                              keep=base)
    if found is None:
        found = _fast_scan(text, unit, intern)
    if found is None:
        found = _scan_text(text, unit, intern)
    files.anchors[rel] = found[0]
    return PageLinks(rel, found[1]) if unit else None


_TOO_LARGE = object()   # _read_page: a page too large to scan


class Written:
    """The pages a unit's writer wrote in this build (articles.UnitWriter), each with the
    text it encoded and wrote, so the worker's link scan does not read and decode them
    again (``scan_unit``): the bytes on disk are ``text.encode("utf-8")``, which decodes
    back to ``text`` exactly (a str that cannot be encoded is never written), so the scan
    sees what a read would give it.

    A text stands for the file only while the file is the one the writer left: the open
    file's ``fstat`` right after the write (device, inode, size, modification and change
    times) is compared with the path's ``lstat`` when the scan asks; anything that wrote,
    replaced or touched the file since (an attachment copied over a page, a plugin rewriting
    a page on ``content_written``) changed one of them, and the page is read from disk. (The
    change time is the kernel's clock, which user code cannot set; once it was read, as the
    writer's ``fstat`` does, Linux 6.13+ gives the next change a finer time than its clock
    tick.) A page written twice holds the last text; one whose write failed holds none.

    Held: at most ``budget`` bytes of text (``sys.getsizeof``): a 20k/100 unit's ~230 pages
    are ~5–6 MiB, a unit of 2,000 items holds its first pages and the rest are read, as
    before. Emptied by ``clear`` once the scan is done."""

    BUDGET = 8 * 1024 * 1024

    def __init__(self, budget: int | None = None):
        self._held: dict[str, tuple[str, os.stat_result]] = {}
        self.budget = self.room = self.BUDGET if budget is None else budget

    def forget(self, path: str) -> None:
        """``path`` was (or may have been) written by other means than ``keep``."""
        got = self._held.pop(path, None)
        if got is not None:
            self.room += sys.getsizeof(got[0])

    def keep(self, path: str, text: str, size: int, st: os.stat_result) -> None:
        """``path`` now holds ``text`` (``size`` bytes once encoded); ``st``: the open file's
        ``fstat`` after the write. (Called for every page a unit writes: kept lean.) A page
        the scan would not read (above MAX_PAGE_BYTES, not .html) or past the budget is
        not held."""
        held = self._held
        if path in held:
            self.forget(path)
        cost = sys.getsizeof(text)
        if cost <= self.room and size <= MAX_PAGE_BYTES and path.endswith(".html"):
            self.room -= cost
            held[path] = (text, st)

    def text(self, path: str) -> str | None:
        """The text of the page at ``path`` when it is still the file the writer wrote."""
        got = self._held.get(path)
        if got is None:
            return None
        try:
            now = os.lstat(path)
        except OSError:
            return None
        was = got[1]
        if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_mode) != (
                was.st_ino, was.st_dev, was.st_size, was.st_mtime_ns, was.st_ctime_ns, was.st_mode) \
                or not stat.S_ISREG(now.st_mode):
            return None
        return got[0]

    def clear(self) -> None:
        self._held.clear()
        self.room = self.budget

    def __len__(self) -> int:
        return len(self._held)


def _read_page(path: str, regular: bool) -> bytes | object | None:
    """The bytes of the regular file at ``path`` (a symlink is not followed), ``_TOO_LARGE``
    when it has more than MAX_PAGE_BYTES, None when it is not a regular file or cannot be
    read. ``regular``: the caller found it one (no ``lstat`` then)."""
    if not regular and not is_regular(path):
        return None
    try:
        # a FIFO put in the file's place since it was listed is refused, not waited on
        return read_regular(path, MAX_PAGE_BYTES)
    except TooLarge:
        return _TOO_LARGE
    except (OSError, ValueError):
        return None


def _scan_text(text: str, unit: bool, intern: Callable[[str, str], str] | None = None
               ) -> tuple[frozenset[str], list[tuple[int, str]]]:
    """(anchor ids, [(line, href), …]) of a page: ``_ANCHOR`` and ``_LINK`` as they read it;
    the links only of a unit's page. ``intern``: ``dict.setdefault`` of the hrefs met."""
    unescape = html.unescape
    anchors = frozenset(unescape(a) if "&" in a else a for a in _ANCHOR.findall(text))
    found: list[tuple[int, str]] = []
    if not unit:
        return anchors, found
    count = text.count
    line, last = 1, 0
    for m in _LINK.finditer(text):
        start = m.start()
        line += count("\n", last, start)
        last = start
        href = m[1]
        if "&" in href:
            href = unescape(href)
        found.append((line, intern(href, href) if intern is not None else href))
    return anchors, found


# ``_LINK`` and ``_ANCHOR`` in one pass, for the pages where no whitespace touches an '='
# (every page our templates write): each match starts at the '=' (a literal, which the
# regular expression engine finds far faster than the '\s' the others start with) and looks
# back for the attribute's name. Group 1 is a link, 2 an anchor; the last two branches match
# an '=' with whitespace beside it, where ``\s*`` could be non-empty: then the page is read
# by ``_scan_text``. The look-behind for the last letter of the four names comes first (each
# name's own implies it): most '=' of a page close another attribute (class=, type=), and one
# test turns them away.
_FAST = re.compile(r'=(?:(?<=[fcde]=)(?:(?:(?<=\shref=)|(?<=\ssrc=))"([^"]*)"|(?:(?<=\sid=)|(?<=\sname=))"([^"]*)")'
                   r'|(?<=\s=)|(?=\s))')


def _fast_scan(text: str, unit: bool, intern: Callable[[str, str], str] | None = None, base: _Marks | None = None,
               keep: _Marks | None = None) -> tuple[frozenset[str], list[tuple[int, str]]] | None:
    """``_scan_text``'s answer, or None when this pass cannot vouch for it.

    Without whitespace beside an '=', both patterns match exactly where this one does,
    shifted to the '=': their matches start at a whitespace character and name characters,
    never at the '"' that ends the match before, so both scans skip the same text. One
    pass stands for two unless a match of one pattern could start inside a value the other
    matched: such a value ends with the name, '=' and maybe whitespace (then: None).

    ``keep``: filled with this page's marks, for the pages after it. ``base``: an earlier
    page's marks; the pages of one folder end alike (the column navigation, the footer),
    and from a point where both pages end alike the matches are the earlier page's
    (``_sync``): the text is scanned up to that point only.
    """
    stop = _sync(text, base) if base is not None else None
    if keep is not None:
        keep.__init__()   # a page that declined leaves nothing for the next
    unescape = html.unescape
    anchors: list[str] = []
    found: list[tuple[int, str]] = []
    count = text.count
    line, last = 1, 0
    if keep is not None:   # the folder's first page (no ``stop``): every match's place kept
        ends, link_at, anchor_at = keep.ends, keep.link_at, keep.anchor_at
        for m in _FAST.finditer(text):
            kind = m.lastindex
            if kind is None:
                return None
            value = m[kind]
            if value[-1:] in _SUSPECT and value.rstrip().endswith("="):
                return None
            if "&" in value:
                value = unescape(value)
            ends.append(m.end())
            if kind == 2:
                anchors.append(value)
                anchor_at.append(m.start())
            elif unit:
                at = m.start()
                start = at - (5 if text[at - 1] == "f" else 4)   # where ``_LINK`` matches: the '\s'
                line += count("\n", last, start)
                last = start
                found.append((line, intern(value, value) if intern is not None else value))
                link_at.append(at)
        keep.text, keep.anchors, keep.links = text, anchors, found
        return frozenset(anchors), found
    # Up to the point where this page meets its base: the matches of the text cut there are
    # this page's matches that end before it (each reads no further than its closing '"'
    # and the character after an '='), and the first match after them (``over``) is the one
    # that could run over the point.
    at = len(text) if stop is None else stop[0]
    m = None
    for m in _FAST.finditer(text, 0, at):
        kind = m.lastindex
        if kind is None:
            return None
        value = m[kind]
        if value[-1:] in _SUSPECT and value.rstrip().endswith("="):
            return None
        if "&" in value:
            value = unescape(value)
        if kind == 2:
            anchors.append(value)
        elif unit:
            start = m.start()
            start -= 5 if text[start - 1] == "f" else 4   # where ``_LINK`` matches: the '\s'
            line += count("\n", last, start)
            last = start
            found.append((line, intern(value, value) if intern is not None else value))
    if stop is not None:
        over = _FAST.search(text, 0 if m is None else m.end())
        if over is not None and over.start() < at:   # a match runs over the point (read whole)
            return None
        # The base's matches from the point, its links' lines moved by the lines before it.
        at_base = stop[1]
        rest = base.links[bisect.bisect_left(base.link_at, at_base):]
        moved = count("\n", 0, at - 5) - base.newlines_before(at_base - 5)
        found += rest if not moved else [(n + moved, href) for n, href in rest]
        anchors += base.anchors[bisect.bisect_left(base.anchor_at, at_base):]
    return frozenset(anchors), found


class _Marks:
    """A page's matches as ``_fast_scan`` met them, for the pages after it in its folder:
    its text, where each match ends, where each link and anchor match starts, and what it
    gave (``text`` None: not filled yet)."""

    __slots__ = ("text", "ends", "link_at", "links", "anchor_at", "anchors", "_newlines")

    def __init__(self):
        self.text: str | None = None
        self.ends: list[int] = []
        self.link_at: list[int] = []
        self.anchor_at: list[int] = []
        self.links: list[tuple[int, str]] = []
        self.anchors: list[str] = []
        self._newlines: dict[int, int] = {}

    def newlines_before(self, point: int) -> int:
        """``text.count("\\n", 0, point)``, counted once a point: the pages of a folder mostly
        meet their base at the same one."""
        got = self._newlines.get(point)
        if got is None:
            got = self._newlines[point] = self.text.count("\n", 0, point)
        return got


def _sync(text: str, base: _Marks) -> tuple[int, int] | None:
    """(a point of ``text``, the same point of the base page) from which ``_FAST`` matches
    the same in both, or None. A point qualifies when it ends a match of the base (no match
    of the base runs over it) and both texts are equal from 5 characters before it to their
    ends: every match tried at or after the point reads its text from at most 5 characters
    back (the look-behind of ' name=') to the end, so both scans find the same matches
    there, once each has reached the point outside a match (the caller checks this page's).
    The earliest such point, by bisection: equal from one point means equal from every later one."""
    ends, other = base.ends, base.text
    shift = len(text) - len(other)
    lo, hi = 0, len(ends)
    while lo < hi:
        mid = (lo + hi) // 2
        point = ends[mid]
        if point >= 5 and text.endswith(other[point - 5:]):
            hi = mid
        else:
            lo = mid + 1
    if lo == len(ends):
        return None
    return ends[lo] + shift, ends[lo]


_SUSPECT = frozenset("=" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace()))   # '=', whitespace


def resolve(page: str, href: str, files: SiteFiles) -> tuple[str, str | None, str] | None:
    """(kind, target file or None, fragment) — kind 'internal' / 'external' — or None to ignore."""
    href = href.strip()
    if not href:
        return None
    if files.site_root and (href == files.site_root or href.startswith(files.site_root + "/")):
        href = "/" + href[len(files.site_root):].lstrip("/")
    try:
        parts = urlsplit(href)
    except ValueError:   # `//[zz/`, `http://[::1/`: no browser can follow it; a broken link of the site
        return ("internal", None, "")
    if parts.scheme in _IGNORED_SCHEMES:
        return None
    if parts.scheme or parts.netloc:
        return ("external", None, href)
    target = unquote(parts.path)
    if not target:
        target = page
    elif target.startswith("/"):
        target = target.lstrip("/")
    else:
        target = posixpath.join(posixpath.dirname(page), target)
    if target.endswith("/") or target == "":
        target += "index.html"
    target = posixpath.normpath(target)
    if target.startswith(".."):
        return ("internal", None, unquote(parts.fragment))
    if target not in files.files and f"{target}/index.html" in files.files:
        target = f"{target}/index.html"
    return ("internal", target, unquote(parts.fragment))


class Resolver:
    """``resolve`` against one ``SiteFiles``, memoized: every page of a unit repeats the
    navigation. What an href means apart from where it stands (scheme, path, fragment) is
    worked out once per href; where it points, once per folder and href — or page and
    href, for an href that names no path (``#q1``, ``?x``: it points at its own page).
    Give each ``SiteFiles`` its own: a target is looked up in its files."""

    def __init__(self, files: SiteFiles):
        self.files = files
        self._parsed: dict[str, tuple] = {}
        self._done: dict[tuple[str, str], tuple[str, str | None, str] | None] = {}
        self._by_base: dict[tuple[str, str, str], tuple[str, str | None, str]] = {}
        self._parents: dict[tuple[str, int], str | None] = {}
        self._tails: dict[str, tuple] = {}

    def __call__(self, page: str, href: str, folder: str | None = None) -> tuple[str, str | None, str] | None:
        """``resolve(page, href, files)``; ``folder``: the page's, when the caller knows it."""
        parsed = self._parsed.get(href)
        if parsed is None:
            parsed = self._parsed[href] = self._parse(href)
        if parsed[0] != "path":
            return parsed[1]
        path = parsed[1]
        if folder is None:
            folder = posixpath.dirname(page)
        key = (folder if path else page, href)
        try:
            return self._done[key]
        except KeyError:
            found = self._done[key] = self._shared(page, folder, path, parsed[2])
            return found

    def _shared(self, page: str, folder: str, path: str, fragment: str) -> tuple[str, str | None, str]:
        """``_place``, shared by the folders where a path means the same file: an absolute
        path means one file from any folder, and ``../``×k + rest one file from every folder
        with the same k-th parent (the navigation's links, relative to the unit's root, are
        the same from every folder of one depth: ~260k (folder, href) pairs at 20k items)."""
        if not path:
            return self._place(page, folder, path, fragment)
        if path[0] == "/":
            key: tuple = ("/", path, fragment)
        else:
            k = 0
            while path.startswith("../", 3 * k):
                k += 1
            base = self._parent(folder, k) if k else None
            if base is None:
                return self._place(page, folder, path, fragment)
            key = (base, path[3 * k:], fragment)
        try:
            return self._by_base[key]
        except KeyError:
            found = self._by_base[key] = self._place(page, folder, path, fragment)
            return found

    def fragment_only(self, href: str) -> str | None:
        """The (unquoted) fragment of an href that names no path (``#q1``, ``?x``, `` #q``:
        its own page), else None."""
        parsed = self._parsed.get(href)
        if parsed is None:
            parsed = self._parsed[href] = self._parse(href)
        return parsed[2] if parsed[0] == "path" and not parsed[1] else None

    def key(self, folder: str, href: str) -> tuple | None:
        """What ``self(page, href)`` depends on beyond the files, for any page of ``folder``:
        pairs with one key get one answer. None when the answer is kept per folder and href
        (a path relative to the folder itself, a folder named unplainly) or depends on the
        page (no path: ``#…``, ``?…``). The keys of ``_shared``, and ('', href) for an href
        whose answer depends on no page (external, ignored, unreadable)."""
        tail = self._tails.get(href)
        if tail is None:
            tail = self._tails[href] = self._tail(href)
        k = tail[0]
        if k <= 0:
            return tail[1] if k == 0 else None
        base = self._parent(folder, k)
        return None if base is None else (base, *tail[1])

    def _tail(self, href: str) -> tuple:
        """``key``'s part that depends on the href alone: (k, (rest, fragment)) for a path
        with k ≥ 1 leading '../', (0, key) when the key does not depend on the folder,
        (-1, None) when there is no key."""
        parsed = self._parsed.get(href)
        if parsed is None:
            parsed = self._parsed[href] = self._parse(href)
        if parsed[0] != "path":
            return (0, ("", href))
        path = parsed[1]
        if not path:
            return (-1, None)
        if path[0] == "/":
            return (0, ("/", path, parsed[2]))
        k = 0
        while path.startswith("../", 3 * k):
            k += 1
        return (k, (path[3 * k:], parsed[2])) if k else (-1, None)

    def _parent(self, folder: str, k: int) -> str | None:
        """``folder`` without its last k parts ('' for all of them), or None when it does not
        name k folders plainly (absolute, '.', '..' or empty parts): then ``normpath`` of
        ``folder/../…/rest`` depends on more than that parent and the rest."""
        try:
            return self._parents[(folder, k)]
        except KeyError:
            parts = folder.split("/")
            plain = (folder and not folder.startswith("/") and posixpath.normpath(folder) == folder
                     and ".." not in parts and k <= len(parts))
            found = self._parents[(folder, k)] = "/".join(parts[:len(parts) - k]) if plain else None
            return found

    def external(self, href: str) -> str | None:
        """The URL ``resolve`` gives ``href`` when it is external (on any page), else None."""
        parsed = self._parsed.get(href)
        if parsed is None:
            parsed = self._parsed[href] = self._parse(href)
        found = parsed[1] if parsed[0] == "done" else None
        return found[2] if found and found[0] == "external" else None

    def _parse(self, href: str) -> tuple:
        """('done', ``resolve``'s answer) when it does not depend on the page, else
        ('path', the unquoted path, the unquoted fragment)."""
        root = self.files.site_root
        # Most hrefs of a unit are plain relative paths (item pages, the navigation): no
        # space, scheme, netloc, query, fragment or escape, so ``urlsplit`` and ``unquote``
        # would give them back as they are.
        if _PLAIN_PATH.fullmatch(href) and not href.startswith("//") and not (
                root and (href == root or href.startswith(root + "/"))):
            return ("path", href, "")
        href = href.strip()
        if not href:
            return ("done", None)
        if root and (href == root or href.startswith(root + "/")):
            href = "/" + href[len(root):].lstrip("/")
        try:
            parts = urlsplit(href)
        except ValueError:
            return ("done", ("internal", None, ""))
        if parts.scheme in _IGNORED_SCHEMES:
            return ("done", None)
        if parts.scheme or parts.netloc:
            return ("done", ("external", None, href))
        return ("path", unquote(parts.path), unquote(parts.fragment))

    def _place(self, page: str, folder: str, target: str, fragment: str) -> tuple[str, str | None, str]:
        """The rest of ``resolve``: the path from the page, the file it names."""
        if not target:
            target = page
        elif target.startswith("/"):
            target = target.lstrip("/")
        else:
            target = posixpath.join(folder, target)
        if target.endswith("/") or target == "":
            target += "index.html"
        target = posixpath.normpath(target)
        if target.startswith(".."):
            return ("internal", None, fragment)
        files = self.files.files
        if target not in files and f"{target}/index.html" in files:
            target = f"{target}/index.html"
        return ("internal", target, fragment)


def external_links(unit: UnitFacts, resolver: Resolver | None = None) -> dict[str, list[str]]:
    """External URL -> the unit's pages that link to it (for the report; never fetched)."""
    pages = unit.pages or []
    resolve_ = resolver or Resolver(unit.files)
    # Whether a link is external does not depend on its page: each distinct href is asked
    # once, then each page's hrefs are met with the few external ones (a set operation
    # over the page's links, not a Python step per link: ~1M links at 20k items).
    second = operator.itemgetter(1)
    url_of = {href: url for href in set().union(*(map(second, page.links) for page in pages))
              if (url := resolve_.external(href)) is not None}
    out: dict[str, set[str]] = {}
    if url_of:
        wanted = url_of.keys()
        for page in pages:
            for href in wanted & set(map(second, page.links)):
                out.setdefault(url_of[href], set()).add(page.path)
    return {url: sorted(pages) for url, pages in sorted(out.items())}


def check_link(page: str, link: Link, r: tuple, files: SiteFiles) -> Hit | None:
    """The finding for one internal link, or None when it resolves (file and anchor)."""
    _, target, fragment = r
    if target is None or target not in files.files:
        return Hit(f"链接 '{link.href}' 指向的文件不存在", "指向本站已生成的页面或文件",
                   path=f"{files.shown_root}/{page}", line=link.line)
    if fragment and fragment != "top" and target.endswith(".html") \
            and fragment not in files.anchors.get(target, frozenset()):
        return Hit(f"链接 '{link.href}' 的锚点 #{fragment} 在 {target} 中不存在", "指向页面中存在的 id",
                   path=f"{files.shown_root}/{page}", line=link.line)
    return None


def judge_unit(uid: str, pages: list[PageLinks], files: SiteFiles,
               resolver: Resolver | None = None) -> tuple[list, list, bytes]:
    """The link rule's work that needs only the unit's own folder: (failing, outside, places).
    ``failing``: (page, line, href, resolved) of each link into the unit that does not
    resolve, in page and link order; ``outside``: the links that leave the unit (to
    another unit or the portal), one entry per folder and href — (a page it is on, href,
    target, fragment) — judged where every unit's files are known; ``places``: for each
    entry, its [(page, line, index in page), …], pickled: read only when the entry fails
    or goes to another part. A worker runs it on the folder it has just written
    (``stash_unit``): whether a link into the unit resolves depends on that folder only."""
    own = f"{uid}/"
    resolve_ = resolver or Resolver(files)
    second = operator.itemgetter(1)
    # Verdicts by folder, then href: every page of a folder repeats the same navigation. An
    # href that starts with '#' or '?' means its own page: _PAGE there, the verdict by page.
    # Across folders, by where the href points (``Resolver.key``): the navigation's links,
    # relative to the unit root, name the same files from every folder of one depth.
    by_folder: dict[str, dict[str, object]] = {}
    by_key: dict[tuple, object] = {}
    by_page: dict[tuple[str, str], object] = {}
    # Per folder, the hrefs whose links need a step on every page (failing, leaving the unit,
    # or judged by page); the others (resolving inside the unit, external) are passed over.
    steps: dict[str, set[str]] = {}
    failing: list[tuple[str, int, str, tuple]] = []
    outside: dict[tuple[str, str], tuple[str, str, list, tuple]] = {}
    for page in sorted(pages, key=lambda p: p.path):
        path = page.path
        folder = posixpath.dirname(path)
        seen = by_folder.get(folder)
        if seen is None:
            seen = by_folder[folder] = {}
            step = steps[folder] = set()
        else:
            step = steps[folder]
        # The hrefs new to the folder, in the order their first links stand (``outside``'s order).
        for href in [h for h in dict.fromkeys(map(second, page.links)) if h not in seen]:
            if href.lstrip().startswith(("#", "?")):
                seen[href] = _PAGE
                step.add(href)
                continue
            key = resolve_.key(folder, href)
            got = by_key.get(key, _UNSEEN) if key is not None else _UNSEEN
            if got is _UNSEEN:
                got = _verdict(own, path, href, resolve_, files)
                if key is not None:
                    by_key[key] = got
            if type(got) is _Leaves:   # one entry of ``outside`` per folder and href
                places: list = []
                outside[(folder, href)] = (path, href, places, got.r)
                got = places
            seen[href] = got
            if got is not _OK and got is not None:
                step.add(href)
        if not step:
            continue
        for index, line, href in [(i, line, href) for i, (line, href) in enumerate(page.links) if href in step]:
            got = seen[href]
            if got is _PAGE:
                got = by_page.get((path, href), _UNSEEN)
                if got is _UNSEEN:
                    got = by_page[(path, href)] = _own_verdict(own, path, href, resolve_, files)
                    if type(got) is _Leaves:
                        outside[(path, href)] = (path, href, [], got.r)
                        got = by_page[(path, href)] = outside[(path, href)][2]
                if got is _OK or got is None:
                    continue
            if type(got) is list:   # the places of a link that leaves the unit
                got.append((path, line, index))
            else:
                failing.append((path, line, href, got))
    return (failing, [(first, href, r[1], r[2]) for first, href, _, r in outside.values()],
            pickle.dumps([found for _, _, found, _ in outside.values()], protocol=pickle.HIGHEST_PROTOCOL))


class _Leaves(NamedTuple):
    """``_verdict`` on a link that leaves the unit: where it points."""
    r: tuple


def _verdict(own: str, page: str, href: str, resolve_: Resolver, files: SiteFiles) -> object:
    """What ``judge_unit`` keeps for an href seen first on ``page``: None (not an internal
    link), _OK, the resolved link when it fails (whether a link resolves depends on its
    target, not on the page it is on), or ``_Leaves`` for a link that leaves the unit."""
    r = resolve_(page, href) if href.strip() else None
    if r is None or r[0] != "internal":
        return None
    if r[1] is not None and r[1] != own[:-1] and not r[1].startswith(own):
        return _Leaves(r)
    return _OK if check_link(page, Link(0, href), r, files) is None else r


def _own_verdict(own: str, page: str, href: str, resolve_: Resolver, files: SiteFiles) -> object:
    """``_verdict`` on an href of ``page`` that starts with '#' or '?' (two or three on every
    page: the skip link, the column navigation's). When it names no path and the page is a
    plain path of the unit's files, it points at the page itself: only its fragment is
    looked up (``check_link``'s test), without resolving it again for every page."""
    fragment = resolve_.fragment_only(href)
    if fragment is None or not page.startswith(own) or not page.endswith(".html") or page not in files.files \
            or posixpath.normpath(page) != page:
        return _verdict(own, page, href, resolve_, files)
    if not fragment or fragment == "top" or fragment in files.anchors.get(page, frozenset()):
        return _OK
    return ("internal", page, fragment)


def _target(target: str, files: SiteFiles) -> str:
    """The last step of ``resolve``, the one that reads the other units' files: a folder
    link means its index.html."""
    if target not in files.files and f"{target}/index.html" in files.files:
        return f"{target}/index.html"
    return target


def stashed_outside(path: Path, uid: str, site_root: str) -> list:
    """The links that leave the unit (``judge_unit``'s ``outside``) from its stash file, or []
    when it cannot be read (the link rule then reads them as before)."""
    got = read_stash(path, uid, site_root)
    try:
        outside = load_verdicts(got[2])[1] if got is not None else []
        return [(first, href, target, fragment) for first, href, target, fragment in outside
                if isinstance(target, str) and isinstance(fragment, str)]
    except Exception:  # noqa: BLE001 - a damaged stash primes nothing: the rule reads the unit as before
        return []


def prime_outside(files: SiteFiles, outsides: Iterable[list]) -> int:
    """Answer the links that leave units (each of ``outsides``: a unit's ``judge_unit``
    ``outside``) before the link rule reaches the units, as ``internal`` would, into
    ``files.outside_ok``: grouped by the unit each points into, so each unit's files (and
    anchors) are loaded once for all of them. Judged unit after unit, the links of ~100
    units into each other loaded a unit's files or anchors ~23 times each (``UnitFiles``
    keeps ``KEEP``): ~0.7 s of the parent's 1.3 s at 20k/100. The answers are the same:
    each is a function of the target, its fragment and the files, which do not change in
    the stage. Nothing is primed when more than ``OUTSIDE_MEMO`` distinct targets would be
    held (the rule judges them as before). Returns how many were primed."""
    wanted: set[tuple[str, str]] = set()
    for outside in outsides:
        wanted.update((target, fragment) for _, _, target, fragment in outside)
        if len(wanted) > OUTSIDE_MEMO:
            return 0
    ok = files.outside_ok
    for target, fragment in sorted(wanted, key=lambda pair: (pair[0].split("/", 1)[0], pair)):
        if (target, fragment) not in ok:
            named = _target(target, files)
            ok[(target, fragment)] = (named, files.elsewhere(named) or check_link(
                "", Link(0, ""), ("internal", named, fragment), files) is None)
    return len(wanted)


def _verdicts(unit: UnitFacts) -> tuple[list, list, bytes]:
    memo = getattr(unit, "link_memo", None)   # incremental/checks.py: the workers' (or the cache's) verdicts
    found = memo.verdicts(unit.unit.id) if memo is not None else None
    return found if found is not None else judge_unit(unit.unit.id, unit.pages or [], unit.files)


def deferred(unit: UnitFacts) -> list[tuple[str, int, str]]:
    """(page, line, href) of the unit's links into folders built elsewhere (``files.foreign``):
    a subset build cannot see those files; merge checks them (``check_link``) in the merged tree."""
    if unit.pages is None or unit.files is None or not unit.files.foreign:
        return []
    files, out = unit.files, []
    _, outside, places = _verdicts(unit)
    loaded = None
    for n, (_, href, target, _) in enumerate(outside):
        if files.elsewhere(_target(target, files)):
            loaded = pickle.loads(places) if loaded is None else loaded  # noqa: S301 - ours (judge_unit)
            out += [(page, index, line, href) for page, line, index in loaded[n]]
    return [(page, line, href) for page, _, line, href in sorted(out)]


@rule("links.internal", cross_unit=True, pages=True)   # other units' pages: judged every build (or kept, see below)
def internal(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    if unit.pages is None or unit.files is None:
        return
    files = unit.files
    # incremental/checks.py: the hits of an earlier build, kept while the unit's key and the
    # scan token of every part its outside links point into are the same. Not in a subset
    # build (links into units built elsewhere are left out of its hits).
    memo = getattr(unit, "link_memo", None)
    memo = memo if hasattr(memo, "link_hits") and not files.foreign else None
    if memo is not None and (kept := memo.link_hits(unit.unit.id)) is not None:
        yield from kept
        return
    failing, outside, places = _verdicts(unit)
    hits = [hit for page, line, href, r in failing if (hit := check_link(page, Link(line, href), r, files))]
    # (target, fragment) -> (the file it names, whether it resolves), for every unit of the
    # check stage: many folders and units link the same pages (a unit's index, the portal),
    # and each answer may load another unit's files or anchors.
    ok = files.outside_ok
    if len(ok) > OUTSIDE_MEMO:   # bounded: a province's distinct targets are not all held
        ok.clear()
    bad = []
    for n, (first, href, target, fragment) in enumerate(outside):
        # Links that leave the unit, judged against every unit's files; links into units
        # built elsewhere (a subset build) are merge's.
        got = ok.get((target, fragment))
        if got is None:
            named = _target(target, files)
            got = ok[(target, fragment)] = (named, files.elsewhere(named) or check_link(
                first, Link(0, href), ("internal", named, fragment), files) is None)
        if files.elsewhere(got[0]):
            continue
        if not got[1]:
            bad.append((n, href, ("internal", got[0], fragment)))
    if bad:
        loaded = pickle.loads(places)  # noqa: S301 - ours (judge_unit)
        for n, href, r in bad:
            hits += [check_link(page, Link(line, href), r, files) for page, line, _ in loaded[n]]
    if memo is not None:
        memo.keep_link_hits(unit.unit.id, sorted({d for _, _, target, _ in outside for d in link_folders(target)}),
                            hits)
    yield from hits


_UNSEEN, _OK, _PAGE = object(), object(), object()
