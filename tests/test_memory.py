"""Memory flat in the number of units (issue 15): the unit workers are forked from a small
process made before the pre-pass (pool.py ``Zygote``), not from the parent that holds
the province's items and facts, and each job carries only the slice of the registry its
unit can show (build.py ``unit_slices``). Whether the output is the same is the other
tests' (every build goes through this pool); here: what a worker holds and sees."""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from conftest import ROOT, UNIT_YAML
from gongkai import build as build_mod
from gongkai import pool
from gongkai.facts import Facts
from gongkai.site import scan
from test_spool import ITEM, NO

LATE: list = []     # filled in the parent after the zygote was made: its workers never see it


def _job(job: dict) -> dict:
    if job.get("fail") == "raise":
        raise ValueError(f"job {job['n']} failed")
    if job.get("fail") == "die":
        os._exit(3)
    if job.get("fail") == "kill-zygote":     # the zygote killed while its workers are busy
        Path(job["marks"], str(os.getpid())).write_text("")
        if job["n"] == 0:
            os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    return {"n": job["n"], "late": len(LATE), "parent": os.getppid(), "shared": dict(build_mod._SHARED)}


def test_workers_are_forked_from_the_zygote_and_see_nothing_the_parent_made_after_it():
    zygote = pool.Zygote()
    LATE.extend(range(1000))     # what the parent builds after the zygote (the pre-pass, Facts)
    try:
        got = list(zygote.map(_job, ({"n": n} for n in range(7)), 2, build_mod._init_worker,
                              ({"GK_AS_OF": "2026-11-20"},), None))
    finally:
        LATE.clear()
    assert [r["n"] for r in got] == list(range(7))                   # in job order
    assert {r["late"] for r in got} == {0}
    assert {r["parent"] for r in got} == {zygote.process.pid}        # forked from the zygote
    assert all(r["shared"] == {"GK_AS_OF": "2026-11-20"} for r in got)
    assert not zygote.process.is_alive()                             # one pool, then it exits


def _warmed(job: dict) -> dict:
    from gongkai import catalogs
    return {"n": job["n"], "catalogs_cached": catalogs.load.cache_info().currsize}


def test_the_zygote_sets_up_once_what_every_worker_would():
    # build.warm_worker runs in the zygote while the parent scans; each worker inherits it.
    from gongkai import catalogs
    catalogs.load.cache_clear()
    zygote = pool.Zygote(lambda: build_mod.warm_worker(str((ROOT / "catalogs").resolve())))
    got = list(zygote.map(_warmed, ({"n": n} for n in range(3)), 2, build_mod._init_worker, ({},), None))
    assert [r["catalogs_cached"] for r in got] == [1, 1, 1]
    assert catalogs.load.cache_info().currsize == 0      # in the zygote, not in the parent
    cold = pool.Zygote()
    assert [r["catalogs_cached"] for r in cold.map(_warmed, [{"n": 0}], 1, build_mod._init_worker, ({},), None)] == [0]


def _refaults(job: dict) -> dict:
    """Page faults of allocating, filling and freeing a 4 MiB block 20 times (after once)."""
    import resource

    import numpy as np

    np.ones(1 << 19).sum()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        np.ones(1 << 19).sum()     # 4 MiB of float64, every page written
    return {"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}


def _has_mallopt() -> bool:
    import ctypes
    return hasattr(ctypes.CDLL(None), "mallopt")


@pytest.mark.skipif(not _has_mallopt(), reason="glibc's mallopt")
def test_a_unit_worker_reuses_the_large_blocks_it_frees():
    """A unit worker keeps the heap it frees (pool.keep_freed_heap): the search index's arrays,
    unit after unit, are not faulted in again page by page (glibc maps a block this size
    afresh, or gives it back on free, by default: ~1,000 faults a round)."""
    got = list(pool.Zygote().map(_refaults, [{"n": 0}], 1, build_mod._init_worker, ({},), None))
    assert got[0]["faults"] < 100, got


@pytest.mark.parametrize("fail, error", [("raise", ValueError), ("die", BrokenProcessPool)])
def test_a_failing_or_killed_worker_is_raised_in_the_parent_never_a_hang(fail, error):
    zygote = pool.Zygote()
    jobs = [{"n": n, "fail": fail if n == 3 else None} for n in range(6)]
    with pytest.raises(error):
        list(zygote.map(_job, jobs, 2, build_mod._init_worker, ({},), None))
    zygote.process.join(timeout=30)
    assert not zygote.process.is_alive()


def test_a_killed_zygote_fails_the_map_at_once_and_its_busy_workers_go(tmp_path):
    """The workers share the zygote's end of the pipe: the parent waited for them (and
    they, once their job was done, for jobs that never came). Now: one BuildError at
    once, and the workers end when their zygote is gone."""
    zygote = pool.Zygote()
    jobs = [{"n": n, "fail": "kill-zygote", "marks": str(tmp_path)} for n in range(4)]
    started = time.monotonic()

    def hung(signum, frame):
        raise TimeoutError("the parent waited for its killed zygote's workers")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(45)
    try:
        with pytest.raises(build_mod.BuildError, match="单元构建进程意外退出"):
            list(zygote.map(_job, jobs, 2, build_mod._init_worker, ({},), None))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 30          # the jobs sleep 60 s
    assert not zygote.process.is_alive()
    workers = [int(p.name) for p in tmp_path.iterdir()]
    assert workers
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
              for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their zygote"
        time.sleep(0.1)


def test_an_unused_zygote_goes_with_the_build():
    zygote = pool.Zygote()
    zygote.close()
    assert not zygote.process.is_alive()


def test_a_units_slice_is_what_it_can_show_and_no_more(make_tree):
    """b's 解读 interprets a's f0, c's c9 is repealed by a's f1: a's slice holds its own
    entries and both that name them (its pages list them), b's its own and a/f0, c's its
    own and a/f1; nothing of a unit that neither names nor is named by it."""
    town = UNIT_YAML.replace("level: county", "level: township")
    files = {}
    for u, uid in enumerate("abcd"):
        files[f"{uid}/_unit.yaml"] = UNIT_YAML if uid == "a" else town
        for n in range(3):
            files[f"{uid}/qtwj/f{n}.md"] = ITEM.format(n=f"{uid}{n}", no=NO.format(u * 10 + n), d=n + 1, extra="")
    files["b/zcjd/qa.md"] = ("---\ntitle: 解读\ncolumn: zcjd\ntype: interpretation\nindex_no: " + NO.format(95)
                             + "\ninterprets: " + NO.format(0) + "\npublished: 2024-01-06\n---\n正文\n")
    files["c/qtwj/c9.md"] = ITEM.format(n="c9", no=NO.format(90), d=5, extra=f"repealed_by: {NO.format(1)}\n")
    site = scan(make_tree(files), ROOT / "catalogs")
    assert site.ok, [str(p) for p in site.problems]
    facts = Facts.of(site, build_mod._date("2026-11-20"))
    slices = dict(zip("abcd", build_mod.unit_slices(facts, list("abcd"))))
    number = {uid: {NO.format(u * 10 + n) for n in range(3)} for u, uid in enumerate("abcd")}
    assert set(slices["a"]["GK_REGISTRY"]) == number["a"] | {NO.format(95), NO.format(90)}
    assert set(slices["b"]["GK_REGISTRY"]) == number["b"] | {NO.format(95), NO.format(0)}
    assert set(slices["c"]["GK_REGISTRY"]) == number["c"] | {NO.format(90), NO.format(1)}
    assert set(slices["d"]["GK_REGISTRY"]) == number["d"]
    assert [e["index_no"] for e in slices["a"]["GK_REVERSE"][("interprets", NO.format(0))]] == [NO.format(95)]
    assert [e["index_no"] for e in slices["a"]["GK_REVERSE"][("repealed_by", NO.format(1))]] == [NO.format(90)]
    for uid in "abcd":
        assert set(slices[uid]["GK_PUBLIC_ON"]) == set(slices[uid]["GK_REGISTRY"])
        assert all(slices[uid]["GK_REGISTRY"][n] == facts.registry[n] for n in slices[uid]["GK_REGISTRY"])
    # The registry holds an entry per public item in the parent, as one tuple (not a dict):
    # equal dates are one string, and entries with no references or questions share one
    # empty list. A lookup gives a new dict: no reader changes the entry for the others.
    reg = facts.registry
    assert all(type(row) is tuple and len(row) == len(reg.KEYS) for row in reg.rows.values())
    a0, b0 = reg.row(NO.format(0)), reg.row(NO.format(10))      # a/f0 and b/f0: both published 2024-01-01
    at = {key: n for n, key in enumerate(reg.KEYS)}
    assert a0[at["published"]] == "2024-01-01" and a0[at["published"]] is b0[at["published"]]
    assert a0[at["interprets"]] == [] and a0[at["interprets"]] is b0[at["interprets"]] is a0[at["questions"]]
    assert reg[NO.format(95)]["interprets"] == [NO.format(0)]
    reg[NO.format(95)]["interprets"].append("x")
    reg[NO.format(95)]["title"] = "x"
    assert reg[NO.format(95)]["interprets"] == [NO.format(0)] and reg[NO.format(95)]["title"] == "解读"
    assert list(reg[NO.format(0)]) == list(reg.KEYS)
    assert reg.naming() == {NO.format(0): {NO.format(95)}, NO.format(1): {NO.format(90)}}


def test_a_process_that_builds_again_and_again_keeps_a_bounded_number_of_environments(tmp_path, monkeypatch):
    """A preview server or the test suite builds many times in one process, each time with
    other settings: render.ENVIRONMENTS keeps the last few configurations, not one per build,
    and still gives every generator of one configuration the same environment."""
    from test_perf import fake_generator

    from gongkai import render
    monkeypatch.setattr(render, "ENVIRONMENTS", {})
    (tmp_path / "page.html").write_text("<p>{{ x }}</p>")
    for n in range(12):                          # twelve builds, each with its own settings
        generators = [fake_generator(tmp_path, JINJA_GLOBALS={"build": n}) for _ in range(3)]
        for generator in generators:             # the generators of every unit of the build
            render.share_environment(generator)
        assert all(g.env is generators[0].env for g in generators)      # compiled once per build
        assert len(render.ENVIRONMENTS) <= 4            # render.ENVIRONMENTS_MAX
    last = fake_generator(tmp_path, JINJA_GLOBALS={"build": 11})
    render.share_environment(last)
    assert last.env is generators[0].env                                # the current one is kept
    first = fake_generator(tmp_path, JINJA_GLOBALS={"build": 0})
    render.share_environment(first)
    assert first.env.get_template("page.html").render(x="一") == "<p>一</p>"
    assert len(render.ENVIRONMENTS) <= 4            # render.ENVIRONMENTS_MAX


def test_shared_slim_values_are_per_build_not_per_process(make_tree, monkeypatch):
    """spool._KEYS and spool._SHARED share equal values within one build's results; a new
    build (a new Spool) starts with empty tables, so N builds keep one build's worth."""
    from gongkai import spool as spool_mod
    monkeypatch.setattr(spool_mod, "_KEYS", {})
    monkeypatch.setattr(spool_mod, "_SHARED", {})
    files = {"a/_unit.yaml": UNIT_YAML}
    files.update({f"a/qtwj/f{n}.md": ITEM.format(n=n, no=NO.format(n), d=n + 1, extra="") for n in range(3)})
    site = scan(make_tree(files), ROOT / "catalogs", jobs=1, slim=False)
    assert site.ok, [str(p) for p in site.problems]
    sizes, lines = [], {id(item): item.lines for item in site.items}
    for n in range(8):                           # eight builds, each with values of its own
        spool = spool_mod.Spool()
        try:
            for item in site.items:
                item.lines = {**lines[id(item)], (f"field{n}",): 1}
                item.written = f"2020-01-0{n + 1}"
                spool_mod.slim(item)
        finally:
            spool.close()
        sizes.append((len(spool_mod._KEYS), len(spool_mod._SHARED)))
    assert sizes[-1] == sizes[0], sizes


def test_a_file_hash_is_kept_as_one_packed_record_and_trusted_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    """The parent keeps a hash record per content file for the whole build: one bytes
    object (the stat probe packed, the raw sha-256), not a list of ints and a hex string.
    A record is used only while size, times, inode and device match; a record of an older
    layout, or a damaged one, is not trusted: the file is hashed again."""
    import hashlib
    import pickle

    from gongkai.incremental import store
    hashed = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda p: hashed.append(str(p)) or real(p))
    f = tmp_path / "a.md"
    f.write_text("甲", encoding="utf-8")
    want = hashlib.sha256("甲".encode()).hexdigest()
    first = store.Hashes()
    assert first.signature(f) == ["f", want] and hashed == [str(f)]
    record = first.seen[str(f)]
    assert type(record) is bytes and len(record) == store.Hashes.SIZE and record.endswith(bytes.fromhex(want))
    # The next build, from the pickled records: not read again.
    again = store.Hashes(pickle.loads(pickle.dumps(first.seen)))
    assert again.signature(f) == ["f", want] and hashed == [str(f)]
    # Changed (same size, new time): read again, and the new hash is recorded.
    f.write_text("乙", encoding="utf-8")
    os.utime(f, ns=(1, 2))
    new = hashlib.sha256("乙".encode()).hexdigest()
    assert again.signature(f) == ["f", new] and hashed == [str(f)] * 2
    # An older layout's record, or a record cut short, is not trusted.
    st = os.lstat(f)
    for old in ([st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, "0" * 64],
                again.seen[str(f)][:-1]):
        assert store.Hashes({str(f): old}).signature(f) == ["f", new]
    assert hashed == [str(f)] * 4


def test_the_simplified_traditional_maps_are_made_in_blocks_with_a_small_peak():
    """A cold build makes the 简繁 maps from OpenCC in the parent: in blocks of characters,
    not ~100k one-character strings at once (which raised the parent's peak by ~30 MiB)."""
    import tracemalloc

    from gongkai.search import zhmap
    tracemalloc.start()
    try:
        maps = zhmap._compute()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB"
    assert maps["t2s"]["務"] == "务" and maps["s2t"]["务"] == "務" and "𠀀" not in maps["t2s"]


_BUILD_UNIT = build_mod.build_unit
_WATCHED = ("gongkai", "pelican", "jinja2", "markdown", "markdown_it", "nh3", "lunr", "numpy", "feedgenerator",
            "regex", "yaml", "opencc", "PIL", "lxml", "blinker", "docutils", "pygments")


def _probe_unit(job: dict) -> dict:
    """build_unit, and what it imported of ours and of the libraries a unit is built with."""
    import sys
    before = set(sys.modules)
    result = _BUILD_UNIT(job)
    result["late_imports"] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in _WATCHED)
    return result


def _results_of_units(probe, tmp_path, monkeypatch) -> list[dict]:
    """The sample built with ``probe`` in place of build_unit (run in the workers): what each
    unit's probe returned, as the parent received it."""
    from gongkai import timings
    seen = []
    monkeypatch.setattr(build_mod, "build_unit", probe)
    worker = timings.Stopwatch.worker
    monkeypatch.setattr(timings.Stopwatch, "worker", lambda self, result: seen.append(result) or worker(self, result))
    assert build_mod.build(ROOT / "content", tmp_path / "output", ROOT / "pelicanconf.py", ROOT / "catalogs",
                           "2026-11-20", jobs=2, use_cache=False) == 0
    return seen


def test_the_zygote_imports_every_module_a_unit_worker_needs(tmp_path, monkeypatch):
    """build.warm_worker names the modules the unit workers use, so that each worker does
    not import them again after it is forked: a unit built in a worker imports nothing of
    ours or of the libraries that render, index and check a unit."""
    seen = _results_of_units(_probe_unit, tmp_path, monkeypatch)
    assert seen and all(not r["errors"] for r in seen)
    late = sorted({m for r in seen for m in r["late_imports"]})
    assert late == [], " ".join(late)


def test_the_build_process_leaves_pelican_and_numpy_to_the_zygote(tmp_path):
    """Pelican and numpy (the search index's) are imported by the zygote, on the other core
    while the build's process runs the pre-pass; the build's process never needs them, and
    importing them there put ~0.25 s on a one-item rebuild's critical path."""
    import subprocess
    import sys
    probe = ("import atexit, runpy, sys; sys.argv = ['gongkai'] + sys.argv[1:]\n"
             "atexit.register(lambda: print('PROBE', 'numpy' in sys.modules, 'pelican' in sys.modules, "
             "file=sys.stderr))\n"
             "runpy.run_module('gongkai', run_name='__main__')\n")
    for run in range(2):   # cold, then rebuilt with the cache
        done = subprocess.run([sys.executable, "-c", probe, "html", "--content", str(ROOT / "content"),
                               "--output", str(tmp_path / "output"), "--settings", str(ROOT / "pelicanconf.py"),
                               "--catalogs", str(ROOT / "catalogs")], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": "2026-11-20"},
                              timeout=300)
        assert done.returncode == 0, done.stderr
        assert "PROBE False False" in done.stderr.splitlines(), (run, done.stderr[-2000:])


def test_the_build_process_leaves_opencc_to_a_child_process(tmp_path):
    """The 简繁 maps of a build whose cache does not hold them (cold, or ``--no-cache``) are
    made by a child process: OpenCC's dictionaries stayed in the build's process (+34 MiB
    at any size: its peak in the units stage, issue 15). The maps written are the same."""
    import json
    import subprocess
    import sys

    from gongkai.search import zhmap
    probe = ("import atexit, runpy, sys; sys.argv = ['gongkai'] + sys.argv[1:]\n"
             "atexit.register(lambda: print('PROBE', 'opencc' in sys.modules, file=sys.stderr))\n"
             "runpy.run_module('gongkai', run_name='__main__')\n")
    want = zhmap.maps()
    for extra in ([], [], ["--no-cache"]):   # cold, cached, without the cache
        done = subprocess.run([sys.executable, "-c", probe, "html", "--content", str(ROOT / "content"),
                               "--output", str(tmp_path / "output"), "--settings", str(ROOT / "pelicanconf.py"),
                               "--catalogs", str(ROOT / "catalogs"), *extra], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"),
                                              "BUILD_DATE": "2026-11-20"}, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "PROBE False" in done.stderr.splitlines(), (extra, done.stderr[-2000:])
        written = sorted((tmp_path / "output").glob("**/" + zhmap.PATH))
        assert written and all(json.loads(p.read_text(encoding="utf-8")) == want for p in written)


def test_the_parent_plans_a_few_units_at_a_time(make_tree, tmp_path, monkeypatch):
    """The units are planned (their keys made, their jobs made) a few at a time as their
    jobs are sent, not all before the first: what a planned unit holds until its job is sent
    (its file list, its job's settings) is held for a few units, not for the province's
    (issue 15, the parent flat in the number of units). The same units are built."""
    from gongkai import incremental
    ahead = getattr(build_mod, "PLAN_AHEAD", 16)
    held, made = [], []
    key, job = incremental.Reuse._key, build_mod._handed_over

    def counted_key(self, uid):
        found = key(self, uid)
        held.append(len(self.trees))
        return found

    def counted_send(override):
        made.append(len(held))
        return job(override)

    monkeypatch.setattr(incremental.Reuse, "_key", counted_key)
    monkeypatch.setattr(build_mod, "_handed_over", counted_send)
    content = make_tree(_province(units=3 * ahead, per=2))
    out = tmp_path / "output"
    assert build_mod.build(content, out, ROOT / "pelicanconf.py", ROOT / "catalogs", "2026-11-20", jobs=1) == 0
    assert max(held) <= ahead, max(held)        # file lists of planned, unsent units
    assert made[0] <= ahead, made[0]            # the first job went out after a few keys, not all
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("u")) == [f"u{u:02d}" for u in range(3 * ahead)]


def test_the_zygote_tidies_until_the_build_asks_for_its_pool(tmp_path):
    """``tidy(stop)`` runs in the zygote after its warm-up and gives way as soon as the
    build's process sends its request or closes the pipe (build.sweep_trash)."""
    marks = tmp_path / "marks"

    def tidy(stop):
        marks.write_text("started", encoding="utf-8")
        deadline = time.monotonic() + 20
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.01)
        marks.write_text("stopped" if stop() else "timed out", encoding="utf-8")

    zygote = pool.Zygote(tidy=tidy)
    deadline = time.monotonic() + 20
    while not (marks.exists() and marks.read_text(encoding="utf-8")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marks.read_text(encoding="utf-8") == "started"
    results = list(zygote.map(_job, [{"n": 1}], 1, build_mod._init_worker, ({},), None))
    assert [r["n"] for r in results] == [1]
    assert marks.read_text(encoding="utf-8") == "stopped"


def _province(units: int = 12, per: int = 5) -> dict[str, str]:
    """``units`` units of ``per`` items each; u01's f0 interprets u00's f0, u02's f1 repeals
    u03's f1, and each unit's f4 is a draft (not public: its page is hidden)."""
    town = UNIT_YAML.replace("level: county", "level: township")
    files = {}
    for u in range(units):
        uid = f"u{u:02d}"
        files[f"{uid}/_unit.yaml"] = UNIT_YAML if u == 0 else town
        for n in range(per):
            extra = "draft: true\n" if n == 4 else ""
            files[f"{uid}/qtwj/f{n}.md"] = ITEM.format(n=f"MEM{uid}{n}", no=NO.format(u * 10 + n), d=n + 1, extra=extra)
    files["u01/zcjd/qa.md"] = ("---\ntitle: 文件MEM解读\ncolumn: zcjd\ntype: interpretation\nindex_no: "
                               + NO.format(995) + "\ninterprets: " + NO.format(0) + "\npublished: 2024-01-06\n---\n正文\n")
    files["u03/qtwj/f1.md"] = ITEM.format(n="MEMu031", no=NO.format(31), d=2, extra=f"repealed_by: {NO.format(21)}\n")
    return files


def test_the_parent_holds_no_list_of_every_item_after_the_scan(make_tree):
    """Issue 15 point 4: after the pre-pass the parent keeps each unit's items as one pickled
    blob (site.items, spool.UnitItems) and unpickles a few units at a time; what it keeps
    across units are facts (public-on dates, states, the registry), not items."""
    import gc

    from gongkai.items import Item
    site = scan(make_tree(_province()), ROOT / "catalogs")
    assert site.ok, [str(p) for p in site.problems]
    facts = Facts.of(site, build_mod._date("2026-11-20"))
    assert len(site.items) == 61 and len(facts.states) == 61
    gc.collect()
    live = [o for o in gc.get_objects() if type(o) is Item and o.title.startswith("文件MEM")]
    assert len(live) <= 4 * 6, len(live)          # at most the last few units unpickled (KEEP = 4)
    # Iterated unit by unit, in unit order and file order, and each unit on its own.
    assert [i.unit for i in site.items] == sorted(i.unit for i in site.items)
    assert [i.source.rsplit("/", 1)[-1] for i in site.items.of("u05")] == [f"f{n}.md" for n in range(5)]
    assert site.items.of("nowhere") == [] and site.items.count("u01") == 6


def test_the_facts_read_a_unit_at_a_time_are_those_of_every_item(make_tree):
    """Facts.of reads the items in one pass, a unit at a time: its states, registry, hidden
    pages, public counts and each unit's shown 索引号 are what every item at hand gives."""
    from gongkai import interpretation, lifecycle
    from gongkai.facts import REF_KEYS
    from gongkai.items import as_list
    site = scan(make_tree(_province()), ROOT / "catalogs")
    day = build_mod._date("2026-11-20")
    facts = Facts.of(site, day)
    every = [i for _, unit in site.items.units() for i in unit]     # the whole list, for this comparison only
    assert site.public_on == {i.index_no: (d.isoformat() if (d := lifecycle.public_on(i)) else None) for i in every}
    public_on_of = lifecycle.lookup(site.public_on)
    assert facts.states == {i.source: lifecycle.state(i, day, public_on_of) for i in every}
    assert facts.states[next(i.source for i in every if i.index_no == NO.format(31))].code == "repealed"
    assert facts.registry.rows == site.registry(day).rows
    hidden = [i for i in every if not facts.states[i.source].public]
    assert len(hidden) == 12 and facts.hidden == sorted(lifecycle.hidden_targets(hidden))
    public = [i for i in every if facts.states[i.source].public]
    assert [(g.kind, g.policy.source) for g in facts.gaps] \
        == [(g.kind, g.policy.source) for g in interpretation.interpretation_gaps(public, site.catalogs)]
    for uid in site.units:
        mine = [i for i in every if i.unit == uid]
        own = {i.index_no for i in mine if i.index_no}
        named = {r for i in mine for key in REF_KEYS for r in as_list(getattr(i, key))}
        naming = {n for i in public for key in REF_KEYS for r in as_list(getattr(i, key)) if r in own
                  for n in [i.index_no]}
        assert facts.shown(uid) == own | named | naming, uid
        assert facts.public_counts[uid] == len(facts.public(uid)) == sum(i in public for i in mine)
        assert facts.unit_states(uid) == [(i.source, facts.states[i.source]) for i in mine]
    assert facts.shown("u00") >= {NO.format(995)} and facts.shown("u03") >= {NO.format(21)}


def test_the_checker_report_does_not_depend_on_how_many_units_are_kept_unpickled(make_tree, monkeypatch):
    """The checker makes each unit's facts when it reaches it and reads its items from the
    store: the report is the same whether one unit or every unit is kept unpickled."""
    from gongkai import check
    from gongkai.spool import UnitItems
    content = make_tree(_province())
    day = build_mod._date("2026-11-20")
    reports = []
    for keep in (1, 1000):
        monkeypatch.setattr(UnitItems, "KEEP", keep)
        site = scan(content, ROOT / "catalogs")
        reports.append(check.run(site, Facts.of(site, day), ROOT / "catalogs" / "rules.yaml").to_json())
    assert reports[0] == reports[1] and '"u11"' in reports[0]


def test_a_unit_store_keeps_units_in_order_and_few_unpickled():
    from dataclasses import replace

    from gongkai.items import Item
    from gongkai.spool import UnitItems
    proto = object.__new__(Item)
    for name in Item.__slots__:
        setattr(proto, name, None)
    made = [replace(proto, unit=f"u{n % 6}", source=f"u{n % 6}/f{n}.md", title=f"t{n}") for n in range(30)]
    store = UnitItems.of_items(made)
    assert len(store) == 30 and [store.count(f"u{n}") for n in range(6)] == [5] * 6
    assert [i.source for i in store] == [i.source for u in range(6) for i in made if i.unit == f"u{u}"]
    assert store.of("u2") == [i for i in made if i.unit == "u2"] and store.of("u2") is not made[2]
    for uid, _ in store.units():
        assert len(store._live) <= UnitItems.KEEP
    store.add("u2", [replace(made[0], unit="u2", source="u2/late.md")])
    assert [i.source for i in store.of("u2")][-1] == "u2/late.md" and store.count("u2") == 6
    assert store == UnitItems.of_items(list(store)) and store != UnitItems()
    assert store.nbytes() < 30 * 1024


def test_the_check_report_keeps_a_summary_of_each_finished_unit_and_its_findings_in_a_file(make_tree, tmp_path,
                                                                                           monkeypatch):
    """Issue 15 point 4: the check stage's memory flat in the number of units. A finished
    unit's findings and external links go to the report's spool file; the report keeps
    what the summary page and check.json's head read (counts, points, the first findings).
    Writing the reports reads one unit back at a time. The pages and check.json are those
    of the report with every unit's findings at hand, with and without kept pieces."""
    import gc

    from gongkai import check
    from gongkai.check import report as report_mod
    from gongkai.check.engine import Finding
    content = make_tree(_province())
    site = scan(content, ROOT / "catalogs")
    report = check.run(site, Facts.of(site, build_mod._date("2026-11-20")), ROOT / "catalogs" / "rules.yaml")
    counts = [len(u.findings) for u in report.units]
    assert len(counts) == 12 and min(counts) > report_mod.HEAD, counts    # each unit has more than it keeps

    def live() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Finding)

    assert live() <= report_mod.HEAD * len(report.units)
    whole = report_mod.Report(report.as_of, report.rules, [u.full() for u in report.units], report.level_names,
                              report.links_checked)
    assert live() >= sum(counts)
    assert whole.to_json() == report.to_json() and whole.console() == report.console()
    assert [f.as_dict() for f in whole.failing("notice")] == [f.as_dict() for f in report.failing("notice")]
    assert [u.full().external_links for u in report.units] == [u.external_links for u in report.units]
    settings = {"THEME": str(ROOT / "theme")}
    write_reports = report_mod.write_reports
    report_mod.write_reports(whole, tmp_path / "whole", settings)
    del whole
    # While the reports are written, at most one unit's findings are read back at a time.
    held = []
    fragment = report_mod.unit_fragment
    monkeypatch.setattr(report_mod, "unit_fragment", lambda data: (held.append(live()), fragment(data))[1])
    write_reports(report, tmp_path / "spilled", settings)
    assert held and max(held) <= report_mod.HEAD * len(report.units) + max(counts), (held, counts)

    def files(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    assert files(tmp_path / "spilled") == files(tmp_path / "whole") and "check/check.json" in files(tmp_path / "whole")

    class Memo(dict):
        def load(self, uid):
            return dict(self.get(uid, {}))

        def save(self, uid, record):
            self[uid] = record

    memo = Memo()
    for n in range(2):   # pieces made, then kept
        write_reports(report, tmp_path / f"kept{n}", settings, memo)
        assert files(tmp_path / f"kept{n}") == files(tmp_path / "whole")


def test_the_collector_is_paused_for_a_small_unit_and_runs_for_a_large_one():
    """build.collector_paused: off while a unit of at most PAUSE_GC_ITEMS items is built, its
    cycles collected at the end; a larger unit, or one of unknown size, keeps it running."""
    import gc
    assert gc.isenabled()

    class Cycle:
        pass

    with build_mod.collector_paused(build_mod.PAUSE_GC_ITEMS) as paused:
        assert paused and not gc.isenabled()
        for _ in range(1000):
            a, b = Cycle(), Cycle()
            a.other, b.other = b, a
        del a, b
        left = sum(isinstance(o, Cycle) for o in gc.get_objects(generation=0))
        assert left == 2000                        # nothing collected while paused
    assert gc.isenabled()
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())   # collected at the end
    for items in (build_mod.PAUSE_GC_ITEMS + 1, None):
        with build_mod.collector_paused(items) as paused:
            assert not paused and gc.isenabled()


def _gc_probe_unit(job: dict) -> dict:
    import gc

    from gongkai import articles
    run, seen = articles.UnitPelican.run, []
    articles.UnitPelican.run = lambda self: seen.append(gc.isenabled()) or run(self)
    try:
        result = _BUILD_UNIT(job)
    finally:
        articles.UnitPelican.run = run
    return {**result, "gc_enabled": seen, "items": job.get("items")}


def test_each_unit_job_carries_its_item_count_and_is_built_with_the_collector_paused(tmp_path, monkeypatch):
    seen = _results_of_units(_gc_probe_unit, tmp_path, monkeypatch)
    assert seen and all(r["gc_enabled"] == [False] for r in seen)
    assert all(0 < r["items"] <= build_mod.PAUSE_GC_ITEMS for r in seen)


def _unit_texts(count: int, seed: int) -> list[str]:
    """Texts like a unit's fields: mostly CJK from a few hundred characters, with numbers,
    words and 文号 joiners among them, of a few hundred characters each."""
    import random

    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(300)] + list(" 12a〔〕号-")
    weights = [9] * 300 + [30] * 8
    return ["".join(rng.choices(chars, weights, k=rng.randint(100, 500))) for _ in range(count)]


def test_counting_a_large_units_terms_holds_a_block_at_a_time(monkeypatch):
    """A unit of thousands of documents (a province's own 办公厅) is counted a block of texts
    at a time: count_terms' working memory (its peak beyond what it returns) stays within
    the blocks' postings and one block's arrays. Counting the whole unit's characters at
    once held ~175 bytes a character (a 5,000-item unit's worker peaked at 808 MiB)."""
    import tracemalloc

    from gongkai.search import tokenize
    monkeypatch.setattr(tokenize, "BLOCK", 1 << 16)
    texts = _unit_texts(1500, 4)
    tokenize.count_terms(texts[:3], {})   # numpy and the fold tables made before measuring
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        terms, term, text, tf = tokenize.count_terms(texts, {})
        held, peak = (x - base for x in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    chars = sum(map(len, texts))
    assert len(term) > chars          # characters and pairs: more postings than characters
    # The blocks' postings (12 bytes each) once more, and one block's arrays (~200 bytes a character).
    bound = 12 * len(term) + 200 * tokenize.BLOCK
    assert peak - held < bound, f"{(peak - held) / 2**20:.1f} MiB working, bound {bound / 2**20:.1f} MiB"


def _cycle_probe_unit(job: dict) -> dict:
    """build_unit with the cycle collector keeping what it finds (gc.DEBUG_SAVEALL): the
    Jinja contexts among the unit's cyclic garbage, and the pages the unit wrote."""
    import gc

    import jinja2.runtime
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = _BUILD_UNIT(job)
        gc.collect()
        contexts = sorted(o.name for o in gc.garbage if isinstance(o, jinja2.runtime.Context))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()   # what the list held, freed now: not seen again by the next unit's probe
    top = job["override"]["OUTPUT_PATH"]
    folders = [os.path.relpath(where, top) for where, _, names in os.walk(top) for name in names
               if name.endswith(".html")]
    return {**result, "contexts": contexts, "pages": len(folders),
            "depths": len({0 if f == "." else f.count("/") + 1 for f in folders})}


def test_a_page_render_leaves_no_cycle_for_the_collector(tmp_path, monkeypatch):
    """A page's Jinja context is freed when its page is written: no macro is defined in a
    page's own templates (base.html's head, header and footer are macros.html's), whose
    closure and the page's context would hold each other until the unit's collection
    (collector_paused) traverses them, ~3 Macro objects and their closures a page. What
    is left is the macros.html module of each folder depth (GK.macros, one per SITEURL)
    and annual_macros.html's, which Jinja imports without context once per environment
    (Template._module), however many annual pages import it."""
    seen = _results_of_units(_cycle_probe_unit, tmp_path, monkeypatch)
    assert seen and all(not r["errors"] for r in seen)
    for r in seen:
        assert r["pages"] > 10
        assert set(r["contexts"]) <= {"macros.html", "annual_macros.html"}, r["contexts"][:5]
        assert r["contexts"].count("macros.html") <= r["depths"]
        assert r["contexts"].count("annual_macros.html") <= 1


def test_the_registry_the_units_read_is_gone_before_the_check_stage(make_tree, tmp_path, monkeypatch):
    """The registry and public-on dates are the unit workers' alone: the build lets them go
    after the units, before the portal and the check stage (issue 15). Nothing made on the
    way (the pre-pass's early facts, the rules evaluated ahead) may keep them."""
    import gc
    import weakref

    from gongkai import check as check_mod
    from gongkai import facts as facts_mod

    made, alive = [], []
    of, after_render = facts_mod.Facts.of.__func__, check_mod.after_render

    def recorded_of(cls, *args, **kwargs):
        facts = of(cls, *args, **kwargs)
        made.append(weakref.ref(facts.registry))
        return facts

    def checked(*args, **kwargs):
        gc.collect()
        alive.append(made[-1]() is not None)
        return after_render(*args, **kwargs)

    monkeypatch.setattr(facts_mod.Facts, "of", classmethod(recorded_of))
    monkeypatch.setattr(check_mod, "after_render", checked)
    content = make_tree(_province(units=4, per=3))
    out = tmp_path / "output"
    assert build_mod.build(content, out, ROOT / "pelicanconf.py", ROOT / "catalogs", "2026-11-20", jobs=1,
                           on_check=lambda report: None) == 0
    assert made and alive == [False]
