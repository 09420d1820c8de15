"""Pelican plugin: the 年报 page in the official layout, its downloads and its roll-up.

Each ``annual-report`` article gets ``article.annual`` (the view the template
``annual.html`` shows) and that template. The unit's page also shows, for a unit
with units below it, the roll-up of their reports for the same year. Tables go
out as CSV (UTF-8 with BOM, formula-safe) and the report as JSON.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup
from pelican import signals

from .. import catalogs as catalogs_mod
from .. import downloads
from ..fiscal_plugin import csv_bytes, neutralise  # noqa: F401 - csv_bytes is this module's too
from ..render import Renderer
from . import series
from .model import Report
from .spec import Spec, table3_layout


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run (the fiscal downloads' rule, one place)."""
    return neutralise(str(value))


def proactive_blocks(report: Report, spec: Spec) -> list[dict]:
    blocks = []
    for b in spec.blocks:
        rows = []
        for r in b["rows"]:
            value = report.proactive[r.key]
            if r.fields:
                cells = [value[k] for k in r.fields]
            else:
                cells = [f"{value:.2f}" if r.money else value]
            rows.append({"key": r.key, "label": r.label, "cells": cells, "money": r.money})
        blocks.append({"block": b["block"], "header": b["header"], "rows": rows})
    return blocks


def appeal_values(report: Report, spec: Spec) -> list[int]:
    return [v for r in spec.appeal_rows for v in report.appeals[r["key"]]]


def view(item, report: Report, spec: Spec, render: Renderer, warnings: list[dict], rollup: dict | None) -> dict:
    stem = Path(item.slug).name
    sections = []
    for s in spec.sections:
        sections.append({**s, "html": Markup(render(report.texts[s["key"]])) if s["text"] else None})
    return {"spec": spec, "report": report, "year": report.year, "period": spec.period_sentence(report.year),
            "sections": sections, "blocks": proactive_blocks(report, spec), "table3": table3_layout(spec),
            "table3_values": [report.requests[row.path] for row in spec.rows],
            "appeals": appeal_values(report, spec), "warnings": warnings, "rollup": rollup,
            "csv": {"proactive": f"{stem}-biao2.csv", "requests": f"{stem}-biao3.csv", "appeals": f"{stem}-biao4.csv"},
            "json": f"{stem}.json"}


def _attach(generator):
    spec = catalogs_mod.load(generator.settings["GK_CATALOGS"]).annual
    data = generator.settings.get("GK_ANNUAL") or {}
    if spec is None or not data:
        return
    unit = generator.settings["GK_UNIT"]
    units = generator.settings["GK_UNITS"]
    today = dt.date.fromisoformat(generator.settings["GK_AS_OF"])
    below = series.descendants(units, unit["id"]) if unit["id"] in units else []
    render = Renderer()
    for article in generator.articles:
        report = article.gk.facts
        if not isinstance(report, Report):
            continue
        rollup = series.rollup(units, below, report.year, data, spec, today) if below else None
        article.annual = view(article.gk, report, spec, render, data.get("warnings", {}).get(article.gk.source, []),
                              rollup)
        article.template = "annual"


# --- downloads ------------------------------------------------------------------------

def proactive_csv(v: dict) -> bytes:
    rows = []
    for b in v["blocks"]:
        rows.append([b["block"]])
        rows.append(list(b["header"]))
        rows.extend([r["label"], *r["cells"]] for r in b["rows"])
    return csv_bytes([v["spec"].labels["proactive"]], rows)


def requests_csv(v: dict) -> bytes:
    spec, report = v["spec"], v["report"]
    return csv_bytes(["项目", *(c.label for c in spec.columns)],
                     [[row.full, *report.requests[row.path]] for row in spec.rows])


def appeals_csv(v: dict) -> bytes:
    spec, report = v["spec"], v["report"]
    rows = []
    for g in spec.appeal_groups:
        for r in g["rows"]:
            label = g["label"] if r["label"] == g["label"] else f"{g['label']} {r['label']}"
            rows.append([label, *report.appeals[r["key"]]])
    return csv_bytes(["类别", *(c.label for c in spec.appeal_columns)], rows)


def report_json(item, v: dict) -> bytes:
    spec, report = v["spec"], v["report"]

    def plain(value):
        return str(value) if isinstance(value, Decimal) else value

    data = {
        "title": item.title, "index_no": item.index_no, "issuer": item.issuer, "year": report.year,
        "published": item.published_date.isoformat(), "format": spec.format, "source": spec.source,
        "period": v["period"],
        "proactive": {r.key: {"label": r.label, "block": r.block,
                              "value": {k: report.proactive[r.key][k] for k in r.fields} if r.fields
                              else plain(report.proactive[r.key])} for r in spec.proactive_rows},
        "requests": {"columns": [c.label for c in spec.columns],
                     "rows": [{"key": row.key, "label": row.full, "values": list(report.requests[row.path])}
                              for row in spec.rows]},
        "appeals": {"columns": [c.label for c in spec.appeal_columns],
                    "rows": [{"key": r["key"], "group": g["label"], "label": r["label"],
                              "values": list(report.appeals[r["key"]])} for g in spec.appeal_groups for r in g["rows"]]},
        "warnings": v["warnings"],
    }
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _files(article, v: dict):
    yield v["csv"]["proactive"], proactive_csv(v)
    yield v["csv"]["requests"], requests_csv(v)
    yield v["csv"]["appeals"], appeals_csv(v)
    yield v["json"], report_json(article.gk, v)


def _write_downloads(generator, writer=None):
    downloads.write(generator, "annual", _files)


def register():
    signals.article_generator_finalized.connect(_attach)
    signals.article_writer_finalized.connect(_write_downloads)
