"""The checker's expensive reads, kept per unit under the unit's key: the link scan of
its built pages (files and anchors), its external-link list, and the link rule's
verdicts on the links into the unit (the links that leave it are judged every build:
another unit's page may have gone); and the unit's findings of the rules that read only
the unit (``Findings``), under its key, the rules and the cross-unit facts they read,
each rule's with the window of as-of dates its findings hold for. A unit built by this
build brings its scan and verdicts from its worker (check/links.py ``stash_unit``): the
check stage reads no page it has.

The link rule (a ``cross_unit`` rule) is not evaluated again for a unit whose key did not
change and whose outside links point into folders (of other units, of the portal) whose
*tokens* (check/links.py ``dir_tokens``: their files' names and anchors) did not change
either: its hits are kept with those tokens (``link_hits``). Every unit's folder tokens
are read from one index (``INDEX``), so such a build loads no other unit's files,
anchors or verdicts.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import stat
from pathlib import Path
from types import SimpleNamespace

from .store import Cache

INDEX = "scan-index.pickle"     # uid -> its key, folder tokens and external links (the last two pickled apart)
ABSENT = b""                    # the token of a folder that does not exist


def _name(kind: str, uid: str) -> str:
    return f"{kind}/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"


class Scanner:
    """``check.links.scan_output`` over the partial output: the units built by this build
    from their workers' scans (``links.STASH``), the reused units (whose pages are still
    in the previous output) from the cache; and the link rule's verdicts on each unit's
    own links (``verdicts``). With the cache off it still reads the stash."""

    LEAVE_OUT = frozenset({"check"})   # a reused unit's old checker pages: the checker writes new ones

    def __init__(self, cache: Cache, output: Path, unit_ids: list[str], reused: list[str], kept: dict,
                 same_day: frozenset[str] = frozenset()):
        """``same_day``: reused units whose previous folder was made on this build's as-of
        date (their report page may stand as it is: ``Pieces.standing``)."""
        self.cache, self.output = cache, output
        self.unit_ids, self.reused = sorted(unit_ids), set(reused)
        self.unit_set = frozenset(unit_ids)
        self.keys = {uid: rec.get("key") for uid, rec in kept.items() if isinstance(rec, dict)} \
            if cache.enabled else {}
        # uid -> its external links, pickled: read once, when the unit's report is made (at
        # 1,300 units the live dicts were ~5 MiB of the check stage, issue 15).
        self.externals: dict[str, bytes] = {}
        self.stashed: dict[str, Path] = {}  # units built by this build: their worker's scan (links.stash_unit)
        self.judged: dict[str, bytes] = {}  # units scanned here (no stash, nothing kept): their verdicts
        self.findings = Findings(cache, self.keys) if self.keys else None
        self.pieces = Pieces(cache, output, same_day) if cache.enabled else None
        self.site_root = self.shown_root = self.files_root = ""
        self.root: Path | None = None
        self.store = None   # check/links.py UnitFiles: each unit's files and anchors, loaded when a link asks
        # unit id -> its folders' tokens (links.dir_tokens), pickled; a few units' unpickled
        # (``_unit_dirs``): at 1,300 units the live maps were ~7 MiB of the check stage (issue 15).
        self.dirs: dict[str, bytes] = {}
        self._live_dirs: dict[str, dict[str, bytes] | None] = {}
        self._dirs_digests: dict[str, bytes | None] = {}   # uid -> sha-256 of its pickled tokens (link_hits)
        self.portal_dirs: dict[str, bytes] = {}       # … of the folders outside unit folders
        self.hits_reused: set[str] = set()  # units whose link hits were kept (links.internal did not run)

    def external(self, uid: str) -> dict | None:
        """The unit's external links (url -> pages), or None when the scan did not see it. A
        kept list that cannot be read is taken again from the unit's record or its folder."""
        blob = self.externals.get(uid)
        if blob is None:
            return None
        try:
            found = pickle.loads(blob)  # noqa: S301 - this build's, or our own cache folder's
            if isinstance(found, dict):
                return found
            raise ValueError("not a map of external links")
        except Exception as exc:  # noqa: BLE001 - a damaged cache entry is read again, never an error
            self.cache.warn(INDEX, exc)
        from ..check import links
        record = self._record(uid, self.keys.get(uid))
        if record is not None and isinstance(record.get("external"), dict):
            return record["external"]
        reused = uid in self.reused
        folder = (self.output if reused or self.root is None else self.root) / uid
        part, pages = links.scan_unit(folder, uid, self.LEAVE_OUT if reused else frozenset())
        part.shown_root, part.site_root = self.shown_root, self.files_root
        return links.external_links(SimpleNamespace(pages=pages, files=part))

    def __call__(self, root: Path, shown_root: str, site_root: str):
        from ..check import links
        self.site_root, self.shown_root, self.root = site_root, shown_root, root
        files, pages = links.scan_output(root, shown_root, site_root, skip=frozenset(self.unit_ids) | {links.STASH})
        self.portal_dirs = links.dir_tokens(files.files, files.anchors)
        self.files_root = files.site_root
        store = self.store = links.UnitFiles(files)
        index = self._index()
        new_index: dict[str, dict] = {}
        for uid in self.unit_ids:
            key = self.keys.get(uid)
            stashed = None if uid in self.reused else links.read_stash(root / links.STASH / f"{uid}.pickle",
                                                                       uid, site_root)
            entry = index.get(uid) if stashed is None and key else None
            entry = entry if entry is not None and entry["key"] == key else None
            record = self._record(uid, key) if stashed is None and entry is None else None
            if stashed is not None:
                # Built by this build: its worker scanned the pages it wrote (links.stash_unit).
                header, anchors, body = stashed
                external = header["external"]
                dirs = header["dirs"]
                self.stashed[uid] = root / links.STASH / f"{uid}.pickle"
                store.add(uid, *self._from_stash(uid))
                if key:
                    self._save(uid, key, site_root, header["files"], anchors, external, body)
            elif entry is not None:
                # Kept, and its folder tokens and external links are in the index: nothing else is read now.
                external, dirs = entry["external"], entry["dirs"]   # both kept pickled
                store.add(uid, *self._from_cache(uid, key))
            elif record is not None:
                external = record["external"]
                dirs = self._dirs(record["files"], record["anchors"])
                store.add(uid, *self._from_cache(uid, key))
            else:
                folder = (self.output if uid in self.reused else root) / uid
                part, found = links.scan_unit(folder, uid, self.LEAVE_OUT if uid in self.reused else frozenset())
                part.shown_root, part.site_root = shown_root, files.site_root
                external = links.external_links(SimpleNamespace(pages=found, files=part))
                anchors = links.dump_anchors(part.anchors)
                dirs = links.dir_tokens(part.files, part.anchors)
                # Judged now, from the unit's own files (as a worker does): its pages are not kept.
                self.judged[uid] = links.dump_verdicts(links.judge_unit(uid, found, part))
                if key:
                    self._save(uid, key, site_root, sorted(part.files), anchors, external, self.judged[uid])
                    store.add(uid, *self._from_cache(uid, key))
                else:
                    # Neither stashed nor kept (a worker could not stash, the cache is off): rare; held.
                    store.add(uid, lambda part=part: part.files, lambda part=part: part.anchors)
            pages[uid] = []
            if not isinstance(external, bytes):
                external = pickle.dumps(external, protocol=pickle.HIGHEST_PROTOCOL)
            self.externals[uid] = external
            if dirs is not None and not isinstance(dirs, bytes):
                dirs = pickle.dumps(dirs, protocol=pickle.HIGHEST_PROTOCOL)
            if dirs is not None:
                self.dirs[uid] = dirs
            if key and dirs is not None:
                new_index[uid] = {"key": key, "dirs": dirs, "external": external}
        if self.keys and new_index != index:
            self.cache.save_pickle(INDEX, {"site_root": site_root, "format": links.STASH_FORMAT, "units": new_index})
        return links.lazy_files(files, store), pages

    def _index(self) -> dict[str, dict]:
        """The index of the last build (uid -> key, folder tokens, external links) for this
        site root; entries of any other shape are left out (then the unit's scan record is read)."""
        from ..check import links
        record = self.cache.load_pickle(INDEX) if self.keys else None
        if not (isinstance(record, dict) and record.get("site_root") == self.site_root
                and record.get("format") == links.STASH_FORMAT and isinstance(record.get("units"), dict)):
            return {}
        return {uid: entry for uid, entry in record["units"].items()
                if isinstance(entry, dict) and isinstance(entry.get("key"), str)
                and isinstance(entry.get("dirs"), bytes) and isinstance(entry.get("external"), bytes)}

    @staticmethod
    def _dirs(files: list[str], anchors: bytes) -> dict[str, bytes] | None:
        """The folder tokens of a unit from its scan (None when its anchors cannot be read:
        then no link into it is taken as unchanged)."""
        from ..check import links
        try:
            return links.dir_tokens(files, links.load_anchors(anchors))
        except Exception:  # noqa: BLE001 - damaged: the link rule evaluates the links into the unit
            return None

    def _token(self, folder: str) -> bytes | None:
        """The token of a folder (from the output root) this build; None: not known."""
        top = folder.split("/", 1)[0]
        if top in self.unit_set:
            dirs = self._unit_dirs(top)
            return None if dirs is None else dirs.get(folder, ABSENT)
        return self.portal_dirs.get(folder, ABSENT)

    KEEP_DIRS = 32   # units whose folder tokens are held unpickled at once

    def _unit_dirs(self, uid: str) -> dict[str, bytes] | None:
        """The unit's folder tokens (None: not known, or kept unreadable: then no link into
        the unit is taken as unchanged); the last ``KEEP_DIRS`` units' are held."""
        if uid in self._live_dirs:
            dirs = self._live_dirs.pop(uid)
        else:
            blob = self.dirs.get(uid)
            try:
                dirs = pickle.loads(blob) if blob is not None else None  # noqa: S301 - this build's or our cache's
                if dirs is not None and not (isinstance(dirs, dict)
                                             and all(isinstance(t, bytes) for t in dirs.values())):
                    raise ValueError("not a map of folder tokens")
            except Exception as exc:  # noqa: BLE001 - a damaged cache entry: the links into the unit are evaluated
                self.cache.warn(INDEX, exc)
                dirs = None
        self._live_dirs[uid] = dirs   # now the newest
        while len(self._live_dirs) > self.KEEP_DIRS:
            del self._live_dirs[next(iter(self._live_dirs))]
        return dirs

    def _hits_key(self, uid: str) -> list:
        from ..check import links
        return [self.keys[uid], self.site_root, self.shown_root, links.STASH_FORMAT]

    def link_hits(self, uid: str) -> list | None:
        """The link rule's hits for the unit kept by an earlier build, when its key and the
        token of every folder its links leave it for are this build's (its own folder is
        its key's); None: evaluate (check/links.py ``internal``)."""
        from ..check.engine import Hit
        if not self.keys.get(uid):
            return None
        record = self.cache.load_pickle(_name("links", uid))
        if not (isinstance(record, dict) and record.get("key") == self._hits_key(uid)
                and isinstance(record.get("deps"), dict) and isinstance(record.get("hits"), list)):
            return None
        # A unit whose folder tokens are, as one pickle, the bytes they were when the hits
        # were kept has every folder's token it had then: its folders are not looked up one
        # by one (each lookup unpickled the unit's tokens: ~60 units per unit, every build).
        same = record.get("units")
        same = {top for top, seen in same.items() if seen == self._dirs_digest(top)} if isinstance(same, dict) else ()
        if any(not isinstance(token, bytes) or (folder.split("/", 1)[0] not in same and self._token(folder) != token)
               for folder, token in record["deps"].items()):
            return None
        if not all(isinstance(hit, Hit) for hit in record["hits"]):
            return None
        self.hits_reused.add(uid)
        return record["hits"]

    def keep_link_hits(self, uid: str, folders: list[str], hits: list) -> None:
        """Keep the hits just evaluated with the tokens of the ``folders`` the unit's outside
        links point into (check/links.py ``link_folders``)."""
        if not self.keys.get(uid):
            return
        deps = {folder: self._token(folder) for folder in folders}
        if any(token is None for token in deps.values()):
            return
        tops = {folder.split("/", 1)[0] for folder in folders} & self.unit_set
        units = {top: digest for top in sorted(tops) if (digest := self._dirs_digest(top)) is not None}
        self.cache.save_pickle(_name("links", uid), {"key": self._hits_key(uid), "deps": deps, "units": units,
                                                     "hits": list(hits)})

    def _dirs_digest(self, uid: str) -> bytes | None:
        """The sha-256 of the unit's folder tokens as pickled this build (None: not known)."""
        if uid not in self._dirs_digests:
            blob = self.dirs.get(uid)
            self._dirs_digests[uid] = hashlib.sha256(blob).digest() if blob is not None else None
        return self._dirs_digests[uid]

    def _record(self, uid: str, key: str | None) -> dict | None:
        """The unit's scan kept by an earlier build under ``key``, or None."""
        record = self.cache.load_pickle(_name("scan", uid)) if key else None
        if isinstance(record, dict) and record.get("key") == key and record.get("site_root") == self.site_root \
                and isinstance(record.get("anchors"), bytes) and isinstance(record.get("files"), list):
            return record
        return None

    def _from_stash(self, uid: str):
        """Loaders of the unit's files and anchors from its stash file."""
        from ..check import links
        path = self.stashed[uid]

        def files():
            got = links.read_stash(path, uid, self.site_root)
            return got[0]["files"] if got is not None else self._rescan(uid).files

        def anchors():
            got = links.read_stash(path, uid, self.site_root)
            return links.load_anchors(got[1]) if got is not None else self._rescan(uid).anchors
        return files, anchors

    def _from_cache(self, uid: str, key: str):
        """Loaders of the unit's files and anchors from the cache's scan record."""
        from ..check import links

        def files():
            record = self._record(uid, key)
            return record["files"] if record is not None else self._rescan(uid).files

        def anchors():
            record = self._record(uid, key)
            return links.load_anchors(record["anchors"]) if record is not None else self._rescan(uid).anchors
        return files, anchors

    def _rescan(self, uid: str):
        """The unit's folder read again: its stash or cache record was there a moment ago and
        is not now (damaged, replaced), so the folder is the truth."""
        from ..check import links
        reused = uid in self.reused
        folder = (self.output if reused or self.root is None else self.root) / uid
        return links.scan_unit(folder, uid, self.LEAVE_OUT if reused else frozenset())[0]

    def _save(self, uid: str, key: str, site_root: str, files: list, anchors: bytes, external: dict,
              verdicts: bytes) -> None:
        from ..check import links
        # The anchors stay pickled (loaded only for a link with a #fragment into the unit).
        self.cache.save_pickle(_name("scan", uid), {
            "key": key, "site_root": site_root, "files": files, "anchors": anchors, "external": external})
        # The verdicts stay pickled (the bytes the worker wrote): stored without loading them.
        self.cache.save_pickle(_name("verdicts", uid), {"key": key, "site_root": site_root, "body": verdicts,
                                                        "format": links.STASH_FORMAT})

    def verdicts(self, uid: str) -> tuple[list, list, bytes] | None:
        """The link rule's verdicts on the unit's own links (check/links.py ``judge_unit``),
        loaded when the rule reaches the unit: the stage holds one unit's links at a time."""
        from ..check import links
        if uid in self.judged:
            return links.load_verdicts(self.judged.pop(uid))
        if uid in self.stashed:
            got = links.read_stash(self.stashed[uid], uid, self.site_root)
            if got is not None:
                try:
                    return links.load_verdicts(got[2])
                except Exception:  # noqa: BLE001 - whole header, damaged verdicts: judged again below
                    pass
        key = self.keys.get(uid)
        record = self.cache.load_pickle(_name("verdicts", uid)) if key else None
        if isinstance(record, dict) and record.get("key") == key and record.get("site_root") == self.site_root \
                and record.get("format") == links.STASH_FORMAT and isinstance(record.get("body"), bytes):
            try:
                return links.load_verdicts(record["body"])
            except Exception as exc:  # noqa: BLE001 - a damaged cache file: the pages are read again
                self.cache.warn(_name("verdicts", uid), exc)
        # Neither stashed nor kept: read the unit's pages again (a reused unit: the previous output).
        reused = uid in self.reused
        folder = (self.output if reused or self.root is None else self.root) / uid
        if not folder.is_dir():
            return None
        part, found = links.scan_unit(folder, uid, self.LEAVE_OUT if reused else frozenset())
        part.site_root = self.site_root.rstrip("/")
        return links.judge_unit(uid, found, part)


class Findings:
    """The findings of each unit for the rules not declared ``cross_unit`` (check/engine.py),
    kept under the unit's key and the checker's context (the rules file, the cross-unit
    facts those rules read: check/__init__.py ``run``), per rule with the window of as-of
    dates they hold for (``engine.AsOf``; unbounded for a rule that does not read the
    date). A rule whose window holds the build's date gives its kept findings instead of
    an evaluation; the ``cross_unit`` rules (links, 解读) are evaluated every build."""

    def __init__(self, cache: Cache, keys: dict[str, str]):
        self.cache, self.keys = cache, keys

    def kept(self, uid: str, context: str) -> dict | None:
        """Rule id -> (lo, hi, findings), or None."""
        if not self.keys.get(uid):
            return None
        record = self.cache.load_pickle(_name("findings", uid))
        if isinstance(record, dict) and record.get("key") == [self.keys[uid], context] \
                and isinstance(record.get("rules"), dict):
            return record["rules"]
        return None

    def keep_findings(self, uid: str, context: str, rules: dict) -> None:
        if self.keys.get(uid):
            self.cache.save_pickle(_name("findings", uid), {"key": [self.keys[uid], context], "rules": rules})


class Pieces:
    """Each unit's piece of check.json and its report page (check/report.py ``write_reports``),
    kept with the digests of what they are made of (the unit's report, the build-wide
    context, the templates): a unit whose report did not change is not encoded or
    rendered again."""

    def __init__(self, cache: Cache, output: Path | None = None, same_day: frozenset[str] = frozenset()):
        self.cache, self.output, self.same_day = cache, output, same_day
        self.standing_pages: set[str] = set()   # units whose previous report page stands (``standing``)

    def standing(self, uid: str, text: str) -> bool:
        """Whether ``uid``'s report page in the previous output is ``text``, for a unit whose
        previous folder goes into the new output whole on the same as-of date
        (incremental/units.py ``Reuse.finish``, which then keeps that page): the page is not
        written again (issue 15: a page made, then renamed into place, per unit of the
        province on every edit). Read and compared, never assumed."""
        if self.output is None or uid not in self.same_day:
            return False
        folder = os.path.join(self.output, uid, "check")
        page = os.path.join(folder, "index.html")
        try:
            if os.listdir(folder) != ["index.html"]:
                return False
            st = os.lstat(page)
            if not stat.S_ISREG(st.st_mode) or st.st_size > 8 * len(text) + 64:
                return False
            with open(page, "rb") as f:
                same = f.read() == text.encode("utf-8")
        except OSError:
            return False
        if same:
            self.standing_pages.add(uid)
        return same

    def load(self, uid: str) -> dict:
        record = self.cache.load_pickle(_name("report", uid))
        return record if isinstance(record, dict) else {}

    def save(self, uid: str, record: dict) -> None:
        self.cache.save_pickle(_name("report", uid), record)
