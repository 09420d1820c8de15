"""The unit worker's Pelican, with its per-item machinery made lean.

Pelican stays the engine (its generators, Article objects, signals, Writer and
templates); what this module replaces are the parts of its per-item path that cost
time and, for our settings, do nothing:

- the content caches' file stamps: with ``CACHE_CONTENT`` and ``LOAD_CONTENT_CACHE``
  off, Pelican still stats every source file four times per build (``getmtime`` for a
  cache that is never read or kept);
- an Article's path relative to the unit folder, which Pelican computes with
  ``abspath``/``relpath`` twice an item from paths that are already absolute and clean;
- the same ``abspath``/``relpath`` and the cache calls in ``Readers.read_file``, whose
  steps are otherwise Pelican's own, in its order, for the files our readers read;
- the listing's ignore test (``fnmatch`` of every name against every pattern, and a
  tuple of the readers' extensions made again for every file);
- the writer's ``os.makedirs`` before every page (nearly all into folders it made a
  moment ago) and the page's relative SITEURL, which depends only on its folder.

Each override gives Pelican's answer (tests/test_articles.py holds them to Pelican's own)
and hands anything it was not written for to Pelican's method. Files are still listed
and read by Pelican's loop and our reader, so a file the pre-pass did not vouch for is
read and validated as before.
"""
from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
from collections import ChainMap
from types import SimpleNamespace

import jinja2
from pelican import Pelican, signals
from pelican.cache import FileStampDataCacher
from pelican.contents import Article, SkipStub
from pelican.generators import ArticlesGenerator
from pelican.log import console
from pelican.paginator import Paginator
from pelican.plugins._utils import get_plugin_name, load_plugins
from pelican.readers import (Readers, _filter_discardable_metadata, default_metadata, find_empty_alt,
                             parse_path_metadata, path_metadata)
from pelican.utils import file_suffix, get_relative_path, path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from .reader import _ItemReader

# Pelican's writer logs each file under its own name; ours writes the same lines.
writer_log = logging.getLogger("pelican.writers")
pelican_log = logging.getLogger("pelican")


def clean_relative(rel: str) -> bool:
    """True when ``rel`` is a relative POSIX path that ``normpath`` leaves as it is: no
    empty, ``.`` or ``..`` part (so joining it to a clean absolute folder needs no
    normalising, and taking the folder off again gives ``rel`` back)."""
    if not rel or rel[0] == "/" or rel[-1] == "/" or "//" in rel:
        return False
    return not any(part in (".", "..") for part in rel.split("/"))


@functools.lru_cache(maxsize=64)
def clean_folder(path: str) -> bool:
    """True when ``path`` is absolute and normalised (what ``abspath`` gives back). Asked
    four times an item of the same few folders (the unit's, the output's): kept."""
    return os.sep == "/" and os.path.isabs(path) and os.path.normpath(path) == path and not path.startswith("//")


class _NoStamps(FileStampDataCacher):
    """Pelican's content cache without the file stamps when it is off: an empty cache
    that is not kept answers ``default`` for every file, whatever the stamp, and keeps
    nothing; Pelican stat()ed the file for both answers."""

    def get_cached_data(self, filename, default=None):
        if not self._cache:
            return default
        return super().get_cached_data(filename, default)

    def cache_data(self, filename, data):
        if self._cache_data_policy:
            super().cache_data(filename, data)


class ItemReaders(_NoStamps, Readers):
    """Pelican's Readers, with the stamp-free cache above, making ItemArticles; our items'
    files are read by Pelican's steps minus the path arithmetic and the cache."""

    def read_file(self, base_path, path, content_class=Article, fmt=None, context=None, preread_signal=None,
                  preread_sender=None, context_signal=None, context_sender=None):
        # ArticlesGenerator asks for Pelican's Article; the unit's items are ItemArticles.
        if content_class is Article:
            content_class = ItemArticle
        rel = path[2:] if path.startswith("./") else path
        reader = self.readers.get(fmt or file_suffix(rel))
        if not isinstance(reader, _ItemReader) or self.settings["TYPOGRIFY"] or self._cache \
                or self._cache_data_policy or not clean_folder(base_path) or not clean_relative(rel):
            return super().read_file(base_path, path, content_class, fmt, context, preread_signal, preread_sender,
                                     context_signal, context_sender)
        # Pelican's Readers.read_file (readers.py, 4.12) for one of our items, whose path
        # needs no normalising (so ``abspath``/``relpath`` give it back), with typogrify and
        # the content cache off (checked above), and without its two debug log lines.
        full = f"{base_path}/{rel}"
        if preread_signal:
            preread_signal.send(preread_sender)
        settings, process = self.settings, reader.process_metadata
        metadata = _filter_discardable_metadata(default_metadata(settings=settings, process=process))
        metadata.update(path_metadata(full_path=full, source_path=rel, settings=settings))
        metadata.update(_filter_discardable_metadata(parse_path_metadata(source_path=rel, settings=settings,
                                                                         process=process)))
        metadata["reader"] = reader.__class__.__name__.replace("Reader", "").lower()
        content, reader_metadata = reader.read(full)
        metadata.update(_filter_discardable_metadata(reader_metadata))
        if content and "<img" in content:   # both of Pelican's patterns start with a literal "<img"
            find_empty_alt(content, full)
        if context_signal:
            context_signal.send(context_sender, metadata=metadata)
        if metadata.get("status") == "skip":
            content_class = SkipStub
        return content_class(content=content, metadata=metadata, settings=settings, source_path=full, context=context)

    @classmethod
    def adopt(cls, readers: Readers) -> ItemReaders:
        """The same readers (made, and ``readers_init`` sent, by Pelican's Generator) as
        an instance of this class."""
        lean = cls.__new__(cls)
        lean.__dict__.update(readers.__dict__)
        return lean


def _overridden(key: str, pelicans: property) -> property:
    """Pelican's property ``pelicans``, answered from the instance's ``key`` at once when
    the instance has one (ItemArticle.url, .save_as)."""
    def get(self):
        try:
            return self.__dict__[key]
        except KeyError:
            return pelicans.fget(self)
    return property(get)


class ItemArticle(Article):
    """Pelican's Article; its source path relative to the unit folder is taken by
    string slicing when both paths are clean (``clean_folder``/``clean_relative``),
    which is what ``relpath(abspath(…), abspath(PATH))`` gives for them."""

    # The fiscal plugin sets ``article.fiscal`` on the items that carry tables; every item
    # page asks for it twice (article.html, macros.item_meta). Missing, Jinja's lookup
    # failed twice and made an Undefined (~1.3 µs); None is as false in a test.
    fiscal = None

    # Pelican's url and save_as (``get_url_setting``) answer an ``override_url`` /
    # ``override_save_as`` attribute first, which the reader's metadata gives every item:
    # read from the instance at once (~1 µs a call; listing rows, the neighbours' links,
    # the sitemap and the feed ask ~5 times an item). Anything else: Pelican's property.
    url = _overridden("override_url", Article.url)
    save_as = _overridden("override_save_as", Article.save_as)

    def get_relative_source_path(self, source_path: str | None = None) -> str | None:
        if not source_path:
            source_path = self.source_path
        base = self.settings.get("PATH")
        if isinstance(source_path, str) and isinstance(base, str) and source_path.startswith(base) \
                and source_path[len(base):len(base) + 1] == "/" and clean_folder(base) \
                and clean_relative(source_path[len(base) + 1:]):
            return source_path[len(base) + 1:]
        return super().get_relative_source_path(source_path)

    def _get_intrasite_link_regex(self):
        # Pelican builds its {filename}-link pattern from INTRASITE_LINK_REGEX and compiles
        # it again on every call (four an item: the content for two SITEURLs, its static
        # links, the summary); the pattern is Pelican's own, made once per setting value.
        return _intrasite_regex(self.settings["INTRASITE_LINK_REGEX"])

    def _update_content(self, content: str, siteurl: str) -> str:
        # Pelican's intrasite-link replacement runs its pattern over the whole body for every
        # SITEURL it is asked for (the page's, the feed's, the summary's): with Pelican's own
        # INTRASITE_LINK_REGEX a link to replace holds a "{" or "|", and a body with neither
        # (nearly every 公文) comes back as it is.
        if content and _cannot_link(content, self.settings):
            return content
        return super()._update_content(content, siteurl)

    def get_static_links(self) -> set[str]:
        # (the same pattern over the body, once an item, for the {static}/{attach} links)
        if _cannot_link(self._content, self.settings):
            return set()
        return super().get_static_links()

    def _has_valid_save_as(self) -> bool:
        # Pelican's test (is the page inside the output folder?) is sanitised_join, an
        # abspath of the join; a clean relative save_as under a clean output folder is
        # inside it without that. Anything else is Pelican's test, its message included.
        out, save_as = self.settings.get("OUTPUT_PATH"), getattr(self, "save_as", None)
        if isinstance(out, str) and isinstance(save_as, str) and out != "/" and clean_folder(out) \
                and clean_relative(save_as):
            return True
        return super()._has_valid_save_as()


class ItemsGenerator(_NoStamps, ArticlesGenerator):
    """Pelican's ArticlesGenerator (its ``generate_context`` and output) with the lean
    readers, article class and listing test."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.readers = ItemReaders.adopt(self.readers)
        self._extensions: tuple[str, ...] | None = None
        self._ignored = _ignore_pattern(self.settings["IGNORE_FILES"])

    def _include_path(self, path, extensions=None):
        # Pelican's test: the basename against IGNORE_FILES (fnmatch), then its extension.
        if extensions is None:
            if self._extensions is None:
                self._extensions = tuple(self.readers.extensions)
            extensions = self._extensions
        basename = os.path.normcase(os.path.basename(path))
        if self._ignored is not None and self._ignored.match(basename):
            return False
        ext = os.path.splitext(basename)[1][1:]
        return extensions is False or ext in extensions


# Pelican's default INTRASITE_LINK_REGEX: what it matches starts with "{" or "|".
_PELICAN_LINKS = "[{|](?P<what>.*?)[|}]"


def _cannot_link(content, settings) -> bool:
    """Whether Pelican's intrasite-link pattern (``_intrasite_regex``) cannot match in
    ``content``: with the default INTRASITE_LINK_REGEX every match holds a "{" or "|"."""
    return settings.get("INTRASITE_LINK_REGEX") == _PELICAN_LINKS and type(content) is str \
        and "{" not in content and "|" not in content


@functools.lru_cache(maxsize=8)
def _intrasite_regex(link_regex: str) -> re.Pattern:
    """Pelican's ``Content._get_intrasite_link_regex`` for this INTRASITE_LINK_REGEX (it
    reads nothing else of the content)."""
    return Article._get_intrasite_link_regex(SimpleNamespace(settings={"INTRASITE_LINK_REGEX": link_regex}))


def _ignore_pattern(patterns) -> re.Pattern | None:
    """One pattern for ``any(fnmatch.fnmatch(name, p) for p in patterns)`` (POSIX, where
    fnmatch does not fold case)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(p))})" for p in patterns))


class UnitPelican(Pelican):
    """Pelican for one unit, with ``ItemsGenerator`` in place of ``ArticlesGenerator``
    (``Pelican.run`` finds it by ``isinstance``, as every plugin does). ``kept``: what the
    worker keeps for all the units of its run (build._KEPT): the plugins, found once."""

    def __init__(self, settings, kept: dict | None = None, texts=None):
        self._kept = {} if kept is None else kept
        self._texts = texts   # check.links.Written, handed to the writer (UnitWriter.texts)
        super().__init__(settings)

    def _get_writer(self):
        writer = super()._get_writer()
        if self._texts is not None and isinstance(writer, UnitWriter):
            writer.texts = self._texts
        return writer

    def init_plugins(self):
        # Pelican's init_plugins (__init__.py, 4.12); load_plugins lists the namespace
        # plugins and looks every plugin up on PLUGIN_PATHS (~40 stat calls, ~0.25 ms)
        # to find the modules it found for the last unit. A list with a plugin missing
        # (logged as an error) is not kept: each unit looks again and logs it again.
        key = ("plugins", repr(self.settings.get("PLUGINS")), repr(self.settings.get("PLUGIN_PATHS")))
        found = self._kept.get(key)
        if found is None:
            found = load_plugins(self.settings)
            if len(found) == len(self.settings.get("PLUGINS") or ()) and self.settings.get("PLUGINS") is not None:
                self._kept[key] = found
        self.plugins = []
        for plugin in found:
            name = get_plugin_name(plugin)
            try:
                plugin.register()
                self.plugins.append(plugin)
            except Exception:
                pelican_log.exception("Cannot register plugin `%s`", name, stacklevel=2)
                if self.settings.get("DEBUG", False):
                    console.print_exception()
        self.settings["PLUGINS"] = [get_plugin_name(p) for p in self.plugins]

    def _get_generator_classes(self):
        return [ItemsGenerator if cls is ArticlesGenerator else cls for cls in super()._get_generator_classes()]


def render_page(template, variables: dict) -> str:
    """``template.render(variables)`` (Jinja 3.1's ``Template.render``) with the template's
    globals and the page's variables merged in one pass. Jinja makes the context's parent
    as ``dict(template.globals, **variables)``: the globals are a ChainMap, which that
    reads key by key, and the ~170 variables of a Pelican page go through keyword
    arguments (~13 µs a page). Updating a dict from each map, the last first, then from
    the variables makes the same dict (Pelican's variables are all named by strings, which
    the keyword form requires); Jinja then takes it as it is (``shared``)."""
    if not isinstance(template, jinja2.Template) or template.environment.is_async \
            or not isinstance(template.globals, ChainMap):
        return template.render(variables)
    env, layers = template.environment, template.globals
    parent: dict = {}
    for layer in reversed(layers.maps):
        parent.update(layer)
    parent.update(variables)
    context = template.new_context(parent, shared=True)
    try:
        return env.concat(template.root_render_func(context))
    except Exception:
        env.handle_exception()
        raise   # (handle_exception always raises)


class UnitWriter(Writer):
    """Pelican's Writer; a page (paginated listings too) is written as Pelican writes it,
    but a folder this writer made (or found) is not made again for every page, and
    the page's relative SITEURL is worked out once per folder. Feeds and everything
    else go through Pelican's own code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._folders: set[str] = set()
        self._relative: dict[str, str] = {}
        self._base: str | None = None
        # check.links.Written: the pages' texts for the unit's link scan (set by UnitPelican
        # when the checker will scan the unit), else None
        self.texts = None

    def output_file(self, name: str) -> str:
        """``sanitised_join(output_path, name)``: for a clean relative name under a clean
        output folder (``clean_folder``/``clean_relative``) the join needs no normalising
        and cannot leave the folder, so it is the two strings joined."""
        base = self._base
        if base is None:
            out = self.output_path
            base = self._base = out if isinstance(out, str) and out != "/" and clean_folder(out) else ""
        if base and clean_relative(name):
            return f"{base}/{name}"
        return sanitised_join(self.output_path, name)

    def _write_text(self, path: str, text: str, override: bool) -> None:
        """What ``with self._open_w(path, "utf-8", override) as f: f.write(text)`` writes
        (POSIX: no newline translation), as one encode and one ``os.write`` instead of a
        text file object; ``_open_w``'s checks (a page written twice, the override rules)
        come first (``_claim``). A page that cannot be encoded raises the same
        UnicodeEncodeError, before its file is made rather than after."""
        target = self._claim(path, override)
        data = text.encode("utf-8")
        texts = self.texts
        fd = -1
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o666)
            written = os.write(fd, data)
            if written < len(data):   # a short write (a signal, a pipe): the rest, as file objects do
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(fd, view):]
            if texts is not None and target == path:   # (os.devnull: a page not overwritten, left as it was)
                texts.keep(target, text, len(data), os.fstat(fd))
        except BaseException:
            if texts is not None:   # what the file holds now is not known: the scan reads it
                texts.forget(target)
            raise
        finally:
            if fd >= 0:
                os.close(fd)

    def _open_w(self, filename, encoding, override=False):
        # Pelican's own writes (feeds, pages of other writers' paths): a text held for
        # this file would no longer be its content.
        if self.texts is not None:
            self.texts.forget(filename)
        return super()._open_w(filename, encoding, override)

    def _claim(self, filename: str, override: bool) -> str:
        """Pelican's ``Writer._open_w`` (writers.py, 4.12) without the ``open``: the file to
        write (``os.devnull`` for a page that must not overwrite an overridden one), or
        FileOverwriteFailedError."""
        if filename in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{filename}" a second time (was previously overwritten)')
            writer_log.info('Skipping "%s", not overwriting', filename)
            filename = os.devnull
        elif filename in self._written_files:
            if override:
                writer_log.info('Overwriting "%s"', filename)
            else:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{filename}" as Pelican has already written to it previously '
                    "(set `override=True` if intended)")
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return filename

    def relative_url(self, name: str) -> str:
        """``path_to_url(get_relative_path(name))``: a function of the name's folder."""
        head, tail = os.path.split(name.lstrip("/"))
        if not tail:
            return path_to_url(get_relative_path(name))
        url = self._relative.get(head)
        if url is None:
            url = self._relative[head] = path_to_url(get_relative_path(name))
        return url

    def write_file(self, name, template, context, relative_urls=False, paginated=None, template_name=None,
                   override_output=False, url=None, **kwargs):
        if not name:
            return super().write_file(name, template, context, relative_urls, paginated, template_name,
                                      override_output, url, **kwargs)
        if paginated is None:
            paginated = {key: val for key, val in kwargs.items() if key in {"articles", "dates"}}
        if not (paginated and template_name in self.settings["PAGINATED_TEMPLATES"]):
            self._write_page(name, template, context, relative_urls, kwargs, override_output)
            return None
        # Pelican's Writer.write_file, paginated (writers.py, 4.12): its Paginator and page
        # variables, each page written as above. A unit's ~25 listing pages, most of them
        # one page long, went through Pelican's writer: an abspath join, os.makedirs and a
        # text file object (four more system calls) each.
        per_page = self.settings["PAGINATED_TEMPLATES"][template_name] or self.settings["DEFAULT_PAGINATION"]
        paginators = {key: Paginator(name, url, val, self.settings, per_page) for key, val in paginated.items()}
        for page_num in range(next(iter(paginators.values())).num_pages):
            paginated_kwargs = kwargs.copy()
            for key, paginator in paginators.items():
                previous_page = paginator.page(page_num) if page_num > 0 else None
                page = paginator.page(page_num + 1)
                next_page = paginator.page(page_num + 2) if page_num + 1 < paginator.num_pages else None
                paginated_kwargs.update({f"{key}_paginator": paginator, f"{key}_page": page,
                                         f"{key}_previous_page": previous_page, f"{key}_next_page": next_page})
            self._write_page(page.save_as, template, context, relative_urls, paginated_kwargs, override_output)
        return None

    def _write_page(self, name, template, context, relative_urls, kwargs, override_output) -> None:
        """Pelican's ``_get_localcontext`` and ``_write_file`` (writers.py, 4.12) for one page,
        with the folder made once per writer and the page written by ``_write_text``."""
        localcontext = context.copy()
        localcontext["localsiteurl"] = localcontext.get("localsiteurl", None)
        if relative_urls:
            relative_url = self.relative_url(name)
            localcontext["SITEURL"] = relative_url
            localcontext["localsiteurl"] = relative_url
        localcontext["output_file"] = name
        localcontext.update(kwargs)
        if localcontext["localsiteurl"]:
            context["localsiteurl"] = localcontext["localsiteurl"]
        output = render_page(template, localcontext)
        path = self.output_file(name)
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        self._write_text(path, output, override_output)
        writer_log.info('Writing "%s"', path)
        signals.content_written.send(path, context=localcontext)
