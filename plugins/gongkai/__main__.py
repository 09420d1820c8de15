"""Command line: ``python -m gongkai html|check|merge`` (what the Makefile runs), and the editor
tools ``new``, ``import``, ``hooks``, ``precommit``, ``fix-encoding`` (tools/cli.py)."""
from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import gc
import os
import sys
import tempfile
from pathlib import Path

from . import errors, interrupt, lifecycle
from .build import build, check, describe, exit_code, warm_worker


def main(argv: list[str] | None = None) -> int:
    # A build allocates millions of small containers that live until it ends (items, the
    # registry, index terms); with CPython's default threshold (700 allocations) the
    # collector scans them again and again: unpickling 20k validated items took 0.72 s with
    # it and 0.17 s with this one. Forked workers inherit it.
    gc.set_threshold(50_000, 20, 20)
    from .tools import cli
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in cli.COMMANDS:
        return cli.run(args[0], args[1:])
    ap = argparse.ArgumentParser(prog="gongkai", description="Build or check 政府信息公开 column sites.")
    ap.add_argument("command", choices=("html", "check", "validate", "annual-report", "merge", "groups"))
    ap.add_argument("--content", default="content", type=Path)
    ap.add_argument("--output", default="output", type=Path)
    ap.add_argument("--settings", default="pelicanconf.py", type=Path)
    ap.add_argument("--catalogs", default="catalogs", type=Path)
    ap.add_argument("--jobs", type=int, default=None, help="parallel unit builds (default: all cores)")
    ap.add_argument("--wait", type=float, default=300.0,
                    help="seconds to wait for another build writing the same output (default 300)")
    ap.add_argument("--debug", action="store_true", help="show the Python traceback of a failure")
    ap.add_argument("--units", help="html/check: build only these units, e.g. a,b,c (then `merge` the parts)")
    ap.add_argument("--parts", nargs="*", type=Path, default=[], help="merge: the outputs of `html --units …`")
    ap.add_argument("--groups", type=int, default=2, help="groups: how many unit groups (by city subtree)")
    ap.add_argument("--json", action="store_true", help="groups: print a JSON list (a CI matrix)")
    ap.add_argument("--no-cache", action="store_true",
                    help="html/check/validate: ignore the build cache beside the output (a full build)")
    ap.add_argument("--timings", type=Path, default=None,
                    help="html: write the per-stage times and peak RSS as JSON to this file (or set GK_TIMINGS)")
    ap.add_argument("--unit", help="annual-report: the unit id")
    ap.add_argument("--year", help="annual-report: the year the report covers (YYYY)")
    ap.add_argument("--fail-on", default="veto", choices=("veto", "deduction", "notice"),
                    help="check: exit non-zero on findings of this severity or above (default: veto)")
    args = ap.parse_args(argv)
    if args.command == "annual-report":
        from .annual.prefill import main as annual_report
        return annual_report(args.content, args.catalogs, args.unit, args.year)
    try:
        as_of = lifecycle.as_of().isoformat()
    except lifecycle.BuildDateError as exc:
        print(exc, file=sys.stderr)
        return 2
    with interrupt.handled():   # SIGTERM as Ctrl-C: the spool and the partial output are removed
        return _run(args, as_of)


def _run(args, as_of: str) -> int:
    try:
        if args.command == "groups":
            from .merge import groups_main
            return groups_main(args.content, args.catalogs, args.groups, args.json)
        if args.command == "merge":
            from .merge import merge
            return merge(args.parts, args.content, args.output, args.settings, args.catalogs, as_of, args.wait)
        units = None
        if args.units is not None:
            from .merge import parse_units
            units = parse_units(args.units)
        if args.command == "validate":
            return 0 if _validate(args, as_of) is not None else 1
        if args.command == "check":
            return _check(args, as_of, units)
        return build(args.content, args.output, args.settings, args.catalogs, as_of, args.jobs,
                     debug=args.debug, wait=args.wait, units=units, use_cache=not args.no_cache,
                     timings_file=args.timings)
    except errors.ContentError as exc:
        print(exc, file=sys.stderr)
        print(errors.summary(exc.problems), file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        name = getattr(exc, "signum", None)
        name = "SIGINT" if name is None else interrupt.signal.Signals(name).name
        print(f"已中断：收到 {name}，构建已停止，临时文件已清除；输出目录保持上次完整构建的结果 "
              f"(interrupted by {name}: stopped, temporary files removed; the output keeps its last complete build)",
              file=sys.stderr)
        return getattr(exc, "code", 130)
    except Exception as exc:  # noqa: BLE001 - an editor sees one line, never a traceback
        if args.debug:
            raise
        print(describe(exc), file=sys.stderr)
        return exit_code(exc)


def _validate(args, as_of: str):
    """Content only (DESIGN §9): what the editor must fix before anything is built. Fast,
    no rendering. Returns the scanned Site, or None when content has errors (printed)."""
    from .incremental import Cache, ItemCache
    store = Cache.open(args.output, not args.no_cache)
    site = check(args.content, args.catalogs, cache=ItemCache(store, args.catalogs), jobs=args.jobs)
    store.save_hashes(prune=False)
    if not site.ok:
        print(errors.summary(site.problems), file=sys.stderr)
        return None
    warnings = len(site.problems)
    print(f"ok: {len(site.units)} units, {len(site.items)} items, no errors"
          + (f", {warnings} warning(s)" if warnings else "") + f" (as of {as_of})")
    return site


def _check(args, as_of: str, units: list[str] | None = None) -> int:
    """Validate content, then build into a temporary folder (the link rule reads built pages)
    and run the checker; findings at or above --fail-on make the exit status non-zero."""
    from .pool import Zygote
    # Before the scan: the unit workers do not inherit its items (issue 15).
    zygote = Zygote(functools.partial(warm_worker, str(args.catalogs.resolve()), str(args.settings)))
    try:
        return _check_with(args, as_of, units, zygote)
    finally:
        zygote.close()


def _check_with(args, as_of: str, units: list[str] | None, zygote) -> int:
    site = _validate(args, as_of)
    if site is None:
        return 1
    reports: list = []
    with tempfile.TemporaryDirectory(prefix="gongkai-check-") as tmp, \
            open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        # The build's own summary lines are not the check's: stdout is the checker's listing;
        # build warnings and errors still reach stderr.
        code = build(args.content, Path(tmp) / args.output.name, args.settings, args.catalogs, as_of, args.jobs,
                     debug=args.debug, wait=args.wait, on_check=reports.append, site=site, units=units, use_cache=False,
                     zygote=zygote)
    if code != 0 or not reports:
        return code or 1
    report = reports[0]
    print(report.console())
    failing = report.failing(args.fail_on)
    print(f"check: {len(failing)} finding(s) at or above {args.fail_on} (FAIL_ON={args.fail_on})"
          + ("" if failing else ": passed"))
    return 1 if failing else 0


def _exit(code: int | None) -> None:
    """Leave without tearing the interpreter down: a build ends holding ~100k objects
    whose one-by-one release took ~0.15 s of a 3 s edit build (issue 15). Everything a
    build must finish is done by then; the exit handlers (logging, multiprocessing,
    temporary folders) still run, and the output streams are flushed first. Under a
    profiler or tracer (cProfile, coverage), which report at teardown, it exits as usual."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    _exit(main())
