"""Build timings on generated corpora (what `make bench` runs). Prints figures; asserts nothing.

Corpora come from ../shared/bench/gen_corpus.py (DESIGN format, any size), or --content.
Then the search benchmark (tests/bench/search_bench.py: ours against Pagefind).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_build(content: Path, output: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": "2026-11-22"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output", str(output),
                    "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs")],
                   env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="2000:20,20000:100", help="items:units pairs")
    ap.add_argument("--content", help="time builds of this content, and bench search on it")
    ap.add_argument("--no-search", action="store_true", help="skip the search benchmark")
    args = ap.parse_args()
    gen = Path(args.shared) / "bench" / "gen_corpus.py"
    print(f"cores: {os.cpu_count()}")
    if args.content:
        with tempfile.TemporaryDirectory() as tmp:
            times = [run_build(Path(args.content), Path(tmp) / f"output{n}") for n in range(args.runs)]
        print(f"{args.content}: build median {statistics.median(times):.2f}s ({args.runs} runs)")
    elif not gen.is_file():
        print(f"bench: {gen} not found (set SHARED=path/to/shared): no build timings on generated corpora")
    for pair in ([] if args.content or not gen.is_file() else args.sizes.split(",")):
        items, units = (int(x) for x in pair.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            content, output = Path(tmp) / "content", Path(tmp) / "output"
            subprocess.run([sys.executable, str(gen), str(content), "--items", str(items), "--units", str(units)],
                           check=True, stdout=subprocess.DEVNULL)
            times = []
            for _ in range(args.runs):
                shutil.rmtree(output, ignore_errors=True)
                times.append(run_build(content, output))
            files = [p for p in output.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            pages = [p for p in files if p.suffix == ".html"]
            med = statistics.median(times)
            print(f"{items} items / {units} units: build median {med:.2f}s (min {min(times):.2f}, max {max(times):.2f}, "
                  f"{args.runs} runs), {items / med:.0f} items/s; output {size / 1e6:.1f} MB in {len(files)} files, "
                  f"{len(pages)} pages, mean page {size / max(1, len(files)) / 1e3:.1f} kB")
    if not args.no_search:
        sys.path.insert(0, str(ROOT / "tests" / "bench"))
        import search_bench
        return search_bench.main(["--shared", args.shared] + (["--content", args.content] if args.content else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
