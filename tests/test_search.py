"""Search without a browser: the tokenizer's case table, lunr-equal weights, the index
layout and its determinism, and what a page contributes to the index."""
from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from lunr.builder import Builder

from conftest import ROOT
from gongkai.search import html_text, index, tokenize, zhmap

CASES = json.loads((ROOT / "plugins/gongkai/search/tokenize_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def table():
    return tokenize.fold_table(zhmap.t2s())


@pytest.mark.parametrize("case", CASES, ids=[c["input"][:12] or "empty" for c in CASES])
def test_tokenizer_case_table(case, table):
    folded = tokenize.fold(case["input"], table)
    assert folded == case["folded"]
    assert tokenize.index_terms(folded) == case["index"]
    assert tokenize.query_terms(folded) == case["query"]
    assert tokenize.normalize(folded) == case["normalized"]
    assert tokenize.term_counts(folded) == Counter(case["index"])


def test_fast_term_counts_equal_the_reference_tokenizer():
    rng = random.Random(7)
    alphabet = "政务公开苏号税ab12 -/〔〕()（）,，。_x\n"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert tokenize.term_counts(text) == Counter(tokenize.index_terms(text)), text


def test_zhmap_folds_both_ways_and_is_byte_stable(tmp_path):
    maps = zhmap.maps()
    assert maps["t2s"]["開"] == "开" and maps["t2s"]["號"] == "号" and maps["s2t"]["开"] == "開"
    assert all(len(k) == 1 and len(v) == 1 for m in maps.values() for k, v in m.items())
    assert all(v not in maps["t2s"] for v in maps["t2s"].values())  # folding twice = folding once
    first = zhmap.write(tmp_path / "a").read_bytes()
    assert first == zhmap.write(tmp_path / "b").read_bytes()
    assert json.loads(first) == maps


def test_search_assets_are_read_once_and_written_into_the_theme_folder_named(tmp_path, monkeypatch):
    """The portal's theme folder (whatever THEME_STATIC_DIR names) gets the search page's
    assets and the 简繁 map (beside tools.js, which fetches it from its own folder), byte
    for byte; the assets are read from the package once per process. A unit's call writes
    its index files only: its pages read the portal's theme."""
    import gongkai.search as search

    search.write_files(tmp_path / "p1", {"search/index.json": b"{}"}, "theme")
    monkeypatch.setattr(search, "STATIC", tmp_path / "gone")   # the package's folder is not read again
    search.write_files(tmp_path / "p2", {"search/t/0.json": b"[]"}, "static")
    real = sorted(p for p in (ROOT / "plugins" / "gongkai" / "search" / "static").iterdir() if p.is_file())
    assert real
    for root, static in ((tmp_path / "p1", "theme"), (tmp_path / "p2", "static")):
        assert sorted(p.name for p in (root / static / "search").iterdir()) == [p.name for p in real]
        assert all((root / static / "search" / p.name).read_bytes() == p.read_bytes() for p in real)
        assert (root / static / "js" / "zhmap.json").read_bytes() == zhmap.data()
    assert (tmp_path / "p1" / zhmap.PATH).is_file() and not (tmp_path / "p2" / zhmap.PATH).exists()
    assert (tmp_path / "p1" / "search" / "index.json").read_bytes() == b"{}"
    assert (tmp_path / "p2" / "search" / "t" / "0.json").read_bytes() == b"[]"
    search.write_files(tmp_path / "unit", {"search/index.json": b"{}"})
    assert sorted(str(p.relative_to(tmp_path / "unit")) for p in (tmp_path / "unit").rglob("*")) == \
        ["search", "search/index.json"]


def test_zhmap_is_kept_in_the_build_cache_and_a_bad_copy_is_computed_again(tmp_path, monkeypatch):
    from gongkai.incremental import Cache
    want = zhmap.maps()
    store = Cache.open(tmp_path / "output")
    monkeypatch.setattr(zhmap, "_MAPS", [])
    zhmap.prime(store)                                   # nothing kept yet: computed and kept
    assert zhmap.maps() == want and store.load_json(zhmap.CACHED)["maps"] == want
    monkeypatch.setattr(zhmap, "_MAPS", [])
    monkeypatch.setattr(zhmap, "_compute", lambda: pytest.fail("computed although the cache holds the maps"))
    zhmap.prime(store)
    assert zhmap.maps() == want
    for bad in ({"key": "another code", "maps": {"t2s": {"開": "X"}, "s2t": {}}},
                {"key": store.load_json(zhmap.CACHED)["key"], "maps": {"t2s": {"開": "XY"}, "s2t": {}}}):
        store.save_json(zhmap.CACHED, bad)
        monkeypatch.setattr(zhmap, "_MAPS", [])
        monkeypatch.setattr(zhmap, "_compute", lambda: want)
        zhmap.prime(Cache.open(tmp_path / "output"))
        assert zhmap.maps() == want and store.load_json(zhmap.CACHED)["maps"] == want

def test_page_text_joins_inline_markup_and_splits_blocks():
    assert html_text("<p>推进<strong>政务</strong>公开</p><p>第二段</p>") == "推进政务公开\n第二段"
    assert html_text("<table><tr><td>12</td><td>34</td></tr></table>") == "12\n34"
    assert html_text("<p>a &amp; b</p><script>secret()</script>") == "a & b"


@pytest.mark.parametrize("markup", [
    "<p>推进<strong>政务</strong>公开</p><P>第二段</P>", "<p>a &amp; b &lt;c&gt; &#x41;&nbsp;</p>",
    '<a href="x>y" title=\'"\'>链接</a><br/>下一行<br>再一行', "<img alt='>' src=x>文字<hr />",
    "<p>a < b</p>", "<!-- note --><p>注释</p>", "<p>x</p><STYLE>p{}</STYLE><script>s()</script>y",
    "<p>未闭合<a title=\"oops>文字</p>", "</ p>奇怪的结束标签", "<?pi?><!DOCTYPE html>文", "&amp", "",
    "<td>1</td>\n<td>2</td>\u3000<li> 空白 </li>"])
def test_page_text_fast_path_equals_the_html_parser(markup):
    from gongkai.search import _Text

    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    assert html_text(markup) == "\n".join(line.strip() for line in lines if line.strip())


def docs_fixture() -> list[index.Doc]:
    return [
        index.Doc(url="art/a.html", title="关于推进政务公开的通知", published="2025-03-01", state="current",
                  column="qtwj", issuer="示例县人民政府", doc_number="示政发〔2025〕1号",
                  index_no="11990102MB0000003X/2025-00001", keywords=["政务公开"], topic="综合政务",
                  body="全面推进政务公开标准化规范化。", questions=[("什么是政务公开？", "q-1")]),
        index.Doc(url="art/b.html", title="政务公开工作要点", published="2026-01-05", state="current",
                  column="qtwj", issuer="示例县人民政府办公室", body="政务公开，公开政务。"),
        index.Doc(url="art/c.html", title="旧的政务公开办法", published="2020-01-05", state="expired",
                  column="gfxwj", issuer="示例县人民政府", body="本办法已失效。"),
        index.Doc(url="art/d.html", title="名单公示", published="2026-02-01", state="closed", column="gsgg",
                  issuer="示例县人民政府"),
    ]


def term_freqs(docs: list[index.Doc], table) -> list[dict[str, Counter]]:
    """The reference: per document, per field, the term counts of the one-text tokenizer."""
    return [{name: tokenize.term_counts(tokenize.fold(d.field_text(name), table)) for name, _, _ in index.FIELDS}
            for d in docs]


@pytest.mark.parametrize("chunk", [1 << 18, 3])
def test_weights_equal_lunr_py_field_vectors(table, chunk, monkeypatch):
    monkeypatch.setattr(index, "CHUNK", chunk)
    docs = index.order(docs_fixture())
    tfs = term_freqs(docs, table)
    builder = Builder()
    builder.pipeline.reset()
    builder.search_pipeline.reset()
    builder.ref("id")
    for name, _, boost in index.FIELDS:
        builder.field(name, boost=boost)
    for doc_id, doc in enumerate(docs):
        builder.add({"id": str(doc_id), **{name: list(tfs[doc_id][name].elements()) for name, _, _ in index.FIELDS}})
    idx = builder.build()
    expected = {}
    for name, code, _ in index.FIELDS:
        for doc_id in range(len(docs)):
            vector = idx.field_vectors[f"{name}/{doc_id}"]
            terms = {posting["_index"]: term for term, posting in idx.inverted_index.items()}
            for i in range(0, len(vector.elements), 2):
                expected[(terms[vector.elements[i]], code, doc_id)] = round(vector.elements[i + 1] * 1000)
    terms, term, fld, doc, tf = index.postings(docs, zhmap.t2s())
    w = index.weights(len(docs), len(terms), term, fld, doc, tf)
    got = {(terms[t], index.CODED[f][1], d): x for t, f, d, x in zip(term.tolist(), fld.tolist(), doc.tolist(), w.tolist())}
    assert got == expected
    # and the shards hold exactly these, as [Δid, weight, …] per term and field
    shards = {}
    for data in index.term_shards(terms, term, fld, doc, w)[1].values():
        shards.update(json.loads(data))
    from_files = {}
    for t, fields in shards.items():
        for code, flat in fields.items():
            doc_id = 0
            for i in range(0, len(flat), 2):
                doc_id += flat[i]
                from_files[(t, code, doc_id)] = flat[i + 1]
    assert from_files == expected


@pytest.mark.parametrize("block", [1 << 20, 7])
def test_many_texts_count_as_each_text_alone(block, monkeypatch):
    """count_terms (a unit's texts at once, in numpy; in blocks of whole texts) equals
    term_counts text by text: astral and traditional characters, joiners, full-width
    forms, lone surrogates, empty texts."""
    monkeypatch.setattr(tokenize, "BLOCK", block)
    rng = random.Random(5)
    alphabet = "政务公开苏号税ab12 -/〔〕()（）,，。_x\nA開號\U00020001\U00030000Ｋ１\ud800　〇"
    t2s = zhmap.t2s()
    table = tokenize.fold_table(t2s)
    # The last 30 draws also take code points above every fold and script range (the table lookups' edge).
    for k in range(230):
        chars = alphabet if k < 200 else alphabet + "\U000e0001\U0010ffff\U000323af\U000323b0"
        texts = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(0, 9))]
        terms, term, text, tf = tokenize.count_terms(texts, t2s)
        got = [Counter() for _ in texts]
        for t, x, c in zip(term.tolist(), text.tolist(), tf.tolist()):
            got[x][terms[t]] += c
        assert got == [tokenize.term_counts(tokenize.fold(s, table)) for s in texts], texts
        assert terms == sorted(set(terms))
        keys = list(zip(term.tolist(), text.tolist()))
        assert keys == sorted(set(keys))
    # A fold that maps a character to two cannot use the code-point table: the slow path agrees.
    texts = ["開號ab", "x開"]
    terms, term, text, tf = tokenize.count_terms(texts, {"開": "开开"})
    table = tokenize.fold_table({"開": "开开"})
    got = [Counter() for _ in texts]
    for t, x, c in zip(term.tolist(), text.tolist(), tf.tolist()):
        got[x][terms[t]] += c
    assert got == [tokenize.term_counts(tokenize.fold(s, table)) for s in texts]


def test_a_fold_is_made_once_per_map():
    """Every unit's index folds with the same map (zhmap's): its entries are read once, not
    made into a cache key again for every unit. An equal map folds alike, another its own way."""
    class Counting(dict):
        reads = 0

        def items(self):
            Counting.reads += 1
            return super().items()

    t2s = Counting(zhmap.t2s())
    first = tokenize.folding(t2s)
    for _ in range(3):
        assert tokenize.folding(t2s) is first
        tokenize.count_terms(["開號ab"], t2s)
    assert Counting.reads == 1
    assert tokenize.folding(dict(t2s))[0] == first[0]
    assert tokenize.folding({"開": "x"})[0][ord("開")] == "x" != first[0][ord("開")]


def test_keys_sort_in_32_bits_only_when_they_fit():
    """count_terms sorts its (term, text) keys as uint32 when their bound allows it: the
    largest key that fits (2**32 - 1) keeps its place, and a bound above 32 bits sorts
    the int64 keys themselves (a uint32 copy would wrap them)."""
    import numpy as np

    fits = np.array([2**32 - 1, 0, 7, 2**31, 2**32 - 2], dtype=np.int64)
    got = tokenize._sorted(fits.copy(), 1 << 32)
    assert got.dtype == np.int64 and got.tolist() == sorted(fits.tolist())
    wide = np.array([2**32 + 5, 3, 2**32, 1], dtype=np.int64)
    assert tokenize._sorted(wide.copy(), 2**32 + 6).tolist() == [1, 3, 2**32, 2**32 + 5]


def test_stable_order_is_numpys_stable_argsort():
    """The pairs' order (a radix sort by 16-bit halves) is the stable argsort's, in each of
    its three ranges: below 2**16 (one pass), below 2**32 (two; values that differ only in
    their high or only in their low half, the largest that fits), and above (numpy's own)."""
    import numpy as np

    rng = np.random.default_rng(3)
    for bound in (1, 2, 1 << 16, (1 << 16) + 1, 75_000, 1 << 32, (1 << 32) + 5):
        values = rng.integers(0, bound, 5000, dtype=np.int64)
        values[:6] = [bound - 1, 0, bound - 1, (bound - 1) & 0xFFFF, (bound - 1) & ~0xFFFF, 0]
        got = tokenize._stable_order(values, bound)
        assert got.tolist() == np.argsort(values, kind="stable").tolist(), bound


def test_characters_counted_in_place_or_sorted_alike(monkeypatch):
    """A block's characters are counted in place when id × texts is small, else sorted: both
    give the keys of a plain count (characters, then pairs, by first character, then text)."""
    import numpy as np

    rng = np.random.default_rng(8)
    for texts_n, chars in ((40, 30), (900, 3000)):
        n = texts_n
        text_of = np.sort(rng.integers(0, n, 4000))
        ids = rng.integers(0, chars, 4000)
        touching = np.flatnonzero(rng.random(3999) < 0.7)
        touching = touching[text_of[touching] == text_of[touching + 1]]
        width = chars + 1
        plain = Counter(zip((ids * width).tolist(), text_of.tolist()))
        plain.update(zip((ids[touching] * width + ids[touching + 1] + 1).tolist(), text_of[touching].tolist()))
        expected = sorted((code * n + text, count) for (code, text), count in plain.items())
        keys, tf = tokenize._cjk_keys(ids, text_of, touching, width, n)
        assert list(zip(keys.tolist(), tf.tolist())) == expected


def _field_texts(count: int, seed: int) -> list[str]:
    """Texts like a unit's fields: CJK (traditional, astral and 〇 among it), numbers, words,
    文号 joiners, full-width forms, empty texts."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(400)] + list("開號〇\U00020001 12ａa〔〕号-/_（）Ｋ\n")
    return ["".join(rng.choices(chars, k=rng.choice((0, 3, 40, 300)))) for _ in range(count)]


def test_terms_counted_in_blocks_equal_the_whole_count():
    """However the texts are cut into blocks (one text each, a few, all in one), count_terms
    gives the same terms and the same postings, as int32 arrays (a large unit's postings
    are tens of millions of numbers), and a unit's index files are the same bytes."""
    import numpy as np

    texts = _field_texts(600, 12)
    t2s = zhmap.t2s()
    old = tokenize.BLOCK
    try:
        tokenize.BLOCK = 1 << 30
        whole = tokenize.count_terms(texts, t2s)
        for block in (1, 500, 5_000, 40_000):
            tokenize.BLOCK = block
            got = tokenize.count_terms(texts, t2s)
            assert got[0] == whole[0], block
            for a, b in zip(got[1:], whole[1:]):
                assert a.dtype == b.dtype == np.int32 and np.array_equal(a, b), block
    finally:
        tokenize.BLOCK = old
    table = tokenize.fold_table(t2s)
    counted = [Counter() for _ in texts]
    for t, x, c in zip(whole[1].tolist(), whole[2].tolist(), whole[3].tolist()):
        counted[x][whole[0][t]] += c
    assert counted == [tokenize.term_counts(tokenize.fold(s, table)) for s in texts]


@pytest.mark.parametrize("block", [1, 2_000])
def test_a_unit_indexed_in_blocks_is_the_same_files(block, monkeypatch):
    """A unit's index files are the same bytes whether its texts are counted in one block
    or in many (as a large unit's are)."""
    rng = random.Random(21)
    bodies = _field_texts(300, 13)
    docs = [index.Doc(url=f"a/{i}.html", title=bodies[i][:20] or "题",
                      published=f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}",
                      state=rng.choice(("current", "expired", "closed")), column=rng.choice(("gfxwj", "tzgg")),
                      issuer="示例县人民政府", doc_number=f"示政发〔20{10 + i % 15}〕{i}号", index_no=f"014046317/2020-{i:05d}",
                      keywords=[bodies[-i][:4], "公开"], topic=bodies[i][5:9], body=bodies[i])
            for i in range(len(bodies))]
    whole = index.build(docs, zhmap.t2s(), {})
    monkeypatch.setattr(tokenize, "BLOCK", block)
    assert index.build(docs, zhmap.t2s(), {}) == whole


def test_many_distinct_characters_count_as_each_text_alone():
    """Enough texts and distinct CJK characters that the keys pass 32 bits (width² × texts
    > 2**32): the int64 sort, the same counts as text by text."""
    rng = random.Random(11)
    chars = [chr(0x4E00 + i) for i in range(3000)]
    texts = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 40))) for _ in range(600)]
    assert len(set("".join(texts))) ** 2 * len(texts) > 2**32
    table = tokenize.fold_table({})
    terms, term, text, tf = tokenize.count_terms(texts, {})
    got = [Counter() for _ in texts]
    for t, x, c in zip(term.tolist(), text.tolist(), tf.tolist()):
        got[x][terms[t]] += c
    assert got == [tokenize.term_counts(tokenize.fold(s, table)) for s in texts]


def test_vector_helpers_equal_their_plain_forms():
    import numpy as np

    terms = ["", "a", "政务", "发_2020", "𠀀𠀁", "2020_00042", "x" * 70]
    assert index.fnv1a_many(terms).tolist() == [index.fnv1a(t) for t in terms]
    data, lengths = index._utf8(terms + ["\u07ff\u0800", "é"])
    assert data.tobytes() == "".join(terms + ["\u07ff\u0800", "é"]).encode()
    assert lengths.tolist() == [len(t.encode()) for t in terms + ["\u07ff\u0800", "é"]]
    values = np.array([0, 9, 10, 99, 100, 12345, 10 ** 9, 2 ** 62], dtype=np.int64)
    assert index._digits(values).tolist() == [len(str(v)) for v in values.tolist()]


@pytest.mark.parametrize("seed", range(6))
def test_term_shards_are_the_bytes_json_dumps_writes(seed, monkeypatch):
    """The shards assembled in numpy equal ``dumps`` of the same postings as a dict (the
    writer the files were first made with): same bytes, same shard of each term, whether
    written in one piece or a few shards at a time."""
    import numpy as np

    if seed % 2:
        monkeypatch.setattr(index, "CHUNK", 97)
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    terms = sorted({"".join(rng.choice("政务公开𠀀ab_42号") for _ in range(rng.randint(1, 4)))
                    for _ in range(rng.randint(800, 1500) if seed else 3)})
    rows = sorted({(t, f, rng.randrange(n)) for t in range(len(terms)) for _ in range(rng.randint(1, 6))
                   for f in [rng.randrange(len(index.CODED))]})
    term, fld, doc = (np.array(col, dtype=np.int64) for col in zip(*rows))
    big = 10 ** 10 if seed == 5 else 60_000
    w = np.array([rng.choice([0, 7, 10, 999, 1000, big]) for _ in rows], dtype=np.int64)
    shards, files = index.term_shards(terms, term, fld, doc, w)
    expected: dict[int, dict] = {}
    for (t, f, d), weight in zip(rows, w.tolist()):
        flat = expected.setdefault(index.fnv1a(terms[t]) % shards, {}).setdefault(terms[t], {}).setdefault(
            index.CODED[f][1], [])
        flat += [d - sum(flat[0::2]), weight]
    assert files == {k: index.dumps(v) for k, v in sorted(expected.items())}
    assert list(files) == sorted(files)
    assert shards > 1 if seed else shards == 1


def test_index_layout_order_and_withdrawn_notice():
    files = index.build(docs_fixture(), zhmap.t2s(), {"expired": "失效"})
    manifest = json.loads(files["search/index.json"])
    assert manifest["n"] == 4 and manifest["r"] == 3  # the 失效 document is last
    records = [json.loads(files[f"search/d/{k}.json"])[0] for k in range(4)]
    assert [r["u"] for r in records] == ["art/d.html", "art/b.html", "art/a.html", "art/c.html"]
    assert records[0] == {"u": "art/d.html", "t": "名单公示", "d": "2026-02-01", "s": "closed", "x": "",
                          "i": "示例县人民政府", "c": "gsgg"}
    assert records[2]["a"] == [["什么是政务公开？", "q-1"]]
    shards = {}
    for path, data in files.items():
        if path.startswith("search/t/"):
            shards.update(json.loads(data))
    assert "政务" in shards and "名单" in shards
    assert set(shards["公示"]) == {"t"}  # the withdrawn notice: its title only
    facets = json.loads(files["search/facets.json"])
    assert facets["y"]["2026"] == [0, 2] and facets["s"]["expired"] == [3, 1]
    # Each term sits in the shard its hash names: the browser finds it by the same rule.
    for path, data in files.items():
        if path.startswith("search/t/"):
            k = int(path.rsplit("/", 1)[1].split(".")[0])
            assert all(index.fnv1a(t) % manifest["s"] == k for t in json.loads(data))


def test_index_is_byte_stable_whatever_the_input_order():
    docs = docs_fixture()
    first = index.build(docs, zhmap.t2s(), {})
    second = index.build(list(reversed(docs)), zhmap.t2s(), {})
    assert first == second


def test_fnv1a_known_values():
    assert index.fnv1a("") == 0x811C9DC5
    assert index.fnv1a("a") == 0xE40C292C
