"""The search tokenizer (index time). search.js holds its twin for query time; both
are tested against the one case table ``tokenize_cases.json``.

Text is first folded character by character: full-width ASCII to ASCII, A–Z to
a–z, traditional to simplified (the OpenCC character map of zhmap.py). It then
splits into *runs* of *units*: a unit is one CJK character or one word of
[0-9a-z]; inside a run, units either touch (``42号``) or are joined by punctuation
that belongs inside 文号 and 索引号 (``〔2020〕``, ``2020-00042``,
``014046317/2020-04966``). Anything else (spaces, ，。、 quotes …) ends a run.

Index terms of a run: every unit and every pair of neighbouring units (``ab``
when they touch, ``a_b`` across a joiner, so ``〔2020〕42`` and ``[2020]42``
give the same terms); a number touching a CJK unit pairs its tails too, so
``42号`` finds ``〔2020〕142号`` as a substring search would. Query terms of a run: its pairs, or its single unit when
the run has one. A run's pairs are all present in a document that contains the
run, so AND over query terms finds every document that contains the query as
typed (except inside a longer Latin word, or a number not followed by CJK:
``gov`` does not find ``government``, ``42`` does not find ``142``).

No trimmer, stop-word filter or stemmer runs: lunr's would empty CJK terms.
"""
from __future__ import annotations

import bisect
import functools
import operator
import re
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

# Code point ranges of CJK ideographs (Unified, Ext A–H, Compatibility) and 〇.
CJK_RANGES = ((0x3007, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF))
# Punctuation that may sit inside a 文号 / 索引号 without ending the run.
JOINERS = "-/._〔〕[]()（）【】〈〉<>‐–—"
MAX_WORD = 32        # a Latin/digit unit longer than this is cut (hostile input)
MAX_QUERY = 200      # characters of a query that are read

_CJK_CLASS = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in CJK_RANGES)
_UNIT = f"(?:[0-9a-z]+|[{_CJK_CLASS}])"
_JOIN = "[" + re.escape(JOINERS) + "]+"
_RUN = re.compile(f"{_UNIT}(?:(?:{_JOIN})?{_UNIT})*")
_PART = re.compile(f"({_UNIT})|{_JOIN}")
_ALL_CJK = re.compile(f"[{_CJK_CLASS}]+")
_NON_CJK = re.compile(f"[^{_CJK_CLASS}]+")
_PIECE = re.compile("[0-9a-z" + re.escape(JOINERS) + "]+")
_CJK_CHAR = re.compile(f"[{_CJK_CLASS}]")


def fold_table(t2s: Mapping[str, str] | None = None) -> dict[int, str]:
    """The per-character fold as a ``str.translate`` table."""
    table: dict[int, str] = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
    table[0x3000] = " "
    for src, dst in (t2s or {}).items():
        table[ord(src)] = dst
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = chr(c + 32)
    for c in range(0xFF21, 0xFF3B):  # full-width A–Z folds to a–z in one step
        table[c] = chr(c - 0xFEE0 + 32)
    return table


def fold(text: str, table: dict[int, str]) -> str:
    return text.translate(table)


def runs(folded: str) -> list[list[tuple[str, bool]]]:
    """Runs of units; each unit with whether a joiner stands before it."""
    out = []
    for m in _RUN.finditer(folded):
        run = m.group()
        if _ALL_CJK.fullmatch(run):
            out.append([(c, False) for c in run])
            continue
        units: list[tuple[str, bool]] = []
        joined = False
        for part in _PART.finditer(run):
            if part.group(1) is None:
                joined = True
            else:
                units.append((part.group(1)[:MAX_WORD], joined))
                joined = False
        out.append(units)
    return out


def _pair(a: str, b: tuple[str, bool]) -> str:
    return a + ("_" if b[1] else "") + b[0]


def _pairs(a: str, b: tuple[str, bool]) -> list[str]:
    """Index terms of two neighbouring units. A number touching a CJK unit also pairs each
    of its tails with it (``114号`` gives ``14号`` and ``4号``): a 文号 serial is typed alone."""
    out = [_pair(a, b)]
    if not b[1] and a.isdigit() and not b[0].isascii():
        out += [a[i:] + b[0] for i in range(1, len(a))]
    return out


def index_terms(folded: str) -> list[str]:
    """Every unit and every neighbouring pair, in text order (duplicates kept: they are tf)."""
    out: list[str] = []
    for m in _RUN.finditer(folded):
        run = m.group()
        if _ALL_CJK.fullmatch(run):  # the common case, kept fast
            n = len(run)
            for i in range(n - 1):
                out.append(run[i])
                out.append(run[i:i + 2])
            out.append(run[n - 1])
            continue
        units = runs(run)[0]
        for i, unit in enumerate(units):
            out.append(unit[0])
            if i + 1 < len(units):
                out += _pairs(unit[0], units[i + 1])
    return out


def term_counts(folded: str) -> Counter:
    """``Counter(index_terms(folded))``, computed fast: this runs over every page's text.

    CJK units and touching CJK pairs are counted over the whole text at C speed;
    the terms with a Latin/digit word or a joiner come from the few stretches of
    [0-9a-z] and joiners, with the CJK character on each side.
    """
    cjk = _NON_CJK.sub(" ", folded)
    counts = Counter(cjk)
    counts.pop(" ", None)
    pairs = Counter(map(operator.add, cjk, cjk[1:]))
    dict.update(counts, {k: v for k, v in pairs.items() if " " not in k})  # keys of one and two characters
    other: Counter = Counter()
    for m in _PIECE.finditer(folded):
        start, end = m.span()
        units: list[tuple[str, bool]] = []
        if start and _CJK_CHAR.match(folded, start - 1):
            units.append((folded[start - 1], False))
        joined = False
        for part in _PART.finditer(m.group()):
            if part.group(1) is None:
                joined = True
            else:
                units.append((part.group(1)[:MAX_WORD], joined))
                other[units[-1][0]] += 1
                joined = False
        if end < len(folded) and _CJK_CHAR.match(folded, end):
            units.append((folded[end], joined))
        for i in range(len(units) - 1):
            other.update(_pairs(units[i][0], units[i + 1]))
    dict.update(counts, other)  # every key here has a Latin/digit word or '_'
    return counts


def query_terms(folded: str) -> list[str]:
    """The terms a query requires: pairs of each run (or its one unit), first occurrence order."""
    out: list[str] = []
    for units in runs(folded[:MAX_QUERY]):
        terms = [units[0][0]] if len(units) == 1 else [
            _pair(units[i][0], units[i + 1]) for i in range(len(units) - 1)]
        for term in terms:
            if term not in out:
                out.append(term)
    return out


def normalize(folded: str) -> str:
    """Runs as units (``_`` across joiners), separated by one space: for phrase checks."""
    return " ".join("".join(("_" if j else "") + u for u, j in units) for units in runs(folded))


# --- Many texts at once (index time) ---------------------------------------------
# term_counts builds a Counter per text: at a unit's scale (millions of characters)
# the Python objects are the cost. count_terms gives the same counts for a list of
# texts as arrays: the CJK part (nearly all the text) is counted in numpy, and only
# the rare stretches of [0-9a-z] and joiners in Python, each distinct one once.

_FOLD_SPAN = CJK_RANGES[-1][1] + 1   # every code point a fold table moves lies below this
BLOCK = 1 << 19                      # characters counted at a time (whole texts): bounds the memory
#                                      (a 20k/100 unit, ~300k characters, is one block)


@functools.lru_cache(maxsize=4)  # a pure function of the (pinned) map: once per process, not per unit
def _folding(items: tuple[tuple[str, str], ...]):
    import numpy as np

    table = fold_table(dict(items))
    if any(k >= _FOLD_SPAN or len(v) != 1 for k, v in table.items()):
        return table, None  # a fold that changes lengths: count_terms folds text by text
    lut = np.arange(_FOLD_SPAN, dtype=np.uint32)
    lut[np.fromiter(table.keys(), dtype=np.int64)] = np.fromiter(map(ord, table.values()), dtype=np.uint32)
    lut.flags.writeable = False
    return table, lut


class _Same:
    """A map as a cache key by its identity (and size): every unit's index asks ``folding``
    with the same map (zhmap's, one per process), and making and hashing the tuple of its
    ~5,000 entries to find it in ``_folding``'s cache cost ~0.8 ms a unit. The cache holds
    the key, so the map lives and its id is not reused while the entry does; a map is not
    changed once folded with (zhmap's never is)."""

    __slots__ = ("map", "size")

    def __init__(self, mapping: Mapping[str, str]):
        self.map, self.size = mapping, len(mapping)

    def __hash__(self) -> int:
        return hash((id(self.map), self.size))

    def __eq__(self, other) -> bool:
        return isinstance(other, _Same) and other.map is self.map and other.size == self.size


@functools.lru_cache(maxsize=4)
def _folding_of(key: _Same):
    return _folding(tuple(key.map.items()))


def folding(t2s: Mapping[str, str] | None = None):
    """``(fold_table(t2s), lookup)``: the table, and the same fold as an array indexed by
    code point (None when a character folds to more than one)."""
    return _folding_of(_Same(t2s if t2s is not None else _NO_MAP))


_NO_MAP: Mapping[str, str] = MappingProxyType({})   # one object: ``folding()`` meets one cache entry


_WORD_RANGES = tuple((ord(a), ord(b)) for a, b in ("09", "az")) + tuple((ord(c), ord(c)) for c in JOINERS)


_CJK, _WORD = 1, 2


@functools.lru_cache(maxsize=1)
def _KINDS():  # noqa: N802 - a constant, made on first use (numpy is imported lazily)
    """Code point -> _CJK, _WORD ([0-9a-z] and joiners) or 0, for every code point below
    _FOLD_SPAN; the last entry (0) stands for every code point above."""
    import numpy as np

    table = np.zeros(_FOLD_SPAN + 1, dtype=np.uint8)
    for lo, hi in CJK_RANGES:
        table[lo:hi + 1] = _CJK
    for lo, hi in _WORD_RANGES:
        table[lo:hi + 1] = _WORD
    table.flags.writeable = False
    return table


def _piece_terms(stretch: str) -> list[str]:
    """The terms term_counts takes from one stretch of [0-9a-z] and joiners, given with
    the CJK character on each side when there is one: its words, and the pairs."""
    left = stretch[0] if _CJK_CHAR.match(stretch) else ""
    right = stretch[-1] if len(stretch) > len(left) and _CJK_CHAR.match(stretch, len(stretch) - 1) else ""
    units: list[tuple[str, bool]] = [(left, False)] if left else []
    out: list[str] = []
    joined = False
    for part in _PART.finditer(stretch, len(left), len(stretch) - len(right)):
        if part.group(1) is None:
            joined = True
        else:
            units.append((part.group(1)[:MAX_WORD], joined))
            out.append(units[-1][0])
            joined = False
    if right:
        units.append((right, joined))
    for i in range(len(units) - 1):
        out += _pairs(units[i][0], units[i + 1])
    return out


def _runs_of(mask):
    """Start and end of each run of True."""
    import numpy as np

    # Edges by comparing neighbours of the mask padded with False: ``np.diff`` with a
    # ``prepend`` widens the bytes to int64 first (~10x the time on a unit's text).
    padded = np.zeros(len(mask) + 2, dtype=bool)
    padded[1:-1] = mask
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2]


def _run_starts(sorted_keys):
    """Whether each key (non-negative, sorted) differs from the one before: a comparison,
    cheaper than the difference it stands for."""
    import numpy as np

    starts = np.empty(len(sorted_keys), dtype=bool)
    if len(sorted_keys):
        starts[0] = sorted_keys[0] != -1
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts[1:])
    return starts


def _first_of_runs(sorted_keys):
    import numpy as np

    return np.flatnonzero(_run_starts(sorted_keys))


def _sorted(keys, bound: int):
    """``keys`` (int64, each below ``bound``) sorted. When every key fits in 32 bits the sort
    runs on a uint32 copy: the same order (the values are equal), ~40 % less time than
    sorting int64 (the largest single cost of a unit's search index)."""
    import numpy as np

    if bound <= 1 << 32:
        small = keys.astype(np.uint32)
        small.sort()
        return small.astype(np.int64)
    keys.sort()
    return keys


def _stable_order(values, bound: int):
    """The permutation that sorts ``values`` (ints in [0, bound)) and keeps equal values in
    their order. numpy's stable sort of 16-bit integers is a radix sort, several times faster
    than its sorts of wider ones: values below 2**32 are ordered by their low 16 bits, then
    by their high 16 bits (least significant digit first)."""
    import numpy as np

    if bound <= 1 << 16:
        return np.argsort(values.astype(np.uint16), kind="stable")
    if bound <= 1 << 32:
        small = values.astype(np.uint32)
        order = np.argsort(small.astype(np.uint16), kind="stable")   # the low 16 bits
        return order[np.argsort((small[order] >> 16).astype(np.uint16), kind="stable")]
    return np.argsort(values, kind="stable")


def _cjk_keys(ids, text_of, touching, width: int, n: int):
    """The distinct (term, text) keys of a block's CJK characters and touching pairs, sorted,
    and how often each occurs: a character a is the key a·width·n + text, the pair ab
    (b right after a) (a·width + b + 1)·n + text, with a, b < width - 1 (``ids``: each CJK
    character's id, ``text_of``: its text, nondecreasing; ``touching``: i where i + 1 is
    the next character of the text).

    The characters are counted in place (``bincount`` over id × the block's texts: no sort)
    when that array is not many times their number, and only the pairs are ordered (by a
    radix sort of their codes, ``_stable_order``: the texts are in order already); the two
    sorted lists then interleave by their first character: a character's keys come after
    every pair of a smaller first character and before its own pairs."""
    import numpy as np

    v = width - 1
    stride = width * n                       # keys of one first character lie in [a·stride, (a+1)·stride)
    t0 = int(text_of[0]) if len(text_of) else 0
    span = int(text_of[-1]) - t0 + 1 if len(text_of) else 0
    if v * span <= max(4 * len(ids), 1 << 16):
        counts = np.bincount(ids * span + (text_of - t0), minlength=v * span)
        where = np.flatnonzero(counts)
        one_tf = counts[where]
        first_char, text = np.divmod(where, span)
        one = first_char * stride + (text + t0)
    else:
        order = _stable_order(ids, v)
        one = ids * stride
        one += text_of
        one = one[order]
        del order
        runs = _first_of_runs(one)
        one_tf = np.diff(np.append(runs, len(one)))
        one = one[runs]
        first_char = one // stride
    # A pair's code is below width²; ordered stably by code, its keys are in (code, text) order.
    pair = ids[touching] * width + ids[touching + 1] + 1
    order = _stable_order(pair, width * width)
    two = pair * n
    two += text_of[touching]
    two = two[order]   # one gather in the sorted order (random access): the keys whole
    del pair, order
    runs = _first_of_runs(two)
    two_tf = np.diff(np.append(runs, len(two)))
    two = two[runs]
    two_first = two // stride
    # Where each key goes among both: its rank in its own list, plus the other list's keys before it.
    pairs_before = np.zeros(v + 1, dtype=np.int64)
    np.cumsum(np.bincount(two_first, minlength=v), out=pairs_before[1:])
    chars_upto = np.cumsum(np.bincount(first_char, minlength=v))
    at_one = np.arange(len(one)) + pairs_before[first_char]
    at_two = np.arange(len(two)) + chars_upto[two_first] if len(two) else np.zeros(0, dtype=np.int64)
    keys = np.empty(len(one) + len(two), dtype=np.int64)
    tf = np.empty(len(keys), dtype=np.int64)
    keys[at_one], keys[at_two] = one, two
    tf[at_one], tf[at_two] = one_tf, two_tf
    return keys, tf


# A CJK term as one integer in code point space, ordered as Python orders the strings: the
# character a is a·_CP, the pair ab a·_CP + b + 1 (every code point is below _CP - 1).
_CP = 0x110001


def count_terms(texts: list[str], t2s: Mapping[str, str] | None = None):
    """``term_counts(fold(text, fold_table(t2s)))`` for every text, as postings.

    Returns ``(terms, term, text, tf)``: the distinct terms sorted as Python sorts
    strings, and three equal-length int32 arrays, one row per (term, text) with the
    term in the text, sorted by term then text; ``tf`` is the count.

    The texts are counted a block of whole texts (about BLOCK characters) at a time: a
    block's per-character arrays are several times its text, and a province's large unit
    holds millions of characters. Each block keeps only its postings (term numbered within
    the block, CJK terms as integers, not strings); they are then numbered among all terms
    and put in place, block after block: a term's postings of one block come after those
    of the blocks before it, so no sort of the whole unit's postings is needed.
    """
    import numpy as np

    table, lut = folding(t2s)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    total = int(starts[-1] + lengths[-1]) if len(texts) else 0
    # A block starts at the text that holds each multiple of BLOCK characters.
    at = np.searchsorted(starts, np.arange(0, total, BLOCK), side="right") - 1
    firsts = at[_run_starts(at)].tolist()   # sorted: the distinct ones by comparing neighbours
    bounds = list(zip(firsts, firsts[1:] + [len(texts)])) if len(texts) else []
    parts = [(lo, _count_block(texts[lo:hi], table, lut)) for lo, hi in bounds]
    return _merge_blocks(parts)


def _count_block(texts: list[str], table, lut):
    """The postings of a few texts: ``(codes, term, text, tf)`` of their CJK terms (each
    term's ``_CP`` integer, sorted; postings sorted by term then text, with ``term`` an index
    into ``codes``), then ``(terms, term, text, tf)`` of the others (terms sorted strings)."""
    import numpy as np

    if lut is None:
        texts = [t.translate(table) for t in texts]
    # One string, texts separated by a newline: it ends every run, so no term spans two texts.
    big = "\n".join(texts)
    codes = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Nearly every text has no code point at or above _FOLD_SPAN: one lookup then folds it.
    low = not len(codes) or int(codes.max()) < _FOLD_SPAN
    if lut is not None:
        codes = lut[codes] if low else np.where(codes < _FOLD_SPAN, lut[np.minimum(codes, _FOLD_SPAN - 1)], codes)
        big = codes.tobytes().decode("utf-32-le", "surrogatepass")
    kind = _KINDS()[codes if low else np.minimum(codes, _FOLD_SPAN)]   # one lookup for both masks
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    del lengths
    n = max(1, len(texts))

    # CJK: every character and every two neighbours, as codes in string order over the
    # alphabet of the texts: a character's code is a·(V+1), the pair ab's a·(V+1) + b + 1.
    cjk = kind == _CJK
    cjk_at = np.flatnonzero(cjk)
    cjk_codes = codes[cjk_at]
    del codes
    # The alphabet and each character's id in it, over the span of code points the texts use
    # (a few thousand wide, not the _FOLD_SPAN of every CJK code point: ~0.3 ms a unit).
    lowest = int(cjk_codes.min()) if len(cjk_codes) else 0
    present = np.zeros(int(cjk_codes.max()) + 1 - lowest if len(cjk_codes) else 0, dtype=bool)
    present[cjk_codes - lowest] = True
    alphabet = np.flatnonzero(present) + lowest
    dense = np.cumsum(present, dtype=np.int64) - 1
    width = len(alphabet) + 1
    ids = dense[cjk_codes - lowest]
    del present, dense, cjk_codes
    # The text of each CJK character: texts in order, each with as many as it has.
    first_cjk = np.searchsorted(cjk_at, starts)
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(np.append(first_cjk, len(cjk_at))))
    del first_cjk
    touching = np.flatnonzero(cjk_at[1:] == cjk_at[:-1] + 1)
    del cjk_at
    keys, tf_cjk = _cjk_keys(ids, text_of, touching, width, n)
    del ids, text_of, touching
    code_cjk, text_cjk = np.divmod(keys, n)
    del keys
    starts_term = _run_starts(code_cjk)
    term_cjk = np.cumsum(starts_term, dtype=np.int32) - 1
    # Each term's integer in code point space (the same order: the alphabet is sorted).
    a, r = np.divmod(code_cjk[starts_term], width)
    del code_cjk, starts_term
    cjk_part = (alphabet[a] * _CP + np.where(r > 0, alphabet[np.maximum(r - 1, 0)] + 1, 0),
                term_cjk, text_cjk.astype(np.int32), tf_cjk.astype(np.int32))
    del a, r, term_cjk, text_cjk, tf_cjk

    # The rest: stretches of [0-9a-z] and joiners with the CJK character on each side.
    lo, hi = _runs_of(kind == _WORD)
    del kind
    if not len(lo):
        empty = np.zeros(0, dtype=np.int32)
        return cjk_part, ([], empty, empty, empty)
    lo = lo - (lo > 0) * cjk[np.maximum(lo - 1, 0)]
    hi = hi + cjk[np.minimum(hi, len(cjk) - 1)] * (hi < len(cjk))
    del cjk
    stretch_id: dict[str, int] = {}
    occurrences = np.fromiter((stretch_id.setdefault(big[i:j], len(stretch_id))
                               for i, j in zip(lo.tolist(), hi.tolist())), dtype=np.int64, count=len(lo))
    del big
    where = np.searchsorted(starts, lo, side="right") - 1   # the text of each stretch
    found = [_piece_terms(stretch) for stretch in stretch_id]
    del stretch_id
    latin_terms = sorted({t for terms in found for t in terms})
    latin_id = {t: i for i, t in enumerate(latin_terms)}
    sizes = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
    flat = np.fromiter((latin_id[t] for terms in found for t in terms), dtype=np.int64, count=int(sizes.sum()))
    del found, latin_id
    offsets = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    per = sizes[occurrences]
    at = np.repeat(offsets[occurrences] - np.cumsum(per) + per, per) + np.arange(int(per.sum()))
    keys = _sorted(flat[at] * n + np.repeat(where, per), max(1, len(latin_terms)) * n)
    first = _first_of_runs(keys)
    tf_lat = np.diff(np.append(first, len(keys)))
    term_lat, text_lat = np.divmod(keys[first], n)
    return cjk_part, (latin_terms, term_lat.astype(np.int32), text_lat.astype(np.int32), tf_lat.astype(np.int32))


def _merge_blocks(parts):
    """``count_terms``' answer from its blocks' postings (``(first text, _count_block(…))``
    in text order): the terms of all blocks numbered in string order, and each block's
    postings put where they belong among all."""
    import numpy as np

    # The CJK terms (integers in string order) and the others (strings) of every block.
    if len(parts) == 1:
        codes = parts[0][1][0][0]   # one block: its terms, sorted and distinct already
    else:
        codes = np.concatenate([cjk[0] for _, (cjk, _) in parts]) if parts else np.zeros(0, dtype=np.int64)
        codes.sort()
        codes = codes[_run_starts(codes)]
    latin_terms = sorted(set().union(*(latin[0] for _, (_, latin) in parts)))
    # The CJK terms' text, built as one string: each term's one or two characters, then a newline.
    a, r = np.divmod(codes, _CP)
    spelled = np.zeros((len(a), 3), dtype=np.uint32)
    spelled[:, 0] = a
    spelled[:, 1] = np.maximum(r - 1, 0)
    spelled[:, 2] = 10
    keep = np.ones(spelled.shape, dtype=bool)
    keep[:, 1] = r > 0
    cjk_terms = spelled[keep].tobytes().decode("utf-32-le").split("\n")[:-1]
    del a, r, spelled, keep
    # Both term lists are sorted and disjoint (every other term has a Latin word or '_'):
    # each term's place among both.
    cut = np.array([bisect.bisect_left(cjk_terms, t) for t in latin_terms], dtype=np.int64)
    rank_cjk = np.arange(len(cjk_terms)) + np.searchsorted(cut, np.arange(len(cjk_terms)), side="right")
    rank_cjk = rank_cjk.astype(np.int32)
    rank_lat = (cut + np.arange(len(latin_terms))).astype(np.int32)
    merged = sorted(cjk_terms + latin_terms) if latin_terms else cjk_terms
    del cjk_terms
    latin_id = {t: i for i, t in enumerate(latin_terms)}

    # Each block's postings with their term's number among all (in place of the block's own).
    pieces = []
    for first_text, (cjk, latin) in parts:
        if len(cjk[1]):
            rank = rank_cjk if cjk[0] is codes else rank_cjk[np.searchsorted(codes, cjk[0])]
            pieces.append((rank[cjk[1]], cjk[2], cjk[3], first_text))
        if len(latin[1]):
            ids = np.fromiter((latin_id[t] for t in latin[0]), dtype=np.int64, count=len(latin[0]))
            pieces.append((rank_lat[ids][latin[1]], latin[2], latin[3], first_text))
    parts.clear()   # the caller's list: each block's arrays go as their piece is put
    df = np.zeros(len(merged), dtype=np.int64)
    for term, _, _, _ in pieces:
        df += np.bincount(term, minlength=len(merged))
    total = int(df.sum())
    text_out = np.empty(total, dtype=np.int32)
    tf_out = np.empty(total, dtype=np.int32)
    # Where each term's next posting goes: its postings of earlier blocks come first.
    fill = np.zeros(len(merged), dtype=np.int64)
    np.cumsum(df[:-1], out=fill[1:])
    pieces.reverse()
    while pieces:
        term, text, tf, first_text = pieces.pop()
        heads = _first_of_runs(term)
        runs = np.diff(np.append(heads, len(term)))
        head_terms = term[heads]
        at = np.repeat(fill[head_terms] - heads, runs)
        at += np.arange(len(term))
        fill[head_terms] += runs
        text_out[at] = text + first_text if first_text else text
        tf_out[at] = tf
        del term, text, tf, at   # this block's arrays go before the next block's are put
    # Each term's postings are df of them in a row: made once the blocks' arrays are gone.
    return merged, np.repeat(np.arange(len(merged), dtype=np.int32), df), text_out, tf_out
