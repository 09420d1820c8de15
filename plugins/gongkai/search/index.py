"""Build the static search index of one unit from the documents its pages show. No Pelican here: ``build(docs, t2s)`` returns the files.

Scoring is lunr's (lunr.py 0.8.0 ``Builder``): BM25 with k1 = 1.2, b = 0.75, a
field boost per field, each weight rounded to 3 decimals. A lunr query of
required terms scores a document Σ_term Σ_field weight ÷ |query vector|; the
divisor is the same for every document, so the sum decides the order and can be
computed from per-term postings alone. The layout lets a query fetch only what
it needs (paths relative to the site root):

    search/index.json       manifest: counts, shard count, labels, content hash
    search/t/<k>.json       term shards: term -> field -> [Δid, weight×1000, …]
                            (shard k = FNV-1a-32(term as UTF-8) mod shard count)
    search/d/<k>.json       document data of ids [k·D, (k+1)·D): what a result shows,
                            and the text a snippet and a phrase check need
    search/facets.json      filter values -> id sets, fetched only when a filter is set

Document ids follow the result tie-break: current (not 失效/废止/修订) first, then
newest first; so the browser needs no per-document data to rank.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from itertools import chain
from dataclasses import dataclass, field

from . import tokenize

# (field, code in the files, lunr boost): title above 文号/索引号 above keywords above body.
FIELDS: tuple[tuple[str, str, int], ...] = (
    ("title", "t", 10), ("doc_number", "n", 5), ("index_no", "i", 5),
    ("keywords", "k", 3), ("topic", "c", 2), ("body", "b", 1))
K1, B = 1.2, 0.75
SHARD_BYTES = 12_000     # target size of a term shard
DOCS_PER_SHARD = 1       # documents per doc-store file: a page of 10 results fetches ≤ 10 small files
MAX_TEXT = 60_000        # characters of body text kept for snippets and phrase checks
RETIRED = frozenset({"expired", "repealed", "revised"})


@dataclass
class Doc:
    """One page as the index sees it: only what the page shows."""

    url: str
    title: str
    published: str                     # ISO date or date-time: newest first among equals
    state: str                         # lifecycle.State code
    column: str = ""
    issuer: str = ""
    doc_number: str = ""
    index_no: str = ""
    keywords: list[str] = field(default_factory=list)
    topic: str = ""
    body: str = ""                     # plain text of the page body (with Q&A)
    questions: list[tuple[str, str]] = field(default_factory=list)  # (question, anchor)

    @property
    def retired(self) -> bool:
        return self.state in RETIRED

    def field_text(self, name: str) -> str:
        value = getattr(self, name)
        return " ".join(value) if isinstance(value, list) else value or ""


def order(docs: list[Doc]) -> list[Doc]:
    """Document id order: current first, then newest first; URL breaks ties."""
    newest = sorted(docs, key=lambda d: d.url)
    newest.sort(key=lambda d: d.published, reverse=True)
    return sorted(newest, key=lambda d: d.retired)


def fnv1a(term: str) -> int:
    h = 0x811C9DC5
    for byte in term.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def terms_of(docs: list[Doc], table: dict[int, str]) -> list[dict[str, Counter]]:
    """Per document, per field: term frequencies."""
    return [{name: tokenize.term_counts(tokenize.fold(d.field_text(name), table)) for name, _, _ in FIELDS}
            for d in docs]


def weights(tfs: list[dict[str, Counter]]) -> dict[str, dict[str, list[int]]]:
    """term -> field code -> [Δid, weight×1000, …], as lunr.py's Builder computes them.

    Mirrors ``lunr.builder.Builder._create_field_vectors`` operation for operation
    (tests compare both on the same documents): idf counts a document once per
    field it has the term in; each weight is rounded to 3 decimals. The arithmetic
    runs on numpy arrays (IEEE doubles, the same operations in the same order);
    rounding x to 3 decimals and scaling by 1000 is rint(x·1000) except within a
    hair of a half, where Python's exact ``round`` decides.
    """
    import numpy as np

    n = len(tfs)
    df: Counter = Counter()
    for d in tfs:
        for name, _, _ in FIELDS:
            df.update(d[name].keys())
    terms = sorted(df)
    tid = {t: i for i, t in enumerate(terms)}
    idf = np.array([math.log(1 + abs((n - df[t] + 0.5) / (df[t] + 0.5))) for t in terms], dtype=np.float64)
    postings: dict[str, dict[str, list[int]]] = {}
    for name, code, boost in FIELDS:
        lengths = [sum(d[name].values()) for d in tfs]
        if not any(lengths):
            continue
        mean = sum(lengths) / n
        norms = np.array([K1 * (1 - B + B * (length / mean)) for length in lengths], dtype=np.float64)
        counts = [d[name] for d in tfs]
        sizes = np.fromiter((len(c) for c in counts), dtype=np.int64, count=n)
        total = int(sizes.sum())
        term_ids = np.fromiter(chain.from_iterable(map(tid.__getitem__, c) for c in counts), dtype=np.int64, count=total)
        tf = np.fromiter(chain.from_iterable(c.values() for c in counts), dtype=np.float64, count=total)
        doc_ids = np.repeat(np.arange(n, dtype=np.int64), sizes)
        x = idf[term_ids] * ((K1 + 1) * tf) / (norms[doc_ids] + tf) * boost
        y = x * 1000
        w = np.rint(y)
        close = np.nonzero(np.abs(np.abs(y - np.floor(y)) - 0.5) < 1e-6)[0]
        for i in close.tolist():
            w[i] = round(round(float(x[i]), 3) * 1000)
        order = np.lexsort((doc_ids, term_ids))
        term_ids, doc_ids, w = term_ids[order], doc_ids[order], w[order].astype(np.int64)
        starts = np.flatnonzero(np.diff(term_ids, prepend=-1))
        ends = np.append(starts[1:], len(term_ids))
        gaps = np.diff(doc_ids, prepend=0)
        gaps[starts] = doc_ids[starts]
        flat = np.empty(2 * len(w), dtype=np.int64)
        flat[0::2] = gaps
        flat[1::2] = w
        flat_list = flat.tolist()
        for t, lo, hi in zip(term_ids[starts].tolist(), starts.tolist(), ends.tolist()):
            postings.setdefault(terms[t], {})[code] = flat_list[2 * lo:2 * hi]
    return postings


def id_set(ids: list[int]) -> list[int]:
    """Sorted ids as [gap, run length, …]: years and states are runs, thanks to the id order."""
    out: list[int] = []
    prev_end = 0
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out += [ids[i] - prev_end, j - i + 1]
        prev_end = ids[j] + 1
        i = j + 1
    return out


def record(d: Doc) -> dict:
    rec = {"u": d.url, "t": d.title, "d": d.published[:10], "s": d.state, "x": d.body[:MAX_TEXT]}
    for key, value in (("n", d.doc_number), ("i", d.issuer), ("c", d.column)):
        if value:
            rec[key] = value
    if d.questions:
        rec["a"] = [list(q) for q in d.questions]
    return rec


def facets(docs: list[Doc]) -> dict[str, dict[str, list[int]]]:
    keys = {"c": lambda d: d.column, "y": lambda d: d.published[:4], "s": lambda d: d.state,
            "i": lambda d: d.issuer}
    out: dict[str, dict[str, list[int]]] = {}
    for code, key in keys.items():
        groups: dict[str, list[int]] = {}
        for doc_id, d in enumerate(docs):
            if key(d):
                groups.setdefault(key(d), []).append(doc_id)
        if groups:
            out[code] = {value: id_set(ids) for value, ids in sorted(groups.items())}
    return out


def build(docs: list[Doc], t2s: dict[str, str], labels: dict[str, str]) -> dict[str, bytes]:
    """Every file of the index, by path relative to the site root."""
    docs = order(docs)
    postings = weights(terms_of(docs, tokenize.fold_table(t2s)))
    size = sum(len(term) * 3 + 8 + sum(len(v) * 3 for v in fields.values()) for term, fields in postings.items())
    shards = max(1, math.ceil(size / SHARD_BYTES))
    by_shard: dict[int, dict] = {}
    for term in sorted(postings):
        by_shard.setdefault(fnv1a(term) % shards, {})[term] = postings[term]
    files: dict[str, bytes] = {}
    for k, content in sorted(by_shard.items()):
        files[f"search/t/{k}.json"] = dumps(content)
    for k in range(0, len(docs), DOCS_PER_SHARD):
        files[f"search/d/{k // DOCS_PER_SHARD}.json"] = dumps([record(d) for d in docs[k:k + DOCS_PER_SHARD]])
    files["search/facets.json"] = dumps(facets(docs))
    digest = hashlib.sha1()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path])
    retired_from = next((i for i, d in enumerate(docs) if d.retired), len(docs))
    files["search/index.json"] = dumps({
        "v": 1, "n": len(docs), "r": retired_from, "s": shards, "d": DOCS_PER_SHARD,
        "f": [code for _, code, _ in FIELDS], "h": digest.hexdigest()[:12], "labels": labels})
    return files


def options(docs: list[Doc]) -> dict[str, list[tuple[str, int]]]:
    """Filter values with their counts, for the search page's selects."""
    out: dict[str, Counter] = {"column": Counter(), "year": Counter(), "state": Counter(), "issuer": Counter()}
    for d in docs:
        out["column"][d.column] += 1
        out["year"][d.published[:4]] += 1
        out["state"][d.state] += 1
        out["issuer"][d.issuer] += 1
    return {k: sorted((v, n) for v, n in c.items() if v) for k, c in out.items()}
