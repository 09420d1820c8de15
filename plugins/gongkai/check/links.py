"""链接 rule: every internal link and #anchor of a unit's built pages resolves in the
built output; external links are listed in the report, never fetched.

``scan_output`` reads each built HTML page once (the build wrote them; nothing in
content/ is read again) and keeps its links and its anchors; the rule compares them.
Our templates write attributes in double quotes, escaped, so a regular expression
over attributes is enough and fast on tens of thousands of pages.
"""
from __future__ import annotations

import html
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
# The same over the page's bytes: only the matches are decoded (pages are read twice, see scan_files).
_LINK_B = re.compile(_LINK.pattern.encode())
_ANCHOR_B = re.compile(_ANCHOR.pattern.encode())
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
    pages: dict[str, list[str]] = field(default_factory=dict)   # unit id -> its HTML pages, in path order


def scan_files(root: Path, shown_root: str, site_root: str = "") -> SiteFiles:
    """Every file of the built output under ``root`` and the anchors of each page (what
    any link may point at). The links themselves are read per unit (``unit_pages``), so
    the check stage holds one unit's links at a time, not the province's."""
    files = SiteFiles(shown_root, site_root.rstrip("/"))
    shared: dict[frozenset[str], frozenset[str]] = {}   # most pages of a unit have the same anchors
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        files.files.add(rel)
        if path.suffix != ".html" or path.stat().st_size > MAX_PAGE_BYTES:
            continue
        found = frozenset(html.unescape(a.decode("utf-8", "replace")) for a in _ANCHOR_B.findall(path.read_bytes()))
        files.anchors[rel] = shared.setdefault(found, found)
        if "/" in rel:      # the portal's own pages belong to no unit
            files.pages.setdefault(rel.split("/", 1)[0], []).append(rel)
    return files


def unit_pages(root: Path, unit: str, files: SiteFiles) -> list[PageLinks]:
    """The links of one unit's built pages (read again from ``root``, after ``scan_files``)."""
    pages = []
    for rel in files.pages.get(unit, []):
        data = (root / rel).read_bytes()
        page = PageLinks(rel)
        line, last = 1, 0
        for m in _LINK_B.finditer(data):
            line += data.count(b"\n", last, m.start())
            last = m.start()
            page.links.append(Link(line, html.unescape(m[1].decode("utf-8", "replace"))))
        pages.append(page)
    return pages


def scan_output(root: Path, shown_root: str, site_root: str = "") -> tuple[SiteFiles, dict[str, list[PageLinks]]]:
    """(every file and anchor, unit id -> its pages' links) of the built output under ``root``:
    every unit's links at once (the check stage itself goes unit by unit)."""
    files = scan_files(root, shown_root, site_root)
    return files, {uid: unit_pages(root, uid, files) for uid in sorted(files.pages)}


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


@rule("links.internal")
def internal(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    if unit.pages is None or unit.files is None:
        return
    files = unit.files
    seen: dict[tuple[str, str], tuple | None] = {}   # every page of a folder repeats the same navigation
    for page in sorted(unit.pages, key=lambda p: p.path):
        folder = posixpath.dirname(page.path)
        for link in page.links:
            key = (page.path if link.href.lstrip().startswith(("#", "?")) else folder, link.href)
            if key not in seen:
                seen[key] = resolve(page.path, link.href, files) if link.href.strip() else None
            r = seen[key]
            if r is None or r[0] != "internal":
                continue
            _, target, fragment = r
            shown = f"{files.shown_root}/{page.path}"
            if target is None or target not in files.files:
                yield Hit(f"链接 '{link.href}' 指向的文件不存在", "指向本站已生成的页面或文件", path=shown, line=link.line)
            elif fragment and fragment != "top" and target.endswith(".html") \
                    and fragment not in files.anchors.get(target, frozenset()):
                yield Hit(f"链接 '{link.href}' 的锚点 #{fragment} 在 {target} 中不存在", "指向页面中存在的 id",
                          path=shown, line=link.line)
