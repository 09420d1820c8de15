"""Hostile input on the output side (issue 9): names reaching markup, CSV formula cells,
errors that never show a traceback, concurrent builds, a crash between the swap's
renames, withdrawn notices, and links to hidden items."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import AS_OF, FIXTURES, ROOT, UNIT_YAML, build

from gongkai import build as build_mod
from gongkai import charts, fiscal_plugin, lifecycle, render

INJECT = 'x"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"

SANGONG = """\
title: 测试县2025年“三公”经费预算
column: sgjf
type: sangong
index_no: 11990102MB0000003X/2025-{n:05d}
department: 测试县财政局
year: {year}
stage: 预算
unit: 万元
approved: 2025-01-24
published: 2025-02-12
amounts:
  因公出国(境)费: 0.00
  公务接待费: 3.10
  公务用车购置费: 0.00
  公务用车运行维护费: 5.00
total: 8.10
"""

FISCAL = """\
title: 测试县2026年县级预算报表
column: zfyjs
type: fiscal
index_no: 11990102MB0000003X/2026-00024
issuer: 测试县财政局
year: 2026
stage: 预算
scope: 政府
unit: 万元
approved: 2026-01-16
published: 2026-02-04
tables:
  - name: 一般公共预算收入表
    rows:
      - code: '101'
        name: '=HYPERLINK("http://evil.example/","点击")'
        amount: 92000.00
      - code: '103'
        name: '@SUM(1+1)'
        amount: 20200.00
      - code: '104'
        name: '+cmd|calc'
        amount: 1.00
"""


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_no_live_markup(html: str, where=""):
    for tag, attrs in tags(html):
        assert tag != "img", (where, tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (where, tag, attrs)
        for key in ("href", "src"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith("javascript:"), (where, tag, attrs)


# --- 1. names reaching markup -------------------------------------------------

@pytest.mark.parametrize("raw", [INJECT, JS, "chart-sgjf-" + INJECT, "a b", "图表"])
def test_chart_id_from_any_name_is_one_safe_token(raw):
    svg = charts.bar_chart(raw, "标题", [("2025年", Decimal("8.10"))], "万元")
    assert_no_live_markup(svg)
    svg_tag = tags(svg)[0][1]
    ids = [attrs["id"] for _, attrs in tags(svg) if "id" in attrs]
    assert len(ids) == 2 and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", i) for i in ids), ids
    assert svg_tag["aria-labelledby"].split() == ids


def test_chart_ids_of_different_names_differ():
    one = charts.safe_id("chart-" + INJECT)
    two = charts.safe_id("chart-" + INJECT.replace("1", "2"))
    assert one != two
    assert charts.safe_id("chart-2025-sangong") == "chart-2025-sangong"


def test_download_links_of_hostile_names_are_relative_files():
    for name in (JS, INJECT):
        href = fiscal_plugin.href(f"{name}-sangong.csv")
        assert not href.lower().startswith("javascript:"), href
        assert '"' not in href and "<" not in href and ":" not in href.split("/")[0], href


@pytest.fixture
def hostile_names_site(make_tree, tmp_path):
    files = {"demo-county/_unit.yaml": UNIT_YAML}
    for n, name in enumerate((INJECT, JS), 1):
        files[f"demo-county/sgjf/{name}.yaml"] = SANGONG.format(n=n, year=2024 + n)
    files[f"demo-county/zfyjs/{JS}.yaml"] = FISCAL
    content = make_tree(files)
    out = tmp_path / "out"
    result = build(content, out)
    if result.returncode != 0:
        # The reading side may refuse such names (issue 9): then nothing of them is built.
        assert "Traceback" not in result.stderr
        pytest.skip("names refused at read time: " + result.stderr.strip().splitlines()[-1])
    return out


def test_hostile_file_names_inject_no_markup_in_any_page(hostile_names_site):
    pages = sorted(hostile_names_site.rglob("*.html"))
    assert any("sgjf" in str(p) for p in pages)
    for page in pages:
        assert_no_live_markup(page.read_text(encoding="utf-8"), page)


# --- 2. CSV formula injection ------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+1", "@SUM(A1)", "-1+2", "\tx", "\rx", "=HYPERLINK(\"x\")", "-", "-cmd"])
def test_formula_cells_are_neutralised(cell):
    rows = list(csv.reader(io.StringIO(fiscal_plugin.csv_bytes(["h"], [[cell]]).decode("utf-8-sig"))))
    assert rows[1] == ["'" + cell]


@pytest.mark.parametrize("cell", ["-5.0", "-12.34", "0.00", "12", "-0.1", "说明", ""])
def test_numbers_and_text_stay_as_they_are(cell):
    rows = list(csv.reader(io.StringIO(fiscal_plugin.csv_bytes(["h"], [[cell]]).decode("utf-8-sig"))))
    assert rows[1] == [cell]


def test_fiscal_csv_download_has_no_formula_cell(make_tree, tmp_path):
    content = make_tree({"demo-county/_unit.yaml": UNIT_YAML, "demo-county/zfyjs/2026-ys.yaml": FISCAL})
    out = tmp_path / "out"
    result = build(content, out)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO((out / "demo-county/art/zfyjs/2026-ys-1.csv").read_bytes().decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(\"http://evil.example/\",\"点击\")" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], cells
    assert not [c for c in cells if c.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", c)], cells
