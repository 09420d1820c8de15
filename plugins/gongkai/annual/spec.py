"""The national format as data: what catalogs/annual.yaml declares, typed.

Code and templates ask this module for labels and structure; no label of the
format is written anywhere else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SpecError(ValueError):
    """catalogs/annual.yaml does not describe the format (key path, what was expected)."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    org: bool = False       # under 法人或其他组织
    total: bool = False


@dataclass(frozen=True)
class Row:
    """A row of table 三. ``path`` is the key path in the data (``('refused', 'third_party')``)."""

    path: tuple[str, ...]
    label: str               # the row's own label (``4.保护第三方合法权益``)
    full: str                # with its groups (``三、本年度办理结果（三）不予公开 4.保护第三方合法权益``)
    role: str
    groups: tuple[str, ...]  # labels of the groups above it, outermost first

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class ProactiveRow:
    key: str
    label: str
    block: str
    column: str | None = None   # column id whose items give the same figures
    money: bool = False
    fields: tuple[str, ...] = ()  # issued / repealed / in_force for 规章 and 规范性文件


@dataclass(frozen=True)
class Spec:
    source: str
    format: str
    basis: str
    preamble: str
    period: str
    due: dict[str, str]
    sections: tuple[dict, ...]
    proactive_fields: dict[str, str]          # issued -> 本年制发件数
    blocks: tuple[dict, ...]                   # {block, header, rows: (ProactiveRow, …)}
    columns: tuple[Column, ...]               # table 三
    rows: tuple[Row, ...]                      # the 25 rows, in order
    groups: dict[str, Any]                     # the raw tree of table 三 (for the page's rowspans)
    corner: str
    group: str
    org_group: str
    appeal_columns: tuple[Column, ...]
    appeal_groups: tuple[dict, ...]            # {label, rows: ({key, label}, …)}
    labels: dict[str, str] = field(default_factory=dict)   # section key -> heading

    @property
    def proactive_rows(self) -> tuple[ProactiveRow, ...]:
        return tuple(r for b in self.blocks for r in b["rows"])

    @property
    def appeal_rows(self) -> tuple[dict, ...]:
        return tuple(r for g in self.appeal_groups for r in g["rows"])

    def period_sentence(self, year: int) -> str:
        return self.period.format(year=year)

    def due_md(self, level: str) -> str:
        """'MM-DD' of the next year by which a unit of ``level`` publishes (条例第四十九条)."""
        return self.due["department"] if level == "department" else self.due["government"]

    def full_label(self, path: tuple[str, ...]) -> str:
        return next(r.full for r in self.rows if r.path == path)


def table3_layout(spec: Spec) -> list[dict]:
    """Table 三 rows with their label cells: group cells open once with a rowspan over
    their rows; a row's own label spans the label columns its groups leave free."""
    depth = 3
    out = []
    for i, row in enumerate(spec.rows):
        cells = []
        for d, group in enumerate(row.groups):
            prev = spec.rows[i - 1].groups[:d + 1] if i else None
            if prev != row.groups[:d + 1]:
                span = 0
                for other in spec.rows[i:]:
                    if other.groups[:d + 1] != row.groups[:d + 1]:
                        break
                    span += 1
                cells.append({"text": group, "rowspan": span, "colspan": 1, "col": d, "group": True})
        cells.append({"text": row.label, "rowspan": 1, "colspan": depth - len(row.groups), "col": len(row.groups),
                      "group": False})
        out.append({"row": row, "cells": cells})
    return out


def _need(raw: Any, key: str, at: str, kind=str):
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, kind) or not value:
        raise SpecError(f"{at}.{key}: expected {'text' if kind is str else 'a list' if kind is list else 'a mapping'}")
    return value


def _columns(raw: list, at: str) -> tuple[Column, ...]:
    out = []
    for i, c in enumerate(raw):
        out.append(Column(_need(c, "key", f"{at}[{i}]"), _need(c, "label", f"{at}[{i}]"),
                          c.get("org") == "true", c.get("total") == "true"))
    if sum(c.total for c in out) != 1 or not out[-1].total:
        raise SpecError(f"{at}: expected the last column, and only it, to be the total (total: true)")
    return tuple(out)


def _walk(nodes: list, at: str, path: tuple, groups: tuple, out: list) -> None:
    for i, node in enumerate(nodes):
        where = f"{at}[{i}]"
        label = _need(node, "label", where)
        children = node.get("children")
        key = node.get("key")
        if children:
            sub = path + (key,) if key else path
            _walk(_need(node, "children", where, list), f"{where}.children", sub, groups + (label,), out)
            continue
        if not key:
            raise SpecError(f"{where}.key: expected the key editors write for this row")
        role = _need(node, "role", where)
        if role not in ("received", "carried_in", "outcome", "total", "carried_out"):
            raise SpecError(f"{where}.role: expected received, carried_in, outcome, total or carried_out")
        # 三、本年度办理结果（三）不予公开 4.保护第三方合法权益: groups run together, the row after a space.
        full = "".join(groups) + (" " if len(groups) > 1 else "") + label
        out.append(Row(path + (key,), label, full, role, groups))


def from_catalog(data: Any) -> Spec:
    """Typed Spec from the raw YAML (every scalar text); SpecError names the key path."""
    if not isinstance(data, dict):
        raise SpecError("expected a mapping")
    req = _need(data, "requests", "", dict)
    rows: list[Row] = []
    _walk(_need(req, "rows", "requests", list), "requests.rows", (), (), rows)
    if len({r.path for r in rows}) != len(rows):
        raise SpecError("requests.rows: a key path appears twice")
    for role in ("received", "carried_in", "total", "carried_out"):
        if sum(r.role == role for r in rows) != 1:
            raise SpecError(f"requests.rows: expected exactly one row with role {role}")
    pro = _need(data, "proactive", "", dict)
    fields = {f["key"]: f["label"] for f in _need(pro, "fields", "proactive", list)}
    blocks = []
    for i, b in enumerate(_need(pro, "blocks", "proactive", list)):
        at = f"proactive.blocks[{i}]"
        prow = tuple(ProactiveRow(_need(r, "key", at), _need(r, "label", at), _need(b, "block", at), r.get("column"),
                                  r.get("money") == "true", tuple(fields) if r.get("column") else ())
                     for r in _need(b, "rows", at, list))
        blocks.append({"block": b["block"], "header": tuple(_need(b, "header", at, list)), "rows": prow})
    app = _need(data, "appeals", "", dict)
    groups = tuple({"label": _need(g, "label", "appeals.groups"),
                    "rows": tuple({"key": _need(r, "key", "appeals.groups"), "label": _need(r, "label", "appeals.groups")}
                                  for r in _need(g, "rows", "appeals.groups", list))}
                   for g in _need(app, "groups", "appeals", list))
    sections = tuple({"key": _need(s, "key", "sections"), "label": _need(s, "label", "sections"),
                      "text": s.get("text") == "true"} for s in _need(data, "sections", "", list))
    due = _need(data, "due", "", dict)
    for key in ("department", "government"):
        _need(due, key, "due")
    return Spec(source=_need(data, "source", ""), format=_need(data, "format", ""), basis=_need(data, "basis", ""),
                preamble=_need(data, "preamble", ""), period=_need(data, "period", ""), due=dict(due),
                sections=sections, proactive_fields=fields, blocks=tuple(blocks),
                columns=_columns(_need(req, "columns", "requests", list), "requests.columns"), rows=tuple(rows),
                groups=req, corner=_need(req, "corner", "requests"), group=_need(req, "group", "requests"),
                org_group=_need(req, "org_group", "requests"),
                appeal_columns=_columns(_need(app, "columns", "appeals", list), "appeals.columns"),
                appeal_groups=groups, labels={s["key"]: s["label"] for s in sections})
