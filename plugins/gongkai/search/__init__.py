"""Search (DESIGN §10): a static, term-sharded index per unit and one for the portal,
queried in the browser by static/search.js.

    tokenize.py   the tokenizer (index time); search.js holds its query-time twin,
                  both tested against tokenize_cases.json
    zhmap.py      the 简繁 character map generated from OpenCC (theme/js/zhmap.json)
    index.py      documents -> index files (no Pelican; unit-testable)
    static/       search.js and search.css, copied to the portal's theme/search/ (output/theme/: every unit's pages read it)
    this module   the Pelican glue: after a unit's articles are written, index what
                  its pages show, write search.html; ``build_portal`` writes the
                  portal's search.html, which queries the selected units' indexes

Only public items reach an index: the lifecycle plugin has already dropped every
item that is not public on the as-of date before any generator sees it, and a
withdrawn 公示 (State.withdrawn) gives its title and nothing else.
"""
from __future__ import annotations

import functools
import html
import html.parser
import json
import os
import re
import shutil
import time
from pathlib import Path

from . import index, zhmap

STATIC = Path(__file__).parent / "static"
STASH = ".search-stash"      # beside the unit folders of one build: what the portal page reads
BLOCK_TAGS = frozenset("p div br li td th tr h1 h2 h3 h4 h5 h6 table ul ol dl dt dd blockquote pre hr "
                       "section figure figcaption caption article header footer".split())


class _Text(html.parser.HTMLParser):
    """Text of sanitized body HTML; block elements end a line, inline ones join."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


# A start or end tag as html.parser reads one (name, then attributes, quoted values may hold '>').
_TAG = re.compile(r"""<(/?)([a-zA-Z][^\t\n\r\f />\x00]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
_RAW = re.compile(r"<(?:script|style)", re.IGNORECASE)


def _tag_text(markup: str) -> str | None:
    """What _Text collects, by splitting at tags: sanitized bodies (every '<' opens a plain
    tag, no script or style) parse identically and several times faster. None otherwise."""
    pieces = _TAG.split(markup)
    if markup.count("<") != len(pieces) // 3 or _RAW.search(markup):
        return None
    # pieces: text, '/' or '', tag name, text, …: the texts with '\n' for each block tag between.
    out = pieces[::3]
    if "&" in markup:
        unescape = html.unescape
        out = [unescape(piece) if "&" in piece else piece for piece in out]
    joined = [""] * (2 * len(out) - 1)
    joined[::2] = out
    joined[1::2] = ["\n" if name.lower() in BLOCK_TAGS else "" for name in pieces[2::3]]
    return "".join(joined)


def html_text(markup: str) -> str:
    text = _tag_text(markup or "")
    if text is None:
        parser = _Text()
        parser.feed(markup or "")
        parser.close()
        text = "".join(parser.parts)
    return "\n".join(filter(None, map(str.strip, text.split("\n"))))


def doc_of(article, prefix: str = "") -> index.Doc:
    """What the item's page shows, as the index sees it."""
    item, st = article.gk, article.lifecycle
    base = dict(url=prefix + item.url, title=item.title, published=item.published.isoformat(), state=st.code,
                column=item.column, issuer=item.issuer)
    if st.withdrawn:
        return index.Doc(**base)  # 公示期满: the title stays, nothing else of it
    body = [html_text(article.content)]
    for pair in item.qa:
        body.append(pair.q)
        body.append(html_text(pair.a_html) or pair.a)
    return index.Doc(**base, doc_number=item.doc_number or "", index_no=item.index_no or "",
                     keywords=list(item.keywords), topic=item.topic or "", body="\n".join(b for b in body if b),
                     questions=[(pair.q, pair.anchor) for pair in item.qa])


@functools.lru_cache(maxsize=1)   # written into every unit: read once per process
def _assets() -> tuple[tuple[str, bytes], ...]:
    return tuple((asset.name, asset.read_bytes()) for asset in sorted(STATIC.iterdir()) if asset.is_file())


def write_files(root: Path, files: dict[str, bytes], static_dir: str | None = None) -> None:
    """The index files under ``root``, and with ``static_dir`` the 简繁 map and the search
    page's assets (the portal's theme, which every unit's pages read: issue 15): one
    ``os.open``/``os.write`` each (what open(…, "wb") and ``shutil.copyfile`` do, without their
    file objects, the assets' own opens and a ``mkdir`` per file: ~300 files a unit), each
    opened by its name in its folder (``dir_fd``: one folder's ~200 document files are not
    each found again from the root, nor their paths joined)."""
    every = dict(files)
    if static_dir is not None:
        every[zhmap.path_in(static_dir)] = zhmap.data()
        for name, data in _assets():
            every[f"{static_dir}/search/{name}"] = data
    by_folder: dict[str, list[tuple[str, bytes]]] = {}
    for rel, data in every.items():
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder, []).append((name, data))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    for folder, named in sorted(by_folder.items()):
        where = root / folder
        where.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        try:
            for name, data in named:
                fd = os.open(name, flags, 0o666, dir_fd=dir_fd)
                try:
                    written = os.write(fd, data)
                    if written < len(data):   # a short write: the rest, as file objects do
                        view = memoryview(data)[written:]
                        while view:
                            view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
        finally:
            os.close(dir_fd)


def page_data(docs: list[index.Doc], column_names: dict[str, str]) -> dict:
    """Filter values with their names and counts, for the search page's selects."""
    from .. import lifecycle  # noqa: PLC0415 - the labels live with the states

    opts = index.options(docs)
    return {
        "columns": sorted(((v, column_names.get(v, v), n) for v, n in opts["column"]), key=lambda o: (o[1], o[0])),
        "years": [(v, f"{v}年", n) for v, n in sorted(opts["year"], reverse=True)],
        "states": [(v, lifecycle.LABELS.get(v, v), n) for v, n in opts["state"]],
        "issuers": [(v, v, n) for v, n in opts["issuer"]],
        "count": len(docs),
    }


def merge(options: list[dict]) -> dict:
    """The portal's filter values: every unit's, counts added."""
    out: dict = {"count": sum(o["count"] for o in options)}
    for key in ("columns", "years", "states", "issuers"):
        counts: dict[tuple[str, str], int] = {}
        for o in options:
            for value, name, n in o[key]:
                counts[(value, name)] = counts.get((value, name), 0) + n
        rows = [(v, name, n) for (v, name), n in counts.items()]
        out[key] = sorted(rows, key=lambda r: r[0], reverse=True) if key == "years" else sorted(
            rows, key=lambda r: (r[1], r[0]))
    return out


def labels() -> dict[str, str]:
    from .. import lifecycle  # noqa: PLC0415

    return {k: v for k, v in lifecycle.LABELS.items() if k != "hidden"}


# --- Pelican hook (per unit, in a worker) ------------------------------------------

def _write_unit(generator, writer) -> None:
    from .. import lifecycle  # noqa: PLC0415

    started, cpu = time.monotonic(), time.process_time()
    settings = generator.settings
    gk = generator.context.get("GK")
    out = Path(generator.output_path)
    unit = settings["GK_UNIT"]
    docs = [doc_of(a) for a in generator.articles if isinstance(getattr(a, "lifecycle", None), lifecycle.State)]
    write_files(out, index.build(docs, zhmap.t2s(), labels()))
    names = {cid: col.name for cid, col in gk.columns.items()} if gk else {}
    options = page_data(docs, names)
    browse = [{"url": gk.column_url(col.id), "name": col.name} for col in gk.tree.children] if gk else []
    writer.write_file("search.html", generator.get_template("search"), generator.context,
                      settings["RELATIVE_URLS"], template_name="search", page_name="search", url="search.html",
                      search={**options, "labels": labels(), "browse": browse, "units": [],
                              "title": (unit.get("name") or "") + "站内搜索"})
    # The portal's page (build_portal) lists every unit's filter values from here.
    stash = out.parent / STASH
    stash.mkdir(exist_ok=True)
    # Wall time stretches on a shared machine; CPU time is the stage's own cost and adds up across workers.
    (stash / f"{unit['id']}.json").write_bytes(index.dumps(
        {"seconds": round(time.monotonic() - started, 3), "cpu": round(time.process_time() - cpu, 3),
         "options": options}))


def build_portal(out: Path, settings: dict, units: dict[str, dict], as_of: str,
                 reused: frozenset[str] = frozenset()) -> str | None:
    """The portal's search.html (after all units are built): it queries the selected units'
    own indexes, so the portal has no index of its own to build or to download.

    Returns the line build.py prints (the bench reads the stage's time from it), or
    None when no unit was indexed (the search plugin is not in PLUGINS).
    """
    import jinja2

    static_dir = settings.get("THEME_STATIC_DIR", "theme")
    # The theme's search assets and 简繁 map, which every unit's pages read (tools.js's 繁體
    # switch too): written whether or not a unit was indexed.
    write_files(out, {}, static_dir)
    stash = out / STASH
    if not stash.is_dir():
        return None
    started = time.process_time()
    options, seconds, wall, indexed, pages = [], 0.0, 0.0, [], 0
    for uid in sorted(units):
        path = stash / f"{uid}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if uid not in reused:   # a reused unit's figures are those of the build that indexed it
                seconds += data["cpu"]
                wall += data["seconds"]
                pages += data["options"]["count"]
            options.append(data["options"])
            indexed.append(uid)
    shutil.rmtree(stash, ignore_errors=True)
    theme = Path(settings["THEME"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    portal_name = settings.get("GK_PORTAL_NAME", "政府信息公开平台")
    merged = merge(options)
    data = {**merged, "labels": labels(), "title": portal_name + "全站搜索", "unit_ids": indexed,
            "browse": [{"url": f"{uid}/index.html", "name": units[uid]["name"]} for uid in indexed],
            "units": [(uid, units[uid]["name"], o["count"]) for uid, o in zip(indexed, options)]}
    html = env.get_template("search_portal.html").render(
        search=data, GK_AS_OF=as_of, SITEURL=".", RELATIVE_URLS=True, PORTAL_NAME=portal_name,
        THEME_STATIC_DIR=static_dir)
    (out / "search.html").write_text(html, encoding="utf-8")
    total = seconds + time.process_time() - started
    kept = sum(1 for uid in indexed if uid in reused)
    return (f"search: {total:.1f} s to index {pages} pages of {len(indexed) - kept} unit(s) "
            f"(CPU, summed over workers; {wall:.1f} s wall in the workers)"
            + (f"; the indexes of {kept} unchanged unit(s) kept" if kept else ""))


def register():
    from pelican import signals

    signals.article_writer_finalized.connect(_write_unit)
