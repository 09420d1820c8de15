"""Build every unit: validate all content once, run one Pelican per unit in a pool
of workers, render the portal, then swap the new output into place.

A failed build leaves the previous ``output/`` untouched: everything is written to
a sibling folder first and renamed into place only when every unit succeeded.
One build at a time writes an output folder: a lock file beside it
(``.output.lock``) makes a second build wait, then refuse. A build killed between
the two renames of the swap leaves ``.output.old``; the next build restores it first.

Failures outside content (a theme template, a full disk, a read-only folder) become
one line naming the file, never a traceback (``--debug`` shows it).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import re
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from . import errors, incremental, interrupt, lifecycle, search, timings
from .annual import portal as annual_portal
from .annual import series as annual_series
from .facts import Early, Facts, reverse_refs
from .pool import Zygote
from .render import compiled_kept
from .site import Registry, Site, scan
from .tools.progress import Progress


def check(content: Path, catalogs: Path, max_warnings: int | None = None, cache=None, jobs: int | None = None,
          spool_at: tuple[Path, str] | None = None, on_unit=None) -> Site:
    """Scan and print the problems: every error, and the warnings up to ``max_warnings``.
    ``cache``: an incremental.ItemCache (validated items of unchanged files); ``jobs``,
    ``spool_at``, ``on_unit``: see site.scan."""
    site = scan(content, catalogs, cache, jobs, spool_at=spool_at, on_unit=on_unit)
    # 年报 against last year's and the unit's items: only reports public on the as-of date
    site.problems.extend(annual_series.problems(site, lifecycle.as_of()))
    shown = 0
    for p in errors.sort(site.problems):
        if p.severity != "error":
            shown += 1
            if max_warnings is not None and shown > max_warnings:
                continue
        print(p, file=sys.stderr)
    if max_warnings is not None and shown > max_warnings:
        print(f"… and {shown - max_warnings} more warning(s): `make check` lists them all", file=sys.stderr)
    return site


def unit_summaries(site: Site, root_url: str) -> dict[str, dict]:
    return {uid: {"id": uid, "name": u.name, "short_name": u.short_name or u.name, "level": u.level,
                  "parent": u.parent, "children": list(u.children), "url": f"{root_url}/{uid}/index.html"}
            for uid, u in sorted(site.units.items())}


# Units planned at a time (their keys made, the reused ones staged) before their jobs are
# sent: enough that a worker never waits for the next job, few enough that what a planned
# unit holds until its job is sent stays small (build._build).
PLAN_AHEAD = 16

# A unit of at most this many items is built with the cycle collector paused and collected
# once at its end (``collector_paused``). Larger units keep it running: what the pause holds
# grows with the unit (~85 container objects an item at the end of a 2,000-item unit).
PAUSE_GC_ITEMS = 1_000

# Exit codes of ``python -m gongkai`` (README, 命令 / commands).
EXIT_OK, EXIT_CONTENT, EXIT_USAGE, EXIT_SYSTEM, EXIT_LOCKED = 0, 1, 2, 3, 4


class BuildError(Exception):
    """A build stopped for a reason outside content; the message is the one line shown."""

    def __init__(self, message: str, code: int = EXIT_SYSTEM):
        super().__init__(message)
        self.code = code


def build(content: Path, output: Path, settings_file: Path, catalogs: Path, as_of: str,
          jobs: int | None = None, debug: bool = False, wait: float = 300.0, on_check=None,
          site: Site | None = None, units: list[str] | None = None, use_cache: bool = True,
          timings_file: Path | None = None, zygote: Zygote | None = None) -> int:
    """Build every unit into ``output``. ``on_check(report)`` receives the checker's report
    (the checker runs when GK_CHECK_REPORTS asks for the reports, or when ``on_check`` is given).
    ``site``: content already scanned (and its problems printed) by the caller.
    ``units``: build only these units' folders, plus the parts ``merge`` needs (merge.py).
    ``use_cache``: reuse what the previous build into ``output`` made of unchanged input (incremental/).
    ``timings_file``: where the per-stage figures go as JSON (default: $GK_TIMINGS, else nowhere).
    ``zygote``: the process the unit workers are forked from (pool.py), made by a caller that
    scans first (``site``) before it did; else made here, before the pre-pass."""
    check_output(output)
    with build_lock(output, wait):
        recover(output)
        partial = output.parent / f".{output.name}.partial"
        # Before the pre-pass: the workers are forked from it, not from a full parent. It
        # compiles the theme unless the build cache holds it compiled (render.compiled_kept).
        theme = None if use_cache and compiled_kept(output) else str(settings_file)
        zygote = zygote or Zygote(functools.partial(warm_worker, str(catalogs.resolve()), theme),
                                  functools.partial(sweep_trash, output))
        try:
            return _build(content, output, partial, settings_file, catalogs, as_of, jobs, debug, on_check, site,
                          units, use_cache, timings_file, zygote)
        finally:
            zygote.close()
            incremental.restore(output)   # reused units' files moved into partial go back if no swap happened
            if partial.exists() or partial.is_symlink():
                try:
                    _remove(partial)
                except OSError:
                    pass  # the failure that got us here is the one to report


def check_output(output: Path) -> None:
    """Refuse an output path that the swap would damage (build and merge)."""
    if output.is_symlink():
        raise BuildError(f"{output}: 输出目录是符号链接，拒绝构建，以免替换或删除它指向的目录；请用 --output "
                         f"指向实际目录 (output is a symlink: refused; point --output at a real folder)", EXIT_USAGE)
    if output.exists() and not output.is_dir():
        raise BuildError(f"{output}: 输出路径已存在且不是目录，拒绝覆盖 (output exists and is not a folder: refused)",
                         EXIT_USAGE)


def _build(content: Path, output: Path, partial: Path, settings_file: Path, catalogs: Path, as_of: str,
           jobs: int | None, debug: bool, on_check=None, site: Site | None = None,
           only: list[str] | None = None, use_cache: bool = True, timings_file: Path | None = None,
           zygote: Zygote | None = None) -> int:
    started = time.monotonic()
    watch = timings.Stopwatch()  # per-stage CPU, wall and peak RSS: one `stages:` line, JSON when asked
    store = incremental.open_cache(output, use_cache)
    from .search import zhmap
    # The 简繁 maps from the build cache, else made by a child process begun now, on the other
    # core while this one runs the pre-pass (OpenCC's dictionaries would stay in this process:
    # +34 MiB, its peak in a cold build). Handed to every unit worker.
    maps_ready = zhmap.begin(store, lambda: Begun(zhmap.maps).result)
    kept_facts = early_facts = None
    if site is None:
        item_cache = incremental.ItemCache(store, catalogs)
        from .incremental.facts import KeptFacts
        kept_facts = KeptFacts(store, item_cache.key) if store.enabled else None
        # Each unit's part of the facts made as the pre-pass hands it over (facts.Early).
        early_facts = Early(_date(as_of), window=kept_facts is not None)
        site = check(content, catalogs, max_warnings=20, cache=item_cache, jobs=jobs,
                     spool_at=(output.parent, _spool_prefix(output)), on_unit=early_facts)
    watch.add("validate", site.workers_cpu)   # the scan's workers (site.scan)
    watch.rss["validate_worker"] = site.workers_rss
    watch.lap("validate")
    if early_facts is not None:
        watch.move("validate", "lifecycle", early_facts.cpu)
    if not site.ok:
        print(f"{errors.summary(site.problems)}; nothing was built, {output} is unchanged", file=sys.stderr)
        return 1
    part = None
    if only is not None:
        from .merge import PartWriter  # a subset build (UNITS=a,b,c): every unit is scanned, these are built
        part = PartWriter.of(site, only, content, catalogs, settings_file, as_of, output.name)
    base = _pelican_settings(settings_file)
    root_url = base.get("GK_SITE_ROOT", "").rstrip("/")
    if partial.exists() or partial.is_symlink():
        _remove(partial)
    partial.mkdir(parents=True)
    units = unit_summaries(site, root_url)
    facts = Facts.of(site, _date(as_of), kept_facts, early_facts)
    if early_facts is not None:
        early_facts.close()
    del early_facts
    sangong = site.sangong_series(_date(as_of))
    hidden = facts.hidden
    annual = annual_series.settings(site, facts)
    counts = {uid: site.items.count(uid) for uid in site.units}
    # Cross-unit facts every unit reads: handed to each worker once (inherited at fork),
    # not pickled into every job, so a worker's memory does not grow with the unit count.
    # The registry, its public-on dates and reverse links go with each job, sliced to what
    # the unit can show (unit_slices): a worker does not hold the province's.
    shared = {"GK_UNITS": units, "GK_SANGONG": sangong,
              "GK_ANNUAL": annual, "GK_AS_OF": as_of, "GK_HIDDEN": hidden,
              "GK_CATALOGS": str(catalogs.resolve()), "GK_SITE_DOMAIN": urlsplit(root_url).netloc}
    watch.lap("lifecycle")
    built = part.units if part is not None else sorted(site.units)
    # Resolved once: each unit's folder in it is made by this build (no link to follow), and
    # a resolve per unit walked the whole path again (1,300 units every build, issue 15).
    partial_path = partial.resolve()

    def job_of(uid: str) -> dict:
        unit = site.units[uid]
        return {
            "unit": uid,
            "settings_file": str(settings_file),
            "debug": debug,
            "override": {
                "PATH": str(unit.folder.resolve()),
                "OUTPUT_PATH": str(partial_path / uid),
                "SITEURL": f"{root_url}/{uid}",
                "FEED_DOMAIN": f"{root_url}/{uid}",
                "GK_UNIT_URL": f"{root_url}/{uid}",
                "SITENAME": unit.name,
                "GK_UNIT": unit.as_settings(),
                # The theme's files are the portal's, copied once (render_portal): a unit's
                # pages read them at the root (macros.html THEME), not a copy in every unit.
                "THEME_STATIC_PATHS": [],
            },
            "items": counts[uid],
        }

    # incremental/: units whose inputs did not change since the last build keep their folder.
    # A unit's job is made when the unit is planned (its key reads the job's settings) and
    # let go of once sent: the parent never holds every unit's job (issue 15, flat in units).
    wanted = set(built)
    planning: dict[str, dict] = {}   # the jobs of the units being planned (unit_jobs), made once

    def override_of(uid: str) -> dict | None:
        if uid not in wanted:
            return None
        if uid not in planning:
            planning[uid] = job_of(uid)
        return planning[uid]["override"]

    reuse = incremental.Reuse(store, output, site, facts, shared, override_of, base, settings_file, catalogs)
    maps_ready()   # the 简繁 maps (zhmap.begin in _build), handed to every worker below
    from .check import prepare_jobs as check_jobs   # the link scan runs in the unit workers
    scan_links = bool(base.get("GK_CHECK_REPORTS") or on_check is not None)
    # The checker's rules that read no page, evaluated here for each unit sent while the
    # workers render (check.Ahead): the check stage after the last unit keeps the link rule.
    check_ahead = None
    if scan_links:
        from .check import Ahead
        check_ahead = Ahead(site, facts, catalogs / "rules.yaml")
    # The units the scan read again (a file changed) are planned first and their jobs sent
    # at once; the keys of the units it answered from the build cache are made, and the
    # reused ones staged, while the workers build those (zygote.map asks for the next job
    # right after sending the first: issue 15, a one-item edit). The same units are built
    # and reused whatever the order; each group's jobs go biggest first, planned PLAN_AHEAD
    # at a time: what a planned unit holds until its job is sent (its key's parts, its
    # file list) is then held for a few units, not for the province's.
    order = sorted(built, key=lambda u: (-counts[u], u))
    groups = [[u for u in order if u not in site.from_cache], [u for u in order if u in site.from_cache]]
    sent: list[str] = []

    def unit_jobs() -> Iterator[dict]:
        for group in groups:
            for at in range(0, len(group), PLAN_AHEAD):
                chunk = group[at:at + PLAN_AHEAD]
                reusable = set(reuse.plan(chunk))
                todo = []
                for uid in chunk:
                    job = planning.pop(uid, None) or job_of(uid)
                    if not (uid in reusable and reuse.stage(uid, partial)):
                        todo.append(job)
                incremental.prepare_jobs(store, todo, reuse)
                check_jobs(todo, partial, base, scan_links)
                progress.total = len(sent) + len(todo) + len(group) - at - len(chunk)
                # What the workers read of the province: the settings every unit reads, once per
                # worker; and with each job, the registry entries its unit can show (unit_slices).
                for job, slices in zip(todo, unit_slices(facts, [j["unit"] for j in todo])):
                    sent.append(job["unit"])
                    if check_ahead is not None:
                        check_ahead.add(job["unit"])
                    held = site.spool.held(job["unit"]) if site.spool is not None else None
                    yield {**job, "shared": slices, "override": _handed_over(job["override"]),
                           **({"spooled": held} if held is not None else {})}
        reuse.trees.clear()

    # Past the units read again, one more worker for a unit whose key changed without its
    # files (its registry entries): known only once its key is made. A build that read no
    # unit again (a new day) may rebuild any of them.
    ahead = len(groups[0]) + 1 if store.enabled and groups[0] and groups[1] else len(built)
    workers = max(1, min(jobs or os.cpu_count() or 1, ahead))
    failures = []
    spool = (str(site.spool.folder), site.spool.token) if site.spool is not None else None
    if zygote is None:
        zygote = Zygote()
    progress = Progress(len(built), "构建 (build)")
    for result in zygote.map(build_unit, unit_jobs(), workers, _init_worker, (shared, zhmap.maps()), spool):
        progress.step(counts[result["unit"]])
        watch.worker(result)
        if check_ahead is not None:
            check_ahead.step(2)   # two a result: done before the last units, whose end nothing else fills
        if result["errors"]:
            failures.append(result)
    progress.done()
    watch.workers = workers
    # What only the unit workers read (the registry, public-on dates): gone before the
    # portal and the check stage, which then reuse that memory (issue 15).
    facts.registry, facts.public_on, site.public_on = Registry(), {}, {}
    watch.lap("render", wall="units")
    if check_ahead is not None:
        watch.move("render", "check", check_ahead.cpu)
    if failures:
        # One mistake, one message (DESIGN §9): a broken template fails every unit alike.
        seen: dict[str, list[str]] = {}
        for result in failures:
            for message in result["errors"]:
                seen.setdefault(message, []).append(result["unit"])
        for message, unit_ids in seen.items():
            print(f"[{', '.join(unit_ids)}] {message}", file=sys.stderr)
        print(f"{len(failures)} unit(s) failed to build; {output} is unchanged", file=sys.stderr)
        return max(r["code"] for r in failures)
    kept = reuse.keep(partial, sent)
    print(incremental.summary(store, reuse, sent))
    finish(partial, output, site, facts, catalogs, base, units, annual, as_of, built, on_check, part=part,
           reuse=reuse, kept=kept, watch=watch, ahead=check_ahead)
    store.save_hashes()
    print(watch.report(timings_file))
    public = sum(facts.public_counts.get(uid, 0) for uid in built)
    print(f"built {len(built)} units{f' of {len(site.units)}' if part is not None else ''}, {public} public items "
          f"of {sum(counts[uid] for uid in built)} (as of {as_of}) in {time.monotonic() - started:.1f}s -> {output}")
    return 0


def finish(partial: Path, output: Path, site: Site, facts: Facts, catalogs: Path, base: dict, units: dict[str, dict],
           annual: dict, as_of: str, built: list[str], on_check=None, part=None, report_of=None,
           merged: frozenset[str] = frozenset(), reuse=None, kept=None, watch=None, ahead=None) -> None:
    """The final stage, after the unit folders are in ``partial``: the portal, the annual
    portal, the portal search page, the checker, minify, swap. The full build and
    ``merge`` (merge.py) both end here, so a merged tree cannot drift from a full build.
    ``part``: a subset build's PartWriter (saves what merge needs into ``_parts/``);
    ``report_of(partial)``: the checker's report from the parts (merge), instead of running
    it; ``merged``: unit folders taken from parts (already minified there); ``reuse``/``kept``:
    the incremental plan (incremental.Reuse): reused units' files are moved in just before the swap;
    ``watch``: the build's timings.Stopwatch (stages write, search, check); ``ahead``: the
    findings evaluated while the units rendered (check.Ahead), or None."""
    watch = watch if watch is not None else timings.Stopwatch()
    # The parent's templates (portal, check reports) compiled once and kept in the build
    # cache beside the workers' (render.TemplateCache: keyed by the source's checksum):
    # ~0.05-0.1 s of every build's critical path compiled them again (issue 15).
    compiled = None
    if reuse is not None and reuse.template_cache:
        from .render import TemplateCache
        compiled = TemplateCache()
        compiled.use_folder(reuse.template_cache)
    report_changes(partial, output, built, as_of, reuse.changes if reuse is not None else {})
    render_portal(partial, base, units, as_of, site.catalogs.level_names, compiled)
    annual_portal.render(partial, base, units, annual, site.catalogs.annual, as_of)
    watch.lap("write")
    if part is not None:
        part.save_search(partial)
    if line := search.build_portal(partial, base, units, as_of,
                                   frozenset(reuse.reused) if reuse is not None else frozenset()):
        print(line)
    watch.lap("search")
    report = None
    if base.get("GK_CHECK_REPORTS") or on_check is not None:
        write = bool(base.get("GK_CHECK_REPORTS"))
        if report_of is not None:
            report = report_of(partial)
            if write:
                from .check import write_reports
                write_reports(report, partial, base)
        else:
            from .check import after_render  # the check stage reads the rendered pages (links)
            report = after_render(site, facts, catalogs, partial, base, output.name, write, units=built,
                                  scanner=reuse.scanner(kept) if reuse is not None else None, compiled=compiled,
                                  ahead=ahead)
        if on_check is not None:
            on_check(report)
    watch.lap("check")
    if part is not None:
        part.save(partial, report)
    if base.get("GK_MINIFY"):
        minify_css(partial, skip=merged)
    if reuse is not None:
        reuse.forget()
        reuse.finish(partial)
    # A rebuild that reused units replaced a few folders: the old tree goes to the trash for
    # the next build's zygote to remove, off the critical path (sweep_trash).
    _swap(partial, output, keep_old=reuse is not None and bool(reuse.reused))
    if reuse is not None:
        reuse.done()
        reuse.record(kept)
    watch.lap("write")


def report_changes(partial: Path, output: Path, unit_ids: list[str], as_of: str,
                   known: dict[str, list] | None = None) -> None:
    """Print what changed state today (and since the previous build in ``output``).
    ``known``: the day's changes of reused units whose states are those of their previous
    lifecycle.json (incremental.Reuse.changes): neither file is read for them."""
    lines, since_build = [], 0
    known = known or {}
    for uid in unit_ids:
        if uid in known:
            report = {"changes": known[uid]}
        else:
            report = json.loads((partial / uid / "lifecycle.json").read_text(encoding="utf-8"))
        for change in report["changes"]:
            lines.append(f"  {uid}: {change['from']} -> {change['to']}: {change['title']} "
                         f"({change['index_no'] or change['url']}){' ' + change['reason'] if change['reason'] else ''}")
        previous = output / uid / "lifecycle.json"
        if uid not in known and previous.is_file() and not previous.is_symlink():
            # The previous output is only compared with: a damaged one never stops a build.
            try:
                old = json.loads(previous.read_text(encoding="utf-8")).get("states", {})
            except (OSError, ValueError, AttributeError):
                old = {}
            if not isinstance(old, dict):
                old = {}
            since_build += sum(1 for url, code in report["states"].items() if old.get(url) != code)
            since_build += sum(1 for url in old if url not in report["states"])
    if lines:
        day = _date(as_of)
        print(f"lifecycle: {len(lines)} item(s) changed state on {day.isoformat()} "
              f"(since {(day - lifecycle.ONE_DAY).isoformat()}):")
        print("\n".join(lines))
    else:
        print(f"lifecycle: no item changed state on {_date(as_of).isoformat()}" if unit_ids
              else "lifecycle: no units")
    if since_build:
        print(f"lifecycle: {since_build} item(s) differ in state from the previous build in {output}")


def minify_css(folder: Path, skip: frozenset[str] = frozenset()) -> None:
    """Production builds ship minified stylesheets (rcssmin: comments and spaces only).
    ``skip``: top-level folders already minified (a merge's unit folders, hard links to a part's)."""
    import rcssmin
    for css in sorted(folder.rglob("*.css")):
        if css.relative_to(folder).parts[0] in skip:
            continue
        css.write_text(rcssmin.cssmin(css.read_text(encoding="utf-8")), encoding="utf-8")


def _date(value: str):
    import datetime as dt
    return dt.date.fromisoformat(value)


def _pelican_settings(settings_file: Path) -> dict:
    """The settings file's upper-case names, as pelican.settings.get_settings_from_file
    reads them (the same steps: the file run as a module registered under its name, names
    in sorted order), without importing Pelican into the build's process: only its
    workers run Pelican, and the import is ~0.13 s of every build's critical path."""
    import importlib.util

    name = os.path.splitext(os.path.basename(settings_file))[0]
    spec = importlib.util.spec_from_file_location(name, str(settings_file))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    settings = {k: v for k, v in sorted(vars(module).items()) if k.isupper()}
    _check_theme_dir(settings, settings_file)
    return settings


_FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_THEME_DIR_LINE = re.compile(r"\s*THEME_STATIC_DIR\s*=")


def _check_theme_dir(settings: dict, settings_file: Path) -> None:
    """THEME_STATIC_DIR names the one folder of the theme's files at the output's root, which
    every unit's pages read: a plain folder name, never a path (``../x`` wrote the theme
    beside the output, outside it)."""
    value = settings.get("THEME_STATIC_DIR", "theme")
    if isinstance(value, str) and _FOLDER_NAME.fullmatch(value):
        return
    where = str(settings_file)
    try:
        lines = Path(settings_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    # The value Python kept is the last assignment's (not THEME_STATIC_DIRS, not a comment);
    # none in this file: it came from a file this one imports, and the file alone is named.
    assigned = [n for n, line in enumerate(lines, 1) if _THEME_DIR_LINE.match(line)]
    if assigned:
        where += f":{assigned[-1]}"
    raise BuildError(f"{where}: THEME_STATIC_DIR: 主题文件目录须为一个目录名（字母、数字、_ - .），不能是路径，"
                     f"当前为 {value!r} (expected one folder name such as 'theme', not a path; got {value!r})",
                     EXIT_USAGE)


def _old(output: Path) -> Path:
    return output.parent / f".{output.name}.old"


def _remove(path: Path) -> None:
    """Delete a file or folder; a symlink is unlinked, never followed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _swap(partial: Path, output: Path, keep_old: bool = False) -> None:
    """Two renames: ``output`` -> ``.output.old``, ``partial`` -> ``output``. A kill
    between them leaves only ``.output.old``; ``recover`` puts it back. Then the old tree
    is removed, or with ``keep_old`` renamed to ``.output.trash-<random>`` for the next
    build to remove (``sweep_trash``): deleting a unit's ~600 replaced files took 0.1 s of
    a one-item rebuild on a quiet disk and seconds on a busy one (issue 15)."""
    old = _old(output)
    if old.exists() or old.is_symlink():
        _remove(old)
    with interrupt.deferred():   # SIGTERM/Ctrl-C between the two renames waits for the second
        if output.exists():
            os.rename(output, old)
        os.rename(partial, output)
    if old.exists() or old.is_symlink():
        if keep_old and not old.is_symlink():
            if len(_trash(output)) < MAX_TRASH:
                try:
                    os.rename(old, output.parent / f"{_trash_prefix(output)}{secrets.token_hex(8)}")
                    return
                except OSError:
                    pass
            else:
                sweep_trash(output)   # builds too short for their zygote to sweep: bounded here
        _remove(old)


MAX_TRASH = 2   # old trees left beside an output at most; past it the build removes them itself


def _trash_prefix(output: Path) -> str:
    return f".{output.name}.trash-"


def _trash(output: Path) -> list[str]:
    prefix = _trash_prefix(output)
    try:
        return sorted(n for n in os.listdir(output.parent) if n.startswith(prefix))
    except OSError:
        return []


def sweep_trash(output: Path, stop=lambda: False) -> None:
    """Remove the old trees earlier builds into ``output`` left (``_swap``), deepest entries
    first, until ``stop()``: run by the build's zygote while the build's process does the
    pre-pass, it gives way when the units are to be built, and what is left stays trash for
    the next build. Only entries named ``.<output>.trash-…`` beside ``output`` are touched;
    links in them are unlinked, never followed."""
    parent = Path(output).parent
    for name in _trash(Path(output)):
        top = os.path.join(parent, name)
        if os.path.islink(top) or not os.path.isdir(top):
            with contextlib.suppress(OSError):
                os.unlink(top)
            continue
        for count, (dirpath, dirnames, filenames) in enumerate(os.walk(top, topdown=False)):
            for entry in filenames + dirnames:
                path = os.path.join(dirpath, entry)
                with contextlib.suppress(OSError):
                    if os.path.islink(path) or not os.path.isdir(path):
                        os.unlink(path)
                    else:
                        os.rmdir(path)
            if count % 8 == 7 and stop():
                return
        with contextlib.suppress(OSError):
            os.rmdir(top)
        if stop():
            return


def recover(output: Path) -> bool:
    """Undo a swap cut short: restore ``.output.old`` when ``output`` is missing, and
    drop a leftover one; put back the reused units' files a stopped build had moved out
    of ``output`` (incremental/). Returns True when the old output was restored."""
    old = _old(output)
    restored = False
    if old.exists() or old.is_symlink():
        if not output.exists() and not output.is_symlink() and old.is_dir() and not old.is_symlink():
            os.rename(old, output)
            print(f"恢复上次中断的构建留下的输出目录 (restored {output} from {old}, left by an interrupted build)",
                  file=sys.stderr)
            restored = True
        else:
            _remove(old)
    incremental.restore(output)
    for stale in output.parent.iterdir() if output.parent.is_dir() else ():
        # The pre-pass's spool of a build that was killed (under the lock: no build uses it).
        if stale.name.startswith(_spool_prefix(output)) and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    return restored


def _spool_prefix(output: Path) -> str:
    return f".{output.name}.spool-"


def _lock_path(output: Path) -> Path:
    return output.parent / f".{output.name}.lock"


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip() or "?"
    except OSError:
        return "?"


@contextmanager
def build_lock(output: Path, wait: float = 300.0, poll: float = 0.5) -> Iterator[Path]:
    """One build at a time into ``output``. The lock is an flock on ``.output.lock``
    (the file holds the pid, for the message): the kernel releases it when its process
    exits, however it exits, so a lock left by a dead build is simply taken over.
    A second build waits up to ``wait`` seconds, then refuses."""
    path = _lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BuildError(f"{path}: 另一个构建（进程 {_holder(path)}）正在写入 {output}，等待 {wait:g} 秒后仍未结束，"
                                     f"本次未构建 (another build, pid {_holder(path)}, is writing {output}; "
                                     f"gave up after {wait:g}s, nothing was built)", EXIT_LOCKED) from None
                if not told:
                    print(f"等待另一个构建（进程 {_holder(path)}）完成 (waiting for another build, "
                          f"pid {_holder(path)}, writing {output}; at most {wait:g}s)", file=sys.stderr)
                    told = True
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        # Closing the descriptor releases the flock; the file stays (removing it would
        # let a waiting build lock a file that a third one no longer sees).
        os.close(fd)


def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost theme template in a traceback (Jinja maps its frames to template lines)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith((".html", ".xml")) and frame.lineno:
            found = (frame.filename, frame.lineno)
    return found


OS_ERRORS = {
    errno.ENOSPC: "磁盘空间不足 (no space left on device)",
    errno.EDQUOT: "超出磁盘配额 (disk quota exceeded)",
    errno.EROFS: "只读文件系统，无法写入 (read-only file system)",
    errno.EACCES: "没有权限 (permission denied)",
    errno.EPERM: "不允许的操作 (operation not permitted)",
    errno.ENOENT: "文件不存在或是失效的符号链接 (no such file, or a dangling symlink)",
    errno.ELOOP: "符号链接循环 (too many levels of symbolic links)",
    errno.EISDIR: "是目录而不是文件 (is a directory)",
    errno.ENOTDIR: "路径中有一段不是目录 (not a directory)",
}


PATH_LOCALS = ("path", "dest", "dst", "filename", "output_path", "out", "folder")


def _path_in_frames(exc: BaseException) -> str | None:
    """The file being written when an OSError without a file name (a full disk while
    writing) was raised: the innermost frame that holds a path in a usual variable."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        for name in PATH_LOCALS:
            value = tb.tb_frame.f_locals.get(name)
            if isinstance(value, (str, Path)) and str(value).startswith("/"):
                found = str(value)
                break
        tb = tb.tb_next
    return found


def describe(exc: BaseException, where: str | None = None) -> str:
    """One line for the editor: the file (and line) first, what went wrong in Chinese, the
    English beside it. Used for every failure that is not a content problem."""
    if isinstance(exc, BuildError):
        return str(exc)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or exc.name or "?"
        return f"{where}:{exc.lineno}: 模板语法错误 (template syntax error): {exc.message}"
    if isinstance(exc, jinja2.TemplateError):
        frame = _template_frame(exc)
        where = f"{frame[0]}:{frame[1]}" if frame else getattr(exc, "name", None) or "template"
        kind = "模板变量未定义 (undefined in template)" if isinstance(exc, jinja2.UndefinedError) else "模板错误 (template error)"
        return f"{where}: {kind}: {exc}"
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}:{exc.lineno}: Python 语法错误 (syntax error): {exc.msg}"
    if isinstance(exc, OSError):
        what = OS_ERRORS.get(exc.errno or 0, f"{exc.strerror or exc} (OSError {errno.errorcode.get(exc.errno or 0, '')})")
        where = exc.filename if exc.filename is not None else _path_in_frames(exc) or where or "?"
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        return f"{where}: {what}"
    frame = _template_frame(exc)
    where = f"{frame[0]}:{frame[1]}: " if frame else ""
    return (f"{where}内部错误 (internal error): {type(exc).__name__}: {exc}; "
            f"加 --debug 可查看详细信息 (run with --debug for the traceback)")


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, BuildError):
        return exc.code
    if isinstance(exc, jinja2.TemplateError):
        return EXIT_CONTENT
    if isinstance(exc, SyntaxError):
        return EXIT_USAGE
    return EXIT_SYSTEM


class _Collect(logging.Handler):
    def __init__(self, debug: bool = False):
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.debug = debug

    def emit(self, record):
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            # Pelican logs some failures with exc_info: the traceback only with --debug.
            if record.exc_info and record.exc_info[1] is not None:
                message = f"{message}: {describe(record.exc_info[1])}"
                if self.debug:
                    message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            self.errors.append(message)
        else:
            print(f"warning: {message}", file=sys.stderr)


# The cross-unit settings of the current build, set in each worker by the pool's
# initializer (one build per worker process, so this is per run, not per process life).
_SHARED: dict = {}
# What a worker works out once for every unit it builds in this run (unit_settings,
# articles.UnitPelican's plugins); emptied with _SHARED.
_KEPT: dict = {}


def _init_worker(shared: dict | None = None, maps: dict | None = None):
    logging.getLogger().setLevel(logging.WARNING)
    if maps:
        from .search import zhmap
        zhmap.seed(maps)   # not computed again from OpenCC in every worker (~0.3 s each)
    _SHARED.clear()
    _SHARED.update(shared or {})
    _KEPT.clear()


def in_child(fn: Callable[[], object]):
    """``fn()`` run in a child process forked for it, its result pickled back (an exception
    too): what it loads and leaves behind is not this process's memory."""
    return Begun(fn).result()


class Begun:
    """``fn()`` begun now in a child process forked for it (``in_child`` without waiting):
    this process goes on while the child works (on another core). ``result()`` waits for
    it (an exception raised there is raised here). A child whose result is not asked for
    (a build that stops early) is ended when this object goes (``close``, also at exit),
    never left waiting to hand it over."""

    def __init__(self, fn: Callable[[], object]):
        import multiprocessing
        import weakref
        ctx = multiprocessing.get_context("fork")
        self._conn, theirs = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_begun, args=(theirs, fn), name="gongkai-child", daemon=True)
        self._process.start()
        theirs.close()
        self.close = weakref.finalize(self, _end_child, self._conn, self._process)

    def result(self):
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            raise BuildError(LOST_CHILD) from None
        finally:
            self.close()
        if kind == "error":
            raise value
        return value


def _end_child(conn, process) -> None:
    conn.close()
    if process.is_alive():
        process.terminate()
    process.join()


LOST_CHILD = ("构建失败：构建的子进程意外退出（可能被系统终止，如内存不足），输出目录保持上次完整构建的结果 "
              "(build failed: a child process of the build exited unexpectedly, e.g. killed for lack of memory; "
              "the output keeps its last complete build)")


def _begun(conn, fn: Callable[[], object]) -> None:
    try:
        try:
            message = ("ok", fn())
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            message = ("error", exc)
        try:
            conn.send(message)
        except Exception as exc:  # noqa: BLE001 - a result or an error that does not pickle: said in one line
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def _handed_over(override: dict) -> dict:
    """A job's settings as sent to its worker; the parent's copy lets go of the unit's file
    list (incremental/pages.py), so the province's are not all held until the build ends."""
    from .incremental.pages import SETTING
    sent = dict(override)
    override.pop(SETTING, None)
    return sent


def warm_worker(catalogs: str, settings_file: str | None = None) -> None:
    """What every unit worker sets up before its first page, done once in the zygote they
    are forked from (pool.py): the modules only workers import, the catalogs (cached per
    process, as the reader loads them), python-markdown's extensions, and with
    ``settings_file`` the theme's compiled templates (render.warm_templates)."""
    import numpy.dtypes  # noqa: F401 - numpy.unique's first call imports it (~30 ms)
    import numpy.ma  # noqa: F401 - imported by the search index's first numpy call
    from PIL import Image, ImageChops, ImageSequence  # noqa: F401 - images.py, on a unit's images
    Image.preinit()   # the common image formats' plugins, which Image.open imports on first use

    from . import catalogs as catalogs_mod
    from . import articles, columns, feeds, fiscal_plugin, reader  # noqa: F401 - imported for the workers
    from .annual import plugin  # noqa: F401
    from .check import links  # noqa: F401
    from .incremental import pages  # noqa: F401
    from .render import Renderer, warm_templates
    from .search import index  # noqa: F401
    catalogs_mod.load(catalogs)
    Renderer()
    if settings_file is not None:
        warm_templates(settings_file)


def build_unit(job: dict) -> dict:
    """Run Pelican for one unit (in a worker process)."""
    from pelican.log import console

    from .articles import UnitPelican

    console.quiet = True  # Pelican's own "Done: …" line per unit; we print one summary

    handler = _Collect(job.get("debug", False))
    root = logging.getLogger()
    root.addHandler(handler)
    cpu, wall = time.process_time(), time.perf_counter()
    from . import reader
    spool = reader.SPOOL[0] if reader.SPOOL else None
    if spool is not None and "spooled" in job:
        spool.hold(job["unit"], job["spooled"])   # the unit's items by the parent's reference (Spool.refer)
    # The pages' texts as the writer wrote them, for the link scan below (not read back).
    texts = None
    if job.get("check_scan"):
        from .check.links import Written
        texts = Written()
    try:
        # The collector's one collection at the end is counted in the unit's render and search
        # time (unit_sums below), where its garbage was made.
        with collector_paused(job.get("items")):
            override = {**_SHARED, **job.get("shared", {}), **job["override"]}   # shared: the unit's registry slice
            settings = unit_settings(job["settings_file"], override, _KEPT)
            UnitPelican(settings, kept=_KEPT, texts=texts).run()
    except Exception as exc:  # noqa: BLE001 - report any failure of this unit, build the rest
        message = describe(exc, job["override"]["OUTPUT_PATH"])
        handler.errors.append(message + ("\n" + traceback.format_exc() if job.get("debug") else ""))
        code = exit_code(exc)
    else:
        code = EXIT_CONTENT
    finally:
        root.removeHandler(handler)
    stash = Path(job["override"]["OUTPUT_PATH"]).parent / search.STASH / f"{job['unit']}.json"
    stages = timings.unit_sums(time.process_time() - cpu, time.perf_counter() - wall, stash)
    if not handler.errors and job.get("check_scan"):
        from .check import scan_unit_job   # the checker's link scan of the pages just written
        stages["check"] = scan_unit_job(job, texts)
    if texts is not None:
        texts.clear()   # a unit's pages, not held while the worker builds its next unit
    if spool is not None and "spooled" in job:
        spool.hold(job["unit"], None)
    return {"unit": job["unit"], "errors": handler.errors, "code": code, "stages": stages,
            "rss_mib": timings.peak_rss_mib()}


@contextmanager
def collector_paused(items: int | None):
    """The cycle collector off while a unit of at most PAUSE_GC_ITEMS items is built, then one
    collection of the youngest generation. Mid-unit, a collection finds the unit's items,
    pages and index nearly all alive (a 20k/100 build: ~90 collections of ~20 ms each, 1.9 s
    CPU) and moves them to older generations, where the cycles among them wait for a rare
    full collection; collected at the end, the unit's cycles are garbage and go at once
    (0.9 s CPU, the largest worker 116 -> 106 MiB). An unknown count: not paused."""
    import gc

    paused = items is not None and items <= PAUSE_GC_ITEMS and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield paused
    finally:
        if paused:
            gc.enable()
            gc.collect(0)


def unit_settings(settings_file: str, override: dict, kept: dict) -> dict:
    """Pelican's ``read_settings(settings_file, override=override)`` (settings.py, 4.12), with
    the settings file executed once per worker and run (``kept``), not once per unit: its
    values are deep-copied for each unit instead (~0.5 ms a unit saved of ~0.8; every other
    step is Pelican's, in its order, so a deprecated setting still warns in every unit). The
    file is read again when it changed (its stat signature) or the environment did (a
    settings file may read it); values that cannot be deep-copied: Pelican's own path."""
    import copy

    from pelican import settings as pelican_settings
    try:
        st = os.stat(settings_file)
        key = ("settings", settings_file, st.st_ino, st.st_size, st.st_mtime_ns, hash(frozenset(os.environ.items())))
    except OSError:
        key = None
    values = kept.get(key) if key is not None else None
    try:
        if values is None:
            values = pelican_settings.get_settings_from_file(settings_file)
            if key is not None:
                kept[key] = values
        values = copy.deepcopy(values)   # the kept values stay as the file made them
    except Exception:  # noqa: BLE001 - a value deepcopy refuses (or the file fails): Pelican's own read
        kept.pop(key, None)
        return pelican_settings.read_settings(settings_file, override=override)
    settings = pelican_settings.handle_deprecated_settings(dict(values, **override))

    def getabs(maybe_relative, base_path=settings_file):
        if os.path.isabs(maybe_relative):
            return maybe_relative
        return os.path.abspath(os.path.normpath(os.path.join(os.path.dirname(base_path), maybe_relative)))

    for p in ["PATH", "OUTPUT_PATH", "THEME", "CACHE_PATH"]:
        if settings.get(p) is not None:
            absp = getabs(settings[p])
            # THEME may be a name rather than a path
            if p != "THEME" or os.path.exists(absp):
                settings[p] = absp
    if settings.get("PLUGIN_PATHS") is not None:
        settings["PLUGIN_PATHS"] = [getabs(pluginpath) for pluginpath in settings["PLUGIN_PATHS"]]
    settings = dict(copy.deepcopy(pelican_settings.DEFAULT_CONFIG), **settings)
    settings = pelican_settings.configure_settings(settings)
    pelican_settings.PYGMENTS_RST_OPTIONS = settings.get("PYGMENTS_RST_OPTIONS", None)
    return settings


def unit_slices(facts: Facts, unit_ids: list[str]) -> Iterator[dict]:
    """For each unit, what its pages can show of other units' items: the registry entries
    its items name (repealed_by, replaced_by, interprets), its own, and the public entries
    that name its items; their public-on dates; the reverse links among them — the same
    slice its incremental key holds (incremental/units.py). A worker gets its unit's slice
    with the job instead of the province's registry."""
    registry, public_on = facts.registry, facts.public_on
    for uid in unit_ids:
        shown = facts.shown(uid)
        entries = {n: registry[n] for n in sorted(shown) if n in registry}
        yield {"GK_REGISTRY": entries, "GK_PUBLIC_ON": {n: public_on[n] for n in sorted(shown) if n in public_on},
               "GK_REVERSE": reverse_refs(entries)}


def render_portal(out: Path, settings: dict, units: dict[str, dict], as_of: str,
                  level_names: dict[str, str], compiled: jinja2.BytecodeCache | None = None) -> None:
    """``compiled``: where the templates' bytecode is kept (render.TemplateCache), or None."""
    theme = Path(settings["THEME"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, bytecode_cache=compiled)
    def node(unit: dict) -> dict:
        return {**unit, "kids": [node(units[c]) for c in unit["children"]]}

    roots = [node(u) for u in units.values() if not u["parent"] or u["parent"] not in units]
    html = env.get_template("portal.html").render(units=units, roots=roots, GK_AS_OF=as_of, level_names=level_names,
                                                  SITEURL=".", RELATIVE_URLS=True,
                                                  PORTAL_NAME=settings.get("GK_PORTAL_NAME", "政府信息公开平台"),
                                                  THEME_STATIC_DIR=settings.get("THEME_STATIC_DIR", "theme"))
    (out / "index.html").write_text(html, encoding="utf-8")
    static = theme / "static"
    shutil.copytree(static, out / settings.get("THEME_STATIC_DIR", "theme"), dirs_exist_ok=True)
