"""Build every unit: validate all content once, run one Pelican per unit in a pool
of workers, render the portal, then swap the new output into place.

A failed build leaves the previous ``output/`` untouched: everything is written to
a sibling folder first and renamed into place only when every unit succeeded.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from . import errors, lifecycle, reader
from .facts import Facts
from .site import Site, scan


def check(content: Path, catalogs: Path, max_warnings: int | None = None) -> Site:
    """Scan and print the problems: every error, and the warnings up to ``max_warnings``."""
    site = scan(content, catalogs)
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


def build(content: Path, output: Path, settings_file: Path, catalogs: Path, as_of: str,
          jobs: int | None = None, on_check=None, site: Site | None = None) -> int:
    """Build every unit into ``output``. ``on_check(report)`` receives the checker's report
    (the checker runs when GK_CHECK_REPORTS asks for the reports, or when ``on_check`` is given).
    ``site``: content already scanned (and its problems printed) by the caller."""
    started = time.monotonic()
    site = site if site is not None else check(content, catalogs, max_warnings=20)
    if not site.ok:
        print(f"{errors.summary(site.problems)}; nothing was built, {output} is unchanged", file=sys.stderr)
        return 1
    base = _pelican_settings(settings_file)
    root_url = base.get("GK_SITE_ROOT", "").rstrip("/")
    partial = output.parent / f".{output.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    units = unit_summaries(site, root_url)
    facts = Facts.of(site, _date(as_of))
    registry, public_on = facts.registry, facts.public_on
    sangong = site.sangong_series(_date(as_of))
    counts = {uid: 0 for uid in site.units}
    for item in site.items:
        counts[item.unit] += 1
    jobs_list = []
    for uid in sorted(site.units, key=lambda u: (-counts[u], u)):
        unit = site.units[uid]
        jobs_list.append({
            "unit": uid,
            "settings_file": str(settings_file),
            "override": {
                "PATH": str(unit.folder.resolve()),
                "OUTPUT_PATH": str((partial / uid).resolve()),
                "SITEURL": f"{root_url}/{uid}",
                "FEED_DOMAIN": f"{root_url}/{uid}",
                "GK_UNIT_URL": f"{root_url}/{uid}",
                "GK_SITE_DOMAIN": urlsplit(root_url).netloc,
                "SITENAME": unit.name,
                "GK_CATALOGS": str(catalogs.resolve()),
                "GK_UNIT": unit.as_settings(),
                "GK_UNITS": units,
                "GK_REGISTRY": registry,
                "GK_PUBLIC_ON": public_on,
                "GK_SANGONG": sangong,
                "GK_AS_OF": as_of,
            },
        })
    workers = max(1, min(jobs or os.cpu_count() or 1, len(jobs_list)))
    failures = []
    ctx = multiprocessing.get_context("fork")
    reader.PREVALIDATED.update({str(item.path.resolve()): item for item in site.items})
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker) as pool:
            for result in pool.map(build_unit, jobs_list):
                if result["errors"]:
                    failures.append(result)
    finally:
        reader.PREVALIDATED.clear()
    if failures:
        for result in failures:
            for message in result["errors"]:
                print(f"[{result['unit']}] {message}", file=sys.stderr)
        shutil.rmtree(partial, ignore_errors=True)
        print(f"{len(failures)} unit(s) failed to build; {output} is unchanged", file=sys.stderr)
        return 1
    report_changes(partial, output, sorted(site.units))
    render_portal(partial, base, units, as_of, site.catalogs.level_names)
    if base.get("GK_CHECK_REPORTS") or on_check is not None:
        from .check import after_render  # the check stage reads the rendered pages (links)
        report = after_render(site, facts, catalogs, partial, base, output.name, bool(base.get("GK_CHECK_REPORTS")))
        if on_check is not None:
            on_check(report)
    if base.get("GK_MINIFY"):
        minify_css(partial)
    _swap(partial, output)
    public = len(facts.public())
    print(f"built {len(site.units)} units, {public} public items of {len(site.items)} "
          f"(as of {as_of}) in {time.monotonic() - started:.1f}s -> {output}")
    return 0


def report_changes(partial: Path, output: Path, unit_ids: list[str]) -> None:
    """Print what changed state today (and since the previous build in ``output``)."""
    lines, since_build = [], 0
    for uid in unit_ids:
        report = json.loads((partial / uid / "lifecycle.json").read_text(encoding="utf-8"))
        for change in report["changes"]:
            lines.append(f"  {uid}: {change['from']} -> {change['to']}: {change['title']} "
                         f"({change['index_no'] or change['url']}){' ' + change['reason'] if change['reason'] else ''}")
        previous = output / uid / "lifecycle.json"
        if previous.is_file():
            old = json.loads(previous.read_text(encoding="utf-8")).get("states", {})
            since_build += sum(1 for url, code in report["states"].items() if old.get(url) != code)
            since_build += sum(1 for url in old if url not in report["states"])
    if lines:
        print(f"lifecycle: {len(lines)} item(s) changed state on {report['as_of']} (since {report['changes_since']}):")
        print("\n".join(lines))
    else:
        print(f"lifecycle: no item changed state on {report['as_of']}" if unit_ids else "lifecycle: no units")
    if since_build:
        print(f"lifecycle: {since_build} item(s) differ in state from the previous build in {output}")


def minify_css(folder: Path) -> None:
    """Production builds ship minified stylesheets (rcssmin: comments and spaces only)."""
    import rcssmin
    for css in sorted(folder.rglob("*.css")):
        css.write_text(rcssmin.cssmin(css.read_text(encoding="utf-8")), encoding="utf-8")


def _date(value: str):
    import datetime as dt
    return dt.date.fromisoformat(value)


def _pelican_settings(settings_file: Path) -> dict:
    from pelican.settings import get_settings_from_file
    return get_settings_from_file(str(settings_file))


def _swap(partial: Path, output: Path) -> None:
    old = output.parent / f".{output.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        os.rename(output, old)
    os.rename(partial, output)
    if old.exists():
        shutil.rmtree(old)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record):
        if record.levelno >= logging.ERROR:
            self.errors.append(self.format(record))
        else:
            print(f"warning: {record.getMessage()}", file=sys.stderr)


def _init_worker():
    logging.getLogger().setLevel(logging.WARNING)


def build_unit(job: dict) -> dict:
    """Run Pelican for one unit (in a worker process)."""
    from pelican import Pelican
    from pelican.log import console
    from pelican.settings import read_settings

    console.quiet = True  # Pelican's own "Done: …" line per unit; we print one summary

    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        settings = read_settings(job["settings_file"], override=job["override"])
        Pelican(settings).run()
    except Exception as exc:  # noqa: BLE001 - report any failure of this unit, build the rest
        handler.errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    finally:
        root.removeHandler(handler)
    return {"unit": job["unit"], "errors": handler.errors}


def render_portal(out: Path, settings: dict, units: dict[str, dict], as_of: str,
                  level_names: dict[str, str]) -> None:
    theme = Path(settings["THEME"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
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
