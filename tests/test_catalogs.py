"""The catalogs are the one source of truth for columns and vocabularies."""
import re
import textwrap

import pytest

from conftest import ROOT
from gongkai import catalogs as catalogs_mod
from gongkai.catalogs import LEVELS
from gongkai.errors import ContentError

# DESIGN §5: core column ids and the levels they apply to.
CORE = {
    "zfxxgk": LEVELS, "xxgkzn": LEVELS, "xxgkzd": LEVELS, "fdzdgknr": LEVELS, "jgzn": LEVELS,
    "gz": ("province", "city"), "gfxwj": LEVELS, "qtwj": LEVELS, "zcjd": LEVELS, "ghxx": LEVELS,
    "tjxx": LEVELS, "xzxk": LEVELS, "xzcf": LEVELS, "zfyjs": ("province", "city", "county", "township"),
    "bmyjs": LEVELS, "sgjf": LEVELS, "xzsyxsf": LEVELS, "zfcg": LEVELS, "zdjsxm": LEVELS, "shgysy": LEVELS,
    "tfsj": LEVELS, "jdjc": LEVELS, "gwyzk": LEVELS, "gsgg": LEVELS, "shjz": ("city", "county", "township"),
    "tdzs": ("city", "county", "township"), "fwzs": ("city", "county"), "nync": ("township",),
    "fzhsx": LEVELS, "xxgknb": LEVELS,
    "zcwd": LEVELS,  # added by gongkai: 政策问答, built from interpretations
}


@pytest.mark.parametrize("level", LEVELS)
def test_tree_for_each_level_has_exactly_the_core_columns(cats, level):
    ids = {c.id for c in cats.tree_for(level).walk()}
    assert ids == {cid for cid, levels in CORE.items() if level in levels}


def test_root_has_the_four_standard_sub_columns(cats):
    assert [c.name for c in cats.root.children] == ["政府信息公开指南", "政府信息公开制度", "法定主动公开内容", "政府信息公开年报"]
    assert cats.path_to("gfxwj")[-2].id == "fdzdgknr"


def test_every_column_has_a_name_basis_and_sane_rules(cats):
    for col in cats.root.walk():
        assert col.name and col.basis, col.id
        assert col.required <= col.levels
    assert cats.by_id["gfxwj"].requires == ("doc_number",)
    assert cats.by_id["gfxwj"].freshness_months == 6
    assert "township" not in cats.by_id["gfxwj"].required


def test_vocabularies(cats):
    topics = cats.vocab["topics"]
    tops = [v for v in topics.values if "\\" not in v]
    assert len(tops) == 22 and tops[0] == "国务院组织机构" and tops[-1] == "其他"
    assert list(cats.vocab["genres"].values) == ["决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知", "通报",
                                                 "报告", "请示", "批复", "议案", "函", "纪要", "其他"]
    assert cats.vocab["validity"].values[0] == "有效"
    assert "政府网站" in cats.vocab["channels"]
    assert cats.vocab["types"].name("sangong") == "“三公”经费"


def test_domain_catalogs_have_machine_readable_deadlines(cats):
    assert {"czyjs", "shjz", "zdjsxm"} <= set(cats.domains)
    for item in cats.domain_items.values():
        d = item.deadline
        assert ("by" in d) or (d["unit"] in ("days", "workdays") and d["within"] > 0), item.id
        assert cats.by_id[item.column].is_leaf
    budget = [i for i in cats.domains["czyjs"]["items"] if i.column == "zfyjs"]
    assert any(i.deadline == {"within": 20, "unit": "days", "from": "approved"} for i in budget)


def test_every_field_has_a_chinese_label(cats):
    from gongkai.schema import DATA_FIELDS, FIELDS
    for key in list(FIELDS) + list(DATA_FIELDS):
        assert re.search(r"[\u4e00-\u9fff]", cats.item_labels.get(key, "")), key


def test_templates_hard_code_no_column(cats):
    """Column structure lives in catalogs/columns.yaml only."""
    ids = {c.id for c in cats.root.walk()} - {"gz"}  # 'gz' is too short to grep for
    names = {c.name for c in cats.root.walk() if len(c.name) > 3}
    for path in (ROOT / "theme" / "templates").glob("*"):
        text = path.read_text(encoding="utf-8")
        for cid in ids:
            assert not re.search(rf"['\"/]{cid}['\"/]", text), f"{path.name} hard-codes column {cid}"
        for name in names - {cats.root.name}:
            assert name not in text, f"{path.name} hard-codes column name {name}"


def write_catalogs(tmp_path, columns: str):
    real = ROOT / "catalogs"
    target = tmp_path / "catalogs"
    for sub in ("vocab", "domains"):
        (target / sub).mkdir(parents=True)
        for f in (real / sub).glob("*.yaml"):
            (target / sub / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (target / "fields.yaml").write_text((real / "fields.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (target / "columns.yaml").write_text(textwrap.dedent(columns), encoding="utf-8")
    return target


def test_bad_column_tree_is_reported_with_lines(tmp_path):
    target = write_catalogs(tmp_path, """\
        levels: {province: 省, city: 市, county: 县, township: 乡, department: 部门}
        tree:
          id: zfxxgk
          name: 政府信息公开
          children:
            - id: Bad-Id
              name: 坏
              levels: [village]
            - id: jgzn
              name: 机构职能
              required: [province]
              levels: [city]
              freshness: 6
        """)
    with pytest.raises(ContentError) as err:
        catalogs_mod.load(str(target))
    text = str(err.value)
    assert "columns.yaml:6: id: expected an ASCII id [a-z0-9]+, got 'Bad-Id'" in text
    assert "columns.yaml:8: levels: expected 'all' or levels from province, city, county, township, department, got ['village']" in text
    assert "columns.yaml:11: required: required levels must be among the column's levels" in text
    assert "columns.yaml:13: freshness: expected {months: N}, got '6'" in text
    # the domain catalogs point at columns this tree no longer has
    assert "unknown leaf column 'zfyjs'" in text
