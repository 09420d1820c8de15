"""The unit worker's link scan from the pages' text in memory (check/links.py ``Written``):
the pages the unit's writer wrote in this build are not read back, and the scan (the stash
file, byte for byte) is the scan of the disk; every other page is read from disk."""
from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from pelican.writers import FileOverwriteFailedError

import gongkai.build as build_mod
from gongkai.articles import UnitWriter
from gongkai.check import links

from conftest import ROOT

PIECES = ["<p>", "</p>", "正文", "\n", "\r\n", "\r", " ", "\u3000", "𠀀", 'href="', 'id="', '"', "=", "&amp;",
          ' href="../index.html"', ' href="b.html#q"', ' id="q"', ' name="n"', ' src="img/a.png"', ' href="gone.html"',
          ' href="https://www.gov.cn/"', ' href="#q"', ' href="?x=1"', '<a href="x.html"', ">", "a = b"]
TAIL = '<nav><a href="../index.html">首页</a> <a href="b.html#q" class="c">b</a></nav>\n<footer id="f"></footer>\n'


def random_page(rng: random.Random) -> str:
    return "<!doctype html>\n<html><body>\n" + "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60))) + TAIL


def stash_bytes(folder: Path, uid: str, written: links.Written | None) -> bytes:
    with tempfile.TemporaryDirectory() as where:
        links.stash_unit(folder, uid, Path(where), "", written)
        return (Path(where) / f"{uid}.pickle").read_bytes()


def test_the_writers_texts_scan_as_the_disk(tmp_path, monkeypatch):
    """Random pages (CR and CRLF, CJK and astral characters, hostile markup) written by the
    unit's writer; a page above MAX_PAGE_BYTES; a page written twice (override), one skipped
    (not overwritten), one refused (written twice without override), one written again by
    Pelican's ``_open_w``, one that cannot be encoded (a lone surrogate: invalid UTF-8 cannot
    come from a str); one whose write failed half way; pages put there by others (a copy, as
    per-page reuse does; a page replaced by another of the same size, one rewritten in place,
    one made a FIFO): the stash from memory is the stash read from disk, byte for byte, and
    only the pages the writer's text does not stand for are read (a copy with invalid UTF-8
    among them)."""
    rng = random.Random(15)
    folder = tmp_path / "u"
    writer = UnitWriter(str(folder), settings={})
    writer.texts = written = links.Written()
    pages: dict[str, str] = {}
    for n in range(80):
        rel = f"art/{'ab'[n % 2]}/p{n}.html" if n % 5 else f"c{n}/index.html"
        pages[rel] = random_page(rng)
    monkeypatch.setattr(links, "MAX_PAGE_BYTES", 3_000)
    pages["art/a/big.html"] = random_page(rng) + "<p>大</p>" * 1_000
    for rel, text in pages.items():
        os.makedirs(folder / os.path.dirname(rel), exist_ok=True)
        writer._write_text(str(folder / rel), text, False)
    # written twice: the second (override) is on disk; then a third is skipped (not overwritten)
    writer._write_text(str(folder / "index.html"), '<a href="art/b/p1.html">一</a>', True)
    writer._write_text(str(folder / "index.html"), '<a href="gone.html">二</a>', False)
    with pytest.raises(FileOverwriteFailedError):
        writer._write_text(str(folder / "art/b/p1.html"), '<a href="refused.html">x</a>', False)
    # a str that is not valid Unicode (a lone surrogate) cannot be encoded: refused before the
    # file is opened, which keeps the text written before it
    with pytest.raises(UnicodeEncodeError):
        writer._write_text(str(folder / "art/b/p5.html"), '<a href="\ud800.html">x</a>', True)
    # Pelican's own writes (feeds) go through _open_w: a page written that way is not held
    held = len(written)
    with writer._open_w(str(folder / "art/a/p8.html"), "utf-8", True) as f:
        f.write(pages["art/a/p8.html"])
    assert len(written) == held - 1
    # a write that fails after the file was truncated: the held text of its first write is dropped
    real_write = os.write

    def failing(fd, data):
        if b"FAILS" in bytes(data):
            real_write(fd, bytes(data)[:7])
            raise OSError(28, "No space left on device")
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(OSError):
        writer._write_text(str(folder / "art/b/p3.html"), "FAILS" + pages["art/b/p3.html"], True)
    monkeypatch.setattr(os, "write", real_write)
    # others: a copied page (per-page reuse), a page replaced by a same-size other, one rewritten
    # in place (an attachment copied over it), one made a FIFO
    (folder / "art/a/copied.html").write_bytes(b'<a href="p2.html">copy</a>\r\n<p id="k\xff\xfe">')
    same_size = pages["art/a/p4.html"].replace("<", "[")
    assert len(same_size.encode()) == len(pages["art/a/p4.html"].encode())
    (folder / "art/a/new.tmp").write_bytes(same_size.encode())
    os.replace(folder / "art/a/new.tmp", folder / "art/a/p4.html")
    (folder / "art/a/p6.html").write_bytes(b'<a href="attachment.html">in place</a>')
    os.unlink(folder / "art/b/p7.html")
    os.mkfifo(folder / "art/b/p7.html")

    read: list[str] = []
    real_read = links._read_page
    monkeypatch.setattr(links, "_read_page", lambda path, regular: read.append(path) or real_read(path, regular))
    from_memory = stash_bytes(folder, "u", written)
    assert sorted(os.path.relpath(p, folder) for p in read) == [
        "art/a/big.html", "art/a/copied.html", "art/a/p4.html", "art/a/p6.html", "art/a/p8.html", "art/b/p3.html"]
    read.clear()
    assert from_memory == stash_bytes(folder, "u", None)
    assert len(read) == len(pages) + 1   # every page but the FIFO, the copy and index.html read
    files, found = links.scan_unit(folder, "u", written=written)
    assert "u/art/b/p7.html" not in files.files and "u/art/a/big.html" in files.files
    assert "u/art/a/big.html" not in files.anchors
    assert [h for p in found if p.path == "u/index.html" for _, h in p.links] == ["art/b/p1.html"]


def test_held_texts_are_bounded_and_dropped():
    """At most ``budget`` bytes of text are held (the later pages are read from disk), a page
    written again gives its room back, and ``clear`` drops them all."""
    written = links.Written(budget=3 * (len("页" * 1000) * 2 + 100))
    fake = os.stat(__file__)
    for n in range(5):
        written.keep(f"/o/u/p{n}.html", "页" * 1000, 3000, fake)
    assert len(written) == 3
    written.forget("/o/u/p0.html")
    written.keep("/o/u/p9.html", "页" * 1000, 3000, fake)
    written.keep("/o/u/feed.xml", "<feed/>", 7, fake)   # the scan reads only pages
    assert len(written) == 3 and written.text("/o/u/p9.html") is None   # (not the file at that path)
    written.clear()
    assert len(written) == 0 and written.room == written.budget


_BUILD_UNIT = build_mod.build_unit


def _probe_unit(job: dict) -> dict:
    """build_unit in a worker, with the .html pages the link scan read from disk noted and
    its stash compared with a scan of the disk alone."""
    read: list[str] = []
    real_read, real_stash = links._read_page, links.stash_unit
    same: list[bool] = []

    def reading(path, regular):
        read.append(path)
        return real_read(path, regular)

    def stashing(folder, uid, stash, site_root, *rest):
        real_stash(folder, uid, stash, site_root, *rest)
        scanned = list(read)
        with tempfile.TemporaryDirectory() as where:
            real_stash(folder, uid, Path(where), site_root)
            same.append((Path(stash) / f"{uid}.pickle").read_bytes() == (Path(where) / f"{uid}.pickle").read_bytes())
        read[:] = scanned

    links._read_page, links.stash_unit = reading, stashing
    try:
        result = _BUILD_UNIT(job)
    finally:
        links._read_page, links.stash_unit = real_read, real_stash
    folder = job["override"]["OUTPUT_PATH"]
    result["read_pages"] = sorted(os.path.relpath(p, folder) for p in read if p.endswith(".html"))
    result["stash_same"] = same
    return result


def _build(content: Path, out: Path, monkeypatch, day: str, use_cache: bool) -> dict[str, dict]:
    from gongkai import timings
    seen: list[dict] = []
    monkeypatch.setattr(build_mod, "build_unit", _probe_unit)
    worker = timings.Stopwatch.worker
    monkeypatch.setattr(timings.Stopwatch, "worker", lambda self, result: seen.append(result) or worker(self, result))
    assert build_mod.build(content, out, ROOT / "pelicanconf.py", ROOT / "catalogs", day, jobs=2,
                           use_cache=use_cache) == 0
    return {r["unit"]: r for r in seen}


def test_a_unit_worker_does_not_read_back_the_pages_it_wrote(tmp_path, monkeypatch):
    """Cold: no page a unit's worker wrote is read back by its link scan, and its stash is
    the stash of the disk. Rebuilt with the cache after one body edit: the item pages copied
    from the previous output (incremental/pages.py) are read from disk, the pages rendered are
    not, and the stash is again the disk's."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    out = tmp_path / "output"
    cold = _build(content, out, monkeypatch, "2026-11-22", use_cache=True)
    assert len(cold) == 5
    for uid, result in cold.items():
        assert result["stash_same"] == [True], uid
        assert result["read_pages"] == [], (uid, result["read_pages"][:5])
    unit = "shili-town"
    item = content / unit / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    item.write_text(item.read_text(encoding="utf-8") + "\n编辑后追加的一段。\n", encoding="utf-8")
    again = _build(content, out, monkeypatch, "2026-11-22", use_cache=True)
    assert set(again) == {unit}
    pages = {p.relative_to(out / unit).as_posix() for p in (out / unit / "art").rglob("*.html")}
    read = again[unit]["read_pages"]
    assert again[unit]["stash_same"] == [True]
    assert read and set(read) < pages and "art/xxgkzd/2025-zhengwu-gongkai-gongzuo-zhidu.html" not in read
