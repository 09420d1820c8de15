"""链接 rule: every internal link and #anchor of a unit's built pages resolves in the
built output; external links are listed in the report, never fetched.

``scan_output`` reads each built HTML page once (the build wrote them; nothing in
content/ is read again) and keeps its links and its anchors; the rule compares them.
Our templates write attributes in double quotes, escaped, so a regular expression
over attributes is enough and fast on tens of thousands of pages.
"""
from __future__ import annotations

import html
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .engine import Hit, rule
from .unitfacts import UnitFacts

_LINK = re.compile(r"""\s(?:href|src)\s*=\s*"([^"]*)\"""")
_ANCHOR = re.compile(r"""\s(?:id|name)\s*=\s*"([^"]*)\"""")
_IGNORED_SCHEMES = ("mailto", "tel", "javascript", "data", "sms")
MAX_PAGE_BYTES = 20_000_000


@dataclass(frozen=True)
class Link:
    line: int
    href: str


@dataclass
class PageLinks:
    path: str                       # relative to the output root, e.g. shili-county/art/x.html
    links: list[Link] = field(default_factory=list)


@dataclass
class SiteFiles:
    """Every file of the built output (relative paths) and the anchors of each HTML page."""

    shown_root: str                 # how messages name the output folder, e.g. 'output'
    site_root: str = ""             # absolute URL prefix that also means 'this site'
    files: set[str] = field(default_factory=set)
    anchors: dict[str, frozenset[str]] = field(default_factory=dict)
    # Unit folders built elsewhere (a subset build): links into them are left to merge.
    foreign: frozenset[str] = frozenset()

    def elsewhere(self, target: str | None) -> bool:
        return bool(self.foreign) and target is not None and target.split("/", 1)[0] in self.foreign


def scan_output(root: Path, shown_root: str, site_root: str = "", skip: frozenset[str] = frozenset()
                ) -> tuple[SiteFiles, dict[str, list[PageLinks]]]:
    """(every file and anchor, unit id -> its pages' links) of the built output under ``root``;
    top-level folders named in ``skip`` are left out (the caller adds them: ``add_unit``)."""
    files = SiteFiles(shown_root, site_root.rstrip("/"))
    pages: dict[str, list[PageLinks]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            page = _scan_file(path, rel, files)
            if page is not None:
                pages.setdefault(rel.split("/", 1)[0], []).append(page)
    for found in pages.values():
        found.sort(key=lambda p: p.path.split("/"))
    return files, pages


def scan_unit(folder: Path, uid: str, leave_out: frozenset[str] = frozenset()) -> tuple[SiteFiles, list[PageLinks]]:
    """One unit's folder as ``scan_output`` sees it (paths from the output root), without
    the top-level entries in ``leave_out``."""
    files = SiteFiles("")
    found: list[PageLinks] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        if dirpath == str(folder):
            dirnames[:] = [d for d in dirnames if d not in leave_out]
            filenames = [f for f in filenames if f not in leave_out]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            rel = f"{uid}/{path.relative_to(folder).as_posix()}"
            page = _scan_file(path, rel, files)
            if page is not None:
                found.append(page)
    found.sort(key=lambda p: p.path.split("/"))
    return files, found


def add_unit(files: SiteFiles, part: SiteFiles) -> None:
    files.files.update(part.files)
    files.anchors.update(part.anchors)


def _scan_file(path: Path, rel: str, files: SiteFiles) -> PageLinks | None:
    files.files.add(rel)
    if path.suffix != ".html" or path.stat().st_size > MAX_PAGE_BYTES:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    files.anchors[rel] = frozenset(html.unescape(a) for a in _ANCHOR.findall(text))
    if "/" not in rel:
        return None    # the portal's own pages belong to no unit
    page = PageLinks(rel)
    line, last = 1, 0
    for m in _LINK.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        page.links.append(Link(line, html.unescape(m[1])))
    return page


def resolve(page: str, href: str, files: SiteFiles) -> tuple[str, str | None, str] | None:
    """(kind, target file or None, fragment) — kind 'internal' / 'external' — or None to ignore."""
    href = href.strip()
    if not href:
        return None
    if files.site_root and (href == files.site_root or href.startswith(files.site_root + "/")):
        href = "/" + href[len(files.site_root):].lstrip("/")
    parts = urlsplit(href)
    if parts.scheme in _IGNORED_SCHEMES:
        return None
    if parts.scheme or parts.netloc:
        return ("external", None, href)
    target = unquote(parts.path)
    if not target:
        target = page
    elif target.startswith("/"):
        target = target.lstrip("/")
    else:
        target = posixpath.join(posixpath.dirname(page), target)
    if target.endswith("/") or target == "":
        target += "index.html"
    target = posixpath.normpath(target)
    if target.startswith(".."):
        return ("internal", None, unquote(parts.fragment))
    if target not in files.files and f"{target}/index.html" in files.files:
        target = f"{target}/index.html"
    return ("internal", target, unquote(parts.fragment))


def external_links(unit: UnitFacts) -> dict[str, list[str]]:
    """External URL -> the unit's pages that link to it (for the report; never fetched)."""
    out: dict[str, set[str]] = {}
    for page in unit.pages or []:
        for link in page.links:
            r = resolve(page.path, link.href, unit.files)
            if r and r[0] == "external":
                out.setdefault(r[2], set()).add(page.path)
    return {url: sorted(pages) for url, pages in sorted(out.items())}


def _internal(unit: UnitFacts) -> Iterator[tuple[PageLinks, Link, tuple, tuple[str, str]]]:
    """(page, link, resolved, key) of every internal link of the unit's pages; ``key`` is
    what the resolution depends on (links repeated on every page of a folder share it)."""
    files = unit.files
    memo = getattr(unit, "link_memo", None)
    pages = memo.pages(unit.unit.id, unit.pages) if memo is not None else (unit.pages or [])
    seen: dict[tuple[str, str], tuple | None] = {}   # every page of a folder repeats the same navigation
    for page in sorted(pages, key=lambda p: p.path):
        folder = posixpath.dirname(page.path)
        for link in page.links:
            key = (page.path if link.href.lstrip().startswith(("#", "?")) else folder, link.href)
            if key not in seen:
                seen[key] = resolve(page.path, link.href, files) if link.href.strip() else None
            r = seen[key]
            if r is not None and r[0] == "internal":
                yield page, link, r, key


def check_link(page: str, link: Link, r: tuple, files: SiteFiles) -> Hit | None:
    """The finding for one internal link, or None when it resolves (file and anchor)."""
    _, target, fragment = r
    shown = f"{files.shown_root}/{page}"
    if target is None or target not in files.files:
        return Hit(f"链接 '{link.href}' 指向的文件不存在", "指向本站已生成的页面或文件", path=shown, line=link.line)
    if fragment and fragment != "top" and target.endswith(".html") \
            and fragment not in files.anchors.get(target, frozenset()):
        return Hit(f"链接 '{link.href}' 的锚点 #{fragment} 在 {target} 中不存在", "指向页面中存在的 id",
                   path=shown, line=link.line)
    return None


def deferred(unit: UnitFacts) -> list[tuple[str, int, str]]:
    """(page, line, href) of the unit's links into folders built elsewhere (``files.foreign``):
    a subset build cannot see those files; merge checks them (``check_link``) in the merged tree."""
    if unit.pages is None or unit.files is None or not unit.files.foreign:
        return []
    return [(page.path, link.line, link.href) for page, link, r, _ in _internal(unit)
            if unit.files.elsewhere(r[1])]


@rule("links.internal")
def internal(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    if unit.pages is None or unit.files is None:
        return
    files, uid = unit.files, unit.unit.id
    # incremental/checks.py: the hits of an unchanged unit whose links outside itself resolve
    # as before. Not in a subset build: its verdicts on links into other parts are merge's.
    memo = getattr(unit, "link_memo", None) if not files.foreign else None
    if memo is not None:
        kept = memo.hits(uid, files)
        if kept is not None:
            yield from kept
            return
    hits: list[Hit] = []
    outside: dict[tuple[str, str], tuple[str, str]] = {}
    for page, link, r, key in _internal(unit):
        if files.elsewhere(r[1]):
            continue    # built in another part: merge checks it
        if memo is not None and r[1] is not None and not r[1].startswith(f"{uid}/"):
            outside.setdefault(key, (page.path, link.href))
        if (hit := check_link(page.path, link, r, files)) is not None:
            hits.append(hit)
    if memo is not None:
        memo.keep(uid, hits, sorted(outside.values()), files)
    yield from hits


def probe(page: str, href: str, files: SiteFiles) -> tuple:
    """How a link to another unit (or the portal) resolves today: what the rule's verdict
    on it depends on (incremental/checks.py compares it with the last build's)."""
    r = resolve(page, href, files)
    if r is None or r[1] is None:
        return (r,)
    return (r, r[1] in files.files, sorted(files.anchors.get(r[1], ())) if r[2] else None)
