"""The checker's rules, each with a failing and a passing inline fixture tree.

No Pelican build here: the content is scanned, the build's facts computed, and the
rules run over them (the link rule over a small hand-written output tree)."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ROOT, write_tree
from gongkai import check
from gongkai.spool import UnitItems
from gongkai.check.metadata import standard_doc_number
from gongkai.check.privacy import is_id_number, personal_numbers
from gongkai.errors import ContentError
from gongkai.facts import Facts
from gongkai.site import scan

DAY = dt.date(2026, 11, 22)
ORG = "11990102MB0000003X"
UNIT = f"""\
name: 测试县人民政府
level: county
org_code: '{ORG}'
guide:
  office: 测试县人民政府办公室
  address: 测试县人民路1号
  hours: 工作日 9:00-17:00
  phone: 0510-00000000
"""
DEPT = UNIT.replace("测试县人民政府", "测试县财政局").replace("level: county", "level: department") \
    .replace(ORG, "11990102MB00000054")
ID_NUMBER = "11010519491231002X"      # the GB 11643 example: valid birth date and check digit


@pytest.fixture
def make_tree(tmp_path):
    """Like conftest's, but each call writes a fresh tree (fixtures here differ by dropped files)."""
    counter = itertools.count()

    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path / f"t{next(counter)}" / "content", files)

    return make


def item(title: str, column: str, n: int, published: str = "2026-11-20", extra: str = "", body: str = "正文。",
         year: int | None = None, org: str = ORG) -> str:
    year = year or int(published[:4])
    return (f"---\ntitle: {title}\ncolumn: {column}\nindex_no: {org}/{year}-{n:05d}\npublished: {published}\n"
            f"{extra}---\n{body}\n")


POLICY = "doc_number: 测政发〔2026〕1号\ntopic: 综合政务\\政务公开\nwritten: 2026-11-18\nkeywords: [考核]\n"
READING = f"type: interpretation\ninterprets: {ORG}/2026-00003\nform: 文字\n"


def full(**changes: str | None) -> dict[str, str]:
    """A county whose column passes every rule on DAY; ``changes`` replace (or, with None, drop) files."""
    files = {
        "demo/_unit.yaml": UNIT,
        "demo/xxgkzd/zd.md": item("政府信息公开制度", "xxgkzd", 1),
        "demo/jgzn/jg.md": item("机构职能", "jgzn", 2),
        "demo/gfxwj/p.md": item("测试县政府信息公开考核办法", "gfxwj", 3, extra=POLICY),
        "demo/zcjd/jd.md": item("考核办法解读", "zcjd", 4, extra=READING),
        "demo/ghxx/gh.md": item("十五五规划纲要", "ghxx", 5),
        "demo/tjxx/tj.md": item("统计公报", "tjxx", 6),
        "demo/zfyjs/ys.md": item("2026年预算公开", "zfyjs", 7),
        "demo/xxgknb/nb.md": item("测试县人民政府2025年政府信息公开工作年度报告", "xxgknb", 8, "2026-01-20"),
    }
    for rel, text in changes.items():
        path = f"demo/{rel}"
        if text is None:
            files.pop(path)
        else:
            files[path] = text
    return files


def run(content: Path, day: dt.date = DAY, rules: Path | None = None, output: Path | None = None,
        mutate=None) -> check.Report:
    site = scan(content, ROOT / "catalogs")
    assert site.ok, [str(p) for p in site.problems]
    if mutate:
        site.items = UnitItems.of_items(mutate(i) for i in site.items)
    return check.run(site, Facts.of(site, day), rules or ROOT / "catalogs" / "rules.yaml", output)


def found(report: check.Report, rule_id: str) -> list[check.Finding]:
    return [f for f in report.findings() if f.rule == rule_id]


def tightened(tmp_path: Path, old: str, new: str) -> Path:
    """catalogs/rules.yaml with one threshold changed, as a province would edit it."""
    text = (ROOT / "catalogs" / "rules.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_full_county_has_no_finding(make_tree):
    report = run(make_tree(full()), output=None)
    assert report.findings() == []
    assert report.units[0].score == 100 and report.units[0].verdict == "合格"


# --- structure -------------------------------------------------------------------

def test_standard_columns(make_tree, tmp_path):
    assert found(run(make_tree(full())), "structure.standard-columns") == []
    cats = tmp_path / "catalogs"
    shutil.copytree(ROOT / "catalogs", cats)
    columns = (cats / "columns.yaml").read_text(encoding="utf-8")
    cut = columns.index("    - id: xxgknb")
    (cats / "columns.yaml").write_text(columns[:cut], encoding="utf-8")
    site = scan(make_tree(full(**{"xxgknb/nb.md": None})), cats)
    assert site.ok, [str(p) for p in site.problems]
    report = check.run(site, Facts.of(site, DAY), ROOT / "catalogs" / "rules.yaml")
    [f] = found(report, "structure.standard-columns")
    assert f.column == "xxgknb" and f.path == "catalogs/columns.yaml" and f.severity == "deduction"


def test_column_level(make_tree):
    content = make_tree(full())
    assert found(run(content), "structure.column-level") == []
    # The validator refuses such a file; an item moved by a catalog change is what this catches.
    report = run(content, mutate=lambda i: replace(i, column="nync") if i.slug == "tjxx/tj" else i)
    [f] = found(report, "structure.column-level")
    assert f.path.endswith("demo/tjxx/tj.md") and "nync" in f.found


def test_empty_column_each_is_a_deduction(make_tree):
    assert found(run(make_tree(full())), "structure.empty-column") == []
    report = run(make_tree(full(**{"ghxx/gh.md": None})))
    [f] = found(report, "structure.empty-column")
    assert f.column == "ghxx" and f.path.endswith("content/demo/ghxx/") and f.points == 5
    assert found(report, "structure.empty-columns-veto") == []
    assert report.units[0].score == 95


def test_five_empty_columns_are_a_veto(make_tree):
    content = make_tree(full(**{k: None for k in ("ghxx/gh.md", "tjxx/tj.md", "zfyjs/ys.md", "jgzn/jg.md")}))
    assert found(run(content), "structure.empty-columns-veto") == []       # four
    content = make_tree(full(**{k: None for k in ("ghxx/gh.md", "tjxx/tj.md", "zfyjs/ys.md", "jgzn/jg.md",
                                                  "xxgkzd/zd.md")}))
    report = run(content)
    [f] = found(report, "structure.empty-columns-veto")
    assert f.severity == "veto" and "5" in f.found and report.units[0].verdict == "不合格"
    assert report.units[0].score is None


def test_a_retired_item_leaves_its_column_empty(make_tree):
    report = run(make_tree(full(**{"ghxx/gh.md": item("旧规划", "ghxx", 5, extra="validity: 失效\n")})))
    assert [f.column for f in found(report, "structure.empty-column")] == ["ghxx"]


# --- freshness -------------------------------------------------------------------

def test_stale_column(make_tree):
    stale = {"gfxwj/p.md": item("考核办法", "gfxwj", 3, "2026-03-02",
                                POLICY.replace("2026-11-18", "2026-02-27")),
             "zcjd/jd.md": item("考核办法解读", "zcjd", 4, "2026-03-03", READING)}
    report = run(make_tree(full(**stale)))
    [f] = found(report, "freshness.stale-column")
    assert f.column == "gfxwj" and f.path.endswith("demo/gfxwj/p.md") and "2026-03-02" in f.found
    # The day the column became stale (2026-03-02 + 6 months is not yet later), not the as-of date.
    assert f.expected == "6 个月内有更新（2026-09-03 起即超期）"
    later = found(run(make_tree(full(**stale)), day=DAY + dt.timedelta(days=40)), "freshness.stale-column")
    assert [g.expected for g in later] == [f.expected]


def test_stale_column_turns_on_the_day_it_prints(make_tree):
    stale = {"gfxwj/p.md": item("考核办法", "gfxwj", 3, "2026-03-02",
                                POLICY.replace("2026-11-18", "2026-02-27")),
             "zcjd/jd.md": item("考核办法解读", "zcjd", 4, "2026-03-03", READING)}
    content = make_tree(full(**stale))
    assert found(run(content, day=dt.date(2026, 9, 2)), "freshness.stale-column") == []
    [f] = found(run(content, day=dt.date(2026, 9, 3)), "freshness.stale-column")
    assert "2026-09-03 起即超期" in f.expected


def test_stale_columns_veto_threshold_comes_from_the_catalog(make_tree, tmp_path):
    stale = {"gfxwj/p.md": item("考核办法", "gfxwj", 3, "2026-03-02",
                                POLICY.replace("2026-11-18", "2026-02-27")),
             "zcjd/jd.md": item("考核办法解读", "zcjd", 4, "2026-03-03", READING),
             "qtwj/q.md": item("其他文件", "qtwj", 9, "2026-01-05")}
    content = make_tree(full(**stale))
    assert found(run(content), "freshness.stale-columns-veto") == []       # 2 < 5
    rules = tightened(tmp_path, "priority_count: 5", "priority_count: 2")
    [f] = found(run(content, rules=rules), "freshness.stale-columns-veto")
    assert f.severity == "veto" and "gfxwj" in f.found and "qtwj" in f.found


def test_home_not_updated_in_two_weeks_is_a_veto(make_tree):
    content = make_tree(full())
    assert found(run(content, day=dt.date(2026, 12, 4)), "freshness.home-stale") == []
    [f] = found(run(content, day=dt.date(2026, 12, 5)), "freshness.home-stale")
    assert f.severity == "veto" and f.path.endswith("content/demo/") and "2026-11-20" in f.found
    # The day it became stale, the same on every later day (the finding is kept across dates).
    assert f.expected == "14 天内有新信息（2026-12-05 起即超期）"
    [g] = found(run(content, day=dt.date(2027, 1, 9)), "freshness.home-stale")
    assert g == f


# --- timeliness ------------------------------------------------------------------

def test_late_publication_counts_official_working_days(make_tree):
    # 2026-09-28 .. 2026-10-30: the 国庆 holiday (10-01..10-07, 调休 09-27 and 10-10) is not counted.
    on_time = item("通知", "qtwj", 9, "2026-10-26", "written: 2026-09-28\n")
    assert found(run(make_tree(full(**{"qtwj/q.md": on_time}))), "timeliness.late-publication") == []
    late = item("通知", "qtwj", 9, "2026-11-20", "written: 2026-09-01\nformed: 2026-09-10\n")
    [f] = found(run(make_tree(full(**{"qtwj/q.md": late}))), "timeliness.late-publication")
    assert f.path.endswith("demo/qtwj/q.md") and f.line == 7 and "信息形成日期 2026-09-10" in f.found
    assert "个工作日" in f.found and f.expected == "不超过 20 个工作日"


# --- fiscal ----------------------------------------------------------------------

def test_fiscal_publication_within_twenty_days_of_approval(make_tree):
    ok = item("2026年预算公开", "zfyjs", 7, "2026-11-20", "approved: 2026-10-31\n")
    assert found(run(make_tree(full(**{"zfyjs/ys.md": ok}))), "fiscal.late") == []
    late = item("2026年预算公开", "zfyjs", 7, "2026-11-20", "approved: 2026-10-30\n")
    [f] = found(run(make_tree(full(**{"zfyjs/ys.md": late}))), "fiscal.late")
    assert f.path.endswith("demo/zfyjs/ys.md") and "2026-11-19" in f.found and "晚 1 天" in f.found


def test_final_accounts_publish_the_nine_tables(make_tree, cats):
    tables = cats.fiscal["standard_tables"]["部门决算"]
    base = {"dept/_unit.yaml": DEPT}
    org = "11990102MB00000054"
    partial = item("测试县财政局2025年部门决算", "bmyjs", 1, body="、".join(tables[:7]), org=org)
    report = run(make_tree({**base, "dept/bmyjs/js.md": partial}))
    [f] = found(report, "fiscal.final-account-tables")
    assert f.path.endswith("dept/bmyjs/js.md") and tables[7] in f.found and tables[8] in f.found
    complete = item("测试县财政局2025年部门决算", "bmyjs", 1, body="\n".join(tables), org=org)
    assert found(run(make_tree({**base, "dept/bmyjs/js.md": complete})), "fiscal.final-account-tables") == []


# --- annual ----------------------------------------------------------------------

def test_both_annual_report_rules_read_one_working_out_a_unit(monkeypatch):
    """annual.arithmetic and annual.consistency take their findings from one call of
    ``annual.checker.unit_findings`` a unit (it was made once for each rule)."""
    from gongkai.annual import checker

    calls: list[int] = []
    real = checker.unit_findings

    def counting(items, states, spec):
        calls.append(1)
        return real(items, states, spec)

    monkeypatch.setattr(checker, "unit_findings", counting)
    report = run(ROOT / "content")
    assert len(calls) == len(report.units) > 1
    warnings = [f for f in report.findings() if f.rule == "annual.consistency"]
    assert warnings and all("年年报" in f.found for f in warnings)


def test_annual_matter_has_an_item_every_year(make_tree):
    tagged = "catalog_item: czyjs-zfys-ybggys\n"
    gap = {"zfyjs/y24.md": item("2024年预算", "zfyjs", 20, "2024-02-01", tagged),
           "zfyjs/ys.md": item("2026年预算", "zfyjs", 7, "2026-02-01", tagged)}
    [f] = found(run(make_tree(full(**gap))), "annual.matter-yearly")
    assert "2025年度" in f.found and "czyjs-zfys-ybggys" in f.found and f.path.endswith("content/demo/zfyjs/")
    every = {**gap, "zfyjs/y25.md": item("2025年预算", "zfyjs", 21, "2025-02-01", tagged)}
    assert found(run(make_tree(full(**every))), "annual.matter-yearly") == []


def test_annual_report_present_and_on_time(make_tree):
    older = {"xxgkzd/zd.md": item("政府信息公开制度", "xxgkzd", 1, "2025-06-02")}
    [f] = found(run(make_tree(full(**older, **{"xxgknb/nb.md": None}))), "annual.report")
    assert "2025" in f.found and f.path.endswith("content/demo/xxgknb/")
    # A unit whose column started after the due date is not asked for that year's report.
    assert found(run(make_tree(full(**{"xxgknb/nb.md": None}))), "annual.report") == []
    late = item("测试县人民政府2025年政府信息公开工作年度报告", "xxgknb", 8, "2026-04-01")
    [f] = found(run(make_tree(full(**older, **{"xxgknb/nb.md": late}))), "annual.report")
    assert f.path.endswith("demo/xxgknb/nb.md") and "2026-03-31" in f.found
    # Before 3月31日 the year before is what must be online.
    assert found(run(make_tree(full()), day=dt.date(2027, 3, 30)), "annual.report") == []


def test_department_annual_report_due_on_january_31(make_tree):
    org = "11990102MB00000054"
    base = {"dept/_unit.yaml": DEPT, "dept/jgzn/jg.md": item("机构职能", "jgzn", 1, "2025-06-01", org=org)}
    late = item("测试县财政局2025年政府信息公开工作年度报告", "xxgknb", 2, "2026-02-02", org=org)
    [f] = found(run(make_tree({**base, "dept/xxgknb/nb.md": late})), "annual.report")
    assert "2026-01-31" in f.found and f.path.endswith("dept/xxgknb/nb.md")
    ok = item("测试县财政局2025年政府信息公开工作年度报告", "xxgknb", 2, "2026-01-30", org=org)
    assert found(run(make_tree({**base, "dept/xxgknb/nb.md": ok})), "annual.report") == []


# --- interpretation --------------------------------------------------------------

def test_policy_without_interpretation(make_tree):
    [f] = found(run(make_tree(full(**{"zcjd/jd.md": None}))), "interpretation.missing")
    assert f.path.endswith("demo/gfxwj/p.md") and "没有政策解读" in f.found and f"{ORG}/2026-00003" in f.fix
    # A retired policy is history: not reported.
    retired = item("考核办法", "gfxwj", 3, extra=POLICY + "validity: 废止\n")
    assert found(run(make_tree(full(**{"zcjd/jd.md": None, "gfxwj/p.md": retired}))), "interpretation.missing") == []


def test_interpretation_within_the_columns_working_days(make_tree):
    policy = item("考核办法", "gfxwj", 3, "2026-11-10", POLICY.replace("2026-11-18", "2026-11-09"))
    ok = item("考核办法解读", "zcjd", 4, "2026-11-13", READING)
    assert found(run(make_tree(full(**{"gfxwj/p.md": policy, "zcjd/jd.md": ok}))), "interpretation.late") == []
    late = item("考核办法解读", "zcjd", 4, "2026-11-20", READING)
    [f] = found(run(make_tree(full(**{"gfxwj/p.md": policy, "zcjd/jd.md": late}))), "interpretation.late")
    assert f.path.endswith("demo/zcjd/jd.md") and "8 个工作日" in f.found


# --- metadata --------------------------------------------------------------------

def test_normative_document_metadata(make_tree):
    bare = item("考核办法", "gfxwj", 3, extra="doc_number: 测政发〔2026〕1号\n")
    [f] = found(run(make_tree(full(**{"gfxwj/p.md": bare}))), "metadata.required")
    assert f.path.endswith("demo/gfxwj/p.md")
    assert "主题分类 (topic)" in f.found and "成文日期 (written)" in f.found and "关键词 (keywords)" in f.found


@pytest.mark.parametrize("raw, standard", [
    ("苏办发[2013]45号", "苏办发〔2013〕45号"), ("示政发(2013)5号", "示政发〔2013〕5号"),
    ("示政发（2013）5号", "示政发〔2013〕5号"), ("示政发【2013】5号", "示政发〔2013〕5号"),
    ("示政发〔2013〕第5号", "示政发〔2013〕5号"), ("示政发〔2013〕05号", "示政发〔2013〕5号"),
    ("示政發〔2013〕5號", "示政發〔2013〕5号"), ("示政发[2013]第005號", "示政发〔2013〕5号"),
])
def test_standard_doc_number(raw, standard):
    assert standard_doc_number(raw) == standard


def test_legacy_doc_number_builds_and_is_a_deduction(make_tree):
    legacy = item("关于加强政务公开的意见", "qtwj", 9, "2013-06-05", "doc_number: 苏办发[2013]45号\n")
    standard = item("关于加强政务公开的意见", "qtwj", 9, "2013-06-05", "doc_number: 苏办发〔2013〕45号\n")
    assert found(run(make_tree(full(**{"qtwj/q.md": standard}))), "metadata.doc-number-form") == []
    [f] = found(run(make_tree(full(**{"qtwj/q.md": legacy}))), "metadata.doc-number-form")
    assert f.path.endswith("demo/qtwj/q.md") and f.line == 6 and f.severity == "deduction"
    assert "苏办发[2013]45号" in f.found and "苏办发〔2013〕45号" in f.expected and "苏办发〔2013〕45号" in f.fix


def test_old_normative_document_without_end_date_is_a_notice(make_tree):
    old = {"gfxwj/old.md": item("旧办法", "gfxwj", 30, "2020-03-02", POLICY.replace("2026-11-18", "2020-02-28")
                                .replace("〔2026〕1号", "〔2020〕2号")),
           "zcjd/old.md": item("旧办法解读", "zcjd", 31, "2020-03-03", READING.replace("2026-00003", "2020-00030"))}
    [f] = found(run(make_tree(full(**old))), "metadata.review-old")
    assert f.severity == "notice" and f.path.endswith("demo/gfxwj/old.md")
    old["gfxwj/old.md"] = old["gfxwj/old.md"].replace("published:", "valid_until: 2027-12-31\npublished:")
    assert found(run(make_tree(full(**old))), "metadata.review-old") == []


# --- privacy ---------------------------------------------------------------------

def test_id_number_checksum_and_birth_date():
    assert is_id_number(ID_NUMBER)
    assert not is_id_number("110105194912310021")          # wrong check digit
    assert not is_id_number("110105194913310025")          # no 13th month
    assert personal_numbers(f"身份证 {ID_NUMBER} 电话 13912345678") == [("身份证号", "110105********002X"),
                                                                      ("手机号", "139****5678")]
    assert personal_numbers("身份证 110105********002X 电话 139****5678") == []
    assert personal_numbers(f"统一社会信用代码 {ID_NUMBER}", not_ids=[ID_NUMBER]) == []


def test_personal_data_in_body_and_qa_is_a_veto(make_tree):
    masked = item("低保公示", "qtwj", 9, body="张某，身份证 110105********002X，电话 139****5678。")
    assert found(run(make_tree(full(**{"qtwj/q.md": masked}))), "privacy.personal-info") == []
    clear = item("低保公示", "qtwj", 9, body=f"说明。\n\n张某，身份证 {ID_NUMBER}。")
    report = run(make_tree(full(**{"qtwj/q.md": clear})))
    [f] = found(report, "privacy.personal-info")
    assert f.path.endswith("demo/qtwj/q.md") and f.line == 9 and f.severity == "veto"
    assert ID_NUMBER not in f.found and "110105********002X" in f.found        # the report never repeats it
    qa = item("问答", "zcjd", 10, extra=READING + "qa:\n  - q: 怎么联系？\n    a: 请拨打 13912345678\n")
    [f] = found(run(make_tree(full(**{"zcjd/qa.md": qa}))), "privacy.personal-info")
    assert f.path.endswith("demo/zcjd/qa.md") and f.line == 11 and "139****5678" in f.found


def test_the_checker_reads_bodies_only_of_items_with_a_run_of_11_digits(make_tree, monkeypatch):
    """The slim items of the scan say whether their body or 问答 hold a run of 11 digits (the
    least a 身份证号 or mobile number needs); the 个人信息 rule loads the unit's bodies from
    the spool only when one does, and then still finds the number."""
    from gongkai.site import Site
    loaded = []
    real = Site.full_items
    monkeypatch.setattr(Site, "full_items", lambda self, uid: loaded.append(uid) or real(self, uid))
    plain = item("通知", "qtwj", 9, body="说明。\n\n电话 0510-8888888，编号 2026-0001。")
    assert found(run(make_tree(full(**{"qtwj/q.md": plain}))), "privacy.personal-info") == [] and loaded == []
    qa = item("问答", "zcjd", 10, extra=READING + "qa:\n  - q: 怎么联系？\n    a: 请拨打 13912345678\n")
    [f] = found(run(make_tree(full(**{"qtwj/q.md": plain, "zcjd/qa.md": qa}))), "privacy.personal-info")
    assert "139****5678" in f.found and loaded == ["demo"]


def test_own_org_code_and_index_numbers_are_not_ids(make_tree):
    unit = UNIT.replace(ORG, "113202820140463178")
    body = "统一社会信用代码 113202820140463178，索引号 113202820140463178/2026-00009。"
    files = {"demo/_unit.yaml": unit,
             "demo/qtwj/q.md": item("通知", "qtwj", 9, body=body, org="113202820140463178")}
    assert found(run(make_tree(files)), "privacy.personal-info") == []


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text (Helvetica), enough for pypdf to extract."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _docx(text: str) -> bytes:
    import docx
    document = docx.Document()
    document.add_paragraph("名单")
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _xlsx(text: str) -> bytes:
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    sheet.append(["姓名", "电话"])
    sheet.append(["张某", text])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name, data, place", [
    ("list.txt", f"名单\n\n张某 {ID_NUMBER}\n".encode(), 3),
    ("list.csv", f"姓名,电话\n张某,13912345678\n".encode("gb18030"), 2),
    ("list.docx", _docx("张某 13912345678"), 2),
    ("list.xlsx", _xlsx("13912345678"), 2),
    ("list.pdf", _minimal_pdf("Tel 13912345678"), 1),
])
def test_personal_data_in_attachments_names_file_and_place(make_tree, name, data, place):
    files = full(**{"qtwj/q.md": item("名单公示", "qtwj", 9, extra=f"attachments: [{name}]\n")})
    content = make_tree(files)
    (content / "demo/qtwj" / name).write_bytes(data)
    [f] = found(run(content), "privacy.personal-info")
    assert f.path.endswith(f"demo/qtwj/{name}") and f.line == place, f
    assert ("页" in f.found) == name.endswith(".pdf")
    masked = data.replace(b"13912345678", b"139****5678").replace(ID_NUMBER.encode(), b"110105********002X")
    if name.endswith((".docx", ".xlsx")):
        masked = (_docx if name.endswith(".docx") else _xlsx)("139****5678")
    (content / "demo/qtwj" / name).write_bytes(masked)
    assert found(run(content), "privacy.personal-info") == []


def test_unreadable_or_oversized_attachment_is_a_notice(make_tree, tmp_path):
    files = full(**{"qtwj/q.md": item("名单", "qtwj", 9, extra="attachments: [a.docx, b.txt]\n")})
    content = make_tree(files)
    (content / "demo/qtwj/a.docx").write_bytes(b"not a zip file")
    (content / "demo/qtwj/b.txt").write_bytes(b"x" * 200)
    assert [f.path.rsplit("/", 1)[1] for f in found(run(content), "privacy.attachment-unread")] == ["a.docx"]
    rules = tightened(tmp_path, "max_bytes: 20000000", "max_bytes: 100")
    unread = found(run(content, rules=rules), "privacy.attachment-unread")
    assert sorted(f.path.rsplit("/", 1)[1] for f in unread) == ["a.docx", "b.txt"]
    assert any("max_bytes" in f.found for f in unread)


def test_publicity_needs_an_end(make_tree):
    open_ended = "---\ntitle: 拟提拔干部任前公示\ncolumn: gsgg\ntype: notice\npublished: 2026-11-20\n---\n正文。\n"
    [f] = found(run(make_tree(full(**{"gsgg/gs.md": open_ended}))), "privacy.publicity-until")
    assert f.path.endswith("demo/gsgg/gs.md") and f.severity == "deduction"
    ended = open_ended.replace("published:", "publicity_until: 2026-11-27\npublished:")
    assert found(run(make_tree(full(**{"gsgg/gs.md": ended}))), "privacy.publicity-until") == []


# --- links -----------------------------------------------------------------------

def test_internal_links_and_anchors_resolve(make_tree, tmp_path):
    out = tmp_path / "built"
    (out / "demo/art").mkdir(parents=True)
    (out / "other").mkdir()
    (out / "other/index.html").write_text('<h1 id="top-of-other">x</h1>', encoding="utf-8")
    (out / "demo/art/a.html").write_text('<h2 id="q1">问</h2><a href="#q1">self</a>', encoding="utf-8")
    (out / "demo/art/b.html").write_text('<p>\n<a href="#q1">not on this page</a>', encoding="utf-8")
    (out / "demo/index.html").write_text(
        '<a href="art/a.html">ok</a>\n<a href="art/a.html#q1">ok</a>\n<a href="../other/#top-of-other">ok</a>\n'
        '<a href="https://www.gov.cn/">ext</a> <a href="mailto:gk@example.gov.cn">mail</a>\n'
        '<a href="art/missing.html">bad</a>\n<a href="art/a.html#q2">bad anchor</a>\n', encoding="utf-8")
    report = run(make_tree(full()), output=out)
    bad = found(report, "links.internal")
    assert [(f.path, f.line) for f in bad] == [("output/demo/art/b.html", 2), ("output/demo/index.html", 5),
                                               ("output/demo/index.html", 6)]
    assert "#q1" in bad[0].found and "art/missing.html" in bad[1].found and "#q2" in bad[2].found
    assert report.units[0].external_links == {"https://www.gov.cn/": ["demo/index.html"]}
    (out / "demo/index.html").write_text('<a href="art/a.html#q1">ok</a>', encoding="utf-8")
    (out / "demo/art/b.html").write_text('<a href="a.html#q1">ok</a>', encoding="utf-8")
    assert found(run(make_tree(full()), output=out), "links.internal") == []


# --- the engine and the catalog --------------------------------------------------

def test_every_declared_rule_is_in_the_catalog_and_the_reverse():
    rules = check.load_rules(ROOT / "catalogs" / "rules.yaml")
    assert sorted(rules) == sorted(check.SPECS)
    assert {r.split(".")[0] for r in rules} >= {"structure", "freshness", "timeliness", "fiscal", "annual",
                                               "interpretation", "metadata", "privacy", "links"}


@pytest.mark.parametrize("old, new, message", [
    ("    severity: veto\n    source: 国办秘函〔2019〕19号 单项否决：网站首页", "    severity: fatal\n    source: 国办秘函〔2019〕19号 单项否决：网站首页",
     "severity: expected one of veto, deduction, notice, got 'fatal'"),
    ("      days: 14", "      days: two weeks", "thresholds.days: expected a whole number, got 'two weeks'"),
    ("      days: 14", "      days: 14\n      hours: 3", "thresholds.hours: not read by this rule (expected: days)"),
])
def test_a_broken_rules_catalog_names_file_line_and_key(tmp_path, old, new, message):
    path = tightened(tmp_path, old, new)
    with pytest.raises(ContentError) as err:
        check.load_rules(path)
    [problem] = err.value.problems
    assert problem.path == str(path) and problem.line and message in str(problem)


def test_fail_on_levels(make_tree):
    report = run(make_tree(full(**{"ghxx/gh.md": None})))
    assert report.failing("veto") == [] and len(report.failing("deduction")) == 1
    assert len(report.failing("notice")) == 1
