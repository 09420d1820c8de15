"""The arithmetic of the format (its own 勾稽关系) and the comparisons, as findings.

Pure functions over typed reports (model.Report) and plain numbers: no build, no
files. Each finding names the row by its full Chinese label, the column, the
expected and the found figure, and its source, so the schema, the page and the
checker all say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .model import Report
    from .spec import Spec

Number = int | Decimal

# rule id -> (Chinese name, severity); the checker and docs read this registry.
RULES: dict[str, tuple[str, str]] = {
    "annual.row-total": ("年报表三各行总计等于六类申请人之和", "error"),
    "annual.outcome-total": ("年报表三（七）总计等于（一）至（六）各项之和", "error"),
    "annual.balance": ("年报表三第一项加第二项等于第三项（七）总计加第四项", "error"),
    "annual.appeal-total": ("年报表四各组总计等于维持、纠正、其他、尚未审结之和", "error"),
    "annual.carried": ("本年上年结转等于上年结转下年度继续办理", "warning"),
    "annual.in-force": ("上年现行有效加本年制发减本年废止等于本年现行有效", "warning"),
    "annual.items": ("表二规章、行政规范性文件件数与本单位栏目所载文件一致", "warning"),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    row: str            # full Chinese label of the row
    column: str         # Chinese label of the column
    expected: Number
    got: Number
    message: str
    source: str
    at: tuple = ()      # key path in the report data (for the line number)

    @property
    def severity(self) -> str:
        return RULES[self.rule][1]

    @property
    def text(self) -> str:
        """The finding with its place, for build messages: row（column）: message (source)."""
        return f"{self.row}（{self.column}）: {self.message} ({self.source})"

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "row": self.row, "column": self.column,
                "expected": str(self.expected), "got": str(self.got), "message": self.message, "source": self.source}


def row_totals(report: Report, spec: Spec) -> list[Finding]:
    """Each row of table 三: 总计 = the six applicant columns."""
    out = []
    total_col = spec.columns[-1].label
    for row in spec.rows:
        values = report.requests[row.path]
        expected = sum(values[:-1])
        if values[-1] != expected:
            out.append(Finding("annual.row-total", row.full, total_col, expected, values[-1],
                               f"{values[-1]} does not equal the sum of the six "
                               f"applicant columns {expected}", spec.source, ("requests", *row.path, len(values) - 1)))
    return out


def outcome_total(report: Report, spec: Spec) -> list[Finding]:
    """Per applicant column: （七）总计 = （一）+（二）+ every sub-row of （三）–（六）."""
    out = []
    total = next(r for r in spec.rows if r.role == "total")
    outcomes = [r for r in spec.rows if r.role == "outcome"]
    for c, col in enumerate(spec.columns[:-1]):
        expected = sum(report.requests[r.path][c] for r in outcomes)
        got = report.requests[total.path][c]
        if got != expected:
            out.append(Finding("annual.outcome-total", total.full, col.label, expected, got,
                               f"{got} does not equal the sum of （一） to （六） "
                               f"{expected}", spec.source, ("requests", *total.path, c)))
    return out


def balance(report: Report, spec: Spec) -> list[Finding]:
    """Per applicant column, the format's corner cell: 一 + 二 = （七）总计 + 四."""
    out = []
    role = {r.role: r for r in spec.rows if r.role != "outcome"}
    for c, col in enumerate(spec.columns[:-1]):
        inflow = report.requests[role["received"].path][c] + report.requests[role["carried_in"].path][c]
        total = report.requests[role["total"].path][c]
        got = report.requests[role["carried_out"].path][c]
        if total + got != inflow:
            row = role["carried_out"].full
            out.append(Finding("annual.balance", row, col.label, inflow - total, got,
                               f"一 + 二 = {inflow} but （七）总计 + 四 = {total} + {got} = "
                               f"{total + got} (expected 四 = {inflow - total})", spec.source,
                               ("requests", *role["carried_out"].path, c)))
    return out


def appeal_totals(report: Report, spec: Spec) -> list[Finding]:
    """Table 四: each group's 总计 = 维持 + 纠正 + 其他 + 尚未审结."""
    out = []
    total_col = spec.appeal_columns[-1].label
    for group in spec.appeal_groups:
        for r in group["rows"]:
            values = report.appeals[r["key"]]
            expected = sum(values[:-1])
            label = group["label"] if r["label"] == group["label"] else f"{group['label']} {r['label']}"
            if values[-1] != expected:
                out.append(Finding("annual.appeal-total", f"{spec.labels['appeals']} {label}", total_col, expected,
                                   values[-1], f"{values[-1]} does not equal 结果维持 + 结果纠正 "
                                   f"+ 其他结果 + 尚未审结 = {expected}", spec.source,
                                   ("appeals", r["key"], len(values) - 1)))
    return out


def arithmetic(report: Report, spec: Spec) -> list[Finding]:
    """Every error-level rule of the format, in the order of the tables."""
    return row_totals(report, spec) + outcome_total(report, spec) + balance(report, spec) + appeal_totals(report, spec)


# --- warnings: against last year's report and the unit's own items ---------------

def carried(report: Report, last: Report, spec: Spec) -> list[Finding]:
    """This year's 二、上年结转 = last year's 四、结转下年度继续办理, per column."""
    rin = next(r for r in spec.rows if r.role == "carried_in")
    rout = next(r for r in spec.rows if r.role == "carried_out")
    out = []
    for c, col in enumerate(spec.columns):
        got, expected = report.requests[rin.path][c], last.requests[rout.path][c]
        if got != expected:
            out.append(Finding("annual.carried", rin.full, col.label, expected, got,
                               f"{report.year}年报告填报 {got}，{last.year}年报告"
                               f"“{rout.label}” 为 {expected}", spec.source, ("requests", *rin.path, c)))
    return out


def in_force(report: Report, last: Report, spec: Spec) -> list[Finding]:
    """Last year's 现行有效 + this year's 本年制发 − 本年废止 = this year's 现行有效."""
    out = []
    f = spec.proactive_fields
    for row in spec.proactive_rows:
        if not row.fields:
            continue
        now, before = report.proactive[row.key], last.proactive[row.key]
        expected = before["in_force"] + now["issued"] - now["repealed"]
        if now["in_force"] != expected:
            out.append(Finding("annual.in-force", f"{spec.labels['proactive']} {row.label}", f["in_force"], expected,
                               now["in_force"], f"{report.year}年报告填报 {now['in_force']}，"
                               f"而{last.year}年现行有效 {before['in_force']} + 本年制发 {now['issued']} − 本年废止 "
                               f"{now['repealed']} = {expected}", spec.source, ("proactive", row.key, "in_force")))
    return out


def against_items(report: Report, counts: dict[str, dict[str, int]], spec: Spec) -> list[Finding]:
    """Declared 规章/规范性文件 figures against the unit's own items (``counts[row][field]``)."""
    out = []
    for row in spec.proactive_rows:
        if not row.fields or row.key not in counts:
            continue
        for key in row.fields:
            declared, found = report.proactive[row.key][key], counts[row.key][key]
            label = spec.proactive_fields[key]
            if declared != found:
                out.append(Finding("annual.items", f"{spec.labels['proactive']} {row.label}", label, found, declared,
                                   f"报告填报 {declared}，本单位“{row.label}”栏目（{row.column}）"
                                   f"所载文件为 {found}", spec.source, ("proactive", row.key, key)))
    return out


def compare(report: Report, last: Report | None, counts: dict[str, dict[str, int]] | None,
            spec: Spec) -> list[Finding]:
    """Every warning-level comparison available for this report."""
    out = []
    if last is not None:
        out += carried(report, last, spec) + in_force(report, last, spec)
    if counts is not None:
        out += against_items(report, counts, spec)
    return out
