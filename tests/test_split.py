"""Split builds (issue 15, scale-out): ``--units a,b,c`` builds a part, ``merge`` joins the
parts; the merged tree equals one full build, file by file, and parts that do not fit
together are refused with one message naming the reason."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import AS_OF, ROOT, build, gongkai

G1 = "shili-city,shili-province"
G2 = "shili-county,shili-county-czj,shili-town"
TOWN_ITEM = "shili-town/xxgkzd/2025-zhengwu-gongkai-gongzuo-zhidu.md"
# Links the checker must still find when the page and its target are built in different parts.
LINKS = ("\n\n[市里不存在的文件](../../../shili-city/art/no-such-page.html)"
         "\n\n[市首页不存在的锚点](../../../shili-city/index.html#no-such-anchor)"
         "\n\n[本单位不存在的文件](../no-such-local-page.html)\n")


def merge(parts: list[Path], output: Path, content: Path, *, env: dict | None = None) -> subprocess.CompletedProcess:
    return gongkai("merge", "--content", str(content), "--output", str(output),
                   "--settings", str(ROOT / "pelicanconf.py"), "--catalogs", str(ROOT / "catalogs"),
                   "--parts", *map(str, parts), env=env)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def popen_build(content: Path, output: Path, units: str, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "BUILD_DATE": AS_OF, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "gongkai", "html", "--content", str(content), "--output",
                             str(output), "--settings", str(ROOT / "pelicanconf.py"), "--catalogs",
                             str(ROOT / "catalogs"), "--units", units, "--jobs", "1"],
                            cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """The sample (with cross-unit and local broken links) built whole, and as two parts built
    at the same time (as `make -j` runs them), then merged."""
    tmp = tmp_path_factory.mktemp("split")
    content = tmp / "content"
    shutil.copytree(ROOT / "content", content)
    with open(content / TOWN_ITEM, "a", encoding="utf-8") as f:
        f.write(LINKS)
    full = build(content, tmp / "full" / "output")
    assert full.returncode == 0, full.stderr
    jobs = [popen_build(content, tmp / "g1", G1), popen_build(content, tmp / "g2", G2)]
    for job in jobs:
        out, err = job.communicate(timeout=600)
        assert job.returncode == 0, err
    merged = merge([tmp / "g1", tmp / "g2"], tmp / "merged" / "output", content)
    assert merged.returncode == 0, merged.stderr
    return {"tmp": tmp, "content": content, "full": tmp / "full" / "output", "merged": tmp / "merged" / "output",
            "g1": tmp / "g1", "g2": tmp / "g2", "merge_out": merged.stdout}


def test_merged_tree_equals_full_build(split):
    full, merged = tree(split["full"]), tree(split["merged"])
    assert sorted(merged) == sorted(full)
    differ = [rel for rel in full if full[rel] != merged[rel]]
    assert differ == []
    assert not any(rel.startswith("_parts/") for rel in merged)
    assert "merged 2 part(s), 5 units" in split["merge_out"]


def test_cross_unit_links_are_checked_at_merge(split):
    """The town's links into the city are built in another part: the subset build leaves them
    to merge, which finds the missing page and anchor as a full build does."""
    part = json.loads((split["g2"] / "_parts" / "check" / "shili-town.json").read_text(encoding="utf-8"))
    assert any(href.endswith("no-such-page.html") for _, _, href in part["deferred"])
    town_found = [f["found"] for f in part["report"]["findings"] if f["rule"] == "links.internal"]
    assert not any("no-such-page" in f for f in town_found)     # not judged in the part
    report = json.loads((split["merged"] / "check" / "check.json").read_text(encoding="utf-8"))
    town = next(u for u in report["units"] if u["id"] == "shili-town")
    found = {f["found"]: f["path"] for f in town["findings"] if f["rule"] == "links.internal"}
    assert any("no-such-page.html" in f for f in found)
    assert any("#no-such-anchor" in f for f in found)
    # the part's own link finding named its folder (g2/…); merged, it names the site's
    local = [path for f, path in found.items() if "no-such-local-page" in f]
    assert local and all(path.startswith("output/shili-town/") for path in local)


def test_part_carries_manifest_and_only_its_units(split):
    g1 = split["g1"]
    manifest = json.loads((g1 / "_parts" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["units"] == ["shili-city", "shili-province"]
    assert manifest["as_of"] == AS_OF and len(manifest["inputs"]) == 64
    assert (g1 / "shili-city" / "index.html").is_file()
    assert not (g1 / "shili-county").exists()


def test_merge_refuses_parts_of_another_build_date(split, tmp_path):
    other = popen_build(split["content"], tmp_path / "g2-other-day", G2, env={"BUILD_DATE": "2026-11-23"})
    _, err = other.communicate(timeout=600)
    assert other.returncode == 0, err
    out = tmp_path / "output"
    result = merge([split["g1"], tmp_path / "g2-other-day"], out, split["content"])
    assert result.returncode == 2
    assert "分组的生成日期 2026-11-23 与本次合并的 BUILD_DATE 2026-11-22 不同" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_merge_refuses_overlapping_parts(split, tmp_path):
    overlap = popen_build(split["content"], tmp_path / "g3", "shili-town")
    _, err = overlap.communicate(timeout=600)
    assert overlap.returncode == 0, err
    result = merge([split["g1"], split["g2"], tmp_path / "g3"], tmp_path / "output", split["content"])
    assert result.returncode == 2
    assert "单位 'shili-town' 同时出现在两个分组中" in result.stderr


def test_merge_refuses_a_missing_unit_and_keeps_the_last_output(split, tmp_path):
    out = tmp_path / "output"
    shutil.copytree(split["merged"], out)
    before = tree(out)
    result = merge([split["g1"]], out, split["content"])
    assert result.returncode == 2
    assert "缺少单位：shili-county, shili-county-czj, shili-town" in result.stderr
    assert tree(out) == before


def test_merge_refuses_parts_of_other_content(split, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(split["content"], content)
    with open(content / TOWN_ITEM, "a", encoding="utf-8") as f:
        f.write("\n补充一句。\n")
    result = merge([split["g1"], split["g2"]], tmp_path / "output", content)
    assert result.returncode == 2
    assert "分组是用不同的内容、目录、主题、设置或代码构建的" in result.stderr


def test_merge_refuses_a_folder_that_is_not_a_part(split, tmp_path):
    result = merge([split["g1"], split["full"]], tmp_path / "output", split["content"])
    assert result.returncode == 2
    assert "缺少分组清单" in result.stderr and str(split["full"]) in result.stderr


@pytest.mark.parametrize(("units", "message"), [
    ("shili-city,no-such-unit", "没有编号为 'no-such-unit' 的单位"),
    ("", "UNITS: 单位列表为空"),
    ("shili-city,,shili-town", "UNITS: 单位编号 '' 格式不对"),
    ("shili-city,Shili Town", "UNITS: 单位编号 'Shili Town' 格式不对"),
    ("shili-city,shili-city", "UNITS: 单位 'shili-city' 写了两次"),
])
def test_units_usage_errors_exit_2(tmp_path, units, message):
    out = tmp_path / "output"
    result = build(ROOT / "content", out, "--units", units)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_publish_parts_merge_to_the_publish_build(tmp_path):
    """Production settings: absolute URLs, minified stylesheets (the parts' are minified once),
    no checker reports in the parts."""
    settings = str(ROOT / "publishconf.py")

    def run(*args: str) -> subprocess.CompletedProcess:
        return gongkai(*args, "--content", str(ROOT / "content"), "--settings", settings,
                       "--catalogs", str(ROOT / "catalogs"))

    full = run("html", "--output", str(tmp_path / "full" / "output"))
    assert full.returncode == 0, full.stderr
    for name, units in (("g1", G1), ("g2", G2)):
        part = run("html", "--output", str(tmp_path / name), "--units", units)
        assert part.returncode == 0, part.stderr
    assert not (tmp_path / "g1" / "_parts" / "check").exists()
    merged = run("merge", "--output", str(tmp_path / "merged" / "output"), "--parts",
                 str(tmp_path / "g1"), str(tmp_path / "g2"))
    assert merged.returncode == 0, merged.stderr
    full_tree, merged_tree = tree(tmp_path / "full" / "output"), tree(tmp_path / "merged" / "output")
    assert sorted(merged_tree) == sorted(full_tree)
    assert [rel for rel in full_tree if full_tree[rel] != merged_tree[rel]] == []
    css = merged_tree["theme/css/main.css"]
    assert b"\n\n" not in css and len(css) < len((ROOT / "theme" / "static" / "css" / "main.css").read_bytes())
    # the pelicanconf parts do not fit a publishconf merge: other settings
    wrong = gongkai("merge", "--content", str(ROOT / "content"), "--settings", str(ROOT / "pelicanconf.py"),
                    "--catalogs", str(ROOT / "catalogs"), "--output", str(tmp_path / "wrong"), "--parts",
                    str(tmp_path / "g1"), str(tmp_path / "g2"))
    assert wrong.returncode == 2 and "不同的内容、目录、主题、设置或代码" in wrong.stderr


@pytest.mark.parametrize(("rel", "text", "message"), [
    ("_parts/check/shili-city.json", '{"report": {"findings": [{"rule": 3}]}, "deferred": []}', "检查结果格式不对"),
    ("_parts/check/shili-city.json", "{not json", "检查结果 (checker part)无法读取"),
    ("_parts/manifest.json", '{"format": "gongkai-part", "version": 1, "units": ["../etc"]}', "分组清单字段不完整"),
    ("_parts/manifest.json", "[]", "不是本版本的分组清单"),
])
def test_merge_refuses_damaged_parts(split, tmp_path, rel, text, message):
    part = tmp_path / "g1"
    shutil.copytree(split["g1"], part)
    (part / rel).write_text(text, encoding="utf-8")
    result = merge([part, split["g2"]], tmp_path / "output", split["content"])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "output").exists()


def test_plan_keeps_city_subtrees_whole_and_balances_items():
    from gongkai.merge import plan

    units = {"p": (None, 5), "c1": ("p", 10), "k1": ("c1", 40), "t1": ("k1", 30),
             "c2": ("p", 20), "k2": ("c2", 20), "c3": ("p", 50)}
    groups = plan(units, 2)
    assert sorted(u for g in groups for u in g) == sorted(units)
    assert any({"c1", "k1", "t1"} <= set(g) for g in groups)          # a city with its subtree
    assert any({"c2", "k2"} <= set(g) for g in groups)
    # largest first, each into the lightest group: c1's 80 | c3 50 + c2's 40; then p 5 joins c1's
    assert groups == [["c1", "k1", "p", "t1"], ["c2", "c3", "k2"]]
    assert len(plan(units, 10)) == 4                                    # never more groups than subtrees


def test_groups_command_prints_unit_lists():
    result = gongkai("groups", "--content", str(ROOT / "content"), "--catalogs", str(ROOT / "catalogs"),
                     "--groups", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["shili-city,shili-county,shili-county-czj,shili-town", "shili-province"]


def test_merge_refuses_a_symlinked_parts_folder(split, tmp_path):
    """A part whose _parts/ is a link to another part's is refused, not followed."""
    part = tmp_path / "g1"
    shutil.copytree(split["g1"], part)
    shutil.rmtree(part / "_parts")
    (part / "_parts").symlink_to(split["g1"] / "_parts", target_is_directory=True)
    result = merge([part, split["g2"]], tmp_path / "output", split["content"])
    assert result.returncode == 2, result.stderr
    assert "分组资料目录是符号链接" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "output").exists()



def test_merge_refuses_a_part_whose_page_is_a_link(split, tmp_path):
    """A page of a part that is a link to a file outside the parts is refused, never
    followed: its target could be any file of the machine."""
    outside = tmp_path / "outside.html"
    outside.write_text('<p id="no-such-anchor">SECRET</p>', encoding="utf-8")
    part = tmp_path / "g1"
    shutil.copytree(split["g1"], part)
    (part / "shili-city" / "index.html").unlink()
    (part / "shili-city" / "index.html").symlink_to(outside)
    result = merge([part, split["g2"]], tmp_path / "output", split["content"])
    assert result.returncode == 2, result.stderr
    assert "shili-city/index.html" in result.stderr and "符号链接" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "output").exists()
