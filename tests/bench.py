"""What `make bench` runs: the build benchmark, then the search benchmark. Prints figures; asserts nothing.

- Build (tests/bench/build_bench.py): gongkai against Hugo, cold / one-item edit / next
  day, with per-stage figures, on corpora from ../shared/bench/gen_corpus.py (2,000/20
  and 20,000/100 three times, then 20,000/1,300 and 100,000/1,300 once for the curve, by
  default) or on a copy of --content. Arguments it does not know
  itself (``--sizes``, ``--runs``, ``--jobs``, ``--no-hugo`` …) go to it.
- Search (tests/bench/search_bench.py): ours against Pagefind.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "bench"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--content", help="bench the build and search on this content instead of generated corpora")
    ap.add_argument("--no-build", action="store_true", help="skip the build benchmark")
    ap.add_argument("--no-search", action="store_true", help="skip the search benchmark")
    args, build_args = ap.parse_known_args(argv)
    common = ["--shared", args.shared] + (["--content", args.content] if args.content else [])
    code = 0
    if not args.no_build:
        import build_bench
        code = build_bench.main(common + build_args)
    if not args.no_search:
        import search_bench
        code = search_bench.main(common) or code
    return code


if __name__ == "__main__":
    sys.exit(main())
