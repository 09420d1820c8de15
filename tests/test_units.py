"""_unit.yaml fields and the unit tree."""
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
