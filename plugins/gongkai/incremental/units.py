"""Per-unit output reuse: a unit whose key equals the one recorded by the previous build
gets that build's ``output/<unit>/`` instead of a Pelican run.

A unit's key is a hash of everything its folder is made from (docs/performance.md,
"Incremental rebuilds"): the render key (code, libraries, theme, catalogs, resolved
settings), the unit tree, the unit's own settings and every file in its folder, the
lifecycle state of each of its items on the as-of date, the registry entries it shows
(what its items name, and what names its items), the 三公 series, the 年报 data and
the date itself where a page shows them, and the hidden pages its body links point at
(recorded by the worker that last built it: ``GK_LINK_TARGETS_FILE``).

The previous files are moved (renamed) into the new partial folder just before the
swap, after a journal beside the output names them: a build stopped at any point
leaves the previous output whole again at the next start (``restore``). Some entries
of a reused folder are written afresh instead: ``lifecycle.json`` (dated), ``check/``
(the checker's pages) and, for a unit with no public item, its empty Atom feed (its
``<updated>`` is the as-of date: ``feeds.py``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path

from .. import feeds, lifecycle
from ..annual import series as annual_series
from ..annual.model import Report
from .facts import states_key
from .pages import SETTING as PAGES_SETTING
from .pages import SHOWN
from .pages import record_digest
from .store import JINJA, Cache, digest, plain_digest
from .validate import code_key, tree_signature

RECORD = "units.json"
NOT_LINKED = {"check", "lifecycle.json"}   # top-level names the parent writes for a reused unit
UPDATED = re.compile(r"<updated>[^<]*</updated>")
PAGES_SCHEMA = "pages-1"   # bump when what a page key holds changes
# The parts of a unit's key that every item page of it shows (files, states and registry
# entries are keyed per page instead: pages.py).
PAGE_PARTS = ("common", "override", "annual", "day", "empty")


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


MAX_LIFECYCLE_BYTES = 64 << 20   # a previous lifecycle.json larger than this is not read
# The parts of a unit's key that hold an entry per item: plain data, digested the cheap way.
PLAIN_PARTS = frozenset({"registry", "public_on"})   # "states": facts.states_key


class Reuse:
    """The plan of one build: which units to render, which to take from the last output."""

    def __init__(self, cache: Cache, output: Path, site, facts, shared: dict, override_of,
                 base: dict, settings_file: Path, catalogs: Path):
        """``override_of(uid)``: the settings the unit's job overrides (build._build's job), or
        None for a unit this build does not build; asked once, when the unit's key is made."""
        self.cache, self.output, self.site, self.facts = cache, output, site, facts
        self.hidden = set(shared.get("GK_HIDDEN", ()))
        self.keys: dict[str, str] = {}
        self.parts: dict[str, dict[str, str]] = {}   # uid -> what its key is made of (hashes), for "why"
        self.reused: list[str] = []
        self.previous: dict = {}
        self.note = ""
        self.page_base: dict[str, str] = {}          # uid -> the unit part of its item pages' keys
        # uid -> its files with their signatures (tree_signature), until its job is made:
        # at 100k items, the province's are ~30 MiB the parent need not keep (issue 15).
        self.trees: dict[str, list] = {}
        # reused unit -> the changes its lifecycle.json lists, when its states are the previous
        # output's (``_lifecycle``): build.report_changes need not read either file.
        self.changes: dict[str, list] = {}
        # reused units whose previous lifecycle.json stands: their folder was made on this
        # build's as-of date (the checker may keep their report page: checks.Pieces.standing)
        self.same_day: set[str] = set()
        self._scanner = None
        self.page_counts = [0, 0, 0]                 # item pages rendered, copied, of which tree patched
        self.rendered_pages: list[str] = []          # some of the rendered ones, by name
        self.template_cache: str | None = None
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
        self.template_cache = str(cache.folder / JINJA / common_key[:32])
        # Empty feeds written afresh for a reused unit with no public item (stage), when
        # every feed of such a unit is an Atom file at the top of its folder.
        feed_names = [base.get(k) for k in ("FEED_ATOM", "FEED_ALL_ATOM", "FEED_RSS", "FEED_ALL_RSS")]
        self.empty_feeds = [n for n in feed_names[:2] if n] \
            if not any(feed_names[2:]) and all("/" not in n for n in feed_names[:2] if n) else None
        self.base, self.fresh = base, {}
        # What each unit's key is made of besides its own: kept for ``_key``, which makes a
        # unit's key when ``plan`` first asks for it (build: the units read again by the
        # scan first, so that their workers start while the others' keys are made).
        self._common_key, self._override_of, self._shared = common_key, override_of, shared
        self._reports: dict[str, list] = {}   # unit id -> its 年报 items: all that annual_shown reads of its items
        for item in site.annual:
            self._reports.setdefault(item.unit, []).append(item)

    def _key(self, uid: str) -> str | None:
        """The unit's key (made once; None for a unit this build does not build)."""
        if uid in self.keys:
            return self.keys[uid]
        if not self.cache.enabled or uid not in self.site.units:
            return None
        override = self._override_of(uid)
        if override is None:
            return None
        site, facts, cache, shared = self.site, self.facts, self.cache, self._shared
        registry, public_on = facts.registry, facts.public_on
        shown = facts.shown(uid)
        empty = not facts.public_counts.get(uid)   # an empty feed is dated by the as-of day
        if empty and self.empty_feeds is not None:
            self.fresh[uid] = set(self.empty_feeds)
        if uid in site.trees:
            files, files_key = site.trees.pop(uid), site.tree_keys.pop(uid, None)
        else:
            files, files_key = tree_signature(cache, site.units[uid].folder), None
        parts = {
            "common": self._common_key,
            "override": {k: v for k, v in override.items() if k != "OUTPUT_PATH"},
            "registry": sorted((n, registry.row(n)) for n in shown),
            "public_on": sorted((n, public_on.get(n)) for n in shown),
            "annual": annual_shown(site, facts, uid, self._reports.get(uid, []), shared.get("GK_UNITS") or {},
                                   shared.get("GK_ANNUAL") or {}),
            "day": facts.day.isoformat() if empty and uid not in self.fresh else None,
            "empty": empty,
        }
        self.parts[uid] = {name: (plain_digest if name in PLAIN_PARTS else digest)(value)
                           for name, value in parts.items()}
        # The files and states parts: digests kept with the tree and with the unit's facts
        # part when the build has them, else made now.
        self.parts[uid]["files"] = files_key if files_key is not None else digest(files)
        kept_states = facts.state_keys.get(uid)
        self.parts[uid]["states"] = kept_states if kept_states is not None else states_key(facts.unit_states(uid))
        self.keys[uid] = digest(self.parts[uid])
        # What every item page of the unit shows besides the page's own inputs (pages.py
        # adds those: its files, state, registry entries, neighbours, the tree's counts).
        self.page_base[uid] = digest([PAGES_SCHEMA, {k: self.parts[uid][k] for k in PAGE_PARTS}])
        self.trees[uid] = files
        return self.keys[uid]

    def _full_key(self, uid: str, targets) -> str:
        return digest([self.keys[uid], sorted(self.hidden.intersection(targets))])

    def plan(self, unit_ids: list[str]) -> list[str]:
        """The units whose previous output can be reused."""
        out = []
        if not self.cache.enabled:
            return out
        for uid in unit_ids:
            if self._key(uid) is None:
                continue
            prev = self.previous.get(uid)
            if not isinstance(prev, dict) or not isinstance(prev.get("targets"), list):
                continue
            if prev.get("key") == self._full_key(uid, prev["targets"]) and (self.output / uid).is_dir() \
                    and not (self.output / uid).is_symlink():
                out.append(uid)
        return out

    def stage(self, uid: str, partial: Path) -> bool:
        """Start ``partial/<uid>/`` for a reused unit: its dated ``lifecycle.json`` (the
        checker adds ``check/``) and its search facets for the portal. The previous folder
        is moved in by ``finish``, once everything else has succeeded."""
        src, dest = self.output / uid, partial / uid
        try:
            with os.scandir(src) as listing:
                for entry in listing:
                    # The kind from the folder listing (no lstat per entry: ~35 a unit, every
                    # unit of the province every build; DirEntry asks lstat only when the
                    # listing does not say).
                    if not (entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False)):
                        raise ValueError(f"{entry.path}: not a regular file or folder (never written by a build)")
            stash = self.cache.folder / _stash_name(uid)
            if stash.is_file() and not stash.is_symlink():
                from ..search import STASH
                (partial / STASH).mkdir(exist_ok=True)
                _link_or_copy(stash, partial / STASH / f"{uid}.json")
            dest.mkdir()
            text, changes = self._lifecycle(uid)
            if text is not None:
                (dest / "lifecycle.json").write_text(text, encoding="utf-8")
            for name in sorted(self.fresh.get(uid, ())):
                (dest / name).write_text(self._empty_feed(src / name), encoding="utf-8")
        except (OSError, ValueError) as exc:
            self.cache.warn(f"{src}", exc)
            if dest.exists():
                shutil.rmtree(dest, ignore_errors=True)
            return False
        self.reused.append(uid)
        if changes is not None:
            self.changes[uid] = changes
        if text is None:
            self.same_day.add(uid)
        self.trees.pop(uid, None)   # only a rebuilt unit's job reads it
        return True

    def _lifecycle(self, uid: str) -> tuple[str | None, list | None]:
        """(text, changes) of a reused unit's lifecycle.json: a function of the unit's key
        (its items, their states, the 索引号 dates they depend on) and the as-of date. The
        previous output's (the unit is reused, so that output was made under this key)
        stands as is on its own day (text None: ``finish`` keeps the previous file, which no
        build writes again, issue 15) and is moved on by one day the day after (same key:
        every state is yesterday's, so nothing changed state today); computed only
        otherwise (changes None: ``build.report_changes`` reads the file). ``changes``: the
        file's day's changes, its states being the previous output's. Nothing is written
        to the build cache: the new output holds the text the next build reads."""
        day = self.facts.day.isoformat()
        text, report = self._last_lifecycle(uid)
        if text is not None and report["as_of"] == day and isinstance(report.get("changes"), list):
            return None, report["changes"]
        if text is not None and report["as_of"] == (self.facts.day - lifecycle.ONE_DAY).isoformat():
            report.update(as_of=day, changes_since=report["as_of"], changes=[])
            return json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1) + "\n", []
        items = self.facts.by_unit.of(uid)
        return lifecycle.report_text(uid, items, self.facts.day, lifecycle.lookup(self.facts.public_on)), None

    def _last_lifecycle(self, uid: str) -> tuple[str | None, dict | None]:
        """(text, parsed) of the unit's lifecycle.json in the previous output, or (None, None)."""
        previous = self.output / uid / "lifecycle.json"
        try:
            st = os.lstat(previous)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_LIFECYCLE_BYTES:
                return None, None
            text = previous.read_text(encoding="utf-8")
            report = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError):
            return None, None
        if not (isinstance(report, dict) and isinstance(report.get("states"), dict)
                and isinstance(report.get("as_of"), str)):
            return None, None
        return text, report

    def _empty_feed(self, previous: Path) -> str:
        """The previous build's feed of a unit with no public item, dated today: an empty
        Atom feed differs from day to day only in its one ``<updated>`` (feeds.py)."""
        if previous.is_symlink() or not previous.is_file():
            raise ValueError(f"{previous}: no previous feed")
        text = previous.read_text(encoding="utf-8")
        found = UPDATED.findall(text)
        if len(found) != 1 or "<entry" in text:
            raise ValueError(f"{previous}: not an empty feed")
        when = feeds.as_of_time({"GK_AS_OF": self.facts.day.isoformat(), "TIMEZONE": self.base.get("TIMEZONE")})
        return UPDATED.sub(f"<updated>{when.isoformat()}</updated>", text)

    def finish(self, partial: Path) -> None:
        """Put each reused unit's previous folder into ``partial`` whole, just before the
        swap, with this build's own entries (``stage``'s, the checker's ``check/``) in place
        of the previous ones of the same names (``swap_in``): a few renames a unit, where
        moving its ~35 entries one by one took 45k renames a build at 1,300 units (issue 15).
        A journal beside the output lists them first: if the build stops before the swap is
        done, ``restore`` puts every previous folder back as it was (``build.recover``)."""
        swaps = {}
        pieces = getattr(self._scanner, "pieces", None)
        standing = pieces.standing_pages if pieces is not None else set()
        for uid in self.reused:
            fresh = set(os.listdir(os.path.join(partial, uid)))
            # Entries of the previous folder this build writes afresh, or does not keep.
            drop = (NOT_LINKED | set(self.fresh.get(uid, ()))) - fresh
            if "lifecycle.json" not in fresh and uid in self.same_day:
                drop.discard("lifecycle.json")    # the previous one stands (stage)
            if "check" not in fresh and uid in standing:
                drop.discard("check")             # the previous report page stands (checks.Pieces.standing)
            swaps[uid] = sorted([name, True] for name in fresh) + sorted([name, False] for name in drop)
        if not swaps:
            return
        _write_journal(self.output, partial, swaps)
        old, new = str(self.output), str(partial)
        aside = os.path.join(old, ASIDE)
        if os.path.lexists(aside):    # left by a build stopped before its restore could remove it
            _remove_aside(aside)
        os.mkdir(aside)
        for uid, names in swaps.items():
            swap_in(os.path.join(old, uid), os.path.join(new, uid), os.path.join(aside, uid), names)

    def done(self) -> None:
        """After the swap: the moved files are in the new output; the journal is spent."""
        journal(self.output).unlink(missing_ok=True)

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
            pages = self._keep_pages(uid)
            if pages:
                units[uid]["pages"] = pages
        return units

    def prepare(self, jobs: list[dict]) -> None:
        """Per unit job: what its worker needs to copy unchanged item pages (pages.py) and
        where compiled templates are kept across builds (render.TemplateCache)."""
        if not self.cache.enabled:
            return
        folder = Path(self.template_cache)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.parent.iterdir():   # compiled for another theme, code or settings
                if old.name != folder.name and old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            self.cache.warn(str(folder), exc)
        (self.cache.folder / "pages").mkdir(exist_ok=True)
        for job in jobs:
            uid = job["unit"]
            job["override"]["GK_TEMPLATE_CACHE"] = str(folder)
            spec = self.page_job(uid)
            if spec is not None:
                Path(spec["out"]).unlink(missing_ok=True)   # a stale file must never stand for this build's
                job["override"][PAGES_SETTING] = spec

    def page_job(self, uid: str) -> dict | None:
        if not self.cache.enabled or uid not in self.page_base:
            return None
        spec = {"base": self.page_base[uid], "files": self.trees.pop(uid, []),
                "out": str(self._pages_file(uid, "new"))}
        prev = self.previous.get(uid)
        old = self.output / uid
        tag = prev.get("pages") if isinstance(prev, dict) else None
        if isinstance(tag, str) and re.fullmatch(r"[0-9a-f]{32}", tag) and old.is_dir() and not old.is_symlink():
            spec.update(previous=str(old), record=str(self._pages_file(uid, tag)), record_digest=tag)
        return spec

    def _pages_file(self, uid: str, tag: str) -> Path:
        return self.cache.folder / "pages" / f"{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:32]}-{tag}.json"

    def _keep_pages(self, uid: str) -> str | None:
        """The page keys the unit's worker wrote, kept under their digest (the units record
        names them: valid exactly when the record is)."""
        new = self._pages_file(uid, "new")
        try:
            if new.is_symlink() or not new.is_file():
                return None
            data = new.read_bytes()
            counts = json.loads(data.decode("utf-8"))
            self.page_counts[0] += int(counts.get("rendered", 0))
            self.page_counts[1] += int(counts.get("copied", 0))
            self.page_counts[2] += int(counts.get("patched", 0))
            # Named in the build's line only when SHOWN or fewer were rendered in all: no more
            # are kept (each unit's worker names up to SHOWN; at 1,300 units ~1 MiB, issue 15).
            room = SHOWN - len(self.rendered_pages)
            self.rendered_pages.extend(f"{uid}/{name}" for name in counts.get("rendered_pages", [])[:max(0, room)]
                                       if isinstance(name, str))
            tag = record_digest(data)
            os.replace(new, self._pages_file(uid, tag))
        except (OSError, ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
            self.cache.warn(uid, exc)
            return None
        return tag

    def why(self, uid: str) -> str:
        """What changed for a unit that is rebuilt: the names of the key's parts that differ."""
        prev = self.previous.get(uid)
        if not isinstance(prev, dict):
            return "new" if self.previous else self.note or "no previous build"
        old = prev.get("parts") if isinstance(prev.get("parts"), dict) else None
        if not old:
            return "no previous key"
        changed = [name for name, value in self.parts.get(uid, {}).items() if old.get(name) != value]
        return ",".join(changed) or "hidden link targets"

    def scanner(self, kept: dict):
        """The checker's link scan, with the scans of unchanged units kept (checks.py)."""
        from .checks import Scanner
        self._scanner = Scanner(self.cache, self.output, sorted(self.site.units), self.reused, kept,
                                frozenset(self.same_day))
        return self._scanner

    def forget(self) -> None:
        """Before the swap: the recorded keys stop matching the output being replaced."""
        self.cache.remove(RECORD)

    def record(self, units: dict) -> None:
        """After the swap: the output now holds what these keys describe."""
        if self.cache.enabled:
            self.cache.save_json(RECORD, {"output": _identity(self.output), "units": units})
            # page keys of folders no longer in the output
            named = {self._pages_file(uid, entry["pages"]).name for uid, entry in units.items()
                     if isinstance(entry, dict) and isinstance(entry.get("pages"), str)}
            try:
                for path in (self.cache.folder / "pages").iterdir():
                    if path.name not in named and (path.is_file() or path.is_symlink()):
                        path.unlink(missing_ok=True)
            except OSError as exc:
                self.cache.warn("pages", exc)


def _link_or_copy(src: Path, dest: Path) -> None:
    """``dest`` with ``src``'s content: a hard link where the file system allows it (the
    portal's search page only reads the partial's stash, then removes it: one system call
    a reused unit instead of a copy's open, read and write of two files, issue 15)."""
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError:
        shutil.copyfile(src, dest)


def annual_shown(site, facts, uid: str, items: list, units: dict[str, dict], data: dict) -> list | None:
    """What the unit's 年报 pages show that is not in its own files (annual/plugin.py):
    each public report's warnings and the roll-up of the units below it for its year.
    The roll-up's due status depends on the as-of date; this changes on the day a
    status does (a deadline passes, a report goes public), not every day."""
    reports = sorted((i for i in items if isinstance(i.facts, Report) and facts.state(i).public), key=lambda i: i.source)
    spec = site.catalogs.annual
    if not reports or spec is None or not data:
        return None
    below = annual_series.descendants(units, uid) if uid in units else []
    out = []
    for item in reports:
        year = item.facts.year
        rollup = annual_series.rollup(units, below, year, data, spec, facts.day) if below else None
        if rollup is not None:
            # layout and rows come from the catalogs (in the render key); the figures are the data.
            rollup = {**{k: v for k, v in rollup.items() if k not in ("layout", "table")},
                      "table": [row["values"] for row in rollup["table"]]}
        out.append([item.source, year, data.get("warnings", {}).get(item.source, []), rollup])
    return out


def journal(output: Path) -> Path:
    return output.parent / f".{output.name}.moved.json"


# In the previous output, while a build swaps reused folders in (``swap_in``): this build's
# entries of each reused unit and the previous ones they replace. It goes with the old
# output after the swap, and ``restore`` empties it back otherwise.
ASIDE = ".gongkai-reused"


def swap_in(previous: str, dest: str, aside: str, names: list, rename=os.rename) -> None:
    """``dest`` (this build's folder of a reused unit: its fresh entries) becomes the
    ``previous`` folder, whole, with its entries of ``names`` ([name, fresh]) replaced by
    the fresh ones, or removed (``fresh`` false). The fresh entries wait in ``aside``, the
    replaced ones in ``aside + ".old"``; every step is one rename that ``restore`` can undo
    (``rename``: os.rename, or a test's)."""
    rename(dest, aside)
    rename(previous, dest)
    olds = aside + ".old"
    os.mkdir(olds)
    for name, fresh in names:
        entry = os.path.join(dest, name)
        if os.path.lexists(entry):
            rename(entry, os.path.join(olds, name))
        if fresh:
            rename(os.path.join(aside, name), entry)


def _write_journal(output: Path, partial: Path, swaps: dict[str, list]) -> None:
    from .store import _write_atomic
    _write_atomic(journal(output), json.dumps({"partial": partial.name, "swaps": swaps}, sort_keys=True,
                                              ensure_ascii=False).encode("utf-8"))


def _remove_aside(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def restore(output: Path) -> int:
    """Put back what ``finish`` moved out of ``output`` when the build stopped before its
    swap finished (run after ``build.recover`` restored ``.output.old``). Returns how
    many files or folders went back."""
    path = journal(output)
    if not path.is_file() or path.is_symlink():
        return 0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        partial = output.parent / data["partial"]
        moves = data.get("moves")
        swaps = data.get("swaps")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        path.unlink(missing_ok=True)
        return 0
    back = 0
    if partial.is_dir() and not partial.is_symlink() and output.is_dir() and not output.is_symlink():
        if isinstance(swaps, dict):
            back = _restore_swaps(output, partial, swaps)
        elif isinstance(moves, dict):
            back = _restore_moves(output, partial, moves)
    path.unlink(missing_ok=True)
    return back


def _plain_name(name) -> bool:
    return isinstance(name, str) and "/" not in name and name not in ("", ".", "..")


def _restore_swaps(output: Path, partial: Path, swaps: dict) -> int:
    """Undo ``swap_in`` for every unit it had moved (each step a rename, undone in reverse)."""
    back = 0
    aside_top = output / ASIDE
    for uid, names in sorted(swaps.items()):
        if not (_plain_name(uid) and isinstance(names, list)):
            continue
        previous, dest, aside = output / uid, partial / uid, aside_top / uid
        olds = aside_top / f"{uid}.old"
        if previous.exists() or previous.is_symlink() or not dest.is_dir() or dest.is_symlink():
            continue    # not moved yet: the previous folder is where it was
        for entry in names:
            if not (isinstance(entry, list) and len(entry) == 2 and _plain_name(entry[0])):
                continue
            name, fresh = entry
            here = dest / name
            if fresh and not (aside / name).exists() and not (aside / name).is_symlink() \
                    and (here.exists() or here.is_symlink()):
                os.rename(here, aside / name)      # the fresh entry was moved in: out again
            kept = olds / name
            if (kept.exists() or kept.is_symlink()) and not (here.exists() or here.is_symlink()):
                os.rename(kept, here)
        os.rename(dest, previous)
        back += 1
    if aside_top.exists() or aside_top.is_symlink():
        _remove_aside(str(aside_top))
    return back


def _restore_moves(output: Path, partial: Path, moves: dict) -> int:
    """Undo the moves of an earlier layout (each reused entry renamed on its own)."""
    back = 0
    # The swap did not happen: the moved files are in partial, their folders in output.
    for uid, names in sorted(moves.items()):
        for name in names if isinstance(names, list) else ():
            src, dest = partial / uid / name, output / uid / name
            if "/" in uid + name or name in ("", ".", "..") or uid in ("", ".", ".."):
                continue
            if (src.exists() or src.is_symlink()) and not (dest.exists() or dest.is_symlink()) \
                    and (output / uid).is_dir():
                os.rename(src, dest)
                back += 1
    return back


def _identity(output: Path) -> list | None:
    try:
        st = output.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns]
