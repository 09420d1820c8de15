"""The 年报 findings as the evaluator's checker reads them: one unit at a time, from
that unit's own items and their states (what ``check.UnitFacts`` holds).

``check/annual_report.py`` turns these into the checker's hits; this module stays
free of the checker so that it is tested without it.
"""
from __future__ import annotations

from .. import lifecycle
from ..items import Item
from . import rules, series
from .model import Report
from .spec import Spec


def unit_findings(items: list[Item], states: dict[str, lifecycle.State], spec: Spec) -> list[tuple[Item, rules.Finding]]:
    """(report item, finding) for every public 年报 of the unit: the format's arithmetic
    (errors) and the comparisons with last year's report and the unit's items (warnings)."""
    reports: dict[int, Item] = {}
    for item in sorted(items, key=lambda i: (i.published, i.source)):
        if isinstance(item.facts, Report) and states[item.source].public:
            reports[item.facts.year] = item
    # States on 31 December from the unit's own items: a repeal by another unit's item is not seen here.
    public_on_of = lifecycle.lookup({i.index_no: (d.isoformat() if (d := lifecycle.public_on(i)) else None)
                                     for i in items if i.index_no})

    def state_on(item: Item, day) -> lifecycle.State:
        return lifecycle.state(item, day, public_on_of)

    out = []
    for year, item in sorted(reports.items()):
        last = reports.get(year - 1)
        found = rules.arithmetic(item.facts, spec)
        found += rules.compare(item.facts, last.facts if last else None,
                               series.unit_counts(items, year, spec, state_on), spec)
        out += [(item, f) for f in found]
    return out


def line_of(item: Item, finding: rules.Finding) -> int | None:
    """The line of the figure in the report file (else of its row, else of its section)."""
    at = tuple(finding.at)
    return item.lines.get(at) or item.lines.get(at[:-1]) or item.line(str(at[0])) if at else None
