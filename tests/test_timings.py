"""Per-stage figures of a build (plugins/gongkai/timings.py) and how `make bench` reads them."""
import importlib.util
import json
import os
import subprocess
import sys
import time
import types

import pytest

from conftest import FIXTURES, ROOT, build
from gongkai import timings

spec = importlib.util.spec_from_file_location("gongkai_build_bench", ROOT / "tests/bench/build_bench.py")
build_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_bench)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_laps_account_cpu_and_wall_to_the_stage_that_just_ended():
    watch = timings.Stopwatch()
    _spin(0.05)
    watch.lap("validate")
    time.sleep(0.05)
    watch.lap("render", wall="units")
    assert watch.cpu["validate"] >= 0.05
    assert watch.cpu["render"] < 0.04           # sleeping is wall time, not CPU
    assert watch.wall["units"] >= 0.05 and "render" not in watch.wall
    assert watch.rss["parent"] > 0 and set(watch.peak_after) == {"validate", "render"}


def test_workers_add_up_and_the_largest_one_is_named():
    watch = timings.Stopwatch()
    watch.worker({"unit": "a", "stages": {"render": 2.0, "search": 1.0}, "rss_mib": 120.0})
    watch.worker({"unit": "b", "stages": {"render": 3.0, "search": 0.5}, "rss_mib": 150.0})
    watch.worker({"unit": "c", "stages": {"render": 1.0}, "rss_mib": 90.0})
    data = watch.as_json()
    assert data["cpu"] == {"render": 6.0, "search": 1.5}
    assert data["rss_mib"]["worker"] == 150.0 and data["worker_unit"] == "b" and data["units"] == 3
    assert data["worker_rss_deciles"] == [120.0, 150.0, 90.0]


def test_line_lists_stages_in_pipeline_order_then_others():
    watch = timings.Stopwatch()
    for name in ("write", "cache", "validate", "check"):
        watch.add(name, 1.0)
    line = watch.line()
    assert line.startswith("stages: CPU s (all processes) validate 1.0, check 1.0, write 1.0, cache 1.0;")
    assert "peak RSS parent" in line


def test_report_writes_sorted_json_to_the_path_or_gk_timings(tmp_path, monkeypatch):
    watch = timings.Stopwatch()
    watch.add("render", 1.25)
    explicit = tmp_path / "t.json"
    assert watch.report(explicit).startswith("stages:")
    data = json.loads(explicit.read_text(encoding="utf-8"))
    assert data["cpu"] == {"render": 1.25} and list(data) == sorted(data)
    monkeypatch.setenv("GK_TIMINGS", str(tmp_path / "env.json"))
    watch.report()
    assert json.loads((tmp_path / "env.json").read_text(encoding="utf-8"))["cpu"] == {"render": 1.25}


def test_deciles_show_the_largest_value_of_each_tenth():
    assert timings.deciles([]) == []
    assert timings.deciles([5.0]) == [5.0]
    assert timings.deciles([float(n) for n in range(100)]) == [float(n) for n in range(9, 100, 10)]


def test_unit_sums_take_search_cpu_or_scale_its_wall_seconds(tmp_path):
    stash = tmp_path / "u.json"
    stash.write_text('{"cpu": 1.5, "seconds": 4.0}', encoding="utf-8")
    assert timings.unit_sums(5.0, 10.0, stash) == {"render": 3.5, "search": 1.5}
    stash.write_text('{"seconds": 4.0}', encoding="utf-8")
    assert timings.unit_sums(5.0, 10.0, stash) == {"render": 3.0, "search": 2.0}   # 4 s wall at 50 % CPU
    assert timings.unit_sums(1.0, 1.0, stash) == {"render": 0.0, "search": 1.0}    # never more than the unit
    assert timings.unit_sums(2.0, 2.0, tmp_path / "missing.json") == {"render": 2.0, "search": 0.0}
    stash.write_text("not json", encoding="utf-8")
    assert timings.unit_sums(2.0, 2.0, stash) == {"render": 2.0, "search": 0.0}


def test_a_build_prints_its_stages_and_writes_them_outside_the_output(tmp_path):
    out = tmp_path / "out"
    result = build(FIXTURES / "good", out, "--timings", str(tmp_path / "flag.json"),
                   env={"GK_TIMINGS": str(tmp_path / "env.json")})
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith("stages: ") for line in result.stdout.splitlines()) == 1
    data = json.loads((tmp_path / "flag.json").read_text(encoding="utf-8"))
    assert not (tmp_path / "env.json").exists()      # the flag wins over the environment
    assert set(timings.STAGES) <= set(data["cpu"])
    assert data["cpu"]["render"] > 0 and data["cpu"]["validate"] > 0
    assert set(data["wall"]) >= {"validate", "lifecycle", "units", "search", "check", "write"}
    assert data["units"] == 2 and data["rss_mib"]["parent"] > 0 and data["rss_mib"]["worker"] > 0
    assert not [p for p in out.rglob("*.json") if "stages" in p.read_text(encoding="utf-8", errors="replace")]


def test_bench_measure_reads_the_stages_the_build_wrote(tmp_path):
    script = "import json, os; open(os.environ['GK_TIMINGS'], 'w').write(json.dumps({'cpu': {'render': 1.0}}))"
    sample = build_bench.measure([sys.executable, "-c", script], timings=tmp_path / "s.json")
    assert sample["stages"] == {"cpu": {"render": 1.0}} and sample["wall"] > 0 and sample["rss_mib"] > 0
    assert 0 <= sample["sys"] <= sample["cpu"]      # system time on its own: file creation shows there


# A process that peaked at 300 MiB, freed it, then started what is measured.
_BIG_THEN_SMALL = ("import sys; big = bytearray(300 * 2**20); big[::4096] = bytes(len(big[::4096])); "
                   "del big; ")


def test_peak_rss_is_the_build_own_not_that_of_what_started_it(tmp_path):
    """Linux keeps the starter's peak in ``ru_maxrss`` across exec; the build reports its own."""
    child = "from gongkai import timings; print(timings.peak_rss_mib())"
    script = _BIG_THEN_SMALL + ("import subprocess; print(subprocess.run([sys.executable, '-c', "
                                f"{child!r}], capture_output=True, text=True, check=True).stdout)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert 1 < float(out.stdout) < 150


def test_bench_measure_reports_the_command_peak_not_the_bench_one(tmp_path):
    """The bench after a large corpus is a large process; what it times is measured as itself."""
    load = (f"import importlib.util; spec = importlib.util.spec_from_file_location('bb', "
            f"{str(ROOT / 'tests/bench/build_bench.py')!r}); bb = importlib.util.module_from_spec(spec); "
            "spec.loader.exec_module(bb); ")
    measured = "x = bytearray(60 * 2**20); x[::4096] = bytes(len(x[::4096]))"
    script = load + _BIG_THEN_SMALL + f"print(bb.measure([sys.executable, '-c', {measured!r}])['rss_mib'])"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert 60 < float(out.stdout) < 150


def test_bench_sets_replaced_outputs_aside_and_deletes_nothing(tmp_path):
    """A build timed right after a mass deletion times the file system's inode allocator
    (build_bench's docstring): an output a run replaces is moved into the trash, whole."""
    trash = tmp_path / "trash"
    for run in range(3):
        out = tmp_path / "gk-out"
        (out / "u1").mkdir(parents=True)
        (out / "u1" / "index.html").write_text(f"run {run}", encoding="utf-8")
        build_bench.set_aside(out, trash)
        assert not out.exists()
    kept = sorted(trash.iterdir())
    assert [p.name for p in kept] == ["0-gk-out", "1-gk-out", "2-gk-out"]
    assert [(p / "u1" / "index.html").read_text(encoding="utf-8") for p in kept] == ["run 0", "run 1", "run 2"]
    build_bench.set_aside(tmp_path / "missing", trash)      # nothing there: nothing moved
    assert len(list(trash.iterdir())) == 3
    link = tmp_path / "cache-link"
    link.symlink_to(tmp_path / "elsewhere")                  # a dangling link is moved, not followed
    build_bench.set_aside(link, trash)
    assert not os.path.lexists(link) and (trash / "3-cache-link").is_symlink()


def test_bench_summary_and_targets():
    def sample(wall, rss, render):
        return {"wall": wall, "cpu": wall * 1.5, "rss_mib": rss,
                "stages": {"cpu": {"render": render}, "wall": {"units": wall}, "rss_mib": {"parent": rss}}}
    fig = build_bench.summarize([sample(10.0, 300.0, 5.0), sample(12.0, 310.0, 7.0), sample(11.0, 305.0, 6.0)])
    assert fig["wall"] == {"min": 10.0, "median": 11.0}
    assert fig["stages"]["cpu"] == {"render": 6.0} and fig["stages"]["rss_mib"] == {"parent": 305.0}
    assert build_bench._target("cold", "wall", [11.0, 10.0]).endswith("MISSED")
    assert build_bench._target("cold", "wall", [9.0, 10.0]).endswith("ok")
    assert build_bench._target("edit", "wall", [1.5, 0.2]).endswith("ok")
    assert build_bench._target("date", "wall", [6.0, 3.0]).endswith("MISSED")
    assert build_bench._target("cold", "rss_mib", [600.0, 100.0]).endswith("MISSED")
    assert build_bench._target("edit", "cpu", [1.0, 1.0]) == ""


def test_bench_table_prints_the_build_cache_beside_the_outputs(capsys):
    """What the cold build wrote besides its output (the build cache) is printed on its own
    line, not as an output; a result without it (an older JSON) prints no such line."""
    r = {"items": 10, "units": 1, "runs": 1, "cores": 2, "jobs": 2, "figures": {}, "samples": {},
         "output": {"gongkai": {"bytes": 5_000_000, "files": 40}, "hugo": {"bytes": 2_000_000, "files": 20}},
         "cache": {"gongkai": {"bytes": 1_500_000, "files": 7}}}
    build_bench.print_table(r)
    lines = capsys.readouterr().out.splitlines()
    assert "output gongkai: 5.0 MB in 40 files" in lines and "output hugo: 2.0 MB in 20 files" in lines
    assert [line for line in lines if line.startswith("build cache")] == [
        "build cache gongkai (beside the output, also written by the cold build): 1.5 MB in 7 files"]
    del r["cache"]
    build_bench.print_table(r)
    assert not any(line.startswith("build cache") for line in capsys.readouterr().out.splitlines())


def test_bench_hugo_plus_pagefind_is_summed_run_by_run():
    """The "Hugo + Pagefind" context row: each run's Hugo build plus that run's Pagefind index,
    then min / median, and gongkai's cold medians over them."""
    def s(wall, cpu):
        return {"wall": wall, "cpu": cpu, "sys": 0.0, "rss_mib": 10.0}
    r = {"samples": {"hugo": {"cold": [s(10, 12), s(20, 24), s(12, 14)]},
                     "pagefind": {"cold": [s(5, 8), s(1, 2), s(6, 9)]}},
         "figures": {"gongkai": {"cold": {"wall": {"median": 18.0}, "cpu": {"median": 46.0}}}}}
    both = build_bench.with_search(r)
    assert both["wall"] == {"min": 15, "median": 18} and both["cpu"] == {"min": 20, "median": 23}
    assert both["ratio"] == {"wall": 1.0, "cpu": 2.0}
    r["samples"]["pagefind"]["cold"].pop()      # a run without its index: no row rather than a wrong one
    assert build_bench.with_search(r) is None
    del r["samples"]["pagefind"]
    assert build_bench.with_search(r) is None


def test_bench_pagefind_indexes_item_pages_of_each_site(tmp_path):
    """Each unit's site is indexed on its own, item pages only, inside the item element; a
    site without item pages is passed over (Pagefind fails on it)."""
    log = tmp_path / "calls.txt"
    fake = tmp_path / "pagefind"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n", encoding="utf-8")
    fake.chmod(0o755)
    out = tmp_path / "hugo-out"
    (out / "u1" / "art" / "gz").mkdir(parents=True)
    (out / "u1" / "art" / "gz" / "a.html").write_text("<article class='item'>x</article>", encoding="utf-8")
    (out / "u2").mkdir()
    build_bench.pagefind_sites(str(fake), out, ["u1", "u2"], jobs=2)
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls == [f"--site {out / 'u1'} --glob art/**/*.html --root-selector article.item --silent"]


def test_bench_writes_pending_data_out_before_timing(monkeypatch):
    """The last build's dirty pages are written before the next build starts, not during it."""
    order = []
    monkeypatch.setattr(build_bench.os, "sync", lambda: order.append("sync"))
    real_popen = build_bench.subprocess.Popen

    def popen(*args, **kwargs):
        order.append("start")
        return real_popen(*args, **kwargs)
    monkeypatch.setattr(build_bench.subprocess, "Popen", popen)
    build_bench.measure([sys.executable, "-c", "pass"])
    assert order == ["sync", "start"]


def test_bench_sizes_carry_their_own_runs_and_bad_ones_are_named():
    """The default corpora: 2k/20 and 20k/100 at --runs, 20k/1,300 and 100k/1,300 once (issue 15)."""
    assert build_bench.parse_sizes(build_bench.SIZES, 3) == [(2000, 20, 3), (20000, 100, 3), (20000, 1300, 1),
                                                             (100000, 1300, 1)]
    assert build_bench.parse_sizes(" 10:2 ,30:3:5", 4) == [(10, 2, 4), (30, 3, 5)]
    for bad in ("20000", "20000:100:1:2", "20000:x", "0:10", "20000:100:0", "-5:1", "", "2000:20,"):
        with pytest.raises(ValueError, match="items:units"):
            build_bench.parse_sizes(bad, 3)


def test_bench_skips_a_corpus_the_scratch_folder_cannot_hold(tmp_path, monkeypatch):
    """On disk, by its free space; in memory (tmpfs), also by the memory left beside the builds."""
    free = {"bytes": 10**12}
    monkeypatch.setattr(build_bench.shutil, "disk_usage",
                        lambda path: types.SimpleNamespace(total=2 * 10**12, used=0, free=free["bytes"]))
    monkeypatch.setattr(build_bench, "in_memory", lambda folder: False)
    monkeypatch.setattr(build_bench, "memory_available", lambda: 5 * 10**9)
    assert build_bench.scratch_short(tmp_path, 100_000) is None
    free["bytes"] = 2 * 10**9
    why = build_bench.scratch_short(tmp_path, 100_000)
    assert why.startswith("需要约 10.0 GB 空闲空间") and f"{tmp_path} 只有 2.0 GB" in why and "--tmp" in why
    free["bytes"] = 10**12
    monkeypatch.setattr(build_bench, "in_memory", lambda folder: True)
    why = build_bench.scratch_short(tmp_path, 100_000)
    assert why.startswith(f"{tmp_path} 在内存中（tmpfs），需要约 12.0 GB 可用内存，只有 5.0 GB")
    assert "a folder on disk" in why
    assert build_bench.scratch_short(tmp_path, 20_000) is None      # 2 GB + 2 GB aside of 5
    monkeypatch.setattr(build_bench, "memory_available", lambda: None)   # not said: the disk's answer
    assert build_bench.scratch_short(tmp_path, 100_000) is None


def test_bench_knows_a_folder_in_memory_by_its_mount(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n"
                      f"tmpfs {tmp_path}/ram\\040disk tmpfs rw 0 0\n/dev/vdb {tmp_path}/ram\\040disk/hd ext4 rw 0 0\n",
                      encoding="utf-8")
    for sub in ("ram disk", "ram disk/x", "ram disk/hd", "ram disk/hd/y", "other"):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
    assert build_bench.in_memory(tmp_path / "ram disk", str(mounts))
    assert build_bench.in_memory(tmp_path / "ram disk" / "x", str(mounts))
    assert not build_bench.in_memory(tmp_path / "ram disk" / "hd" / "y", str(mounts))   # the longest mount point
    assert not build_bench.in_memory(tmp_path / "other", str(mounts))
    assert not build_bench.in_memory(tmp_path, str(tmp_path / "no-such-file"))
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24000000 kB\nMemAvailable: 5000000 kB\n", encoding="utf-8")
    assert build_bench.memory_available(str(meminfo)) == 5_120_000_000
    meminfo.write_text("MemTotal: 24000000 kB\n", encoding="utf-8")
    assert build_bench.memory_available(str(meminfo)) is None


def test_bench_a_failed_build_takes_its_workers_with_it(tmp_path):
    """A timed build that fails (or is killed) is reported, and what it started is gone before
    the bench removes its output: no worker writes on into it."""
    pid_file = tmp_path / "worker.pid"
    script = ("import os, subprocess, sys, time; "
              "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(pid_file)!r}, 'w').write(str(w.pid)); sys.stderr.write('失败 failed'); sys.exit(3)")
    with pytest.raises(build_bench.BenchFailed, match="failed \\(3\\):\n失败 failed"):
        build_bench.measure([sys.executable, "-c", script])
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the failed build's worker outlived it")


def _corpus(items, units, runs, cold, rss, hugo=None):
    def fig(v):
        return {"min": v, "median": v}
    ours = {"cold": {"wall": fig(cold), "cpu": fig(cold * 1.8), "rss_mib": fig(rss[0])},
            "edit": {"wall": fig(0.8), "cpu": fig(1.0), "rss_mib": fig(rss[1])},
            "date": {"wall": fig(1.1), "cpu": fig(1.5), "rss_mib": fig(rss[2])}}
    figures = {"gongkai": ours}
    if hugo:
        figures["hugo"] = {"cold": {"wall": fig(hugo), "cpu": fig(hugo), "rss_mib": fig(90.0)}}
    return {"items": items, "units": units, "runs": runs, "figures": figures}


def test_bench_curve_sets_the_corpora_side_by_side_and_judges_memory_per_items(capsys):
    """Peak RSS is judged flat against the units at the same items (the 100k corpus has more items
    as well as more units), and against the 0.5 GB target in every corpus and scenario."""
    done = [_corpus(100000, 1300, 1, 60.0, (280.0, 310.0, 311.0), hugo=80.0),
            _corpus(20000, 100, 3, 10.0, (99.0, 90.0, 92.0), hugo=9.0),
            _corpus(20000, 1300, 1, 14.0, (101.0, 95.0, 97.0)),
            _corpus(2000, 20, 3, 2.0, (60.0, 50.0, 51.0), hugo=1.5),
            {"content": "mine", "runs": 3, "figures": {}}]
    curve = build_bench.the_curve(done)
    assert [(r["items"], r["units"]) for r in curve["corpora"]] == [(2000, 20), (20000, 100), (20000, 1300),
                                                                    (100000, 1300)]
    big = curve["corpora"][-1]
    assert big["cold_wall_ms_per_item"] == 0.6 and big["cold_wall_ratio"] == 0.75
    assert big["peak_rss_mib"] == {"cold": 280.0, "edit": 310.0, "date": 311.0}
    assert "cold_wall_ratio" not in curve["corpora"][2]
    assert curve["rss_flat"] == [{"items": 20000, "from_units": 100, "to_units": 1300, "from_mib": 99.0,
                                  "to_mib": 101.0, "ratio": 1.02, "flat": True}]
    build_bench.print_curve(curve)
    out = capsys.readouterr().out
    assert "at most 311 MiB; target <= 477 MiB ok" in out
    assert "peak RSS at 20000 items, 100 -> 1300 units: 99 -> 101 MiB (1.02x); target flat (<= 1.25x) ok" in out
    assert "0.75x" in out and "0.600" in out

    done[2] = _corpus(20000, 1300, 1, 14.0, (150.0, 95.0, 97.0))
    curve = build_bench.the_curve(done)
    assert curve["rss_flat"][0]["flat"] is False
    done[0] = _corpus(100000, 1300, 1, 60.0, (600.0, 310.0, 311.0))
    build_bench.print_curve(build_bench.the_curve(done))
    out = capsys.readouterr().out
    assert "target <= 477 MiB MISSED" in out and "target flat (<= 1.25x) MISSED" in out
    assert build_bench.the_curve(done[1:2]) is None     # one corpus: no curve
