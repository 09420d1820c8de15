"""``make hooks``: a git pre-commit hook that checks what is staged, before it is committed.

The hook runs ``python -m gongkai precommit``, which validates only the staged item
files (their staged text, not the working copy), with every unit's staged
``_unit.yaml``, plus the cross-unit facts: a staged 索引号 must be unique across all
units, and what a staged item refers to must exist. Other items are not read as
YAML: their 索引号 is taken from their ``index_no:`` line, which keeps the hook fast
on a large repository. ``make check`` (CI) still checks everything.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import catalogs as catalogs_mod
from ..errors import Problem, sort, summary
from ..fields import q
from ..items import as_list
from ..schema import read_item
from ..site import ITEM_SUFFIXES, declared_index_nos
from ..units import load_units

MARK = "# installed by gongkai (make hooks)"


def _git(*args: str, cwd: Path, binary: bool = False, input: bytes | None = None):
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return out.stdout if binary else out.stdout.decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    """Install the pre-commit hook into this repository."""
    ap = argparse.ArgumentParser(prog="gongkai hooks", description="安装提交前检查 (install the pre-commit hook)")
    ap.add_argument("--content", default="content")
    ap.add_argument("--catalogs", default="catalogs")
    ap.add_argument("--repo", type=Path, default=Path.cwd())
    args = ap.parse_args(argv)
    try:
        top = Path(_git("rev-parse", "--show-toplevel", cwd=args.repo).strip())
        hooks = Path(_git("rev-parse", "--git-path", "hooks", cwd=top).strip())
    except (RuntimeError, OSError) as exc:
        print(f"不是 git 仓库，无法安装 (not a git repository): {exc}", file=sys.stderr)
        return 2
    hooks = hooks if hooks.is_absolute() else top / hooks
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / "pre-commit"
    if hook.exists() and MARK not in hook.read_text(encoding="utf-8", errors="replace"):
        backup = hook.with_name("pre-commit.before-gongkai")
        hook.rename(backup)
        print(f"原有的 pre-commit 已改名为 {backup.name} (existing hook kept as {backup.name})")
    plugins = Path(__file__).resolve().parents[2]
    hook.write_text(
        "#!/bin/sh\n"
        f"{MARK}: checks the staged content; `git commit --no-verify` skips it\n"
        'cd "$(git rev-parse --show-toplevel)" || exit 1\n'
        f"PYTHONPATH={shlex.quote(str(plugins))} exec {shlex.quote(sys.executable)} -m gongkai precommit "
        f"--content {shlex.quote(args.content)} --catalogs {shlex.quote(args.catalogs)}\n", encoding="utf-8")
    hook.chmod(0o755)
    print(f"已安装提交前检查 (installed): {hook}")
    return 0


def staged_paths(top: Path, content: str) -> tuple[list[str], bool]:
    """Staged (added, copied, modified, renamed) files under ``content``; and whether
    anything under it was deleted (a deletion may break references elsewhere)."""
    out = _git("diff", "--cached", "--name-status", "-z", "--no-renames", "--", content, cwd=top)
    fields = out.split("\0")
    changed, deleted = [], False
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if status == "D":
            deleted = True
        elif status:
            changed.append(path)
    return changed, deleted


def precommit(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gongkai precommit")
    ap.add_argument("--content", default="content")
    ap.add_argument("--catalogs", default="catalogs")
    args = ap.parse_args(argv)
    top = Path.cwd()
    try:
        changed, deleted = staged_paths(top, args.content)
    except (RuntimeError, OSError) as exc:
        print(f"提交前检查无法读取暂存区 (cannot read the index): {exc}", file=sys.stderr)
        return 1
    items = [p for p in changed if Path(p).suffix in ITEM_SUFFIXES and Path(p).name != "_unit.yaml"]
    units_changed = any(Path(p).name == "_unit.yaml" for p in changed)
    if not items and not units_changed:
        return 0
    with tempfile.TemporaryDirectory(prefix="gongkai-precommit-") as tmp:
        problems = check_staged(top, Path(tmp), args.content, Path(args.catalogs), items)
    errors = [p for p in problems if p.severity == "error"]
    for p in sort(problems):
        print(p, file=sys.stderr)
    if errors:
        print(f"提交前检查未通过，未提交：{summary(problems)}；改正后再 git add 和 git commit "
              "(commit refused by the pre-commit check)", file=sys.stderr)
        return 1
    if deleted:
        print("提示：本次提交删除了文件，请运行 make check 确认没有文件再引用它们 (files deleted: run make check)",
              file=sys.stderr)
    return 0


def check_staged(top: Path, tmp: Path, content: str, catalog_dir: Path, items: list[str]) -> list[Problem]:
    """Validate the staged ``items`` in a copy of what the index holds for them."""
    unit_files = [p for p in _git("ls-files", "-z", "--", f"{content}/*/_unit.yaml", cwd=top).split("\0") if p]
    folders = sorted({str(Path(p).parent) for p in items})
    beside = [p for p in _git("ls-files", "-z", "--", *folders, cwd=top).split("\0")
              if p and str(Path(p).parent) in folders and Path(p).suffix not in ITEM_SUFFIXES] if folders else []
    wanted = sorted(set(unit_files) | set(items) | set(beside))
    _git("checkout-index", f"--prefix={tmp}/", "-z", "--stdin", cwd=top, input="\0".join(wanted).encode())
    cats = catalogs_mod.load(str((top / catalog_dir).resolve()))
    units, problems = load_units(tmp / content, cats)
    read = []
    for rel in items:
        unit = units.get(Path(rel).relative_to(content).parts[0])
        if unit is None:
            continue
        item, item_problems = read_item(tmp / rel, unit, cats)
        problems += item_problems
        if item is not None:
            read.append(item)
    problems += _across(top, content, items, read, cats)
    prefix = str(tmp.resolve()) + "/"
    return [Problem(p.path.replace(prefix, ""), p.line, p.field, p.message.replace(prefix, ""), p.label, p.rule,
                    p.severity) for p in problems]


def _across(top: Path, content: str, staged: list[str], read: list, cats) -> list[Problem]:
    """索引号 unique across units, references resolve: against every other item's line."""
    labels = cats.item_labels
    others: dict[str, str] = {}
    staged_set = set(staged)
    root = top / content
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if path.suffix in ITEM_SUFFIXES and path.name != "_unit.yaml" and rel not in staged_set \
                and not any(p.startswith(".") for p in path.relative_to(root).parts) and path.is_file() and not path.is_symlink():
            for n in declared_index_nos(path):
                others.setdefault(n, rel)
    problems = []
    mine: dict[str, str] = {}
    for item in read:
        if not item.index_no:
            continue
        first = others.get(item.index_no) or mine.get(item.index_no)
        if first:
            problems.append(Problem(item.source, item.line("index_no"), "index_no",
                                    f"索引号 {item.index_no} 已被 {first} 使用，请为本文件另取一个，make new 会给出下一个空号 "
                                    f"(expected a unique index number, {q(item.index_no)} is already used)",
                                    labels.get("index_no"), rule="item.duplicate"))
        mine.setdefault(item.index_no, item.source)
    known = set(others) | set(mine)
    for item in read:
        for key in ("repealed_by", "replaced_by", "interprets"):
            for ref in as_list(getattr(item, key)):
                if ref not in known:
                    problems.append(Problem(item.source, item.line(key), key,
                                            f"no item has index number {q(ref)} (expected the 索引号 of an item in "
                                            "any unit)", labels.get(key), rule="item.reference"))
    return problems
