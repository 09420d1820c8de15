"""财政预决算 and "三公"经费 as data: parse, check sums, compare years, deadlines.

Pure functions over the YAML values (text, read by schema — amounts are parsed
as exact decimals, never floats). The rules and the standard tables come from
catalogs/fiscal.yaml. fiscal_plugin.py renders what these functions compute.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import FieldError
from .fields import blank, q

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def number(raw, negative: bool = False) -> Decimal:
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError(f"expected a number like 12.34, got {'a list' if isinstance(raw, list) else 'a mapping' if isinstance(raw, dict) else q(raw)}")
    text = raw.strip()
    if not _NUMBER.match(text):
        hint = " (no thousands separators or units)" if re.search(r"[,，万元]", text) else ""
        raise FieldError(f"expected a number like 12.34{hint}, got {q(text)}")
    value = Decimal(text)
    if value < 0 and not negative:
        raise FieldError(f"expected an amount of 0 or more, got {q(text)}")
    return value


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def norm_key(key: str) -> str:
    """Editors type 因公出国（境）费 with full-width brackets as often as with ASCII ones."""
    return key.replace("（", "(").replace("）", ")").strip()


@dataclass(frozen=True)
class Sangong:
    department: str
    year: int
    stage: str
    unit: str
    amounts: dict[str, Decimal]
    total: Decimal
    explanation: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    amount: Decimal
    children: tuple[Row, ...] = ()

    def walk(self, depth: int = 0):
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass(frozen=True)
class Table:
    name: str
    rows: tuple[Row, ...]
    total: Decimal
    empty: str = ""


@dataclass(frozen=True)
class Fiscal:
    year: int
    stage: str
    scope: str
    department: str
    unit: str
    tables: tuple[Table, ...]


class _Check:
    """Collects problems of one structured item with their YAML lines."""

    def __init__(self, doc, problem):
        self.doc, self.problem, self.ok = doc, problem, True

    def err(self, path: tuple, message: str, key: str | None = None):
        self.ok = False
        self.problem(self.doc.line(*path), key or str(path[0]), message, "fiscal")

    def get(self, data: dict, path: tuple, kind, required=True):
        key = path[-1]
        raw = data.get(key)
        if blank(raw):
            if required:
                self.err(path, f"required for this type (expected {kind.__doc__ or 'a value'})")
            return None
        try:
            return kind(raw)
        except FieldError as exc:
            self.err(path, exc.message)
            return None


def _text(raw):
    """text"""
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError(f"expected text, got {q(raw) if isinstance(raw, str) else 'a list or mapping'}")
    return raw.strip()


def _year(raw):
    """a year YYYY"""
    if isinstance(raw, str) and re.match(r"^(19|20)\d\d$", raw.strip()):
        return int(raw)
    raise FieldError(f"expected a year YYYY, got {q(raw)}")


def _choice(values):
    def check(raw):
        if isinstance(raw, str) and raw.strip() in values:
            return raw.strip()
        raise FieldError(f"expected one of {', '.join(values)}, got {q(raw)}")
    check.__doc__ = f"one of {', '.join(values)}"
    return check


def validate(item_type: str, data: dict, doc, rules: dict, problem):
    """Typed Sangong / Fiscal for the item's data fields, or None after reporting problems."""
    check = _Check(doc, problem)
    if item_type == "sangong":
        result = _sangong(data, check, rules)
    elif item_type == "fiscal":
        result = _fiscal(data, check, rules)
    else:
        return None
    return result if check.ok else None


def _common(data, check, rules):
    year = check.get(data, ("year",), _year)
    stage = check.get(data, ("stage",), _choice(rules["stages"]))
    unit = check.get(data, ("unit",), _choice(rules["money_units"]), required=False) or rules["money_units"][0]
    return year, stage, unit


def _sangong(data, check, rules):
    spec = rules["sangong"]
    department = check.get(data, ("department",), _text)
    year, stage, unit = _common(data, check, rules)
    amounts: dict[str, Decimal] = {}
    raw = data.get("amounts")
    if not isinstance(raw, dict):
        check.err(("amounts",), f"expected a mapping of {', '.join(spec['amounts'])}")
    else:
        for key, value in raw.items():
            name = norm_key(key)
            if name not in spec["amounts"]:
                check.err(("amounts", key), f"unknown amount {q(key)}; expected {', '.join(spec['amounts'])}", "amounts")
                continue
            try:
                amounts[name] = number(value)
            except FieldError as exc:
                check.err(("amounts", key), f"{key}: {exc.message}", "amounts")
        missing = [k for k in spec["amounts"] if k not in {norm_key(k2) for k2 in raw}]
        if missing:
            check.err(("amounts",), f"missing {', '.join(missing)} (write 0 for none)")
    computed = sum(amounts.values(), Decimal(0))
    total = check.get(data, ("total",), number, required=False)
    tol = Decimal(str(rules["tolerance"]))
    if total is not None and check.ok and abs(total - computed) > tol:
        check.err(("total",), f"{money(total)} does not equal the sum of amounts {money(computed)} "
                  f"(off by {money(abs(total - computed))}; expected within {rules['tolerance']})")
    explanation = check.get(data, ("explanation",), _text, required=False) or ""
    counts = {}
    raw_counts = data.get("counts")
    if raw_counts is not None:
        if not isinstance(raw_counts, dict):
            check.err(("counts",), f"expected a mapping of {', '.join(spec['counts'])}")
        else:
            for key, value in raw_counts.items():
                if key not in spec["counts"]:
                    check.err(("counts", key), f"unknown count {q(key)}; expected {', '.join(spec['counts'])}", "counts")
                elif not (isinstance(value, str) and value.strip().isdigit()):
                    check.err(("counts", key), f"{key}: expected a whole number, got {q(value)}", "counts")
                else:
                    counts[key] = int(value)
    if not check.ok:
        return None
    return Sangong(department, year, stage, unit, amounts, total if total is not None else computed, explanation, counts)


def _fiscal(data, check, rules):
    year, stage, unit = _common(data, check, rules)
    scope = check.get(data, ("scope",), _choice(rules["scopes"]))
    department = check.get(data, ("department",), _text, required=scope == "部门") or ""
    tol = Decimal(str(rules["tolerance"]))
    tables = []
    raw = data.get("tables")
    if not isinstance(raw, list) or not raw:
        check.err(("tables",), "expected a list of tables, each {name, rows: [{code, name, amount, children}], total}")
        return None
    for i, t in enumerate(raw):
        at = ("tables", i)
        if not isinstance(t, dict):
            check.err(at, "expected a table {name, rows, total} or {name, empty: 空表说明}", "tables")
            continue
        unknown = set(t) - {"name", "rows", "total", "empty"}
        if unknown:
            check.err(at, f"unknown table keys {', '.join(sorted(unknown))}; expected name, rows, total, empty", "tables")
        name = check.get(t, at + ("name",), _text)
        rows = tuple(r for r in (_row(r, at + ("rows", j), check, tol) for j, r in enumerate(t.get("rows") or [])) if r)
        if t.get("rows") is not None and not isinstance(t.get("rows"), list):
            check.err(at + ("rows",), "expected a list of rows", "tables")
        empty = t.get("empty") or ""
        if not t.get("rows") and not empty:
            check.err(at, f"table {q(name)} has no rows: keep it and give the 空表说明 in `empty:`", "tables")
        if t.get("rows") and empty:
            check.err(at + ("empty",), f"table {q(name)} has rows and an 空表说明; expected one of them", "tables")
        computed = sum((r.amount for r in rows), Decimal(0))
        total = check.get(t, at + ("total",), lambda v: number(v, negative=True), required=False)
        if total is not None and abs(total - computed) > tol:
            check.err(at + ("total",), f"table {q(name)}: total {money(total)} does not equal the sum of its rows "
                      f"{money(computed)} (off by {money(abs(total - computed))}; expected within {rules['tolerance']})",
                      "tables")
        if name:
            if any(tb.name == name for tb in tables):
                check.err(at + ("name",), f"table {q(name)} appears twice", "tables")
            tables.append(Table(name, rows, total if total is not None else computed, empty))
    standard = rules["standard_tables"].get(f"{scope}{stage}", [])
    missing = [n for n in standard if n not in {t.name for t in tables}]
    if missing and check.ok:
        check.err(("tables",), f"missing standard tables of {scope}{stage}: {', '.join(missing)} "
                  "(a table with no data stays, with `empty:` giving the 空表说明)")
    if not check.ok:
        return None
    return Fiscal(year, stage, scope, department, unit, tuple(tables))


def _row(raw, at, check, tol) -> Row | None:
    if not isinstance(raw, dict):
        check.err(at, "expected a row {code, name, amount, children}", "tables")
        return None
    name = check.get(raw, at + ("name",), _text)
    code = raw.get("code") or ""
    amount = check.get(raw, at + ("amount",), lambda v: number(v, negative=True))
    children = tuple(c for c in (_row(c, at + ("children", k), check, tol)
                                 for k, c in enumerate(raw.get("children") or [])) if c)
    if name is None or amount is None:
        return None
    if children:
        computed = sum((c.amount for c in children), Decimal(0))
        if abs(computed - amount) > tol:
            check.err(at + ("amount",), f"row {q(name)}: {money(amount)} does not equal the sum of its children "
                      f"{money(computed)} (off by {money(abs(computed - amount))})", "tables")
    return Row(str(code), name, amount, children)


# --- comparisons -----------------------------------------------------------------

def sangong_rows(rules: dict, current: dict[str, Decimal], others: dict[str, dict[str, Decimal] | None]) -> list[dict]:
    """The standard table: each row's value now and in each comparison column."""
    out = []
    for spec in rules["sangong"]["rows"]:
        def value(amounts, keys=tuple(spec["of"])):
            return None if amounts is None else sum((amounts[k] for k in keys), Decimal(0))
        row = {"name": spec["name"], "sub": spec.get("sub") == "true", "total": spec.get("total") == "true",
               "value": value(current), "compare": {}}
        for label, amounts in others.items():
            before = value(amounts)
            delta = None if before is None else row["value"] - before
            pct = None if before in (None, Decimal(0)) else (delta / before * 100).quantize(Decimal("0.1"))
            row["compare"][label] = {"before": before, "delta": delta, "pct": pct}
        out.append(row)
    return out


def nonzero_changes(rules: dict, current: dict[str, Decimal], before: dict[str, Decimal]) -> list[str]:
    """Amounts that differ, e.g. '公务接待费 3.10 → 2.80'."""
    return [f"{k} {money(before[k])} → {money(current[k])}" for k in rules["sangong"]["amounts"]
            if current.get(k, Decimal(0)) != before.get(k, Decimal(0))]


def publication_due(approved: dt.date, rule: dict) -> dt.date:
    """Last day to publish: ``approved`` + the rule's calendar days (预算法第十四条: 20)."""
    if rule.get("unit", "days") != "days":
        raise ValueError(f"fiscal deadline unit {rule.get('unit')!r}: only calendar days are defined")
    return approved + dt.timedelta(days=int(rule["within"]))


def deadline_fact(approved: dt.date | None, published: dt.date, rule: dict) -> dict | None:
    """For the checker: when it was due, and how many days late it came (0 if on time)."""
    if approved is None:
        return None
    due = publication_due(approved, rule)
    return {"approved": approved, "due": due, "published": published, "days_late": max(0, (published - due).days),
            "basis": rule.get("basis", "")}
