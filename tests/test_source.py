"""Decoding content files and splitting front matter."""
import codecs

import pytest

from gongkai.source import SourceError, read_text, split_front_matter


def test_gbk_file_is_named_with_line(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(b"---\ntitle: ok\n" + "标题: 关于印发\n".encode("gbk"))
    with pytest.raises(SourceError) as err:
        read_text(path)
    assert err.value.line == 3
    assert "not UTF-8" in err.value.message and "GBK/GB18030" in err.value.message


def test_utf16_is_named(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(codecs.BOM_UTF16_LE + "---\n".encode("utf-16-le"))
    with pytest.raises(SourceError, match="UTF-16"):
        read_text(path)


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(codecs.BOM_UTF8 + "---\r\ntitle: 标题\r\n---\r\n正文\r\n".encode())
    assert read_text(path) == "---\ntitle: 标题\n---\n正文\n"


def test_front_matter_split_gives_lines():
    split = split_front_matter("---\ntitle: a\n---\n\nbody\n")
    assert (split.front, split.front_line, split.body_line) == ("title: a", 2, 4)
    assert split.body.strip() == "body"


@pytest.mark.parametrize("text, message", [
    ("title: a\n", "missing front matter"),
    ("---\ntitle: a\nbody\n", "front matter is not closed"),
])
def test_front_matter_errors(text, message):
    with pytest.raises(SourceError, match=message):
        split_front_matter(text)


def test_short_gbk_that_decodes_as_utf8_is_still_caught(tmp_path):
    # GBK 通知 is CD A8 D6 AA: valid UTF-8 bytes, meaning "֪ͨ".
    path = tmp_path / "a.md"
    path.write_bytes("---\ntitle: 通知\n---\n".encode("gbk"))
    with pytest.raises(SourceError) as err:
        read_text(path)
    assert err.value.line == 2 and "GBK/GB18030" in err.value.message


def test_utf8_chinese_is_not_mistaken_for_gbk(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: 通知 café\n---\n", encoding="utf-8")
    assert "通知 café" in read_text(path)


def test_unreadable_file_is_a_source_error_not_a_traceback(tmp_path):
    folder = tmp_path / "a.md"
    folder.mkdir()   # reading a folder fails for root too
    with pytest.raises(SourceError, match="无法读取文件"):
        read_text(folder)


@pytest.mark.parametrize("size", [0, 1, 4845, (1 << 20) + 3])
def test_read_bytes_reads_the_whole_file(tmp_path, size):
    from gongkai.source import read_bytes
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (tmp_path / "f.md").write_bytes(data)
    assert read_bytes(tmp_path / "f.md") == data
    assert read_bytes(str(tmp_path / "f.md")) == data


def test_read_bytes_reads_on_when_the_file_is_longer_than_its_stat_said(tmp_path, monkeypatch):
    import os

    from gongkai import source
    (tmp_path / "f.md").write_bytes(b"y" * 5000)
    real = os.fstat
    monkeypatch.setattr(source.os, "fstat", lambda fd: os.stat_result((*real(fd)[:6], 10, *real(fd)[7:])))
    assert source.read_bytes(tmp_path / "f.md") == b"y" * 5000
