"""Command line: ``python -m gongkai html|check`` (what the Makefile runs), and the editor
tools ``new``, ``import``, ``hooks``, ``precommit``, ``fix-encoding`` (tools/cli.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import errors, lifecycle
from .build import build, check, describe, exit_code


def main(argv: list[str] | None = None) -> int:
    from .tools import cli
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in cli.COMMANDS:
        return cli.run(args[0], args[1:])
    ap = argparse.ArgumentParser(prog="gongkai", description="Build or check 政府信息公开 column sites.")
    ap.add_argument("command", choices=("html", "check", "annual-report"))
    ap.add_argument("--content", default="content", type=Path)
    ap.add_argument("--output", default="output", type=Path)
    ap.add_argument("--settings", default="pelicanconf.py", type=Path)
    ap.add_argument("--catalogs", default="catalogs", type=Path)
    ap.add_argument("--jobs", type=int, default=None, help="parallel unit builds (default: all cores)")
    ap.add_argument("--wait", type=float, default=300.0,
                    help="seconds to wait for another build writing the same output (default 300)")
    ap.add_argument("--debug", action="store_true", help="show the Python traceback of a failure")
    ap.add_argument("--unit", help="annual-report: the unit id")
    ap.add_argument("--year", help="annual-report: the year the report covers (YYYY)")
    args = ap.parse_args(argv)
    if args.command == "annual-report":
        from .annual.prefill import main as annual_report
        return annual_report(args.content, args.catalogs, args.unit, args.year)
    try:
        as_of = lifecycle.as_of().isoformat()
    except lifecycle.BuildDateError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if args.command == "check":
            site = check(args.content, args.catalogs)
            if not site.ok:
                print(errors.summary(site.problems), file=sys.stderr)
                return 1
            warnings = len(site.problems)
            print(f"ok: {len(site.units)} units, {len(site.items)} items, no errors"
                  + (f", {warnings} warning(s)" if warnings else "") + f" (as of {as_of})")
            return 0
        return build(args.content, args.output, args.settings, args.catalogs, as_of, args.jobs,
                     debug=args.debug, wait=args.wait)
    except errors.ContentError as exc:
        print(exc, file=sys.stderr)
        print(errors.summary(exc.problems), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断 (interrupted); output is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - an editor sees one line, never a traceback
        if args.debug:
            raise
        print(describe(exc), file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
