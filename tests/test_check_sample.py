"""The checker on the shipped sample and through the command line: the planted
problems of the imperfect unit and nothing above 提示 elsewhere, check.json against
its schema and stable across runs, the reports in preview but not in publish,
FAIL_ON, and docs/checker.md against the registry."""
from __future__ import annotations

import re

import datetime as dt
import json

import jsonschema
import pytest

from conftest import AS_OF, ROOT, UNIT_YAML, build, gongkai
from gongkai import check
from gongkai.check import docs
from gongkai.facts import Facts
from gongkai.site import scan

# What shili-province has on purpose (content/shili-province, marked in the files).
PLANTED = {
    ("freshness.stale-column", "content/shili-province/qtwj/2026-zhengwu-gongkai-gongzuo-yaodian.md"),
    ("structure.empty-column", "content/shili-province/ghxx/"),
    ("interpretation.missing", "content/shili-province/gfxwj/2026-gaobiaozhun-nongtian-guanhu.md"),
    ("metadata.doc-number-form", "content/shili-province/qtwj/2014-zhengwu-gongkai-gongzuo-yijian.md"),
    ("timeliness.late-publication", "content/shili-province/xzxk/2026-tiaozheng-xingzheng-xuke-shixiang.md"),
}


@pytest.fixture(scope="module")
def report_json(sample_site):
    return json.loads((sample_site / "check/check.json").read_text(encoding="utf-8"))


def test_sample_report_lists_exactly_the_planted_problems(report_json):
    units = {u["id"]: u for u in report_json["units"]}
    assert {(f["rule"], f["path"]) for f in units["shili-province"]["findings"]} == PLANTED
    assert units["shili-province"]["score"] == 100 - 5 - 3 - 3 - 1 - 2
    for uid, unit in units.items():
        if uid != "shili-province":
            assert [f for f in unit["findings"] if f["severity"] != "notice"] == [], uid
            assert unit["verdict"] == "合格"


def test_check_json_validates_against_its_schema(report_json):
    schema = json.loads((ROOT / "docs/check.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report_json, schema, cls=jsonschema.Draft202012Validator)
    broken = json.loads(json.dumps(report_json))
    broken["units"][0]["findings"] = [{"rule": "x"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_two_runs_give_identical_json(sample_site):
    site = scan(ROOT / "content", ROOT / "catalogs")
    facts = Facts.of(site, dt.date.fromisoformat(AS_OF))
    runs = [check.run(site, facts, ROOT / "catalogs/rules.yaml", sample_site).to_json() for _ in range(2)]
    assert runs[0] == runs[1] == (sample_site / "check/check.json").read_text(encoding="utf-8")


def test_reports_are_in_the_preview_build(sample_site):
    summary = (sample_site / "check/index.html").read_text(encoding="utf-8")
    assert '<a href="../shili-province/check/index.html">示例省人民政府</a>' in summary
    assert '<table id="check-units">' in summary and 'src="../theme/js/check-sort.js"' in summary
    assert (sample_site / "theme/js/check-sort.js").is_file()
    unit = (sample_site / "shili-province/check/index.html").read_text(encoding="utf-8")
    assert "示省政办发〔2014〕36号" in unit and "GB/T 9704-2012" in unit and "86 分" in unit
    # the portal's theme, as every page of the unit reads it: no copy in the unit
    assert 'href="../../theme/css/main.css"' in unit and (sample_site / "theme/css/main.css").is_file()
    assert not (sample_site / "shili-province/theme").exists()
    assert "未发现问题" in (sample_site / "shili-city/check/index.html").read_text(encoding="utf-8")


def test_publish_leaves_the_reports_out_unless_asked(make_tree, tmp_path):
    content = make_tree({"demo/_unit.yaml": UNIT_YAML,
                         "demo/qtwj/a.md": "---\ntitle: 通知\ncolumn: qtwj\nindex_no: 11990102MB0000003X/2026-00001\n"
                                           "published: 2026-11-20\n---\n正文\n"})
    publish = ROOT / "publishconf.py"
    out = tmp_path / "pub"
    assert gongkai("html", "--content", str(content), "--output", str(out), "--settings", str(publish)).returncode == 0
    assert (out / "demo/index.html").is_file()
    assert not (out / "check").exists() and not (out / "demo/check").exists()
    asked = tmp_path / "asked.py"
    asked.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom publishconf import *\n"
                     "GK_CHECK_REPORTS = True\n", encoding="utf-8")
    out2 = tmp_path / "pub2"
    assert gongkai("html", "--content", str(content), "--output", str(out2), "--settings", str(asked)).returncode == 0
    assert (out2 / "check/check.json").is_file() and (out2 / "demo/check/index.html").is_file()


def test_a_2013_document_with_a_legacy_number_builds_and_is_a_deduction(make_tree, tmp_path):
    content = make_tree({
        "demo/_unit.yaml": UNIT_YAML,
        "demo/qtwj/2013-yijian.md": "---\ntitle: 关于加强政务公开工作的意见\ncolumn: qtwj\n"
                                    "index_no: 11990102MB0000003X/2013-00045\ndoc_number: 苏办发[2013]45号\n"
                                    "written: 2013-05-20\npublished: 2013-05-28\n---\n正文\n"})
    out = tmp_path / "out"
    built = build(content, out)
    assert built.returncode == 0, built.stderr
    page = (out / "demo/art/qtwj/2013-yijian.html").read_text(encoding="utf-8")
    assert "苏办发[2013]45号" in re.sub(r"<[^>]+>", "", page)  # published as issued (token spans aside)
    report = json.loads((out / "check/check.json").read_text(encoding="utf-8"))
    [f] = [f for f in report["units"][0]["findings"] if f["rule"] == "metadata.doc-number-form"]
    assert f["path"].endswith("demo/qtwj/2013-yijian.md") and f["line"] == 5 and f["severity"] == "deduction"
    assert "苏办发〔2013〕45号" in f["expected"]
    checked = gongkai("check", "--content", str(content))
    assert "[metadata.doc-number-form] 文号不规范: 文号 '苏办发[2013]45号' 不是标准写法 (expected: 标准写法 苏办发〔2013〕45号)" \
        in checked.stdout
    assert "error" not in checked.stderr.lower()


def test_make_check_exits_by_fail_on(make_tree):
    files = {"demo/_unit.yaml": UNIT_YAML}
    for n, col in enumerate(("xxgkzd", "jgzn", "zcjd", "ghxx", "tjxx", "zfyjs", "xxgknb", "qtwj"), 1):
        files[f"demo/{col}/a.md"] = (f"---\ntitle: 信息{n}\ncolumn: {col}\nindex_no: 11990102MB0000003X/2026-{n:05d}\n"
                                     "published: 2026-11-20\n---\n正文\n")
    content = make_tree(files)     # no 规范性文件: one empty required column, a deduction
    ok = gongkai("check", "--content", str(content))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok: 1 units, 8 items, no errors (as of 2026-11-22)\n")
    assert "demo (测试县人民政府, 县级人民政府): 95 分（扣分 1）" in ok.stdout
    assert "content/demo/gfxwj/: 扣分 -5 [structure.empty-column]" in ok.stdout
    assert ok.stdout.rstrip().endswith("check: 0 finding(s) at or above veto (FAIL_ON=veto): passed")
    strict = gongkai("check", "--content", str(content), "--fail-on", "deduction")
    assert strict.returncode == 1 and "1 finding(s) at or above deduction" in strict.stdout
    stale = gongkai("check", "--content", str(content), env={"BUILD_DATE": "2026-12-31"})
    assert stale.returncode == 1 and "[freshness.home-stale]" in stale.stdout


def test_checker_doc_lists_every_rule_from_the_registry():
    text = (ROOT / "docs/checker.md").read_text(encoding="utf-8")
    rules = check.load_rules(ROOT / "catalogs/rules.yaml")
    assert docs.rewrite(text, rules) == text, "docs/checker.md is stale: run python -m gongkai.check.docs"
    for rule_id in rules:
        assert f"| `{rule_id}` |" in text
