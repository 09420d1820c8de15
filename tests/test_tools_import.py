"""make import: the fixtures of tests/fixtures/import (written by make_fixtures.py with
python-docx and reportlab) become items whose fields match the table below, and
`make check` then names exactly the fields left to fill."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, UNIT_YAML, gongkai
from gongkai.site import scan
from gongkai.tools import readers
from gongkai.tools.importer import safe_name

SRC = FIXTURES / "import"
ORG = "11990102MB0000003X"

# source file -> the fields its item gets (None: left empty for the editor)
EXPECTED = {
    "guifu-banzi-2010-125.docx": {
        "title": "贵阳市示例区人民政府办公室关于印发《示例区城乡居民临时救助实施办法》的通知",
        "doc_number": "贵府办字[2010]125号", "written": "2010-06-18", "issuer": "贵阳市示例区人民政府办公室",
        "published": None, "index_no": f"{ORG}/2010-00001", "topic": None, "genre": "通知",
        "attachments": ["guifu-banzi-2010-125-附件1.pdf"]},
    "tongzhengfa-2014-20.pdf": {
        "title": "示例縣人民政府關於加強政務公開工作的通知", "doc_number": "通政發〔2014〕20號", "written": "2014-05-20",
        "issuer": "示例縣人民政府", "published": None, "index_no": f"{ORG}/2014-00001", "topic": None, "genre": "通知",
        "attachments": None},
    "page.html": {
        "title": "示例市人民政府关于公布第三批市级非物质文化遗产名录的通知", "doc_number": "示政发〔2019〕12号",
        "written": "2019-05-28", "issuer": "示例市人民政府", "published": "2019-06-03",
        "index_no": f"{ORG}/2019-00001", "topic": "文化、广电、新闻出版\\文化", "genre": "通知", "attachments": ["名录.pdf"]},
    "caiyu-2013-7.txt": {
        "title": "示例县财政局关于做好2013年度部门预算公开工作的通知", "doc_number": "示财预〔2013〕7号",
        "written": "2013-04-23", "issuer": "示例县财政局", "published": None, "index_no": f"{ORG}/2013-00001",
        "topic": None, "genre": "通知", "attachments": None},
}
ADDRESSEES = {"guifu-banzi-2010-125.docx": "各乡（镇）人民政府、街道办事处，区政府各工作部门",
              "tongzhengfa-2014-20.pdf": "各鄉鎮人民政府，縣政府各部門", "page.html": "各县（区）人民政府，市各委、办、局",
              "caiyu-2013-7.txt": "县各预算单位"}


def front(path: Path) -> dict:
    import yaml
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1]) | {"_body": text.split("---\n", 2)[2]}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    content = tmp_path_factory.mktemp("import") / "content"
    (content / "u").mkdir(parents=True)
    (content / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    result = gongkai("import", "--content", str(content), env={"SRC": str(SRC), "UNIT": "u", "COLUMN": "gfxwj"})
    return content, result


def item_of(content: Path, out: str, source: str) -> Path:
    line = next(ln for ln in out.splitlines() if ln.startswith(f"{SRC / source} -> "))
    return Path(line.split(" -> ", 1)[1])


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_import_extracts_the_gongwen_fields(imported, source):
    content, result = imported
    path = item_of(content, result.stdout, source)
    data = front(path)
    got = {k: (str(data[k]) if data.get(k) is not None and k != "attachments" else data.get(k)) for k in EXPECTED[source]}
    assert got == EXPECTED[source]
    assert ADDRESSEES[source] + "：" in data["_body"].split("\n\n")[0]
    for name in data.get("attachments") or []:
        assert (path.parent / name).is_file()


def test_import_keeps_tables_and_drops_the_banji_and_unsafe_markup(imported):
    content, result = imported
    docx_body = front(item_of(content, result.stdout, "guifu-banzi-2010-125.docx"))["_body"]
    assert "| 类别 | 救助标准 |\n|---|---|\n| 一般困难 | 不超过月低保标准的3倍 |" in docx_body
    assert docx_body.rstrip().endswith("二〇一〇年六月十八日\n\n（此件公开发布）")
    assert "抄送" not in docx_body and "印发\n" not in docx_body and "贵府办字" not in docx_body
    html_body = front(item_of(content, result.stdout, "page.html"))["_body"]
    assert "| 2 | 示例皮影戏 \\| 唱腔 | 示例区 |" in html_body
    for bad in ("alert", "javascript", "onclick", "<", "门户网站", "主办", "索引号"):
        assert bad not in html_body


def test_import_reports_per_file_what_it_found_and_what_is_left(imported):
    content, result = imported
    assert result.returncode == 1   # the scanned PDF
    out = result.stdout
    assert f"{SRC / 'scanned.pdf'}: 未导入 (not imported): PDF 没有文字层（扫描件）：不做文字识别，请提供 Word 原件或带文字的 PDF " \
           "(scanned PDF without a text layer, not OCRed)" in out
    block = out.split(f"{SRC / 'tongzhengfa-2014-20.pdf'} -> ", 1)[1].split("\n")
    assert block[1] == ("  找到 (found): 标题 title 示例縣人民政府關於加強政務公開工作的通知；文号 doc_number 通政發〔2014〕20號；"
                        "主送机关 各鄉鎮人民政府，縣政府各部門；成文日期 written 2014-05-20；发文机关 issuer 示例縣人民政府；"
                        f"索引号 index_no {ORG}/2014-00001")
    assert block[2] == "  待填 (to fill): published 发布日期"
    assert "原索引号 11990100MB0000002X/2019-00031 不符合本单位格式或已被使用" in out
    assert "导入 4 个，失败 1 个" in out
    assert not (content / "u" / "gfxwj" / "page_files").exists()


def test_check_then_names_exactly_the_fields_left_to_fill(imported):
    content, result = imported
    site = scan(content, ROOT / "catalogs")
    required = sorted((Path(p.path).name, p.field) for p in site.problems if p.rule == "item.required")
    assert required == [("2010-00001.md", "published"), ("2013-00001.md", "published"),
                        ("2014-00001.md", "published")]
    # Any other error may only be the legacy 文号 form, which DESIGN §4 makes a checker finding, not an error.
    others = [p for p in site.problems if p.rule != "item.required" and p.severity == "error"]
    assert all(p.field == "doc_number" and p.message.startswith("expected a document number") for p in others), others


def test_import_without_column_leaves_the_column_to_fill(tmp_path):
    content = tmp_path / "content"
    (content / "u").mkdir(parents=True)
    (content / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    result = gongkai("import", "--content", str(content), env={"SRC": str(SRC / "caiyu-2013-7.txt"), "UNIT": "u"})
    assert result.returncode == 0, result.stderr
    path = content / "u" / "imported" / "2013-00001.md"
    assert "column:  # 待填：栏目代码，如 gfxwj (required)\n" in path.read_text(encoding="utf-8")
    site = scan(content, ROOT / "catalogs")
    assert sorted(p.field for p in site.problems) == ["column", "published"]


# --- hostile input -----------------------------------------------------------------

def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (40 * 1024 * 1024))
    return buf.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("bomb.docx", None, ".docx 解压后过大（可能是压缩炸弹），未读取 (uncompressed size out of bounds)"),
    ("broken.docx", b"PK\x03\x04 not really", "不是有效的 .docx 文件"),
    ("broken.pdf", b"%PDF-1.4\n garbage", "无法读取 PDF（PdfStreamError），文件可能已损坏"),
    ("old.doc", b"\xd0\xcf\x11\xe0", "旧版 Word/WPS 文件：请先用 Word 或 WPS 另存为 .docx 再导入"),
    ("deep.html", b"<div>" * 200000 + "关于x的通知".encode(), None),
])
def test_hostile_files_are_reported_without_a_traceback(tmp_path, name, data, message):
    src = tmp_path / "src"
    src.mkdir()
    (src / name).write_bytes(zip_bomb() if data is None else data)
    content = tmp_path / "content"
    (content / "u").mkdir(parents=True)
    (content / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    result = gongkai("import", "--content", str(content), env={"SRC": str(src), "UNIT": "u", "COLUMN": "qtwj"})
    assert "Traceback" not in result.stderr + result.stdout
    if message:
        assert result.returncode == 1 and message in result.stdout
    else:
        assert result.returncode in (0, 1)


def test_symlinks_and_files_outside_the_source_are_not_copied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "secret.pdf").write_bytes(b"%PDF secret")
    (src / "a.html").write_text('<p>关于x的通知</p><p>各单位：</p><p>正文。</p><a href="../secret.pdf">x</a>'
                                '<a href="link.pdf">y</a>', encoding="utf-8")
    (src / "link.pdf").symlink_to(tmp_path / "secret.pdf")
    content = tmp_path / "content"
    (content / "u").mkdir(parents=True)
    (content / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    result = gongkai("import", "--content", str(content), env={"SRC": str(src), "UNIT": "u", "COLUMN": "qtwj"})
    assert "附件 secret.pdf 不在原文件的文件夹内，未复制" in result.stdout
    assert not list((content / "u" / "qtwj").glob("*.pdf"))


def test_safe_attachment_names():
    assert safe_name("../../附件 1 (终稿).PDF") == "附件_1_(终稿).pdf"
    assert safe_name(".hidden.pdf") == "hidden.pdf"
    assert safe_name("a<b>|c.docx") == "a_b_c.docx"


@pytest.mark.parametrize("text, html", [
    ("a<b>c</b> & <script>x</script>", "<p>a&lt;b&gt;c&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;</p>"),
    ("*强调* _x_ [a](b) `c`", "<p>*强调* _x_ [a](b) `c`</p>"),
    ("> 不是引用", "<p>&gt; 不是引用</p>"),
    ("# 不是标题", "<p># 不是标题</p>"),
    ("贵府办字[2010]125号", "<p>贵府办字[2010]125号</p>"),
])
def test_markdown_escape_renders_as_the_same_text(text, html):
    from gongkai.render import Renderer
    assert Renderer()(readers.md_escape(text)) == html


def test_pdf_lines_are_joined_into_paragraphs_for_the_body():
    blocks = [readers.Block(t, t) for t in ("为进一步做好政务公开工作，现就有关事项通", "知如下。", "示例县人民政府", "2014年5月20日")]
    assert [b.text for b in readers.reflow(blocks)] == ["为进一步做好政务公开工作，现就有关事项通知如下。", "示例县人民政府",
                                                        "2014年5月20日"]


def test_a_second_import_of_the_same_document_is_noted(tmp_path):
    content = tmp_path / "content"
    (content / "u").mkdir(parents=True)
    (content / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    env = {"SRC": str(SRC / "caiyu-2013-7.txt"), "UNIT": "u", "COLUMN": "qtwj"}
    assert "可能已导入过" not in gongkai("import", "--content", str(content), env=env).stdout
    second = gongkai("import", "--content", str(content), env=env)
    assert "本单位已有文号为 示财预〔2013〕7号 的信息（2013-00001.md），可能已导入过" in second.stdout
    assert (content / "u" / "qtwj" / "2013-00002.md").is_file()
