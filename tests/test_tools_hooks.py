"""make hooks: the pre-commit hook refuses a commit of bad content, in a temporary repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, UNIT_YAML

ITEM = "---\ntitle: 文件\ncolumn: qtwj\nindex_no: 11990102MB0000003X/2026-{n:05d}\npublished: {published}\n---\n正文\n"


def git(repo, *args, check=True):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "content" / "u" / "qtwj").mkdir(parents=True)
    shutil.copytree(ROOT / "catalogs", repo / "catalogs")
    (repo / "content" / "u" / "_unit.yaml").write_text(UNIT_YAML, encoding="utf-8")
    (repo / "content" / "u" / "qtwj" / "one.md").write_text(ITEM.format(n=1, published="2026-01-02"), encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "start")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    installed = subprocess.run([sys.executable, "-m", "gongkai", "hooks"], cwd=repo, env=env, capture_output=True,
                               text=True, timeout=60)
    assert installed.returncode == 0, installed.stderr
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()
    return repo


def test_commit_of_a_bad_date_is_refused_with_the_message(repo):
    (repo / "content" / "u" / "qtwj" / "two.md").write_text(ITEM.format(n=2, published="'2026-11-31'"), encoding="utf-8")
    git(repo, "add", "content/u/qtwj/two.md")
    result = git(repo, "commit", "-q", "-m", "bad", check=False)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "content/u/qtwj/two.md:5: published (发布日期): 11月没有31日：请改为实有的日期 (no such date '2026-11-31', "
        "expected a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM')")
    assert "提交前检查未通过，未提交：1 error(s) in 1 file(s)" in result.stderr
    assert git(repo, "log", "--format=%s").stdout.split() == ["start"]


def test_the_staged_text_is_checked_not_the_working_copy(repo):
    path = repo / "content" / "u" / "qtwj" / "two.md"
    path.write_text(ITEM.format(n=2, published="'2026-11-31'"), encoding="utf-8")
    git(repo, "add", "content/u/qtwj/two.md")
    path.write_text(ITEM.format(n=2, published="2026-11-30"), encoding="utf-8")   # fixed, but not staged
    assert git(repo, "commit", "-q", "-m", "bad", check=False).returncode != 0
    git(repo, "add", "content/u/qtwj/two.md")
    assert git(repo, "commit", "-q", "-m", "good", check=False).returncode == 0


def test_duplicate_index_no_against_unchanged_items_is_refused(repo):
    (repo / "content" / "u" / "qtwj" / "three.md").write_text(ITEM.format(n=1, published="2026-03-01"),
                                                              encoding="utf-8")
    git(repo, "add", ".")
    result = git(repo, "commit", "-q", "-m", "dup", check=False)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "content/u/qtwj/three.md:4: index_no (索引号): 索引号 11990102MB0000003X/2026-00001 已被 content/u/qtwj/one.md "
        "使用，请为本文件另取一个，make new 会给出下一个空号 (expected a unique index number, "
        "'11990102MB0000003X/2026-00001' is already used)")


def test_commits_without_content_changes_pass(repo):
    (repo / "README").write_text("x", encoding="utf-8")
    git(repo, "add", "README")
    assert git(repo, "commit", "-q", "-m", "readme", check=False).returncode == 0
