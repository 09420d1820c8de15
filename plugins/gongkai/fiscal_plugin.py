"""Pelican plugin: render 财政预决算 and "三公"经费 items from their typed data.

Adds ``article.fiscal`` (the standard tables, comparisons and charts that the
templates show), ``GK_FISCAL`` (the unit's 三公经费 overview), and writes each
table as CSV (UTF-8 with BOM, so Excel reads the Chinese) and the item as JSON.
"""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup
from pelican import signals

from . import catalogs as catalogs_mod
from . import downloads
from .charts import bar_chart
from .fiscal import Fiscal, Sangong, money, sangong_rows

# OWASP CSV injection: a cell starting with one of these is a formula in Excel/LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def href(name: str) -> str:
    """A link to a file beside the page, whatever its name: every reserved character is
    percent-encoded, so ``javascript:…`` stays a relative path, never a scheme."""
    return "./" + quote(name, safe="")


def neutralise(cell: str) -> str:
    """Prefix formula cells with ``'`` (shown as text); negative numbers stay numbers."""
    if cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def series_key(entry: dict) -> tuple:
    return (entry["department"], int(entry["year"]), entry["stage"])


def _amounts(entry: dict) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in entry["amounts"].items()}


def sangong_view(item, facts: Sangong, rules: dict, series: dict[tuple, dict]) -> dict:
    others: dict[str, dict | None] = {}
    previous = series.get((facts.department, facts.year - 1, facts.stage))
    others[f"{facts.year - 1}年{facts.stage}"] = _amounts(previous) if previous else None
    if facts.stage == "决算":
        budget = series.get((facts.department, facts.year, "预算"))
        others[f"{facts.year}年预算"] = _amounts(budget) if budget else None
    rows = sangong_rows(rules, facts.amounts, others)
    years = sorted((k[1], v) for k, v in series.items() if k[0] == facts.department and k[2] == facts.stage)
    label = rules["sangong"]["label"]
    chart = bar_chart(f"chart-{item.slug.replace('/', '-')}", f"{facts.department}历年{label}{facts.stage}合计",
                      [(f"{y}年", Decimal(v["total"])) for y, v in years], facts.unit)
    stem = Path(item.slug).name
    counts = [(k, v, rules["sangong"]["counts"][k]) for k, v in facts.counts.items()]
    return {"kind": "sangong", "label": label, "facts": facts, "rows": rows, "compare": list(others), "chart": Markup(chart),
            "chart_years": [(y, Decimal(v["total"])) for y, v in years], "counts": counts,
            "csv": [f"{stem}-sangong.csv"], "json": f"{stem}.json",
            "csv_href": href(f"{stem}-sangong.csv"), "json_href": href(f"{stem}.json")}


def fiscal_view(item, facts: Fiscal) -> dict:
    stem = Path(item.slug).name
    tables = []
    for n, table in enumerate(facts.tables, 1):
        top = sorted((r for r in table.rows if r.amount > 0), key=lambda r: (-r.amount, r.code, r.name))[:8]
        chart = bar_chart(f"chart-{stem}-{n}", f"{table.name}主要项目", [(r.name, r.amount) for r in top],
                          facts.unit) if top else ""
        tables.append({"n": n, "table": table, "rows": [(d, r) for row in table.rows for d, r in row.walk()],
                       "chart": Markup(chart), "csv": f"{stem}-{n}.csv", "csv_href": href(f"{stem}-{n}.csv")})
    return {"kind": "fiscal", "facts": facts, "tables": tables, "json": f"{stem}.json", "json_href": href(f"{stem}.json")}


def overview(unit: dict, units: dict, entries: list[dict], label: str) -> dict | None:
    """三公经费 of the unit and its department units: department × year, totals per year."""
    scope = {unit["id"]} | {c for c in unit.get("children", []) if units.get(c, {}).get("level") == "department"}
    latest: dict[tuple, dict] = {}
    for e in sorted(entries, key=lambda e: e["published"]):
        if e["unit_id"] in scope:
            latest[series_key(e)] = e
    if not latest:
        return None
    stages = []
    for stage in ("预算", "决算"):
        cells = {(d, y): Decimal(e["total"]) for (d, y, s), e in latest.items() if s == stage}
        if not cells:
            continue
        years = sorted({y for _, y in cells})
        departments = sorted({d for d, _ in cells})
        totals = {y: sum((v for (d, yy), v in cells.items() if yy == y), Decimal(0)) for y in years}
        links = {(d, y): e for (d, y, s), e in latest.items() if s == stage}
        chart = bar_chart(f"sangong-{'ys' if stage == '预算' else 'js'}", f"{label}{stage}合计（各部门）",
                          [(f"{y}年", totals[y]) for y in years], "万元")
        stages.append({"stage": stage, "years": years, "departments": departments, "cells": cells,
                       "links": links, "totals": totals, "chart": Markup(chart)})
    return {"stages": stages}


def _lookup(settings) -> dict[tuple, dict]:
    series: dict[tuple, dict] = {}
    for entry in sorted(settings.get("GK_SANGONG", []), key=lambda e: e["published"]):
        series[series_key(entry)] = entry
    return series


def _attach(generator):
    rules = catalogs_mod.load(generator.settings["GK_CATALOGS"]).fiscal
    series = _lookup(generator.settings)
    for article in generator.articles:
        facts = article.gk.facts
        if isinstance(facts, Sangong):
            article.fiscal = sangong_view(article.gk, facts, rules, series)
        elif isinstance(facts, Fiscal):
            article.fiscal = fiscal_view(article.gk, facts)
    unit = generator.settings["GK_UNIT"]
    generator.context["GK_FISCAL"] = {"overview": overview(unit, generator.settings["GK_UNITS"],
                                                           generator.settings.get("GK_SANGONG", []),
                                                           rules["sangong"]["label"])}


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(str(c)) for c in header])
    writer.writerows([neutralise(str(c)) for c in row] for row in rows)
    return buf.getvalue().encode("utf-8-sig")


def sangong_csv(view: dict) -> bytes:
    facts = view["facts"]
    header = ["项目", f"{facts.year}年{facts.stage}（{facts.unit}）"]
    for label in view["compare"]:
        header += [f"{label}（{facts.unit}）", f"比{label}增减（{facts.unit}）", f"比{label}增减率（%）"]
    rows = []
    for row in view["rows"]:
        line = [row["name"], money(row["value"])]
        for label in view["compare"]:
            c = row["compare"][label]
            line += [money(c["before"]), money(c["delta"]), "" if c["pct"] is None else str(c["pct"])]
        rows.append(line)
    return csv_bytes(header, rows)


def table_csv(table, unit: str) -> bytes:
    rows = [[r.code, "　" * depth + r.name, money(r.amount)] for row in table.rows for depth, r in row.walk()]
    if table.rows:
        rows.append(["", "合计", money(table.total)])
    elif table.empty:
        rows.append(["", table.empty, ""])
    return csv_bytes(["科目编码", "科目名称", f"金额（{unit}）"], rows)


def item_json(item, facts) -> bytes:
    def num(d: Decimal) -> float:
        return float(d)

    def row(r):
        return {"code": r.code, "name": r.name, "amount": num(r.amount), "children": [row(c) for c in r.children]}

    data = {"title": item.title, "index_no": item.index_no, "issuer": item.issuer,
            "published": item.published.date().isoformat(),
            "approved": item.approved.isoformat() if item.approved else None,
            "year": facts.year, "stage": facts.stage, "unit": facts.unit}
    if isinstance(facts, Sangong):
        data.update(department=facts.department, amounts={k: num(v) for k, v in facts.amounts.items()},
                    total=num(facts.total), explanation=facts.explanation, counts=facts.counts)
    else:
        data.update(scope=facts.scope, department=facts.department or None,
                    tables=[{"name": t.name, "total": num(t.total), "empty": t.empty or None,
                             "rows": [row(r) for r in t.rows]} for t in facts.tables])
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _files(article, view: dict):
    if view["kind"] == "sangong":
        yield view["csv"][0], sangong_csv(view)
    else:
        for t in view["tables"]:
            yield t["csv"], table_csv(t["table"], view["facts"].unit)
    yield view["json"], item_json(article.gk, view["facts"])


def _write_downloads(generator, writer=None):
    downloads.write(generator, "fiscal", _files)


def register():
    signals.article_generator_finalized.connect(_attach)
    signals.article_writer_finalized.connect(_write_downloads)
