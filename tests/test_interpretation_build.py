"""Policies and interpretations in built sites: linked both ways, questions citable."""
import datetime as dt
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image
from test_images import photo_with_gps

from conftest import ROOT, UNIT_YAML, build
from gongkai import lifecycle
from gongkai.site import scan


def links(html: str, section_id: str) -> list[str]:
    """hrefs inside the <section> whose heading has id ``section_id``."""
    m = re.search(rf'<section[^>]*aria-labelledby="{section_id}">(.*?)</section>', html, re.S)
    return re.findall(r'href="([^"]+)"', m.group(1)) if m else []


def resolve(page: Path, href: str) -> tuple[Path, str]:
    parts = urlsplit(href)
    return (page.parent / unquote(parts.path)).resolve(), parts.fragment


def test_every_pair_links_both_ways_with_citable_questions(sample_site):
    items = [i for i in scan(ROOT / "content", ROOT / "catalogs").items if lifecycle.is_public(i, dt.date(2026, 11, 22))]
    readings = [i for i in items if i.type == "interpretation"]
    assert len(readings) >= 3 and {i.form for i in readings} >= {"问答", "图解", "文字"}
    assert any(i.unit != next(p for p in items if p.index_no == i.interprets[0]).unit for i in readings)
    for reading in readings:
        page = sample_site / reading.unit / reading.save_as
        html = page.read_text(encoding="utf-8")
        targets = [resolve(page, h)[0] for h in links(html, "h-interprets")]
        for number in reading.interprets:
            policy = next(p for p in items if p.index_no == number)
            policy_page = (sample_site / policy.unit / policy.save_as).resolve()
            assert policy_page in targets, f"{reading.source} does not link to {number}"
            back = policy_page.read_text(encoding="utf-8")
            hrefs = [resolve(policy_page, h) for h in links(back, "h-readings")]
            assert (page.resolve(), "") in hrefs, f"{policy.source} does not link back to {reading.source}"
            anchors = {frag for path, frag in hrefs if path == page.resolve() and frag}
            assert anchors == {pair.anchor for pair in reading.qa}
            for anchor in anchors:
                assert f'<div class="qa-pair" id="{anchor}">' in html


def test_policy_page_names_the_form(sample_site):
    html = (sample_site / "shili-county/art/gfxwj/2024-jiti-jingyingxing-jianshe-yongdi-rushi.html").read_text(encoding="utf-8")
    assert '<span class="form-tag">图解</span>' in html


def test_qa_page_lists_questions_by_policy(sample_site):
    html = (sample_site / "shili-county/zcwd/index.html").read_text(encoding="utf-8")
    assert "示例县人民政府关于印发《示例县城乡居民临时救助实施细则》的通知" in html
    assert html.count('<li><a href="../art/zcjd/2026-linshi-jiuzhu-shishi-xize-wenda.html#q-') == 6
    town = (sample_site / "shili-town/zcwd/index.html").read_text(encoding="utf-8")
    assert 'href="../../shili-county/art/gfxwj/2026-linshi-jiuzhu-shishi-xize.html"' in town  # cross-unit policy


def test_illustration_images_are_resized_and_clean(sample_site):
    folder = sample_site / "shili-county/art/zcjd"
    assert sorted(p.name for p in folder.glob("2024-rushi-tujie*.png")) == [
        "2024-rushi-tujie-1080.png", "2024-rushi-tujie-480.png", "2024-rushi-tujie-960.png"]
    assert not (folder / "2024-rushi-tujie.png").exists()  # the original is never published as is
    assert Image.open(folder / "2024-rushi-tujie-480.png").size == (480, 667)


POLICY = ("---\ntitle: 关于印发办法的通知\ncolumn: gfxwj\nindex_no: 11990102MB0000003X/2025-00001\n"
          "doc_number: 测政发〔2025〕1号\npublished: 2025-03-03\n---\n正文\n")
READING = ("---\ntitle: 办法问答\ncolumn: zcjd\ntype: interpretation\ninterprets: 11990102MB0000003X/2025-00001\n"
           "form: {form}\npublished: 2025-03-04\nattachments: [scan.jpg]\nqa:\n{qa}---\n\n![现场照片](photo.jpg)\n")


def built_anchors(out: Path) -> dict[str, str]:
    html = (out / "demo/art/zcjd/r.html").read_text(encoding="utf-8")
    return dict(re.findall(r'<div class="qa-pair" id="(q-[0-9a-f]+)">\s*<dt><span[^>]*>问</span><a class="q-link" href="#\1">([^<]+)</a>', html))


def test_reordering_questions_keeps_every_anchor(make_tree, tmp_path):
    qa = ["  - {q: 谁可以申请？, a: 本县居民。}\n", "  - {q: 到哪里申请？, a: 镇政府。}\n", "  - {q: 多久办结？, a: 10个工作日。}\n"]
    files = {"demo/_unit.yaml": UNIT_YAML, "demo/gfxwj/p.md": POLICY,
             "demo/zcjd/r.md": READING.format(form="问答", qa="".join(qa))}
    content = make_tree(files)
    photo_with_gps(content / "demo/zcjd/photo.jpg")
    photo_with_gps(content / "demo/zcjd/scan.jpg")
    first = tmp_path / "first"
    assert build(content, first).returncode == 0
    (content / "demo/zcjd/r.md").write_text(READING.format(form="问答", qa="".join(reversed(qa))), encoding="utf-8")
    second = tmp_path / "second"
    assert build(content, second).returncode == 0
    before, after = built_anchors(first), built_anchors(second)
    assert len(before) == 3 and before == after
    assert list(before.values()) == ["谁可以申请？", "到哪里申请？", "多久办结？"]
    assert list(after.values()) == ["多久办结？", "到哪里申请？", "谁可以申请？"]
    # and no GPS from the editor's camera reached the output, in the body images or the attachment
    jpgs = sorted((first / "demo/art/zcjd").glob("*.jpg"))
    assert [p.name for p in jpgs] == ["photo-1200.jpg", "photo-480.jpg", "photo-960.jpg", "scan.jpg"]
    for path in jpgs:
        assert dict(Image.open(path).getexif()) == {} and b"SpyCam" not in path.read_bytes()
