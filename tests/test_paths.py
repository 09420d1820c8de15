"""The path gate: names, links, file types and sizes, checked without opening anything."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from gongkai import paths


@pytest.fixture
def root(tmp_path) -> Path:
    content = tmp_path / "content"
    (content / "u" / "col").mkdir(parents=True)
    (content / "u" / "col" / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "outside.pdf").write_bytes(b"secret")
    return content


def message(path: Path, root: Path, **kw) -> tuple[str, str]:
    with pytest.raises(paths.PathError) as err:
        paths.vet(path, root, **kw)
    return err.value.shown, err.value.message


def test_a_real_file_inside_is_its_real_path(root):
    assert paths.vet(root / "u/col/a.md", root) == (root / "u/col/a.md").resolve()


def test_a_link_inside_works_only_where_links_are_allowed(root):
    link = root / "u/col/b.md"
    link.symlink_to("a.md")
    assert paths.vet(link, root, links=True) == (root / "u/col/a.md").resolve()
    shown, why = message(link, root)
    assert shown.endswith("u/col/b.md") and "符号链接" in why


def test_a_link_out_of_the_folder_or_dangling_is_named_as_the_link(root, tmp_path):
    out, gone = root / "u/col/out.pdf", root / "u/col/gone.pdf"
    out.symlink_to(tmp_path / "outside.pdf")
    gone.symlink_to(tmp_path / "nothing.pdf")
    shown, why = message(out, root, links=True)
    assert shown.endswith("u/col/out.pdf") and "内容文件夹之外" in why
    shown, why = message(gone, root, links=True)
    assert shown.endswith("u/col/gone.pdf") and "不存在" in why


def test_a_linked_folder_on_the_way_is_refused(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.pdf").write_bytes(b"secret")
    (root / "u/linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    shown, why = message(root / "u/linked/x.pdf", root, links=True)
    assert shown.endswith("u/linked") and "之外" in why


def test_a_fifo_is_refused_without_being_opened(root):
    fifo = root / "u/col/p.md"
    os.mkfifo(fifo)
    assert not paths.is_regular(fifo)
    assert "FIFO" in message(fifo, root)[1]


def test_size_is_bounded_before_reading(root):
    big = root / "u/col/big.md"
    big.write_bytes(b"x" * 2048)
    assert "文件过大" in message(big, root, max_bytes=1024)[1]


def test_walk_lists_links_without_following_and_skips_hidden(root, tmp_path):
    (root / "u/.git").mkdir()
    (root / "u/.git/x.md").write_text("x", encoding="utf-8")
    (root / "u/linked").symlink_to(tmp_path, target_is_directory=True)
    found = [p.relative_to(root).as_posix() for p in paths.walk(root / "u")]
    assert found == ["u/col", "u/col/a.md", "u/linked"]


def test_walk_kinds_come_from_the_listing_without_a_stat_per_file(root, tmp_path, monkeypatch):
    """A province's scan learns each entry's kind from the folder listing: no lstat or
    stat per file (each is a system call; ~20,000 items a build)."""
    for n in range(30):
        (root / "u/col" / f"{n}.md").write_text("x", encoding="utf-8")
    (root / "u/col/link.md").symlink_to("a.md")
    (root / "u/linked").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(root / "u/col/p.md")
    calls = []
    for name in ("lstat", "stat"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda *a, _real=real, **k: calls.append(a) or _real(*a, **k))
    kinds = dict((p.relative_to(root).as_posix(), k) for p, k in paths.walk_kinds(root / "u"))
    monkeypatch.undo()
    assert kinds["u/col"] == "dir" and kinds["u/col/a.md"] == "file" and kinds["u/col/7.md"] == "file"
    assert kinds["u/col/link.md"] == "link" and kinds["u/linked"] == "link" and kinds["u/col/p.md"] == "other"
    assert "u/linked/content" not in " ".join(kinds)   # a linked folder is listed, not entered
    assert len(calls) <= 2, calls                      # not one a file (the file system gives d_type)
    assert [p for p, _ in paths.walk_kinds(root / "u")] == paths.walk(root / "u")
