"""年报 as data (DESIGN §12): the format from the catalog, validation, the arithmetic and
the comparisons as pure functions, the prefill text and the CSV cells — no build."""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from gongkai import lifecycle
from gongkai.annual import model, plugin, rules, series
from gongkai.annual.spec import SpecError, from_catalog, table3_layout
from gongkai.items import Item
from gongkai.schema import read_item
from gongkai.yamlsrc import load

ANNUAL = FIXTURES / "annual"
SOURCE = "国办公开办函〔2021〕30号"

# The 25 rows of table 三 of 国办公开办函〔2021〕30号, in the official order.
OFFICIAL_ROWS = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "三、本年度办理结果（一）予以公开",
    "三、本年度办理结果（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "三、本年度办理结果（三）不予公开 1.属于国家秘密",
    "三、本年度办理结果（三）不予公开 2.其他法律行政法规禁止公开",
    "三、本年度办理结果（三）不予公开 3.危及“三安全一稳定”",
    "三、本年度办理结果（三）不予公开 4.保护第三方合法权益",
    "三、本年度办理结果（三）不予公开 5.属于三类内部事务信息",
    "三、本年度办理结果（三）不予公开 6.属于四类过程性信息",
    "三、本年度办理结果（三）不予公开 7.属于行政执法案卷",
    "三、本年度办理结果（三）不予公开 8.属于行政查询事项",
    "三、本年度办理结果（四）无法提供 1.本机关不掌握相关政府信息",
    "三、本年度办理结果（四）无法提供 2.没有现成信息需要另行制作",
    "三、本年度办理结果（四）无法提供 3.补正后申请内容仍不明确",
    "三、本年度办理结果（五）不予处理 1.信访举报投诉类申请",
    "三、本年度办理结果（五）不予处理 2.重复申请",
    "三、本年度办理结果（五）不予处理 3.要求提供公开出版物",
    "三、本年度办理结果（五）不予处理 4.无正当理由大量反复申请",
    "三、本年度办理结果（五）不予处理 5.要求行政机关确认或重新出具已获取信息",
    "三、本年度办理结果（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "三、本年度办理结果（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "三、本年度办理结果（六）其他处理 3.其他",
    "三、本年度办理结果（七）总计",
    "四、结转下年度继续办理",
]
COLUMNS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]


@pytest.fixture(scope="module")
def spec(cats):
    return cats.annual


def read(county, cats, fixture: str):
    """Read a fixture report as content/demo-county/xxgknb/<fixture>; return (item, messages)."""
    dest = county.folder / "xxgknb" / fixture
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ANNUAL / fixture, dest)
    item, found = read_item(dest, county, cats)
    return item, [str(p) for p in found]


# --- the format ---------------------------------------------------------------------

def test_catalog_has_the_official_rows_columns_and_sections(spec):
    assert [r.full for r in spec.rows] == OFFICIAL_ROWS
    assert [c.label for c in spec.columns] == COLUMNS
    assert [s["label"] for s in spec.sections] == ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                                                   "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况",
                                                   "六、其他需要报告的事项"]
    assert [b["block"] for b in spec.blocks] == ["第二十条第（一）项", "第二十条第（五）项", "第二十条第（六）项", "第二十条第（八）项"]
    assert [g["label"] for g in spec.appeal_groups] == ["行政复议", "行政诉讼"]
    assert [r["label"] for r in spec.appeal_groups[1]["rows"]] == ["未经复议直接起诉", "复议后起诉"]
    assert spec.period_sentence(2025) == "本报告所列数据的统计期限为2025年1月1日至2025年12月31日。"


def test_table3_layout_opens_each_group_once_with_its_rowspan(spec):
    layout = table3_layout(spec)
    groups = [(c["text"], c["rowspan"]) for r in layout for c in r["cells"] if c["group"]]
    assert groups == [("三、本年度办理结果", 22), ("（三）不予公开", 8), ("（四）无法提供", 3), ("（五）不予处理", 5), ("（六）其他处理", 3)]
    # every row fills the three label columns exactly once (rowspans included)
    open_until = [0, 0, 0]
    for i, r in enumerate(layout):
        taken = [col for col in range(3) if open_until[col] > i]
        for c in r["cells"]:
            for col in range(c["col"], c["col"] + c["colspan"]):
                assert col not in taken
                taken.append(col)
                open_until[col] = i + c["rowspan"]
        assert sorted(taken) == [0, 1, 2], r["row"].full


def test_a_broken_catalog_names_the_key():
    with pytest.raises(SpecError, match="requests.rows: expected exactly one row with role carried_in"):
        from_catalog({**load((ROOT / "catalogs" / "annual.yaml").read_text(encoding="utf-8")).data,
                      "requests": {"corner": "x", "group": "g", "org_group": "o",
                                   "columns": [{"key": "a", "label": "A"}, {"key": "t", "label": "T", "total": "true"}],
                                   "rows": [{"key": "received", "label": "一", "role": "received"}]}})


# --- validation: file, line, row label, column ----------------------------------------

def test_the_valid_fixture_reads_into_a_report(county, cats):
    item, found = read(county, cats, "valid.yaml")
    assert found == []
    report = item.facts
    assert isinstance(report, model.Report) and report.year == 2024
    assert report.requests[("refused", "third_party")] == (1, 1, 0, 0, 0, 0, 2)
    assert report.proactive["normative"] == {"issued": 1, "repealed": 0, "in_force": 4}
    assert report.proactive["fees"] == Decimal("0.00")
    assert report.appeals["review"] == (2, 0, 0, 0, 2)


@pytest.mark.parametrize("fixture, line, expected", [
    ("row-total.yaml", 41, "requests (收到和处理政府信息公开申请情况): 三、本年度办理结果（三）不予公开 4.保护第三方合法权益（总计）: "
                           f"3 does not equal the sum of the six applicant columns 2 ({SOURCE})"),
    ("outcome-total.yaml", 60, "requests (收到和处理政府信息公开申请情况): 三、本年度办理结果（七）总计（法律服务机构）: 2 does not "
                               f"equal the sum of （一） to （六） 1 ({SOURCE})"),
    ("balance.yaml", 61, "requests (收到和处理政府信息公开申请情况): 四、结转下年度继续办理（法律服务机构）: 一 + 二 = 1 but "
                         f"（七）总计 + 四 = 1 + 1 = 2 (expected 四 = 0) ({SOURCE})"),
    ("appeal-total.yaml", 64, "appeals (行政复议、行政诉讼情况): 四、政府信息公开行政复议、行政诉讼情况 行政复议（总计）: 3 does not "
                              f"equal 结果维持 + 结果纠正 + 其他结果 + 尚未审结 = 2 ({SOURCE})"),
    ("negative.yaml", 41, "requests (收到和处理政府信息公开申请情况): 三、本年度办理结果（三）不予公开 4.保护第三方合法权益（法律服务机构）: "
                          "expected a whole number 0 or more (a count cannot be negative), got '-1'"),
    ("fees.yaml", 30, "proactive (主动公开政府信息情况): 二、主动公开政府信息情况 行政事业性收费: expected an amount in 万元 like "
                      "12.34, 0 or more (in 万元, written plainly: no unit, no thousands separators), got '12.5万元'"),
    ("missing-row.yaml", 37, "requests (收到和处理政府信息公开申请情况): 三、本年度办理结果（三）不予公开 6.属于四类过程性信息: missing row "
                             "(expected 7 figures [自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计]; write 0 for none)"),
    ("future-year.yaml", 13, "year (年度): 2025年 is not a past year: a report covers a finished year and is published in a "
                             "later one (published 2025-01-22)"),
])
def test_each_rule_fails_with_file_line_row_and_column(county, cats, fixture, line, expected):
    item, found = read(county, cats, fixture)
    assert item is None
    assert f"{county.source.rsplit('/', 1)[0]}/xxgknb/{fixture}:{line}: {expected}" in [
        f.replace(str(county.folder), county.source.rsplit("/", 1)[0]) for f in found], found


def test_one_wrong_cell_in_the_total_column_is_one_message(county, cats):
    _, found = read(county, cats, "row-total.yaml")
    assert len(found) == 1


def test_unknown_rows_and_keys_are_named_with_a_suggestion(county, cats):
    text = (ANNUAL / "valid.yaml").read_text(encoding="utf-8").replace("    third_party:", "    third_pary:")
    path = county.folder / "xxgknb" / "typo.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _, found = read_item(path, county, cats)
    messages = [p.message for p in found]
    assert "unknown row 'third_pary'; did you mean 'third_party'?" in messages
    assert any(m.startswith("三、本年度办理结果（三）不予公开 4.保护第三方合法权益: missing row") for m in messages)


def test_a_prefill_placeholder_is_refused_once_the_draft_flag_goes(county, cats):
    text = (ANNUAL / "valid.yaml").read_text(encoding="utf-8")
    text = text.replace("  本年度未收取信息处理费。", f"  {model.PLACEHOLDER}")
    path = county.folder / "xxgknb" / "placeholder.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _, found = read_item(path, county, cats)
    assert [p.message for p in found] == ["六、其他需要报告的事项: still has the placeholder 【待填写】 of the prefill; "
                                          "write the text (or 无)"]
    path.write_text(text.replace("year: 2024", "draft: true\nyear: 2024"), encoding="utf-8")
    assert read_item(path, county, cats)[1] == []


# --- the arithmetic as pure functions ---------------------------------------------------

def report(spec, **rows) -> model.Report:
    zero = (0,) * 7
    requests = {r.path: rows.get(r.key, zero) for r in spec.rows}
    return model.Report(2025, {"rules": {"issued": 0, "repealed": 0, "in_force": 0},
                               "normative": {"issued": 5, "repealed": 2, "in_force": 41},
                               "licensing": 0, "penalty": 0, "coercion": 0, "fees": Decimal("0")},
                        requests, {"review": (0,) * 5, "litigation_direct": (0,) * 5, "litigation_after_review": (0,) * 5})


def test_arithmetic_findings_are_structured(spec):
    r = report(spec, received=(2, 0, 0, 0, 0, 0, 2), disclosed=(1, 0, 0, 0, 0, 0, 1), total=(1, 0, 0, 0, 0, 0, 1),
               carried_out=(0, 0, 0, 0, 0, 0, 0))
    [finding] = rules.arithmetic(r, spec)
    assert finding.as_dict() == {"rule": "annual.balance", "severity": "error", "row": "四、结转下年度继续办理",
                                 "column": "自然人", "expected": "1", "got": "0", "source": SOURCE,
                                 "message": "一 + 二 = 2 but （七）总计 + 四 = 1 + 0 = 1 (expected 四 = 1)"}
    assert finding.at == ("requests", "carried_out", 0)
    ok = report(spec, received=(2, 0, 0, 0, 0, 0, 2), disclosed=(1, 0, 0, 0, 0, 0, 1), total=(1, 0, 0, 0, 0, 0, 1),
                carried_out=(1, 0, 0, 0, 0, 0, 1))
    assert rules.arithmetic(ok, spec) == []


def test_outcome_total_sums_every_sub_row(spec):
    r = report(spec, **{"refused.third_party": (0, 0, 0, 0, 1, 0, 1), "other.other": (0, 0, 0, 0, 1, 0, 1),
                        "total": (0, 0, 0, 0, 1, 0, 1)})
    [finding] = rules.outcome_total(r, spec)
    assert (finding.row, finding.column, finding.expected, finding.got) == ("三、本年度办理结果（七）总计", "法律服务机构", 2, 1)


def test_warnings_name_both_figures(spec):
    last = dataclasses.replace(report(spec, carried_out=(3, 0, 0, 0, 0, 0, 3)), year=2024)
    now = report(spec, carried_in=(2, 0, 0, 0, 0, 0, 2))
    found = rules.compare(now, last, {"rules": {"issued": 0, "repealed": 0, "in_force": 0},
                                      "normative": {"issued": 4, "repealed": 2, "in_force": 41}}, spec)
    assert [(f.rule, f.row, f.column, f.expected, f.got) for f in found] == [
        ("annual.carried", "二、上年结转政府信息公开申请数量", "自然人", 3, 2),
        ("annual.carried", "二、上年结转政府信息公开申请数量", "总计", 3, 2),
        ("annual.in-force", "二、主动公开政府信息情况 行政规范性文件", "现行有效件数", 44, 41),
        ("annual.items", "二、主动公开政府信息情况 行政规范性文件", "本年制发件数", 4, 5),
    ]
    assert found[0].message == "2025年报告填报 2，2024年报告“四、结转下年度继续办理” 为 3"
    assert all(f.severity == "warning" and f.source == SOURCE for f in found)
    assert "41" in found[2].message and "44" in found[2].message
    assert "报告填报 5" in found[3].message and "为 4" in found[3].message


# --- the unit's own items, read through the lifecycle ------------------------------------

def _item(n, published, column="gfxwj", **kw) -> Item:
    return Item(unit="u", source=f"s{n}", path=Path(f"s{n}"), slug=f"s{n}", type="document", title="t", column=column,
                published=dt.datetime.combine(published, dt.time()), issuer="i", index_no=f"x/{n}", **kw)


def test_item_counts_read_the_lifecycle_on_31_december():
    items = [_item(1, dt.date(2024, 3, 1)),
             _item(2, dt.date(2025, 3, 1)),
             _item(3, dt.date(2023, 3, 1), valid_until=dt.date(2025, 6, 30)),       # expired in 2025
             _item(4, dt.date(2023, 3, 1), valid_until=dt.date(2025, 12, 31)),      # still valid on 31 Dec
             _item(5, dt.date(2022, 3, 1), replaced_by="x/2"),                      # revised by 2 in 2025
             _item(6, dt.date(2025, 5, 1), draft=True),                            # never public
             _item(7, dt.date(2025, 5, 1), column="qtwj")]
    dates = {i.index_no: (lifecycle.public_on(i).isoformat() if lifecycle.public_on(i) else None) for i in items}
    public_on_of = lifecycle.lookup(dates)
    counts = series.item_counts(items, "gfxwj", 2025, lambda item, day: lifecycle.state(item, day, public_on_of))
    assert counts == {"issued": 1, "repealed": 2, "in_force": 3}


def test_due_dates_and_status(spec):
    assert series.due(2025, "department", spec) == dt.date(2026, 1, 31)
    assert series.due(2025, "county", spec) == dt.date(2026, 3, 31)
    due = dt.date(2026, 1, 31)
    assert series.status(dt.date(2026, 1, 31), due, dt.date(2026, 5, 1)) == "on_time"
    assert series.status(dt.date(2026, 2, 1), due, dt.date(2026, 5, 1)) == "late"
    assert series.status(None, due, dt.date(2026, 2, 1)) == "missing"
    assert series.status(None, due, dt.date(2026, 1, 31)) == "pending"
    assert series.status(dt.date(2026, 1, 20), due, dt.date(2026, 1, 10)) == "pending"   # not public yet


# --- downloads ----------------------------------------------------------------------

@pytest.mark.parametrize("cell, shown", [("=1+2", "'=1+2"), ("+86", "'+86"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
                                         ("\tx", "'\tx"), ("\rx", "'\rx"), ("-3", "-3"), ("12.50", "12.50"),
                                         ("示例", "示例"), (7, "7")])
def test_csv_cells_cannot_run_as_formulas(cell, shown):
    assert plugin.safe_cell(cell) == shown


def test_csv_is_utf8_with_bom():
    data = plugin.csv_bytes(["项目"], [["=cmd", 1]])
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig") == "项目\r\n'=cmd,1\r\n"


def test_prefill_text_reads_back_as_a_balanced_draft(county, cats, spec):
    from gongkai.annual import prefill
    text = prefill.text(spec, "测试县人民政府", 2025, "county", {"normative": {"issued": 3, "repealed": 1, "in_force": 9}},
                        (2, 0, 0, 0, 1, 0, 3), "11990102MB0000003X/2026-00001")
    path = county.folder / "xxgknb" / "prefill.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    item, found = read_item(path, county, cats)
    assert found == [] and item.draft
    assert item.facts.proactive["normative"] == {"issued": 3, "repealed": 1, "in_force": 9}
    assert item.facts.requests[("carried_in",)] == item.facts.requests[("carried_out",)] == (2, 0, 0, 0, 1, 0, 3)
    assert textwrap.dedent(text).count(model.PLACEHOLDER) == 3


def test_a_group_written_as_a_list_is_one_message(county, cats):
    text = (ANNUAL / "valid.yaml").read_text(encoding="utf-8")
    start = text.index("  refused:")
    end = text.index("  unavailable:")
    path = county.folder / "xxgknb" / "group.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[:start] + "  refused: [0, 0, 0, 0, 0, 0, 0]\n" + text[end:], encoding="utf-8")
    _, found = read_item(path, county, cats)
    assert [(p.line, p.message) for p in found] == [
        (37, "（三）不予公开: expected a mapping of its rows (state_secret, law_forbids, three_safety, third_party, "
             "internal_affairs, process_info, enforcement_files, query_matters), got a list")]


def test_the_checker_reads_the_same_findings_from_one_units_items(county, cats, spec):
    from gongkai.annual import checker
    last, _ = read(county, cats, "valid.yaml")
    text = (ANNUAL / "valid.yaml").read_text(encoding="utf-8")
    text = text.replace("year: 2024", "year: 2025").replace("published: 2025-01-22", "published: 2026-01-22")
    text = text.replace("  carried_in: [1, 1, 0, 0, 0, 0, 2]", "  carried_in: [2, 1, 0, 0, 0, 0, 3]")
    text = text.replace("  received: [49, 4, 0, 1, 1, 0, 55]", "  received: [48, 4, 0, 1, 1, 0, 54]")
    text = text.replace("index_no: 11990102MB0000003X/2025-00001", "index_no: 11990102MB0000003X/2026-00001")
    path = county.folder / "xxgknb" / "2025.yaml"
    path.write_text(text, encoding="utf-8")
    now, found = read_item(path, county, cats)
    assert found == []
    items = [last, now]
    states = {i.source: lifecycle.State("current") for i in items}
    result = checker.unit_findings(items, states, spec)
    # no gfxwj items in this unit: the declared 规章/规范性文件 figures differ from 0
    assert [(i.source == now.source, f.rule, f.column, f.expected, f.got) for i, f in result] == [
        (False, "annual.items", "本年制发件数", 0, 1),
        (False, "annual.items", "现行有效件数", 0, 4),
        (True, "annual.carried", "自然人", 3, 2),
        (True, "annual.carried", "商业企业", 0, 1),
        (True, "annual.in-force", "现行有效件数", 5, 4),
        (True, "annual.items", "本年制发件数", 0, 1),
        (True, "annual.items", "现行有效件数", 0, 4)]
    assert checker.line_of(now, result[2][1]) == now.lines[("requests", "carried_in", 0)] == 34
    # an unbalanced report (validation bypassed) gives the arithmetic findings too
    broken = dataclasses.replace(now, facts=dataclasses.replace(now.facts, requests={
        **now.facts.requests, ("total",): (0,) * 7}))
    rules_found = {f.rule for _, f in checker.unit_findings([last, broken], states, spec)}
    assert {"annual.outcome-total", "annual.balance"} <= rules_found


def test_a_second_report_of_the_same_year_is_a_warning(make_tree):
    from conftest import UNIT_YAML
    from gongkai.site import scan
    valid = (ANNUAL / "valid.yaml").read_text(encoding="utf-8")
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML, "demo-county/xxgknb/a.yaml": valid,
                         "demo-county/xxgknb/b.yaml": valid.replace("2025-00001", "2025-00002")})
    site = scan(content, ROOT / "catalogs")
    assert site.ok, [str(p) for p in site.problems]
    [dup] = series.duplicates(site)
    assert (dup.path.endswith("xxgknb/b.yaml"), dup.line, dup.severity, dup.rule) == (True, 13, "warning", "annual.duplicate")
    assert "2024年 already has a report in" in dup.message and dup.message.count("a.yaml") == 1


def test_an_embargoed_report_does_not_stand_in_for_the_public_one(make_tree):
    # A corrected report dated in the future stays hidden: nothing compares against it,
    # no roll-up shows it, until its day.
    import datetime as dt

    from conftest import UNIT_YAML
    from gongkai.facts import Facts
    from gongkai.site import scan
    valid = (ANNUAL / "valid.yaml").read_text(encoding="utf-8")
    later = valid.replace("2025-00001", "2025-00002").replace("published: 2025-", "published: 2027-")
    assert later != valid.replace("2025-00001", "2025-00002")
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML, "demo-county/xxgknb/a.yaml": valid,
                         "demo-county/xxgknb/b.yaml": later})
    site = scan(content, ROOT / "catalogs")
    day = dt.date(2026, 11, 22)
    [(key, shown)] = series.reports(site, day).items()
    assert shown.source.endswith("xxgknb/a.yaml")
    assert series.duplicates(site, day) == []
    entries = series.settings(site, Facts.of(site, day))["reports"]
    assert [e["url"] for e in entries.values()] == [shown.url]
