"""Search in a real browser (Debian chromium, Playwright): search.js against the case
table, against lunr.py's own ranking, against substring truth on a generated unit,
and the search page of the shipped sample as a citizen uses it."""
from __future__ import annotations

import json
import math
import random
import re
import shutil
from urllib.parse import quote

import pytest
from lunr.builder import Builder
from lunr.query import QueryPresence

from conftest import ROOT, build
from gongkai.search import STATIC, index, tokenize, write_files, zhmap

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
CASES = json.loads((ROOT / "plugins/gongkai/search/tokenize_cases.json").read_text(encoding="utf-8"))["cases"]
COUNTY = "shili-county"
# Text that must never be in an index (same markers as test_lifecycle_build): a draft, an
# embargoed notice, an 依申请公开 record, the body of a 公示 past its period.
SECRETS = ("内部讨论稿", "对解放路实施单双号限行", "东至环城东路", "HY-2026-15", "王秀兰", "李福生", "990102198503120236",
           "13907770123", "城关镇东街社区", "0991-62000099")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    outside = []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    errors = []
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert outside == [] and errors == []


# --- a generated unit, indexed without Pelican --------------------------------------

WORDS = ("政务公开 政府信息 主动公开 财政 预算 决算 三公经费 公务接待 公务用车 政府采购 行政许可 行政处罚 社会救助 "
         "最低生活保障 养老服务 医疗保障 就业创业 义务教育 生态环境 安全生产 食品药品 住房保障 土地征收 乡村振兴 "
         "营商环境 一网通办 政务服务 办事指南 政策解读 统计数据 工作要点 实施意见 管理办法 进一步 加强 推进 落实 "
         "完善 规范 全面 依法 统筹 协调 平台建设 信息化 数据共享 标准 流程 时限 年度 全县 有关部门 税收 房屋").split()
TRADITIONAL = "政務公開 財政預算 義務教育 醫療保障 營商環境 數據共享".split()


def generated_docs(n: int = 400, seed: int = 3) -> list[index.Doc]:
    rng = random.Random(seed)
    states = ["current"] * 8 + ["expired", "repealed"]
    docs = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(30, 90))]
        if i % 25 == 0:
            words[rng.randrange(len(words))] = rng.choice(TRADITIONAL)
        body = "".join(w + (rng.choice("，，。、 ") if rng.random() < .3 else "") for w in words) + "。"
        year = rng.randint(2015, 2026)
        docs.append(index.Doc(
            url=f"art/{i}.html", title="关于" + "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) + "的通知",
            published=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", state=rng.choice(states),
            column=rng.choice(["gfxwj", "qtwj", "zcjd"]), issuer="示例县人民政府",
            doc_number=f"示政办发〔{year}〕{i % 97 + 1}号" if i % 3 == 0 else "",
            index_no=f"11990102MB0000003X/{year}-{i:05d}", body=body))
    return docs


@pytest.fixture(scope="module")
def generated(tmp_path_factory, serve):
    docs = generated_docs()
    root = tmp_path_factory.mktemp("gen-site")
    write_files(root, index.build(docs, zhmap.t2s(), {"expired": "失效", "repealed": "已废止"}), "theme")
    (root / "probe.html").write_text('<!DOCTYPE html><meta charset="utf-8"><title>probe</title>'
                                     '<script src="theme/search/search.js"></script>', encoding="utf-8")
    return {"docs": index.order(docs), "url": serve(root), "root": root}


@pytest.fixture
def probe(page, generated):
    page.goto(f"{generated['url']}/probe.html")
    page.wait_for_function("window.GKSearch !== undefined")
    return page


def js_rank(page, queries: list[str], raw: bool = True) -> list[list[dict]]:
    return page.evaluate("""async ([qs, raw]) => {
        const s = new GKSearch.Searcher('', []);
        const out = [];
        for (const q of qs) {
            const r = await s.rank(q, {}, {raw});
            out.push(r.hits.map(h => ({id: h.id, score: h.score, title: h.title})));
        }
        return out;
    }""", [queries, raw])


def test_js_tokenizer_passes_the_case_table(probe):
    got = probe.evaluate("""([cases, t2s]) => cases.map(c => {
        const f = GKSearch.fold(c.input, t2s);
        return {folded: f, index: GKSearch.indexTerms(f), query: GKSearch.queryTerms(f), normalized: GKSearch.normalize(f)};
    })""", [CASES, zhmap.t2s()])
    for case, js in zip(CASES, got):
        assert js == {k: case[k] for k in ("folded", "index", "query", "normalized")}, case["input"]


def test_js_shard_hash_equals_python(probe):
    terms = ["", "a", "政务", "发_2020", "𠀀𠀁", "2020_00042"]
    assert probe.evaluate("ts => ts.map(t => GKSearch.fnv1a(t))", terms) == [index.fnv1a(t) for t in terms]


RANK_QUERIES = ["政务公开", "财政", "预算", "三公经费", "公务", "社会救助", "最低生活保障", "养老", "医疗保障", "就业创业",
                "教育", "生态环境", "安全生产", "食品药品", "住房保障", "土地", "乡村振兴", "营商环境", "一网通办",
                "政务服务", "办事指南", "政策解读", "统计数据", "工作要点", "管理办法", "推进 落实", "加强 规范",
                "税", "房", "示政办发"]


def test_ranking_equals_lunr_py_monolithic_index(probe, generated):
    """Same documents, same tokens: the top 10 of lunr.py's own index (its BM25 score, with our
    documented tie-breaks: query terms in the title first, then newest) equal ours."""
    docs = generated["docs"]
    table = tokenize.fold_table(zhmap.t2s())
    tfs = [{name: tokenize.term_counts(tokenize.fold(d.field_text(name), table)) for name, _, _ in index.FIELDS}
           for d in docs]
    builder = Builder()
    builder.pipeline.reset()
    builder.search_pipeline.reset()
    builder.ref("id")
    for name, _, boost in index.FIELDS:
        builder.field(name, boost=boost)
    for doc_id in range(len(docs)):
        builder.add({"id": str(doc_id), **{name: list(tfs[doc_id][name].elements()) for name, _, _ in index.FIELDS}})
    idx = builder.build()
    ours = js_rank(probe, RANK_QUERIES)
    assert len(RANK_QUERIES) == 30
    compared = 0
    for q, hits in zip(RANK_QUERIES, ours):
        terms = tokenize.query_terms(tokenize.fold(q, table))
        query = idx.create_query()
        for term in terms:
            query.term(term, presence=QueryPresence.REQUIRED, use_pipeline=False)
        results = idx.query(query)
        scale = math.sqrt(len(terms)) * 1000
        def key(ref, score, title):
            return (-title, -round(score * scale), int(ref))
        theirs = sorted(key(r["ref"], r["score"], sum(1 for t in r["match_data"].metadata.values() if "title" in t))
                        for r in results)
        mine = sorted(key(h["id"], h["score"], h["title"]) for h in hits)
        assert len(mine) == len(theirs), q
        assert [k[2] for k in mine[:10]] == [k[2] for k in theirs[:10]], q
        assert [k[2] for k in mine[:10]] == [h["id"] for h in hits[:10]], q
        compared += bool(theirs)
    assert compared >= 28


def truth(docs: list[index.Doc], q: str, table) -> set[str]:
    needle = tokenize.fold(q, table)
    return {d.url for d in docs if needle in tokenize.fold(d.title + "\n" + d.body, table)}


def test_recall_against_substring_truth(probe, generated):
    docs = generated["docs"]
    table = tokenize.fold_table(zhmap.t2s())
    rng = random.Random(11)
    queries = ["税", "房", "财", "政务", "公开", "财政预算", "一网通办", "三公经费", "政務公開", "財政預算", "示政办发",
               "公务用车", "乡村振兴", "数据共享", "推进政务"]
    for d in rng.sample(docs, 15):   # phrases cut out of real text, and 文号 as typed
        start = rng.randrange(max(1, len(d.body) - 6))
        queries.append(d.body[start:start + rng.randint(2, 6)].strip("，。、 ") or "政务")
        if d.doc_number:
            queries.append(d.doc_number)
    found = js_rank(probe, queries, raw=False)
    hit = total = 0
    for q, hits in zip(queries, found):
        expected = truth(docs, q, table)
        got = {docs[h["id"]].url for h in hits}
        hit += len(expected & got)
        total += len(expected)
    assert total > 1000
    assert hit / total >= 0.98


def test_a_quoted_phrase_must_be_contiguous(probe, generated):
    docs = generated["docs"]
    table = tokenize.fold_table(zhmap.t2s())
    res = probe.evaluate("""async () => {
        const s = new GKSearch.Searcher('', []);
        const r = await s.search('"公开财政"', {}, 0, 1000);
        return r.docs.map(d => d.u);
    }""")
    assert set(res) == truth(docs, "公开财政", table)


# --- the sample, built by Pelican ----------------------------------------------------

@pytest.fixture(scope="module")
def site(sample_site, serve):
    return serve(sample_site)


def search(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_selector("html[data-search-state=done]")
    return [a.get_attribute("href") for a in page.query_selector_all("[data-search-results] > li h2 a")]


def test_sample_searches_find_the_expected_items(page, site, sample_site):
    unit = f"{site}/{COUNTY}/search.html?q="
    sangong = search(page, unit + quote("三公经费"))
    assert len(sangong) == 10 and all("sgjf" in h or "bmyjs" in h for h in sangong)
    assert "找到 2" in page.text_content("[data-search-status]")  # 21 results: 3 pages
    assert page.locator("[data-search-results] mark").first.text_content() in ("三公", "三公经费")

    trad = search(page, unit + quote("政務公開"))
    simp = search(page, unit + quote("政务公开"))
    assert trad == simp and "art/gsgg/2026-xianjin-jiti-gongshi.html" in trad

    docno = search(page, unit + quote("示政办发〔2025〕12号"))
    assert docno[0] == "art/gfxwj/2025-zhengfu-xinxi-gongkai-kaohe-banfa.html"
    assert search(page, unit + quote("2025-00002")) == ["art/gfxwj/2025-zhengfu-xinxi-gongkai-kaohe-banfa.html"]

    one = search(page, unit + quote("房"))
    assert "art/qtwj/2026-gongzufang-shenqing-tongzhi.html" in one
    assert "房" in page.locator("[data-search-results] mark").all_text_contents()

    phrase = search(page, unit + quote('"政务公开"'))
    assert phrase and phrase != simp
    for href in phrase:  # every phrase hit holds the phrase contiguously on its page
        text = re.sub(r"<[^>]+>", "", (sample_site / COUNTY / href).read_text(encoding="utf-8"))
        assert "政务公开" in text, href

    in_2025 = search(page, unit + quote("政务公开") + "&y=2025")
    assert in_2025 and set(in_2025) < set(simp)
    assert all("2025" in d for d in page.locator("[data-search-results] .result-meta").all_text_contents())
    assert page.input_value("select[name=y]") == "2025"


def test_a_retired_item_is_marked_and_ranked_below_a_current_one(page, site):
    hits = search(page, f"{site}/{COUNTY}/search.html?q={quote('公租房')}")
    # The 失效 办法 holds 公租房 in its keywords too (a higher lunr score); the current notice comes first.
    assert hits == ["art/qtwj/2026-gongzufang-shenqing-tongzhi.html", "art/gfxwj/2023-chengzhen-zhufang-baozhang-banfa.html"]
    assert page.locator("[data-search-results] > li").nth(1).locator(".badge").text_content() == "失效"
    assert page.locator("[data-search-results] > li").nth(0).locator(".badge").count() == 0
    same = search(page, f"{site}/{COUNTY}/search.html?q={quote('示例县政府信息公开工作考核办法')}")
    assert same.index("art/gfxwj/2025-zhengfu-xinxi-gongkai-kaohe-banfa.html") < \
        same.index("art/gfxwj/2022-xxgk-kaohe-banfa.html")


def test_search_box_form_history_and_announcement(page, site):
    page.goto(f"{site}/{COUNTY}/index.html")
    page.fill("header input[name=q]", "三公经费")
    page.press("header input[name=q]", "Enter")
    page.wait_for_selector("html[data-search-state=done]")
    assert "search.html?q=" in page.url and page.locator("[data-search-results] > li").count() == 10
    assert page.get_attribute("[data-search-status]", "aria-live") == "polite"
    # a second query from the page's own form, then back: the first results come back
    page.fill("main input[name=q]", "住房保障")
    page.evaluate("document.documentElement.removeAttribute('data-search-state')")
    page.press("main input[name=q]", "Enter")
    page.wait_for_selector("html[data-search-state=done]")
    assert "q=%E4%BD%8F" in page.url and page.locator("[data-search-results] > li").count() == 2
    page.evaluate("document.documentElement.removeAttribute('data-search-state')")
    page.go_back()
    page.wait_for_selector("html[data-search-state=done]")
    assert page.input_value("main input[name=q]") == "三公经费"
    assert page.locator("[data-search-results] > li").count() == 10
    # next page by its rel=next link
    page.evaluate("document.documentElement.removeAttribute('data-search-state')")
    page.click("a[rel=next]")
    page.wait_for_selector("html[data-search-state=done]")
    assert "page=2" in page.url and page.locator("[data-search-results] > li").count() == 10


def test_no_results_help_and_portal_unit_filter(page, site):
    search(page, f"{site}/{COUNTY}/search.html?q={quote('不存在的词语组合')}")
    assert page.locator("[data-search-results] > li").count() == 0
    assert page.is_visible("[data-search-help]") and "繁体" in page.text_content("[data-search-help]")
    everywhere = search(page, f"{site}/search.html?q={quote('政务公开')}")
    assert any(h.startswith("shili-city/") for h in everywhere)
    county = search(page, f"{site}/search.html?q={quote('政务公开')}&m={COUNTY}")
    assert county and all(h.startswith(f"{COUNTY}/") for h in county)
    page.click("[data-search-results] > li h2 a")
    page.wait_for_load_state()
    assert page.url.startswith(f"{site}/{COUNTY}/art/")


def test_without_javascript_the_page_says_so(browser, site):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(f"{site}/{COUNTY}/search.html?q=x")
    assert "需要浏览器启用 JavaScript" in pg.text_content("body")
    assert pg.locator("noscript a, .search-noscript a").count() >= 3 or "gfxwj" in pg.content()
    context.close()


def test_portal_queries_only_the_term_shards_of_the_selected_units(page, site, sample_site):
    requested = []
    page.on("request", lambda r: requested.append(r.url.split("?")[0]))

    def index_requests():
        return [u for u in requested if "/search/" in u and "/theme/" not in u]

    search(page, f"{site}/search.html?q={quote('三公经费')}")
    index_files = [p for p in sample_site.rglob("*") if p.is_file() and "search" in p.relative_to(sample_site).parts]
    fetched = [sample_site / u.split(site + "/", 1)[1] for u in index_requests()]
    assert fetched and sum(p.stat().st_size for p in fetched) < sum(p.stat().st_size for p in index_files) / 4
    requested.clear()
    search(page, f"{site}/search.html?q={quote('三公经费')}&m={COUNTY}")
    assert index_requests() and all(f"/{COUNTY}/search/" in u for u in index_requests())


def test_no_secret_in_any_index_file(sample_site):
    files = [p for p in sample_site.rglob("*") if p.is_file() and "search" in p.relative_to(sample_site).parts]
    assert len(files) > 100
    for path in files:
        data = path.read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in data, f"{secret} in {path.relative_to(sample_site)}"
    # the withdrawn 公示 is there by its title only
    county = sample_site / COUNTY / "search" / "d"
    records = [r for p in county.glob("*.json") for r in json.loads(p.read_text(encoding="utf-8"))]
    withdrawn = [r for r in records if r["s"] == "closed"]
    assert withdrawn and all(r["x"] == "" and "n" not in r and "a" not in r for r in withdrawn)


def test_two_builds_give_identical_index_files(sample_site, tmp_path):
    again = tmp_path / "output"
    assert build(ROOT / "content", again).returncode == 0
    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and ("search" in p.parts or p.name in ("search.html", "zhmap.json"))}
    first, second = files(sample_site), files(again)
    assert len(first) > 100 and first == second
    shutil.rmtree(again)


def test_assets_ship_beside_the_package():
    assert {p.name for p in STATIC.iterdir()} >= {"search.js", "search.css"}
