"""Lifecycle in whole builds of the shipped sample, on the dates that matter."""
import hashlib
import json
import re

import pytest

from conftest import ROOT, build

COUNTY = "shili-county"
REPEALED = "art/gfxwj/2021-nongcun-dibao-guanli-banfa.html"
REPEALING = "art/gfxwj/2026-feizhi-nongcun-dibao-banfa.html"
EXPIRING = "art/gfxwj/2023-chengzhen-zhufang-baozhang-banfa.html"
REVISED = "art/gfxwj/2022-xxgk-kaohe-banfa.html"
WITHDRAWN = "art/shjz/2026-q3-dibao-nixinzeng-gongshi.html"
# Text of items that must never be in any output file on 2026-11-22: a draft, an
# embargoed notice, an 依申请公开 record, and the body of a 公示 past its period.
SECRETS = ("内部讨论稿", "对解放路实施单双号限行", "东至环城东路", "HY-2026-15", "王秀兰", "李福生", "990102198503120236",
           "990102196207051142", "13907770123", "13907770456", "城关镇东街社区", "0991-62000099")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Builds of the sample on each date of interest."""
    cache = {}

    def at(day: str):
        if day not in cache:
            out = tmp_path_factory.mktemp(day) / "output"
            result = build(ROOT / "content", out, env={"BUILD_DATE": day})
            assert result.returncode == 0, result.stderr
            cache[day] = (out, result)
        return cache[day]

    return at


def text(out, rel):
    return (out / COUNTY / rel).read_text(encoding="utf-8")


def listed(out, column, rel):
    page = text(out, f"{column}/index.html")
    return f'href="../{rel}"' in page


def test_no_secret_text_in_any_output_file(built, sample_site):
    for out in (sample_site, built("2026-11-22")[0]):
        for path in out.rglob("*"):
            if path.is_file() and path.suffix in (".html", ".xml", ".json", ".css", ".csv", ".txt"):
                data = path.read_text(encoding="utf-8")
                for secret in SECRETS:
                    assert secret not in data, f"{secret} in {path.relative_to(out)}"


def test_not_public_items_leave_no_file(built):
    out, _ = built("2026-11-22")
    art = out / COUNTY / "art"
    for stem in ("2026-xianxing-tonggao-zhengqiu", "2026-chunjie-yanhua-jinfang-tonggao", "2026-changwuhui-jiyao-15"):
        assert not list(art.rglob(f"{stem}*")), stem


def test_publicity_period_before_and_after(built):
    during, _ = built("2026-10-15")
    page = text(during, WITHDRAWN)
    assert "990102198503120236" in page and "王秀兰" in page
    after, _ = built("2026-10-16")
    page = text(after, WITHDRAWN)
    assert "公示期已满，公示内容已撤下。" in page
    assert "11990102MB0000003X/</span><wbr><span class=\"tok\">2026-00019" in page and "示例县2026年第三季度城乡低保拟新增对象名单公示" in page
    assert '<td><time class="tok" datetime="2026-10-08">2026-10-08</time></td>' in page and "2026-10-15" in page
    feed = (after / COUNTY / "feed.xml").read_text(encoding="utf-8")
    assert "拟新增对象名单公示" in feed and "990102198503120236" not in feed and "13907770123" not in feed


def test_expiry_boundary_day(built):
    last, _ = built("2025-12-31")
    assert listed(last, "gfxwj", EXPIRING) and not listed(last, "fzhsx", EXPIRING)
    assert "status-banner" not in text(last, EXPIRING)
    after, _ = built("2026-01-01")
    assert listed(after, "fzhsx", EXPIRING) and not listed(after, "gfxwj", EXPIRING)
    page = text(after, EXPIRING)
    assert "本文件失效" in page and "（自 <time datetime=\"2026-01-01\">2026-01-01</time> 起）" in page
    assert "有效期至2025-12-31届满" in page
    assert re.search(r"<th scope=\"row\">效力状况</th><td>失效</td>", page)


def test_repeal_links_both_ways_and_keeps_the_url(built):
    before, result = built("2026-11-09")
    assert listed(before, "gfxwj", REPEALED)
    assert not (before / COUNTY / REPEALING).exists()
    # the repealing decision is not public yet: never named, and the build says so
    assert "关于废止《示例县农村最低生活保障管理办法》的决定" not in text(before, REPEALED)
    assert "repealed_by: 11990102MB0000003X/2026-00018 is not public on 2026-11-09; shown as plain text" in result.stderr
    after, result = built("2026-11-10")
    assert (after / COUNTY / REPEALED).is_file()  # same URL, retired
    assert listed(after, "fzhsx", REPEALED) and not listed(after, "gfxwj", REPEALED)
    page = text(after, REPEALED)
    assert "本文件已废止" in page
    assert '<a href="../../art/gfxwj/2026-feizhi-nongcun-dibao-banfa.html">示例县人民政府关于废止' in page
    back = text(after, REPEALING)
    assert "本文件废止了" in back and 'href="../../art/gfxwj/2021-nongcun-dibao-guanli-banfa.html"' in back
    assert "现行有效 -> 已废止: 示例县人民政府关于印发《示例县农村最低生活保障管理办法》的通知" in result.stdout


def test_revised_document_links_to_its_replacement(built, sample_site):
    page = (sample_site / COUNTY / REVISED).read_text(encoding="utf-8")
    assert "本文件已修订" in page and 'href="../../art/gfxwj/2025-zhengfu-xinxi-gongkai-kaohe-banfa.html"' in page
    back = (sample_site / COUNTY / "art/gfxwj/2025-zhengfu-xinxi-gongkai-kaohe-banfa.html").read_text(encoding="utf-8")
    assert "本文件修订了" in back and 'href="../../art/gfxwj/2022-xxgk-kaohe-banfa.html"' in back


def test_retired_listing_shows_state_and_date(sample_site):
    page = (sample_site / COUNTY / "fzhsx/index.html").read_text(encoding="utf-8")
    rows = re.findall(r'href="\.\./(art/[^"]+)".*?<td class="c-state" data-label="效力状况">(.*?)</td>\s*'
                      r'<td class="c-date" data-label="失效日期"><time[^>]*>(.*?)</time></td>', page, re.S)
    assert rows == [(REPEALED, "已废止", "2026-11-10"), (EXPIRING, "失效", "2026-01-01"), (REVISED, "已修订", "2025-03-12")]


def test_embargoed_notice_appears_on_its_day(built):
    out, result = built("2026-12-01")
    assert "环城东路" in text(out, "art/gsgg/2026-chunjie-yanhua-jinfang-tonggao.html")
    assert "未公开 -> 现行有效: 示例县人民政府关于2027年春节期间城区禁止燃放烟花爆竹的通告" in result.stdout


def test_state_report_file(built):
    out, _ = built("2026-11-29")
    report = json.loads((out / COUNTY / "lifecycle.json").read_text(encoding="utf-8"))
    assert report["as_of"] == "2026-11-29" and report["changes_since"] == "2026-11-28"
    assert [(c["index_no"], c["from"], c["to"]) for c in report["changes"]] == [
        ("11990102MB0000003X/2026-00020", "公示中", "公示期满")]
    assert report["states"]["art/shjz/2026-q3-dibao-nixinzeng-gongshi.html"] == "closed"
    assert "art/qtwj/2026-changwuhui-jiyao-15.html" not in report["states"]


def test_rebuild_over_previous_output_reports_the_difference(tmp_path):
    out = tmp_path / "output"
    assert build(ROOT / "content", out, env={"BUILD_DATE": "2026-11-28"}).returncode == 0
    result = build(ROOT / "content", out, env={"BUILD_DATE": "2026-12-01"})
    assert "lifecycle: 2 item(s) differ in state from the previous build" in result.stdout


def test_content_is_never_modified(tmp_path):
    def digest():
        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "content").rglob("*")) if p.is_file()}
    before = digest()
    assert build(ROOT / "content", tmp_path / "out", env={"BUILD_DATE": "2027-06-01"}).returncode == 0
    assert digest() == before


def test_withdrawn_notice_loses_its_images_and_attachments(make_tree, tmp_path):
    from PIL import Image

    from conftest import UNIT_YAML
    notice = ("---\ntitle: 拟录用人员公示\ncolumn: gsgg\ntype: notice\nindex_no: 11990102MB0000003X/2026-00001\n"
              "published: 2026-10-01\npublicity_until: 2026-10-08\nattachments: [mingdan.pdf]\n---\n\n"
              "![拟录用人员名单扫描件](mingdan.png)\n")
    content = make_tree({"demo/_unit.yaml": UNIT_YAML, "demo/gsgg/n.md": notice, "demo/gsgg/mingdan.pdf": b"%PDF-1.4 names"})
    Image.new("RGB", (600, 400), "white").save(content / "demo/gsgg/mingdan.png")
    during, after = tmp_path / "during", tmp_path / "after"
    assert build(content, during, env={"BUILD_DATE": "2026-10-08"}).returncode == 0
    assert build(content, after, env={"BUILD_DATE": "2026-10-09"}).returncode == 0
    assert sorted(p.name for p in (during / "demo/art/gsgg").iterdir()) == [
        "mingdan-480.png", "mingdan-600.png", "mingdan.pdf", "n.html"]
    assert sorted(p.name for p in (after / "demo/art/gsgg").iterdir()) == ["n.html"]
    page = (after / "demo/art/gsgg/n.html").read_text(encoding="utf-8")
    assert "mingdan" not in page and "拟录用人员名单扫描件" not in page
