"""The checker's expensive reads, kept per unit under the unit's key: the link scan of
its built pages (files and anchors; the links of every page), its external-link list,
and the link rule's hits with the links that leave the unit (each compared, every
build, with how it resolves today: another unit's page may have gone). Every other
finding is evaluated afresh every build: they depend on the as-of date.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from types import SimpleNamespace

from .store import Cache


PAGES_FORMAT = 2    # the pages' links as the pickled bytes of a worker's stash (check/links.py)


def _name(kind: str, uid: str) -> str:
    return f"{kind}/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"


class Scanner:
    """``check.links.scan_output`` over the partial output: the units built by this build
    from their workers' scans (``links.STASH``), the reused units (whose pages are still
    in the previous output) from the cache; and the memo the link rule consults
    (``hits``, ``keep``, ``pages``). With the cache off it still reads the stash."""

    LEAVE_OUT = frozenset({"check"})   # a reused unit's old checker pages: the checker writes new ones

    def __init__(self, cache: Cache, output: Path, unit_ids: list[str], reused: list[str], kept: dict):
        self.cache, self.output = cache, output
        self.unit_ids, self.reused = sorted(unit_ids), set(reused)
        self.keys = {uid: rec.get("key") for uid, rec in kept.items() if isinstance(rec, dict)} \
            if cache.enabled else {}
        self.externals: dict[str, dict] = {}
        self.lazy: set[str] = set()        # units whose page links are loaded only when the rule needs them
        self.folders: dict[str, Path] = {}  # where a lazy unit's pages are read again when not in the cache
        self.stashed: dict[str, Path] = {}  # units built by this build: their worker's scan (links.stash_unit)
        self.findings = Findings(cache, self.keys) if self.keys else None
        self.site_root = self.shown_root = ""

    def external(self, uid: str) -> dict | None:
        return self.externals.get(uid)

    def __call__(self, root: Path, shown_root: str, site_root: str):
        from ..check import links
        self.site_root, self.shown_root = site_root, shown_root
        files, pages = links.scan_output(root, shown_root, site_root, skip=frozenset(self.unit_ids) | {links.STASH})
        for uid in self.unit_ids:
            key = self.keys.get(uid)
            stashed = None if uid in self.reused else links.read_stash(root / links.STASH / f"{uid}.pickle",
                                                                       uid, site_root)
            record = self.cache.load_pickle(_name("scan", uid)) if key and stashed is None else None
            found: list = []
            if stashed is not None:
                # Built by this build: its worker scanned the pages it wrote (links.stash_unit).
                header, body = stashed
                part = links.SiteFiles(shown_root, files.site_root, set(header["files"]),
                                       {k: frozenset(v) for k, v in header["anchors"].items()})
                external = header["external"]
                self.lazy.add(uid)
                self.stashed[uid] = root / links.STASH / f"{uid}.pickle"
                if key:
                    self._save_scan(uid, key, site_root, header["files"], header["anchors"], external, body)
            elif isinstance(record, dict) and record.get("key") == key and record.get("site_root") == site_root:
                part = links.SiteFiles(shown_root, files.site_root, set(record["files"]),
                                       {k: frozenset(v) for k, v in record["anchors"].items()})
                self.lazy.add(uid)
                external = record["external"]
            else:
                folder = (self.output if uid in self.reused else root) / uid
                part, found = links.scan_unit(folder, uid, self.LEAVE_OUT if uid in self.reused else frozenset())
                part.shown_root, part.site_root = shown_root, files.site_root
                external = links.external_links(SimpleNamespace(pages=found, files=part))
                if key:
                    self._save_scan(uid, key, site_root, sorted(part.files),
                                    {k: sorted(v) for k, v in part.anchors.items()}, external,
                                    pickle.dumps([(p.path, [(link.line, link.href) for link in p.links]) for p in found],
                                                 protocol=pickle.HIGHEST_PROTOCOL))
            links.add_unit(files, part)
            if found:
                # Read again when the link rule reaches this unit (``pages``): the check stage
                # holds one unit's links at a time, not the province's.
                self.lazy.add(uid)
                self.folders[uid] = folder
                found = []
            pages[uid] = found
            self.externals[uid] = external
        return files, pages

    def _save_scan(self, uid: str, key: str, site_root: str, files: list, anchors: dict, external: dict,
                   body: bytes) -> None:
        self.cache.save_pickle(_name("scan", uid), {
            "key": key, "site_root": site_root, "files": files, "anchors": anchors, "external": external})
        # The pages' links stay pickled (the bytes the worker wrote): stored without loading them.
        self.cache.save_pickle(_name("pages", uid), {"key": key, "format": PAGES_FORMAT, "body": body})
        self.cache.remove(_name("links", uid))

    # --- the link rule's memo (check/links.py ``internal``) ---------------------------

    def pages(self, uid: str, pages: list) -> list:
        if uid not in self.lazy:
            return pages
        from ..check import links
        if uid in self.stashed:
            got = links.read_stash(self.stashed[uid], uid, self.site_root)
            if got is not None:
                return links.load_pages(got[1])
        record = self.cache.load_pickle(_name("pages", uid)) if self.keys.get(uid) else None
        if isinstance(record, dict) and record.get("key") == self.keys.get(uid) \
                and record.get("format") == PAGES_FORMAT and isinstance(record.get("body"), bytes):
            try:
                return links.load_pages(record["body"])
            except Exception as exc:  # noqa: BLE001 - a damaged cache file is read again from the pages
                self.cache.warn(_name("pages", uid), exc)
        # Neither stashed nor kept: read the pages again from the output.
        folder = self.folders.get(uid, self.output / uid)
        leave_out = self.LEAVE_OUT if uid in self.reused or uid not in self.folders else frozenset()
        return links.scan_unit(folder, uid, leave_out)[1] if folder.is_dir() else []

    def _context(self, uid: str) -> list:
        return [self.keys.get(uid), self.site_root, self.shown_root]

    def hits(self, uid: str, files) -> list | None:
        from ..check import links
        if not self.keys.get(uid):
            return None
        record = self.cache.load_pickle(_name("links", uid))
        if not (isinstance(record, dict) and record.get("context") == self._context(uid)):
            return None
        for page, href, state in record["outside"]:
            if links.probe(page, href, files) != state:
                return None
        return list(record["hits"])

    def keep(self, uid: str, hits: list, outside: list[tuple[str, str]], files) -> None:
        from ..check import links
        if not self.keys.get(uid):
            return
        self.cache.save_pickle(_name("links", uid), {
            "context": self._context(uid), "hits": hits,
            "outside": [(page, href, links.probe(page, href, files)) for page, href in outside]})


class Findings:
    """The findings of each unit for the rules not declared ``cross_unit`` (check/engine.py),
    kept under the unit's key and the checker's context (the as-of date, the rules file,
    the cross-unit facts those rules read: check/__init__.py ``run``). A unit whose key
    and context match gets them back instead of an evaluation; the ``cross_unit`` rules
    (links, 解读) are evaluated every build."""

    def __init__(self, cache: Cache, keys: dict[str, str]):
        self.cache, self.keys = cache, keys

    def kept(self, uid: str, context: str) -> list | None:
        if not self.keys.get(uid):
            return None
        record = self.cache.load_pickle(_name("findings", uid))
        if isinstance(record, dict) and record.get("key") == [self.keys[uid], context] \
                and isinstance(record.get("findings"), list):
            return record["findings"]
        return None

    def keep_findings(self, uid: str, context: str, findings: list) -> None:
        if self.keys.get(uid):
            self.cache.save_pickle(_name("findings", uid), {"key": [self.keys[uid], context], "findings": findings})
