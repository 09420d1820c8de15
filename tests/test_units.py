"""_unit.yaml fields and the unit tree."""
import pytest
from conftest import UNIT_YAML
from gongkai.units import load_units


def messages(problems):
    return [f"{p.path.split('content/')[-1]}:{p.line}: {p.field}: {p.message}" for p in problems]


def test_unit_fields_are_read_by_schema(make_tree, cats):
    content = make_tree({"a/_unit.yaml": UNIT_YAML.replace("'11990102MB0000003X'", "014046317")})
    units, problems = load_units(content, cats)
    assert problems == []
    assert units["a"].org_code == "014046317"  # not the octal number 3170511
    assert units["a"].index_re.match("014046317/2024-00001")


def test_unit_errors_name_line_and_field(make_tree, cats):
    text = UNIT_YAML.replace("level: county", "level: village\ncolour: red").replace("  phone: 0510-00000000\n", "")
    content = make_tree({"a/_unit.yaml": text})
    _, problems = load_units(content, cats)
    assert messages(problems) == [
        "a/_unit.yaml:3: colour: unknown field; expected one of name, short_name, level, parent, org_code, "
        "site_code, index_pattern, issuer, guide, issuers, footer",
        "a/_unit.yaml:2: level: expected one of province, city, county, township, department, got 'village'",
        "a/_unit.yaml:5: guide.phone: required field is missing",
    ]


def test_missing_unit_file_and_bad_folder_name(make_tree, cats):
    content = make_tree({"a/x.md": "---\n---\n", "Bad_Name/_unit.yaml": UNIT_YAML})
    _, problems = load_units(content, cats)
    assert [p.message.split(":")[0] for p in problems] == [
        "unit folder name 'Bad_Name' is not a unit id (expected [a-z0-9-]+)", "missing _unit.yaml"]


def test_unknown_parent_and_cycle(make_tree, cats):
    content = make_tree({
        "a/_unit.yaml": UNIT_YAML + "parent: b\n",
        "b/_unit.yaml": UNIT_YAML + "parent: a\n",
        "c/_unit.yaml": UNIT_YAML + "parent: nowhere\n",
        "d/_unit.yaml": UNIT_YAML + "parent: c\n",
    })
    units, problems = load_units(content, cats)
    assert messages(problems) == [
        "c/_unit.yaml:9: parent: unknown unit 'nowhere'; expected one of a, b, c, d",
        "a/_unit.yaml:9: parent: the unit tree has a cycle: a -> b -> a",
    ]
    assert units["c"].children == ["d"]


def test_children_are_sorted_by_id(make_tree, cats):
    content = make_tree({"top/_unit.yaml": UNIT_YAML, "z/_unit.yaml": UNIT_YAML + "parent: top\n",
                         "m/_unit.yaml": UNIT_YAML + "parent: top\n"})
    units, _ = load_units(content, cats)
    assert units["top"].children == ["m", "z"]


def test_optional_unit_fields_written_empty_are_absent(make_tree, cats):
    content = make_tree({"u/_unit.yaml": UNIT_YAML + "short_name: ''\nsite_code:\nindex_pattern: '  '\n"})
    units, problems = load_units(content, cats)
    assert problems == []
    assert units["u"].short_name == "" and units["u"].index_pattern == ""


def test_footer_facts_and_issuer_defaults(make_tree, cats):
    text = UNIT_YAML + (
        "issuer: 测试县人民政府办公室\n"
        "issuers:\n  gfxwj: 测试县人民政府\n  sgjf/jt: 测试县交通运输局\n"
        "footer:\n  icp: 测ICP备12345678号-1\n  jiucuo_url: https://zfwzgl.www.gov.cn/exposure/jiucuo.html?site_code=1\n")
    content = make_tree({"a/_unit.yaml": text})
    units, problems = load_units(content, cats)
    assert problems == []
    unit = units["a"]
    assert unit.footer == {"icp": "测ICP备12345678号-1",
                           "jiucuo_url": "https://zfwzgl.www.gov.cn/exposure/jiucuo.html?site_code=1"}
    folder = content / "a"
    assert unit.issuer_for(folder / "gfxwj/x.md") == "测试县人民政府"
    assert unit.issuer_for(folder / "sgjf/jt/2026.yaml") == "测试县交通运输局"
    assert unit.issuer_for(folder / "sgjf/other.yaml") == "测试县人民政府办公室"
    assert unit.issuer_for(folder / "qtwj/sub/x.md") == "测试县人民政府办公室"
    bare, _ = load_units(make_tree({"b/_unit.yaml": UNIT_YAML}), cats)
    assert bare["b"].footer == {} and bare["b"].issuer_for(content / "b/x.md") == "测试县人民政府"


def test_footer_links_are_checked(make_tree, cats):
    text = UNIT_YAML + "footer:\n  dzjg_url: javascript:alert(1)\n  fax: 1\nissuers:\n  ../x: 某机关\n"
    content = make_tree({"a/_unit.yaml": text})
    units, problems = load_units(content, cats)
    assert "a" not in units
    assert messages(problems) == [
        "a/_unit.yaml:13: issuers.../x: expected a folder of this unit, e.g. gfxwj, got '../x'",
        "a/_unit.yaml:10: footer.dzjg_url: expected a link http(s)://, mailto: or tel:, got 'javascript:alert(1)'",
        "a/_unit.yaml:11: footer.fax: unknown field; expected one of icp, icp_url, police, police_url, dzjg_url, "
        "jiucuo_url, contact_url",
    ]


def test_the_default_index_form_is_matched_without_the_regex_timeout(make_tree, cats, monkeypatch):
    """Every item's 索引号 is matched; the timeout (for editors' patterns) costs two system
    calls a match, so the unit's default form, which cannot backtrack, goes without it,
    with the same answers."""
    import regex

    from gongkai import units as units_mod
    units, _ = load_units(make_tree({"u/_unit.yaml": UNIT_YAML}), cats)
    unit = units["u"]
    values = [f"{unit.org_code}/2024-00042", f"{unit.org_code}/2024-1", f"{unit.org_code}/2024-123456789",
              f"{unit.org_code}/24-00042", f"{unit.org_code}/2024-00042\n", f"{unit.org_code}/２０２４-00042",
              f"x{unit.org_code}/2024-00042", f"{unit.org_code}/2024-00042x", ""]
    want = [regex.compile(unit.index_re.pattern).match(v, timeout=1) is not None for v in values]
    monkeypatch.setattr(units_mod, "_compile", lambda pattern: pytest.fail("the default form went through regex"))
    assert [unit.index_matches(v) for v in values] == want
    assert want[:2] == [True, True] and want[3] is False
