"""Cross-unit facts: 索引号 unique across units, references resolve."""
from conftest import ROOT, UNIT_YAML
from gongkai.site import scan

ITEM = "---\ntitle: 文件\ncolumn: qtwj\nindex_no: {no}\npublished: 2024-01-01\n{extra}---\n正文\n"


def test_duplicate_index_no_across_units_names_both_files(make_tree):
    town = UNIT_YAML.replace("level: county", "level: township")
    content = make_tree({
        "a/_unit.yaml": UNIT_YAML, "b/_unit.yaml": town,
        "a/qtwj/one.md": ITEM.format(no="11990102MB0000003X/2024-00001", extra=""),
        "b/qtwj/two.md": ITEM.format(no="11990102MB0000003X/2024-00001", extra=""),
    })
    site = scan(content, ROOT / "catalogs")
    [problem] = site.problems
    assert problem.path.endswith("b/qtwj/two.md") and problem.line == 4 and problem.field == "index_no"
    assert problem.message.startswith("索引号 11990102MB0000003X/2024-00001 已被 ")
    assert "a/qtwj/one.md:4" in problem.message


def test_references_must_exist(make_tree):
    content = make_tree({
        "a/_unit.yaml": UNIT_YAML,
        "a/qtwj/one.md": ITEM.format(no="11990102MB0000003X/2024-00001",
                                     extra="repealed_by: 11990102MB0000003X/2024-00009\n"),
    })
    site = scan(content, ROOT / "catalogs")
    assert [(p.line, p.field, p.message) for p in site.problems] == [
        (6, "repealed_by", "no item has index number '11990102MB0000003X/2024-00009' (expected the 索引号 of an item in any unit)")]


def test_shipped_sample_is_valid_and_rich(cats):
    site = scan(ROOT / "content", ROOT / "catalogs")
    assert site.problems == []
    assert sorted(site.units) == ["shili-city", "shili-county", "shili-county-czj", "shili-province", "shili-town"]
    assert len(site.items) >= 60
    columns = {i.column for i in site.items}
    assert len(columns) >= 20
    assert all(i.doc_number for i in site.items if i.column in ("gz", "gfxwj"))


def test_interpretation_must_explain_a_public_policy_and_should_follow_it(make_tree):
    interp = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\ninterprets: {target}\npublished: 2024-01-05\n"
              "---\n正文\n")
    content = make_tree({
        "a/_unit.yaml": UNIT_YAML,
        "a/qtwj/draft.md": ITEM.format(no="11990102MB0000003X/2024-00001", extra="draft: true\n"),
        "a/qtwj/later.md": ITEM.format(no="11990102MB0000003X/2024-00002", extra="").replace("2024-01-01", "2024-02-01"),
        "a/zcjd/one.md": interp.format(target="11990102MB0000003X/2024-00001"),
        "a/zcjd/two.md": interp.format(target="11990102MB0000003X/2024-00002"),
    })
    site = scan(content, ROOT / "catalogs")
    assert [(p.path.split("content/")[-1], p.line, p.severity, p.message) for p in site.problems] == [
        ("a/zcjd/one.md", 5, "error", "'11990102MB0000003X/2024-00001' (" + str(content / "a/qtwj/draft.md") +
         ") is a draft, never public: an interpretation must explain a 主动公开 item"),
        ("a/zcjd/two.md", 5, "warning", "'11990102MB0000003X/2024-00002' is published 2024-02-01, after this "
         "interpretation (2024-01-05): until then it is shown without a link"),
    ]


def test_item_files_with_other_endings_are_reported(make_tree):
    content = make_tree({"a/_unit.yaml": UNIT_YAML, "a/qtwj/one.yml": "title: x\n", "a/qtwj/two.MD": "---\n---\n",
                         "a/qtwj/three.txt": "附件"})
    site = scan(content, ROOT / "catalogs")
    assert sorted((p.path.split("content/")[-1], p.message) for p in site.problems) == [
        ("a/qtwj/one.yml", "not read: item files end in .md or .yaml (lower case), got '.yml'"),
        ("a/qtwj/two.MD", "not read: item files end in .md or .yaml (lower case), got '.MD'"),
    ]


def test_registry_holds_only_what_may_be_shown(make_tree):
    import datetime as dt
    notice = ("---\ntitle: 公示\ncolumn: gsgg\ntype: notice\nindex_no: 11990102MB0000003X/2024-00004\n"
              "published: 2024-01-01\npublicity_until: 2024-01-08\nqa:\n  - {q: 名单上有谁？, a: 王某某}\n---\n正文\n")
    content = make_tree({
        "a/_unit.yaml": UNIT_YAML,
        "a/qtwj/public.md": ITEM.format(no="11990102MB0000003X/2024-00001", extra=""),
        "a/qtwj/draft.md": ITEM.format(no="11990102MB0000003X/2024-00002", extra="draft: true\n"),
        "a/qtwj/later.md": ITEM.format(no="11990102MB0000003X/2024-00003", extra="").replace("2024-01-01", "2025-01-01"),
        "a/gsgg/notice.md": notice,
    })
    site = scan(content, ROOT / "catalogs")
    registry = site.registry(dt.date(2024, 6, 1))
    assert sorted(registry) == ["11990102MB0000003X/2024-00001", "11990102MB0000003X/2024-00004"]
    closed = registry["11990102MB0000003X/2024-00004"]
    assert (closed["state"], closed["questions"]) == ("closed", [])
    assert site.public_on == {"11990102MB0000003X/2024-00001": "2024-01-01", "11990102MB0000003X/2024-00002": None,
                                "11990102MB0000003X/2024-00003": "2025-01-01", "11990102MB0000003X/2024-00004": "2024-01-01"}


def test_public_on_dates_are_computed_once_by_the_scan(make_tree, monkeypatch):
    """Facts and the 年报 series both read every item's first public day: computed once, as
    each unit's items come in to the scan, and kept as a field (not a memo keyed by a count)."""
    import datetime as dt

    from gongkai import lifecycle
    from gongkai.annual import series
    from gongkai.facts import Facts
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/public.md": ITEM.format(no="11990102MB0000003X/2024-00001", extra="")})
    calls = []
    real = lifecycle.public_on
    monkeypatch.setattr(lifecycle, "public_on", lambda item: calls.append(item.source) or real(item))
    site = scan(content, ROOT / "catalogs", jobs=1)
    assert site.public_on == {"11990102MB0000003X/2024-00001": "2024-01-01"}
    scanned = len(calls)
    facts = Facts.of(site, dt.date(2024, 6, 1))
    series.state_on_of(site)(next(iter(site.items)), dt.date(2024, 6, 1))
    assert facts.public_on == site.public_on and len(calls) == scanned
