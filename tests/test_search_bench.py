"""The search benchmark's own parts: the query list, the ground truth and its figures,
the item text it reads from built pages, and one small run of the browser harness
against a fake engine (exact substring search) that keeps the search-page interface."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import harness  # noqa: E402
import search_bench  # noqa: E402
import truth  # noqa: E402
from truth import Query  # noqa: E402


def test_query_list_loads_with_every_kind():
    warmup, queries = truth.load_queries()
    assert len(queries) == 30
    assert warmup not in {q.q for q in queries}
    assert {q.kind for q in queries} == truth.KINDS
    for q in queries:
        if q.kind == "traditional":
            assert q.simplified and q.simplified != q.q and len(q.simplified) == len(q.q)


def test_query_list_refuses_a_traditional_query_without_its_simplified_form(tmp_path):
    bad = tmp_path / "q.json"
    bad.write_text(json.dumps({"queries": [{"q": "政務公開", "kind": "traditional"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"queries\[0\].*simplified"):
        truth.load_queries(bad)


def test_terms_split_words_and_keep_quoted_phrases():
    assert truth.terms('"政府信息 公开" 预算  决算') == ["政府信息 公开", "预算", "决算"]
    assert truth.terms("示政发〔2020〕14号") == ["示政发〔2020〕14号"]


DOCS = {
    "a.html": "关于财政预算的通知\n示政发〔2020〕14号\n财政预算公开",
    "b.html": "财政工作\n预算和决算",
    "c.html": "政务公开要点\n001000000/2020-00046",
    "d.html": "政務公開（繁体原文）",
}


@pytest.mark.parametrize(("q", "expected"), [
    (Query("财政预算", "word"), {"a.html"}),                  # contiguous only: b has both words apart
    (Query("预算 决算", "two words"), {"b.html"}),
    (Query('"财政预算公开"', "phrase"), {"a.html"}),
    (Query("14号", "文号"), {"a.html"}),
    (Query("2020-00046", "索引号"), {"c.html"}),
    (Query("政務公開", "traditional", "政务公开"), {"c.html", "d.html"}),  # folded, or as typed
    (Query("税", "1 char"), set()),
])
def test_ground_truth_is_exact_substring(q, expected):
    assert truth.ground_truth(DOCS, [q]) == {q.q: expected}


def test_recall_and_precision_at_10():
    want = {"a", "b", "c", "d"}
    assert truth.recall(["a", "x", "b"], want) == 0.5
    assert truth.recall([], set()) is None
    assert truth.precision_at(["a", "x", "b", "y"], want) == 0.5
    assert truth.precision_at(list("abcd") + [f"x{i}" for i in range(16)], want) == 0.4   # first 10 only
    assert truth.precision_at([], want) == 0.0
    assert truth.precision_at([], set()) == 1.0
    assert truth.mean([1.0, None, 0.5]) == 0.75


ITEM = """<html><body><nav><a href="x">政务公开</a></nav><main>
<article class="item item-interpretation state-current">
<table class="meta-table"><caption>信息属性</caption><tbody>
<tr><th scope="row">索引号</th><td>001000000/2018-00003</td><th scope="row">主题分类</th><td>综合政务\\政务公开</td></tr>
<tr><th scope="row">文号</th><td>—</td><th scope="row">发布日期</th><td>2018-04-05</td></tr>
<tr><th scope="row">关键词</th><td colspan="3">加强　年度计划</td></tr></tbody></table>
<h1 class="item-title">关于&amp;解读的通告</h1>
<section class="related"><h2>相关</h2><a href="y">无关标题</a></section>
<div class="item-body"><p>第一段<br>换行</p><p>第二段</p></div>
<section class="qa"><h2 id="h-qa">问答</h2><dl><div class="qa-pair"><dt><span class="q-mark" aria-hidden="true">问</span>问题一
<a class="permalink" href="#q">#</a></dt><dd><span class="a-mark" aria-hidden="true">答</span><p>回答一</p></dd></div></dl></section>
</article></main></body></html>"""


def test_item_text_is_what_the_page_shows_in_the_searched_fields():
    labels = truth.meta_labels()
    assert labels == {"索引号", "文号", "关键词", "主题分类"}
    text = truth.item_text(ITEM, labels)
    assert text == ("关于&解读的通告\n001000000/2018-00003\n综合政务\\政务公开\n加强　年度计划\n"
                    "第一段\n换行\n第二段\n问题一\n回答一")
    assert truth.item_text("<html><main><h1>栏目</h1></main></html>", labels) is None
    withdrawn = ITEM.replace('<div class="item-body">', '<p class="withdrawn">公示内容已撤下。</p><div class="item-body">')
    assert truth.item_text(withdrawn, labels) == "关于&解读的通告"


def test_item_key_maps_result_links_to_unit_paths():
    unit = "http://127.0.0.1:5/u1/"
    assert harness.item_key("http://127.0.0.1:5/u1/art/a/%E4%B8%80.html#q-1", unit) == "art/a/一.html"
    assert harness.item_key("http://127.0.0.1:5/u2/art/b.html", unit) == "http://127.0.0.1:5/u2/art/b.html"


def test_summary_and_table_from_hand_made_runs():
    want = {"税": {"a", "b"}, "房": set()}
    runs = [harness.QueryRun("税", 120.0, 3000, 4, 8.0, 500, 1, ["a", "x"], True),
            harness.QueryRun("房", 80.0, 1000, 2, 4.0, 0, 0, [], True)]
    s = search_bench.summary(runs, want)
    assert s["cold_bytes"] == {"median": 2000, "worst": 3000, "p95": 3000}
    assert s["recall"] == 0.5 and s["precision_at_10"] == 0.75
    result = {"engines": {"gongkai": {**s, "per_query": search_bench.per_query(runs, want)}},
              "queries": [{"q": "税", "kind": "1 char", "truth": 2}, {"q": "房", "kind": "1 char", "truth": 0}],
              "build_seconds": 1.0}
    out = search_bench.table(result)
    assert "2.9 KiB" in out and "0.500" in out


def test_missing_chromium_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(harness, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(harness.BenchError, match="make browser-deps"):
        harness.launch(None)


def test_harness_end_to_end_on_a_fake_engine(sample_site, tmp_path):
    """The whole browser harness on the sample's largest unit, against a fake engine
    whose answers are known: the results it reads must be exactly the engine's."""
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright
    unit = search_bench.pick_unit(sample_site, None)
    docs = truth.unit_items(sample_site / unit, truth.meta_labels())
    assert len(docs) >= 10
    queries = [Query("政府信息公开", "word"), Query("示例县", "word"), Query("三公 预算", "two words"),
               Query("不存在的检索词", "word")]
    want = truth.ground_truth(docs, queries)
    assert len(want["示例县"]) > 10       # more than one result page: the harness pages on
    root = tmp_path / "site"
    (root / unit).mkdir(parents=True)
    (root / unit / "fake-index.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    (root / unit / "search.html").write_text(search_bench.search_page(sample_site / unit, "engine_fake.js"),
                                             encoding="utf-8")
    search_bench.copy_styles(sample_site, sample_site / unit, root)
    with sync_playwright() as p, harness.serve(root, max_seconds=120) as base:
        browser = harness.launch(p)
        try:
            runs = harness.measure(browser, f"{base}{unit}/search.html", harness.unit_url_of(base, unit),
                                   [q.q for q in queries], "公告", want=None, timeout_s=30)
        finally:
            browser.close()
    for run, query in zip(runs, queries, strict=True):
        assert run.errors == []
        assert run.results == [k for k in docs if truth.matches(docs[k], query)]   # file order, all pages
        assert run.complete
        assert run.cold_bytes > 0 and run.cold_ms > 0 and run.warm_ms is not None
        assert any(path.endswith("fake-index.json") for path, _ in run.cold_files)
        assert not any(path.endswith("fake-index.json") for path, _ in run.warm_files)   # cached by then
        assert truth.recall(run.results, want[query.q]) in (1.0, None)
