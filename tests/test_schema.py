"""read_item: one file in, an Item or every problem out, each naming file, line and field."""
import textwrap

from gongkai.schema import read_item

GOOD = """\
---
title: 关于印发考核办法的通知
column: gfxwj
index_no: 11990102MB0000003X/2025-00012
doc_number: 测政办发〔2025〕12号
written: 2025-03-10
published: 2025-03-12
---

正文第一段。
"""


def write(county, text, name="gfxwj/a.md"):
    path = county.folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lines(county, cats, text, name="gfxwj/a.md"):
    """Problems as 'line: field (label): message' without the path prefix."""
    item, found = read_item(write(county, text, name), county, cats)
    assert item is None, "expected problems"
    out = []
    for p in found:
        name = f"{p.field} ({p.label})" if p.label else p.field
        out.append(f"{p.line}: {name}: {p.message}" if p.field else f"{p.line}: {p.message}")
    return out


def test_good_item_has_defaults(county, cats):
    item, found = read_item(write(county, GOOD), county, cats)
    assert found == []
    assert (item.type, item.validity, item.disclosure, item.issuer) == ("document", "有效", "主动公开", "测试县人民政府")
    assert item.slug == "gfxwj/a" and item.save_as == "art/gfxwj/a.html"
    assert item.body_line == 9


def test_message_names_file_line_field_label(county, cats):
    path = write(county, GOOD.replace("published: 2025-03-12", "published: '2024-13-01'"))
    item, [problem] = read_item(path, county, cats)
    assert str(problem).endswith("gfxwj/a.md:7: published (发布日期): 没有13月（月份是01到12）：请改为实有的日期 "
                                 "(no such date '2024-13-01', expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')")


def test_every_problem_is_reported_at_once(county, cats):
    text = GOOD.replace("written: 2025-03-10", "written: 2025-04-01").replace(
        "doc_number: 测政办发〔2025〕12号\n", "").replace("column: gfxwj", "column: gfxwj\ngenre: 办法\nauthor: x")
    assert lines(county, cats, text) == [
        "4: genre (体裁): expected one of '决议', '决定', '命令', '公报', '公告', '通告', '意见', '通知', '通报', "
        "'报告', '请示', '批复', '议案', '函', '纪要', '其他' (catalogs/vocab/genres.yaml), got '办法'",
        "5: author: unknown field; see docs/content.md for the fields",
        "3: doc_number (文号): required in column gfxwj (行政规范性文件) (expected a document number like 示政发〔2024〕3号)",
        "7: written (成文日期): 2025-04-01 is after published 2025-03-12 (expected a date on or before the publication date)",
    ]


def test_missing_required_fields(county, cats):
    assert lines(county, cats, "---\ncolumn: qtwj\n---\n") == [
        "2: title (标题): required field is missing (expected text)",
        "2: published (发布日期): required field is missing (expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')",
        "2: index_no (索引号): required for type 'document' (expected an index number <org_code>/<YYYY>-<serial>)",
    ]


def test_unknown_field_gets_a_suggestion(county, cats):
    assert lines(county, cats, GOOD.replace("published:", "publised:")) == [
        "7: publised: unknown field; did you mean 'published'?",
        "2: published (发布日期): required field is missing (expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')",
    ]


def test_type_specific_fields(county, cats):
    text = GOOD.replace("column: gfxwj", "column: gfxwj\nform: 问答\npublicity_until: 2026-01-01\nyear: 2024")
    assert lines(county, cats, text) == [
        "6: year (年度): applies only to types sangong, fiscal, annual-report, this item is type 'document'",
        "4: form (解读形式): applies only to type 'interpretation', this item is type 'document'",
        "5: publicity_until (公示截止): applies only to type 'notice', this item is type 'document'",
    ]


def test_page_needs_no_index_no(county, cats):
    item, found = read_item(write(county, "---\ntitle: 制度\ncolumn: xxgkzd\ntype: page\npublished: 2024-01-01\n---\n"),
                            county, cats)
    assert found == [] and item.index_no is None


def test_interpretation_needs_interprets(county, cats):
    text = "---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\npublished: 2024-01-01\n---\n"
    assert lines(county, cats, text, "zcjd/a.md") == [
        "2: interprets (解读对象): required for type 'interpretation' (expected a list of an index number of another item)"]


def test_yaml_item_with_structured_fields(county, cats):
    text = ("title: 2024年三公经费预算\ncolumn: sgjf\ntype: sangong\nindex_no: 11990102MB0000003X/2024-00001\n"
            "published: 2024-02-01\ndepartment: 测试局\nyear: 2024\nstage: 预算\namounts:\n  因公出国(境)费: 0\n"
            "  公务接待费: 1.5\n  公务用车购置费: 0\n  公务用车运行维护费: 2\n")
    item, found = read_item(write(county, text, "sgjf/a.yaml"), county, cats)
    assert found == []
    assert item.data["amounts"]["公务接待费"] == "1.5"  # raw, for the JSON download
    assert (item.facts.year, item.facts.unit, str(item.facts.total)) == (2024, "万元", "3.5")


def test_syntax_and_encoding_errors_have_lines(county, cats):
    assert lines(county, cats, "---\ntitle: [a\n---\n") [0].startswith("3: invalid YAML")
    path = county.folder / "gbk.md"
    path.write_bytes("---\ntitle: 通知\n---\n".encode("gbk"))
    _, [problem] = read_item(path, county, cats)
    assert problem.line == 2 and "GBK/GB18030" in problem.message


def test_front_matter_must_be_a_mapping(county, cats):
    assert lines(county, cats, "---\n- a\n---\n") == [
        "2: expected a mapping of fields (title, column, published …)"]


INTERP = """\
---
title: 解读
column: zcjd
type: interpretation
interprets: 11990102MB0000003X/2025-00012
form: {form}
published: 2025-03-13
{extra}---

正文。
{body}
"""


def test_illustrated_interpretation_needs_an_image(county, cats):
    assert lines(county, cats, INTERP.format(form="图解", extra="", body=""), "zcjd/a.md") == [
        "6: form (解读形式): 图解 needs at least one image in the body: ![说明](file.png) beside the item"]


def test_body_images_need_alt_text_and_a_local_file(county, cats):
    from PIL import Image
    (county.folder / "zcjd").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 20)).save(county.folder / "zcjd" / "t.png")
    body = "![](t.png)\n\n![图](https://cdn.example/t.png)"
    assert lines(county, cats, INTERP.format(form="图解", extra="", body=body), "zcjd/a.md") == [
        "11: body (正文): image 't.png' has no alt text: describe it, e.g. ![2026年预算收支结构图解](t.png)",
        "13: body (正文): image 'https://cdn.example/t.png' is not on this site: put the file beside the item and "
        "write ![说明](file.png)",
    ]
    item, found = read_item(write(county, INTERP.format(form="图解", extra="", body="![结构图](t.png)"), "zcjd/a.md"),
                            county, cats)
    assert found == [] and item.images[0].alt == "结构图"


def test_each_question_once(county, cats):
    extra = "qa:\n  - {q: 怎么申请？, a: 到镇里。}\n  - {q: 怎么申请, a: 到县里。}\n"
    assert lines(county, cats, INTERP.format(form="问答", extra=extra, body=""), "zcjd/a.md") == [
        "10: qa (问答): item 2: the same question as item 1 (each question needs its own permalink)"]


def test_pelican_link_syntax_is_refused(county, cats):
    text = GOOD.replace("正文第一段。", "见[附件]({attach}other.pdf)与[文件]({filename}../qtwj/x.md)。")
    assert lines(county, cats, text) == [
        "10: body (正文): {attach} links are not supported: list files in `attachments`, and refer to other items "
        "by 索引号 (interprets, repealed_by, replaced_by)"]


def test_item_reader_is_not_pelicans_static_reader():
    from pelican.readers import Readers

    from gongkai import reader
    readers = Readers({**__import__("pelican.settings", fromlist=["DEFAULT_CONFIG"]).DEFAULT_CONFIG,
                       "READERS": {}})
    reader._add_readers(readers)
    assert readers.reader_classes.get("static") is not reader._ItemReader
    assert readers.reader_classes["md"] is reader.MarkdownItemReader


def test_images_in_answers_are_checked_too(county, cats):
    extra = 'qa:\n  - q: 在哪里？\n    a: "见图 ![地图](https://maps.example/x.png)"\n'
    assert lines(county, cats, INTERP.format(form="问答", extra=extra, body=""), "zcjd/a.md") == [
        "10: qa (问答): image 'https://maps.example/x.png' is not on this site: put the file beside the item and "
        "write ![说明](file.png)"]


def test_retirement_dates_before_publication_are_errors(county, cats):
    text = GOOD.replace("column: gfxwj", "column: gfxwj\nvalid_until: 2025-03-01")
    assert lines(county, cats, text) == [
        "4: valid_until (有效期至): 2025-03-01 is before published 2025-03-12 (the item would be retired on its first day)"]


def test_yaml_block_body_lines_count_from_its_first_line(county, cats):
    text = ("title: 页面\ncolumn: xxgkzd\ntype: page\npublished: 2024-01-01\nbody: |\n  第一行\n\n"
            "  ![](missing.png)\n")
    assert lines(county, cats, text, "xxgkzd/a.yaml") == [
        "8: body (正文): image 'missing.png' not found beside the item"]


def test_slug_is_pathlibs_for_every_name():
    """The item's slug is worked out by string where the path is written below the unit
    folder; it must be what ``relative_to(...).with_suffix("").as_posix()`` gives, for the
    odd names editors write too (dots anywhere, several suffixes, CJK, nested folders)."""
    from pathlib import Path

    from gongkai.schema import _slug
    folder = Path("/srv/content/shili-county")
    names = ["a.md", "a.b.md", "..md", ".md", "x..md", "通知.md", "2024-07.yaml", "v1.2 (终稿).md",
             "a.", "a", "t.tar.md", "[1].md", "《规定》.yaml"]
    dirs = ["", "gfxwj/", "gfxwj/2024/", "gf.xwj/", "a.b/c/"]
    for d in dirs:
        for n in names:
            path = folder / (d + n)
            assert _slug(path, folder) == path.relative_to(folder).with_suffix("").as_posix(), (d, n)
    # Not below the folder: pathlib's own answer (an error), not a string guess.
    try:
        _slug(Path("/srv/content/other/a.md"), folder)
    except ValueError:
        pass
    else:
        raise AssertionError("a path outside the unit folder must not get a slug")
