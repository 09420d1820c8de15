"""The evaluator's checker (DESIGN §11): score every unit's column against the
national rules, with the source of each rule.

    engine.py       the registry: ``@rule`` declarations joined with catalogs/rules.yaml
    unitfacts.py    one unit's facts as the rules read them (from ``facts.Facts``)
    extract.py      text of attachments, read once, bounded (for the 个人信息 rule)
    structure.py freshness.py timeliness.py fiscal.py annual.py interpretation.py
    metadata.py privacy.py links.py      one file per rule family
    report.py       scoring, check.json, the HTML reports, the console summary

``run`` is the whole stage: after the build has rendered every unit (so the link
rule reads the built pages: each unit's worker scanned its own, ``scan_unit_job``),
before the new output is swapped into place.
"""
from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import annual, annual_report, fiscal, freshness, interpretation, links, metadata, privacy, structure, timeliness  # noqa: F401 - rule families register themselves
from .engine import (NOT_WRITTEN, SPECS, Finding, Hit, Rule, as_findings, evaluate_hits, evaluate_rules, in_window,
                     load_rules, rule)
from .extract import Unreadable, extract
from .report import FindingsSpool, Report, UnitReport, UnitSummary, write_reports
from .unitfacts import UnitFacts

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from ..facts import Facts
    from ..site import Site

__all__ = ["SPECS", "Ahead", "Finding", "Hit", "Report", "Rule", "UnitFacts", "UnitReport", "UnitSummary",
           "after_render", "load_rules", "prepare_jobs", "rule", "run", "scan_unit_job", "site_root", "unit_facts",
           "write_reports"]


def site_root(settings: dict) -> str:
    """The absolute URL prefix the link rule reads as 'this site' (none with relative URLs)."""
    return settings.get("GK_SITE_ROOT", "") if not settings.get("RELATIVE_URLS") else ""


def prepare_jobs(jobs: list[dict], partial: Path, settings: dict, enabled: bool) -> None:
    """When the checker will run, each unit's worker scans the folder it has just written
    for the link rule (``scan_unit_job``): the parent's check stage then reads no page."""
    if not enabled:
        return
    for job in jobs:
        job["check_scan"] = {"stash": str((partial / links.STASH).resolve()), "site_root": site_root(settings)}


def scan_unit_job(job: dict, written: links.Written | None = None) -> float:
    """In a unit's worker, after Pelican wrote the unit: its link scan into the build's
    stash. Returns the CPU seconds spent (the check stage's share of the worker). Best
    effort: without a stash file the check stage reads the unit's pages itself.
    ``written``: the texts of the pages the unit's writer wrote (not read back)."""
    what = job.get("check_scan")
    if not what:
        return 0.0
    started = time.process_time()
    try:
        links.stash_unit(Path(job["override"]["OUTPUT_PATH"]), job["unit"], Path(what["stash"]), what["site_root"],
                         written)
    except Exception:  # noqa: BLE001 - best effort: the check stage then reads the unit's pages itself
        Path(what["stash"], f"{job['unit']}.pickle").unlink(missing_ok=True)
    return time.process_time() - started


def unit_facts(site: Site, facts: Facts, rules: dict[str, Rule], output: Path | None = None,
               shown_output: str = "output", site_root: str = "",
               units: list[str] | None = None, scanner=None, not_ids: frozenset[str] | None = None,
               written: bool = True) -> Mapping[str, UnitFacts]:
    """Every unit's facts, each computed once: attachments read once (when a rule first
    asks: a unit whose findings are kept reads none), built pages read once. A unit's facts
    are made when asked for (in unit order by ``run``), so that the units' items are held
    one unit at a time (site.items), never the province's at once.
    ``units``: only these (a subset build); links into the other units' folders are left
    for merge to resolve (links.deferred). ``scanner``: replaces ``links.scan_output``
    (incremental/ keeps the scan of unchanged units). ``written=False``: the units are not
    written yet (check.Ahead): the facts' pages raise when a rule reads them (engine.NotWritten)."""
    scan = scanner or links.scan_output
    files, pages = scan(output, shown_output, site_root) if output is not None else (None, {})
    if files is not None and units is not None:
        files.foreign = frozenset(site.units) - frozenset(units)
    stashed = getattr(scanner, "stashed", None)
    if files is not None and units is None and stashed and "links.internal" in rules:
        # The links that leave the units built by this build, judged by the unit they point
        # into before the rule reaches the units (each target unit's files loaded once).
        links.prime_outside(files, (links.stashed_outside(path, uid, site_root)
                                    for uid, path in sorted(stashed.items())))
    if not_ids is None:
        not_ids = not_id_tokens(site, facts)
    privacy_rule = rules.get("privacy.personal-info")
    gaps: dict[str, list] = {}
    for gap in facts.gaps:
        gaps.setdefault(gap.policy.unit, []).append(gap)

    def make(uid: str) -> UnitFacts:
        uf = UnitFacts(site.units[uid], facts.day, site.catalogs, _UnitItems(facts.by_unit, uid), facts.states,
                       gaps=gaps.get(uid, []), deadlines=facts.fiscal_deadlines.get(uid, {}),
                       pages=pages.get(uid, []) if files is not None else None, files=files, not_ids=not_ids,
                       full=site.full_item)
        if not written:
            uf.pages = uf.files = NOT_WRITTEN
        if privacy_rule is not None:
            # A weak reference: a unit's facts (and its items) go as soon as its report is made,
            # not at the next full garbage collection (a cycle would keep them until then).
            uf.attachments = functools.partial(_read_attachments, weakref.proxy(uf), privacy_rule.thresholds)
        if hasattr(scanner, "verdicts"):
            uf.link_memo = scanner   # incremental/checks.py: the link rule's verdicts from the workers or the cache
        return uf

    return _Lazy(sorted(site.units if units is None else units), make)


class _UnitItems(Sequence):
    """A unit's items, unpickled (site.items) when a rule first reads them: the rules that
    run every build (``cross_unit``) read the unit's gaps and pages, not its items, so a
    unit whose other findings are kept is not unpickled at all."""

    def __init__(self, store, uid: str):
        self._store, self._uid = store, uid

    def _items(self) -> list:
        return self._store.of(self._uid)

    def __getitem__(self, index):
        return self._items()[index]

    def __len__(self) -> int:
        return self._store.count(self._uid)

    def __iter__(self):
        return iter(self._items())


class _Lazy(Mapping):
    """unit id -> its UnitFacts, made when asked for and not kept."""

    def __init__(self, uids: list[str], make):
        self._uids, self._known, self._make = uids, frozenset(uids), make

    def __getitem__(self, uid: str) -> UnitFacts:
        if uid not in self._known:
            raise KeyError(uid)
        return self._make(uid)

    def __iter__(self):
        return iter(self._uids)

    def __len__(self) -> int:
        return len(self._uids)


def _read_attachments(uf: UnitFacts, t: dict) -> tuple[list, list]:
    """The text of the unit's shown attachments of the kinds the 个人信息 rule reads, bounded."""
    texts, unread = [], []
    for item in uf.shown:
        for att in item.attachments:
            shown = f"{item.source.rsplit('/', 1)[0]}/{att.name}"
            if att.ext not in t["attachment_exts"]:
                continue
            try:
                texts.append(extract(att.source, shown, att.ext, t["max_bytes"], t["max_chars"], t["max_pages"]))
            except Unreadable as exc:
                unread.append((shown, str(exc)))
    return texts, unread


def not_id_tokens(site: Site, facts: Facts | None = None) -> frozenset[str]:
    """Digit runs of every unit's org code and every 索引号 (privacy: never personal numbers).
    ``facts``: their 索引号, taken in their pass over the items (else the items are read)."""
    numbers = facts.index_nos if facts is not None else [i.index_no for i in site.items if i.index_no]
    return privacy.not_id_tokens([u.org_code for u in site.units.values()] + list(numbers))


class Ahead:
    """The rules that read no built page (not declared ``pages``), evaluated for each unit
    the build renders while its unit workers render: the build's process only waits on
    them then. The check stage after the last unit, with one core busy and the other idle,
    is left with the link rule (issue 15: ~0.3 s of a cold 20k/100 build's end). ``run``
    takes each unit's findings from here (``take``) and evaluates the rest itself; the
    findings are the same either way (the rules read the same facts)."""

    def __init__(self, site: Site, facts: Facts, rules_path: Path):
        self._site, self._facts_of, self._rules_path = site, facts, rules_path
        self._todo: deque[str] = deque()
        # uid -> where its findings are in the spill: held live until the check stage, a
        # province's findings grew the parent with the unit count (issue 15: flat in units).
        self._found: dict[str, tuple[int, int]] = {}
        self._spill = site.spill()
        self.cpu = 0.0      # this process's CPU seconds spent here (the check stage's, in the figures)

    # The rules file and the 个人信息 rule's tokens are read on the first step (or by ``run``):
    # made here, they were ~0.06 s more of the stretch before the first unit, one core idle.
    @functools.cached_property
    def rules(self) -> dict[str, Rule]:
        return load_rules(self._rules_path)

    @functools.cached_property
    def not_ids(self) -> frozenset[str]:
        return not_id_tokens(self._site, self._facts_of)

    @functools.cached_property
    def ids(self) -> list[str]:
        """The rules evaluated here: those not declared ``pages``."""
        return sorted(i for i, r in self.rules.items() if not r.pages)

    @functools.cached_property
    def _facts(self) -> Mapping[str, UnitFacts]:
        return unit_facts(self._site, self._facts_of, self.rules, not_ids=self.not_ids, written=False)

    def add(self, uid: str) -> None:
        self._todo.append(uid)

    def step(self, units: int = 1) -> None:
        """Evaluate the next ``units`` units added (in the order they were added)."""
        if not self._todo:
            return
        started = time.process_time()
        for _ in range(min(units, len(self._todo))):
            uid = self._todo.popleft()
            # Hits, not findings: a finding unpickled would hold its own copy of its rule's
            # name, source and fix (issue 15: the check stage's peak grew with the units).
            hits = evaluate_hits(self.rules, self._facts[uid], self.ids)
            try:
                self._found[uid] = self._spill.put(hits)
            except OSError:
                pass    # a full disk costs time, never the build: ``run`` evaluates the unit
        self.cpu += time.process_time() - started

    def take(self, uid: str) -> dict[str, tuple]:
        """Rule id -> (lo, hi, findings) of ``uid``, as ``evaluate_rules`` gives them; {} when
        the unit was not evaluated here (``run`` then evaluates its rules)."""
        at = self._found.pop(uid, None)
        try:
            return as_findings(self.rules, uid, self._spill.get(at)) if at is not None else {}
        except OSError:
            return {}


def run(site: Site, facts: Facts, rules_path: Path, output: Path | None = None, shown_output: str = "output",
        site_root: str = "", only: list[str] | None = None, scanner=None, ahead: Ahead | None = None) -> Report:
    """Evaluate every unit (or ``only`` these); ``output`` is the built site the link rule
    reads (None: links not checked). ``scanner``: see ``unit_facts``; its ``external(uid)``
    may give a unit's external links, its ``findings`` (incremental/checks.py) the findings
    of a unit whose inputs did not change, for the rules not declared ``cross_unit``.
    ``ahead``: the findings of the rules evaluated while the units rendered (``Ahead``),
    made with the same rules file."""
    started = time.monotonic()
    rules = ahead.rules if ahead is not None else load_rules(rules_path)
    not_ids = ahead.not_ids if ahead is not None else not_id_tokens(site, facts)
    memo = getattr(scanner, "findings", None)
    # Everything an unchanged unit's own findings depend on besides the unit key (its files,
    # its items' states…): the rules, and the one cross-unit fact a rule that is not
    # ``cross_unit`` reads (not_ids). Not the date: each rule's findings are kept with the
    # window of dates they hold for (engine.AsOf), checked below.
    context = hashlib.sha256(json.dumps(
        [sorted(not_ids), hashlib.sha256(rules_path.read_bytes()).hexdigest(), only is not None]
    ).encode("utf-8")).hexdigest() if memo is not None else ""
    units = unit_facts(site, facts, rules, output, shown_output, site_root, only, scanner, not_ids)
    known = getattr(scanner, "external", lambda uid: None)
    day = facts.day

    def external(uid: str, uf: UnitFacts) -> dict:
        if uf.pages is None:
            return {}
        found = known(uid)
        return found if found is not None else links.external_links(uf)

    def findings(uid: str, uf: UnitFacts) -> list[Finding]:
        kept = memo.kept(uid, context) if memo is not None else None
        # A kept rule's findings hold while the date is in its window; the cross_unit rules run every build.
        got = {i: kept[i] for i in rules if kept and not rules[i].cross_unit and isinstance(kept.get(i), tuple)
               and in_window(day, kept[i][0], kept[i][1])}
        early = ahead.take(uid) if ahead is not None else {}
        got.update({i: found for i, found in early.items() if i not in got})
        got.update(evaluate_rules(rules, uf, [i for i in rules if i not in got]))
        if memo is not None and (kept is None or any(i not in kept or got[i] is not kept[i] for i in rules
                                                     if not rules[i].cross_unit)):
            memo.keep_findings(uid, context, {i: got[i] for i in rules if not rules[i].cross_unit})
        # Sorting is stable and the key starts with the rule: the order of a full evaluation.
        return sorted((f for i in sorted(got) for f in got[i][2]), key=Finding.sort_key)

    reports, deferred = [], {}
    # A finished unit's findings and external links go to a file; the report keeps its summary.
    spool = FindingsSpool(site.spill())
    for uid in units:   # in unit order, each unit's facts made in turn (one unit's items at a time)
        uf = units[uid]
        reports.append(spool.keep(UnitReport.of(uf, findings(uid, uf), rules, external(uid, uf))))
        if only is not None:
            deferred[uid] = links.deferred(uf)
    report = Report(facts.day, rules, reports, site.catalogs.level_names, links_checked=output is not None)
    if only is not None:
        report.deferred = deferred
    report.seconds = time.monotonic() - started    # for the console only, never written to a file
    return report


def after_render(site: Site, facts: Facts, catalogs: Path, partial: Path, settings: dict, shown_output: str,
                 write: bool, units: list[str] | None = None, scanner=None, compiled=None,
                 ahead: Ahead | None = None) -> Report:
    """The build's check stage: run over the rendered ``partial`` output; write the reports when asked.
    ``units``: the units of a subset build (every unit: None, or all of them); ``compiled``:
    the report templates' bytecode cache (jinja2.BytecodeCache), or None; ``ahead``: see ``run``."""
    only = units if units is not None and set(units) != set(site.units) else None
    try:
        report = run(site, facts, catalogs / "rules.yaml", partial, shown_output, site_root(settings), only, scanner,
                     ahead)
    finally:
        shutil.rmtree(partial / links.STASH, ignore_errors=True)   # the workers' scans: never in the output
    if write:
        write_reports(report, partial, settings, getattr(scanner, "pieces", None), compiled)
    return report
