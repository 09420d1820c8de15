"""Markdown to safe HTML: render with python-markdown, then sanitize with nh3.

Raw HTML is allowed in Markdown (editors paste tables from Word), so everything
that leaves here has passed nh3: no script, no event handlers, no javascript: URLs.
"""
from __future__ import annotations

import contextlib
import hashlib
import html
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import jinja2
import markdown
import markupsafe
import nh3

from .paths import read_regular

EXTENSIONS = ["markdown.extensions.extra", "markdown.extensions.sane_lists", "markdown.extensions.toc"]
EXTENSION_CONFIGS = {"markdown.extensions.toc": {"slugify": lambda value, sep: _heading_id(value)}}

TAGS = set(nh3.ALLOWED_TAGS) | {"figure", "figcaption", "caption", "colgroup", "col"}
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES.setdefault("*", set()).update({"id", "title", "lang"})
for cell in ("td", "th"):
    ATTRIBUTES.setdefault(cell, set()).update({"colspan", "rowspan", "scope"})
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Pelican's {filename}-style links: refused in the source (schema.py), and unlinked here
# when they arrive encoded (&#123;filename&#125;, %7Bfilename%7D), so no source path is left.
PELICAN_LINK = re.compile(r"\{(static|attach|filename|index|tag|category|author)\}")
ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)
# An item page's metadata: the body exactly as the reader made it of an item the pre-pass
# read (reader.py); the page key stands for a body still that object by its files (pages.py).
READ_BODY = "gk_read_body"
HREF = re.compile(r'\shref="([^"]*)"')


def _heading_id(value: str) -> str:
    # Chinese headings keep their characters: ids are for permalinks, not ASCII slugs.
    text = re.sub(r"[^\w\u4e00-\u9fff-]+", "-", value.strip()).strip("-").lower()
    return f"h-{text}" if text else "h"


class RenderTimeout(Exception):
    """A body that python-markdown cannot render in bounded time (some inputs, such as
    hundreds of thousands of unclosed ``![``, make its inline patterns quadratic)."""


class Renderer:
    # Real bodies render in milliseconds; a hostile one must not hold a worker forever.
    SECONDS = 20.0

    def __init__(self, seconds: float | None = None):
        self._md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS,
                                     output_format="html")
        self.seconds = self.SECONDS if seconds is None else seconds

    def __call__(self, text: str) -> str:
        plain = plain_paragraphs(text)
        if plain is not None:
            # nh3 gives such paragraphs back unchanged (no markup, no "&" or "<") but for
            # U+00A0, which it writes as &nbsp; (tests/test_render.py checks every code point
            # the fast path takes): ~0.1 ms a body saved.
            return plain if "\xa0" not in plain else sanitize(plain)
        self._md.reset()
        with _deadline(self.seconds):
            return sanitize(self._md.convert(text))


# A line python-markdown can only turn into paragraph text: no ASCII punctuation (every
# block and inline syntax, entities and raw HTML start with one), no control or
# separator characters, no whitespace at either end (indented code, lazy lists, the
# two-space line break). Most 公文 bodies are such lines in blank-line separated
# paragraphs; python-markdown's block parser and fifteen inline patterns cost ~0.9 ms a
# body to return them unchanged in <p> tags (tests/test_render.py compares both paths).
_PLAIN_LINE = re.compile(r"[^\s\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\u2028\u2029]"
                         r"(?:[^\x00-\x1f\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\u2028\u2029]*"
                         r"[^\s\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\u2028\u2029])?")


def plain_paragraphs(text: str) -> str | None:
    """What python-markdown (with EXTENSIONS) makes of ``text`` when every line is plain
    (``_PLAIN_LINE``) or empty: one <p> per run of non-empty lines. None otherwise."""
    blocks, lines = [], []
    for line in text.split("\n"):
        if not line:
            if lines:
                blocks.append("\n".join(lines))
                lines = []
        elif _PLAIN_LINE.fullmatch(line):
            lines.append(line)
        else:
            return None
    if lines:
        blocks.append("\n".join(lines))
    return "\n".join(f"<p>{block}</p>" for block in blocks)


@contextlib.contextmanager
def _deadline(seconds: float):
    """Raise RenderTimeout after ``seconds`` (main thread only: elsewhere, no bound). An
    outer timer (the importer's) is restored with what remains of it."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise RenderTimeout(f"{seconds:g}")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer - (time.monotonic() - started)))


def sanitize(fragment: str) -> str:
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer", strip_comments=True)


def decoded(url: str, rounds: int = 4) -> str:
    """``url`` with HTML entities and %-escapes undone, repeatedly (bounded): what a
    browser, or Pelican's link replacer, would finally see."""
    for _ in range(rounds):
        plain = unquote(html.unescape(url))
        if plain == url:
            break
        url = plain
    return url


def unlink(fragment: str, hidden: Callable[[str], bool]) -> tuple[str, list[tuple[str, str]]]:
    """Turn links that must not stay live into their text: encoded Pelican links, and
    links for which ``hidden(url)`` (the decoded URL) is true. Returns the
    fragment and, for each dropped link, (its text, "pelican" or "hidden")."""
    dropped: list[tuple[str, str]] = []

    def replace(m: re.Match) -> str:
        href = HREF.search(m.group(1))
        if not href:
            return m.group(0)
        url = decoded(href.group(1))
        if PELICAN_LINK.search(url):
            why = "pelican"
        elif hidden(url):
            why = "hidden"
        else:
            return m.group(0)
        dropped.append((html.unescape(nh3.clean(m.group(2), tags=set())).strip(), why))
        return m.group(2)

    return ANCHOR.sub(replace, fragment), dropped


def first_paragraph(html_fragment: str, limit: int = 200) -> str:
    """Plain text of the first paragraph (the default 内容概述)."""
    m = re.search(r"<p>(.*?)</p>", html_fragment, re.S)
    if not m:
        return ""
    text = html.unescape(nh3.clean(m.group(1), tags=set())).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


class TemplateCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every Jinja environment of one process.

    Pelican gives each generator of each unit its own environment, and each one
    compiled every template again (a third of a worker's time). A bucket is keyed by
    the template and the environment's syntax options, and Jinja checks the source
    checksum, so an edited template or a differently configured environment is
    compiled afresh, never served stale."""

    # Compiled templates kept in memory: a theme has ~25; a process that builds with many
    # themes (the test suite's copies) starts afresh past this many.
    MAX = 256

    def __init__(self):
        self._code: dict[str, bytes] = {}
        # The build cache's folder for compiled templates (GK_TEMPLATE_CACHE, set by
        # incremental/ per build): a worker of an incremental build starts with nothing
        # compiled, and compiling the theme cost ~0.4 s of a one-unit rebuild.
        self.folder: str | None = None

    def use_folder(self, folder: str | None) -> None:
        folder = folder if folder and os.path.isdir(folder) and not os.path.islink(folder) else None
        if folder is not None and folder != self.folder and self._code:
            # Compiled before the folder was known (the theme, in the zygote: warm_templates):
            # kept there too, so the next build's zygote need not compile it (compiled_kept).
            try:
                present = set(os.listdir(folder))
            except OSError:
                present = set()
            for key, data in list(self._code.items()):
                if key not in present:
                    self._write(folder, key, data)
        self.folder = folder

    def get_bucket(self, environment, name, filename, source):
        options = (environment.block_start_string, environment.block_end_string,
                   environment.variable_start_string, environment.variable_end_string,
                   environment.comment_start_string, environment.comment_end_string,
                   environment.line_statement_prefix, environment.line_comment_prefix,
                   environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
                   environment.keep_trailing_newline, repr(environment.autoescape), environment.optimized,
                   environment.is_async, repr(environment.finalize), sorted(environment.extensions))
        key = hashlib.sha1(repr((name, filename, options)).encode("utf-8")).hexdigest()
        bucket = jinja2.bccache.Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket):
        data = self._code.get(bucket.key)
        if data is None and self.folder:
            data = self._read(bucket.key)
        if data is not None:
            try:
                # Jinja checks the magic (its bytecode format, the Python version) and the
                # source checksum, and leaves the bucket empty when they differ.
                bucket.bytecode_from_string(data)
            except Exception:  # noqa: BLE001 - a damaged file: compile afresh
                bucket.reset()

    def dump_bytecode(self, bucket):
        if len(self._code) >= self.MAX:
            self._code.clear()   # bounded in a long-lived process (tests, a preview server): ~25 a theme
        data = self._code[bucket.key] = bucket.bytecode_to_string()
        if self.folder:
            self._write(self.folder, bucket.key, data)

    @staticmethod
    def _write(folder: str, key: str, data: bytes) -> None:
        from .incremental.store import _write_atomic
        try:
            _write_atomic(Path(folder) / key, data)
        except OSError:
            pass   # not kept: the next build compiles it again

    def _read(self, key: str) -> bytes | None:
        try:
            # a link, a FIFO (never waited on) or a huge file: compiled afresh instead
            return read_regular(os.path.join(self.folder, key), 16 * 1024 * 1024)
        except (OSError, ValueError):
            return None

    def clear(self):
        self._code.clear()


# One per process: forked workers each fill their own while building their units.
TEMPLATES = TemplateCache()


def page_escape(s, /, _inner=markupsafe._escape_inner, _new=str.__new__, _markup=markupsafe.Markup,
                _escape=markupsafe.escape):
    """``markupsafe.escape(s)``, the same value for every ``s``, for a page's ``{{ … }}``.
    An item page escapes ~70 values. For a plain str, markupsafe's ``Markup(…)`` goes
    through ``Markup.__new__`` (Python frames, ``super()``) to make what ``str.__new__``
    makes; a value already Markup (the side navigation, the header and footer: ~40 % of a
    page's text) comes back as an equal copy, its text copied. Anything else, a str
    subclass or an object with ``__html__``, is markupsafe's own (tests/test_render.py).
    ``_escape_inner`` is markupsafe's (3.0, pinned) C escaping of a str."""
    kind = type(s)
    if kind is str:
        return _new(_markup, _inner(s))
    if kind is _markup:
        return s
    return _escape(s)


class PageTemplate(jinja2.Template):
    """The theme's templates (share_environment sets it as the environment's
    ``template_class``), with their autoescaped output through ``page_escape``: Jinja's
    compiled module takes ``escape`` from ``jinja2.runtime`` into the namespace every
    function of the template reads its globals from."""

    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None):
        template = super().from_code(environment, code, globals, uptodate)
        namespace = template.root_render_func.__globals__
        if namespace.get("escape") is markupsafe.escape:
            namespace["escape"] = page_escape
        return template


# Jinja environments by configuration (share_environment), the most recently used last.
# A build has one configuration (every generator of every unit a worker builds shares
# it); a process that builds again and again with other settings or themes (the test
# suite, a preview server) keeps the last ENVIRONMENTS_MAX, not one per build it made.
ENVIRONMENTS: dict[str, jinja2.Environment] = {}
ENVIRONMENTS_MAX = 4


def share_environment(generator) -> None:
    """Give ``generator`` the process's environment of the same configuration.

    Pelican makes an environment for each generator of each unit, and each one loaded
    every template again (read the source, checksum it, unmarshal the compiled code,
    build the module): ~25 loads a unit. Nothing of ours changes an environment after
    Pelican has set it up, and the key holds everything Pelican sets it up from, so an
    environment made for the same theme and settings renders the same bytes.
    TEMPLATE_PAGES swaps loaders in and out while rendering: those keep their own."""
    generator.env.bytecode_cache = TEMPLATES
    if generator.env.template_class is jinja2.Template:
        generator.env.template_class = PageTemplate
    s = generator.settings
    TEMPLATES.use_folder(s.get("GK_TEMPLATE_CACHE"))
    add_theme_filters(generator.env)
    if s.get("TEMPLATE_PAGES"):
        return
    # With auto_reload off an environment never looks at a template file again: the
    # files' signatures are in the key, so a process that builds again after a template
    # changed (a test, a preview server) gets a new environment, never a stale page.
    key = repr((generator._templates_path, generator.theme, sorted(s["JINJA_ENVIRONMENT"].items()),
                s["JINJA_FILTERS"], s["JINJA_GLOBALS"], s["JINJA_TESTS"], s["PLUGINS"],
                # Pelican's strftime filter takes the locale when the environment is made
                s.get("LOCALE"), s.get("DEFAULT_LANG"), _run_signatures(s, generator._templates_path)))
    # The repr of a filter function holds its address; the kept environment keeps the
    # function alive, so another function can never take that address and match (an
    # environment dropped below is not matched any more either).
    env = ENVIRONMENTS.pop(key, None)
    env = generator.env if env is None else env
    ENVIRONMENTS[key] = env            # (re)inserted last: the most recently used
    while len(ENVIRONMENTS) > ENVIRONMENTS_MAX:
        del ENVIRONMENTS[next(iter(ENVIRONMENTS))]
    generator.env = env


def add_theme_filters(env: jinja2.Environment) -> None:
    """The theme's own filters (columns.THEME_FILTERS: token, date, ymd), unless the
    settings' JINJA_FILTERS name one of them (a site's own filter of that name wins)."""
    from .columns import THEME_FILTERS
    for name, fn in THEME_FILTERS.items():
        env.filters.setdefault(name, fn)


def compiled_kept(output) -> bool:
    """Whether the build cache beside ``output`` holds compiled templates (incremental/ keeps
    them in ``.<output>.cache/jinja/<key>/``): then a build's workers read them from there
    (~0.02 s) and the zygote need not compile the theme (~0.3 s of a one-item rebuild)."""
    from .incremental.store import JINJA, folder_of
    folder = folder_of(Path(output).absolute()) / JINJA
    try:
        with os.scandir(folder) as subs:
            for sub in subs:
                if sub.is_dir(follow_symlinks=False) and any(not n.startswith(".") for n in os.listdir(sub.path)):
                    return True
    except OSError:
        pass
    return False


def warm_templates(settings_file: str) -> list[str]:
    """Compile every template of the theme once, in the zygote the unit workers are forked
    from (build.warm_worker): each worker used to compile the theme again for its first
    unit (~0.2 s CPU, ~25 templates). The environment is made as Pelican makes a
    generator's, and kept as share_environment keeps it, so a worker takes it with its
    templates loaded; the compiled code is in TEMPLATES either way. Returns the names."""
    from pelican.generators import Generator
    from pelican.settings import read_settings

    settings = read_settings(settings_file)
    generator = Generator({}, settings, settings["PATH"], settings["THEME"], settings["OUTPUT_PATH"])
    share_environment(generator)
    # Pelican's simple theme too (its loader's fallback): the articles generator loads
    # tag.html, category.html… for pages we do not make; "!simple/…" names are aliases.
    extensions = tuple(settings["TEMPLATE_EXTENSIONS"])
    names = [n for n in generator.env.list_templates() if n.endswith(extensions) and not n.startswith("!")]
    for name in names:
        generator.env.get_template(name)
    return names


# The template files' signatures for the Pelican run whose settings they were taken for:
# [(settings, folders, signatures)]. A run's generators (four a unit) share its settings
# dict and nothing changes the theme during a run, so the files are stat()ed once a unit,
# not once a generator (~25 files each); a new run (a new settings dict) stats them again.
_SIGNED: list[tuple] = []


def _run_signatures(settings: dict, folders: list[str]) -> list[tuple]:
    if _SIGNED and _SIGNED[0][0] is settings and _SIGNED[0][1] == folders:
        return _SIGNED[0][2]
    signatures = _signatures(folders)
    _SIGNED[:] = [(settings, list(folders), signatures)]
    return signatures


def forget_run() -> None:
    """Let go of the last run's settings (its unit's registry slice) once its pages are written."""
    _SIGNED.clear()


def _signatures(folders: list[str]) -> list[tuple]:
    """(path, size, mtime) of every file under the template folders (a few dozen stat calls)."""
    out = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                out.append((root, name, st.st_size, st.st_mtime_ns))
    return out
