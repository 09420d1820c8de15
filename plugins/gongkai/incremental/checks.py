"""The checker's expensive reads, kept per unit: the link scan of a unit's built pages
(every file, anchor and link) and its external-link list depend on that unit's folder
only, so they are kept under the unit's key. The findings themselves are evaluated
afresh every build (they depend on the as-of date and on other units' files).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .store import Cache


def _name(uid: str) -> str:
    return f"scan/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"


class Scanner:
    """``check.links.scan_output`` over the partial output, with the scans of reused units
    (whose pages are still in the previous output) taken from the cache."""

    LEAVE_OUT = frozenset({"check"})   # a reused unit's old checker pages: the checker writes new ones

    def __init__(self, cache: Cache, output: Path, unit_ids: list[str], reused: list[str], kept: dict):
        self.cache, self.output = cache, output
        self.unit_ids, self.reused = sorted(unit_ids), set(reused)
        self.keys = {uid: rec.get("key") for uid, rec in kept.items() if isinstance(rec, dict)}
        self.externals: dict[str, dict] = {}
        self.hits = 0

    def external(self, uid: str) -> dict | None:
        return self.externals.get(uid)

    def __call__(self, root: Path, shown_root: str, site_root: str):
        from types import SimpleNamespace

        from ..check import links
        files, pages = links.scan_output(root, shown_root, site_root, skip=frozenset(self.unit_ids))
        for uid in self.unit_ids:
            key = self.keys.get(uid) if self.cache.enabled else None
            record = self.cache.load_pickle(_name(uid)) if key else None
            if isinstance(record, dict) and record.get("key") == key and record.get("site_root") == site_root:
                part = links.SiteFiles(shown_root, files.site_root, set(record["files"]),
                                       {k: frozenset(v) for k, v in record["anchors"].items()})
                found = [links.PageLinks(path, [links.Link(line, href) for line, href in found_links])
                         for path, found_links in record["pages"]]
                external = record["external"]
                self.hits += 1
            else:
                folder = (self.output if uid in self.reused else root) / uid
                part, found = links.scan_unit(folder, uid, self.LEAVE_OUT if uid in self.reused else frozenset())
                part.shown_root, part.site_root = shown_root, files.site_root
                external = links.external_links(SimpleNamespace(pages=found, files=part))
                if key:
                    self.cache.save_pickle(_name(uid), {
                        "key": key, "site_root": site_root, "files": sorted(part.files),
                        "anchors": {k: sorted(v) for k, v in part.anchors.items()},
                        "pages": [(p.path, [(link.line, link.href) for link in p.links]) for p in found],
                        "external": external})
            links.add_unit(files, part)
            if found:
                pages[uid] = found
            self.externals[uid] = external
        return files, pages
