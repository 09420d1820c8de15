"""A reused unit's previous folder goes into the new output whole (issue 15, helper "edit"):
``Reuse.finish`` moved each of its ~35 entries on its own (45k renames a build at 1,300
units); now the folder is renamed once and this build's own entries (``lifecycle.json``,
``check/``, a dated empty feed) are swapped in by name (``units.swap_in``). A build
stopped after any one of those renames leaves the previous output whole at the next start."""
from __future__ import annotations

import os

import pytest

from conftest import AS_OF
from test_incremental import UNIT, check_uncached, rebuild, rebuilt, site, text, tree  # noqa: F401 - site: a fixture

from gongkai import build as build_mod
from gongkai.incremental import units as units_mod

UNITS = ("shili-town", "shili-city")


def _stage(out, partial) -> dict:
    """What a build writes for two reused units before ``finish`` (stage and the checker),
    and the swaps ``finish`` would journal: a fresh lifecycle.json and check page each, and
    for the city no check/ (its previous one is then dropped, as a build without the checker)."""
    swaps = {}
    for uid in UNITS:
        (partial / uid).mkdir(parents=True)
        (partial / uid / "lifecycle.json").write_text('{"new": 1}', encoding="utf-8")
        if uid == UNITS[0]:
            (partial / uid / "check").mkdir()
            (partial / uid / "check" / "index.html").write_text("new check page", encoding="utf-8")
        fresh = set(os.listdir(partial / uid))
        swaps[uid] = sorted([n, True] for n in fresh) + sorted([n, False] for n in units_mod.NOT_LINKED - fresh)
    return swaps


def _swap_all(out, partial, swaps, rename) -> None:
    units_mod._write_journal(out, partial, swaps)
    aside = out / units_mod.ASIDE
    aside.mkdir()
    for uid, names in swaps.items():
        units_mod.swap_in(str(out / uid), str(partial / uid), str(aside / uid), names, rename)


class Stop(Exception):
    pass


def _renames_until(stop_at: int):
    done = [0]

    def rename(src, dst):
        if done[0] == stop_at:
            raise Stop
        done[0] += 1
        os.rename(src, dst)

    return rename, done


def test_swapped_in_folder_is_the_previous_one_with_the_fresh_entries(site, tmp_path):
    content, out = site
    before = tree(out)
    partial = tmp_path / ".output.partial"
    swaps = _stage(out, partial)
    _swap_all(out, partial, swaps, os.rename)
    town, city = tree(partial / UNITS[0]), tree(partial / UNITS[1])
    assert town["lifecycle.json"] == b'{"new": 1}' and town["check/index.html"] == b"new check page"
    assert not any(name.startswith("check/") for name in city)                      # dropped
    kept = {k: v for k, v in before.items() if k.startswith(UNITS[0] + "/") and "/check/" not in k
            and not k.endswith("/lifecycle.json")}
    assert {f"{UNITS[0]}/{k}": v for k, v in town.items() if k not in ("lifecycle.json", "check/index.html")} == kept
    assert not (out / UNITS[0]).exists()


@pytest.mark.parametrize("cut", ["before-swap", "between-renames"])
def test_a_build_stopped_at_any_rename_of_the_swap_in_leaves_the_previous_output(site, tmp_path, cut):
    content, out = site
    before = tree(out)
    partial = tmp_path / ".output.partial"
    stop_at = 0
    while True:
        swaps = _stage(out, partial)
        rename, done = _renames_until(stop_at)
        try:
            _swap_all(out, partial, swaps, rename)
            finished = True
        except Stop:
            finished = False
        if finished and cut == "between-renames":
            out.rename(tmp_path / ".output.old")              # the swap's first rename, then killed
        build_mod.recover(out)
        assert tree(out) == before, stop_at
        assert not units_mod.journal(out).exists() and not (out / units_mod.ASIDE).exists()
        build_mod._remove(partial)
        if finished:
            break
        stop_at += 1
    assert stop_at >= 8                                      # every step of both units was cut once
    # The next build starts clean. (It renders every unit: the swap-in made a folder in the
    # output, whose identity the units record holds; a real build forgot that record first.)
    rebuild(content, out)
    assert tree(out) == before


def test_a_rebuild_reuses_folders_whole_and_equals_a_build_without_the_cache(site, tmp_path):
    content, out = site
    item = next((content / UNIT / "gsgg").glob("*.md"))
    item.write_text(text(item) + "\n追加一段。\n", encoding="utf-8")
    inode = (out / UNITS[1]).stat().st_ino
    kept = (out / UNITS[1] / "lifecycle.json").stat().st_ino
    page = (out / UNITS[1] / "check" / "index.html").stat().st_ino
    result = rebuild(content, out)
    assert rebuilt(result.stdout) == (1, 5)
    assert (out / UNITS[1]).stat().st_ino == inode           # the city's folder itself, moved
    # On the same day a reused unit's lifecycle.json is the previous one: not written again.
    assert (out / UNITS[1] / "lifecycle.json").stat().st_ino == kept
    assert (out / UNITS[1] / "check" / "index.html").stat().st_ino == page   # and its report page
    assert f"lifecycle: no item changed state on {AS_OF}" in result.stdout
    assert not (out / units_mod.ASIDE).exists()
    check_uncached(content, out, tmp_path)
    rebuild(content, out, "2026-11-23")
    assert (out / UNITS[1] / "check" / "index.html").stat().st_ino != page   # a new day: dated afresh
    check_uncached(content, out, tmp_path, "2026-11-23")
