"""Editor tools: 公文 extraction rules (pure), make new, the next 索引号, fix-encoding, progress."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest

from conftest import ROOT, UNIT_YAML, gongkai
from gongkai.site import scan
from gongkai.tools import gongwen
from gongkai.tools.encoding import main as fix_encoding
from gongkai.tools.itemfile import next_index_no, render
from gongkai.tools.progress import Progress
from gongkai.units import Unit

# --- 公文 parts, without files ------------------------------------------------------


@pytest.mark.parametrize("text, number", [
    ("贵府办字[2010]125号", "贵府办字[2010]125号"),
    ("通政發〔2014〕20號", "通政發〔2014〕20號"),
    ("苏办发[2013]45号", "苏办发[2013]45号"),
    ("示政发〔2024〕3号", "示政发〔2024〕3号"),
    ("国办发（2020）第5号", "国办发（2020）第5号"),
    ("京政发【2019】 12 号", "京政发【2019】12号"),
    ("没有文号的一行", None),
])
def test_doc_number_in_every_real_form(text, number):
    assert gongwen.find_doc_number(text) == number


@pytest.mark.parametrize("text, day", [
    ("二〇一三年四月二十三日", dt.date(2013, 4, 23)),
    ("2013年4月23日", dt.date(2013, 4, 23)),
    ("２０１３年４月２３日", dt.date(2013, 4, 23)),
    ("二○二四年十二月三十一日", dt.date(2024, 12, 31)),
    ("二〇二四年十月十日", dt.date(2024, 10, 10)),
    ("二〇二五年二月二十九日", None),          # no such day: not a date, not guessed
    ("2013年13月1日", None),
])
def test_written_date_with_chinese_numerals(text, day):
    assert gongwen.parse_date(text) == day


def test_chinese_numbers():
    assert [gongwen.chinese_int(t) for t in ("十", "十二", "二十", "二十三", "三十一", "二〇一三", "7", "十十")] == \
        [10, 12, 20, 23, 31, 2013, 7, None]


GONGWEN = """示例县人民政府文件

示政发〔2024〕3号

示例县人民政府
关于印发《示例县农村最低生活保障管理办法》的通知

各乡镇人民政府，县各有关部门：
现将《示例县农村最低生活保障管理办法》印发给你们，请认真贯彻落实。
示例县人民政府
二〇二四年三月二日
（此件公开发布）
抄送：县委办公室。
示例县人民政府办公室　　2024年3月2日印发""".split("\n")


def test_parts_of_a_gongwen():
    parts = gongwen.extract(GONGWEN)
    assert parts.found == {"title": "示例县人民政府关于印发《示例县农村最低生活保障管理办法》的通知",
                           "doc_number": "示政发〔2024〕3号", "addressee": "各乡镇人民政府，县各有关部门",
                           "written": "2024-03-02", "issuer": "示例县人民政府"}
    body = [ln for ln in GONGWEN[parts.body_start:parts.body_end] if ln]
    assert body[0] == "各乡镇人民政府，县各有关部门：" and body[-1] == "（此件公开发布）"


def test_joint_issuers_and_the_printing_date_is_not_the_written_date():
    lines = ["关于做好防汛工作的通知", "各乡镇：", "请做好防汛工作。", "示例县应急管理局", "示例县水利局", "2024年6月1日",
             "示例县应急管理局办公室 2024年6月3日印发"]
    parts = gongwen.extract(lines)
    assert (parts.issuer, parts.written) == ("示例县应急管理局、示例县水利局", dt.date(2024, 6, 1))


def test_nothing_is_guessed_from_plain_text():
    parts = gongwen.extract(["今天天气很好。", "我们去公园，看见很多人。"])
    assert parts.found == {}


def test_a_date_inside_a_sentence_is_not_the_written_date():
    parts = gongwen.extract(["关于x的通知", "各单位：", "会议定于2024年6月1日召开。"])
    assert parts.written is None and parts.title == "关于x的通知"


def test_genre_from_the_title():
    assert gongwen.genre_of("示例县人民政府关于印发《办法》的通知") == "通知"
    assert gongwen.genre_of("關於加強政務公開工作的意見") == "意见"
    assert gongwen.genre_of("示例县城乡居民临时救助实施办法") is None


# --- 索引号 ----------------------------------------------------------------------

def unit(pattern: str = "", org: str = "11990102MB0000003X") -> Unit:
    return Unit(id="u", name="测试县人民政府", level="county", org_code=org, folder=ROOT, source="u/_unit.yaml",
                index_pattern=pattern)


def test_next_index_no_follows_the_unit_numbers():
    taken = {"11990102MB0000003X/2026-00007", "11990102MB0000003X/2026-00012", "11990102MB0000003X/2025-00099",
             "11990000MB0000001M/2026-00500"}
    assert next_index_no(unit(), 2026, taken) == "11990102MB0000003X/2026-00013"
    assert next_index_no(unit(), 2027, taken) == "11990102MB0000003X/2027-00001"
    assert next_index_no(unit(), 2026, set()) == "11990102MB0000003X/2026-00001"


def test_next_index_no_respects_the_unit_index_pattern():
    u = unit(pattern=r"^{org_code}-\d{4}-\d{3}$", org="014046317")
    taken = {"014046317-2024-041", "014046317-2024-007"}
    assert next_index_no(u, 2024, taken) == "014046317-2024-042"
    assert next_index_no(u, 2025, taken) == "014046317-2025-001"
    assert next_index_no(unit(pattern=r"^{org_code}/X\d{4}$"), 2026, set()) is None   # cannot make one: asked


def test_empty_fields_are_written_empty_with_a_note_not_a_placeholder():
    text = render([("title", "文件", ""), ("doc_number", None, "待填：文号 (required)"), ("keywords", ["a", "b"], "")], "")
    assert text == "---\ntitle: 文件\ndoc_number:  # 待填：文号 (required)\nkeywords:\n  - a\n  - b\n---\n\n"


# --- make new --------------------------------------------------------------------

NEW_ENV = {"UNIT": "shili-county", "COLUMN": "gfxwj", "TITLE": "示例县人民政府关于印发《示例县城乡居民医疗救助办法》的通知",
           "DOC_NUMBER": "示政发〔2026〕31号"}


def test_make_new_gives_an_item_that_checks_and_the_next_index_no(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    before = {i.index_no for i in scan(content, ROOT / "catalogs").items}
    first = gongkai("new", "--content", str(content), env=NEW_ENV)
    assert first.returncode == 0, first.stderr
    second = gongkai("new", "--content", str(content), env={**NEW_ENV, "DOC_NUMBER": "示政发〔2026〕32号"})
    assert second.returncode == 0, second.stderr
    check = gongkai("check", "--content", str(content))
    assert check.returncode == 0, check.stderr
    # The sample's one planted 年报 mismatch warns; the new items add nothing.
    assert all(": warning:" in line for line in check.stderr.splitlines()), check.stderr
    site = scan(content, ROOT / "catalogs")
    new = sorted((i for i in site.items if i.index_no not in before), key=lambda i: i.index_no)
    serials = [int(i.index_no.rsplit("-", 1)[1]) for i in new]
    last = max(int(n.rsplit("-", 1)[1]) for n in before if n and n.startswith("11990102MB0000003X/2026-"))
    assert serials == [last + 1, last + 2]
    assert [(i.column, i.doc_number, i.published.date(), i.written) for i in new] == [
        ("gfxwj", "示政发〔2026〕31号", dt.date(2026, 11, 22), None), ("gfxwj", "示政发〔2026〕32号", dt.date(2026, 11, 22), None)]
    assert f"已新建 (created): {new[0].path}" in first.stdout
    assert "待填 (to fill): written 成文日期" in first.stdout


def test_make_new_without_a_required_doc_number_leaves_it_visibly_empty(make_tree):
    content = make_tree({"u/_unit.yaml": UNIT_YAML})
    result = gongkai("new", "--content", str(content), env={"UNIT": "u", "COLUMN": "gfxwj", "TITLE": "关于x的通知",
                                                            "DOC_NUMBER": ""})
    assert result.returncode == 0, result.stderr
    path = content / "u" / "gfxwj" / "2026-00001.md"
    assert "doc_number:  # 待填：文号 (required)\n" in path.read_text(encoding="utf-8")
    assert "待填 (to fill): doc_number 文号：行政规范性文件必须有文号 (required in gfxwj)" in result.stdout
    check = gongkai("check", "--content", str(content))
    assert check.returncode == 1
    assert "doc_number (文号): required in column gfxwj" in check.stderr


def test_make_new_interpretation_asks_for_the_policy_from_a_pick_list(tmp_path, monkeypatch, capsys):
    from gongkai.tools import new
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    monkeypatch.setenv("BUILD_DATE", "2026-11-22")
    answers = iter(["shili-county", "zcjd", "《示例县临时救助实施细则》政策解读", "", "", "1"])
    path, todo = new.new_item(content, ROOT / "catalogs", {}, ask=lambda prompt: next(answers))
    text = path.read_text(encoding="utf-8")
    shown = capsys.readouterr().out
    first = shown.split("  1) ", 1)[1].split("\n")[0]
    assert first.endswith(text.split("interprets:\n  - ")[1].split("\n")[0])
    assert "type: interpretation\n" in text and "written:  #" in text
    check = gongkai("check", "--content", str(content))
    assert check.returncode == 0, check.stderr


def test_make_new_refuses_an_unknown_unit_and_names_the_choices(make_tree):
    content = make_tree({"u/_unit.yaml": UNIT_YAML})
    result = gongkai("new", "--content", str(content), env={"UNIT": "nope", "COLUMN": "gfxwj", "TITLE": "x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "UNIT=nope: 没有单位 'nope'，可选：u (unknown unit)"


def test_make_new_chinese_column_name_gets_the_id(make_tree):
    content = make_tree({"u/_unit.yaml": UNIT_YAML})
    result = gongkai("new", "--content", str(content), env={"UNIT": "u", "COLUMN": "其他文件", "TITLE": "x"})
    assert result.returncode == 2
    assert "请改为 column: qtwj" in result.stderr


# --- fix-encoding ------------------------------------------------------------------

def test_fix_encoding_converts_in_place_after_showing_the_first_lines(tmp_path, capsys):
    path = tmp_path / "gbk.md"
    original = "---\ntitle: 关于做好政务公开工作的通知\n---\n正文\n".encode("gbk")
    path.write_bytes(original)
    assert fix_encoding([str(path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "+title: 关于做好政务公开工作的通知" in out and "按 GB18030 转为 UTF-8" in out
    assert path.read_text(encoding="utf-8") == "---\ntitle: 关于做好政务公开工作的通知\n---\n正文\n"
    assert (tmp_path / "gbk.md.bak").read_bytes() == original
    assert fix_encoding([str(path), "--yes"]) == 0
    assert "已经是 UTF-8" in capsys.readouterr().out


# --- progress ------------------------------------------------------------------------

def test_progress_shows_on_a_terminal_after_a_while_and_never_in_ci(monkeypatch):
    now = [0.0]
    stream = io.StringIO()
    p = Progress(4, "构建 (build)", stream=stream, clock=lambda: now[0], force=True)
    p.step(100)
    assert stream.getvalue() == ""          # short runs print nothing
    now[0] = 3.0
    p.step(200)
    assert stream.getvalue().endswith("构建 (build) 2/4 个单位，100 条/秒 (items/s)")
    p.done()
    monkeypatch.setenv("CI", "true")
    assert Progress(4, "x", stream=stream).on is False


# --- docs/content.md -----------------------------------------------------------------

def test_every_example_item_of_the_chinese_guide_is_valid(tmp_path, cats):
    import re

    from gongkai.schema import read_item
    text = (ROOT / "docs" / "content.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(markdown|yaml)\n(.*?)```", text, re.S)
    examples = [(kind, body) for kind, body in blocks if re.search(r"^title:", body, re.M)]
    assert len(examples) >= 7
    for n, (kind, body) in enumerate(examples):
        org = re.search(r"index_no: (\w+)/", body)
        folder = tmp_path / f"u{n}"
        folder.mkdir()
        u = Unit(id=f"u{n}", name="示例县人民政府", level="county", org_code=org[1] if org else "11990102MB0000003X",
                 folder=folder, source=f"u{n}/_unit.yaml")
        for name in re.findall(r"^  - (\S+\.pdf)$", body, re.M):
            (folder / name).write_bytes(b"%PDF-1.4")
        path = folder / ("x.md" if kind == "markdown" else "x.yaml")
        path.write_text(body, encoding="utf-8")
        item, problems = read_item(path, u, cats)
        # The 预决算 example shows two of the nine standard tables, and says so.
        problems = [p for p in problems if not p.message.startswith("missing standard tables of 部门决算")]
        assert problems == [], (body, problems)
