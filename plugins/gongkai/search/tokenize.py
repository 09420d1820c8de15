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

import operator
import re
from collections import Counter
from collections.abc import Mapping

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
