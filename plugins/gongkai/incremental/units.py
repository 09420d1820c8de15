"""Per-unit output reuse: a unit whose key equals the one recorded by the previous build
gets that build's ``output/<unit>/`` (hard links into the new partial folder) instead of
a Pelican run.

A unit's key is a hash of everything its folder is made from (docs/performance.md,
"Incremental rebuilds"): the render key (code, libraries, theme, catalogs, resolved
settings), the unit tree, the unit's own settings and every file in its folder, the
lifecycle state of each of its items on the as-of date, the registry entries it shows
(what its items name, and what names its items), the 三公 series, the 年报 data and
the date itself where a page shows them, and the hidden pages its body links point at
(recorded by the worker that last built it: ``GK_LINK_TARGETS_FILE``).

Files the parent writes into a unit folder after the units are built are never
linked: ``lifecycle.json`` (dated: written here from the same function) and ``check/``
(the checker writes them afresh). Anything else written later into a unit folder
must replace its file, not rewrite it in place (a hard link shares the old output's
bytes).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

from .. import lifecycle
from ..facts import REF_KEYS
from ..items import as_list
from .store import Cache, digest
from .validate import code_key, tree_signature

RECORD = "units.json"
NOT_LINKED = {"check", "lifecycle.json"}   # top-level names the parent writes after the units


def render_key(cache: Cache, base: dict, settings_file: Path, catalogs: Path) -> str:
    theme = Path(base.get("THEME", "theme"))
    plain = json.dumps(base, sort_keys=True, default=lambda o: f"<{type(o).__name__}>", ensure_ascii=False) \
        if _sortable(base) else repr(sorted(base))
    return digest({"code": code_key(cache), "theme": tree_signature(cache, theme.resolve()),
                   "catalogs": tree_signature(cache, catalogs.resolve()), "settings": plain,
                   "settings_file": cache.hashes.signature(settings_file.resolve()), "cwd": os.getcwd()})


def _sortable(value) -> bool:
    try:
        json.dumps(value, sort_keys=True, default=str)
        return True
    except (TypeError, ValueError):
        return False


def _stash_name(uid: str) -> str:
    return f"stash/{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.json"


def targets_file(cache: Cache, uid: str) -> str:
    return str(cache.folder / "targets" / f"{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}.json")


class Reuse:
    """The plan of one build: which units to render, which to take from the last output."""

    def __init__(self, cache: Cache, output: Path, site, facts, shared: dict, overrides: dict[str, dict],
                 base: dict, settings_file: Path, catalogs: Path):
        self.cache, self.output, self.site, self.facts = cache, output, site, facts
        self.hidden = set(shared.get("GK_HIDDEN", ()))
        self.keys: dict[str, str] = {}
        self.parts: dict[str, dict[str, str]] = {}   # uid -> what its key is made of (hashes), for "why"
        self.reused: list[str] = []
        self.previous: dict = {}
        self.note = ""
        if not cache.enabled:
            return
        (cache.folder / "targets").mkdir(exist_ok=True)
        record = cache.load_json(RECORD)
        if isinstance(record, dict) and record.get("output") == _identity(output) \
                and isinstance(record.get("units"), dict):
            self.previous = record["units"]
        elif record is not None:
            self.note = "the output folder is not the one the cache recorded"
        common = {"render": render_key(cache, base, settings_file, catalogs),
                  "units": shared.get("GK_UNITS"), "sangong": shared.get("GK_SANGONG"),
                  "domain": shared.get("GK_SITE_DOMAIN"), "catalogs_path": shared.get("GK_CATALOGS")}
        common_key = digest(common)
        registry, public_on = facts.registry, facts.public_on
        naming: dict[str, set[str]] = {}     # 索引号 -> public entries naming it (reverse links)
        for number, entry in registry.items():
            for key in REF_KEYS:
                for target in as_list(entry.get(key)):
                    naming.setdefault(target, set()).add(number)
        annual_key = digest(shared.get("GK_ANNUAL"))
        for uid, unit in site.units.items():
            items = facts.by_unit.get(uid, [])
            own = {i.index_no for i in items if i.index_no}
            refs = {r for i in items for key in REF_KEYS for r in as_list(getattr(i, key))}
            shown = refs | own | {n for o in own for n in naming.get(o, ())}
            dated = not any(facts.state(i).public for i in items)   # an empty feed is dated by the as-of day
            has_annual = any(i.type == "annual-report" for i in items)
            parts = {
                "common": common_key,
                "override": {k: v for k, v in overrides[uid].items() if k != "OUTPUT_PATH"},
                "files": tree_signature(cache, unit.folder),
                "states": sorted((i.source, facts.state(i).as_dict()) for i in items),
                "registry": sorted((n, registry.get(n)) for n in shown),
                "public_on": sorted((n, public_on.get(n)) for n in shown),
                "annual": annual_key if has_annual else None,
                "day": facts.day.isoformat() if dated or has_annual else None,
            }
            self.parts[uid] = {name: digest(value) for name, value in parts.items()}
            self.keys[uid] = digest(self.parts[uid])

    def _full_key(self, uid: str, targets) -> str:
        return digest([self.keys[uid], sorted(self.hidden.intersection(targets))])

    def plan(self, unit_ids: list[str]) -> list[str]:
        """The units whose previous output can be reused."""
        out = []
        if not self.cache.enabled:
            return out
        for uid in unit_ids:
            prev = self.previous.get(uid)
            if not isinstance(prev, dict) or not isinstance(prev.get("targets"), list):
                continue
            if prev.get("key") == self._full_key(uid, prev["targets"]) and (self.output / uid).is_dir() \
                    and not (self.output / uid).is_symlink():
                out.append(uid)
        return out

    def link(self, uid: str, partial: Path) -> bool:
        """Hard-link the previous ``output/<uid>/`` into ``partial/<uid>/`` (copy across file
        systems); False (and nothing left behind) when that folder is not as we wrote it."""
        src, dest = self.output / uid, partial / uid
        try:
            _link_tree(src, dest, top=True)
            stash = self.cache.folder / _stash_name(uid)
            if stash.is_file() and not stash.is_symlink():
                from ..search import STASH
                (partial / STASH).mkdir(exist_ok=True)
                shutil.copyfile(stash, partial / STASH / f"{uid}.json")
            items = self.facts.by_unit.get(uid, [])
            (dest / "lifecycle.json").write_text(
                lifecycle.report_text(uid, items, self.facts.day, lifecycle.lookup(self.facts.public_on)),
                encoding="utf-8")
        except (OSError, ValueError) as exc:
            self.cache.warn(f"{src}", exc)
            if dest.exists():
                shutil.rmtree(dest, ignore_errors=True)
            return False
        self.reused.append(uid)
        return True

    def keep(self, partial: Path, built: list[str]) -> dict:
        """After the units ran: what to record for the next build (call before the portal
        stage, which removes the search stash)."""
        from ..search import STASH
        units: dict = {}
        if not self.cache.enabled:
            return units
        for uid in self.reused:
            units[uid] = self.previous[uid]
        for uid in built:
            try:
                targets = json.loads(Path(targets_file(self.cache, uid)).read_text(encoding="utf-8"))
                if not isinstance(targets, list):
                    continue
                stash = partial / STASH / f"{uid}.json"
                if stash.is_file():
                    self.cache.folder.joinpath("stash").mkdir(exist_ok=True)
                    shutil.copyfile(stash, self.cache.folder / _stash_name(uid))
                else:
                    self.cache.remove(_stash_name(uid))
            except (OSError, ValueError) as exc:
                self.cache.warn(uid, exc)
                continue
            units[uid] = {"key": self._full_key(uid, targets), "targets": targets, "parts": self.parts[uid]}
        return units

    def why(self, uid: str) -> str:
        """What changed for a unit that is rebuilt: the names of the key's parts that differ."""
        prev = self.previous.get(uid)
        if not isinstance(prev, dict):
            return "new" if self.previous else self.note or "no previous build"
        old = prev.get("parts") if isinstance(prev.get("parts"), dict) else None
        if not old:
            return "no previous key"
        changed = [name for name, value in self.parts.get(uid, {}).items() if old.get(name) != value]
        return ",".join(changed) or "links"

    def forget(self) -> None:
        """Before the swap: the recorded keys stop matching the output being replaced."""
        self.cache.remove(RECORD)

    def record(self, units: dict) -> None:
        """After the swap: the output now holds what these keys describe."""
        if self.cache.enabled:
            self.cache.save_json(RECORD, {"output": _identity(self.output), "units": units})


def _identity(output: Path) -> list | None:
    try:
        st = output.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns]


def _link_tree(src: Path, dest: Path, top: bool = False) -> None:
    os.mkdir(dest)
    with os.scandir(src) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if top and entry.name in NOT_LINKED:
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            target = dest / entry.name
            if stat.S_ISDIR(mode):
                _link_tree(Path(entry.path), target)
            elif stat.S_ISREG(mode):
                try:
                    os.link(entry.path, target)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    shutil.copyfile(entry.path, target)
            else:
                raise ValueError(f"{entry.path}: not a regular file or folder (never written by a build)")
