"""Messages for Chinese editors (DESIGN §9): Chinese first with the English key beside
it, the fix in plain words, one message per mistake. One test per problem of issue 14,
each with the exact text."""
from __future__ import annotations

from conftest import ROOT, UNIT_YAML
from gongkai.schema import read_item
from gongkai.site import scan

ITEM = "---\ntitle: 文件\ncolumn: {column}\nindex_no: {no}\npublished: {published}\n{extra}---\n正文\n"
NO = "11990102MB0000003X/2026-{:05d}"


def problems(content):
    site = scan(content, ROOT / "catalogs")
    return [(p.path.split("content/")[-1], p.line, str(p).split(": ", 1)[1]) for p in site.problems]


def test_impossible_day_says_which_day_the_month_lacks(make_tree):
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/x.md": ITEM.format(column="qtwj", no=NO.format(1), published="'2026-11-31'", extra="")})
    assert problems(content) == [("a/qtwj/x.md", 5, "published (发布日期): 11月没有31日：请改为实有的日期 "
                                  "(no such date '2026-11-31', expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')")]


def test_leap_day_of_a_common_year(make_tree):
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/x.md": ITEM.format(column="qtwj", no=NO.format(1), published="2026-01-02",
                                                    extra="written: 2025-02-29\n")})
    assert problems(content) == [("a/qtwj/x.md", 6, "written (成文日期): 2025年不是闰年，2月没有29日：请改为实有的日期 "
                                  "(no such date '2025-02-29', expected a date YYYY-MM-DD)")]


def test_full_width_colon_is_named_not_the_parser_text(make_tree):
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/x.md": ITEM.format(column="qtwj", no=NO.format(1), published="2026-01-02",
                                                    extra="genre：通知\n")})
    assert problems(content) == [("a/qtwj/x.md", 6, "“genre”后面是全角冒号“：”，请改成半角冒号加一个空格：genre: 通知 "
                                  "(full-width colon after 'genre', expected 'genre: ')")]


def test_full_width_colon_on_the_last_line_too(county, cats):
    path = county.folder / "x.md"
    path.write_text("---\ngenre：通知\n---\n正文\n", encoding="utf-8")
    _, [problem] = read_item(path, county, cats)
    assert (problem.line, problem.message) == (
        2, "“genre”后面是全角冒号“：”，请改成半角冒号加一个空格：genre: 通知 (full-width colon after 'genre', expected 'genre: ')")


def test_chinese_column_name_suggests_the_id(make_tree):
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/gfxwj/x.md": ITEM.format(column="行政规范性文件", no=NO.format(1), published="2026-01-02",
                                                     extra="doc_number: 测政发〔2026〕1号\n")})
    assert problems(content) == [("a/gfxwj/x.md", 3, "column (栏目): “行政规范性文件”是栏目名称，column 要写栏目代码："
                                  "请改为 column: gfxwj (expected the column id 'gfxwj', got the column name)")]


def test_inapplicable_column_lists_ids_with_names_but_not_refused_ones(make_tree, cats):
    content = make_tree({"a/_unit.yaml": UNIT_YAML.replace("level: county", "level: department"),
                         "a/x.md": ITEM.format(column="shjz", no=NO.format(1), published="2026-01-02", extra="")})
    [(path, line, text)] = problems(content)
    assert (path, line) == ("a/x.md", 3)
    assert text == (
        "column (栏目): 栏目 shjz（社会救助）不适用于政府部门，请改为本级的栏目之一：xxgkzd（政府信息公开制度）、jgzn（机构职能）、"
        "gfxwj（行政规范性文件）、qtwj（其他文件）、zcjd（政策解读）、ghxx（规划信息）、tjxx（统计信息）、xzxk（行政许可）、"
        "xzcf（行政处罚和行政强制）、bmyjs（部门预决算）、sgjf（“三公”经费）、xzsyxsf（行政事业性收费）、zfcg（政府采购）、"
        "zdjsxm（重大建设项目）、shgysy（社会公益事业）、tfsj（突发事件应对）、jdjc（监督检查）、gwyzk（公务员招考）、"
        "gsgg（公示公告）、xxgknb（政府信息公开年报） (column 'shjz' does not apply to department units)")
    assert "zcwd" not in text and "fzhsx" not in text and "xxgkzn" not in text


def test_error_in_a_policy_gives_no_follow_on_error_on_its_interpretation(make_tree):
    interp = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\nindex_no: " + NO.format(2) +
              "\ninterprets: " + NO.format(1) + "\npublished: 2026-01-05\n---\n正文\n")
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/gfxwj/policy.md": ITEM.format(column="gfxwj", no=NO.format(1), published="'2026-11-31'",
                                                          extra="doc_number: 测政发〔2026〕1号\n"),
                         "a/zcjd/jd.md": interp})
    assert [(path, line) for path, line, _ in problems(content)] == [("a/gfxwj/policy.md", 5)]


def test_reference_to_a_missing_item_is_still_reported(make_tree):
    interp = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\ninterprets: " + NO.format(9) +
              "\npublished: 2026-01-05\n---\n正文\n")
    content = make_tree({"a/_unit.yaml": UNIT_YAML, "a/zcjd/jd.md": interp})
    assert [(path, line) for path, line, _ in problems(content)] == [("a/zcjd/jd.md", 5)]


def test_duplicate_index_no_is_reported_on_the_newer_file(make_tree):
    # The newer file sorts first by name: the report must still go to it, not to the older.
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/a-new.md": ITEM.format(column="qtwj", no=NO.format(1), published="2026-03-01", extra=""),
                         "a/qtwj/b-old.md": ITEM.format(column="qtwj", no=NO.format(1), published="2026-01-02",
                                                        extra="")})
    assert problems(content) == [
        ("a/qtwj/a-new.md", 4, "index_no (索引号): 索引号 11990102MB0000003X/2026-00001 已被 "
         f"{content / 'a/qtwj/b-old.md'}:4 使用（发布于 2026-01-02），请为本文件另取一个，make new 会给出下一个空号 "
         "(expected a unique index number, '11990102MB0000003X/2026-00001' is already used)")]


def test_gbk_file_gets_a_fix_that_works_on_windows(county, cats):
    path = county.folder / "gbk.md"
    path.write_bytes("---\ntitle: 关于做好政务公开工作的通知\n---\n正文\n".encode("gbk"))
    _, [problem] = read_item(path, county, cats)
    assert problem.line == 2
    assert problem.message == (
        "文件不是 UTF-8 编码（看起来是 GBK/GB18030，中文 Windows 常用的编码）：用记事本打开，点“文件 → 另存为”，“编码”选 UTF-8 "
        f"后保存；或运行 make fix-encoding FILE={path} (file is not UTF-8: it looks like GBK/GB18030 (Chinese Windows "
        "encoding))")


def test_items_of_a_unit_with_a_bad_unit_file_give_no_follow_on_errors(make_tree):
    interp = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\ninterprets: " + NO.format(1) +
              "\npublished: 2026-01-05\n---\n正文\n")
    content = make_tree({"a/_unit.yaml": UNIT_YAML, "a/zcjd/jd.md": interp,
                         "b/_unit.yaml": UNIT_YAML.replace("level: county", "level: nowhere"),
                         "b/qtwj/x.md": ITEM.format(column="qtwj", no=NO.format(1), published="2026-01-02", extra="")})
    assert [(path, line) for path, line, _ in problems(content)] == [("b/_unit.yaml", 2)]


def test_files_that_are_not_items_are_named_in_chinese_first(make_tree):
    """An empty file, one without its closing line, UTF-16 and NUL bytes: each one message, Chinese first."""
    content = make_tree({"a/_unit.yaml": UNIT_YAML,
                         "a/qtwj/empty.md": "",
                         "a/qtwj/open.md": "---\ntitle: 文件\n",
                         "a/qtwj/nul.md": "---\ntitle: 文\x00件\n---\n"})
    (content / "a" / "qtwj" / "utf16.md").write_bytes("---\ntitle: 文件\n---\n".encode("utf-16"))
    assert sorted(problems(content)) == [
        ("a/qtwj/empty.md", 1, "缺少文件头：文件第一行须为 ---，其后是 YAML 字段，再以一行 --- 结束 (missing front matter: the "
                               "file must start with a '---' line, then YAML fields, then a closing '---' line)"),
        ("a/qtwj/nul.md", 2, "文件含有 NUL 字节，不是文本文件 (file contains NUL bytes; expected UTF-8 text)"),
        ("a/qtwj/open.md", 1, "文件头未结束：字段之后须有一行 --- (front matter is not closed: expected a '---' line after "
                              "the fields)"),
        ("a/qtwj/utf16.md", 1, "文件是 UTF-16 编码，请另存为 UTF-8 (file is encoded as UTF-16, expected UTF-8: save it as UTF-8)"),
    ]
