"""Read and validate one 年报's data (DESIGN §12): one validator per kind of value.

``validate`` gets the raw YAML values (every scalar text, from yamlsrc) and reports
each problem with the line of the figure, the row by its full Chinese label and the
column (``三、本年度办理结果（三）不予公开 4.保护第三方合法权益（法律服务机构）``). When
every figure reads, the format's arithmetic (rules.arithmetic) runs on the result.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import FieldError
from ..fields import _near, q
from . import rules
from .spec import Spec

FIELDS = ("year", "proactive", "requests", "appeals", "overview", "problems", "other")
TEXTS = ("overview", "problems", "other")
PLACEHOLDER = "【待填写】"   # what the prefill writes; never published
_COUNT = re.compile(r"^\d{1,9}$")
_MONEY = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")


@dataclass(frozen=True)
class Report:
    year: int
    proactive: dict[str, Any]                       # rules -> {issued, repealed, in_force}; licensing -> int; fees -> Decimal
    requests: dict[tuple[str, ...], tuple[int, ...]]  # row path -> 7 figures (six applicants, 总计)
    appeals: dict[str, tuple[int, ...]]              # review / litigation_* -> 5 figures
    texts: dict[str, str] = field(default_factory=dict)


def _got(raw: Any) -> str:
    return "a list" if isinstance(raw, list) else "a mapping" if isinstance(raw, dict) else "nothing" if raw is None \
        else q(raw)


def count(raw: Any) -> int:
    """a whole number 0 or more"""
    if isinstance(raw, str) and _COUNT.match(raw.strip()):
        return int(raw)
    hint = " (a count cannot be negative)" if isinstance(raw, str) and raw.strip().startswith("-") else ""
    raise FieldError(f"expected a whole number 0 or more{hint}, got {_got(raw)}")


def money(raw: Any) -> Decimal:
    """an amount in 万元 like 12.34"""
    if isinstance(raw, str) and _MONEY.match(raw.strip()):
        return Decimal(raw.strip())
    hint = " (in 万元, written plainly: no unit, no thousands separators)" if isinstance(raw, str) and \
        re.search(r"[,，万元]", raw) else ""
    raise FieldError(f"expected an amount in 万元 like 12.34, 0 or more{hint}, got {_got(raw)}")


def year(raw: Any) -> int:
    """a year YYYY"""
    if isinstance(raw, str) and re.match(r"^20\d\d$", raw.strip()):
        return int(raw)
    raise FieldError(f"expected a year YYYY, got {_got(raw)}")


def text(raw: Any) -> str:
    """Markdown text"""
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError(f"expected Markdown text (write 无 if there is nothing to report), got {_got(raw)}")
    return raw.strip()


def figures(n: int, labels: list[str]) -> Callable[[Any], tuple[int, ...]]:
    def check(raw: Any) -> tuple[int, ...]:
        if not isinstance(raw, list) or len(raw) != n:
            size = f"a list of {len(raw)}" if isinstance(raw, list) else _got(raw)
            raise FieldError(f"expected {n} figures [{', '.join(labels)}], got {size}")
        out = []
        for i, value in enumerate(raw):
            try:
                out.append(count(value))
            except FieldError as exc:
                raise FieldError(f"（{labels[i]}）: {exc.message}", (i,)) from None
        return tuple(out)
    return check


class _Reader:
    """Collects problems with the line of each figure."""

    def __init__(self, doc, problem):
        self.doc, self.problem, self.ok = doc, problem, True

    def err(self, path: tuple, message: str, rule: str = "annual.field") -> None:
        self.ok = False
        self.problem(self.doc.line(*path), str(path[0]), message, rule)

    def get(self, raw: Any, path: tuple, kind: Callable, label: str = "", required: bool = True):
        prefix = f"{label}: " if label else ""
        if raw is None:
            if required:
                self.err(path, f"{prefix}required (expected {kind.__doc__ or 'a value'}; write 0 for none)")
            return None
        try:
            return kind(raw)
        except FieldError as exc:
            sep = "" if exc.message.startswith("（") else ": "
            self.err(path + exc.subpath, f"{label}{sep if label else ''}{exc.message}")
            return None

    def mapping(self, raw: Any, path: tuple, keys: list[str], what: str) -> dict:
        if raw is None:
            self.err(path, f"required: {what}")
            return {}
        if not isinstance(raw, dict):
            self.err(path, f"expected a mapping of {', '.join(keys)}, got {_got(raw)}")
            return {}
        for key in raw:
            if key not in keys:
                near = _near(key, keys)
                self.err(path + (key,), f"unknown key {q(key)}" + (f"; did you mean {q(near)}?" if near else
                                                                  f"; expected {', '.join(keys)}"))
        return raw


def validate(data: dict, doc, spec: Spec, problem, published: dt.date | None = None,
             draft: bool = False) -> Report | None:
    """The typed Report, or None after reporting every problem (with ``problem(line, key, message, rule)``)."""
    r = _Reader(doc, problem)
    the_year = r.get(data.get("year"), ("year",), year)
    if the_year is not None and published is not None and the_year >= published.year:
        r.err(("year",), f"{the_year}年 is not a past year: a report covers a finished year and is published "
                         f"in a later one (published {published.isoformat()})")
    texts = {}
    for key in TEXTS:
        value = r.get(data.get(key), (key,), text, spec.labels.get(key, key))
        if value is not None:
            if PLACEHOLDER in value and not draft:
                r.err((key,), f"{spec.labels.get(key, key)}: still has the placeholder {PLACEHOLDER} of the prefill; "
                              "write the text (or 无)")
            texts[key] = value

    proactive: dict[str, Any] = {}
    prows = spec.proactive_rows
    raw = r.mapping(data.get("proactive"), ("proactive",), [p.key for p in prows], spec.labels["proactive"])
    if raw:
        for row in prows:
            at = ("proactive", row.key)
            label = f"{spec.labels['proactive']} {row.label}"
            value = raw.get(row.key)
            if row.fields:
                sub = r.mapping(value, at, list(row.fields), f"{label}: {{{', '.join(row.fields)}}}")
                if not sub:
                    continue
                got = {k: r.get(sub.get(k), at + (k,), count, f"{label}（{spec.proactive_fields[k]}）")
                       for k in row.fields}
                if None not in got.values():
                    proactive[row.key] = got
            else:
                got = r.get(value, at, money if row.money else count, label)
                if got is not None:
                    proactive[row.key] = got

    requests: dict[tuple[str, ...], tuple[int, ...]] = {}
    labels = [c.label for c in spec.columns]
    raw = data.get("requests")
    if not isinstance(raw, dict):
        r.err(("requests",), f"{spec.labels['requests']}: expected a mapping of rows "
                             f"(received, carried_in, disclosed …), got {_got(raw)}")
    else:
        _unknown(raw, (), spec, r)
        bad_groups: set[tuple[str, ...]] = set()
        for row in spec.rows:
            value: Any = raw
            for depth, key in enumerate(row.path):
                if not isinstance(value, dict):
                    group = row.path[:depth]
                    if group not in bad_groups:   # one message for the group, not one per row in it
                        bad_groups.add(group)
                        r.err(("requests", *group), f"{row.groups[depth]}: expected a mapping of its rows "
                                                    f"({', '.join(p.path[depth] for p in spec.rows if p.path[:depth] == group)}), "
                                                    f"got {_got(value)}")
                    value = None
                    break
                value = value.get(key)
            at = ("requests", *row.path)
            if row.path[:-1] in bad_groups:
                continue
            if value is None:
                r.err(at, f"{row.full}: missing row (expected {len(labels)} figures [{', '.join(labels)}]; "
                          "write 0 for none)")
                continue
            got = r.get(value, at, figures(len(labels), labels), row.full)
            if got is not None:
                requests[row.path] = got

    appeals: dict[str, tuple[int, ...]] = {}
    alabels = [c.label for c in spec.appeal_columns]
    raw = r.mapping(data.get("appeals"), ("appeals",), [a["key"] for a in spec.appeal_rows], spec.labels["appeals"])
    for group in spec.appeal_groups:
        for row in group["rows"]:
            at = ("appeals", row["key"])
            label = group["label"] if row["label"] == group["label"] else f"{group['label']} {row['label']}"
            if raw and raw.get(row["key"]) is None:
                r.err(at, f"{label}: missing (expected {len(alabels)} figures [{', '.join(alabels)}])")
                continue
            got = r.get(raw.get(row["key"]) if raw else None, at, figures(len(alabels), alabels), label, required=False)
            if got is not None:
                appeals[row["key"]] = got
    if not r.ok:
        return None
    report = Report(the_year, proactive, requests, appeals, texts)
    for finding in rules.arithmetic(report, spec):
        r.err(finding.at, finding.text, finding.rule)
    return report if r.ok else None


def _unknown(raw: dict, path: tuple, spec: Spec, r: _Reader) -> None:
    """Keys of ``requests`` that are no row or group of the format."""
    known = {p[len(path)] for p in (row.path for row in spec.rows) if p[:len(path)] == path and len(p) > len(path)}
    for key, value in raw.items():
        if key not in known:
            near = _near(key, sorted(known))
            r.err(("requests", *path, key), f"unknown row {q(key)}" + (f"; did you mean {q(near)}?" if near else
                                                                      f"; expected {', '.join(sorted(known))}"))
        elif isinstance(value, dict) and any(len(row.path) > len(path) + 1 and row.path[len(path)] == key
                                             for row in spec.rows):
            _unknown(value, path + (key,), spec, r)
