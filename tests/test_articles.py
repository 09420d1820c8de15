"""The unit worker's lean Pelican (articles.py): each override gives Pelican's answer
without Pelican's per-item cost."""
from __future__ import annotations

import json
import os
import random
import re
import string
import subprocess
import sys

import pytest
from pelican import signals
from pelican.contents import Article
from pelican.generators import ArticlesGenerator, Generator
from pelican.paginator import PaginationRule
from pelican.readers import Readers
from pelican.settings import DEFAULT_CONFIG
from pelican.writers import Writer

from conftest import ROOT

from gongkai import articles
from gongkai.feeds import summary_feed_writer


def _settings(**extra) -> dict:
    return {**DEFAULT_CONFIG, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False, **extra}


def _random_part(rng: random.Random) -> str:
    return rng.choice(["", ".", "..", "a", "b.md", ".x", "x..y", "…", "zfxxgk", "~"])


def _random_path(rng: random.Random) -> str:
    parts = [_random_part(rng) for _ in range(rng.randint(0, 5))]
    path = "/".join(parts)
    if rng.random() < 0.4:
        path = "/" + path
    if rng.random() < 0.1:
        path += "/"
    return path


def test_relative_source_path_is_pelicans():
    """ItemArticle takes the folder off by slicing only where relpath(abspath(…)) gives
    the same; every other path (``..``, ``.``, ``//``, another folder, a relative or
    unnormalised PATH) gets Pelican's own answer."""
    rng = random.Random(15)
    pelican_article = Article.__new__(Article)
    lean_article = articles.ItemArticle.__new__(articles.ItemArticle)
    bases = ["/srv/content/u1", "/srv/content/u1/", "/srv//content/u1", "/srv/content/./u1",
             "/srv/content/u1/..", "content/u1", "/"]
    checked = sliced = 0
    for _ in range(20_000):
        base = rng.choice(bases)
        source = rng.choice([base.rstrip("/") + "/" + _random_path(rng).lstrip("/"), _random_path(rng),
                             base + _random_path(rng)])
        if not source:
            continue
        for article in (pelican_article, lean_article):
            article.settings = {"PATH": base}
            article.source_path = source
        want = Article.get_relative_source_path(pelican_article)
        assert lean_article.get_relative_source_path() == want, (base, source)
        checked += 1
        sliced += articles.clean_folder(base) and source.startswith(base + "/") \
            and articles.clean_relative(source[len(base) + 1:])
    assert checked > 15_000 and sliced > 400   # both paths were taken


@pytest.mark.parametrize("ignores", [[".*", "_unit.yaml", "__pycache__"], [], ["*.bak", "[!a]*.md", "a?c"]])
def test_listing_test_is_pelicans(tmp_path, ignores):
    """The ignore test is one regular expression equal to Pelican's fnmatch loop."""
    settings = _settings(PATH=str(tmp_path), OUTPUT_PATH=str(tmp_path / "out"), THEME=str(ROOT / "theme"),
                         IGNORE_FILES=ignores, PLUGINS=[])
    context = settings.copy()
    context.update(generated_content={}, static_links=set(), static_content={})
    lean = articles.ItemsGenerator(context=context, settings=settings, path=str(tmp_path),
                                   theme=settings["THEME"], output_path=settings["OUTPUT_PATH"])
    rng = random.Random(7)
    alphabet = "ab._-*?[]!c" + string.digits
    for _ in range(5_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) + rng.choice(["", ".md", ".yaml", ".html"])
        path = rng.choice(["", "d/", "./d/e/"]) + name
        for extensions in (None, False, ("md",)):
            assert lean._include_path(path, extensions) == Generator._include_path(lean, path, extensions), \
                (path, extensions)


def test_no_file_stamps_when_the_cache_is_off(tmp_path, monkeypatch):
    """With the content cache off, neither the generator nor its readers stat the source
    (Pelican called getmtime four times an item); with a loaded cache they defer to Pelican."""
    settings = _settings(PATH=str(tmp_path), OUTPUT_PATH=str(tmp_path / "out"), THEME=str(ROOT / "theme"), PLUGINS=[])
    context = settings.copy()
    context.update(generated_content={}, static_links=set(), static_content={})
    gen = articles.ItemsGenerator(context=context, settings=settings, path=str(tmp_path),
                                  theme=settings["THEME"], output_path=settings["OUTPUT_PATH"])
    assert isinstance(gen.readers, articles.ItemReaders) and isinstance(gen.readers, Readers)
    stamps = []
    for cacher in (gen, gen.readers):
        monkeypatch.setattr(cacher, "_filestamp_func", lambda path: stamps.append(path) or 1.0)
        marker = object()
        assert cacher.get_cached_data("a.md", marker) is marker
        cacher.cache_data("a.md", "data")
        assert cacher.get_cached_data("a.md", marker) is marker   # nothing was kept
    assert stamps == []
    # A cache that holds data (LOAD_CONTENT_CACHE on) is Pelican's: stamped and compared.
    gen._cache = {"a.md": (1.0, "kept")}
    assert gen.get_cached_data("a.md") == "kept" and stamps == [str(tmp_path / "a.md")]


def test_unit_pelican_uses_the_lean_generator():
    settings = _settings(PATH=str(ROOT / "content"), OUTPUT_PATH="/nonexistent", PLUGINS=[],
                         THEME=str(ROOT / "theme"))
    pelican = articles.UnitPelican.__new__(articles.UnitPelican)
    pelican.settings = settings
    classes = pelican._get_generator_classes()
    assert articles.ItemsGenerator in classes and ArticlesGenerator not in classes
    assert issubclass(articles.ItemsGenerator, ArticlesGenerator)


class _Template:
    """A template whose page shows the context it was rendered with."""
    name = "t.html"

    def render(self, context):
        return f"{context['SITEURL']}|{context['output_file']}|{context.get('x')}|{context['localsiteurl']}"


def test_writer_makes_each_folder_once_and_writes_what_pelican_writes(tmp_path, monkeypatch):
    """Pages are written as Pelican's Writer writes them (bytes, context, signal, the
    overwrite refusal) but a folder is made once, not once per page."""
    names = ["index.html", "a/1.html", "a/2.html", "a/b/3.html", "a/4.html", "c/5.html", "a/b/6.html"]
    outputs = {}
    for cls in (Writer, summary_feed_writer()):
        out = tmp_path / cls.__name__
        settings = _settings(OUTPUT_PATH=str(out))
        made, written = [], []
        real_makedirs = os.makedirs

        def counting(path, *args, made=made, **kwargs):
            made.append(path)
            return real_makedirs(path, *args, **kwargs)

        monkeypatch.setattr(os, "makedirs", counting)

        def seen(path, context, written=written):
            written.append((os.path.relpath(path, out), context["output_file"]))

        signals.content_written.connect(seen)
        try:
            writer = cls(str(out), settings=settings)
            context = {"SITEURL": "http://x", "localsiteurl": None}
            for name in names:
                writer.write_file(name, _Template(), context, relative_urls=True, x=name.upper())
            writer.write_file("", _Template(), context)   # Pelican skips an empty name
            with pytest.raises(RuntimeError):
                writer.write_file("a/1.html", _Template(), context, relative_urls=True)
        finally:
            signals.content_written.disconnect(seen)
            monkeypatch.setattr(os, "makedirs", real_makedirs)
        outputs[cls] = ({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()},
                        written, context["localsiteurl"])
        if cls is Writer:
            assert len(made) == len(names) + 1
        else:
            assert sorted(made) == sorted({str(out / os.path.dirname(n)).rstrip("/") if os.path.dirname(n)
                                           else str(out) for n in names})
    assert outputs[Writer] == outputs[summary_feed_writer()]
    assert outputs[Writer][0]["a/b/3.html"] == b"../..|a/b/3.html|A/B/3.HTML|../.."



class _PageTemplate:
    """A listing template whose page shows its pagination variables."""
    name = "column.html"

    def render(self, context):
        page, prev, nxt = context["articles_page"], context["articles_previous_page"], context["articles_next_page"]
        return "|".join(str(v) for v in (
            context["SITEURL"], context["output_file"], context["localsiteurl"], context.get("column"),
            page.number, page.save_as, page.url, list(page.object_list), context["articles_paginator"].num_pages,
            prev and prev.url, nxt and nxt.url, "articles" in context, "url" in context))


@pytest.mark.parametrize("count", [0, 1, 20, 21, 45])
def test_paginated_listings_are_written_as_pelican_writes_them(tmp_path, monkeypatch, count):
    """A paginated listing (PAGINATED_TEMPLATES) comes out of UnitWriter as out of Pelican's
    Writer: the same pages, bytes, page variables, context and signals, the overwrite
    refusal; but each folder is made once (Pelican made it again for every page, and
    wrote through a text file object)."""
    settings_of = dict(PAGINATED_TEMPLATES={"column": 20}, DEFAULT_ORPHANS=0, PAGINATION_PATTERNS=[
        PaginationRule(1, "{name}{extension}", "{name}{extension}"),
        PaginationRule(2, "{name}{number}{extension}", "{name}{number}{extension}")])
    listings = [("gz/index.html", "gz/index.html"), ("a/b/index.html", "a/b/index.html"), ("x.html", "x.html")]
    outputs = {}
    for cls in (Writer, summary_feed_writer()):
        out = tmp_path / cls.__name__
        out.mkdir()
        made, written = [], []
        real_makedirs = os.makedirs

        def counting(path, *args, made=made, **kwargs):
            made.append(path)
            return real_makedirs(path, *args, **kwargs)

        def seen(path, context, written=written):
            written.append((os.path.relpath(path, out), context["output_file"], context["articles_page"].number))

        monkeypatch.setattr(os, "makedirs", counting)
        signals.content_written.connect(seen)
        try:
            writer = cls(str(out), settings=_settings(OUTPUT_PATH=str(out), **settings_of))
            context = {"SITEURL": "http://x", "localsiteurl": None, "articles": ["all"]}
            for name, url in listings:
                writer.write_file(name, _PageTemplate(), context, relative_urls=True, template_name="column",
                                  paginated={"articles": list(range(count))}, column=name.upper(), url=url)
            with pytest.raises(RuntimeError):
                writer.write_file("gz/index.html", _PageTemplate(), context, relative_urls=True,
                                  template_name="column", paginated={"articles": [1]}, url="gz/index.html")
        finally:
            signals.content_written.disconnect(seen)
            monkeypatch.setattr(os, "makedirs", real_makedirs)
        outputs[cls] = ({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()},
                        written, context["localsiteurl"])
        folders = [m for m in made if m.startswith(str(out))]
        # Pelican makes a page's folder again for every page (and for the refused one)
        assert (len(folders) == len(set(folders))) is (cls is not Writer), folders
    assert outputs[Writer] == outputs[summary_feed_writer()]
    pages = outputs[Writer][0]
    assert len(pages) == 3 * max(1, -(-count // 20))
    assert pages["gz/index.html"].startswith(b"..|gz/index.html|..|GZ/INDEX.HTML|1|gz/index.html|gz/index.html|")

HOOK = '''
import collections, json, os, sys
from pathlib import Path
from gongkai import build

OUT = Path(sys.argv.pop(1))
CONTENT = os.path.realpath(sys.argv[sys.argv.index("--content") + 1])
calls = {"getmtime": [], "makedirs": []}
_getmtime, _makedirs = os.path.getmtime, os.makedirs


def getmtime(path):
    calls["getmtime"].append(os.fspath(path))
    return _getmtime(path)


def makedirs(path, *args, **kwargs):
    calls["makedirs"].append(os.fspath(path))
    return _makedirs(path, *args, **kwargs)


# Patched in the build's process before its zygote forks: every unit worker inherits them.
os.path.getmtime, os.makedirs = getmtime, makedirs
_build_unit = build.build_unit


def build_unit(job):
    for made in calls.values():
        made.clear()
    result = _build_unit(job)
    (OUT / f"{job['unit']}.json").write_text(json.dumps({
        "stamped": [p for p in calls["getmtime"] if os.path.realpath(p).startswith(CONTENT + os.sep)],
        "made_again": [p for p, n in collections.Counter(calls["makedirs"]).items() if n > 1]}))
    return result


build.build_unit = build_unit
from gongkai.__main__ import main
sys.exit(main(sys.argv[1:]))
'''


def test_unit_workers_stat_no_source_and_make_each_page_folder_once(tmp_path):
    """A build of the sample: no unit worker stats a source file for Pelican's (off)
    content cache, and no item page's folder is made twice (Pelican did both per item)."""
    hook, marks = tmp_path / "hook.py", tmp_path / "marks"
    hook.write_text(HOOK, encoding="utf-8")
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": "2026-11-22"}
    done = subprocess.run([sys.executable, str(hook), str(marks), "html", "--content", "content", "--output",
                           str(tmp_path / "out"), "--settings", "pelicanconf.py", "--catalogs", "catalogs",
                           "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    units = {p.stem: json.loads(p.read_text()) for p in marks.glob("*.json")}
    assert len(units) == 5
    for unit, seen in units.items():
        assert seen["stamped"] == [], unit
        assert [p for p in seen["made_again"] if "/art/" in p] == [], unit


def _vars(article) -> dict:
    return {k: v for k, v in vars(article).items() if k not in ("settings", "_context")}


@pytest.mark.parametrize("unit_id", ["shili-county", "shili-province"])
def test_lean_read_file_makes_pelicans_article(unit_id, cats):
    """Every item of a sample unit, read through the lean ``read_file`` and through
    Pelican's, gives an Article with the same attributes (metadata, dates, slug, source
    paths, status, template, the item) and the same signals, without Pelican's
    ``abspath``/``relpath`` per item."""
    from pelican.settings import read_settings

    from gongkai import reader as reader_mod
    from gongkai.units import load_units

    units, problems = load_units(ROOT / "content", cats)
    assert not problems
    unit = units[unit_id]
    base = str(unit.folder.resolve())
    settings = read_settings(str(ROOT / "pelicanconf.py"), override={
        "PATH": base, "OUTPUT_PATH": "/nonexistent", "GK_UNIT": unit.as_settings(), "GK_AS_OF": "2026-11-22"})
    readers = Readers(settings)
    reader_mod._add_readers(readers)   # as the readers_init signal does in a build
    readers.readers = {fmt: cls(settings) for fmt, cls in readers.reader_classes.items() if cls}
    lean = articles.ItemReaders.adopt(readers)
    context = {"generated_content": {}, "static_links": set(), "static_content": {}}
    sent = []

    def preread(sender):
        sent.append(("preread", sender))

    def on_context(sender, metadata):
        sent.append(("context", sender, dict(metadata)))

    def read(path: str, use_lean: bool):
        sent.clear()
        signals.article_generator_preread.connect(preread)
        signals.article_generator_context.connect(on_context)
        kwargs = {"context": context, "preread_signal": signals.article_generator_preread, "preread_sender": "gen",
                  "context_signal": signals.article_generator_context, "context_sender": "gen"}
        try:
            if use_lean:
                article = lean.read_file(base, path, content_class=Article, **kwargs)
            else:   # Pelican's own, with the same Article class
                article = Readers.read_file(readers, base, path, content_class=articles.ItemArticle, **kwargs)
        finally:
            signals.article_generator_preread.disconnect(preread)
            signals.article_generator_context.disconnect(on_context)
        return type(article), _vars(article), list(sent)

    files = sorted(str(p.relative_to(base)) for p in unit.folder.resolve().rglob("*")
                   if p.suffix in (".md", ".yaml") and p.name != "_unit.yaml")
    assert len(files) > 10
    relpaths = []
    real_relpath = os.path.relpath

    def counting_relpath(*args, **kwargs):
        relpaths.append(args)
        return real_relpath(*args, **kwargs)

    for rel in files:
        for path in (rel, f"./{rel}"):   # Pelican's listing names the files of the unit's root "./…"
            want = read(path, False)
            os.path.relpath = counting_relpath
            try:
                got = read(path, True)
            finally:
                os.path.relpath = real_relpath
            assert got == want, path
    assert relpaths == []   # the lean path was taken: no path arithmetic per item


def test_writer_output_file_is_pelicans_sanitised_join(tmp_path):
    """UnitWriter joins a page's name to the output folder by concatenation only where
    ``sanitised_join`` (abspath of the join, refusing a path out of the folder) gives that
    string; anything else is Pelican's own join, its refusal included."""
    from pelican.utils import sanitised_join

    rng = random.Random(15)
    folders = [str(tmp_path / "out"), str(tmp_path / "out") + "/", str(tmp_path / "a" / ".." / "out"), "out", "/"]
    for folder in folders:
        writer = articles.UnitWriter(folder, settings=_settings(OUTPUT_PATH=folder))
        for _ in range(500):
            name = _random_path(rng)
            try:
                want = sanitised_join(folder, name)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    writer.output_file(name)
                continue
            assert writer.output_file(name) == want, (folder, name)


def test_a_page_without_fiscal_tables_answers_none_at_once():
    """article.html and item_meta ask every item for ``article.fiscal``, which the fiscal
    plugin sets only on items with tables: the class answers None for the others, where
    Jinja's lookup failed twice and made an Undefined."""
    import jinja2

    env = jinja2.Environment(autoescape=True)
    article = articles.ItemArticle.__new__(articles.ItemArticle)
    assert env.getattr(article, "fiscal") is None
    article.fiscal = {"kind": "sangong"}
    assert env.getattr(article, "fiscal") == {"kind": "sangong"}
    assert env.from_string("{% if a.fiscal and a.fiscal.kind == 'sangong' %}yes{% endif %}").render(a=article) == "yes"


def test_an_items_save_as_is_valid_where_pelican_says_so(tmp_path, monkeypatch):
    """ItemArticle answers Pelican's "inside the output folder?" test without its
    sanitised_join for clean paths (every item, once each); every answer is Pelican's."""
    import pelican.contents

    joins = []
    real_join = pelican.contents.sanitised_join
    monkeypatch.setattr(pelican.contents, "sanitised_join", lambda *a: joins.append(a) or real_join(*a))
    item = articles.ItemArticle.__new__(articles.ItemArticle)
    item.settings, item.override_save_as, item.in_default_lang = {"OUTPUT_PATH": str(tmp_path)}, "a/b/c.html", True
    assert item._has_valid_save_as() and not joins
    rng = random.Random(2)
    folders = [str(tmp_path / "out"), str(tmp_path / "out") + "/", "out", "/", None]
    for folder in folders:
        for _ in range(400):
            name = _random_path(rng) or "x.html"
            answers = []
            for cls in (Article, articles.ItemArticle):
                article = cls.__new__(cls)
                article.settings = {} if folder is None else {"OUTPUT_PATH": folder}
                article.override_save_as = name
                article.in_default_lang = True
                article.source_path = "x.md"
                answers.append(article._has_valid_save_as())
            assert answers[0] == answers[1], (folder, name)


def test_intrasite_link_pattern_is_pelicans_made_once(monkeypatch):
    """An item's {filename}-link pattern is Pelican's own (same pattern, same flags) for
    each INTRASITE_LINK_REGEX, built once instead of at every content access."""
    made = []
    real = Article._get_intrasite_link_regex
    monkeypatch.setattr(Article, "_get_intrasite_link_regex", lambda self: made.append(1) or real(self))
    articles._intrasite_regex.cache_clear()
    item = articles.ItemArticle.__new__(articles.ItemArticle)
    for link_regex in (DEFAULT_CONFIG["INTRASITE_LINK_REGEX"], r"\{(?P<what>.*?)\}", DEFAULT_CONFIG["INTRASITE_LINK_REGEX"]):
        item.settings = {"INTRASITE_LINK_REGEX": link_regex}
        want = real(item)
        for _ in range(10):
            got = item._get_intrasite_link_regex()
            assert (got.pattern, got.flags) == (want.pattern, want.flags)
    assert len(made) == 2   # once per distinct setting value


def test_empty_alt_check_runs_only_on_content_with_images(monkeypatch, cats):
    """Pelican's empty-alt warning looks for a literal "<img"; the lean read_file calls it
    for content that has one (its warnings unchanged) and skips the scan elsewhere."""
    from pelican.settings import read_settings

    from gongkai import reader as reader_mod
    from gongkai.units import load_units

    units, _ = load_units(ROOT / "content", cats)
    checked = []
    real = articles.find_empty_alt
    monkeypatch.setattr(articles, "find_empty_alt", lambda content, path: checked.append(path) or real(content, path))
    seen = {}
    for unit in units.values():
        base = str(unit.folder.resolve())
        settings = read_settings(str(ROOT / "pelicanconf.py"), override={
            "PATH": base, "OUTPUT_PATH": "/nonexistent", "GK_UNIT": unit.as_settings(), "GK_AS_OF": "2026-11-22"})
        readers = Readers(settings)
        reader_mod._add_readers(readers)
        readers.readers = {fmt: cls(settings) for fmt, cls in readers.reader_classes.items() if cls}
        lean = articles.ItemReaders.adopt(readers)
        for path in sorted(unit.folder.resolve().rglob("*.md")):
            article = lean.read_file(base, str(path.relative_to(base)), content_class=Article,
                                     context={"generated_content": {}, "static_links": set(), "static_content": {}})
            seen[f"{base}/{path.relative_to(base)}"] = "<img" in (article._content or "")
    assert any(seen.values()) and not all(seen.values())
    assert sorted(checked) == sorted(p for p, has in seen.items() if has)


@pytest.mark.parametrize("conf", ["pelicanconf.py", "publishconf.py"])
def test_unit_settings_are_pelicans_with_the_file_run_once(tmp_path, monkeypatch, conf):
    """build.unit_settings gives what Pelican's read_settings gives for every unit, but runs
    the settings file once per worker run; each unit gets its own copy of the file's values,
    and a changed file (or environment) is run again."""
    from pelican import settings as pelican_settings
    from pelican.settings import read_settings

    from gongkai import build

    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))   # publishconf imports pelicanconf, as Pelican runs it
    runs = []
    real = pelican_settings.load_source
    monkeypatch.setattr(pelican_settings, "load_source", lambda *a: runs.append(a) or real(*a))
    kept: dict = {}
    path = str(ROOT / conf)
    ours_runs = 0
    for n in range(3):
        (tmp_path / f"u{n}").mkdir()
        override = {"PATH": str(tmp_path / f"u{n}"), "OUTPUT_PATH": "out", "SITEURL": f"/u{n}", "GK_X": {"n": n}}
        before = len(runs)
        ours = build.unit_settings(path, override, kept)
        ours_runs += len(runs) - before
        assert ours == read_settings(path, override=override)
        assert ours["OUTPUT_PATH"] == str(ROOT / "out") and ours["GK_X"] is override["GK_X"]
        ours["PLUGINS"].append("changed")    # a unit's Pelican changes its own copy only
        ours["JINJA_ENVIRONMENT"]["changed"] = True
    assert ours_runs == 1
    monkeypatch.setenv("SITE_ROOT", "https://other.example")   # the file reads it
    before = len(runs)
    again = build.unit_settings(path, {}, kept)
    assert len(runs) == before + 1 and again == read_settings(path)
    assert again["GK_SITE_ROOT"] == "https://other.example"
    copy = tmp_path / "conf.py"
    copy.write_text("SITENAME = 'a'\nPLUGINS = []\n", encoding="utf-8")
    assert build.unit_settings(str(copy), {}, kept)["SITENAME"] == "a"
    copy.write_text("SITENAME = 'bb'\nPLUGINS = []\n", encoding="utf-8")
    assert build.unit_settings(str(copy), {}, kept)["SITENAME"] == "bb"


def test_unit_pelican_finds_its_plugins_once_per_run(monkeypatch, caplog):
    """UnitPelican registers the plugins Pelican registers, looking them up on PLUGIN_PATHS
    for the first unit of a run only; a plugin that cannot be found is looked for (and
    reported) again for every unit."""
    from pelican import Pelican
    from pelican.settings import read_settings

    monkeypatch.chdir(ROOT)
    found = []
    real = articles.load_plugins
    monkeypatch.setattr(articles, "load_plugins", lambda s: found.append(1) or real(s))
    kept: dict = {}
    for _ in range(3):
        ours = articles.UnitPelican(read_settings(str(ROOT / "pelicanconf.py")), kept=kept)
        theirs = Pelican(read_settings(str(ROOT / "pelicanconf.py")))
        assert ours.plugins == theirs.plugins and ours.settings["PLUGINS"] == theirs.settings["PLUGINS"]
    assert len(found) == 1
    for _ in range(2):
        settings = read_settings(str(ROOT / "pelicanconf.py"))
        settings["PLUGINS"] = [*settings["PLUGINS"], "gongkai_no_such_plugin"]
        caplog.clear()
        ours = articles.UnitPelican(settings, kept=kept)
        assert "gongkai_no_such_plugin" not in ours.settings["PLUGINS"]
        assert "Cannot load plugin" in caplog.text
    assert len(found) == 3


def test_pages_render_as_jinjas_template_render(tmp_path):
    """``articles.render_page`` (the unit writer's render) gives what ``Template.render``
    gives: globals of the environment and of the template, a variable that hides a global,
    blocks of an extended template, macros imported with context, and the same error (with
    the template's line) when a page fails."""
    import jinja2

    (tmp_path / "base.html").write_text("{% block a %}A{% endblock %}|{{ g }}|{{ t }}|{{ v }}|{{ range(2)|list }}")
    (tmp_path / "m.html").write_text("{% macro show(x) %}[{{ x }}{{ v }}]{% endmacro %}")
    (tmp_path / "page.html").write_text('{% extends "base.html" %}{% import "m.html" as m with context %}'
                                        "{% block a %}{{ m.show(w) }}<{{ w }}>{{ super() }}{% endblock %}")
    (tmp_path / "bad.html").write_text("ok\n{{ v.nope.deeper }}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), autoescape=True)
    env.globals.update(g="env-global", v="hidden")
    page = env.get_template("page.html", globals={"t": "template-global"})
    for variables in ({"v": "<v>", "w": "&"}, {"w": 1}, {"v": "x", "g": "mine", "t": "also", "w": None}):
        assert articles.render_page(page, dict(variables)) == page.render(dict(variables))
    bad = env.get_template("bad.html")
    with pytest.raises(jinja2.UndefinedError) as raised:
        articles.render_page(bad, {"v": {}})
    assert any(str(entry.path).endswith("bad.html") and entry.lineno == 1 for entry in raised.traceback)  # (0-based)
    seen = {}

    class Plain:   # not a Jinja template: rendered by its own method
        def render(self, variables):
            seen.update(variables)
            return "plain"

    assert articles.render_page(Plain(), {"a": 1}) == "plain" and seen == {"a": 1}


def test_an_items_copy_is_dataclasses_replace():
    """``items.copy`` (the reader's copy of a pre-pass item) holds the very field values
    ``dataclasses.replace`` puts in a new Item, every field set, on the sample's items."""
    import dataclasses

    from gongkai import items as items_mod
    from gongkai import schema
    from gongkai.catalogs import load
    from gongkai.units import load_units

    cats = load(ROOT / "catalogs")
    seen = 0
    for unit in load_units(ROOT / "content", cats)[0].values():
        for path in sorted(unit.folder.rglob("*.md")) + sorted(unit.folder.rglob("*.yaml")):
            if path.name.startswith("_"):
                continue
            item, _ = schema.read_item(path, unit, cats)
            if item is None:
                continue
            copied, replaced = items_mod.copy(item), dataclasses.replace(item)
            assert copied is not item and copied == replaced == item
            for f in dataclasses.fields(item):
                assert getattr(copied, f.name) is getattr(replaced, f.name) is getattr(item, f.name), f.name
            seen += 1
    assert seen > 20


def _strftime_outcome(value, fmt):
    try:
        return value.strftime(fmt)
    except ValueError as exc:
        return ("ValueError", str(exc))


def test_an_items_date_is_pelicans_without_its_regex_strftime(monkeypatch):
    """The reader hands Pelican each item's date as Pelican's Content makes it (aware in
    TIMEZONE, a SafeDatetime: ``set_date_tzinfo``), so Content keeps it; it formats as
    Pelican's SafeDatetime does (random formats, years 1–9999), and an Article's
    ``locale_date`` comes without Pelican's per-directive strftime."""
    import datetime as dt

    import pelican.utils
    from pelican.utils import SafeDatetime, set_date_tzinfo

    from gongkai import reader

    rng = random.Random(17)
    pieces = ["%Y", "%m", "%d", "%H", "%M", "%S", "%a", "%b", "%j", "%y", "%%", "%-d", "%-m", "%e", "%Q", "-", " ",
              "年", ":", "%z", "%Z", "%f", "%"]
    for _ in range(1500):
        naive = dt.datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                            rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, rng.randint(0, 999999)]))
        zone = rng.choice(["Asia/Shanghai", "UTC", "America/New_York", "", None, "absent"])
        settings = {} if zone == "absent" else {"TIMEZONE": zone}
        want = set_date_tzinfo(naive, settings.get("TIMEZONE", "UTC"))
        got = reader.page_date(naive, settings)
        assert got == want and got.tzinfo == want.tzinfo and got.fold == want.fold
        assert isinstance(got, type(want)) and set_date_tzinfo(got, settings.get("TIMEZONE", "UTC")) is got
        for _ in range(3):
            fmt = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
            assert _strftime_outcome(got, fmt) == _strftime_outcome(want, fmt), (got, fmt)
    aware = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert reader.page_date(aware, {"TIMEZONE": "Asia/Shanghai"}) is aware
    assert reader.page_date(dt.date(2026, 1, 2), {"TIMEZONE": "Asia/Shanghai"}) == dt.date(2026, 1, 2)
    called = []
    real = pelican.utils.strftime
    monkeypatch.setattr(pelican.utils, "strftime", lambda *a: called.append(a) or real(*a))
    settings = _settings(TIMEZONE="Asia/Shanghai", DEFAULT_DATE_FORMAT="%Y-%m-%d")
    naive = dt.datetime(2026, 11, 22, 9, 30)
    article = Article("", {"title": "t", "date": reader.page_date(naive, settings)}, settings=settings)
    assert not called
    pelicans = Article("", {"title": "t", "date": naive}, settings=settings)
    assert called   # (Pelican's own date: its strftime)
    assert (article.date, article.locale_date, str(article.date.tzinfo)) == (
        pelicans.date, pelicans.locale_date, str(pelicans.date.tzinfo)) == (pelicans.date, "2026-11-22", "Asia/Shanghai")
    assert isinstance(article.date, SafeDatetime)


def test_intrasite_links_are_replaced_as_pelican_does_and_plain_bodies_are_not_searched(tmp_path, monkeypatch):
    """An item's content (for any SITEURL) and its static links are Pelican's own, on random
    bodies with and without {filename}/|static| links, "{" and "|", for the default
    INTRASITE_LINK_REGEX and another; with the default one, a body holding neither "{" nor
    "|" (which no link of that pattern can lack) is not searched at all."""
    rng = random.Random(18)
    bits = ["<p>", "</p>", "示例", "文字", '<a href="', '">链接</a>', "{filename}a.md", "{static}x.png", "|filename|b.md",
            "{", "|", "}", "<img src=\"", '" alt="图">', "&amp;", "'", "https://example.gov.cn/"]
    for link_regex in (DEFAULT_CONFIG["INTRASITE_LINK_REGEX"], r"\{(?P<what>.*?)\}"):
        settings = _settings(PATH=str(tmp_path), INTRASITE_LINK_REGEX=link_regex)
        for n in range(300):
            body = "".join(rng.choice(bits) for _ in range(rng.randint(0, 14)))
            if n % 3 == 0:
                body = body.replace("{", "").replace("|", "")
            made = [cls(body, {"title": "t", "slug": f"s{n}"}, settings=settings,
                        source_path=str(tmp_path / f"s{n}.md"), context={"static_content": {}, "generated_content": {}})
                    for cls in (Article, articles.ItemArticle)]
            for siteurl in ("..", "https://example.gov.cn/u1"):
                assert made[1].get_content(siteurl) == made[0].get_content(siteurl), body
            assert made[1].get_static_links() == made[0].get_static_links(), body
    searched = []
    monkeypatch.setattr(articles, "_intrasite_regex", lambda link_regex: searched.append(link_regex) or re.compile("(?!x)x"))
    settings = _settings(PATH=str(tmp_path))
    item = articles.ItemArticle("<p>示例文字</p>", {"title": "t", "slug": "s"}, settings=settings,
                                source_path=str(tmp_path / "s.md"), context={})
    assert item.get_content("..") == "<p>示例文字</p>" and item.get_static_links() == set()
    assert not searched
    linked = articles.ItemArticle("<p>{x}</p>", {"title": "t", "slug": "s"}, settings=settings,
                                  source_path=str(tmp_path / "s.md"), context={})
    linked.get_content("..")
    assert searched


def test_an_items_url_and_save_as_are_pelicans(tmp_path):
    """ItemArticle's url and save_as answer as Pelican's properties, with the reader's
    url/save_as metadata (read from the instance) and without it (Pelican's settings)."""
    settings = _settings(PATH=str(tmp_path), ARTICLE_URL="x/{slug}.html", ARTICLE_SAVE_AS="y/{slug}.html")
    for metadata in ({"title": "t", "slug": "a/b", "url": "art/a%20b.html", "save_as": "art/a b.html"},
                     {"title": "t", "slug": "a/b"}, {"title": "t", "slug": "c", "url": "u.html"}):
        made = [cls("", dict(metadata), settings=settings, source_path=str(tmp_path / "a.md"), context={})
                for cls in (Article, articles.ItemArticle)]
        assert (made[1].url, made[1].save_as) == (made[0].url, made[0].save_as), metadata
    item = articles.ItemArticle("", {"title": "t", "slug": "s", "url": "art/s.html", "save_as": "art/s.html"},
                                settings=settings, source_path=str(tmp_path / "s.md"), context={})
    asked = []
    real = Article.get_url_setting
    try:
        Article.get_url_setting = lambda self, key: asked.append(key) or real(self, key)
        assert (item.url, item.save_as) == ("art/s.html", "art/s.html") and not asked   # the reader's, at once
    finally:
        Article.get_url_setting = real


def test_the_reader_finds_a_pre_pass_item_by_its_path_text(cats, monkeypatch):
    """An item the pre-pass read is found by the text of its path as Pelican names it (no
    Path made), a path named otherwise (not normalised) still finds it through Path, and
    the reader hands over a copy either way."""
    from pathlib import Path

    from pelican.settings import read_settings

    from gongkai import reader as reader_mod
    from gongkai import schema
    from gongkai.render import Renderer
    from gongkai.units import load_units

    units, _ = load_units(ROOT / "content", cats)
    unit = units["shili-county"]
    base = unit.folder.resolve()
    settings = read_settings(str(ROOT / "pelicanconf.py"), override={
        "PATH": str(base), "OUTPUT_PATH": "/nonexistent", "GK_UNIT": unit.as_settings(), "GK_AS_OF": "2026-11-22"})
    files = sorted(p for p in base.rglob("*.md"))[:3]
    read = [schema.read_item(p, unit, cats)[0] for p in files]
    made = []

    class CountingPath(type(Path())):
        def __new__(cls, *args):
            made.append(args)
            return Path(*args)

    monkeypatch.setattr(reader_mod, "Path", CountingPath)
    for item, named in zip(read, (str(files[0]), str(files[1]), f"{base}//{files[2].relative_to(base)}")):
        r = reader_mod.MarkdownItemReader(settings)
        r._catalogs, r._unit, r._renderer = cats, reader_mod.Unit.from_settings(unit.as_settings()), Renderer()
        r._known = {str(item.path): item}
        made.clear()
        content, metadata = r._read(named)
        assert metadata["gk"] is not item and metadata["gk"].path == item.path and not r._known
        assert made == ([] if "//" not in named else [(named,)]), named


def test_a_folder_is_checked_for_cleanness_once(monkeypatch):
    """clean_folder answers as before (absolute and normalised) and normalises each folder
    once, not four times an item."""
    articles.clean_folder.cache_clear()
    calls = []
    real = os.path.normpath
    monkeypatch.setattr(os.path, "normpath", lambda p: calls.append(p) or real(p))
    for _ in range(50):
        assert articles.clean_folder("/srv/site/u1") and not articles.clean_folder("/srv/site/../u1")
        assert not articles.clean_folder("srv/u1") and not articles.clean_folder("/srv/u1/")
    assert calls.count("/srv/site/u1") == 1
    articles.clean_folder.cache_clear()
