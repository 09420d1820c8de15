"""The sample's fiscal pages against figures computed here from the YAML itself."""
import csv
import io
import json
import re
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

COUNTY = ROOT / "content" / "shili-county"
KEYS = ["因公出国(境)费", "公务接待费", "公务用车购置费", "公务用车运行维护费"]


def load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # numbers stay text


def amounts(data) -> dict[str, Decimal]:
    return {k: Decimal(data["amounts"][k]) for k in KEYS}


def series():
    found = {}
    for path in list(COUNTY.glob("sgjf/*.yaml")) + list((ROOT / "content/shili-county-czj").glob("sgjf/*.yaml")):
        d = load(path)
        found[(d["department"], int(d["year"]), d["stage"])] = (path, amounts(d))
    return found


def page_rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="data-table sangong-table">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', tr)
        if head:
            rows[unescape(head.group(1))] = [unescape(c) for c in re.findall(r'<td class="num">(.*?)</td>', tr)]
    return rows


def fmt(d: Decimal) -> str:
    return f"{d:.2f}"


@pytest.mark.parametrize("department", ["示例县民政局", "示例县教育局", "示例县交通运输局"])
def test_yoy_and_budget_figures_on_the_page(sample_site, department):
    all_series = series()
    for (dept, year, stage), (path, now) in sorted(all_series.items()):
        if dept != department:
            continue
        html = (sample_site / "shili-county/art/sgjf" / (path.stem + ".html")).read_text(encoding="utf-8")
        rows = page_rows(html)
        total_now = sum(now.values())
        assert rows["合计"][0] == fmt(total_now)
        assert rows["公务用车购置及运行维护费"][0] == fmt(now["公务用车购置费"] + now["公务用车运行维护费"])
        previous = all_series.get((dept, year - 1, stage))
        if previous:
            before = sum(previous[1].values())
            delta = total_now - before
            pct = (delta / before * 100).quantize(Decimal("0.1"))
            assert rows["合计"][1:4] == [fmt(before), f"{delta:+.2f}", f"{pct:+.1f}%"], path.name
            jd = now["公务接待费"] - previous[1]["公务接待费"]
            assert rows["公务接待费"][2] == f"{jd:+.2f}"
        else:
            assert rows["合计"][1:4] == ["—", "—", "—"]
        if stage == "决算":
            budget = sum(all_series[(dept, year, "预算")][1].values())
            assert rows["合计"][4:6] == [fmt(budget), f"{total_now - budget:+.2f}"], path.name


def test_csv_is_utf8_with_bom_and_matches_the_page(sample_site):
    folder = sample_site / "shili-county/art/sgjf"
    for page in sorted(folder.glob("*.html")):
        raw = (folder / f"{page.stem}-sangong.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][0] == "项目" and rows[0][1].endswith("（万元）")
        shown = page_rows(page.read_text(encoding="utf-8"))
        for line in rows[1:]:
            # the CSV keeps the catalog's label; the page shows it in full-width brackets
            cells = shown[line[0].replace("(", "（").replace(")", "）")]
            assert line[1] == cells[0]
            for got, want in zip(line[2:], cells[1:], strict=True):
                if want == "—":
                    assert got == ""
                else:
                    assert got == want.replace("+", "").rstrip("%")


def test_fiscal_table_csv_and_json(sample_site):
    folder = sample_site / "shili-county-czj/art/bmyjs"
    src = load(ROOT / "content/shili-county-czj/bmyjs/2026-2025-bumen-juesuan-baobiao.yaml")
    data = json.loads((folder / "2026-2025-bumen-juesuan-baobiao.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in data["tables"]] == [t["name"] for t in src["tables"]]
    assert len(data["tables"]) == 9
    for n, table in enumerate(src["tables"], 1):
        rows = list(csv.reader(io.StringIO((folder / f"2026-2025-bumen-juesuan-baobiao-{n}.csv").read_bytes().decode("utf-8-sig"))))
        if "rows" in table:
            assert rows[-1] == ["", "合计", table["total"]]
            assert Decimal(rows[-1][2]) == sum(Decimal(r["amount"]) for r in table["rows"])
            assert data["tables"][n - 1]["total"] == float(table["total"])
        else:
            assert rows[-1][1] == table["empty"]


def test_empty_table_keeps_its_title_and_explanation(sample_site):
    html = (sample_site / "shili-county-czj/art/bmyjs/2026-2025-bumen-juesuan-baobiao.html").read_text(encoding="utf-8")
    assert "表9　国有资本经营预算财政拨款支出决算表" in html
    assert "<strong>空表说明：</strong>本部门2025年度没有使用国有资本经营预算财政拨款安排的支出" in html


def test_charts_are_accessible_with_the_data_beside_them(sample_site):
    for page in list((sample_site / "shili-county/art/sgjf").glob("*.html")) + [sample_site / "shili-county/sgjf/index.html"]:
        html = page.read_text(encoding="utf-8")
        svgs = re.findall(r"<svg[^>]*>.*?</svg>", html, re.S)
        assert svgs, page
        for svg in svgs:
            chart_id = re.search(r'aria-labelledby="([^ ]+)-t \1-d"', svg).group(1)
            assert 'role="img"' in svg
            assert re.search(rf'<title id="{chart_id}-t">[^<]+</title><desc id="{chart_id}-d">[^<]+</desc>', svg)
        assert '<table class="data-table' in html  # the same figures as a table


def test_overview_totals_per_year_across_departments(sample_site):
    html = (sample_site / "shili-county/sgjf/index.html").read_text(encoding="utf-8")
    budgets = {}
    for (_dept, year, stage), (_, a) in series().items():
        if stage == "预算":
            budgets[year] = budgets.get(year, Decimal(0)) + sum(a.values())
    section = html.split("<h3>预算（万元）</h3>")[1].split("</table>")[0]
    total_row = re.search(r'<tr class="total"><th scope="row">合计</th>(.*?)</tr>', section, re.S).group(1)
    assert re.findall(r'<td class="num">(.*?)</td>', total_row) == [fmt(budgets[y]) for y in sorted(budgets)]
    assert "示例县财政局" in section  # a department unit under the county is included
