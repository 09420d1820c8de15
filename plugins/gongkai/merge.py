"""Province scale-out: subset builds (``UNITS=a,b,c``) and the merge of their outputs.

A subset build scans and validates every unit (the registry, the unit tree, the 三公
and 年报 series are cross-unit facts) but renders only the named units' folders. Beside
them it writes ``_parts/`` (never copied to the site):

    _parts/manifest.json      as-of date, the hash of every input, the unit ids
    _parts/search/<unit>.json the unit's search filter values (the portal search page)
    _parts/check/<unit>.json  the unit's checker report, and its links into units built
                              elsewhere (checked by merge in the merged tree)

``merge`` checks that the parts fit together (same inputs and as-of date, no unit
twice, none missing), hard-links their unit folders into a new tree, and ends with
the full build's own final stage (``build.finish``: portal, annual portal, portal
search page, checker summary, minify, swap under the same lock), so a merged tree
equals a full build file by file. The lifecycle changes are read from each unit's
``lifecycle.json``, which is in its folder already.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import html
import json
import os
import posixpath
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors, paths
from .annual import series as annual_series
from .build import (EXIT_USAGE, BuildError, _date, _pelican_settings, _remove, build_lock, check, check_output, finish,
                    in_child, recover, unit_summaries)
from .check import links
from .facts import Facts
from .incremental.store import Cache
from .incremental.validate import installed
from .search import STASH, zhmap
from .units import UNIT_ID

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from .check import Report
    from .site import Site

PARTS = "_parts"
FORMAT, VERSION = "gongkai-part", 1
MAX_PART_JSON = 50_000_000          # a part's JSON file (a unit's checker report can be long)
CODE = Path(__file__).resolve().parent


def parse_units(text: str) -> list[str]:
    """``a,b,c`` -> the unit ids; a usage error (exit 2) naming what is wrong."""
    ids = [part.strip() for part in text.split(",")]
    if not any(ids):
        raise BuildError("UNITS: 单位列表为空，请写出单位编号，用逗号分隔，如 UNITS=shili-city,shili-county "
                         "(empty list of unit ids)", EXIT_USAGE)
    seen: set[str] = set()
    for uid in ids:
        if not UNIT_ID.match(uid):
            raise BuildError(f"UNITS: 单位编号 {uid!r} 格式不对，应由小写字母、数字和连字符组成，用逗号分隔 "
                             f"(malformed unit id {uid!r} in {text!r}: expected ids [a-z0-9-]+ separated by commas)",
                             EXIT_USAGE)
        if uid in seen:
            raise BuildError(f"UNITS: 单位 '{uid}' 写了两次 (unit id '{uid}' given twice)", EXIT_USAGE)
        seen.add(uid)
    return sorted(ids)


def select(site: Site, ids: list[str]) -> list[str]:
    """The ids, each a unit of the content; an unknown one is a usage error naming it."""
    for uid in ids:
        if uid not in site.units:
            known = sorted(site.units)
            shown = ", ".join(known[:12]) + (f" … ({len(known)} in all)" if len(known) > 12 else "")
            raise BuildError(f"UNITS: 没有编号为 '{uid}' 的单位（内容目录中没有这个单位文件夹）"
                             f"(unknown unit id '{uid}'; units: {shown})", EXIT_USAGE)
    return sorted(ids)


# --- what the parts were built from ---------------------------------------------------

def _hash_tree(h, root: Path, label: str) -> None:
    """Every file under ``root`` (path and bytes; a symlink by its target), in sorted order."""
    h.update(f"\0tree:{label}\0".encode())
    if not root.is_dir():
        h.update(b"\0missing\0")
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        base = Path(folder)
        for name in sorted(files) + [d for d in dirs if (base / d).is_symlink()]:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if "__pycache__" in path.parts:
                continue
            h.update(f"\0{rel}\0".encode("utf-8", "surrogateescape"))
            if path.is_symlink():
                h.update(b"->" + os.fsencode(os.readlink(path)))
            else:
                with open(path, "rb") as f:
                    h.update(hashlib.file_digest(f, "sha256").digest())


def _plain(value):
    """The JSON-able part of a setting (functions and objects are left out: their repr varies)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return None


# Settings that are paths on this machine: their contents are hashed instead.
PATH_SETTINGS = frozenset({"PATH", "OUTPUT_PATH", "THEME", "PLUGIN_PATHS", "GK_CATALOGS", "ROOT"})


def inputs_hash(content: Path, catalogs: Path, base: dict) -> str:
    """One hash of everything a unit folder is made from except the as-of date: the content,
    the catalogs, the theme, the resolved settings, the code and the installed libraries."""
    h = hashlib.sha256(f"{FORMAT}:{VERSION}".encode())
    settings = {k: _plain(v) for k, v in base.items() if k.isupper() and k not in PATH_SETTINGS}
    h.update(json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str).encode())
    _hash_tree(h, content, "content")
    _hash_tree(h, catalogs, "catalogs")
    _hash_tree(h, Path(base["THEME"]), "theme")
    _hash_tree(h, CODE, "code")
    # The libraries the code runs on (Pelican, Markdown, Jinja …): the installed versions.
    h.update(json.dumps(installed()).encode())
    return h.hexdigest()


# --- a subset build's side --------------------------------------------------------------

@dataclass
class PartWriter:
    """What a subset build saves for merge (``build._build`` calls it)."""

    units: list[str]
    all_units: list[str]
    as_of: str
    inputs: str
    shown_root: str

    @classmethod
    def of(cls, site: Site, ids: list[str], content: Path, catalogs: Path, settings_file: Path, as_of: str,
           shown_root: str) -> PartWriter:
        return cls(select(site, ids), sorted(site.units), as_of,
                   inputs_hash(content, catalogs, _pelican_settings(settings_file)), shown_root)

    def save_search(self, partial: Path) -> None:
        """Keep the units' search filter values before the portal search page consumes them."""
        stash = partial / STASH
        if not stash.is_dir():
            return
        dest = partial / PARTS / "search"
        dest.mkdir(parents=True, exist_ok=True)
        for uid in self.units:
            if (stash / f"{uid}.json").is_file():
                shutil.copyfile(stash / f"{uid}.json", dest / f"{uid}.json")

    def save(self, partial: Path, report: Report | None) -> None:
        folder = partial / PARTS
        folder.mkdir(parents=True, exist_ok=True)
        if report is not None:
            (folder / "check").mkdir(exist_ok=True)
            for unit in report.units:
                data = {"report": unit.as_dict(), "deferred": report.deferred.get(unit.id, []),
                        "links_checked": report.links_checked}
                (folder / "check" / f"{unit.id}.json").write_text(_dumps(data), encoding="utf-8")
        manifest = {"format": FORMAT, "version": VERSION, "as_of": self.as_of, "inputs": self.inputs,
                    "units": self.units, "all_units": self.all_units, "shown_root": self.shown_root,
                    "check": report is not None}
        (folder / "manifest.json").write_text(_dumps(manifest), encoding="utf-8")


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


# --- merge ---------------------------------------------------------------------------------

@dataclass
class Part:
    folder: Path
    as_of: str
    inputs: str
    units: list[str]
    shown_root: str
    check: bool


def _refuse(message: str) -> BuildError:
    return BuildError(message, EXIT_USAGE)


def _read_json(path: Path, what: str):
    try:
        data = paths.read_regular(path, MAX_PART_JSON)
    except paths.TooLarge:
        raise _refuse(f"{path}: {what}过大 (file too large: over {MAX_PART_JSON} bytes)") from None
    except (OSError, paths.NotRegular):   # missing, a link, a FIFO, a folder
        raise _refuse(f"{path}: 缺少{what}，这不是一个分组构建的输出 (missing {what}: not the output of "
                      f"`make html UNITS=…`)") from None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse(f"{path}: {what}无法读取 (unreadable JSON: {exc})") from None


def read_part(folder: Path) -> Part:
    if not folder.is_dir() or folder.is_symlink():
        raise _refuse(f"{folder}: 分组输出目录不存在或是符号链接 (part folder missing, or a symlink)")
    if (folder / PARTS).is_symlink():
        raise _refuse(f"{folder / PARTS}: 分组资料目录是符号链接，拒绝读取 (the parts folder is a symlink: refused)")
    path = folder / PARTS / "manifest.json"
    data = _read_json(path, "分组清单 (part manifest)")
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise _refuse(f"{path}: 不是本版本的分组清单 (not a {FORMAT} manifest of version {VERSION}): "
                      f"rebuild the part with this code")
    units = data.get("units")
    fields_ok = (isinstance(units, list) and units and all(isinstance(u, str) and UNIT_ID.match(u) for u in units)
                 and all(isinstance(data.get(k), str) for k in ("as_of", "inputs", "shown_root"))
                 and isinstance(data.get("check"), bool))
    if not fields_ok:
        raise _refuse(f"{path}: 分组清单字段不完整或类型不对 (manifest fields missing or of the wrong type)")
    for uid in units:
        unit = folder / uid
        if unit.is_symlink() or not unit.is_dir():
            raise _refuse(f"{unit}: 分组清单列出的单位目录不存在 (unit folder listed in the manifest is missing)")
    return Part(folder, data["as_of"], data["inputs"], sorted(units), data["shown_root"], data["check"])


def fit(parts: list[Part], site: Site, as_of: str, inputs: str) -> dict[str, Part]:
    """unit id -> the part that built it; a usage error when the parts do not make one site."""
    owner: dict[str, Part] = {}
    for part in parts:
        if part.as_of != as_of:
            raise _refuse(f"{part.folder}: 分组的生成日期 {part.as_of} 与本次合并的 BUILD_DATE {as_of} 不同，"
                          f"请用同一个 BUILD_DATE 构建所有分组并合并 (part built as of {part.as_of}, merge is "
                          f"as of {as_of}: build every part and merge with the same BUILD_DATE)")
        if part.inputs != inputs:
            raise _refuse(f"{part.folder}: 分组是用不同的内容、目录、主题、设置或代码构建的 (part built from "
                          f"different inputs: content, catalogs, theme, settings or code differ from this merge's)")
        for uid in part.units:
            if uid not in site.units:
                raise _refuse(f"{part.folder}: 分组中的单位 '{uid}' 不在内容中 (unit '{uid}' of this part is not "
                              f"in the content)")
            if uid in owner:
                raise _refuse(f"单位 '{uid}' 同时出现在两个分组中：{owner[uid].folder} 和 {part.folder} "
                              f"(unit '{uid}' is in two parts)")
            owner[uid] = part
    missing = sorted(set(site.units) - set(owner))
    if missing:
        shown = ", ".join(missing[:12]) + (f" … ({len(missing)} in all)" if len(missing) > 12 else "")
        raise _refuse(f"缺少单位：{shown}；没有任何分组构建了它们 (missing unit(s), built by no part: {shown})")
    return owner


def link_tree(src: Path, dest: Path, state: dict) -> None:
    """Copy ``src`` to ``dest`` as hard links when both are on one file system, else as copies."""
    for folder, dirs, files in os.walk(src):
        base = Path(folder)
        target = dest / base.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in dirs:
            if (base / name).is_symlink():
                raise _refuse(f"{base / name}: 分组输出中有符号链接，拒绝合并 (symlink in a part: refused)")
        for name in files:
            path = base / name
            if path.is_symlink():
                raise _refuse(f"{path}: 分组输出中有符号链接，拒绝合并 (symlink in a part: refused)")
            if state.get("link", True):
                try:
                    os.link(path, target / name)
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    state["link"] = False
            shutil.copyfile(path, target / name)


class _OnDisk:
    """The merged tree's files, as ``links.SiteFiles.files`` (a set) is asked about them."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    def __contains__(self, rel: object) -> bool:
        if not isinstance(rel, str) or not rel or rel.startswith(("/", "..")):
            return False
        if rel not in self.cache:
            try:
                self.cache[rel] = (self.root / rel).is_file()
            except (OSError, ValueError):
                self.cache[rel] = False
        return self.cache[rel]


class _Anchors:
    """The anchors of a merged page, read when a deferred link asks for them."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    def get(self, rel: str, default=frozenset()):
        if rel not in self.cache:
            path = self.root / rel
            try:
                # a link is not followed (its target may be any file of the machine), a FIFO not waited on
                text = (paths.read_regular(path, links.MAX_PAGE_BYTES).decode("utf-8", "replace")
                        if rel.endswith(".html") else None)
            except (OSError, ValueError):
                text = None
            self.cache[rel] = None if text is None else frozenset(html.unescape(a) for a in links._ANCHOR.findall(text))
        found = self.cache[rel]
        return default if found is None else found


def merged_report(partial: Path, owner: dict[str, Part], site: Site, catalogs: Path, base: dict, shown_root: str,
                  as_of: str) -> Report:
    """The checker's report from the parts, with every deferred link checked in the merged tree."""
    from .check import Report, UnitReport, load_rules
    from .check.engine import Finding

    rules = load_rules(catalogs / "rules.yaml")
    site_root = base.get("GK_SITE_ROOT", "") if not base.get("RELATIVE_URLS") else ""
    files = links.SiteFiles(shown_root, site_root.rstrip("/"))
    files.files, files.anchors = _OnDisk(partial), _Anchors(partial)  # type: ignore[assignment]
    link_rule = rules.get("links.internal")
    reports, checked = [], True
    resolved: dict[tuple[str, str], tuple | None] = {}   # as links._internal: pages of a folder share links
    for uid in sorted(site.units):
        part = owner[uid]
        if not part.check:
            raise _refuse(f"{part.folder}: 分组构建时没有运行检查器 (part built without the checker's reports): "
                          f"build every part with the same settings")
        data = _read_json(part.folder / PARTS / "check" / f"{uid}.json", "检查结果 (checker part)")
        try:
            report = data["report"]
            checked = checked and bool(data["links_checked"])
            prefix = f"{part.shown_root}/"
            for f in report["findings"]:   # the part's own link findings name its output folder
                if f["rule"].startswith("links.") and isinstance(f["path"], str) and f["path"].startswith(prefix):
                    f["path"] = f"{shown_root}/{f['path'][len(prefix):]}"
            more = []
            if link_rule is not None:
                for page, line, href in data["deferred"]:
                    link = links.Link(int(line), str(href))
                    key = (page if link.href.lstrip().startswith(("#", "?")) else posixpath.dirname(page), link.href)
                    if key not in resolved:
                        resolved[key] = links.resolve(str(page), link.href, files)
                    r = resolved[key]
                    if r is not None and r[0] == "internal" \
                            and (hit := links.check_link(str(page), link, r, files)) is not None:
                        more.append(Finding.of(link_rule, uid, hit))
            reports.append(UnitReport.from_dict(report, rules, more))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _refuse(f"{part.folder / PARTS / 'check' / (uid + '.json')}: 检查结果格式不对 "
                          f"(malformed checker part: {type(exc).__name__}: {exc})") from None
    return Report(_date(as_of), rules, reports, site.catalogs.level_names, links_checked=checked)


def merge(parts: list[Path], content: Path, output: Path, settings_file: Path, catalogs: Path, as_of: str,
          wait: float = 300.0) -> int:
    """Merge subset builds into ``output``: the tree a full build of every unit would write."""
    if not parts:
        raise _refuse("PARTS: 没有给出分组输出目录，如 PARTS=\"out/g1 out/g2\" (no parts given)")
    check_output(output)
    found = [read_part(p) for p in parts]
    site = check(content, catalogs, max_warnings=20)
    if not site.ok:
        print(f"{errors.summary(site.problems)}; nothing was merged, {output} is unchanged", file=sys.stderr)
        return 1
    base = _pelican_settings(settings_file)
    owner = fit(found, site, as_of, inputs_hash(content, catalogs, base))
    root_url = base.get("GK_SITE_ROOT", "").rstrip("/")
    with build_lock(output, wait):
        recover(output)
        partial = output.parent / f".{output.name}.partial"
        try:
            if partial.exists() or partial.is_symlink():
                _remove(partial)
            partial.mkdir(parents=True)
            state: dict = {}
            for uid in sorted(site.units):
                part = owner[uid]
                link_tree(part.folder / uid, partial / uid, state)
                if part.check:
                    # A full build writes these after the checker: drop the part's (hard links,
                    # never to be written through) so the checker sees the tree a full build sees.
                    (partial / uid / "check" / "index.html").unlink(missing_ok=True)
                stashed = part.folder / PARTS / "search" / f"{uid}.json"
                if stashed.is_file() and not stashed.is_symlink():
                    (partial / STASH).mkdir(exist_ok=True)
                    shutil.copyfile(stashed, partial / STASH / f"{uid}.json")
            units = unit_summaries(site, root_url)
            facts = Facts.of(site, _date(as_of))
            annual = annual_series.settings(site, facts)
            # The portal's search page reads the 简繁 maps: made by a child process, as in a
            # build (OpenCC's dictionaries would stay in this one, +34 MiB).
            zhmap.prime(Cache(None), functools.partial(in_child, zhmap.maps))
            finish(partial, output, site, facts, catalogs, base, units, annual, as_of, sorted(site.units),
                   report_of=lambda tree: merged_report(tree, owner, site, catalogs, base, output.name, as_of),
                   merged=frozenset(site.units))
        finally:
            if partial.exists() or partial.is_symlink():
                try:
                    _remove(partial)
                except OSError:
                    pass  # the failure that got us here is the one to report
    print(f"merged {len(found)} part(s), {len(site.units)} units (as of {as_of}, "
          f"{'hard links' if state.get('link', True) else 'copies'}) -> {output}")
    return 0


# --- choosing the groups ---------------------------------------------------------------

def plan(units: dict[str, tuple[str | None, int]], n: int) -> list[list[str]]:
    """Unit id -> (parent, item files) into at most ``n`` groups: each child of a root unit
    (a city) goes whole with its subtree (counties, townships, bureaus), each root alone;
    the largest subtrees first, each into the group with the fewest items so far."""
    def top(uid: str) -> str:
        seen = [uid]
        while (parent := units[seen[-1]][0]) in units and parent not in seen:
            seen.append(parent)
        return seen[-2] if len(seen) > 1 else seen[-1]

    blocks: dict[str, list[str]] = {}
    for uid in sorted(units):
        blocks.setdefault(top(uid), []).append(uid)
    groups: list[list[str]] = [[] for _ in range(max(1, min(n, len(blocks))))]
    load = [0] * len(groups)
    for _, members in sorted(blocks.items(), key=lambda kv: (-sum(units[u][1] for u in kv[1]), kv[0])):
        i = load.index(min(load))
        groups[i] += members
        load[i] += sum(units[u][1] for u in members)
    return [sorted(g) for g in groups if g]


def groups_main(content: Path, catalogs: Path, n: int, as_json: bool) -> int:
    """``python -m gongkai groups --groups N``: one UNITS= list per line (or a JSON list, for
    a CI matrix)."""
    from . import catalogs as catalogs_mod
    from .site import ITEM_SUFFIXES
    from .units import load_units

    if n < 1:
        raise _refuse(f"GROUPS: 分组数应为正整数，得到 {n} (expected a number of groups ≥ 1, got {n})")
    units, problems = load_units(content, catalogs_mod.load(str(catalogs)))
    for p in errors.sort(problems):
        print(p, file=sys.stderr)
    if not units or any(p.severity == "error" for p in problems):
        print(f"{errors.summary(problems)}; no groups", file=sys.stderr)
        return 1
    sizes = {uid: (u.parent, sum(1 for p in u.folder.rglob("*") if p.suffix in ITEM_SUFFIXES and p.is_file()))
             for uid, u in units.items()}
    lists = [",".join(g) for g in plan(sizes, n)]
    print(json.dumps(lists) if as_json else "\n".join(lists))
    return 0
