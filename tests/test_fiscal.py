"""财政预决算 and 三公经费: sums, explanations, standard tables, deadlines."""
import datetime as dt
import textwrap
from decimal import Decimal

import pytest

from conftest import ROOT, UNIT_YAML
from gongkai import fiscal
from gongkai.schema import read_item
from gongkai.site import scan

SANGONG = """\
title: 2025年三公经费{stage}
column: sgjf
type: sangong
index_no: 11990102MB0000003X/{no}
department: 测试县民政局
year: {year}
stage: {stage}
unit: 万元
approved: {year}-01-20
published: {year}-02-05
amounts:
  因公出国(境)费: 0
  公务接待费: {jd}
  公务用车购置费: 0
  公务用车运行维护费: 5.00
{extra}"""


def sangong(year=2025, stage="预算", jd="3.10", extra="", no=None):
    return SANGONG.format(year=year, stage=stage, jd=jd, extra=extra, no=no or f"{year}-0{1 if stage == '预算' else 2}001")


def problems(county, cats, text, name="sgjf/a.yaml"):
    path = county.folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    item, found = read_item(path, county, cats)
    return item, [f"{p.line}: {p.field}: {p.message}" for p in found]


def test_total_off_by_a_cent_names_file_line_and_field(county, cats):
    _, found = problems(county, cats, sangong(extra="total: 8.11\n"))
    assert found == ["16: total: 8.11 does not equal the sum of amounts 8.10 (off by 0.01; expected within 0.005)"]
    item, found = problems(county, cats, sangong(extra="total: 8.104\n"))
    assert found == [] and item.facts.total == Decimal("8.104")


@pytest.mark.parametrize("line, value, message", [
    ("  公务接待费: 3.10", "  公务接待费: -1", "13: amounts: 公务接待费: expected an amount of 0 or more, got '-1'"),
    ("  公务接待费: 3.10", "  公务接待费: 1,200.00", "13: amounts: 公务接待费: expected a number like 12.34 (no thousands separators or units), got '1,200.00'"),
    ("  公务接待费: 3.10", "  招待费: 3.10", "13: amounts: unknown amount '招待费'; expected 因公出国(境)费, 公务接待费, 公务用车购置费, 公务用车运行维护费"),
    ("stage: 预算", "stage: 预决算", "7: stage: expected one of 预算, 决算, got '预决算'"),
    ("year: 2025", "year: 25", "6: year: expected a year YYYY, got '25'"),
])
def test_amount_and_field_errors(county, cats, line, value, message):
    _, found = problems(county, cats, sangong().replace(line, value))
    assert message in found


def test_full_width_brackets_are_the_same_key(county, cats):
    item, found = problems(county, cats, sangong().replace("因公出国(境)费", "因公出国（境）费"))
    assert found == [] and item.facts.amounts["因公出国(境)费"] == Decimal("0")


def test_missing_amounts_and_counts(county, cats):
    text = sangong().replace("  公务用车购置费: 0\n", "") + "counts:\n  车辆保有: two\n  座位数: 5\n"
    _, found = problems(county, cats, text)
    assert found == ["11: amounts: missing 公务用车购置费 (write 0 for none)",
                     "16: counts: 车辆保有: expected a whole number, got 'two'",
                     "17: counts: unknown count '座位数'; expected 出国团组, 出国人次, 车辆购置, 车辆保有, 接待批次, 接待人次"]


def tree(make_tree, files):
    return scan(make_tree({"a/_unit.yaml": UNIT_YAML, **files}), ROOT / "catalogs")


def test_change_against_last_year_needs_an_explanation(make_tree):
    site = tree(make_tree, {"a/sgjf/2024.yaml": sangong(2024, jd="3.40"), "a/sgjf/2025.yaml": sangong(2025)})
    [p] = site.problems
    assert p.path.endswith("a/sgjf/2025.yaml") and p.line == 11 and p.field == "explanation"
    assert p.message.startswith("required: amounts changed against 上年预算 (") and "2024.yaml): 公务接待费 3.40 → 3.10" in p.message
    assert tree(make_tree, {"a/sgjf/2024.yaml": sangong(2024), "a/sgjf/2025.yaml": sangong(2025)}).problems == []
    explained = sangong(2025, extra="explanation: 压减接待批次\n")
    assert tree(make_tree, {"a/sgjf/2024.yaml": sangong(2024, jd="3.40"), "a/sgjf/2025.yaml": explained}).problems == []


def test_final_accounts_compare_with_the_budget_too(make_tree):
    site = tree(make_tree, {"a/sgjf/ys.yaml": sangong(2025), "a/sgjf/js.yaml": sangong(2025, stage="决算", jd="2.95")})
    [p] = site.problems
    assert "against 本年预算" in p.message and "公务接待费 3.10 → 2.95" in p.message


FISCAL = """\
title: 2025年部门决算
column: bmyjs
type: fiscal
index_no: 11990102MB0000003X/2026-00001
department: 测试县民政局
year: 2025
stage: 决算
scope: 部门
published: 2026-08-20
tables:
"""


def test_fiscal_tables_check_every_level(county, cats):
    tables = """\
  - name: 收入支出决算总表
    total: 100.00
    rows:
      - {code: '1', name: 财政拨款收入, amount: 90.00}
      - name: 其他收入
        amount: 20.00
        children:
          - {name: 利息, amount: 9.99}
          - {name: 租金, amount: 10.00}
  - name: 收入决算表
  - name: 支出决算表
    rows: [{name: 一般公共服务支出, amount: 1}]
    empty: 无
"""
    _, found = problems(county, cats, FISCAL + tables, "bmyjs/a.yaml")
    assert found == [
        "16: tables: row '其他收入': 20.00 does not equal the sum of its children 19.99 (off by 0.01)",
        "12: tables: table '收入支出决算总表': total 100.00 does not equal the sum of its rows 110.00 (off by 10.00; expected within 0.005)",
        "20: tables: table '收入决算表' has no rows: keep it and give the 空表说明 in `empty:`",
        "23: tables: table '支出决算表' has rows and an 空表说明; expected one of them",
    ]


def test_department_final_accounts_need_the_nine_standard_tables(county, cats):
    tables = "  - name: 收入支出决算总表\n    rows: [{name: 财政拨款收入, amount: 1}]\n"
    _, found = problems(county, cats, FISCAL + tables, "bmyjs/a.yaml")
    assert found == ["10: tables: missing standard tables of 部门决算: 收入决算表, 支出决算表, 财政拨款收入支出决算总表, "
                     "一般公共预算财政拨款支出决算表, 一般公共预算财政拨款基本支出决算表, 一般公共预算财政拨款“三公”经费支出决算表, "
                     "政府性基金预算财政拨款收入支出决算表, 国有资本经营预算财政拨款支出决算表 (a table with no data stays, with "
                     "`empty:` giving the 空表说明)"]


def test_publication_deadline_is_twenty_calendar_days_after_approval(cats):
    rule = cats.fiscal["deadline"]
    assert fiscal.publication_due(dt.date(2026, 1, 16), rule) == dt.date(2026, 2, 5)
    on_time = fiscal.deadline_fact(dt.date(2026, 1, 16), dt.date(2026, 2, 5), rule)
    late = fiscal.deadline_fact(dt.date(2026, 1, 16), dt.date(2026, 2, 9), rule)
    assert (on_time["days_late"], late["days_late"]) == (0, 4)
    assert "第十四条" in late["basis"]
    assert fiscal.deadline_fact(None, dt.date(2026, 2, 9), rule) is None


def test_only_one_money_unit(county, cats):
    _, found = problems(county, cats, sangong().replace("unit: 万元", "unit: 元"))
    assert found == ["8: unit: expected one of 万元, got '元'"]
