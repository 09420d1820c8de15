"""Every hook of the build in one place, with its arguments (as Sphinx's events.py).

A capability connects to these and to nothing else; when a sub-package adds a hook
or starts using a Pelican signal, it is listed here, so the whole flow of one build
can be read from this file:

    read → validate → lifecycle → render → index → check
"""
from __future__ import annotations

# Pelican signals the project's plugins connect to, per unit build (in a worker).
PELICAN_SIGNALS: dict[str, str] = {
    "readers_init": "(readers) — reader.py registers the Markdown and YAML item readers",
    "get_generators": "(pelican) — columns.py adds the column-tree generator",
    "get_writer": "(pelican) — feeds.py: Atom entries carry the summary, not the full body",
    "generator_init": "(generator) — reader.py gives every generator the process's Jinja environment of its configuration (render.share_environment); "
                      "compiled templates also go to the build cache when GK_TEMPLATE_CACHE names a folder; "
                      "and skips Pelican's walk for files of disabled readers when no reader is disabled",
    "finalized": "(pelican) — reader.py drops Pelican's memoized article content once a unit is written",
    "article_generator_context": "(generator, metadata) — lifecycle.py sets each item's State; "
                                 "non-public items become status 'skip'",
    "content_object_init": "(instance) — lifecycle.py empties a withdrawn 公示",
    "article_generator_finalized": "(generator) — fiscal_plugin.py attaches tables and charts; "
                                   "lifecycle.py turns body links to hidden items into plain text; "
                                   "annual/plugin.py attaches the 年报 view and roll-up, sets template 'annual'; "
                                   "incremental/pages.py wraps generate_articles when GK_PAGE_REUSE is set: an item "
                                   "page whose key did not change is copied from the previous output, not rendered",
    "article_writer_finalized": "(generator, writer) — lifecycle.json, fiscal downloads, 年报 CSV/JSON (both through downloads.write); search/ writes "
                                "the unit's index and search.html; lifecycle.py writes the targets of the "
                                "unit's body links to GK_LINK_TARGETS_FILE when incremental/ asks (the unit's key)",
    "feed_generated": "(context, feed) — feeds.py dates an empty feed by the as-of date, not the clock",
}

# The project's own stages, run by build.py / __main__.py in the parent process, in this order.
# name -> (arguments, what it is for)
STAGES: dict[str, tuple[str, str]] = {
    "lock": ("output", "one build at a time per output folder; a swap cut short is restored"),
    "cache": ("output, use_cache -> incremental.Cache", "the cache beside the output (.<output>.cache/); "
              "ignored with one warning when damaged or not ours"),
    "scan": ("content, catalogs, ItemCache -> Site", "read and validate every unit and item; collect problems "
             "(items of unchanged files come from the cache)"),
    "facts": ("site, day -> Facts", "states, registry, reverse links: computed once per build"),
    "reuse": ("site, facts, shared -> incremental.Reuse", "each unit's key; a unit whose key matches the last "
              "build's keeps its output folder (lifecycle.json and check/ written afresh)"),
    "units": ("job -> per-unit output", "one Pelican run per unit (render), for the units not reused; then, "
              "when the checker runs, the worker's link scan of the folder it wrote (check.scan_unit_job -> "
              "the build's .check-stash/)"),
    "annual": ("site, facts -> GK_ANNUAL", "年报 warnings (annual/series.py) and every public report for roll-ups"),
    "portal": ("partial, settings, units", "the portal pages across every unit (and output/annual/)"),
    "search-portal": ("partial, settings, units, as_of, reused", "search.build_portal: the portal's search.html "
                      "(it queries the units' own indexes) and the theme's search assets and 简繁 map, which every "
                      "unit's pages read; prints the search stage's time (the units indexed "
                      "by this build; the reused units' indexes are kept)"),
    "check": ("site, facts, catalogs, partial, settings -> check.Report",
              "check.after_render: the checker over the rendered units (the link rule reads the workers' scans, "
              "or the cache's for reused units); "
              "writes output/check/ and output/<unit>/check/ when GK_CHECK_REPORTS; build(on_check=…) receives "
              "the report (`make check`)"),
    "swap": ("partial, output", "the new output replaces the old one only when all succeeded; the reused units' "
             "files are moved in just before (a journal lets recover() put them back), keys recorded after"),
    # portal … swap are one function, build.finish, which the full build and merge both end with.
    "parts": ("partial, report", "a subset build (UNITS=a,b,c) only: merge.PartWriter saves _parts/ (manifest, "
              "each unit's search filter values before search-portal consumes them, checker report and links "
              "into units built elsewhere)"),
    "merge": ("parts, content, output", "python -m gongkai merge: scan + facts, refuse parts that do not fit, "
              "hard-link their unit folders, then build.finish with the checker's report from the parts"),
}

# The checker's own extension seam (plugins/gongkai/check/engine.py): a rule family
# module declares ``@rule(id, thresholds={key: kind})`` over ``fn(unit: UnitFacts, t) ->
# Iterable[Hit]``; its name, severity, points, source, fix and thresholds come from
# catalogs/rules.yaml. See docs/checker.md "Writing a rule".
CHECK_RULE = "@check.engine.rule(id, thresholds) — fn(UnitFacts, thresholds) -> Iterable[Hit]"
