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
import sys
from pathlib import Path

from ..items import Item
from ..schema import read_item
from .store import SCHEMA, Cache, digest

PACKAGE = Path(__file__).resolve().parents[1]


def tree_signature(cache: Cache, folder: Path) -> list:
    """Every file below ``folder`` (hidden ones and links included, links not followed)
    with its content signature."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if "__pycache__" in path:
                continue
            out.append([os.path.relpath(path, folder), *cache.hashes.signature(path)])
    return out


def code_key(cache: Cache) -> str:
    """The build code and the libraries it runs on."""
    from importlib import metadata
    libs = sorted({(d.metadata["Name"] or "", d.version) for d in metadata.distributions()})
    return digest({"schema": SCHEMA, "python": sys.version, "code": tree_signature(cache, PACKAGE), "libs": libs})


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

    def unit(self, unit) -> _UnitItems:
        return _UnitItems(self, unit)

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


def _name(uid: str) -> str:
    return f"items/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.pickle"


class _UnitItems:
    def __init__(self, owner: ItemCache, unit):
        self.owner, self.unit = owner, unit
        cache = owner.cache
        self.enabled = cache.enabled
        self.unit_key = digest([owner.key, repr(unit), cache.hashes.signature(unit.folder / "_unit.yaml")]) \
            if self.enabled else ""
        stored = cache.load_pickle(_name(unit.id)) if self.enabled else None
        self.old: dict = stored if isinstance(stored, dict) and stored.get("unit_key") == self.unit_key else {}
        self.old = self.old.get("items", {}) if isinstance(self.old.get("items"), dict) else {}
        self.new: dict = {}
        self.changed = False

    def read(self, path: Path, cats) -> tuple[Item | None, list]:
        if not self.enabled:
            return read_item(path, self.unit, cats)
        hashes = self.owner.cache.hashes
        own = hashes.signature(path)
        if own[0] != "f":   # links, and anything odd: read_item names it, every time
            return read_item(path, self.unit, cats)
        key = str(path)
        found = self.old.get(key)
        # The shown path is a function of the path and the working folder (in the read key).
        if isinstance(found, tuple) and len(found) == 4 and found[0] == own:
            deps, item = found[2], found[3]
            if isinstance(item, Item) and all(hashes.signature(p) == sig for p, sig in deps):
                self.new[key] = found
                self.owner.hits += 1
                return item, []
        self.owner.misses += 1
        item, problems = read_item(path, self.unit, cats)
        if item is not None and not problems:
            self.new[key] = (own, item.source, [(p, hashes.signature(p)) for p in _deps(item)], item)
        self.changed = True
        return item, problems

    def save(self) -> None:
        if self.enabled and (self.changed or set(self.new) != set(self.old)):
            self.owner.cache.save_pickle(_name(self.unit.id), {"unit_key": self.unit_key, "items": self.new})


def _deps(item: Item) -> list[str]:
    """The files besides its own that validating ``item`` read."""
    folder = item.path.parent
    out = set()
    for att in item.attachments:
        out.update((str(folder / att.name), str(att.source)))
    for img in item.images:
        out.update((str(folder / img.src), str(img.path)))
    return sorted(out)
