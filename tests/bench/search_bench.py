"""Search benchmark (part of `make bench`): our search against Pagefind on the same pages.

One unit is built (a 5,000-item unit of ../shared/bench/gen_corpus.py --prose clauses,
or the unit with most items of --content); the fixed queries of queries.json run in
headless Chromium on the unit's search.html and on a Pagefind page over the same item
pages (harness.py says what is measured and how); ground truth is exact substring
search over what each item page shows (truth.py). Prints a table, writes JSON under
bench/results/. Anything missing (generator, chromium, pagefind, our search page)
costs one line and the figures that need it, never a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import truth  # noqa: E402

ROOT = HERE.parents[1]
GEN_ARGS = ["--items", "5000", "--units", "1", "--prose", "clauses"]
GEN_BUILD_DATE = "2026-11-22"
PAGEFIND_DATA = (".pf_meta", ".pf_index", ".pf_fragment", ".pf_filter")


def say(line: str) -> None:
    print(f"search bench: {line}", flush=True)


# ---------------------------------------------------------------- build


def build(project: Path, content: Path, output: Path, settings: Path, build_date: str | None) -> tuple[float, str]:
    """Build with the project's CLI; (seconds, stdout). Raises harness.BenchError on failure."""
    env = {**os.environ, "PYTHONPATH": str(project / "plugins")}
    if build_date:
        env["BUILD_DATE"] = build_date
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(output),
                           "--settings", str(settings), "--catalogs", str(project / "catalogs")],
                          env=env, cwd=project, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise harness.BenchError(f"the build of {content} failed: {tail}")
    return seconds, proc.stdout


def settings_without_search(project_settings: Path, dest: Path) -> Path | None:
    """A settings file equal to the project's but without search plugins (None if it has none)."""
    import runpy
    plugins = runpy.run_path(str(project_settings)).get("PLUGINS") or []
    if not any("search" in p for p in plugins):
        return None
    dest.write_text(
        "# The project's settings without its search plugin (written by tests/bench/search_bench.py).\n"
        "import runpy as _runpy\n"
        f"globals().update({{k: v for k, v in _runpy.run_path({str(project_settings)!r}).items() if k.isupper()}})\n"
        "PLUGINS = [p for p in PLUGINS if 'search' not in p]\n"
        "GK_SEARCH = False\n", encoding="utf-8")
    return dest


STAGE_TIME = re.compile(r"^search\b.*?(\d+(?:\.\d+)?)\s*s\b", re.M | re.I)


def stage_seconds(stdout: str) -> float | None:
    """The search stage's own time if the build prints one (`search …: … 1.2 s`)."""
    times = [float(m) for m in STAGE_TIME.findall(stdout)]
    return sum(times) if times else None


# ---------------------------------------------------------------- pagefind


def pagefind_version() -> str | None:
    try:
        proc = subprocess.run([sys.executable, "-m", "pagefind", "--version"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def stylesheets(unit_dir: Path) -> list[str]:
    index = unit_dir / "index.html"
    text = index.read_text(encoding="utf-8") if index.is_file() else ""
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)


def search_page(unit_dir: Path, engine: str) -> str:
    """The benchmark's search page around an engine, with the unit's own stylesheets."""
    links = "\n".join(f'<link rel="stylesheet" href="{html.escape(h)}">' for h in stylesheets(unit_dir))
    page = (HERE / "search_page.html").read_text(encoding="utf-8")
    return page.replace("<!--STYLES-->", links).replace("/*ENGINE*/", (HERE / engine).read_text(encoding="utf-8"))


def copy_styles(out_root: Path, unit_dir: Path, dest_root: Path) -> None:
    for href in stylesheets(unit_dir):
        src = (unit_dir / href).resolve()
        if src.is_file() and out_root.resolve() in src.parents:
            target = dest_root / src.relative_to(out_root.resolve())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)


def pagefind_tree(out_root: Path, unit: str, docs: dict[str, str], dest_root: Path) -> Path:
    """A copy of the unit for Pagefind: each item page reduced to the searched fields
    (exactly the ground-truth text, inside data-pagefind-body), the same stylesheets,
    and search.html on the benchmark page with Pagefind's engine."""
    unit_dir, dest = out_root / unit, dest_root / unit
    for key, text in docs.items():
        title, *rest = text.split("\n")
        page = dest / key
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8"><title>'
            f"{html.escape(title)}</title></head>\n<body>\n<main data-pagefind-body>\n<h1>{html.escape(title)}</h1>\n"
            + "".join(f"<p>{html.escape(line)}</p>\n" for line in rest) + "</main>\n</body>\n</html>\n",
            encoding="utf-8")
    copy_styles(out_root, unit_dir, dest_root)
    (dest / "search.html").write_text(search_page(unit_dir, "engine_pagefind.js"), encoding="utf-8")
    return dest


def run_pagefind(site: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--output-subdir", "pagefind",
                           "--quiet"], capture_output=True, text=True)
    if proc.returncode:
        tail = ((proc.stderr or proc.stdout).strip().splitlines() or ["(no message)"])[-1]
        raise harness.BenchError(f"pagefind failed: {tail}")
    return time.perf_counter() - started


# ---------------------------------------------------------------- figures


def files_size(files: list[Path], gzipped: bool) -> dict:
    raw = sum(p.stat().st_size for p in files)
    gz = sum(len(gzip.compress(p.read_bytes(), compresslevel=6, mtime=0)) for p in files) if gzipped else raw
    return {"files": len(files), "bytes": raw, "gzip_bytes": gz}


def our_index_files(unit_dir: Path) -> list[Path]:
    folder = unit_dir / "search"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def pagefind_index_files(site: Path) -> list[Path]:
    return sorted(p for p in (site / "pagefind").rglob("*") if p.is_file() and p.name.endswith(PAGEFIND_DATA))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summary(runs: list[harness.QueryRun], want: dict[str, set[str]]) -> dict:
    def vals(attr):
        return [getattr(r, attr) for r in runs if getattr(r, attr) is not None]

    out: dict = {"queries": len(runs), "errors": sum(1 for r in runs if r.errors)}
    for attr in ("cold_bytes", "warm_bytes", "cold_ms", "warm_ms"):
        v = vals(attr)
        out[attr] = {"median": statistics.median(v), "worst": max(v), "p95": p95(v)} if v else None
    # A query whose result list was cut short (time limit) keeps its recall as a lower bound.
    read = [r for r in runs if not any(e.startswith("recall") and "stopped" not in e for e in r.errors)]
    out["recall"] = truth.mean([truth.recall(r.results, want[r.q]) for r in read])
    out["precision_at_10"] = truth.mean([truth.precision_at(r.results, want[r.q]) for r in read])
    out["recall_lower_bounds"] = sum(1 for r in read if not r.complete and not want[r.q] <= set(r.results))
    return out


def per_query(runs: list[harness.QueryRun], want: dict[str, set[str]]) -> list[dict]:
    return [{"q": r.q, "truth": len(want[r.q]), "found": len(r.results), "complete": r.complete,
             "recall": truth.recall(r.results, want[r.q]), "precision_at_10": truth.precision_at(r.results, want[r.q]),
             "cold_ms": r.cold_ms, "cold_bytes": r.cold_bytes, "cold_requests": r.cold_requests,
             "warm_ms": r.warm_ms, "warm_bytes": r.warm_bytes, "warm_requests": r.warm_requests,
             "top10": r.results[:10], "missed": sorted(want[r.q] - set(r.results))[:20], "errors": r.errors, "cold_files": r.cold_files, "warm_files": r.warm_files} for r in runs]


def _kib(v):
    return f"{v / 1024:,.1f} KiB" if v is not None else "—"


def _ms(v):
    return f"{v:,.0f} ms" if v is not None else "—"


def _num(v, fmt="{:.3f}"):
    return fmt.format(v) if v is not None else "—"


def _ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def table(result: dict) -> str:
    engines = result["engines"]
    ours, pf = engines.get("gongkai"), engines.get("pagefind")

    def get(engine, *path):
        value = engine
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    rows = [
        ("bytes before 1st results, cold, median", ("cold_bytes", "median"), _kib),
        ("bytes before 1st results, cold, worst", ("cold_bytes", "worst"), _kib),
        ("bytes of a later query, median", ("warm_bytes", "median"), _kib),
        ("bytes of a later query, worst", ("warm_bytes", "worst"), _kib),
        ("cold query latency p50", ("cold_ms", "median"), _ms),
        ("cold query latency p95", ("cold_ms", "p95"), _ms),
        ("later query latency p50", ("warm_ms", "median"), _ms),
        ("later query latency p95", ("warm_ms", "p95"), _ms),
        ("recall (mean of queries)", ("recall",), _num),
        ("precision@10 (mean of queries)", ("precision_at_10",), _num),
        ("index build time", ("index_seconds",), lambda v: f"{v:.2f} s" if v is not None else "—"),
        ("index files", ("index", "files"), lambda v: f"{v:,}" if v is not None else "—"),
        ("index size", ("index", "bytes"), lambda v: f"{v / 1e6:.2f} MB" if v is not None else "—"),
        ("index size gzipped", ("index", "gzip_bytes"), lambda v: f"{v / 1e6:.2f} MB" if v is not None else "—"),
    ]
    lines = [f"{'':40} {'gongkai':>14} {'Pagefind':>14} {'ratio':>8}"]
    for label, path, fmt in rows:
        a, b = get(ours, *path), get(pf, *path)
        lines.append(f"{label:40} {fmt(a):>14} {fmt(b):>14} {_ratio(a, b):>8}")
    for name, engine in engines.items():
        if engine.get("recall_lower_bounds"):
            lines.append(f"{name}: the result lists of {engine['recall_lower_bounds']} queries were read only in part "
                         "(time limit): their recall is a lower bound")
    if ours and ours.get("index_share") is not None:
        lines.append(f"index build share of the whole build: {ours['index_share'] * 100:.1f} % "
                     f"({ours['index_seconds']:.2f} s of {result['build_seconds']:.2f} s; {ours['index_time_method']})")
    lines.append("")
    lines.append(f"{'query':24} {'truth':>6} | {'gongkai R':>9} {'P@10':>5} {'cold':>10} | "
                 f"{'Pagefind R':>10} {'P@10':>5} {'cold':>10}")
    queries = {name: {row["q"]: row for row in e.get("per_query", [])} for name, e in engines.items()}
    for q in result["queries"]:
        a = queries.get("gongkai", {}).get(q["q"], {})
        b = queries.get("pagefind", {}).get(q["q"], {})
        lines.append(f"{q['q']:24} {q['truth']:>6} | {_num(a.get('recall'), '{:.2f}'):>9} "
                     f"{_num(a.get('precision_at_10'), '{:.1f}'):>5} {_kib(a.get('cold_bytes')):>10} | "
                     f"{_num(b.get('recall'), '{:.2f}'):>10} {_num(b.get('precision_at_10'), '{:.1f}'):>5} "
                     f"{_kib(b.get('cold_bytes')):>10}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def pick_unit(out_root: Path, wanted: str | None) -> str:
    if wanted:
        return wanted
    counts = {d.name: sum(1 for _ in (d / "art").rglob("*.html")) if (d / "art").is_dir() else 0
              for d in out_root.iterdir() if d.is_dir() and (d / "index.html").is_file()}
    if not counts:
        raise harness.BenchError(f"no unit found in {out_root}")
    return max(sorted(counts), key=lambda u: counts[u])


def git_commit(project: Path) -> str | None:
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project, capture_output=True, text=True)
    except OSError:
        return None
    return proc.stdout.strip() or None


def measure_engine(name: str, browser, base: str, unit: str, queries, warmup, want, timeout_s) -> dict:
    runs = harness.measure(browser, f"{base}{unit}/search.html", harness.unit_url_of(base, unit),
                           [q.q for q in queries], warmup, want, timeout_s=timeout_s,
                           log=lambda line: say(f"{name}: {line}"))
    return {**summary(runs, want), "per_query": per_query(runs, want)}


def run(args) -> int:
    warmup, queries = truth.load_queries(Path(args.queries))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gongkai-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    content, source = args.content, None
    build_date = os.environ.get("BUILD_DATE") or None
    if content:
        content, source = Path(content), f"content {args.content}"
    else:
        gen = Path(args.shared) / "bench" / "gen_corpus.py"
        if gen.is_file():
            content = work / "content"
            if not content.is_dir():
                subprocess.run([sys.executable, str(gen), str(content), *GEN_ARGS], check=True,
                               stdout=subprocess.DEVNULL)
            source = f"gen_corpus.py {' '.join(GEN_ARGS)}"
            build_date = build_date or GEN_BUILD_DATE
        else:
            content, source = Path(args.project) / "content", "the sample content"
            say(f"{gen} not found (set SHARED=path/to/shared): benching the sample content instead")
    out_root = work / "output"
    project = Path(args.project).resolve()
    settings = Path(args.settings) if args.settings else project / "pelicanconf.py"
    build_seconds, stdout = build(project, content, out_root, settings, build_date)
    unit = pick_unit(out_root, args.unit)
    unit_dir = out_root / unit
    labels = truth.meta_labels(project / "catalogs")
    docs = truth.unit_items(unit_dir, labels)
    want = truth.ground_truth(docs, queries)
    say(f"{source}: unit {unit}, {len(docs):,} item pages, build {build_seconds:.1f} s")

    result: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "source": source, "unit": unit, "items": len(docs),
        "build_seconds": build_seconds, "build_date": build_date, "project": str(project),
        "versions": {"python": sys.version.split()[0], "gongkai": git_commit(project)},
        "queries": [{"q": q.q, "kind": q.kind, "truth": len(want[q.q])} for q in queries],
        "engines": {},
    }
    ours: dict | None = None
    if (unit_dir / "search.html").is_file():
        index = our_index_files(unit_dir)
        ours = {"index": files_size(index, gzipped=True)}
        seconds, method = stage_seconds(stdout), "stage time printed by the build"
        if seconds is None:
            plain = settings_without_search(settings, work / "settings_without_search.py")
            if plain is not None:
                without, _ = build(project, content, work / "output-without-search", plain, build_date)
                seconds, method = max(0.0, build_seconds - without), "build with search minus build without"
                shutil.rmtree(work / "output-without-search", ignore_errors=True)
        ours.update(index_seconds=seconds, index_time_method=method,
                    index_share=seconds / build_seconds if seconds is not None else None)
    else:
        say(f"{unit}/search.html was not built: our search is not measured")

    pf: dict | None = None
    version = pagefind_version()
    result["versions"]["pagefind"] = version
    if args.no_pagefind:
        pass
    elif version is None:
        say("pagefind is not installed (pip install -r requirements-bench.txt): Pagefind is not measured")
    else:
        pf_root = work / "pagefind-site"
        shutil.rmtree(pf_root, ignore_errors=True)
        site = pagefind_tree(out_root, unit, docs, pf_root)
        seconds = run_pagefind(site)
        say(f"Pagefind indexed {len(docs):,} pages in {seconds:.1f} s")
        pf = {"index": files_size(pagefind_index_files(site), gzipped=False), "index_seconds": seconds}

    if ours is not None or pf is not None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            say("playwright is not installed (make test installs it): no browser figures")
        else:
            with sync_playwright() as p:
                try:
                    browser = harness.launch(p)
                except harness.BenchError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a chromium that will not start: one line
                    raise harness.BenchError(f"chromium did not start: {harness._short(exc)}") from None
                result["versions"]["chromium"] = browser.version
                result["versions"]["playwright"] = _version("playwright")
                try:
                    if ours is not None:
                        with harness.serve(out_root, args.max_seconds) as base:
                            ours.update(measure_engine("gongkai", browser, base, unit, queries, warmup, want, args.timeout))
                    if pf is not None:
                        with harness.serve(pf_root, args.max_seconds) as base:
                            pf.update(measure_engine("Pagefind", browser, base, unit, queries, warmup, want, args.timeout))
                finally:
                    browser.close()
    for name, engine in (("gongkai", ours), ("pagefind", pf)):
        if engine is not None:
            result["engines"][name] = engine
    print(table(result))
    for name, engine in result["engines"].items():
        for row in engine.get("per_query", []):
            for error in row["errors"]:
                say(f"{name} {row['q']!r}: {error}")
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"search-{stamp}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    say(f"figures written to {path}")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", help="bench this content folder (default: a generated 5,000-item unit)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"), help="folder holding bench/gen_corpus.py")
    ap.add_argument("--unit", help="unit to bench (default: the one with most items)")
    ap.add_argument("--project", default=str(ROOT), help="the gongkai checkout that builds (default: this one)")
    ap.add_argument("--settings", help="settings file (default: the project's pelicanconf.py)")
    ap.add_argument("--queries", default=str(truth.QUERIES))
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"), help="folder for the JSON figures")
    ap.add_argument("--work", help="working folder (kept); default a temporary one, removed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary working folder")
    ap.add_argument("--no-pagefind", action="store_true")
    ap.add_argument("--timeout", type=float, default=60, help="seconds one query may take")
    ap.add_argument("--max-seconds", type=float, default=3600, help="the local server stops after this")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (harness.BenchError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        say(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
