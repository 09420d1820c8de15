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
CHUNK = 1 << 18          # postings weighed or written at a time: bounds the memory a large unit takes


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


def dumps(obj, encode=json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode) -> bytes:
    """``json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` as UTF-8;
    one encoder for every call (``json.dumps`` with options makes one per call: a unit's
    ~200 document files)."""
    return encode(obj).encode("utf-8")


# Fields in the order of their codes: a term's fields appear in its shard in this order
# (sorted keys), so postings sorted by (term, field, document) are already in file order.
CODED = tuple(sorted(FIELDS, key=lambda f: f[1]))


def postings(docs: list[Doc], t2s: dict[str, str]):
    """Every (term, field, document) with its term frequency, as arrays sorted by term,
    then field (``CODED`` order), then document: ``(terms, term, field, doc, tf)``; the
    field a uint8, the others int32 (a unit of thousands of documents has millions of
    postings: each byte a posting counts)."""
    import numpy as np

    n = max(1, len(docs))
    texts = [d.field_text(name) for name, _, _ in CODED for d in docs]
    terms, term, text, tf = tokenize.count_terms(texts, t2s)
    del texts
    fld = np.empty(len(text), dtype=np.uint8)
    doc = np.empty(len(text), dtype=np.int32)
    for lo in range(0, len(text), CHUNK):   # a slice at a time: no int32 field array beside the others
        f, d = np.divmod(text[lo:lo + CHUNK], n)
        fld[lo:lo + CHUNK], doc[lo:lo + CHUNK] = f, d
    return terms, term, fld, doc, tf


def weights(n: int, n_terms: int, term, fld, doc, tf):
    """Each posting's weight ×1000, as lunr.py's Builder computes it.

    Mirrors ``lunr.builder.Builder._create_field_vectors`` operation for operation
    (tests compare both on the same documents): idf counts a document once per
    field it has the term in; each weight is rounded to 3 decimals. The arithmetic
    runs on numpy arrays (IEEE doubles, the same operations in the same order; the
    logarithm and the field norms in Python, as lunr.py does); rounding x to 3
    decimals and scaling by 1000 is rint(x·1000) except within a hair of a half,
    where Python's exact ``round`` decides.
    """
    import numpy as np

    nf = len(CODED)
    # A slice at a time: bincount widens its input to int64 and the weights to float64.
    sums = np.zeros(nf * n, dtype=np.float64)
    for lo in range(0, len(term), CHUNK):
        part = slice(lo, lo + CHUNK)
        sums += np.bincount(fld[part].astype(np.int64) * n + doc[part], weights=tf[part], minlength=nf * n)
    lengths = sums.astype(np.int64).tolist()
    norms: list[float] = []
    for f in range(nf):
        field_lengths = lengths[f * n:(f + 1) * n]
        total = sum(field_lengths)
        if not total:  # no posting reads these
            norms += [1.0] * n
            continue
        mean = total / n
        norms += [K1 * (1 - B + B * (length / mean)) for length in field_lengths]
    norms_of = np.array(norms, dtype=np.float64)
    df = np.bincount(term, minlength=n_terms)
    # idf once per distinct document count, looked up by count (``np.unique`` with its
    # inverse sorts: ~0.2 ms a unit of set-up for a few thousand terms).
    counts = np.flatnonzero(np.bincount(df))
    idf = np.zeros(int(counts[-1]) + 1 if len(counts) else 0, dtype=np.float64)
    idf[counts] = [math.log(1 + abs((n - c + 0.5) / (c + 0.5))) for c in counts.tolist()]
    idf_of = idf[df]
    boost = np.array([b for _, _, b in CODED], dtype=np.float64)
    w = np.empty(len(term), dtype=np.int32)   # below 10 · 2.2 · ln(2n + 2) · 1000: far from 2**31
    for lo in range(0, len(term), CHUNK):  # a slice at a time: the float temporaries stay small
        part = slice(lo, lo + CHUNK)
        tf_ = tf[part].astype(np.float64)
        f = fld[part].astype(np.int64)   # the field may be a uint8: n · field must not wrap
        x = idf_of[term[part]] * ((K1 + 1) * tf_) / (norms_of[f * n + doc[part]] + tf_) * boost[f]
        y = x * 1000
        r = np.rint(y)
        close = np.nonzero(np.abs(np.abs(y - np.floor(y)) - 0.5) < 1e-6)[0]
        for i in close.tolist():
            r[i] = round(round(float(x[i]), 3) * 1000)
        w[part] = r
    return w


def _utf8(terms: list[str]):
    """The terms' UTF-8 bytes, one after the other, and each term's byte length."""
    import numpy as np

    joined = "".join(terms)
    # A term's byte length: the UTF-8 width of each of its characters, summed.
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    width = 1 + (codes >= 0x80).view(np.uint8) + (codes >= 0x800) + (codes >= 0x10000)
    chars = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    ends = np.concatenate(([0], np.cumsum(width, dtype=np.int64)))[np.cumsum(chars)]
    lengths = np.diff(ends, prepend=0)
    return np.frombuffer(joined.encode("utf-8"), dtype=np.uint8), lengths


def fnv1a_many(terms: list[str], utf8=None):
    """``fnv1a`` of every term, as a uint32 array: one numpy step per byte position."""
    import numpy as np

    data, lengths = utf8 if utf8 is not None else _utf8(terms)
    starts = _starts(lengths)
    h = np.full(len(lengths), 0x811C9DC5, dtype=np.uint32)
    prime = np.uint32(0x01000193)
    for j in range(int(lengths.max()) if len(lengths) else 0):
        at = np.flatnonzero(lengths > j)
        h[at] = (h[at] ^ data[starts[at] + j]) * prime
    return h


def _starts(lengths):
    import numpy as np

    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def _spans(starts, lengths):
    """Every index of the spans [start, start + length), span after span."""
    import numpy as np

    return np.repeat(starts - _starts(lengths), lengths) + np.arange(int(lengths.sum()))


def _digits(values):
    """The number of decimal digits of each non-negative int."""
    import numpy as np

    digits = np.ones(len(values), dtype=np.int64)
    k = 10
    while len(values) and int(values.max()) >= k:
        digits += values >= k
        k *= 10
    return digits


def term_shards(terms: list[str], term, fld, doc, w) -> tuple[int, dict[int, bytes]]:
    """The shard count and the term shards' bytes, exactly as ``dumps`` writes
    ``{term: {field code: [Δid, weight, …]}}`` (terms and codes need no JSON escaping:
    they are [0-9a-z_] and CJK), assembled in numpy from the postings (sorted by term,
    field, document), a few shards at a time."""
    import numpy as np

    if not len(term):
        return 1, {}
    utf8 = _utf8(terms)
    size = sum(map(len, terms)) * 3 + 8 * len(terms) + 6 * len(term)  # the JSON size estimate
    shards = max(1, math.ceil(size / SHARD_BYTES))
    shard_of = fnv1a_many(terms, utf8) % shards
    name_len = utf8[1] + 4                                   # '"' + term + '":{'
    names = np.frombuffer(('"' + '":{"'.join(terms) + '":{').encode("utf-8"), dtype=np.uint8)
    name_start = _starts(name_len)

    # Terms in file order (by shard, then term), cut into runs of whole shards of about CHUNK postings.
    term_start = np.searchsorted(term, np.arange(len(terms)))
    term_len = np.diff(np.append(term_start, len(term)))
    order = np.argsort(shard_of, kind="stable")
    shard_end = np.cumsum(np.bincount(shard_of, weights=term_len, minlength=shards).astype(np.int64))
    cuts = np.unique(np.searchsorted(shard_end, np.arange(CHUNK, int(shard_end[-1]), CHUNK)))
    bounds = np.searchsorted(shard_of[order], np.concatenate(([0], cuts + 1, [shards])))
    files: dict[int, bytes] = {}
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if lo < hi:
            at = _spans(term_start[order[lo:hi]], term_len[order[lo:hi]])
            files.update(_assemble(term[at], fld[at], doc[at], w[at], shard_of, name_len, name_start, names))
    return shards, files


def _assemble(term, fld, doc, w, shard_of, name_len, name_start, names) -> dict[int, bytes]:
    """The bytes of whole shards from their postings in file order: each number with the
    punctuation before and after it."""
    import numpy as np

    nf = len(CODED)
    # Where a run starts, by comparing neighbours (cheaper than ``np.diff`` and a test).
    group_first = tokenize._run_starts(term * nf + fld)
    group_last = np.append(group_first[1:], True)
    term_first = tokenize._run_starts(term)
    term_last = np.append(term_first[1:], True)
    shard = shard_of[term].astype(np.int64)
    shard_first = term_first & tokenize._run_starts(shard)
    shard_last = np.append(shard_first[1:], True)
    gaps = np.empty_like(doc)
    np.subtract(doc[1:], doc[:-1], out=gaps[1:])
    gaps[group_first] = doc[group_first]   # the first posting of every list, the first of all among them

    # Bytes around each posting's two numbers: before the Δid '{' or ',' + '"term":{'
    # (first of a term) and '"c":[' (first of a list); ',' between the numbers; after
    # the weight ',' or ']' + (',' or '}' after a term's last list) + ('}' after a shard's last term).
    before = group_first * 5 + term_first * (1 + name_len[term])
    after = 1 + group_last * (1 + shard_last)
    d_gap, d_w = _digits(gaps), _digits(w)
    length = before + d_gap + 1 + d_w + after
    end = np.cumsum(length)
    start = end - length
    out = np.empty(int(end[-1]), dtype=np.uint8)

    def put(positions, values):
        out[positions] = values

    # The numbers, right-aligned in their place, one digit place at a time, each place
    # only for the numbers that still have digits left. (uint32 division is the fast one.)
    # The digits are cast to bytes before they are put (a put that casts is ~2x slower), and
    # the numbers left are found by a boolean test (``flatnonzero`` of the ints is ~3x slower).
    big = max(int(gaps.max()), int(w.max())) >= 2 ** 32
    ten = np.uint64(10) if big else np.uint32(10)
    for values, last in ((gaps, start + before + d_gap - 1), (w, start + before + d_gap + d_w)):
        rest = values.astype(np.uint64 if big else np.uint32)
        while len(rest):
            down = rest // ten
            digit = (rest - down * ten).astype(np.uint8)
            digit += 48
            put(last, digit)
            more = np.flatnonzero(down != 0)
            last, rest = last[more] - 1, down[more]
    put(start + before + d_gap, ord(","))
    tail = start + before + d_gap + 1 + d_w
    put(tail, np.where(group_last, np.uint8(ord("]")), np.uint8(ord(","))))
    sel = np.flatnonzero(group_last)
    put(tail[sel] + 1, np.where(term_last[sel], ord("}"), ord(",")))
    sel = np.flatnonzero(shard_last)
    put(tail[sel] + 2, ord("}"))
    # '"c":[' before each list
    sel = np.flatnonzero(group_first)
    lead = start[sel] + term_first[sel] * (1 + name_len[term[sel]])
    codes = np.frombuffer("".join(code for _, code, _ in CODED).encode(), dtype=np.uint8)
    for k, byte in enumerate(b'"?":['):
        put(lead + k, codes[fld[sel]] if byte == ord("?") else byte)
    # '{' or ',' then '"term":{' before each term
    sel = np.flatnonzero(term_first)
    put(start[sel], np.where(shard_first[sel], np.uint8(ord("{")), np.uint8(ord(","))))
    t = term[sel]
    put(_spans(start[sel] + 1, name_len[t]), names[_spans(name_start[t], name_len[t])])

    first, last = np.flatnonzero(shard_first), np.flatnonzero(shard_last)
    return {k: out[start[a]:end[b]].tobytes() for k, a, b in zip(shard[first].tolist(), first.tolist(), last.tolist())}


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


def _term_files(docs: list[Doc], t2s: dict[str, str]) -> tuple[int, dict[int, bytes]]:
    """The term shards of ordered documents. A function of its own so that the postings
    (tens of MB in a unit of thousands of documents) are freed before the document files
    are made."""
    terms, term, fld, doc, tf = postings(docs, t2s)
    w = weights(len(docs), len(terms), term, fld, doc, tf)
    del tf
    return term_shards(terms, term, fld, doc, w)


def build(docs: list[Doc], t2s: dict[str, str], labels: dict[str, str]) -> dict[str, bytes]:
    """Every file of the index, by path relative to the site root."""
    docs = order(docs)
    shards, by_shard = _term_files(docs, t2s)
    files: dict[str, bytes] = {}
    for k, content in by_shard.items():
        files[f"search/t/{k}.json"] = content
    for k in range(0, len(docs), DOCS_PER_SHARD):
        files[f"search/d/{k // DOCS_PER_SHARD}.json"] = dumps([record(d) for d in docs[k:k + DOCS_PER_SHARD]])
    files["search/facets.json"] = dumps(facets(docs))
    digest = hashlib.sha1()
    for path in sorted(files):   # the path, a NUL, the bytes: fed in turn (the same digest, no copy of the bytes)
        digest.update(path.encode() + b"\0")
        digest.update(files[path])
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
