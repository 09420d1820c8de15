"""Incremental rebuilds (issue 15, docs/performance.md "Incremental rebuilds").

    store.py      the cache folder beside the output (``.<output>.cache/``), content hashes
    validate.py   the pre-pass keeps validated items of unchanged files
    units.py      a unit whose key did not change keeps its previous output folder
    pages.py      in a unit that is rebuilt, item pages whose key did not change are copied

A cached and an uncached (``--no-cache``) build of the same input and as-of date give
byte-identical output (tests/test_incremental.py).
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from .pages import SHOWN
from . import store
from ..paths import read_regular
from .store import MARKER, MAX_MARKER, Cache
from .units import RECORD, Reuse, restore, targets_file
from .validate import ItemCache

__all__ = ["Cache", "ItemCache", "Reuse", "open_cache", "prepare_jobs", "restore", "summary"]


def open_cache(output: Path, enabled: bool = True) -> Cache:
    """The cache of ``output``. Disabled (``--no-cache``), the recorded unit keys are
    dropped too: the output this build writes is not the one they describe."""
    if not enabled:
        _drop_record(store.folder_of(output))
    return Cache.open(output, enabled)


def _drop_record(folder: Path) -> None:
    try:
        st = os.lstat(folder)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
            json.loads(read_regular(folder / MARKER, MAX_MARKER).decode("utf-8"))
            record = folder / RECORD
            if record.is_file() and not record.is_symlink():
                record.unlink()
    except (OSError, ValueError):
        pass


def prepare_jobs(cache: Cache, jobs: list[dict], reuse: Reuse | None = None) -> None:
    """Each unit job records the targets of its body links for the unit's next key, and
    (``reuse``) copies its unchanged item pages from the previous output (pages.py)."""
    if not cache.enabled:
        return
    for job in jobs:
        path = targets_file(cache, job["unit"])
        Path(path).unlink(missing_ok=True)   # a stale file must never stand for this build's
        job["override"]["GK_LINK_TARGETS_FILE"] = path
    if reuse is not None:
        reuse.prepare(jobs)


def summary(cache: Cache, reuse: Reuse, built: list[str]) -> str:
    """One line per build: how much was reused, and why the rebuilt units were (up to 5)."""
    units = len(built) + len(reuse.reused)
    if not cache.enabled:
        return f"incremental: cache off, rebuilt {units} of {units} units"
    why = ""
    if built and not reuse.previous:
        why = f" ({reuse.note or 'no previous build'})"
    elif built and len(built) <= 5:
        why = " (" + "; ".join(f"{uid}: {reuse.why(uid)}" for uid in sorted(built)) + ")"
    elif built and reuse.note:
        why = f" ({reuse.note})"
    rendered, copied, patched = reuse.page_counts
    names = f" ({', '.join(sorted(reuse.rendered_pages))})" if 0 < rendered <= SHOWN else ""
    pages = (f"; item pages of rebuilt units: rendered {rendered}{names}, copied {copied} "
             f"({patched} with the column tree's counts updated)") if built else ""
    return (f"incremental: rebuilt {len(built)} of {units} units{why}, reused {len(reuse.reused)}{pages} "
            f"(cache {cache.folder})")
