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
    "generator_init": "(generator) — reader.py gives every Jinja environment the process's compiled templates",
    "finalized": "(pelican) — reader.py drops Pelican's memoized article content once a unit is written",
    "article_generator_context": "(generator, metadata) — lifecycle.py sets each item's State; "
                                 "non-public items become status 'skip'",
    "content_object_init": "(instance) — lifecycle.py empties a withdrawn 公示",
    "article_generator_finalized": "(generator) — fiscal_plugin.py attaches tables and charts",
    "article_writer_finalized": "(generator, writer) — lifecycle.json, fiscal downloads",
}

# The project's own stages, run by build.py / __main__.py in the parent process.
# name -> (arguments, what it is for)
STAGES: dict[str, tuple[str, str]] = {
    "scan": ("content, catalogs -> Site", "read and validate every unit and item; collect problems"),
    "facts": ("site, day -> Facts", "states, registry, reverse links: computed once per build"),
    "units": ("job -> per-unit output", "one Pelican run per unit (render)"),
    "portal": ("partial, settings, units", "the portal pages across every unit"),
    "swap": ("partial, output", "the new output replaces the old one only when all succeeded"),
}
