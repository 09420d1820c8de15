"""年报 in the built sample: the official table, its numbers, warnings on the page,
downloads, roll-ups, the prefill command, and a phone-sized browser."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from lxml import html as lhtml
from test_annual import COLUMNS, OFFICIAL_ROWS

from conftest import ROOT, gongkai

COUNTY = "shili-county/art/xxgknb/2026-2025-xxgk-niandu-baogao"
DEPT = "shili-county-czj/art/xxgknb/2026-2025-xxgk-niandu-baogao"
SOURCES = {COUNTY: ROOT / "content/shili-county/xxgknb/2026-2025-xxgk-niandu-baogao.yaml",
           DEPT: ROOT / "content/shili-county-czj/xxgknb/2026-2025-xxgk-niandu-baogao.yaml"}


def page(site: Path, rel: str):
    return lhtml.fromstring((site / f"{rel}.html").read_text(encoding="utf-8"))


def text(el) -> str:
    return re.sub(r"\s+", "", el.text_content())


def yaml_rows(path: Path) -> dict[str, list[int]]:
    """Table 三 of the source file, read with plain PyYAML: row key -> figures."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["requests"]
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("rel", [COUNTY, DEPT])
def test_table3_has_the_official_rows_in_order_and_the_yaml_figures(sample_site, rel):
    doc = page(sample_site, rel)
    [table] = doc.xpath("//section[contains(@class,'annual-requests')]//table")
    rows = table.xpath("./tbody/tr")
    assert len(rows) == 25
    # the label of each row is its own label cells plus the group cells above it (rowspans)
    labels, open_groups = [], {}
    for i, tr in enumerate(rows):
        own = []
        for th in tr.xpath("./th"):
            col = int(re.search(r"\bl(\d)\b", th.get("class"))[1])
            if int(th.get("rowspan", 1)) > 1 or "rowgroup" == th.get("scope"):
                open_groups[col] = (text(th), i + int(th.get("rowspan", 1)))
            else:
                own.append(text(th))
        groups = [open_groups[c][0] for c in sorted(open_groups) if open_groups[c][1] > i]
        labels.append("".join(groups) + "".join(own))
    assert labels == [label.replace(" ", "") for label in OFFICIAL_ROWS]
    # no subtotal rows: 22 rows under 三、本年度办理结果
    assert int(table.xpath(".//th[contains(@class,'vertical')]/@rowspan")[0]) == 22
    # the numbers are the YAML's
    source = yaml_rows(SOURCES[rel])
    keys = [tr.get("data-key") for tr in rows]
    assert keys == list(source)
    for tr, key in zip(rows, keys, strict=True):
        assert [int(td.text_content()) for td in tr.xpath("./td")] == source[key], key
    # the three-row header with the corner cell's 勾稽关系
    head = table.xpath("./thead/tr")
    assert len(head) == 3
    assert text(head[0].xpath("./th")[0]) == "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    assert [text(th) for th in head[1].xpath("./th")] == ["自然人", "法人或其他组织", "总计"]
    assert [text(th) for th in head[2].xpath("./th")] == COLUMNS[1:6]


def test_the_page_has_the_six_headings_the_period_and_the_stacked_blocks(sample_site):
    doc = page(sample_site, COUNTY)
    assert [text(h) for h in doc.xpath("//article//h2")][:6] == [
        "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]
    assert "本报告所列数据的统计期限为2025年1月1日至2025年12月31日。" in [text(p) for p in doc.xpath("//p")]
    blocks = doc.xpath("//table[contains(@class,'annual-t2')]/tbody")
    assert [text(b.xpath(".//tr[1]")[0]) for b in blocks] == ["第二十条第（一）项", "第二十条第（五）项", "第二十条第（六）项",
                                                              "第二十条第（八）项"]
    cells = {tr.get("data-key"): [text(td) for td in tr.xpath("./td")] for tr in doc.xpath("//table[contains(@class,'annual-t2')]//tr[@data-key]")}
    assert cells == {"rules": ["0", "0", "0"], "normative": ["1", "1", "4"], "licensing": ["4215"], "penalty": ["623"],
                     "coercion": ["31"], "fees": ["0.00"]}
    t4 = doc.xpath("//table[contains(@class,'annual-t4')]")[0]
    assert [text(th) for th in t4.xpath("./thead/tr[1]/th")] == ["行政复议", "行政诉讼"]
    assert [text(th) for th in t4.xpath("./thead/tr[2]/th")][-2:] == ["未经复议直接起诉", "复议后起诉"]
    assert [text(td) for td in t4.xpath(".//tbody/td|.//tbody/tr/td")] == "1 0 1 0 2 0 0 0 1 1 0 0 0 0 0".split()
    assert not doc.xpath("//*[contains(@class,'annual-warnings')]")


def test_the_departments_mismatch_is_a_warning_on_the_page(sample_site):
    doc = page(sample_site, DEPT)
    [box] = doc.xpath("//div[@class='annual-warnings']")
    items = [text(li) for li in box.xpath(".//li")]
    assert len(items) == 2
    assert "行政规范性文件（本年制发件数）" in items[0] + items[1]
    assert any("报告填报2" in i and "所载文件为1" in i for i in items)


def test_build_log_warns_and_check_passes():
    result = gongkai("check")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "xxgknb" in line]
    assert lines == [
        "content/shili-county-czj/xxgknb/2026-2025-xxgk-niandu-baogao.yaml:24: warning: proactive (主动公开政府信息情况): "
        "二、主动公开政府信息情况 行政规范性文件（本年制发件数）: 报告填报 2，本单位“行政规范性文件”栏目（gfxwj）所载文件为 1 "
        "(国办公开办函〔2021〕30号)",
        "content/shili-county-czj/xxgknb/2026-2025-xxgk-niandu-baogao.yaml:24: warning: proactive (主动公开政府信息情况): "
        "二、主动公开政府信息情况 行政规范性文件（现行有效件数）: 2025年报告填报 2，而2024年现行有效 1 + 本年制发 2 − 本年废止 0 = 3 "
        "(国办公开办函〔2021〕30号)"]


def test_downloads_match_the_page(sample_site):
    folder = sample_site / Path(COUNTY).parent
    stem = Path(COUNTY).name
    raw = (folder / f"{stem}-biao3.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["项目", *COLUMNS]
    assert [r[0] for r in rows[1:]] == OFFICIAL_ROWS
    source = yaml_rows(SOURCES[COUNTY])
    assert [[int(x) for x in r[1:]] for r in rows[1:]] == list(source.values())
    data = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
    assert data["year"] == 2025 and data["source"] == "国办公开办函〔2021〕30号"
    assert [r["values"] for r in data["requests"]["rows"]] == list(source.values())
    assert data["proactive"]["fees"]["value"] == "0.00"
    for name in ("biao2", "biao4"):
        assert (folder / f"{stem}-{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_county_page_rolls_up_its_units_and_the_portal_every_unit(sample_site):
    doc = page(sample_site, COUNTY)
    [rollup] = doc.xpath("//section[contains(@class,'annual-rollup')]")
    status = {text(tr.xpath("./th")[0]): [text(td) for td in tr.xpath("./td")] for tr in rollup.xpath(".//table[contains(@class,'annual-status')]/tbody/tr")}
    assert status["示例县财政局"] == ["2026-01-31", "2026-01-19", "按时发布"]
    assert status["示例县示例镇人民政府"][2].startswith("按时发布（未按数据格式填报")
    # table 三 summed over the units that report as data (the department only)
    dept = yaml_rows(SOURCES[DEPT])
    summed = {tr.get("data-key"): [int(td.text_content()) for td in tr.xpath("./td")]
              for tr in rollup.xpath(".//table[contains(@class,'annual-t3')]/tbody/tr")}
    assert summed == dept
    portal = lhtml.fromstring((sample_site / "annual/index.html").read_text(encoding="utf-8"))
    sections = portal.xpath("//section[contains(@class,'annual-rollup')]")
    assert [text(s.xpath(".//h2")[0]) for s in sections] == ["2025年度报告", "2024年度报告"]
    late = {text(tr.xpath("./th")[0]): text(tr.xpath("./td")[2]) for tr in sections[1].xpath(".//tbody/tr[contains(@class,'status-')]")}
    assert late["示例县示例镇人民政府"] == "逾期未发布" and late["示例县财政局"] == "按时发布"
    county = yaml_rows(SOURCES[COUNTY])
    all_2025 = {tr.get("data-key"): [int(td.text_content()) for td in tr.xpath("./td")]
                for tr in sections[0].xpath(".//table[contains(@class,'annual-t3')]/tbody/tr")}
    assert all_2025 == {k: [a + b for a, b in zip(county[k], dept[k], strict=True)] for k in county}
    assert portal.xpath("//link[@href='../theme/css/annual.css']")
    assert (sample_site / "theme/css/annual.css").is_file()
    assert lhtml.fromstring((sample_site / "index.html").read_text(encoding="utf-8")).xpath("//a[@href='annual/index.html']")


# --- the prefill command --------------------------------------------------------------

def _front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def independent_counts(folder: Path, year: int) -> dict[str, int]:
    """本年制发 / 本年废止 / 现行有效 of a unit's gfxwj items, from their front matter alone."""
    metas = [_front(p) for p in sorted(folder.glob("gfxwj/*.md"))]
    published = {m["index_no"]: m["published"] for m in metas}

    def day(value):
        return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else value.date() \
            if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])

    def public(m, d):
        return not m.get("draft") and m.get("disclosure", "主动公开") == "主动公开" and day(m["published"]) <= d

    def retired(m, d):
        if m.get("validity") in ("失效", "废止", "修订"):
            return True
        if m.get("valid_until") and day(m["valid_until"]) < d:
            return True
        return any(m.get(k) in published and day(published[m[k]]) <= d for k in ("repealed_by", "replaced_by"))

    end, before = dt.date(year, 12, 31), dt.date(year - 1, 12, 31)
    shown = [m for m in metas if public(m, end)]
    return {"issued": sum(day(m["published"]).year == year for m in shown),
            "repealed": sum(retired(m, end) and not retired(m, before) for m in shown),
            "in_force": sum(not retired(m, end) for m in shown)}


def test_prefill_counts_items_copies_last_years_carry_over_and_never_overwrites(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "shili-county/xxgknb/2026-2025-xxgk-niandu-baogao.yaml").unlink()
    result = gongkai("annual-report", "--content", str(content), "--unit", "shili-county", "--year", "2025")
    assert result.returncode == 0, result.stderr
    written = Path(result.stdout.splitlines()[0])
    assert written == content / "shili-county/xxgknb/2026-2025-xxgk-niandu-baogao.yaml"
    assert "待填写" in result.stdout and "一、总体情况（overview）" in result.stdout
    data = yaml.safe_load(written.read_text(encoding="utf-8"))
    expected = independent_counts(content / "shili-county", 2025)
    assert expected == {"issued": 1, "repealed": 1, "in_force": 4}   # what the sample's items say
    assert data["proactive"]["normative"] == expected
    assert data["draft"] is True and data["year"] == 2025
    last = yaml.safe_load((content / "shili-county/xxgknb/2025-2024-xxgk-niandu-baogao.yaml").read_text(encoding="utf-8"))
    assert data["requests"]["carried_in"] == last["requests"]["carried_out"]
    assert data["requests"]["received"] == [0] * 7 and data["appeals"]["review"] == [0] * 5
    # the written file is valid content
    assert gongkai("check", "--content", str(content)).returncode == 0
    edited = written.read_text(encoding="utf-8").replace("【待填写】", "编辑已填写的内容")
    written.write_text(edited, encoding="utf-8")
    again = gongkai("annual-report", "--content", str(content), "--unit", "shili-county", "--year", "2025")
    assert again.returncode == 2 and "already exists; not overwritten" in again.stderr
    assert written.read_text(encoding="utf-8") == edited


@pytest.mark.parametrize("unit, year", [("shili-county", 2026), ("shili-county-czj", 2025), ("shili-county-czj", 2026)])
def test_prefill_table2_equals_an_independent_count(tmp_path, unit, year):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    for old in (content / unit / "xxgknb").glob(f"{year + 1}-{year}-*.yaml"):
        old.unlink()
    result = gongkai("annual-report", "--content", str(content), "--unit", unit, "--year", str(year))
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(Path(result.stdout.splitlines()[0]).read_text(encoding="utf-8"))
    assert data["proactive"]["normative"] == independent_counts(content / unit, year)


def test_prefill_needs_a_unit_and_a_year():
    result = gongkai("annual-report", "--unit", "nowhere", "--year", "2025")
    assert result.returncode == 2 and "UNIT: no unit 'nowhere'" in result.stderr
    result = gongkai("annual-report")
    assert result.returncode == 2 and "expected UNIT=<unit id> YEAR=<YYYY>" in result.stderr
