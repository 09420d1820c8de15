"""``python -m gongkai annual-report --unit U --year Y``: start the year's report.

Writes ``content/U/xxgknb/<Y+1>-<Y>-xxgk-niandu-baogao.yaml`` with table 二's 规章 and
行政规范性文件 rows counted from the unit's own items (series.item_counts, i.e. the
lifecycle on 31 December), last year's 结转下年度 copied into 上年结转 (and, so that the
file balances until the editor fills it, into 结转下年度), every other figure 0, the
texts as placeholders, and ``draft: true``. Never overwrites; prints what to fill.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..site import Site, scan
from . import series
from .model import PLACEHOLDER, Report
from .spec import Spec


class PrefillError(Exception):
    pass


def file_name(year: int) -> str:
    return f"xxgknb/{year + 1}-{year}-xxgk-niandu-baogao.yaml"


def next_index_no(site: Site, unit_id: str, year: int) -> str | None:
    """The next free 索引号 <org_code>/<year>-<serial> of the unit, if it numbers that way."""
    unit = site.units[unit_id]
    pattern = re.compile(rf"^{re.escape(unit.org_code)}/{year}-(\d+)$")
    used = [int(m[1]) for i in site.items if i.index_no and (m := pattern.match(i.index_no))]
    candidate = f"{unit.org_code}/{year}-{max(used, default=0) + 1:05d}"
    return candidate if unit.index_re.match(candidate) else None


def _row(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def text(spec: Spec, unit_name: str, year: int, level: str, counts: dict[str, dict[str, int]],
         carried: tuple[int, ...] | None, index_no: str | None) -> str:
    """The report file: every row of the format, with its Chinese label as a comment."""
    zero = (0,) * len(spec.columns)
    carried = carried or zero
    due = series.due(year, level, spec)
    lines = [
        f"# {unit_name}{year}年政府信息公开工作年度报告（{spec.format}，{spec.source}）",
        "# 由 make annual-report 生成：表二“规章”“行政规范性文件”取自本单位栏目所载文件（截至当年12月31日），",
        "# 表三“上年结转”取自上年报告“结转下年度继续办理”；其余数字为0，待填写。填写完成后删除 draft: true。",
        f"title: {unit_name}{year}年政府信息公开工作年度报告",
        "column: xxgknb",
        "type: annual-report",
    ]
    if index_no:
        lines.append(f"index_no: {index_no}")
    lines += ["genre: 报告", "topic: 综合政务\\政务公开", f"published: {due.isoformat()}   # 发布日期（截止日期 {due.isoformat()}）",
              "draft: true", f"year: {year}"]
    for s in spec.sections:
        if s["text"]:
            lines += [f"{s['key']}: |   # {s['label']}", f"  {PLACEHOLDER}"]
    lines += [f"proactive:   # {spec.labels['proactive']}"]
    for b in spec.blocks:
        lines.append(f"  # {b['block']}")
        for r in b["rows"]:
            if r.fields:
                got = counts.get(r.key, {})
                inner = ", ".join(f"{k}: {got.get(k, 0)}" for k in r.fields)
                lines.append(f"  {r.key}: {{{inner}}}   # {r.label}：" + " / ".join(spec.proactive_fields[k] for k in r.fields)
                             + ("（按本单位栏目计算）" if r.key in counts else ""))
            else:
                lines.append(f"  {r.key}: {'0.00' if r.money else 0}   # {r.label}")
    lines += [f"requests:   # {spec.labels['requests']}",
              "  # 每行：[" + ", ".join(c.label for c in spec.columns) + "]"]
    opened: tuple[str, ...] = ()
    for row in spec.rows:
        for d, key in enumerate(row.path[:-1]):
            if opened[:d + 1] != row.path[:d + 1]:
                lines.append(f"{'  ' * (d + 1)}{key}:   # {row.groups[d + 1] if d + 1 < len(row.groups) else ''}")
        opened = row.path[:-1]
        values = carried if row.role in ("carried_in", "carried_out") else zero
        lines.append(f"{'  ' * len(row.path)}{row.path[-1]}: {_row(values)}   # {row.label}")
    lines += [f"appeals:   # {spec.labels['appeals']}",
              "  # 每行：[" + ", ".join(c.label for c in spec.appeal_columns) + "]"]
    for g in spec.appeal_groups:
        for r in g["rows"]:
            label = g["label"] if r["label"] == g["label"] else f"{g['label']} {r['label']}"
            lines.append(f"  {r['key']}: {_row((0,) * len(spec.appeal_columns))}   # {label}")
    return "\n".join(lines) + "\n"


def prefill(content: Path, catalogs: Path, unit_id: str, year: int) -> tuple[Path, list[str]]:
    """Write the file; returns its path and what the editor still has to fill."""
    site = scan(content, catalogs)
    spec = site.catalogs.annual
    if unit_id not in site.units:
        raise PrefillError(f"UNIT: no unit {unit_id!r} in {content} (expected one of {', '.join(sorted(site.units))})")
    unit = site.units[unit_id]
    existing = [i for i in site.items.of(unit_id) if isinstance(i.facts, Report) and i.facts.year == year]
    path = unit.folder / file_name(year)
    if path.exists() or existing:
        other = existing[0].source if existing else str(path)
        raise PrefillError(f"{other}: the {year}年 report of {unit.name} already exists; not overwritten")
    items = site.items.of(unit_id)
    counts = series.unit_counts(items, year, spec, series.state_on_of(site))
    counts = {k: v for k, v in counts.items() if any(c.id == spec_column(spec, k) for c in site.catalogs.tree_for(unit.level).walk())}
    last = series.reports(site).get((unit_id, year - 1))
    carried = None
    if last is not None:
        rout = next(r for r in spec.rows if r.role == "carried_out")
        carried = last.facts.requests[rout.path]
    index_no = next_index_no(site, unit_id, year + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:   # "x": never overwrite, even in a race
        fh.write(text(spec, unit.name, year, unit.level, counts, carried, index_no))
    todo = [f"{s['label']}（{s['key']}）" for s in spec.sections if s["text"]]
    todo.append(f"{spec.labels['proactive']}：行政许可、行政处罚、行政强制、行政事业性收费")
    todo.append(f"{spec.labels['requests']}：除“上年结转”外各行（“结转下年度”暂与上年结转相同）")
    todo.append(spec.labels["appeals"])
    if not index_no:
        todo.append("index_no（索引号）")
    todo.append("published（发布日期），然后删除 draft: true")
    return path, todo


def spec_column(spec: Spec, key: str) -> str | None:
    return next((r.column for r in spec.proactive_rows if r.key == key), None)


def main(content: Path, catalogs: Path, unit_id: str | None, year: str | None) -> int:
    """The command line: exit 0 with the path and the list of what to fill, else 2 with why."""
    import sys

    from ..errors import ContentError
    if not unit_id or not year or not re.match(r"^20\d\d$", year):
        print("annual-report: expected UNIT=<unit id> YEAR=<YYYY>, e.g. make annual-report UNIT=shili-county "
              f"YEAR=2025 (got UNIT={unit_id or ''!s} YEAR={year or ''!s})", file=sys.stderr)
        return 2
    try:
        path, todo = prefill(content, catalogs, unit_id, int(year))
    except (PrefillError, FileExistsError) as exc:
        print(f"annual-report: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(path)
    print("待填写 (to fill):\n" + "\n".join(f"  - {t}" for t in todo))
    return 0
