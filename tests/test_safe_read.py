"""``paths.read_regular``: the one read of a file that may have been swapped for something
else (a link, a FIFO, a folder, a huge file), in content, in the build cache or in the
previous output. A FIFO is refused, never waited on: a build that opened one to read it
would hang for ever."""
from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import ROOT, bounded, build

from gongkai import paths

UNIT = "shili-town"


def in_time(fn, seconds: float = 10.0):
    """``fn()``'s result or exception; the test fails if it does not return in time (a hang)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail("the read is still waiting (hang)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_regular_file_is_read_whole(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"x" * 5000)
    assert paths.read_regular(f, 5000) == b"x" * 5000
    assert paths.read_regular(str(f), 1 << 20) == b"x" * 5000


def test_a_link_is_refused_and_its_target_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(secret)
    with pytest.raises(OSError) as err:
        paths.read_regular(tmp_path / "link.txt", 100)
    assert err.value.errno == errno.ELOOP


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_a_folder_is_refused_without_waiting(tmp_path, kind):
    path = tmp_path / "odd"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(paths.NotRegular):
        in_time(lambda: paths.read_regular(path, 100))


def test_the_limit_refuses_or_truncates(tmp_path):
    f = tmp_path / "big"
    f.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(paths.TooLarge):
        paths.read_regular(f, 2559)
    assert paths.read_regular(f, 2560) == bytes(range(256)) * 10
    assert paths.read_regular(f, 300, truncate=True) == (bytes(range(256)) * 2)[:300]


def test_a_file_larger_than_its_size_says_is_still_bounded():
    # /proc files say size 0 and hold more: the read stops at the limit, as for a file
    # that grows while it is read
    status = "/proc/self/status"
    if not os.path.exists(status):
        pytest.skip("no /proc")
    whole = Path(status).read_bytes()
    assert len(whole) > 64
    with pytest.raises(paths.TooLarge):
        paths.read_regular(status, 64)
    assert len(paths.read_regular(status, 64, truncate=True)) == 64


def test_same_path_refuses_a_file_reached_through_a_linked_folder(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "f.md").write_text("正文", encoding="utf-8")
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    full = str(real / "f.md")
    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc")
    assert paths.read_regular(full, 100, same_path=full) == "正文".encode()
    through = str(tmp_path / "via" / "f.md")
    with pytest.raises(paths.NotRegular):
        paths.read_regular(through, 100, same_path=through)


def test_owner_is_checked(tmp_path):
    f = tmp_path / "mine"
    f.write_bytes(b"1")
    assert paths.read_regular(f, 10, owner=os.geteuid()) == b"1"
    with pytest.raises(paths.NotRegular):
        paths.read_regular(f, 10, owner=os.geteuid() + 1)


# --- in a build: the cache and the previous output -------------------------------------

@pytest.fixture
def cached(tmp_path):
    """A copy of the sample, built once with its cache."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    out = tmp_path / "output"
    first = build(content, out, "--jobs", "2")
    assert first.returncode == 0, first.stderr
    return content, out


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def rebuild_bounded(content: Path, out: Path, *extra: str):
    result = bounded("html", "--content", str(content), "--output", str(out), "--settings",
                     str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"), "--jobs", "2", *extra,
                     seconds=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def edit_one_item(content: Path) -> None:
    item = content / UNIT / "xxgkzd" / "2025-zhengwu-gongkai-gongzuo-zhidu.md"
    item.write_text(item.read_text(encoding="utf-8") + "\n追加的一段。\n", encoding="utf-8")


def same_as_uncached(content: Path, out: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / "output"
    result = build(content, fresh, "--jobs", "2", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert tree(out) == tree(fresh)


def fifos_then_rebuild(content: Path, out: Path, tmp_path: Path, fifos: list[Path]):
    """Each of ``fifos`` replaced by a FIFO, one item edited, a rebuild that must end (it
    hung before), and its output equal to a --no-cache build's."""
    assert fifos
    for path in fifos:
        path.unlink()
        os.mkfifo(path)
    edit_one_item(content)
    result = rebuild_bounded(content, out)
    same_as_uncached(content, out, tmp_path)
    return result


def test_a_fifo_in_place_of_a_previous_page_is_not_waited_on(cached, tmp_path):
    """A rebuilt unit copies its unchanged pages from the previous output: one of them made
    a FIFO is rendered again, not opened and waited on."""
    content, out = cached
    pages = sorted(p for p in (out / UNIT / "art").rglob("*.html") if "zhengwu-gongkai-gongzuo-zhidu" not in p.name)
    fifos_then_rebuild(content, out, tmp_path, pages[:1])
    assert pages[0].is_file() and not pages[0].is_symlink()


def test_a_fifo_in_place_of_a_page_record_in_the_cache_is_not_waited_on(cached, tmp_path):
    content, out = cached
    fifos_then_rebuild(content, out, tmp_path, sorted((tmp_path / ".output.cache" / "pages").glob("*.json")))


@pytest.mark.parametrize("name", ["gongkai-cache.json", "units.json"])
def test_a_fifo_as_the_cache_marker_or_the_units_record_is_not_waited_on(cached, tmp_path, name):
    """The cache folder's marker and its record of units are read every cached build: a
    FIFO there means a full build (with a warning), not a build that waits for ever."""
    content, out = cached
    result = fifos_then_rebuild(content, out, tmp_path, [tmp_path / ".output.cache" / name])
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning: 构建缓存"))
    assert name in warning and "not a regular file" in warning, warning


def test_fifos_in_place_of_the_compiled_templates_are_not_waited_on(cached, tmp_path):
    """The workers read the theme's compiled templates from the cache: FIFOs there mean
    the templates are compiled afresh, and the build ends."""
    content, out = cached
    fifos_then_rebuild(content, out, tmp_path, [p for p in (tmp_path / ".output.cache" / "jinja").rglob("*")
                                                if p.is_file()])
