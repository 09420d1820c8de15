"""The link rule's page scan and link resolution (check/links.py): the one-pass scan gives
what the two regular expressions give, and the memoized resolver what ``resolve`` gives."""
from __future__ import annotations

import html
import itertools
import os
import random
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from gongkai.check import links


def two_passes(text: str) -> tuple[frozenset[str], list[tuple[int, str]]]:
    """The scan as it was: ``_ANCHOR`` over the page, then ``_LINK`` with each link's line."""
    anchors = frozenset(html.unescape(a) for a in links._ANCHOR.findall(text))
    found = [(text.count("\n", 0, m.start()) + 1, html.unescape(m[1])) for m in links._LINK.finditer(text)]
    return anchors, found


PAGE = ('<!doctype html>\n<html lang="zh-CN">\n<head><link rel="stylesheet" href="../theme/css/main.css">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n<body>\n'
        '<nav id="column-nav"><a href="../index.html">首页</a>\n<a href="a.html?x=1&amp;y=2#q1">问</a></nav>\n'
        '<h2 id="q1">问一</h2><img src="img/a.png" alt="">\n<a\nhref="https://www.gov.cn/">国务院</a>\n'
        '<a name="&#x5f00;">x</a></body></html>\n')


def test_fast_scan_reads_a_page_as_the_two_passes_do():
    got = links._fast_scan(PAGE, True)
    assert got == two_passes(PAGE) == links._scan_text(PAGE, True)
    anchors, found = got
    assert anchors == {"viewport", "column-nav", "q1", "开"}
    assert found[-1] == (9, "https://www.gov.cn/")   # the line of the newline before href, as _LINK reads it
    assert (7, "a.html?x=1&y=2#q1") in found


@pytest.mark.parametrize("text", [
    '<a href = "b.html">x</a>',            # whitespace beside '=': \s* is not empty
    '<a href= "b.html">x</a>',
    '<p>a =b</p><a href="b.html">x</a>',   # anywhere on the page
    '<a href="x id=">y</a>"z"',            # a link's value ends where an anchor would start
    '<h1 id="a href= ">y</h1>"z"',
])
def test_fast_scan_declines_what_it_cannot_vouch_for(text):
    assert links._fast_scan(text, True) is None
    assert links._scan_text(text, True) == two_passes(text)


def test_fast_scan_equals_the_two_passes_on_random_markup():
    rnd = random.Random(15)
    pieces = [" ", "\n", "\t", "\u3000", "\xa0", "h", "r", "e", "f", "s", "c", "i", "d", "n", "a", "m", "=", '"',
              "&amp;", "x", "号", " href=", " id=", " src=", " name=", '="', ">", "<a"]
    answered = 0
    for _ in range(30_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        got = links._fast_scan(text, True)
        assert links._scan_text(text, True) == two_passes(text), repr(text)
        if got is not None:
            answered += 1
            assert got == two_passes(text), repr(text)
    assert answered > 5_000   # the fast path is taken, not only declined


def test_scanned_file_reads_as_a_text_mode_read(tmp_path):
    page = tmp_path / "u" / "p.html"
    page.parent.mkdir()
    page.write_bytes(b'<p>\r\n<a href="a.html">a</a>\r<a href="b\xff.html">b</a>\r\n\n<a href="c.html" id="x">c</a>')
    files = links.SiteFiles("")
    found = links._scan_file(str(page), "u/p.html", files)
    with open(page, encoding="utf-8", errors="replace") as f:
        assert (files.anchors["u/p.html"], found.links) == two_passes(f.read())
    assert [line for line, _ in found.links] == [2, 3, 5]
    os.symlink(page, tmp_path / "u" / "q.html")
    assert links._scan_file(str(tmp_path / "u" / "q.html"), "u/q.html", files) is None   # never followed
    assert "u/q.html" not in files.files


def test_resolver_keeps_folders_and_pages_apart():
    files = links.SiteFiles("output", "https://gk.example.gov.cn",
                            files={"u/a/x.html", "u/b/x.html", "u/index.html", "u/c/index.html", "index.html"})
    pages = ["u/a/p.html", "u/b/p.html", "u/a/q.html", "u/index.html", "index.html"]
    hrefs = ["x.html", "../index.html", "#top", "?q=1", "", " ", "c", "c/", "/u/a/x.html", "../../../x",
             "https://gk.example.gov.cn/u/b/x.html#f", "https://www.gov.cn/", "mailto:a@b.cn", "//[zz/",
             "x%2Ehtml", "./x.html#%E9%97%AE"]
    memo = links.Resolver(files)
    # Twice over, in two orders: a memo answers what ``resolve`` answers, whoever asked first.
    for page, href in [*itertools.product(pages, hrefs), *itertools.product(reversed(pages), reversed(hrefs))]:
        assert memo(page, href) == links.resolve(page, href, files), (page, href)
    assert memo("u/a/p.html", "x.html")[1] == "u/a/x.html" and memo("u/b/p.html", "x.html")[1] == "u/b/x.html"
    assert memo("u/a/p.html", "#top")[1] == "u/a/p.html" and memo("u/a/q.html", "#top")[1] == "u/a/q.html"
    other = links.SiteFiles("output", files={"u/c.html"})   # another folder's files: its own resolver
    assert links.Resolver(other)("u/index.html", "c")[1] == "u/c"
    assert memo("u/index.html", "c")[1] == "u/c/index.html"


def test_judge_unit_with_a_shared_resolver_equals_one_of_its_own():
    files = links.SiteFiles("output", files={"u/a/x.html", "u/index.html", "index.html", "v/index.html"},
                            anchors={"u/a/x.html": frozenset({"q1"})})
    pages = [links.PageLinks("u/a/x.html", [(1, "#q1"), (2, "#q2"), (3, "../index.html"), (4, "../../index.html"),
                                            (5, "https://www.gov.cn/"), (6, "../../v/"), (7, "gone.html")]),
             links.PageLinks("u/a/y.html", [(1, "#q1"), (2, "x.html#q1"), (3, "../../index.html"),
                                            (4, "gone.html"), (5, " #q1")]),
             links.PageLinks("u/index.html", [(1, "a/x.html#q2"), (2, "../index.html")])]
    files.files.add("u/a/y.html")
    memo = links.Resolver(files)
    external = links.external_links(SimpleNamespace(pages=pages, files=files), memo)
    shared = links.judge_unit("u", pages, files, memo)
    assert shared == links.judge_unit("u", pages, files)
    assert external == {"https://www.gov.cn/": ["u/a/x.html"]}
    failing, outside, places = shared
    # '#q1' is on x.html, not on y.html: the same href, judged page by page
    assert [(p, line, href) for p, line, href, _ in failing] == [
        ("u/a/x.html", 2, "#q2"), ("u/a/x.html", 7, "gone.html"), ("u/a/y.html", 1, "#q1"),
        ("u/a/y.html", 4, "gone.html"), ("u/a/y.html", 5, " #q1"), ("u/index.html", 1, "a/x.html#q2")]
    assert [(first, href, target) for first, href, target, _ in outside] == [
        ("u/a/x.html", "../../index.html", "index.html"), ("u/a/x.html", "../../v/", "v/index.html"),
        ("u/index.html", "../index.html", "index.html")]
    assert links.pickle.loads(places)[0] == [("u/a/x.html", 4, 3), ("u/a/y.html", 3, 2)]


def test_own_page_links_are_judged_by_their_fragment_alone(monkeypatch):
    """'#…' and '?…' on a plain page of the unit's files point at the page itself: judged by
    looking the fragment up, not by resolving the href again on every page; a page the files
    do not list, or a path that is not plain, is resolved as before. The verdicts are those
    of judging link by link."""
    hrefs = ["#main", "#column-nav", "#gone", "#top", "#", "?x", " #main", "#a%20b", "?x#main"]
    pages = [links.PageLinks(f"u/c/p{n}.html", [(line, href) for line, href in enumerate(hrefs, 1)])
             for n in range(30)]
    pages += [links.PageLinks("u/c/./odd.html", [(1, "#main")]), links.PageLinks("u/c/unlisted.html", [(1, "#main")])]
    files = links.SiteFiles("output", files={p.path for p in pages[:-1]} | {"u/index.html"},
                            anchors={p.path: frozenset({"main", "column-nav", "a b"}) for p in pages})
    asked = []
    real = links.Resolver.__call__
    monkeypatch.setattr(links.Resolver, "__call__", lambda self, page, href, *a: asked.append((page, href)) or real(
        self, page, href, *a))
    failing, outside, places = links.judge_unit("u", pages, files)
    assert asked == [("u/c/./odd.html", "#main"), ("u/c/unlisted.html", "#main")]
    monkeypatch.setattr(links.Resolver, "__call__", real)
    assert (failing, outside, links.pickle.loads(places)) == judged_link_by_link("u", pages, files)
    assert {(href, r) for page, _, href, r in failing if page == "u/c/p0.html"} == {
        ("#gone", ("internal", "u/c/p0.html", "gone"))}
    # resolved: './' taken out (a file the walk does not list), and a page missing from the files
    assert [(page, r) for page, _, _, r in failing if "p" not in page.rpartition("/")[2]] == [
        ("u/c/./odd.html", ("internal", "u/c/odd.html", "main")), ("u/c/unlisted.html", ("internal",
                                                                                          "u/c/unlisted.html", "main"))]


def test_anchors_read_back_are_the_anchors_kept():
    anchors = {"u/a.html": frozenset({"q1", "top"}), "u/b.html": frozenset({"top", "q1"}), "u/c.html": frozenset()}
    back = links.load_anchors(links.dump_anchors(anchors))
    assert back == anchors and dict(back) == anchors and sorted(back) == sorted(anchors)
    assert back.get("u/a.html") is back.get("u/b.html")   # one object per distinct set
    assert back.get("u/x.html", frozenset({"d"})) == {"d"} and "u/x.html" not in back
    with pytest.raises(ValueError):
        links.load_anchors(links.pickle.dumps({"u/a.html": "q1"}))


def test_outside_links_are_judged_once_for_every_unit(monkeypatch):
    """Two units link the same missing page and the same missing anchor of a third: each
    gets its finding, and each target is judged once for both."""
    files = links.SiteFiles("output", files={"w/index.html", "u/index.html", "v/index.html"},
                            anchors={"w/index.html": frozenset({"here"})})
    verdicts = {}
    for uid in ("u", "v"):
        page = links.PageLinks(f"{uid}/index.html", [(3, "../w/gone.html"), (4, "../w/index.html#gone"),
                                                     (5, "../w/#here")])
        verdicts[uid] = links.judge_unit(uid, [page], files)
    asked = []
    real = links.check_link
    monkeypatch.setattr(links, "check_link", lambda *a: asked.append(a[2]) or real(*a))
    hits = {uid: list(links.internal(SimpleNamespace(
        unit=SimpleNamespace(id=uid), pages=[], files=files,
        link_memo=SimpleNamespace(verdicts=lambda u: verdicts[u])), {})) for uid in ("u", "v")}
    for uid in ("u", "v"):
        assert [(h.path, h.line) for h in hits[uid]] == [(f"output/{uid}/index.html", 3),
                                                         (f"output/{uid}/index.html", 4)]
    # judged for u (three targets), then for u and v only where they fail (the finding's text)
    assert [r[1:] for r in asked[:3]] == [("w/gone.html", ""), ("w/index.html", "gone"), ("w/index.html", "here")]
    assert len(asked) == 3 + 2 + 2


def test_external_links_equal_resolving_every_link():
    """external_links asks each distinct href once (``Resolver.external``) and meets each
    page's links with the external ones: the same map as resolving every link of every
    page, the site root's own URLs and ignored schemes left out."""
    files = links.SiteFiles("output", "https://gk.example.gov.cn", files={"u/a/x.html", "u/index.html"})
    hrefs = ["x.html", "https://www.gov.cn/", "https://gk.example.gov.cn/u/index.html", "mailto:a@b.cn",
             "http://beian.miit.gov.cn/", "//cdn.example.cn/a.js", "#top", " https://www.gov.cn/ ", "//[zz/", ""]
    rng = random.Random(3)
    pages = [links.PageLinks(f"u/{folder}/p{n}.html", [(line, rng.choice(hrefs)) for line in range(rng.randint(0, 6))])
             for n in range(40) for folder in ("a", "b")]
    expected: dict[str, set[str]] = {}
    for page in pages:
        for _, href in page.links:
            r = links.resolve(page.path, href, files)
            if r and r[0] == "external":
                expected.setdefault(r[2], set()).add(page.path)
    got = links.external_links(SimpleNamespace(pages=pages, files=files), links.Resolver(files))
    assert got == {url: sorted(found) for url, found in sorted(expected.items())}
    assert list(got) == sorted(got) and len(got) >= 3
    memo = links.Resolver(files)
    assert [memo.external(h) for h in ("https://www.gov.cn/", "x.html", "mailto:a@b.cn", "//[zz/")] == [
        "https://www.gov.cn/", None, None, None]
    assert links.external_links(SimpleNamespace(pages=[], files=files)) == {}


def test_resolver_shares_answers_across_folders_of_one_depth():
    """A path with k leading '../' means one file from every folder with the same k-th parent
    (and an absolute path one file from anywhere): the memo answers as ``resolve`` on random
    folders and hrefs ('..' past the root, '//', './', '%2E', trailing '/'), and one answer
    serves every folder of a unit's depth."""
    rng = random.Random(7)
    names = ["u", "v", "art", "a", "b", "index.html", "x.html", ".."]
    folders = ["u", "u/art", "u/art/a", "u/art/b", "u/b", "v/art/a", "v", "u/art/a/b"]
    files = links.SiteFiles("output", "https://gk.example.gov.cn",
                            files={"u/index.html", "u/art/index.html", "u/art/a/x.html", "x.html", "index.html",
                                   "v/art/index.html", "u/b/index.html"})
    pieces = ["../", "../", "../", "./", "/", "%2E%2E/", "//"] + [n + "/" for n in names] + names
    hrefs = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) + rng.choice(["", "#q", "?a"])
             for _ in range(400)] + ["/u/index.html", "/u/art/", "../../index.html#top"]
    memo = links.Resolver(files)
    for href in hrefs:
        for folder in rng.sample(folders, len(folders)):
            page = f"{folder}/p.html"
            assert memo(page, href) == links.resolve(page, href, files), (page, href)
    shared = links.Resolver(files)
    for folder in ("u/art/a", "u/art/b", "u/b/c"):
        shared(f"{folder}/p.html", "../../index.html")
    assert len(shared._by_base) == 1 and len(shared._done) == 3


@pytest.mark.parametrize("root", ["", "https://gk.example.gov.cn", "/gov", "gov"])
def test_plain_hrefs_taken_as_they_are_resolve_as_resolve_does(root, monkeypatch):
    """An href of plain path characters skips ``urlsplit`` and ``unquote`` (``Resolver._parse``):
    on random hrefs of plain and special characters, and a site root that is a URL, a path,
    or a bare word (an href naming the root is not plain), the memo answers as ``resolve``."""
    rng = random.Random(21)
    files = links.SiteFiles("output", root, files={"u/index.html", "u/a/x.html", "gov/x.html", "x.html"})
    pieces = ["a", "x.html", "/", "../", "./", ".", "-", "_", "~", "gov", "u", "%2E", "#", "?", ":", " ", "\t",
              "//", "mailto:", "http:", "号", "[", "&"]
    hrefs = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    hrefs += ["gov", "gov/x.html", "/gov", "/gov/x.html", "//gov/x.html", "x.html", "u/a/x.html"]
    memo = links.Resolver(files)
    for href in hrefs:
        for page in ("u/a/p.html", "u/index.html", "p.html"):
            assert memo(page, href) == links.resolve(page, href, files), (root, page, href)
    # and a unit's plain hrefs (the navigation, item pages) are never split as URLs
    split = []
    monkeypatch.setattr(links, "urlsplit", lambda href: split.append(href) or urlsplit(href))
    fresh = links.Resolver(files)
    for href in ("../../jdjc/index.html", "2021-10020.html", "../theme/css/main.css", "a_b~c.html"):
        fresh("u/a/p.html", href)
    assert split == []


def judged_link_by_link(uid: str, pages: list[links.PageLinks], files: links.SiteFiles) -> tuple:
    """``judge_unit`` spelled out: every link resolved with ``resolve`` on the first page of its
    folder where its href stands (on its own page for '#…' and '?…'), in page and link order."""
    first: dict[tuple[str, str], str] = {}
    failing, outside, places = [], {}, {}
    for page in sorted(pages, key=lambda p: p.path):
        folder = page.path.rpartition("/")[0]
        for index, (line, href) in enumerate(page.links):
            own_page = href.lstrip().startswith(("#", "?"))
            where = (page.path if own_page else folder, href)
            r = links.resolve(first.setdefault(where, page.path), href, files)
            if r is None or r[0] != "internal":
                continue
            if r[1] is not None and r[1] != uid and not r[1].startswith(uid + "/"):
                outside.setdefault(where, (first[where], href, r[1], r[2]))
                places.setdefault(where, []).append((page.path, line, index))
            elif links.check_link(page.path, links.Link(line, href), r, files) is not None:
                failing.append((page.path, line, href, r))
    return failing, list(outside.values()), [places[k] for k in outside]


def test_judge_unit_shares_verdicts_across_folders_of_one_depth(monkeypatch):
    """The navigation's links, relative to the unit root, name one file from every folder of
    one depth: each is resolved once for all of them (``Resolver.key``), and the verdicts are
    those of judging link by link, on random folders, pages and hrefs."""
    rng = random.Random(11)
    folders = ["u/a", "u/b", "u/c", "u/a/x", "u/b/y", "u"]
    files = links.SiteFiles("output", "https://gk.example.gov.cn",
                            files={"u/index.html", "u/a/index.html", "u/b/p0.html", "index.html", "v/index.html",
                                   "u/a/x/p1.html"},
                            anchors={"u/index.html": frozenset({"top", "q"}), "u/b/p0.html": frozenset({"q"})})
    hrefs = ["../index.html", "../index.html#q", "../index.html#z", "../b/p0.html", "../../index.html",
             "../../v/", "../gone.html", "../a/", "p0.html#q", "#q", "?x", " #q", "/u/index.html",
             "https://gk.example.gov.cn/u/index.html#top", "https://www.gov.cn/", "mailto:a@b.cn", "//[zz/",
             "../../../x.html", "../%2E%2E/index.html", "//", "//#q", "", "index.html"]
    for _ in range(30):
        pages = [links.PageLinks(f"{folder}/p{n}.html",
                                 [(line, rng.choice(hrefs)) for line in range(rng.randint(0, 12))])
                 for folder in folders for n in range(rng.randint(1, 4))]
        files.files.update(p.path for p in pages)
        failing, outside, places = links.judge_unit("u", pages, files)
        assert (failing, outside, links.pickle.loads(places)) == judged_link_by_link("u", pages, files)
    # the navigation of 40 folders of one depth: each href resolved once, not once per folder
    nav = ["../index.html", "../b/p0.html", "../../index.html", "../../v/", "../index.html#q", "../gone.html"]
    pages = [links.PageLinks(f"u/f{n}/p.html", [(i, href) for i, href in enumerate(nav)]) for n in range(40)]
    asked = []
    real = links.Resolver.__call__
    monkeypatch.setattr(links.Resolver, "__call__", lambda self, page, href, *a: asked.append(href) or real(
        self, page, href, *a))
    failing, outside, _ = links.judge_unit("u", pages, files)
    assert sorted(asked) == sorted(nav)
    assert len(failing) == 40 and len(outside) == 2 * 40   # each folder: its failing link, its two leaving


class _Counting:
    """``links._FAST`` that counts the matches a scan takes from it."""

    def __init__(self, pattern):
        self.pattern, self.taken = pattern, 0

    def finditer(self, text, *args):
        for m in self.pattern.finditer(text, *args):
            self.taken += 1
            yield m

    def search(self, text, *args):
        m = self.pattern.search(text, *args)
        self.taken += m is not None
        return m


def test_pages_of_a_folder_are_read_against_its_first(tmp_path, monkeypatch):
    """The pages of one folder end alike (the column navigation, the footer): from where a
    page meets the folder's first page its matches are taken from it. The scan equals the
    page-by-page scan — bodies with an unclosed '="' or an '=' beside whitespace before the
    common end, CRLF, lines moved, a page equal to the first, one that shares nothing — and
    the common ends are not matched again."""
    rng = random.Random(5)
    tail = ('</main>\n<nav id="column-nav"><ul>' + "".join(
        f'<li><a href="../../c{n}/index.html" class="c">栏目{n}</a>\n' for n in range(30))
        + '</ul></nav>\n<footer id="f"><a href="../../../index.html">门户</a></footer></body></html>\n')
    head = '<!doctype html>\n<html><head><title>{}</title></head><body>\n<main id="main">\n'
    bodies = ['<p>正文</p>', '<p>a\n\nb</p><a href="x.html#q">x</a>', '<p id="q">问</p>\n' * 5,
              '<p title="x=">y</p>', '<p>a = b</p>', '<p>"</p><a href="', '<p>\r\n</p>',
              '<a href="y.html" id="q">y</a>\r', '<p data-x="name=">z</p>', '']
    unit = tmp_path / "u"
    folder = unit / "art" / "a"
    folder.mkdir(parents=True)
    texts = [head.format(n) + rng.choice(bodies) * rng.randint(0, 3) + tail for n in range(60)]
    texts += [texts[0], "<p>其他</p>", head.format("x") + tail.replace("栏目", "列")]
    for n, text in enumerate(texts):
        (folder / f"p{n}.html").write_bytes(text.encode("utf-8"))
    plain = links.SiteFiles("")
    expected = [links._scan_file(str(folder / f"p{n}.html"), f"u/art/a/p{n}.html", plain)
                for n in range(len(texts))]
    every = sum(len(links._FAST.findall(text.replace("\r\n", "\n").replace("\r", "\n"))) for text in texts)
    counting = _Counting(links._FAST)
    monkeypatch.setattr(links, "_FAST", counting)
    files, found = links.scan_unit(unit, "u")
    assert sorted((p.path, p.links) for p in found) == sorted((p.path, p.links) for p in expected)
    assert files.anchors == plain.anchors and files.files == plain.files
    assert counting.taken < every / 2


def test_unit_scan_lists_what_the_walk_and_lstat_list(tmp_path, monkeypatch):
    """``scan_unit`` (its own walk, no lstat per file) finds the files ``scan_output`` (os.walk,
    lstat) finds: no symlink to a file or a folder, no FIFO (never opened), a page above the
    size limit listed and not read, the entries left out left out."""
    unit = tmp_path / "u"
    (unit / "a" / "b").mkdir(parents=True)
    (unit / "a" / "b" / "p.html").write_text('<a href="../../index.html" id="x">x</a>', encoding="utf-8")
    (unit / "index.html").write_text('<a href="a/b/p.html">p</a>', encoding="utf-8")
    (unit / "big.html").write_text('<a href="gone.html">g</a>' * 10, encoding="utf-8")
    (unit / "a" / "feed.xml").write_text("<rss/>", encoding="utf-8")
    (unit / "skip").mkdir()
    (unit / "skip" / "s.html").write_text('<a href="s">s</a>', encoding="utf-8")
    os.symlink(unit / "index.html", unit / "a" / "link.html")
    os.symlink(unit / "a" / "b", unit / "a" / "dirlink")
    os.symlink(tmp_path / "nowhere", unit / "broken.html")
    os.mkfifo(unit / "a" / "fifo.html")
    monkeypatch.setattr(links, "MAX_PAGE_BYTES", 100)
    files, found = links.scan_unit(unit, "u", frozenset({"skip"}))
    whole, pages = links.scan_output(tmp_path, "output", skip=frozenset())
    expected = {f for f in whole.files if not f.startswith("u/skip/")}
    assert files.files == expected == {"u/a/b/p.html", "u/index.html", "u/big.html", "u/a/feed.xml"}
    assert files.anchors == {k: v for k, v in whole.anchors.items() if k in expected}
    assert [(p.path, p.links) for p in found] == [(p.path, p.links) for p in pages["u"] if "skip" not in p.path]
    assert "u/big.html" not in files.anchors


def test_read_against_a_base_equals_reading_alone_on_random_markup():
    """``_fast_scan`` with an earlier page's marks answers what it answers alone (or declines,
    then the page is read whole), on random pages that share random ends with the base."""
    rnd = random.Random(16)
    pieces = [" ", "\n", "\t", "\u3000", "h", "r", "e", "f", "s", "c", "i", "d", "n", "a", "m", "=", '"', "&amp;",
              "x", "\r\n", " href=", " id=", " src=", " name=", '="', ">", "<a", ' href="a.html"', ' id="q"']
    used = 0
    for _ in range(20_000):
        def some(k):
            return "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, k)))
        end = some(25)
        base_text, text = (some(12) + end).replace("\r\n", "\n"), (some(12) + end).replace("\r\n", "\n")
        marks = links._Marks()
        if links._fast_scan(base_text, True, keep=marks) is None:
            assert marks.text is None
            continue
        got = links._fast_scan(text, True, None, marks)
        if got is not None:
            used += links._sync(text, marks) is not None   # read in part from the base
            assert got == links._fast_scan(text, True) == two_passes(text), (base_text, text)
    assert used > 1_000


def test_one_page_folders_are_read_against_the_first_of_their_depth(tmp_path, monkeypatch):
    """A column with few items is a folder with one page (its index.html): such pages end with
    the same navigation and footer, alike at one depth, so each is read against the first
    one-page folder's page of its depth. The scan equals the page-by-page scan — pages that
    differ before the common end, one with an '=' beside whitespace, CRLF, one sharing
    nothing, one-page folders at three depths, a folder of several pages beside them — and
    the common ends are not matched again."""
    rng = random.Random(7)
    tail = ('</main>\n<nav id="column-nav"><ul>' + "".join(
        f'<li><a href="{{up}}c{n}/index.html" class="c">栏目{n}</a>\n' for n in range(30))
        + '</ul></nav>\n<footer id="f"><a href="{up}../index.html">门户</a></footer></body></html>\n')
    head = '<!doctype html>\n<html><head><title>{}</title></head><body>\n<main id="main">\n'
    bodies = ['<p>正文</p>', '<a href="x.html#q">x</a>', '<p id="q">问</p>\n' * 3, '<p>a = b</p>', '<p>\r\n</p>',
              '<a href="y.html" id="q">y</a>\r', '']
    unit = tmp_path / "u"
    texts: dict[str, str] = {}
    for n in range(40):
        texts[f"c{n}/index.html"] = head.format(n) + rng.choice(bodies) * rng.randint(0, 2) + tail.format(up="../")
    for n in range(6):
        texts[f"art/a{n}/index.html"] = head.format(n) + tail.format(up="../../")
        texts[f"art/many/p{n}.html"] = head.format(n) + rng.choice(bodies) + tail.format(up="../../")
    texts["other/index.html"] = "<p>其他</p>"
    texts["index.html"] = head.format("首页") + tail.format(up="")
    for rel, text in texts.items():
        (unit / rel).parent.mkdir(parents=True, exist_ok=True)
        (unit / rel).write_bytes(text.encode("utf-8"))
    plain = links.SiteFiles("")
    expected = [links._scan_file(str(unit / rel), f"u/{rel}", plain) for rel in texts]
    every = sum(len(links._FAST.findall(text.replace("\r\n", "\n").replace("\r", "\n"))) for text in texts.values())
    counting = _Counting(links._FAST)
    monkeypatch.setattr(links, "_FAST", counting)
    files, found = links.scan_unit(unit, "u")
    assert sorted((p.path, p.links) for p in found) == sorted((p.path, p.links) for p in expected)
    assert files.anchors == plain.anchors and files.files == plain.files
    assert counting.taken < every / 2
