"""Turn a gongkai content folder into one Hugo site per unit, for `make bench-build`.

Why: issue 15 compares gongkai's cold build with Hugo building *equivalent* sites.
The comparison is only fair if Hugo gets the same items and renders the same kinds
of pages, so this converter reads the content with gongkai's own reader (the same
validation, the same lifecycle on the same as-of date) and writes, per unit:

- ``<dest>/<unit>/hugo.toml``: site settings. Pages are ``.html`` files (uglyURLs)
  at the same paths as gongkai's items (``art/<slug>.html``); taxonomies off; one
  RSS feed of the unit (50 entries, summary only, like gongkai's Atom feed); the
  sitemap; listings paginated by 20, as ``PAGINATED_TEMPLATES`` in pelicanconf.py.
- ``content/<column>/_index.md`` for every column of the unit's level, and
  ``content/<column>/<slug>.md`` for every public item, with its metadata in the front
  matter (JSON) and its Markdown body (Hugo renders it with goldmark; raw HTML is
  left out, as gongkai's sanitizer would clean it). A withdrawn 公示 keeps only its
  title, as in gongkai. Items that are not public are not written at all.
- ``data/tree.json``: the column tree of the unit's level with item counts.
- ``layouts/``: the equivalent templates (``TEMPLATES`` below): a base page with the
  full column tree on every page (as gongkai's base.html), the item page with the
  metadata table (索引号 主题分类 发布机构 成文日期 文号 发布日期 效力状况 …), the
  paginated column listing (索引号 标题 文号 发布日期), the unit home (latest items of
  each top column), the feed and the sitemap (Hugo's built-in ones).

What is not reproduced: search index, checker, fiscal tables, cross-unit links and
the portal; they are extra work on gongkai's side, so they count against it.

Usage: ``python tests/bench/hugo/convert.py CONTENT DEST [--catalogs DIR] [--as-of YYYY-MM-DD]``;
then ``hugo --source DEST/<unit> --destination OUT/<unit>`` for each unit.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "plugins"))

from gongkai import lifecycle  # noqa: E402 - needs the plugins folder on the path
from gongkai.facts import Facts  # noqa: E402
from gongkai.site import scan  # noqa: E402

PAGER = 20
FEED_ITEMS = 50

CONFIG = """baseURL = {base}
title = {title}
locale = "zh-CN"
uglyURLs = true
relativeURLs = true
disableKinds = ["taxonomy", "term"]
enableRobotsTXT = false
[pagination]
pagerSize = {pager}
[services.rss]
limit = {feed}
[outputs]
home = ["HTML", "RSS"]
section = ["HTML"]
page = ["HTML"]
[markup.goldmark.renderer]
unsafe = false
[params]
unit = {title}
"""

TEMPLATES = {
    "_default/baseof.html": """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ block "title" . }}{{ .Title }} - {{ site.Title }}{{ end }}</title>
<meta name="SiteName" content="{{ site.Title }}">
{{ block "meta" . }}{{ end }}
<link rel="alternate" type="application/rss+xml" href="{{ "index.xml" | relURL }}">
</head>
<body>
<header><p class="site-name"><a href="{{ "index.html" | relURL }}">{{ site.Title }}</a></p></header>
<div class="layout">
<main id="main">{{ block "main" . }}{{ end }}</main>
<nav id="column-nav" class="column-nav" aria-label="栏目导航">
<h2 class="nav-title">栏目导航</h2>
{{ partial "tree.html" (dict "nodes" hugo.Data.tree.children "current" .Section) }}
</nav>
</div>
<footer><p>{{ site.Title }}</p></footer>
</body>
</html>
""",
    "partials/tree.html": """<ul class="tree">
{{ range .nodes }}
<li class="{{ if .children }}group{{ else }}leaf{{ end }}">
<a href="{{ printf "%s/index.html" .id | relURL }}"{{ if eq .id $.current }} aria-current="page"{{ end }}>{{ .name }}{{ if not .children }}<span class="count" aria-label="{{ .count }}条">{{ .count }}</span>{{ end }}</a>
{{ if .children }}{{ partial "tree.html" (dict "nodes" .children "current" $.current) }}{{ end }}
</li>
{{ end }}
</ul>
""",
    "_default/single.html": """{{ define "meta" }}
<meta name="ArticleTitle" content="{{ .Title }}">
<meta name="PubDate" content="{{ .Date.Format "2006-01-02 15:04" }}">
<meta name="ContentSource" content="{{ .Params.issuer }}">
<meta name="Keywords" content="{{ delimit (.Params.keywords | default slice) "," }}">
<meta name="Description" content="{{ .Params.summary }}">
{{ end }}
{{ define "main" }}
<nav class="breadcrumbs"><ol><li><a href="{{ "index.html" | relURL }}">{{ site.Title }}</a></li>
{{ with .Parent }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}<li>正文</li></ol></nav>
<article class="item">
<table class="meta-table">
<caption>信息属性</caption>
<tbody>
<tr><th scope="row">索引号</th><td>{{ .Params.index_no | default "—" }}</td><th scope="row">主题分类</th><td>{{ .Params.topic | default "—" }}</td></tr>
<tr><th scope="row">发布机构</th><td>{{ .Params.issuer }}</td><th scope="row">成文日期</th><td>{{ .Params.written | default "—" }}</td></tr>
<tr><th scope="row">文号</th><td>{{ .Params.doc_number | default "—" }}</td><th scope="row">发布日期</th><td>{{ .Date.Format "2006-01-02" }}</td></tr>
<tr><th scope="row">效力状况</th><td>{{ .Params.validity }}</td><th scope="row">体裁</th><td>{{ .Params.genre | default "—" }}</td></tr>
<tr><th scope="row">标题</th><td colspan="3">{{ .Title }}</td></tr>
{{ with .Params.keywords }}<tr><th scope="row">关键词</th><td colspan="3">{{ delimit . "　" }}</td></tr>{{ end }}
</tbody>
</table>
<h1 class="item-title">{{ .Title }}</h1>
{{ if .Params.withdrawn }}<p class="withdrawn">公示期已满，公示内容已撤下。</p>{{ else }}<div class="item-body">{{ .Content }}</div>{{ end }}
</article>
{{ end }}
""",
    "_default/list.html": """{{ define "main" }}
<h1 class="page-title">{{ .Title }}</h1>
{{ $pager := .Paginate .RegularPages.ByDate.Reverse }}
{{ if $pager.Pages }}
<table class="listing">
<thead><tr><th scope="col">索引号</th><th scope="col">标题</th><th scope="col">文号</th><th scope="col">发布日期</th></tr></thead>
<tbody>
{{ range $pager.Pages }}
<tr><td class="c-index">{{ .Params.index_no | default "—" }}</td><td class="c-title"><a href="{{ .RelPermalink }}">{{ .Title }}</a></td>
<td class="c-docno">{{ .Params.doc_number | default "—" }}</td><td class="c-date"><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2006-01-02" }}</time></td></tr>
{{ end }}
</tbody>
</table>
{{ if gt $pager.TotalPages 1 }}
<nav class="pagination" aria-label="分页">
{{ with $pager.Prev }}<a rel="prev" href="{{ .URL }}">上一页</a>{{ end }}
<span>第 {{ $pager.PageNumber }} / {{ $pager.TotalPages }} 页，共 {{ $pager.TotalNumberOfElements }} 条</span>
{{ with $pager.Next }}<a rel="next" href="{{ .URL }}">下一页</a>{{ end }}
</nav>
{{ end }}
{{ else }}<p class="empty">暂无信息</p>{{ end }}
{{ end }}
""",
    "index.html": """{{ define "main" }}
<h1 class="page-title">{{ site.Title }}</h1>
{{ range .Sections }}
<section class="home-column"><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<ul class="short-list">{{ range first 5 .RegularPages.ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ul>
</section>
{{ end }}
{{ end }}
""",
}


def page_name(slug: str) -> str:
    """The Hugo content file of the item at ``slug`` (its path in the unit folder, no extension)."""
    return slug.replace("/", "__") + ".md"


def _tree(col, counts: dict[str, int]) -> dict:
    return {"id": col.id, "name": col.name, "count": counts.get(col.id, 0),
            "children": [_tree(c, counts) for c in col.children]}


def _front(item, state, withdrawn: bool) -> dict:
    return {
        "title": item.title, "date": item.published.isoformat(), "url": f"/{item.save_as}",
        "index_no": item.index_no, "doc_number": item.doc_number, "issuer": item.issuer, "topic": item.topic,
        "genre": item.genre, "written": item.written.isoformat() if item.written else None,
        "keywords": list(item.keywords), "summary": item.summary,
        "validity": state.label if (state.retired or item.type == "notice") else item.validity,
        "withdrawn": withdrawn,
    }


def convert(content: Path, dest: Path, catalogs: Path, as_of: dt.date, units: list[str] | None = None) -> list[str]:
    """Write one Hugo site per unit under ``dest``; return the unit ids written."""
    site = scan(content, catalogs)
    if not site.ok:
        raise SystemExit(f"convert: {content} has content errors; run `make check CONTENT={content}`")
    facts = Facts.of(site, as_of)
    done = []
    for uid in sorted(site.units):
        if units is not None and uid not in units:
            continue
        unit = site.units[uid]
        root = dest / uid
        if root.exists():
            shutil.rmtree(root)
        public = sorted(facts.public(uid), key=lambda i: i.source)
        counts: dict[str, int] = {}
        for item in public:
            counts[item.column] = counts.get(item.column, 0) + 1
        tree = site.catalogs.tree_for(unit.level)
        for col in tree.walk():
            if col is tree:
                continue
            section = root / "content" / col.id
            section.mkdir(parents=True, exist_ok=True)
            (section / "_index.md").write_text(json.dumps({"title": col.name}, ensure_ascii=False) + "\n", encoding="utf-8")
        bodies = {i.source: i.body for i in site.full_items(uid)}   # the scan keeps items without bodies
        for item in public:
            state = facts.state(item)
            shown = lifecycle.withdraw(item) if state.withdrawn else item
            body = "" if state.withdrawn else (bodies.get(item.source) or "")
            page = root / "content" / item.column / page_name(item.slug)
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(json.dumps(_front(shown, state, state.withdrawn), ensure_ascii=False, sort_keys=True)
                            + "\n\n" + body + "\n", encoding="utf-8")
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "data" / "tree.json").write_text(json.dumps(_tree(tree, counts), ensure_ascii=False), encoding="utf-8")
        (root / "hugo.toml").write_text(CONFIG.format(base=json.dumps(f"http://127.0.0.1:8000/{uid}/"),
                                                      title=json.dumps(unit.name, ensure_ascii=False),
                                                      pager=PAGER, feed=FEED_ITEMS), encoding="utf-8")
        for name, text in TEMPLATES.items():
            path = root / "layouts" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        done.append(uid)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("content", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--catalogs", type=Path, default=ROOT / "catalogs")
    ap.add_argument("--as-of", default="2026-11-22")
    ap.add_argument("--units", default=None, help="comma-separated unit ids (default: all)")
    args = ap.parse_args(argv)
    units = args.units.split(",") if args.units else None
    done = convert(args.content, args.dest, args.catalogs, dt.date.fromisoformat(args.as_of), units)
    print(f"converted {len(done)} unit(s) -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
