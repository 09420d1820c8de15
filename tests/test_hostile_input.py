"""Real documents build as issued; hostile or broken input is refused cleanly.

Each case runs the command line as an editor would: one line naming the file,
a non-zero exit, no traceback, no hang, nothing from outside the content folder
in the output, and neither content/ nor the previous output/ lost (issue 9).
"""
from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from conftest import AS_OF, ROOT, UNIT_YAML, bounded, build, gongkai, write_tree

from gongkai import fields, paths, source, yamlsrc
from gongkai.errors import FieldError
from gongkai.fields import Ctx
from gongkai.schema import read_item

UNIT = "demo-county"
ORG = "11990102MB0000003X"
SECRET = "SECRET-OUTSIDE-CONTENT-7f3a"


def item(n: int, column: str = "qtwj", extra: str = "", body: str = "正文。") -> str:
    return (f"---\ntitle: 测试文件{n}\ncolumn: {column}\nindex_no: {ORG}/2024-{n:05d}\n{extra}"
            f"published: 2024-03-0{1 + n % 9}\n---\n{body}\n")


def tree(root: Path, files: dict[str, str | bytes], unit_yaml: str = UNIT_YAML) -> Path:
    content = root / "content"
    (content / UNIT).mkdir(parents=True, exist_ok=True)
    (content / UNIT / "_unit.yaml").write_text(unit_yaml, encoding="utf-8")
    return write_tree(content, files, dedent=False)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def png(width: int = 4, height: int = 3) -> bytes:
    """A PNG whose header claims ``width``×``height`` (pixel data only for small ones)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\x80" * width for _ in range(height)) if width * height < 10_000 else b"\0"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def refused(result, *names: str) -> str:
    """The run failed with one-line messages naming each of ``names`` and no traceback."""
    err = result.stderr
    assert result.returncode == 1, (result.returncode, err)
    assert "Traceback" not in err and not re.search(r"^\w+(Error|Exception)\b", err, re.M), err
    for name in names:
        assert any(name in line for line in err.splitlines()), (name, err)
    return err


def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    return folder


def no_secret(output: Path) -> None:
    if output.exists():
        for p in output.rglob("*"):
            if p.is_file():
                assert SECRET.encode() not in p.read_bytes(), p


# --- A. real documents build as issued ------------------------------------------------

LEGACY_DOC_NUMBERS = ["苏办发[2013]45号", "苏政发(2013)7号", "苏政发【2013】8号", "苏政发〔2013〕第5号",
                      "蘇政發〔2013〕9號", "苏政发〔2013〕012号", "苏政发（2013）3号"]


@pytest.mark.parametrize("value", LEGACY_DOC_NUMBERS)
def test_doc_number_is_kept_exactly_as_issued(cats, county, value):
    assert fields.DocNumber()(value, Ctx(cats, county)) == value


@pytest.mark.parametrize("value, why", [("苏办发\n[2013]45号", "one line"), ("苏办发[2013]\x0745号", "control"),
                                        ("苏" * 81 + "号", "at most 80")])
def test_doc_number_keeps_only_sanity_limits(cats, county, value, why):
    with pytest.raises(FieldError, match=why):
        fields.DocNumber()(value, Ctx(cats, county))


def test_doc_number_standard_form_is_left_to_the_checker():
    assert fields.doc_number_issues("示政发〔2024〕3号") == []
    assert fields.doc_number_issues("苏办发[2013]045号") == ["the year in 六角括号 〔〕, not [] 【】 or ()",
                                                           "no leading zero in the number"]


def test_legacy_doc_numbers_build_and_are_published_as_issued(tmp_path):
    files = {f"{UNIT}/gfxwj/doc{n}.md": item(n, "gfxwj", f"doc_number: '{value}'\n")
             for n, value in enumerate(LEGACY_DOC_NUMBERS, 1)}
    content = tree(tmp_path, files)
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    for n, value in enumerate(LEGACY_DOC_NUMBERS, 1):
        page = (out / UNIT / "art/gfxwj" / f"doc{n}.html").read_text(encoding="utf-8")
        cell = re.search(r"<th scope=\"row\">文号</th><td>(.*?)</td>", page).group(1)
        assert re.sub(r"<[^>]+>", "", cell) == value  # token spans only; the text as issued


def test_optional_field_written_empty_is_absent(cats, county):
    path = county.folder / "qtwj" / "empty.md"
    path.parent.mkdir(parents=True)
    path.write_text(item(1, extra="summary: ''\nkeywords:\nattachments: []\ntopic: '  '\nvalid_until: \"\"\n"),
                    encoding="utf-8")
    it, problems = read_item(path, county, cats)
    assert problems == [] and it is not None
    assert it.summary == "" and it.keywords == [] and it.attachments == [] and it.topic is None


def test_required_field_written_empty_is_missing(cats, county):
    path = county.folder / "qtwj" / "notitle.md"
    path.parent.mkdir(parents=True)
    path.write_text(item(1).replace("title: 测试文件1", "title: ''"), encoding="utf-8")
    it, problems = read_item(path, county, cats)
    assert it is None
    assert [p.message for p in problems] == ["required field is missing (expected text)"]


SANGONG = """\
title: 测试局2024年“三公”经费预算
column: sgjf
type: sangong
index_no: {org}/2024-00201
department: 测试局
year: 2024
stage: 预算
published: 2024-03-04
amounts:
  因公出国(境)费: 0.00
  公务接待费: 2.41
  公务用车购置费: 0.00
  公务用车运行维护费: 12.18
total: 14.59
explanation: ""
counts:
"""


def test_empty_explanation_on_the_first_sangong_year_builds(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/sgjf/2024.yaml": SANGONG.format(org=ORG)})
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    assert (out / UNIT / "art/sgjf/2024.html").is_file()


def test_unit_with_no_items_builds_byte_identical_feeds(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / "empty-town").mkdir()
    (content / "empty-town" / "_unit.yaml").write_text(
        UNIT_YAML.replace("测试县", "空镇").replace("county", "township") + "parent: demo-county\n", encoding="utf-8")
    one, two = tmp_path / "one", tmp_path / "two"
    assert build(content, one).returncode == 0
    import time
    time.sleep(1.1)   # a wall-clock second apart: any wall-clock time would differ
    assert build(content, two, "--jobs", "1").returncode == 0
    feed = (one / "empty-town" / "feed.xml").read_text(encoding="utf-8")
    assert f"<updated>{AS_OF}T00:00:00+08:00</updated>" in feed
    assert digest(one) == digest(two)


# --- B1. file and folder names ---------------------------------------------------------

@pytest.mark.parametrize("name", ['a"b.md', "a<b>.md", "a&b.md", "-rf.md", "javascript:alert(1).md", "a\tb.md",
                                  "x'y.md", "a\u202eb.md"])
def test_item_file_name_with_unsafe_characters_is_refused(tmp_path, name):
    content = tree(tmp_path, {f"{UNIT}/qtwj/{name}": item(1)})
    refused(gongkai("check", "--content", str(content)), name)


def test_unsafe_folder_name_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qt\"wj/a.md": item(1)})
    refused(gongkai("check", "--content", str(content)), 'qt"wj')


def test_unsafe_attachment_name_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, extra="attachments: ['javascript:x.pdf']\n"),
                              f"{UNIT}/qtwj/javascript:x.pdf": b"%PDF-1.4\n"})
    refused(gongkai("check", "--content", str(content)), "javascript:x.pdf")


def test_chinese_names_are_legitimate(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/关于印发《办法》的通知（2024）.md":
                              item(1, extra="attachments: ['附件1：名单 2024.pdf']\n"),
                              f"{UNIT}/qtwj/附件1：名单 2024.pdf": b"%PDF-1.4\n"})
    result = gongkai("validate", "--content", str(content))
    assert result.returncode == 0, result.stderr


def test_name_rule_examples():
    assert paths.name_problem("关于印发《办法》的通知（2024）.md") is None
    assert paths.name_problem("2024-kaohe_v2 (1).pdf") is None
    for bad in ('a"b', "a<b", "a&b", "-x", "java:x", "a\x00b", "a\nb", " a", "a\\b", "a{b}", "a#b", "a%b"):
        assert paths.name_problem(bad), bad


# --- B2. symlinks ----------------------------------------------------------------------

def _secret_file(tmp_path: Path, name: str = "secret.pdf", data: bytes | None = None) -> Path:
    target = outside(tmp_path) / name
    target.write_bytes(data if data is not None else SECRET.encode())
    return target


def _assert_refused_build(tmp_path: Path, content: Path, link_name: str) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / "previous.html").write_text("previous build", encoding="utf-8")
    before_out, before_content = digest(out), digest(content)
    refused(build(content, out), link_name)
    refused(gongkai("check", "--content", str(content)), link_name)
    assert digest(out) == before_out and digest(content) == before_content
    no_secret(out)
    no_secret(tmp_path / ".out.partial")


def test_attachment_symlink_out_of_content_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, extra="attachments: [leak.pdf]\n")})
    (content / UNIT / "qtwj" / "leak.pdf").symlink_to(_secret_file(tmp_path))
    _assert_refused_build(tmp_path, content, "qtwj/leak.pdf")


def test_dangling_attachment_symlink_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, extra="attachments: [gone.pdf]\n")})
    (content / UNIT / "qtwj" / "gone.pdf").symlink_to(tmp_path / "no-such-file.pdf")
    _assert_refused_build(tmp_path, content, "qtwj/gone.pdf")


def test_item_symlink_out_of_content_is_refused(tmp_path):
    target = outside(tmp_path) / "evil.md"
    target.write_text(item(7, body=SECRET), encoding="utf-8")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / UNIT / "qtwj" / "evil.md").symlink_to(target)
    _assert_refused_build(tmp_path, content, "qtwj/evil.md")


def test_folder_symlink_out_of_content_is_refused(tmp_path):
    target = outside(tmp_path) / "cols"
    target.mkdir()
    (target / "evil.md").write_text(item(7, body=SECRET), encoding="utf-8")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / UNIT / "linked").symlink_to(target, target_is_directory=True)
    _assert_refused_build(tmp_path, content, f"{UNIT}/linked")


def test_unit_folder_symlink_out_of_content_is_refused(tmp_path):
    target = outside(tmp_path) / "evil-unit"
    target.mkdir()
    (target / "_unit.yaml").write_text(UNIT_YAML.replace("测试县", SECRET), encoding="utf-8")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / "evil-unit").symlink_to(target, target_is_directory=True)
    _assert_refused_build(tmp_path, content, "evil-unit")


def test_linked_folder_in_content_root_is_neither_walked_nor_read(tmp_path):
    """A link in the content folder to a folder elsewhere (``/tmp``, a home folder) is named
    and never walked: its Markdown files are not read, and a FIFO there cannot hold the build
    (it looked for the 索引号 of every *.md below the link, and opened a FIFO to read it)."""
    target = outside(tmp_path) / "scratch"
    (target / "deep" / "er").mkdir(parents=True)
    (target / "deep" / "er" / "x.md").write_text(item(7, body=SECRET), encoding="utf-8")
    os.mkfifo(target / "deep" / "trap.md")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / "zz-link").symlink_to(target, target_is_directory=True)
    out = tmp_path / "out"
    for cmd in (("html", "--content", str(content), "--output", str(out)), ("check", "--content", str(content))):
        refused(bounded(*cmd), "zz-link")
    assert not out.exists()


def test_fifo_in_a_unit_whose_unit_yaml_fails_cannot_hold_the_build(tmp_path):
    """The items of a unit whose _unit.yaml is reported are read for their 索引号 alone (no
    follow-on "unknown reference" messages): a FIFO among them is not opened for reading."""
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1), "broken/_unit.yaml": "id: [\n",
                              "broken/qtwj/b.md": item(2)})
    os.mkfifo(content / "broken" / "qtwj" / "pipe.md")
    refused(bounded("check", "--content", str(content)), "broken/_unit.yaml")


@pytest.mark.parametrize("broken", ["link", "syntax"])
def test_a_reported_parent_unit_gives_its_children_no_second_message(tmp_path, broken):
    """DESIGN §9, one mistake one message: a unit whose parent's _unit.yaml is reported (a
    link out of the content folder, a YAML error) is not also told its parent is unknown."""
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)}, unit_yaml=UNIT_YAML + "parent: test-city\n")
    (content / "test-city").mkdir()
    if broken == "link":
        target = outside(tmp_path) / "unit.yaml"
        target.write_text(UNIT_YAML.replace("county", "city"), encoding="utf-8")
        (content / "test-city" / "_unit.yaml").symlink_to(target)
    else:
        (content / "test-city" / "_unit.yaml").write_text("name: [\n", encoding="utf-8")
    err = refused(gongkai("check", "--content", str(content)), "test-city/_unit.yaml")
    assert "unknown unit" not in err and f"{UNIT}/_unit.yaml" not in err, err


def test_unit_yaml_symlink_out_of_content_is_refused(tmp_path):
    target = outside(tmp_path) / "unit.yaml"
    target.write_text(UNIT_YAML.replace("测试县", SECRET), encoding="utf-8")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / "other").mkdir()
    (content / "other" / "_unit.yaml").symlink_to(target)
    _assert_refused_build(tmp_path, content, "other/_unit.yaml")


def test_body_image_symlink_out_of_content_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, body="![图](pic.png)")})
    (content / UNIT / "qtwj" / "pic.png").symlink_to(_secret_file(tmp_path, "pic.png", png()))
    _assert_refused_build(tmp_path, content, "qtwj/pic.png")


def test_symlink_inside_content_works_fully_under_its_own_name(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, extra="attachments: [copy.pdf]\n"),
                              f"{UNIT}/shared/real.pdf": b"%PDF-1.4 inside\n"})
    (content / UNIT / "qtwj" / "copy.pdf").symlink_to(Path("../shared/real.pdf"))
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    assert (out / UNIT / "art/qtwj/copy.pdf").read_bytes() == b"%PDF-1.4 inside\n"
    assert '<a href="copy.pdf"' in (out / UNIT / "art/qtwj/a.html").read_text(encoding="utf-8")


def test_item_symlink_inside_content_is_refused_naming_the_link(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    (content / UNIT / "qtwj" / "b.md").symlink_to(Path("a.md"))
    err = refused(gongkai("check", "--content", str(content)), "qtwj/b.md")
    assert "qtwj/a.md" not in err


# --- B3. resource exhaustion -------------------------------------------------------------

ALIAS_BOMB = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))


def test_yaml_alias_bomb_in_item_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/bomb.md": "---\nl0: &l0 [x]\n" + ALIAS_BOMB + "title: t\n---\n"})
    err = refused(gongkai("check", "--content", str(content)), "qtwj/bomb.md:2:")
    assert "别名" in err


def test_yaml_alias_in_unit_yaml_is_refused(tmp_path):
    unit_yaml = UNIT_YAML.replace("name: 测试县人民政府", "name: &n 测试县人民政府") + "short_name: *n\n"
    content = tree(tmp_path, {}, unit_yaml=unit_yaml)
    refused(gongkai("check", "--content", str(content)), f"{UNIT}/_unit.yaml")


def test_yaml_alias_loader_refuses_anchors():
    with pytest.raises(yamlsrc.YamlError, match="别名"):
        yamlsrc.load("a: &x 1\nb: *x\n")


@pytest.mark.parametrize("depth", [5000, 200000])
def test_deep_nesting_is_a_clean_error(tmp_path, depth):
    content = tree(tmp_path, {f"{UNIT}/qtwj/deep.yaml": "title: " + "[" * depth + "]" * depth + "\n"})
    err = refused(gongkai("check", "--content", str(content)), "qtwj/deep.yaml:1:")
    assert "层" in err


def test_oversized_item_file_is_refused(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/big.md": item(1, body="正" * (paths.MAX_TEXT_BYTES // 3 + 10))})
    err = refused(gongkai("check", "--content", str(content)), "qtwj/big.md")
    assert "MB" in err


def test_fifo_among_items_is_skipped_with_a_warning(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1)})
    os.mkfifo(content / UNIT / "qtwj" / "pipe.md")
    out = tmp_path / "out"
    result = bounded("html", "--content", str(content), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "qtwj/pipe.md" in result.stderr and "Traceback" not in result.stderr
    assert (out / UNIT / "art/qtwj/a.html").is_file()
    assert bounded("validate", "--content", str(content)).returncode == 0


def test_catastrophic_index_pattern_cannot_spin(tmp_path):
    unit = UNIT_YAML + "index_pattern: '^{org_code}/(a+)+$'\n"
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1).replace(f"{ORG}/2024-00001", f"{ORG}/" + "a" * 34 + "!")},
                   unit_yaml=unit)
    result = bounded("check", "--content", str(content))
    refused(result, "qtwj/a.md")
    assert "index_pattern" in result.stderr


@pytest.mark.parametrize("body", ["![" * 400_000, "![](a" * 200_000, "<img " * 200_000])
def test_image_scan_of_a_hostile_body_cannot_spin(tmp_path, body):
    # Before: each '![' rescanned the rest of the body (minutes for 100 KB).
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, body=body)})
    result = bounded("validate", "--content", str(content))
    assert "Traceback" not in result.stderr


def test_huge_png_is_one_line_naming_the_file(tmp_path):
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, body="![大图](huge.png)"),
                              f"{UNIT}/qtwj/huge.png": png(20000, 20000)})
    err = refused(gongkai("check", "--content", str(content)), "qtwj/a.md")
    assert "huge.png" in err and "400000000 像素" in err


@pytest.mark.parametrize("where", ["body", "attachment"])
def test_non_image_named_png_is_one_line_naming_the_file(tmp_path, where):
    extra, body = ("attachments: [fake.png]\n", "正文。") if where == "attachment" else ("", "![图](fake.png)")
    content = tree(tmp_path, {f"{UNIT}/qtwj/a.md": item(1, extra=extra, body=body),
                              f"{UNIT}/qtwj/fake.png": b"this is not an image\n"})
    err = refused(build(content, tmp_path / "out"), "qtwj/a.md")
    assert "fake.png" in err


# --- B4. encodings -----------------------------------------------------------------------

def test_utf16le_without_bom_is_named_utf16(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(item(1).encode("utf-16-le"))
    with pytest.raises(source.SourceError, match="UTF-16"):
        source.read_text(path)
    ascii_only = tmp_path / "b.md"
    ascii_only.write_bytes("---\ntitle: x\n---\n".encode("utf-16-le"))
    with pytest.raises(source.SourceError, match="UTF-16"):
        source.read_text(ascii_only)


def test_markdown_render_of_a_hostile_body_is_bounded():
    # python-markdown is quadratic on some inputs; a worker must not spin on one for minutes.
    import time

    from gongkai.render import Renderer, RenderTimeout
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        Renderer(seconds=1)("![" * 400_000)
    assert time.monotonic() - started < 10
    assert "<p>正文</p>" in Renderer(seconds=1)("正文")
