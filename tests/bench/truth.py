"""Ground truth for the search benchmark: what each item page shows, which items an
exact substring search finds for each query, and recall / precision@10 against it.

Pure functions, no browser: tests/test_search_bench.py runs them on hand-made data.

The text of an item is what its page shows in the fields the search indexes (issue
10, item 2): the title, 索引号, 主题分类, 文号 and 关键词 from the attribute table, the
body, and the 政策问答 questions and answers; each field on its own line so no match
spans two fields. A withdrawn 公示 (``class="withdrawn"`` on its page) counts by its
title only, as DESIGN §10 indexes it.
Truth for a query: every quoted phrase and every other space-separated word must occur
as an exact substring. A traditional query (one with a ``simplified`` form in the
query file, its OpenCC t2s conversion) matches an item that contains either the
simplified form or the query as typed; the items are not folded (the generated
corpus is simplified).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
QUERIES = Path(__file__).resolve().parent / "queries.json"
KINDS = {"1 char", "2 chars", "word", "phrase", "two words", "latin/digits", "文号", "索引号", "traditional"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BLOCK = {"p", "li", "dt", "dd", "div", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section",
         "table", "ul", "ol", "dl", "blockquote", "pre"}


@dataclass(frozen=True)
class Query:
    q: str
    kind: str
    simplified: str | None = None


def load_queries(path: Path = QUERIES) -> tuple[str, list[Query]]:
    """The warm-up query and the fixed query list; raises ValueError naming the problem."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    queries = []
    for n, entry in enumerate(data.get("queries") or []):
        q, kind = entry.get("q"), entry.get("kind")
        if not isinstance(q, str) or not q.strip() or kind not in KINDS:
            raise ValueError(f"{path}: queries[{n}]: expected a non-empty q and a kind in {sorted(KINDS)}, got {entry!r}")
        simplified = entry.get("simplified")
        if (kind == "traditional") != isinstance(simplified, str):
            raise ValueError(f"{path}: queries[{n}]: a traditional query needs `simplified`, others none: {entry!r}")
        queries.append(Query(q, kind, simplified))
    if len({q.q for q in queries}) != len(queries):
        raise ValueError(f"{path}: duplicate queries")
    return str(data.get("warmup") or "公告"), queries


def terms(q: str) -> list[str]:
    """Quoted phrases and other space-separated words of a query."""
    return [a or b for a, b in re.findall(r'"([^"]+)"|([^\s"]+)', q)]


def matches(text: str, query: Query) -> bool:
    forms = [query.q] + ([query.simplified] if query.simplified else [])
    return any(all(t in text for t in terms(form)) for form in forms if terms(form))


def ground_truth(docs: dict[str, str], queries: list[Query]) -> dict[str, set[str]]:
    """For each query, the items (keys of ``docs``) whose text matches it."""
    return {query.q: {url for url, text in docs.items() if matches(text, query)} for query in queries}


def recall(found: list[str], truth: set[str]) -> float | None:
    """Share of the truth found anywhere in the results; None when nothing should be found."""
    if not truth:
        return None
    return len(truth & set(found)) / len(truth)


def precision_at(found: list[str], truth: set[str], k: int = 10) -> float:
    """Share of the first k results (as many as were shown, up to k) that are in the truth.

    No results: 1.0 if nothing should be found, else 0.0.
    """
    top = found[:k]
    if not top:
        return 0.0 if truth else 1.0
    return sum(1 for url in top if url in truth) / len(top)


def mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def meta_labels(catalogs: Path = ROOT / "catalogs") -> set[str]:
    """The attribute-table labels whose values are searched: 索引号, 文号, 关键词, 主题分类 (from the catalog)."""
    labels = (yaml.safe_load((catalogs / "fields.yaml").read_text(encoding="utf-8")) or {}).get("item") or {}
    return {labels.get(key, key) for key in ("index_no", "doc_number", "keywords", "topic")}


class _ItemText(HTMLParser):
    """Collects the searched fields of an item page (``<article class="item">``)."""

    def __init__(self, labels: set[str]):
        super().__init__(convert_charrefs=True)
        self.labels = labels
        self.depth = 0
        self.is_item = False
        self.withdrawn = False
        self.capture: tuple[str, int] | None = None  # (field, depth of the element that opened it)
        self.hidden: int | None = None  # depth of an aria-hidden / permalink element being skipped
        self.fields: dict[str, list[str]] = {"title": [], "meta": [], "body": [], "qa": []}
        self.cell: list[str] | None = None
        self.cell_tag = ""
        self.last_th = ""

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag == "br" and self.capture:
                self.fields[self.capture[0]].append("\n")
            return
        self.depth += 1
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "article" and "item" in classes:
            self.is_item = True
        if self.is_item and "withdrawn" in classes:
            self.withdrawn = True
        heading = self.capture is not None and self.capture[0] == "qa" and tag in ("h2", "h3")
        if self.hidden is None and (a.get("aria-hidden") == "true" or "permalink" in classes or heading):
            self.hidden = self.depth
        if self.capture is None and self.is_item:
            field = ("title" if tag == "h1" and "item-title" in classes else
                     "body" if tag == "div" and "item-body" in classes else
                     "qa" if tag == "section" and "qa" in classes else None)
            if field:
                self.capture = (field, self.depth)
        if self.is_item and tag in ("th", "td") and self.capture is None:
            self.cell, self.cell_tag = [], tag
        if self.capture and tag in BLOCK:
            self.fields[self.capture[0]].append("\n")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cell is not None and tag == self.cell_tag:
            text = "".join(self.cell).strip()
            if tag == "th":
                self.last_th = text
            elif self.last_th in self.labels and text not in ("", "—"):
                self.fields["meta"].append(text)
            self.cell = None
        if self.capture and tag in BLOCK:
            self.fields[self.capture[0]].append("\n")
        if self.capture and self.depth == self.capture[1]:
            self.capture = None
        if self.hidden == self.depth:
            self.hidden = None
        self.depth = max(0, self.depth - 1)

    def handle_data(self, data):
        if self.hidden is not None:
            return
        if self.capture:
            self.fields[self.capture[0]].append(data)
        elif self.cell is not None:
            self.cell.append(data)


def item_text(html: str, labels: set[str]) -> str | None:
    """The searched text of an item page (fields on separate lines), or None for other pages."""
    if '<article class="item' not in html:
        return None
    parser = _ItemText(labels)
    parser.feed(html)
    parser.close()
    if not parser.is_item:
        return None
    f = parser.fields
    # A withdrawn 公示 (its page says the content was taken down) is searched by its title only (DESIGN §10).
    parts = ["".join(f["title"])] if parser.withdrawn else [
        "".join(f["title"]), *f["meta"], "".join(f["body"]), "".join(f["qa"])]
    lines = (line.strip() for part in parts for line in part.split("\n"))
    return "\n".join(line for line in lines if line)


def unit_items(unit_dir: Path, labels: set[str]) -> dict[str, str]:
    """Every item page of a built unit: path relative to the unit (posix) -> searched text."""
    items = {}
    for page in sorted(unit_dir.rglob("*.html")):
        text = item_text(page.read_text(encoding="utf-8", errors="replace"), labels)
        if text is not None:
            items[page.relative_to(unit_dir).as_posix()] = text
    return items
