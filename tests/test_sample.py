"""The shipped sample content, built: what the public and evaluators see."""
import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import AS_OF, ROOT
from gongkai import lifecycle
from gongkai.site import scan

UNITS = {"shili-province": "province", "shili-city": "city", "shili-county": "county",
         "shili-town": "township", "shili-county-czj": "department"}
META = ("SiteName", "SiteDomain", "SiteIDCode", "ColumnName", "ColumnType", "ArticleTitle", "PubDate",
        "ContentSource", "Keywords", "Description")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Page(HTMLParser):
    """Links, resources, meta tags and table headers of one HTML page."""

    def __init__(self, text):
        super().__init__()
        self.links, self.resources, self.meta, self.ths, self.ids, self.tds = [], [], {}, [], set(), []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("link", "script", "img", "source", "iframe") and (a.get("href") or a.get("src")):
            self.resources.append(a.get("href") or a.get("src"))
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        if tag == "th":
            self._th = ""
        if tag == "td":
            self._td = ""

    def handle_data(self, data):
        if hasattr(self, "_th"):
            self._th += data
        if hasattr(self, "_td"):
            self._td += data

    def handle_endtag(self, tag):
        if tag == "th" and hasattr(self, "_th"):
            self.ths.append(self._th.strip())
            del self._th
        if tag == "td" and hasattr(self, "_td"):
            self.tds.append(self._td.strip())
            del self._td


def page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample(sample_site):
    return sample_site


@pytest.fixture(scope="module")
def items():
    """The sample items that are public on the as-of date of the built sample."""
    return [i for i in scan(ROOT / "content", ROOT / "catalogs").items if lifecycle.is_public(i, date.fromisoformat(AS_OF))]


def test_portal_lists_the_five_units_in_their_tree(sample):
    html = (sample / "index.html").read_text(encoding="utf-8")
    nested = re.sub(r"\s+", "", html)
    # province > city > county > (finance bureau, town)
    assert re.search(r'shili-province/index.html">示例省人民政府</a>.*?<ul><li><ahref="shili-city/index.html"'
                     r'.*?<ul><li><ahref="shili-county/index.html".*?<ul><li><ahref="shili-county-czj/index.html"'
                     r'.*?</li><li><ahref="shili-town/index.html"', nested.replace("<spanclass", "<span class"))
    assert len(re.findall(r'<a href="shili-[a-z-]+/index.html">', html)) == 5


@pytest.mark.parametrize("unit, level", UNITS.items())
def test_every_unit_has_the_full_column_tree_of_its_level(sample, cats, unit, level):
    home = page(sample / unit / "index.html")
    nav_targets = {unquote(h).split("/")[-2] for h in home.links if h.endswith("/index.html") and "/../" not in h}
    for col in cats.tree_for(level).walk():
        if col.id == "zfxxgk":
            continue
        assert (sample / unit / col.id / "index.html").is_file(), col.id
        assert col.id in nav_targets, f"{unit} navigation lacks {col.id}"
    others = {c.id for c in cats.root.walk()} - {c.id for c in cats.tree_for(level).walk()}
    for cid in others:
        assert not (sample / unit / cid).exists(), f"{unit} has {cid}, which does not apply to {level}"


def test_empty_columns_say_so(sample):
    text = (sample / "shili-county/bmyjs/index.html").read_text(encoding="utf-8")
    assert '<p class="empty">暂无信息</p>' in text


def test_item_pages_show_the_metadata_table(sample, items):
    documents = [i for i in items if i.type != "page"]
    assert documents
    for item in documents:
        p = page(sample / item.unit / item.save_as)
        for label in ("索引号", "主题分类", "发布机构", "成文日期", "文号", "发布日期", "效力状况"):
            assert label in p.ths, (item.source, label)
        assert item.index_no in p.tds
        if item.doc_number:
            assert item.doc_number in p.tds


def test_item_pages_carry_the_national_meta_tags(sample, items):
    for item in items:
        p = page(sample / item.unit / item.save_as)
        for name in META:
            assert name in p.meta, (item.source, name)
        assert p.meta["ArticleTitle"] == item.title
        assert p.meta["PubDate"] == item.published.strftime("%Y-%m-%d %H:%M")
        # A withdrawn 公示 keeps only title, dates and 索引号 (issue 9): no 发布机构.
        withdrawn = lifecycle.state(item, date.fromisoformat(AS_OF), lambda _: None).withdrawn
        assert p.meta["ContentSource"] == ("" if withdrawn else item.issuer)
        assert p.meta["SiteIDCode"] and p.meta["ColumnName"]


def footer_links() -> set[str]:
    """Links a unit configured in _unit.yaml (footer: ICP, 公安备案, 党政机关标识, 找错): the only
    places a page may link outside the site, and never as an asset."""
    from gongkai import catalogs as catalogs_mod
    from gongkai.units import load_units
    units, _ = load_units(ROOT / "content", catalogs_mod.load(str(ROOT / "catalogs")))
    out = {"https://beian.miit.gov.cn/"}
    for unit in units.values():
        out.update(v for k, v in unit.footer.items() if k.endswith("_url"))
    return out


def test_every_internal_link_and_anchor_resolves(sample):
    outside = footer_links()
    pages = sorted(sample.rglob("*.html"))
    assert len(pages) > 150
    for path in pages:
        p = page(path)
        for href in p.links + p.resources:
            parts = urlsplit(href)
            if parts.scheme in ("mailto", "tel") or (parts.scheme and parts.netloc == "127.0.0.1:8000"):
                continue
            if href in outside and href in p.links:
                continue
            assert not parts.scheme and not parts.netloc, f"{path}: external reference {href}"
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            assert target.is_file(), f"{path.relative_to(sample)} links to missing {href}"
            if parts.fragment:
                assert parts.fragment in page(target).ids, f"{path}: missing anchor {href}"


def test_no_external_assets_anywhere(sample):
    from html import escape
    outside = footer_links()
    for path in list(sample.rglob("*.html")) + list(sample.rglob("*.css")):
        text = path.read_text(encoding="utf-8")
        for url in outside:
            text = text.replace(f'<a href="{escape(url)}"', "<a").replace(f'<a class="dzjg" href="{escape(url)}"', "<a")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text.replace('href="http://127.0.0.1:8000', "")), path
        assert "@import" not in text and "url(http" not in text


@pytest.mark.parametrize("unit", UNITS)
def test_feed_and_sitemap(sample, items, unit, cats):
    public = [i for i in items if i.unit == unit]
    feed = ET.parse(sample / unit / "feed.xml").getroot()
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == min(50, len(public))
    newest = max(public, key=lambda i: i.published)
    assert entries[0].find(f"{ATOM}title").text == newest.title
    urls = [u.find(f"{SITEMAP}loc").text for u in ET.parse(sample / unit / "sitemap.xml").getroot()]
    columns = len(list(cats.tree_for(UNITS[unit]).walk()))
    assert len(urls) == columns + len(public)
    assert all(u.startswith(f"http://127.0.0.1:8000/{unit}/") for u in urls)


def test_footer_states_the_as_of_date(sample):
    # On the portal pages, rendered every build; a unit's pages leave it out, so that a new
    # day does not change every page of every unit (incremental rebuilds, docs/performance.md).
    assert "本站内容截至 2026-11-22 生成" in (sample / "index.html").read_text(encoding="utf-8")
    assert "本站内容截至" not in (sample / "shili-town/index.html").read_text(encoding="utf-8")


def test_links_to_parent_and_child_units(sample):
    county = page(sample / "shili-county/index.html")
    assert "../../shili-city/index.html" not in county.links
    assert "./../shili-city/index.html" in county.links
    assert "./../shili-town/index.html" in county.links and "./../shili-county-czj/index.html" in county.links


def test_guide_page_is_built_from_the_unit_file(sample):
    text = (sample / "shili-county/xxgkzn/index.html").read_text(encoding="utf-8")
    assert "<dt>受理机构</dt><dd>" in text and "示例县人民路1号" in text


def test_home_counts_each_public_item_once(sample):
    for unit in UNITS:
        states = json.loads((sample / unit / "lifecycle.json").read_text(encoding="utf-8"))["states"]
        home = (sample / unit / "index.html").read_text(encoding="utf-8")
        assert f"共公开信息 {len(states)} 条" in home, unit
        latest = re.search(r'<section class="latest".*?</section>', home, re.S).group(0)
        links = re.findall(r'href="([^"]+)"', latest)
        assert len(links) == len(set(links))
