"""What the cold-build savings of issue 15 must not break.

The compiled-template cache shared by every Jinja environment of a worker
(render.py) must never serve a stale template: an edited template, or an
environment with other syntax options, is compiled afresh. Feeds carry the
summary and the link, not the body (feeds.py)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import jinja2

from gongkai.render import TemplateCache


def env(folder, cache, **options) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), bytecode_cache=cache, **options)


def count_compiles(monkeypatch) -> list[str]:
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def spy(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return original(self, source, name, filename, raw, defer_init)
    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    return compiled


def test_second_environment_reuses_the_compiled_template(tmp_path, monkeypatch):
    (tmp_path / "page.html").write_text("<p>{{ x }}</p>\n")
    compiled = count_compiles(monkeypatch)
    cache = TemplateCache()
    assert env(tmp_path, cache).get_template("page.html").render(x="一") == "<p>一</p>"
    assert env(tmp_path, cache).get_template("page.html").render(x="二") == "<p>二</p>"
    assert compiled == ["page.html"]


def test_edited_template_is_compiled_again(tmp_path, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("<p>{{ x }}</p>")
    compiled = count_compiles(monkeypatch)
    cache = TemplateCache()
    env(tmp_path, cache).get_template("page.html")
    page.write_text("<div>{{ x }}</div>")
    assert env(tmp_path, cache).get_template("page.html").render(x="新") == "<div>新</div>"
    assert compiled == ["page.html", "page.html"]


def test_other_syntax_options_get_their_own_compilation(tmp_path):
    (tmp_path / "page.html").write_text("{% if x %}\n  <b>{{ x }}</b>\n{% endif %}\n")
    cache = TemplateCache()
    plain = env(tmp_path, cache).get_template("page.html").render(x="<")
    trimmed = env(tmp_path, cache, trim_blocks=True, lstrip_blocks=True, autoescape=True)
    assert plain == "\n  <b><</b>\n"
    assert trimmed.get_template("page.html").render(x="<") == "  <b>&lt;</b>\n"


ATOM = "{http://www.w3.org/2005/Atom}"


def test_feed_entries_carry_the_summary_not_the_body(sample_site):
    entries = ET.parse(sample_site / "shili-county/feed.xml").getroot().findall(f"{ATOM}entry")
    assert len([e for e in entries if e.findtext(f"{ATOM}summary")]) >= 20
    # Only an entry with no summary to show (a 图解 that is one image) keeps its body.
    bodies = [e for e in entries if (e.findtext(f"{ATOM}content") or "").strip()]
    assert [e.findtext(f"{ATOM}summary") for e in bodies] == [""] * len(bodies) and len(bodies) <= 1
    assert all(e.find(f"{ATOM}link").get("href").startswith("http://127.0.0.1:8000/shili-county/art/")
               for e in entries)


def fake_generator(folder, **settings):
    """What render.share_environment reads of a Pelican generator."""
    from types import SimpleNamespace
    base = {"JINJA_ENVIRONMENT": {"autoescape": True, "auto_reload": False}, "JINJA_FILTERS": {},
            "JINJA_GLOBALS": {}, "JINJA_TESTS": {}, "PLUGINS": ["gongkai.reader"]}
    return SimpleNamespace(env=jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), auto_reload=False),
                           settings={**base, **settings}, _templates_path=[str(folder)], theme=str(folder))


def test_generators_share_one_environment_until_a_template_changes(tmp_path, monkeypatch):
    import os

    from gongkai import render
    monkeypatch.setattr(render, "ENVIRONMENTS", {})
    page = tmp_path / "page.html"
    page.write_text("<p>{{ x }}</p>")
    first, second = fake_generator(tmp_path), fake_generator(tmp_path)
    render.share_environment(first)
    render.share_environment(second)
    assert second.env is first.env
    assert second.env.get_template("page.html").render(x="一") == "<p>一</p>"
    other = fake_generator(tmp_path, JINJA_FILTERS={"x": str})
    render.share_environment(other)
    assert other.env is not first.env                 # another configuration
    page.write_text("<div>{{ x }}</div>")
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    third = fake_generator(tmp_path)
    render.share_environment(third)
    assert third.env is not first.env
    assert third.env.get_template("page.html").render(x="新") == "<div>新</div>"   # never the stale page
    pages = fake_generator(tmp_path, TEMPLATE_PAGES={"a.html": "a.html"})
    own = pages.env
    render.share_environment(pages)
    assert pages.env is own


def _build_counting_compiles(tmp_path, monkeypatch, name: str, settings_file: str | None) -> tuple[list, int]:
    """A build of the sample whose zygote is warmed with ``settings_file`` (build.warm_worker);
    every template compiled for the unit workers' environments, as (pid, template key), and
    the zygote's pid."""
    import functools
    import os

    from conftest import AS_OF, ROOT
    from gongkai import build as build_mod
    from gongkai.pool import Zygote

    log = tmp_path / f"{name}.compiled"
    original = TemplateCache.dump_bytecode

    def spy(self, bucket):   # called for each template compiled by an environment with the cache
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {bucket.key}\n")
        return original(self, bucket)
    monkeypatch.setattr(TemplateCache, "dump_bytecode", spy)
    catalogs = ROOT / "catalogs"
    zygote = Zygote(functools.partial(build_mod.warm_worker, str(catalogs.resolve()), settings_file))
    pid = zygote.process.pid
    code = build_mod.build(ROOT / "content", tmp_path / name, ROOT / "pelicanconf.py", catalogs, AS_OF, jobs=2,
                           use_cache=False, zygote=zygote)
    assert code == 0 and (tmp_path / name / "shili-county" / "index.html").is_file()
    lines = log.read_text(encoding="utf-8").split() if log.exists() else []
    return list(zip(lines[::2], lines[1::2], strict=True)), pid


def test_the_theme_is_compiled_once_in_the_zygote_never_in_a_unit_worker(tmp_path, monkeypatch):
    from conftest import ROOT
    compiled, zygote = _build_counting_compiles(tmp_path, monkeypatch, "warm", str(ROOT / "pelicanconf.py"))
    templates = {key for _, key in compiled}
    assert len(templates) >= 20 and len(compiled) == len(templates)      # each once
    assert [pid for pid, _ in compiled if pid != str(zygote)] == []      # none in a worker
    # Without the theme warmed in the zygote, the workers compile it, each for itself.
    cold, zygote = _build_counting_compiles(tmp_path, monkeypatch, "cold", None)
    workers = {pid for pid, _ in cold}
    assert str(zygote) not in workers and len(workers) == 2 and len(cold) > len({key for _, key in cold})


def test_the_walk_for_disabled_readers_is_skipped_only_when_none_is_disabled(tmp_path, monkeypatch):
    # Pelican walks a unit's folder once more per generator to warn about files a disabled
    # reader would have read: with no disabled reader the walk cannot find anything.
    from types import SimpleNamespace

    from gongkai import reader, render
    monkeypatch.setattr(render, "ENVIRONMENTS", {})
    walked = []
    for name, disabled in (("none disabled", {}), ("rst disabled", {"rst": object})):
        generator = fake_generator(tmp_path)
        generator.readers = SimpleNamespace(disabled_extensions=disabled.keys())
        generator.check_disabled_readers = lambda name=name: walked.append(name)
        reader._share_templates(generator)
        generator.check_disabled_readers()
    assert walked == ["rst disabled"]


def test_templates_compiled_before_the_cache_folder_is_known_are_kept_there(tmp_path, monkeypatch):
    # The zygote compiles the theme before a build knows its cache folder; the first worker
    # that is told the folder writes them there, and the next build's zygote, seeing them
    # (render.compiled_kept), compiles nothing: its workers read them (render.TemplateCache).
    from gongkai.render import compiled_kept
    (tmp_path / "page.html").write_text("<p>{{ x }}</p>")
    output = tmp_path / "site" / "output"
    folder = output.parent / ".output.cache" / "jinja" / "key"
    folder.mkdir(parents=True)
    assert not compiled_kept(output)
    compiled = count_compiles(monkeypatch)
    zygote = TemplateCache()
    env(tmp_path, zygote).get_template("page.html")
    zygote.use_folder(str(folder))          # what a worker forked from it does (share_environment)
    assert compiled == ["page.html"] and len(list(folder.iterdir())) == 1 and compiled_kept(output)
    later = TemplateCache()                 # the next build's worker
    later.use_folder(str(folder))
    assert env(tmp_path, later).get_template("page.html").render(x="一") == "<p>一</p>"
    assert compiled == ["page.html"]        # read, not compiled again


def test_a_begun_child_hands_back_its_result_or_its_error():
    """build.Begun: ``fn()`` in a child process begun at once, its result (or the exception
    it raised) taken later; a child that dies without handing it over fails the build with
    one message, and a child whose result is not wanted is ended, not left waiting."""
    import os
    import signal
    import time

    import pytest

    from gongkai import build as build_mod

    assert build_mod.Begun(lambda: {"t2s": {"們": "们"}}).result() == {"t2s": {"們": "们"}}

    def fails():
        raise ValueError("bad data")
    with pytest.raises(ValueError, match="bad data"):
        build_mod.Begun(fails).result()

    with pytest.raises(RuntimeError, match="pickle"):    # what cannot be handed back is said, not lost
        build_mod.Begun(lambda: (lambda: None)).result()

    def dies():
        os.kill(os.getpid(), signal.SIGKILL)
    with pytest.raises(build_mod.BuildError, match="子进程意外退出"):
        build_mod.Begun(dies).result()

    slow = build_mod.Begun(lambda: time.sleep(60))
    started = time.monotonic()
    slow.close()
    assert time.monotonic() - started < 10 and not slow._process.is_alive()


def test_the_maps_child_is_begun_before_the_pre_pass_and_only_without_them_kept(tmp_path, monkeypatch):
    """The 简繁 maps of a build whose cache does not hold them, and whose installation keeps
    none, are computed by a child begun before the pre-pass (on the other core while it
    runs), not after it: they were ~0.3 s on one core between the pre-pass and the units of
    every cold build (issue 15). That build keeps them with the installation; a build whose
    cache holds them, or a cold build into a new folder after it, begins no child; all write
    the same maps."""
    import json

    from conftest import AS_OF, ROOT
    from gongkai import build as build_mod
    from gongkai.search import zhmap

    events = []
    begun, scan = build_mod.Begun, build_mod.check

    def recorded_begun(fn):
        events.append("child")
        return begun(fn)

    def recorded_scan(*args, **kwargs):
        events.append("pre-pass")
        return scan(*args, **kwargs)
    monkeypatch.setattr(build_mod, "Begun", recorded_begun)
    monkeypatch.setattr(build_mod, "check", recorded_scan)
    want = zhmap.maps()
    installed = tmp_path / "venv" / "share" / "gongkai" / "zhmap.json"
    monkeypatch.setattr(zhmap, "installed_path", lambda: installed)
    written = {}
    for run, output in (("cold", "output"), ("cached", "output"), ("installed", "other")):
        monkeypatch.setattr(zhmap, "_MAPS", [])   # a build's process starts without them
        events.clear()
        code = build_mod.build(ROOT / "content", tmp_path / output, ROOT / "pelicanconf.py", ROOT / "catalogs",
                               AS_OF, jobs=2)
        assert code == 0
        written[run] = json.loads((tmp_path / output / zhmap.PATH).read_text(encoding="utf-8"))
        assert events == (["child", "pre-pass"] if run == "cold" else ["pre-pass"]), run
        assert zhmap.load_installed() == want
    assert written["cold"] == written["cached"] == written["installed"] == want
    # kept for another OpenCC, or damaged, or this module's file unreadable: computed again
    for damage in (lambda: monkeypatch.setattr(zhmap, "installed_key", lambda: "another"),
                   lambda: installed.write_text('{"key": "x"', encoding="utf-8"),
                   lambda: monkeypatch.setattr(zhmap, "__file__", str(tmp_path / "gone.py"))):
        damage()
        assert zhmap.load_installed() is None
    monkeypatch.undo()
    monkeypatch.setattr(zhmap, "installed_path", lambda: installed)
    monkeypatch.setattr(zhmap, "__file__", str(tmp_path / "gone.py"))
    assert zhmap.installed_key() is None and not zhmap.save_installed(want)
