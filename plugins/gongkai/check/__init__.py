"""The evaluator's checker (DESIGN §11): score every unit's column against the
national rules, with the source of each rule.

    engine.py       the registry: ``@rule`` declarations joined with catalogs/rules.yaml
    unitfacts.py    one unit's facts as the rules read them (from ``facts.Facts``)
    extract.py      text of attachments, read once, bounded (for the 个人信息 rule)
    structure.py freshness.py timeliness.py fiscal.py annual.py interpretation.py
    metadata.py privacy.py links.py      one file per rule family
    report.py       scoring, check.json, the HTML reports, the console summary

``run`` is the whole stage: after the build has rendered every unit (so the link
rule reads the built pages), before the new output is swapped into place.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import annual, annual_report, fiscal, freshness, interpretation, links, metadata, privacy, structure, timeliness  # noqa: F401 - rule families register themselves
from .engine import SPECS, Finding, Hit, Rule, evaluate, load_rules, rule
from .extract import Unreadable, extract
from .report import Report, UnitReport, write_reports
from .unitfacts import UnitFacts

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from ..facts import Facts
    from ..site import Site

__all__ = ["SPECS", "Finding", "Hit", "Report", "Rule", "UnitFacts", "UnitReport", "after_render", "load_rules",
           "rule", "run", "unit_facts", "write_reports"]


def unit_facts(site: Site, facts: Facts, rules: dict[str, Rule], output: Path | None = None,
               shown_output: str = "output", site_root: str = "") -> Iterator[UnitFacts]:
    """Every unit's facts, in unit order, each computed once: attachments read once, built
    pages read once for their anchors and once for the unit's links. One unit at a time:
    a province's links (the column tree on every page) do not all fit in memory at once."""
    files = links.scan_files(output, shown_output, site_root) if output is not None else None
    not_ids = privacy.not_id_tokens([u.org_code for u in site.units.values()]
                                    + [i.index_no for i in site.items if i.index_no])
    privacy_rule = rules.get("privacy.personal-info")
    gaps: dict[str, list] = {}
    for gap in facts.gaps:
        gaps.setdefault(gap.policy.unit, []).append(gap)
    for uid in sorted(site.units):
        items = facts.by_unit.get(uid, [])
        uf = UnitFacts(site.units[uid], facts.day, site.catalogs, items, facts.states, gaps=gaps.get(uid, []),
                       deadlines={i.source: facts.fiscal_deadlines[i.source] for i in items
                                  if i.source in facts.fiscal_deadlines},
                       pages=links.unit_pages(output, uid, files) if files is not None else None, files=files,
                       not_ids=not_ids)
        if privacy_rule is not None:
            t = privacy_rule.thresholds
            for item in uf.shown:
                for att in item.attachments:
                    shown = f"{item.source.rsplit('/', 1)[0]}/{att.name}"
                    if att.ext not in t["attachment_exts"]:
                        continue
                    try:
                        uf.texts.append(extract(att.source, shown, att.ext, t["max_bytes"], t["max_chars"],
                                                t["max_pages"]))
                    except Unreadable as exc:
                        uf.unread.append((shown, str(exc)))
        yield uf


def run(site: Site, facts: Facts, rules_path: Path, output: Path | None = None, shown_output: str = "output",
        site_root: str = "") -> Report:
    """Evaluate every unit; ``output`` is the built site the link rule reads (None: links not checked)."""
    started = time.monotonic()
    rules = load_rules(rules_path)
    reports = [UnitReport.of(uf, evaluate(rules, uf), rules,
                             links.external_links(uf) if uf.pages is not None else {})
               for uf in unit_facts(site, facts, rules, output, shown_output, site_root)]
    report = Report(facts.day, rules, reports, site.catalogs.level_names, links_checked=output is not None)
    report.seconds = time.monotonic() - started    # for the console only, never written to a file
    return report


def after_render(site: Site, facts: Facts, catalogs: Path, partial: Path, settings: dict, shown_output: str,
                 write: bool) -> Report:
    """The build's check stage: run over the rendered ``partial`` output; write the reports when asked."""
    report = run(site, facts, catalogs / "rules.yaml", partial, shown_output,
                 settings.get("GK_SITE_ROOT", "") if not settings.get("RELATIVE_URLS") else "")
    if write:
        write_reports(report, partial, settings)
    return report
