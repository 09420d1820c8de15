"""Build timings on generated corpora (what `make bench` runs). Prints figures; asserts nothing.

Corpora come from ../shared/bench/gen_corpus.py (DESIGN format, any size).
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
    args = ap.parse_args()
    gen = Path(args.shared) / "bench" / "gen_corpus.py"
    if not gen.is_file():
        print(f"bench: {gen} not found (set SHARED=path/to/shared)", file=sys.stderr)
        return 2
    print(f"cores: {os.cpu_count()}")
    for pair in args.sizes.split(","):
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
