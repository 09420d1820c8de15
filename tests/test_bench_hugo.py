"""The Hugo converter of `make bench-build` (tests/bench/hugo/convert.py).

It must give Hugo the same public items with the same metadata and the same kinds
of pages as gongkai, or the comparison means nothing. Asserted on the files it
writes, so this runs without the Hugo binary.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import tomllib

from conftest import AS_OF, ROOT, UNIT_YAML

spec = importlib.util.spec_from_file_location("bench_hugo_convert", ROOT / "tests/bench/hugo/convert.py")
convert = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convert)

ITEM = """---
title: {title}
column: {column}
index_no: 11990102MB0000003X/2024-{serial}
doc_number: 测政发〔2024〕{n}号
published: 2024-03-0{n}
keywords: [政务公开, 标准化]
{extra}---
正文第一段，**加粗**。
"""


def test_converter_writes_one_hugo_site_per_unit(make_tree, tmp_path):
    content = make_tree({
        "demo/_unit.yaml": UNIT_YAML,
        "demo/qtwj/a.md": ITEM.format(title="公开的通知", column="qtwj", serial="00001", n=1, extra=""),
        "demo/qtwj/b.md": ITEM.format(title="草稿文件", column="qtwj", serial="00002", n=2, extra="draft: true\n"),
        "demo/gsgg/c.md": ITEM.format(title="已满公示", column="gsgg", serial="00003", n=3,
                                      extra="type: notice\npublicity_until: 2024-04-01\n"),
        "other/_unit.yaml": UNIT_YAML.replace("测试县", "另一县").replace("0000003X", "0000004X"),
    })
    dest = tmp_path / "hugo"
    done = convert.convert(content, dest, ROOT / "catalogs", dt.date.fromisoformat(AS_OF))
    assert done == ["demo", "other"]
    site = dest / "demo"

    config = tomllib.loads((site / "hugo.toml").read_text(encoding="utf-8"))
    assert config["title"] == "测试县人民政府" and config["uglyURLs"] is True
    assert config["pagination"]["pagerSize"] == 20 and config["services"]["rss"]["limit"] == 50
    assert config["outputs"]["home"] == ["HTML", "RSS"]

    front, body = (site / "content/qtwj/qtwj__a.md").read_text(encoding="utf-8").split("\n\n", 1)
    meta = json.loads(front)
    assert meta["title"] == "公开的通知" and meta["url"] == "/art/qtwj/a.html"
    assert meta["index_no"] == "11990102MB0000003X/2024-00001" and meta["doc_number"] == "测政发〔2024〕1号"
    assert meta["keywords"] == ["政务公开", "标准化"] and meta["validity"] == "有效" and meta["withdrawn"] is False
    assert "**加粗**" in body

    assert not (site / "content/qtwj/qtwj__b.md").exists()          # a draft never reaches Hugo either
    notice = (site / "content/gsgg/gsgg__c.md").read_text(encoding="utf-8")
    assert json.loads(notice.split("\n\n", 1)[0])["withdrawn"] is True and "正文" not in notice

    tree = json.loads((site / "data/tree.json").read_text(encoding="utf-8"))
    leaves = {}
    def walk(node):
        for child in node["children"]:
            leaves[child["id"]] = child
            walk(child)
    walk(tree)
    assert leaves["qtwj"]["count"] == 1 and leaves["gsgg"]["count"] == 1
    assert json.loads((site / "content/qtwj/_index.md").read_text(encoding="utf-8"))["title"] == leaves["qtwj"]["name"]

    layouts = site / "layouts"
    assert '<table class="meta-table">' in (layouts / "_default/single.html").read_text(encoding="utf-8")
    assert ".Paginate" in (layouts / "_default/list.html").read_text(encoding="utf-8")
    assert 'partial "tree.html"' in (layouts / "_default/baseof.html").read_text(encoding="utf-8")
    assert (dest / "other/hugo.toml").is_file() and not list((dest / "other/content").rglob("[!_]*.md"))


def test_page_name_flattens_the_item_path():
    assert convert.page_name("qtwj/2024/a") == "qtwj__2024__a.md"
