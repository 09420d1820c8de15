"""The pre-pass's work per item (issue 15, helper "pre"): a file the unit's walk listed is
read without a second lstat chain, and is still refused as vet refuses it when it is not
what the walk saw; the spool keeps full items as their slim pack plus what slimming took;
the cheap tests in front of the name rule, the UTF-16 guess and the digit-run search give
the answers of the full ones."""
from __future__ import annotations

import os
import random
import re
import sys
import threading

import pytest

from gongkai import paths, source
from gongkai import spool as spool_mod
from gongkai.items import DIGIT_RUN
from gongkai.schema import read_item
from gongkai.site import item_files

ITEM = "---\ntitle: 测试文件\ncolumn: qtwj\nindex_no: 11990102MB0000003X/2024-00001\npublished: 2024-03-01\n---\n正文。\n"


def _problems(result):
    item, problems = result
    return item, [(p.path, p.line, p.field, p.message, p.rule, p.severity) for p in problems]


def _count_lstat(monkeypatch) -> list:
    calls: list = []
    real = os.lstat

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", counting)
    return calls


def test_a_walked_regular_file_is_read_without_an_lstat_chain(county, cats, monkeypatch):
    (county.folder / "qtwj").mkdir()
    path = county.folder / "qtwj" / "a.md"
    path.write_text(ITEM, encoding="utf-8")
    [listed] = item_files(county)
    expected = read_item(listed, county, cats)
    calls = _count_lstat(monkeypatch)
    walked = read_item(listed, county, cats, walked=True)
    assert calls == []          # main: three per item (unit folder, column folder, file)
    assert walked[0] == expected[0] and walked[0].path == listed and not walked[1]


@pytest.mark.parametrize("swap", ["outside link", "inside link", "dangling link", "fifo", "gone", "too large",
                                  "folder"])
def test_a_walked_file_that_changed_after_the_walk_is_refused_as_vet_refuses_it(county, cats, tmp_path, swap):
    """The walk saw a regular file; by the time it is read it is something else. The
    walked read opens without following a link or blocking on a FIFO, and names what it
    finds exactly as the unwalked read (the lstat chain) does."""
    (county.folder / "qtwj").mkdir()
    path = county.folder / "qtwj" / "a.md"
    path.write_text(ITEM, encoding="utf-8")
    [listed] = item_files(county)
    outside = tmp_path / "secret.md"
    outside.write_text(ITEM.replace("正文", "SECRET"), encoding="utf-8")
    inside = county.folder / "qtwj" / "b.txt"
    inside.write_text(ITEM, encoding="utf-8")
    path.unlink()
    if swap == "outside link":
        path.symlink_to(outside)
    elif swap == "inside link":
        path.symlink_to(inside)
    elif swap == "dangling link":
        path.symlink_to(tmp_path / "nowhere.md")
    elif swap == "fifo":
        os.mkfifo(path)
    elif swap == "too large":
        path.write_bytes(b"x" * (paths.MAX_TEXT_BYTES + 1))
    elif swap == "folder":
        path.mkdir()
    done: list = []
    reader = threading.Thread(target=lambda: done.append(read_item(listed, county, cats, walked=True)), daemon=True)
    reader.start()
    reader.join(10)
    assert done, "the walked read blocked"
    walked = _problems(done[0])
    assert walked == _problems(read_item(listed, county, cats))
    assert walked[0] is None and len(walked[1]) == 1 and walked[1][0][4] == "item.path"


def test_a_walked_file_below_a_folder_swapped_for_a_link_is_refused(county, cats, tmp_path):
    """A folder that the walk entered as a real folder and that is a link (out of the
    content folder) by the time its files are read: refused naming the link, nothing read."""
    (county.folder / "qtwj").mkdir()
    (county.folder / "qtwj" / "a.md").write_text(ITEM, encoding="utf-8")
    [listed] = item_files(county)
    elsewhere = tmp_path / "elsewhere"
    (county.folder / "qtwj").rename(elsewhere)
    (county.folder / "qtwj").symlink_to(elsewhere)
    walked = _problems(read_item(listed, county, cats, walked=True))
    assert walked == _problems(read_item(listed, county, cats))
    assert walked[0] is None and "符号链接" in walked[1][0][3]


def test_spool_keeps_full_items_as_their_slim_pack_and_what_slimming_took(tmp_path, county, cats):
    from gongkai.fields import QA
    (county.folder / "zcjd").mkdir()
    items = []
    for n in range(3):
        p = county.folder / "zcjd" / f"{n}.md"
        p.write_text(f"---\ntitle: 解读{n}\ncolumn: zcjd\ntype: interpretation\ninterprets: [x/y]\n"
                     f"published: 2024-03-0{n + 1}\nkeywords: [甲, 乙]\n---\n正文{n} 13800138000\n", encoding="utf-8")
        item, problems = read_item(p, county, cats)
        assert item is not None, problems
        if n == 1:
            item.qa = [QA("问", "答 12345678901", "")]
        items.append(item)
    spool = spool_mod.Spool(tmp_path)
    packed = spool_mod.pack([spool_mod.slim(i) for i in items])
    spool.write("u", items, packed)
    spool.forget()
    loaded = spool.load("u")
    assert loaded == items and all(i.digit_runs is None for i in loaded)
    assert [i.body for i in loaded] == [i.body for i in items] and loaded[1].qa[0].a == "答 12345678901"
    # Each loaded item has its own containers: one changed in a unit worker changes no other.
    for name in ("keywords", "attachments", "images", "interprets", "data"):
        assert len({id(getattr(i, name)) for i in loaded}) == len(loaded), name
    loaded[0].keywords.append("丙")
    loaded[0].data["x"] = 1
    assert loaded[1].keywords == ["甲", "乙"] and loaded[1].data == {}
    spool.write("v", items)     # without the pack: the items pickled whole, as before
    assert spool.load("v") == items
    spool.close()


def test_plain_names_get_the_answers_of_the_name_rule_loop():
    rng = random.Random(15)
    alphabet = "aZ09-_.()[]+,~ #:%\"'<>/\\\x00\u202e中（一）　é"
    names = ["", "-", " ", "a", "a ", " a", "-a", "a-", "x" * 160, "x" * 161, "2024-0001.md", "a b.md"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(20000)]
    for name in names:
        plain = paths._PLAIN_NAME.fullmatch(name) is not None
        slow = _slow_name_problem(name)
        assert paths.name_problem(name) == slow
        if plain:
            assert slow is None, name


def _slow_name_problem(name: str):
    """name_problem without its plain-name test (the rule as written before it)."""
    real = paths._PLAIN_NAME
    try:
        paths._PLAIN_NAME = re.compile(r"(?!)")
        return paths.name_problem(name)
    finally:
        paths._PLAIN_NAME = real


def test_the_digit_run_search_finds_every_run_of_the_digits_re_knows():
    """DIGIT_RUN (the regex module) is the privacy rule's first look, before its ``re``
    patterns: every character re's \\d matches is a digit to it too."""
    digits = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and re.match(r"\d", chr(c))]
    assert len(digits) > 600
    assert all(DIGIT_RUN.fullmatch(d * 11) for d in digits)
    assert all(DIGIT_RUN.search("中" + digits[n % len(digits)] * 5 + digits[-n % len(digits)] * 6 + "文")
               for n in range(0, len(digits), 7))
    assert not DIGIT_RUN.search("1" * 10 + "中" + "１" * 10)


def test_the_utf16_guess_and_the_digit_run_search_answer_as_before():
    rng = random.Random(15)
    pieces = ["\n", "a", "中", "１", "1", "٣", "\x00", "𝟙", "，", "\r"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert (DIGIT_RUN.search(text) is None) == (re.search(r"\d{11}", text) is None)
        for data in (text.encode("utf-8"), text.encode("utf-16-le", "surrogatepass"),
                     text.encode("utf-16-be", "surrogatepass"), text.encode("gb18030", "replace")):
            assert source._utf16_without_bom(data) == _utf16_as_before(data)


def _utf16_as_before(data: bytes):
    if len(data) < 4 or len(data) % 2:
        return None
    for codec, label in (("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\n" not in text:
            continue
        usual = sum(1 for ch in text if ch in "\n\r\t" or " " <= ch <= "~" or "\u3000" <= ch <= "\u303f"
                    or "\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
        if usual >= 0.95 * len(text):
            return label
    return None


def test_front_matter_is_split_as_by_lines():
    rng = random.Random(15)
    pieces = ["---", "...", "\n", " ", "a", "中", "-", ".", "\t", "\u2028", "\x0b"]
    for _ in range(50000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        try:
            split = source.split_front_matter(text)
            got = (split.front, split.body, split.front_line, split.body_line)
        except source.SourceError as exc:
            got = (exc.message, exc.line)
        assert got == _split_by_lines(text), text


def _split_by_lines(text: str):
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return source.NO_FRONT_MATTER, 1
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), 2, i + 2
    return source.OPEN_FRONT_MATTER, 1
