"""The check stage at province scale (issue 15): the link scan runs in the unit workers
and the parent reads their scan, not the pages; an unchanged unit's findings are reused
on a build with the same as-of date, and never when anything they depend on changed.

The function-level tests run the checker over a hand-written tree; the build-level ones
change a cross-unit fact or the date between two cached builds and compare the output,
check/ reports included, byte for byte with a ``--no-cache`` build of the same input."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import AS_OF, ROOT, build
from gongkai import check
from gongkai.check import engine, links
from gongkai.facts import Facts
from gongkai.incremental.checks import Scanner
from gongkai.incremental.store import Cache
from gongkai.site import scan
from test_check import DAY, found, full
from test_incremental import rebuilt, same_trees

RULES = ROOT / "catalogs" / "rules.yaml"


def built_tree(out: Path) -> Path:
    """A built output of the test_check county ('demo') with a broken link and an anchor."""
    (out / "demo/art").mkdir(parents=True)
    (out / "other").mkdir()
    (out / "other/index.html").write_text('<h1 id="top-of-other">x</h1>', encoding="utf-8")
    (out / "demo/art/a.html").write_text('<h2 id="q1">问</h2><a href="#q1">self</a>', encoding="utf-8")
    (out / "demo/index.html").write_text(
        '<a href="art/a.html#q1">ok</a>\n<a href="../other/#top-of-other">ok</a>\n'
        '<a href="https://www.gov.cn/">ext</a>\n<a href="art/missing.html">bad</a>\n', encoding="utf-8")
    return out


def evaluate(content: Path, out: Path | None, scanner=None, day: dt.date = DAY) -> check.Report:
    site = scan(content, ROOT / "catalogs")
    assert site.ok, [str(p) for p in site.problems]
    return check.run(site, Facts.of(site, day), RULES, out, scanner=scanner)


def test_the_check_stage_reads_the_workers_scan_not_the_pages(make_tree, tmp_path):
    content = make_tree(full())
    out = built_tree(tmp_path / "built")
    plain = evaluate(content, out).as_dict()
    links.stash_unit(out / "demo", "demo", out / links.STASH, "")
    # The pages change after the worker's scan: what the parent reports comes from the scan.
    (out / "demo/index.html").write_text("<p>nothing here</p>", encoding="utf-8")
    (out / "demo/art/a.html").unlink()
    report = evaluate(content, out, Scanner(Cache(None), out, ["demo"], [], {}))
    assert report.as_dict() == plain
    assert [f.line for f in found(report, "links.internal")] == [4]
    assert report.units[0].external_links == {"https://www.gov.cn/": ["demo/index.html"]}


def test_a_damaged_or_foreign_stash_is_not_read(make_tree, tmp_path):
    content = make_tree(full())
    out = built_tree(tmp_path / "built")
    plain = evaluate(content, out).as_dict()
    links.stash_unit(out / "demo", "demo", out / links.STASH, "https://gk.example.gov.cn")  # another site root
    assert evaluate(content, out, Scanner(Cache(None), out, ["demo"], [], {})).as_dict() == plain
    (out / links.STASH / "demo.pickle").write_bytes(b"not a pickle")
    assert evaluate(content, out, Scanner(Cache(None), out, ["demo"], [], {})).as_dict() == plain
    # a whole header and anchors, then damaged verdicts: the pages are read again, no traceback
    links.stash_unit(out / "demo", "demo", out / links.STASH, "")
    stash = out / links.STASH / "demo.pickle"
    whole = stash.read_bytes()
    header, anchors, _ = links.read_stash(stash, "demo", "")
    stash.write_bytes(whole[:len(whole) - 40] + b"\x00" * 40)
    assert links.read_stash(stash, "demo", "")[:2] == (header, anchors)
    assert evaluate(content, out, Scanner(Cache(None), out, ["demo"], [], {})).as_dict() == plain


@pytest.fixture
def counted(monkeypatch):
    """How often a rule that reads only its unit (structure.empty-column) and a cross-unit
    one (interpretation.missing) are evaluated."""
    calls = {"own": 0, "cross": 0}
    for rule_id, name in (("structure.empty-column", "own"), ("interpretation.missing", "cross")):
        spec = engine.SPECS[rule_id]

        def counting(unit, t, fn=spec.fn, name=name):
            calls[name] += 1
            return fn(unit, t)

        monkeypatch.setitem(engine.SPECS, rule_id, dataclasses.replace(spec, fn=counting))
    return calls


def test_findings_are_reused_only_under_the_same_key(make_tree, tmp_path, counted):
    content = make_tree(full(**{"jgzn/jg.md": None}))       # one finding of the counted rule
    out = built_tree(tmp_path / "built")

    def cached(key: str, day: dt.date = DAY) -> check.Report:
        return evaluate(content, out, Scanner(Cache.open(out), out, ["demo"], [], {"demo": {"key": key}}), day)

    first = cached("k1")
    assert found(first, "structure.empty-column") and counted == {"own": 1, "cross": 1}
    again = cached("k1")
    assert again.as_dict() == first.as_dict()
    assert counted == {"own": 1, "cross": 2}                # the cross-unit rule runs every build
    later = DAY + dt.timedelta(days=1)
    assert cached("k1", later).as_dict() == evaluate(content, out, day=later).as_dict()
    assert counted["own"] == 2                               # another date: kept (it reads no date); +1 uncached
    cached("k2", later)
    assert counted["own"] == 3                               # another unit key: evaluated again
    assert cached("k2", later).as_dict() == evaluate(content, out, day=later).as_dict()
    assert counted["own"] == 4                               # (the uncached run: the cached one reused)


# --- whole builds: a cached build's reports equal an uncached build's ---------------------

def copy_sample(tmp_path: Path) -> tuple[Path, Path]:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    return content, tmp_path / "output"


def cached_build(content: Path, out: Path, day: str = AS_OF):
    result = build(content, out, "--jobs", "2", env={"BUILD_DATE": day})
    assert result.returncode == 0, result.stderr
    return result


def same_as_uncached(content: Path, out: Path, tmp_path: Path, day: str = AS_OF) -> None:
    fresh = tmp_path / "fresh" / "output"
    result = build(content, fresh, "--jobs", "2", "--no-cache", env={"BUILD_DATE": day})
    assert result.returncode == 0, result.stderr
    same_trees(out, fresh)
    shutil.rmtree(fresh.parent)


def unit_findings(out: Path, uid: str) -> list[dict]:
    data = json.loads((out / "check" / "check.json").read_text(encoding="utf-8"))
    return next(u for u in data["units"] if u["id"] == uid)["findings"]


def rebuilt_units(stdout: str) -> str:
    return stdout.split("incremental:")[1].split("\n")[0]


ID_NUMBER = "11010519491231002X"    # a valid 身份证号, and a valid form of 统一社会信用代码


def test_another_units_org_code_changes_a_reused_units_privacy_finding(tmp_path):
    """The 个人信息 rule reads every unit's org codes and 索引号 (not personal numbers): a
    reused unit's findings are evaluated again when another unit's org code changes."""
    content, out = copy_sample(tmp_path)
    town = content / "shili-town" / "xxgkzd"
    page = sorted(town.glob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + f"\n联系人证件号 {ID_NUMBER}。\n", encoding="utf-8")
    cached_build(content, out)
    assert any(f["rule"] == "privacy.personal-info" for f in unit_findings(out, "shili-town"))
    old = re.search(r'org_code: "(\S+)"', (content / "shili-city" / "_unit.yaml").read_text(encoding="utf-8"))[1]
    for path in (content / "shili-city").rglob("*"):
        if path.suffix in (".md", ".yaml") and old in (text := path.read_text(encoding="utf-8")):
            path.write_text(text.replace(old, ID_NUMBER), encoding="utf-8")
    result = cached_build(content, out)
    assert "shili-town:" not in rebuilt_units(result.stdout)   # the town's own inputs did not change
    assert not any(f["rule"] == "privacy.personal-info" for f in unit_findings(out, "shili-town"))
    same_as_uncached(content, out, tmp_path)


LATE_READING = """\
---
title: 示例市关于高标准农田管护办法的解读
column: zcjd
type: interpretation
interprets: 11990000MB0000001M/2026-00007
index_no: 11990100MB0000002X/2026-09001
form: 文字
published: 2026-07-20
---

解读正文。
"""


def test_a_late_reading_in_another_unit_moves_and_the_reused_policy_unit_follows(tmp_path):
    """interpretation.late names the 解读's file and line, in another unit: its line moves
    while the policy's unit is reused (the registry entries it shows did not change)."""
    content, out = copy_sample(tmp_path)
    reading = content / "shili-city" / "zcjd" / "2026-late-reading.md"
    reading.write_text(LATE_READING, encoding="utf-8")
    cached_build(content, out)
    [late] = [f for f in unit_findings(out, "shili-province") if f["rule"] == "interpretation.late"]
    assert late["path"].endswith("2026-late-reading.md") and late["line"] == 8
    reading.write_text(LATE_READING.replace("form: 文字\n", "form: 文字\nkeywords: [农田]\n"), encoding="utf-8")
    result = cached_build(content, out)
    assert "shili-province:" not in rebuilt_units(result.stdout)
    [late] = [f for f in unit_findings(out, "shili-province") if f["rule"] == "interpretation.late"]
    assert late["line"] == 9
    same_as_uncached(content, out, tmp_path)


def test_a_new_date_reevaluates_a_reused_units_findings(tmp_path):
    """Findings depend on the date (freshness here): the town is reused on the next days
    (no state of its changed), its home page's freshness finding appears all the same."""
    content, out = copy_sample(tmp_path)
    cached_build(content, out)
    assert not any(f["rule"] == "freshness.home-stale" for f in unit_findings(out, "shili-town"))
    day = (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=5)).isoformat()
    result = cached_build(content, out, day)
    assert "shili-town:" not in rebuilt_units(result.stdout)
    assert rebuilt(result.stdout)[0] < 5
    assert any(f["rule"] == "freshness.home-stale" for f in unit_findings(out, "shili-town"))
    same_as_uncached(content, out, tmp_path, day)


# --- the reports: pieces kept per unit are the pieces a full write makes ------------------

def test_check_json_from_unit_fragments_is_the_same_text(make_tree, tmp_path):
    from gongkai.check.report import Report, unit_fragment
    report = evaluate(make_tree(full(**{"jgzn/jg.md": None})), built_tree(tmp_path / "built"))
    assert report.findings()
    assert report.to_json([unit_fragment(u.as_dict()) for u in report.units]) == report.to_json()
    empty = Report(report.as_of, report.rules, [], report.level_names)
    assert empty.to_json([]) == empty.to_json()


class DictMemo:
    def __init__(self):
        self.kept: dict[str, dict] = {}

    def load(self, uid: str) -> dict:
        return dict(self.kept.get(uid, {}))

    def save(self, uid: str, record: dict) -> None:
        self.kept[uid] = record


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_kept_report_pieces_follow_the_date_and_the_templates(make_tree, tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    settings = {"THEME": str(theme)}
    content = make_tree(full(**{"jgzn/jg.md": None}))
    memo = DictMemo()

    def both(report: check.Report, name: str) -> None:
        check.write_reports(report, tmp_path / name / "plain", settings)
        check.write_reports(report, tmp_path / name / "kept", settings, memo)
        assert files_of(tmp_path / name / "kept") == files_of(tmp_path / name / "plain")

    both(evaluate(content, None), "first")
    assert memo.kept["demo"]["html"]
    memo.kept["demo"]["json"] += " "            # a piece is taken as kept while its digest matches
    check.write_reports(evaluate(content, None), tmp_path / "again", settings, memo)
    assert (tmp_path / "again/check/check.json").read_bytes() != (tmp_path / "first/plain/check/check.json").read_bytes()
    both(evaluate(content, None, day=DAY + dt.timedelta(days=40)), "later")     # other date, other findings
    template = theme / "templates" / "check_unit.html"
    template.write_text(template.read_text(encoding="utf-8").replace("检查报告", "检查报告（新）"), encoding="utf-8")
    both(evaluate(content, None, day=DAY + dt.timedelta(days=40)), "template")
    assert "检查报告（新）" in (tmp_path / "template/kept/demo/check/index.html").read_text(encoding="utf-8")


# --- the as-of date: each rule's findings are kept for the dates they hold for ------------

def test_later_than_asks_a_subtraction_as_a_comparison():
    """``d < as_of - delta`` and ``as_of >= later_than(d, delta)`` agree on every day,
    month ends and 29 February included."""
    from dateutil.relativedelta import relativedelta
    days = [dt.date(2023, 12, 20) + dt.timedelta(days=n) for n in range(0, 900, 3)]
    for delta in (relativedelta(months=1), relativedelta(months=6), relativedelta(years=5), dt.timedelta(days=14)):
        for d in days[:120]:
            for as_of in days:
                assert (d < as_of - delta) == (as_of >= engine.later_than(d, delta)), (d, as_of, delta)


def test_as_of_windows_are_the_days_with_the_same_answer():
    """Each comparison with the as-of date narrows the window to exactly the days on which
    it gives the same answer; ``.year`` to the year; anything else to the day."""
    import operator
    days = [dt.date(1990, 1, 1), *(dt.date(2026, 12, 25) + dt.timedelta(days=n) for n in range(14)),
            dt.date(2060, 1, 1)]
    other = dt.date(2027, 1, 1)
    for op in (operator.lt, operator.le, operator.gt, operator.ge):
        for day in days[1:-1]:
            for probe_first in (True, False):    # as_of OP other, and other OP' as_of (reflected)
                probe = engine.AsOf(day)
                answer = op(probe, other) if probe_first else op(other, probe)
                assert answer == (op(day, other) if probe_first else op(other, day))
                same = [d for d in days if (op(d, other) if probe_first else op(other, d)) == answer]
                assert [d for d in days if engine.in_window(d, probe.lo, probe.hi)] == same, (op, day)
    probe = engine.AsOf(dt.date(2027, 3, 5))
    assert probe.year == 2027 and (probe.lo, probe.hi) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert probe - dt.timedelta(days=1) == dt.date(2027, 3, 4) and probe.lo == probe.hi == dt.date(2027, 3, 5)
    probe = engine.AsOf(dt.date(2027, 3, 5))
    assert probe.isoformat() == "2027-03-05" and probe.lo == probe.hi == dt.date(2027, 3, 5)


def test_a_rule_that_reads_the_date_undeclared_fails(make_tree, monkeypatch):
    """Reading ``unit.day`` needs ``as_of=True`` in the rule's ``@rule``: else its findings
    would be kept across dates they depend on. Declared, the same function runs."""
    content = make_tree(full())
    spec = engine.SPECS["structure.empty-column"]
    assert not spec.as_of

    def reads_the_date(unit, t):
        yield from spec.fn(unit, t) if unit.day.year > 2000 else ()

    monkeypatch.setitem(engine.SPECS, spec.id, dataclasses.replace(spec, fn=reads_the_date))
    with pytest.raises(engine.UndeclaredDateRead, match="structure.empty-column"):
        evaluate(content, None)
    monkeypatch.setitem(engine.SPECS, spec.id, dataclasses.replace(spec, fn=reads_the_date, as_of=True))
    assert evaluate(content, None).as_dict() == evaluate(content, None).as_dict()


def test_only_the_declared_rules_read_the_date():
    """Every rule runs over the sample on days around its deadlines: none reads the date
    undeclared (it would raise), and the declared ones are the ones that do read it."""
    site = scan(ROOT / "content", ROOT / "catalogs")
    rules = check.load_rules(RULES)
    reading = set()
    for day in (dt.date(2026, 11, 22), dt.date(2027, 1, 31), dt.date(2027, 2, 1), dt.date(2031, 6, 1)):
        for uf in check.unit_facts(site, Facts.of(site, day), rules).values():
            for rule_id, (lo, hi, _) in engine.evaluate_rules(rules, uf, rules).items():
                if lo is not None or hi is not None:
                    reading.add(rule_id)
    assert reading == {"annual.report", "freshness.home-stale", "freshness.stale-column",
                       "freshness.stale-columns-veto", "metadata.review-old"}
    assert reading <= {r for r in rules if rules[r].as_of}


def test_a_rules_findings_are_the_same_on_every_day_of_its_window():
    """The window a rule's reads of the date record (engine.AsOf) is right: with the unit's
    states held, the rule gives the same findings on its first and last day and inside."""
    site = scan(ROOT / "content", ROOT / "catalogs")
    rules = check.load_rules(RULES)
    dated = [r for r in rules if rules[r].as_of]
    horizon = (dt.date(2020, 1, 1), dt.date(2033, 1, 1))
    checked = 0
    for day in (dt.date(2026, 11, 22), dt.date(2026, 12, 31), dt.date(2027, 1, 31), dt.date(2027, 4, 1)):
        for uf in check.unit_facts(site, Facts.of(site, day), rules).values():
            for rule_id, (lo, hi, found_then) in engine.evaluate_rules(rules, uf, dated).items():
                lo, hi = max(lo or horizon[0], horizon[0]), min(hi or horizon[1], horizon[1])
                for other in {lo, hi, lo + (hi - lo) // 3, lo + (hi - lo) // 2}:
                    uf.as_of = other
                    assert engine.evaluate_rules(rules, uf, [rule_id])[rule_id][2] == found_then, \
                        (uf.id, rule_id, day, other)
                    checked += 1
                uf.as_of = day
    assert checked > 100


def unit_keys(site, facts) -> dict[str, str]:
    """What the build's unit key holds of the date: each item's state (incremental/units.py)."""
    return {uid: json.dumps(sorted((i.source, facts.state(i).as_dict()) for i in items))
            for uid, items in facts.by_unit.units()}


@pytest.fixture
def every_rule_counted(monkeypatch):
    """(unit, rule) -> how often the rule was evaluated for the unit."""
    calls: dict[tuple[str, str], int] = {}
    for rule_id, spec in list(engine.SPECS.items()):
        def counting(unit, t, fn=spec.fn, rule_id=rule_id):
            calls[(unit.id, rule_id)] = calls.get((unit.id, rule_id), 0) + 1
            return fn(unit, t)

        monkeypatch.setitem(engine.SPECS, rule_id, dataclasses.replace(spec, fn=counting))
    return calls


def dated_run(content: Path, out: Path, day: dt.date) -> check.Report:
    site = scan(content, ROOT / "catalogs")
    facts = Facts.of(site, day)
    keys = {uid: {"key": key} for uid, key in unit_keys(site, facts).items()}
    return check.run(site, facts, RULES, None, scanner=Scanner(Cache.open(out), out, sorted(site.units), [], keys))


def kept_windows(out: Path, site) -> dict[tuple[str, str], tuple]:
    from gongkai.incremental.checks import _name
    cache = Cache.open(out)
    return {(uid, rule_id): (lo, hi) for uid in site.units
            for rule_id, (lo, hi, _) in cache.load_pickle(_name("findings", uid))["rules"].items()}


def test_a_day_that_changes_nothing_evaluates_no_kept_finding_again(tmp_path, every_rule_counted):
    """The next day, with no state changed: the rules that do not read the date are not
    evaluated for any unit, nor the dated ones whose window holds the new day; only the
    cross-unit rules run: a stale column's finding prints the day it became stale, not the
    as-of date, so it holds on the next day too. Same report as uncached."""
    content, out = ROOT / "content", tmp_path / "output"
    day, later = dt.date.fromisoformat(AS_OF), dt.date.fromisoformat(AS_OF) + dt.timedelta(days=1)
    site = scan(content, ROOT / "catalogs")
    assert unit_keys(site, Facts.of(site, day)) == unit_keys(site, Facts.of(site, later))
    rules = check.load_rules(RULES)
    dated_run(content, out, day)
    assert set(every_rule_counted) == {(uid, r) for uid in site.units for r in rules}
    windows = kept_windows(out, site)
    every_rule_counted.clear()
    report = dated_run(content, out, later)
    again = {pair for pair in every_rule_counted if not rules[pair[1]].cross_unit}
    assert again == {pair for pair, (lo, hi) in windows.items() if not engine.in_window(later, lo, hi)}
    assert all(rules[r].as_of for _, r in again)
    # The sample's one stale column (示例省 qtwj) is stale on both days: its finding is kept.
    assert found(report, "freshness.stale-column")
    assert again == set()
    assert report.as_dict() == evaluate(content, None, day=later).as_dict()


# 示例省's qtwj column gets a new item, so that no column of the sample is stale in late November.
FRESH_QTWJ = """\
---
title: 示例省人民政府办公厅关于做好年末政务公开工作的通知
column: qtwj
index_no: 11990000MB0000001M/2026-00901
published: 2026-11-20
---

各市、县人民政府：请做好年末政务公开工作。
"""


def test_a_day_that_crosses_a_threshold_changes_exactly_that_units_findings(tmp_path, every_rule_counted):
    """示例镇's newest item is of 2026-11-12: its 首页 turns stale (14 days) on 2026-11-27.
    From the 26th to the 27th that one rule of that one unit is evaluated again and its
    finding appears; every other unit's findings are kept, and equal an uncached run's."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "shili-province" / "qtwj" / "2026-fresh.md").write_text(FRESH_QTWJ, encoding="utf-8")
    out = tmp_path / "output"
    day, later = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    first = dated_run(content, out, day)
    every_rule_counted.clear()
    second = dated_run(content, out, later)
    rules = check.load_rules(RULES)
    assert {pair for pair in every_rule_counted if not rules[pair[1]].cross_unit} == \
        {("shili-town", "freshness.home-stale")}
    changed = {u.id for u, v in zip(first.units, second.units, strict=True) if u.as_dict() != v.as_dict()}
    assert changed == {"shili-town"}
    assert found(second, "freshness.home-stale") and not found(first, "freshness.home-stale")
    assert second.as_dict() == evaluate(content, None, day=later).as_dict()


def test_the_next_day_keeps_unchanged_units_report_pages(tmp_path):
    """A unit page prints the as-of date and its findings: kept with the date written in,
    it is not rendered again when its findings did not change, and equals a fresh page."""
    content = ROOT / "content"
    settings = {"THEME": str(ROOT / "theme")}
    memo = DictMemo()
    day = dt.date.fromisoformat(AS_OF)
    check.write_reports(evaluate(content, None, day=day), tmp_path / "first", settings, memo)
    before = {uid: dict(record) for uid, record in memo.kept.items()}
    later = evaluate(content, None, day=day + dt.timedelta(days=1))
    check.write_reports(later, tmp_path / "kept", settings, memo)
    check.write_reports(later, tmp_path / "plain", settings)
    assert files_of(tmp_path / "kept") == files_of(tmp_path / "plain")
    # 示例省's stale column is stale on both days and its finding prints the day it became so.
    assert found(later, "freshness.stale-column")
    assert {uid for uid in memo.kept if memo.kept[uid] != before[uid]} == set()
    page = (tmp_path / "kept/shili-town/check/index.html").read_text(encoding="utf-8")
    assert f"检查基准日 {(day + dt.timedelta(days=1)).isoformat()}" in page


def test_the_next_day_builds_the_same_as_uncached(tmp_path):
    """Whole builds: the next day (no state changes) and the day a 首页 turns stale, cached
    after cached, give the same tree as a --no-cache build, check reports included."""
    content, out = copy_sample(tmp_path)
    (content / "shili-province" / "qtwj" / "2026-fresh.md").write_text(FRESH_QTWJ, encoding="utf-8")
    cached_build(content, out, "2026-11-25")
    result = cached_build(content, out, "2026-11-26")
    assert rebuilt(result.stdout)[0] == 0
    same_as_uncached(content, out, tmp_path, "2026-11-26")
    assert not any(f["rule"] == "freshness.home-stale" for f in unit_findings(out, "shili-town"))
    cached_build(content, out, "2026-11-27")
    assert any(f["rule"] == "freshness.home-stale" for f in unit_findings(out, "shili-town"))
    same_as_uncached(content, out, tmp_path, "2026-11-27")


def id_number(born: str) -> str:
    """A 身份证号 with a valid check digit, born on ``born`` (YYYYMMDD)."""
    from gongkai.check.privacy import _CHECK, _WEIGHTS
    head = f"110105{born}002"
    return head + _CHECK[sum(int(d) * w for d, w in zip(head, _WEIGHTS, strict=True)) % 11]


def test_a_number_born_after_the_as_of_date_becomes_a_finding_on_that_day(make_tree, tmp_path, every_rule_counted):
    """privacy.personal-info reads the date (a birth date after it is no 身份证号): its
    findings are kept until the day the number's birth date comes, and on that day the
    rule runs again and reports it, as an uncached run does."""
    from test_check import item
    number = id_number("20261205")
    content = make_tree(full(**{"jgzn/jg.md": item("机构职能", "jgzn", 2, body=f"联系人证件号 {number}。")}))
    out = built_tree(tmp_path / "built")

    def cached(day: dt.date) -> check.Report:
        return evaluate(content, out, Scanner(Cache.open(out), out, ["demo"], [], {"demo": {"key": "k"}}), day)

    assert not found(cached(DAY), "privacy.personal-info")
    every_rule_counted.clear()
    day_before = dt.date(2026, 12, 4)
    before = cached(day_before)
    assert ("demo", "privacy.personal-info") not in every_rule_counted    # kept: the window holds
    assert before.as_dict() == evaluate(content, out, day=day_before).as_dict()
    every_rule_counted.clear()
    born = dt.date(2026, 12, 5)
    report = cached(born)
    assert every_rule_counted[("demo", "privacy.personal-info")] == 1
    assert [f.line for f in found(report, "privacy.personal-info")] and number not in json.dumps(report.as_dict())
    assert report.as_dict() == evaluate(content, out, day=born).as_dict()


def test_the_check_stage_loads_anchors_only_of_units_a_fragment_link_points_into(make_tree, tmp_path, monkeypatch):
    """Memory flat in the number of units (issue 15): the parent holds no unit's files or
    anchors for the whole stage. A link that leaves its unit loads the files of the unit
    it points into, and that unit's anchors only when the link has a #fragment, at most
    ``UnitFiles.KEEP`` units at a time; the report is the whole-tree scan's."""
    # t0 -> t1#h1, t2 -> t3#h3, t4 -> t5#h5 resolve; t5 -> t0#nope is broken; t1, t3 link
    # into another unit without a fragment; nothing points into t2 or t4 with one.
    content, out, units = towns_tree(make_tree, tmp_path)
    towns = units[1:]
    plain = evaluate(content, out).as_dict()   # every page of the tree read at once (links.scan_output)
    for uid in ["demo", *towns]:
        links.stash_unit(out / uid, uid, out / links.STASH, "")
    monkeypatch.setattr(links.UnitFiles, "KEEP", 2)
    scanner = Scanner(Cache(None), out, ["demo", *towns], [], {})
    report = evaluate(content, out, scanner)
    assert report.as_dict() == plain
    assert sorted((f.path, f.line) for f in found(report, "links.internal")) == \
        [("output/demo/index.html", 4), ("output/t5/index.html", 2)]
    store = scanner.store
    assert set(store.loads["files"]) == {"demo", *towns}    # every unit some link points into
    assert set(store.loads["anchors"]) == {"t0", "t1", "t3", "t5"}     # only targets of #fragment links
    assert store.most_held <= 2 < len(store.loads["anchors"])          # bounded, whatever the number of units


def test_the_check_stage_loads_each_unit_pointed_into_once(make_tree, tmp_path, monkeypatch):
    """Issue 15, the parent's check stage: the links that leave the units built by this
    build are judged by the unit they point into before the rule reaches the units, so
    each unit's files and anchors are loaded once, however few units are held at a time
    (judged unit after unit, every town's files were loaded again for each town linking to
    its pages); the report is the whole-tree scan's."""
    content, out, units = towns_tree(make_tree, tmp_path)
    towns = units[1:]
    for n, uid in enumerate(towns):   # every town links to its own page of every other town
        for m in range(len(towns)):
            (out / uid / f"p{m}.html").write_text(f'<h2 id="h{n}">{uid} p{m}</h2>\n', encoding="utf-8")
        others = "".join(f'<a href="../{other}/p{n}.html{"#h" + str(m) if n % 2 else ""}">{other}</a>\n'
                         for m, other in enumerate(towns) if other != uid)
        (out / uid / "index.html").write_text(f'<h1 id="h{n}">{uid}</h1>\n{others}', encoding="utf-8")
    plain = evaluate(content, out).as_dict()
    for uid in units:
        links.stash_unit(out / uid, uid, out / links.STASH, "")
    monkeypatch.setattr(links.UnitFiles, "KEEP", 1)
    scanner = Scanner(Cache(None), out, units, [], {})
    assert evaluate(content, out, scanner).as_dict() == plain
    loads = scanner.store.loads
    assert set(towns) <= set(loads["files"]) and set(loads["anchors"]) == set(towns)
    assert max(loads["files"].values()) == 1 and max(loads["anchors"].values()) == 1


# --- the link rule's hits, kept while nothing they depend on changed ----------------------

def towns_tree(make_tree, tmp_path) -> tuple[Path, Path, list[str]]:
    """The test county ('demo') and six towns; t0 -> t1#h1, t2 -> t3#h3, t4 -> t5#h5
    resolve, t5 -> t0#nope is broken, t1 and t3 link into the next town without a
    fragment; every town links to demo's home."""
    from test_check import UNIT
    towns = [f"t{n}" for n in range(6)]
    tree = full()
    for n, uid in enumerate(towns):
        tree[f"{uid}/_unit.yaml"] = UNIT.replace("测试县", f"测试{n}乡").replace("level: county", "level: township") \
            .replace("'" + UNIT.split("org_code: '")[1].split("'")[0] + "'", f"'11990102MB{n:08d}'")
    content = make_tree(tree)
    out = built_tree(tmp_path / "built")
    for n, uid in enumerate(towns):
        (out / uid).mkdir()
        target = "../t0/index.html#nope" if n == 5 else \
            f"../t{n + 1}/index.html#h{n + 1}" if n % 2 == 0 else f"../t{n + 1}/index.html"
        (out / uid / "index.html").write_text(f'<h1 id="h{n}">{uid}</h1>\n<a href="{target}">next</a>\n'
                                              '<a href="../demo/index.html">demo</a>\n', encoding="utf-8")
    return content, out, ["demo", *towns]


def keyed_run(content: Path, out: Path, units: list[str], keys: dict[str, str], built: list[str],
              cache: bool = True) -> tuple[check.Report, Scanner]:
    """One check stage as a build runs it: the units in ``built`` were written (and stashed)
    by this build, the others are reused from the last one; ``keys``: every unit's key."""
    shutil.rmtree(out / links.STASH, ignore_errors=True)
    for uid in built:
        links.stash_unit(out / uid, uid, out / links.STASH, "")
    scanner = Scanner(Cache.open(out) if cache else Cache(None), out, units,
                      [u for u in units if u not in built], {uid: {"key": key} for uid, key in keys.items()})
    return evaluate(content, out, scanner), scanner


def link_lines(report: check.Report) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.line, f.found) for f in found(report, "links.internal"))


def test_link_hits_are_kept_while_no_target_changed(make_tree, tmp_path):
    """A build where no unit's files or anchors changed gives every unit's link hits from
    the cache: no other unit's files, anchors or verdicts are loaded; a body edit that
    leaves alone the folders other units link into re-evaluates that unit only. Same
    report as a whole-tree scan every time."""
    content, out, units = towns_tree(make_tree, tmp_path)
    keys = {uid: f"{uid}-1" for uid in units}
    first, scanner = keyed_run(content, out, units, keys, built=units)
    assert first.as_dict() == evaluate(content, out).as_dict()
    assert scanner.hits_reused == set() and scanner.store.loads["anchors"]
    again, scanner = keyed_run(content, out, units, keys, built=[])
    assert again.as_dict() == first.as_dict()
    assert scanner.hits_reused == set(units)
    assert scanner.store.loads == {"files": {}, "anchors": {}}
    # t1's body changes (its key), and a file comes in a folder no link leaves for (a new
    # search shard): only t1 is evaluated again.
    (out / "t1/index.html").write_text((out / "t1/index.html").read_text(encoding="utf-8") + "<p>追加</p>\n",
                                       encoding="utf-8")
    (out / "t1/search").mkdir()
    (out / "t1/search/9.json").write_text("{}", encoding="utf-8")
    keys["t1"] = "t1-2"
    edited, scanner = keyed_run(content, out, units, keys, built=["t1"])
    assert edited.as_dict() == first.as_dict()
    assert scanner.hits_reused == set(units) - {"t1"}
    assert set(scanner.store.loads["files"]) == {"t2", "demo"} and not scanner.store.loads["anchors"]   # t1's links


def test_kept_link_hits_are_checked_against_each_target_unit_at_once(make_tree, tmp_path):
    """Issue 15, a one-item edit: a reused unit's kept hits depend on the tokens of the folders
    its links point into, across many units. A target unit whose tokens are, pickled, the bytes
    they were when the hits were kept is taken as a whole: no unit's tokens are unpickled. One
    whose tokens changed is looked at folder by folder (t1's anchor renamed: t0 is judged again)."""
    content, out, units = towns_tree(make_tree, tmp_path)
    keys = {uid: f"{uid}-1" for uid in units}
    first, _ = keyed_run(content, out, units, keys, built=units)
    again, scanner = keyed_run(content, out, units, keys, built=[])
    assert scanner.hits_reused == set(units) and again.as_dict() == first.as_dict()
    assert not scanner._live_dirs
    (out / "t1/index.html").write_text('<h1 id="renamed">t1</h1>\n<a href="../t2/index.html">next</a>\n',
                                       encoding="utf-8")
    keys["t1"] = "t1-2"
    report, scanner = keyed_run(content, out, units, keys, built=["t1"])
    assert scanner.hits_reused == set(units) - {"t0", "t1"}
    assert report.as_dict() == evaluate(content, out).as_dict() != first.as_dict()


def test_a_target_that_loses_its_anchor_or_page_is_never_served_stale(make_tree, tmp_path):
    """t0 links to t1#h1 and t2 to t3#h3. t1's anchor goes (t1 rebuilt, t0 reused): t0's
    finding appears; t3's page goes: t2's appears. Each run equals a whole-tree scan."""
    content, out, units = towns_tree(make_tree, tmp_path)
    keys = {uid: f"{uid}-1" for uid in units}
    keyed_run(content, out, units, keys, built=units)
    keyed_run(content, out, units, keys, built=[])
    (out / "t1/index.html").write_text('<h1 id="renamed">t1</h1>\n<a href="../t2/index.html">next</a>\n',
                                       encoding="utf-8")
    keys["t1"] = "t1-2"
    report, scanner = keyed_run(content, out, units, keys, built=["t1"])
    assert "t0" not in scanner.hits_reused
    assert ("output/t0/index.html", 2, "链接 '../t1/index.html#h1' 的锚点 #h1 在 t1/index.html 中不存在") \
        in link_lines(report)
    assert report.as_dict() == evaluate(content, out).as_dict()
    (out / "t3/index.html").unlink()
    (out / "t3/other.html").write_text("<p>t3</p>\n", encoding="utf-8")
    keys["t3"] = "t3-2"
    report, scanner = keyed_run(content, out, units, keys, built=["t3"])
    assert "t2" not in scanner.hits_reused and "t0" in scanner.hits_reused
    assert ("output/t2/index.html", 2, "链接 '../t3/index.html#h3' 指向的文件不存在") in link_lines(report)
    assert report.as_dict() == evaluate(content, out).as_dict()
    # The same tree again: everything kept, the same findings.
    again, scanner = keyed_run(content, out, units, keys, built=[])
    assert scanner.hits_reused == set(units) and again.as_dict() == report.as_dict()


def test_a_new_unit_folder_or_portal_change_reevaluates_the_links_into_it(make_tree, tmp_path):
    """A link into a folder that is no unit's, or to a portal page, is judged against the
    portal's files: when the portal's files or anchors change, the kept hits are not served."""
    content, out, units = towns_tree(make_tree, tmp_path)
    (out / "t4/index.html").write_text('<a href="../extra/x.html">x</a>\n<a href="../p.html#a">p</a>\n',
                                       encoding="utf-8")
    (out / "p.html").write_text('<p id="a">portal</p>', encoding="utf-8")
    keys = {uid: f"{uid}-1" for uid in units}
    first, _ = keyed_run(content, out, units, keys, built=units)
    assert [line for p, line, _ in link_lines(first) if p == "output/t4/index.html"] == [1]
    (out / "p.html").write_text('<p id="b">portal</p>', encoding="utf-8")    # the portal's anchor goes
    report, scanner = keyed_run(content, out, units, keys, built=[])
    assert "t4" not in scanner.hits_reused
    assert report.as_dict() == evaluate(content, out).as_dict()
    assert [line for p, line, _ in link_lines(report) if p == "output/t4/index.html"] == [1, 2]
    (out / "extra").mkdir()
    (out / "extra/x.html").write_text("<p>x</p>", encoding="utf-8")         # the missing page comes
    report, scanner = keyed_run(content, out, units, keys, built=[])
    assert "t4" not in scanner.hits_reused
    assert report.as_dict() == evaluate(content, out).as_dict()
    assert [line for p, line, _ in link_lines(report) if p == "output/t4/index.html"] == [2]


def test_damaged_link_hit_records_and_index_are_not_read(make_tree, tmp_path, capsys):
    from gongkai.incremental.checks import INDEX, _name
    content, out, units = towns_tree(make_tree, tmp_path)
    keys = {uid: f"{uid}-1" for uid in units}
    first, _ = keyed_run(content, out, units, keys, built=units)
    folder = out.parent / f".{out.name}.cache"
    (folder / INDEX).write_bytes(b"not a pickle")
    (folder / _name("links", "t5")).write_bytes(b"\x80\x05garbage")
    report, scanner = keyed_run(content, out, units, keys, built=[])
    assert report.as_dict() == first.as_dict()
    assert "t5" not in scanner.hits_reused and "t0" in scanner.hits_reused
    assert "build cache ignored" in capsys.readouterr().err
    # A record of other hits under the same key is served (it is ours): the key names what it holds.
    again, scanner = keyed_run(content, out, units, keys, built=[])
    assert scanner.hits_reused == set(units) and again.as_dict() == first.as_dict()


def test_the_scan_keeps_each_units_tokens_and_external_links_pickled(make_tree, tmp_path, monkeypatch, capsys):
    """Memory flat in the number of units (issue 15): the scan holds each unit's folder
    tokens and external links pickled, a few units' tokens unpickled at a time; the report
    is the same. An index whose entries hold unreadable bytes is not trusted: the links
    into those units are judged again and the external links read from the unit's record."""
    import pickle

    from gongkai.incremental.checks import INDEX, Scanner
    content, out, units = towns_tree(make_tree, tmp_path)
    keys = {uid: f"{uid}-1" for uid in units}
    first, _ = keyed_run(content, out, units, keys, built=units)
    monkeypatch.setattr(Scanner, "KEEP_DIRS", 2)
    report, scanner = keyed_run(content, out, units, keys, built=[])
    assert report.as_dict() == first.as_dict() and scanner.hits_reused == set(units)
    assert all(type(scanner.dirs[uid]) is bytes and type(scanner.externals[uid]) is bytes for uid in units)
    assert len(scanner._live_dirs) <= 2
    folder = out.parent / f".{out.name}.cache"
    index = pickle.loads((folder / INDEX).read_bytes())
    for uid in ("demo", "t0", "t1"):   # demo links out (www.gov.cn)
        index["units"][uid].update(dirs=b"\x80\x05garbage", external=b"\x80\x05garbage")
    (folder / INDEX).write_bytes(pickle.dumps(index))
    report, scanner = keyed_run(content, out, units, keys, built=[])
    assert report.as_dict() == first.as_dict() and any(u.external_links for u in report.units)
    assert "t0" not in scanner.hits_reused and "build cache ignored" in capsys.readouterr().err


TOWN_NOTICE = "shili-town/gsgg/2026-2027-cxjm-yanglao-yiliao-jiaofei-gonggao.md"
CITY_DUTIES = "shili-city/jgzn/2026-jigou-zhineng.md"
CITY_POLICY = "shili-city/gfxwj/2023-zhengfu-touzi-xiangmu-guanli.md"


def test_a_reused_units_links_follow_the_pages_they_point_into(tmp_path):
    """Whole builds: 示例镇's notice links to a heading of 示例市's 机构职能 page and to a
    示例市 policy. The heading is renamed, then the policy's file: 示例镇 is reused each
    time (nothing of its own changed) and its link finding appears all the same; every
    tree equals a --no-cache build."""
    content, out = copy_sample(tmp_path)
    notice = content / TOWN_NOTICE
    notice.write_text(notice.read_text(encoding="utf-8") + "\n参见[市职责](../../../shili-city/art/jgzn/"
                      "2026-jigou-zhineng.html#h-主要职责)和[市办法](../../../shili-city/art/gfxwj/"
                      "2023-zhengfu-touzi-xiangmu-guanli.html)。\n", encoding="utf-8")
    cached_build(content, out)
    assert not any(f["rule"] == "links.internal" for f in unit_findings(out, "shili-town"))
    duties = content / CITY_DUTIES
    duties.write_text(duties.read_text(encoding="utf-8").replace("## 主要职责", "## 职责"), encoding="utf-8")
    result = cached_build(content, out)
    assert "shili-city" in rebuilt_units(result.stdout) and "shili-town:" not in rebuilt_units(result.stdout)
    [hit] = [f for f in unit_findings(out, "shili-town") if f["rule"] == "links.internal"]
    assert "#h-主要职责" in hit["found"] and hit["path"].startswith("output/shili-town/art/gsgg/")
    same_as_uncached(content, out, tmp_path)
    policy = content / CITY_POLICY
    policy.rename(policy.with_name("2023-touzi-xiangmu-guanli.md"))
    result = cached_build(content, out)
    assert "shili-town:" not in rebuilt_units(result.stdout)
    hits = [f["found"] for f in unit_findings(out, "shili-town") if f["rule"] == "links.internal"]
    assert len(hits) == 2 and any("2023-zhengfu-touzi-xiangmu-guanli.html' 指向的文件不存在" in h for h in hits)
    same_as_uncached(content, out, tmp_path)


def test_date_only_rebuilds_render_no_unit_report_page(tmp_path, monkeypatch):
    """Two new days in a row on which no state changes: every unit's findings are the same
    (a stale column prints the day it became stale, not the as-of date), so no unit's
    report page is rendered again, and the pages equal freshly rendered ones."""
    import jinja2
    content = ROOT / "content"
    settings = {"THEME": str(ROOT / "theme")}
    memo = DictMemo()
    renders: list[str] = []
    plain_render = jinja2.Template.render

    def counting(self, *args, **kwargs):
        renders.append(self.name)
        return plain_render(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", counting)
    day = dt.date.fromisoformat(AS_OF)
    site = scan(content, ROOT / "catalogs")
    days = [day + dt.timedelta(days=n) for n in range(3)]
    assert len({json.dumps(unit_keys(site, Facts.of(site, d))) for d in days}) == 1   # no state changes
    first = evaluate(content, None, day=days[0])
    assert found(first, "freshness.stale-column")     # 示例省's qtwj: stale on each of the days
    check.write_reports(first, tmp_path / "d0", settings, memo)
    assert renders.count("check_unit.html") == len(site.units)
    for n in (1, 2):
        renders.clear()
        report = evaluate(content, None, day=days[n])
        check.write_reports(report, tmp_path / f"d{n}", settings, memo)
        assert renders == ["check_index.html"]      # the summary only; every unit page kept
        check.write_reports(report, tmp_path / f"plain{n}", settings)
        assert files_of(tmp_path / f"d{n}") == files_of(tmp_path / f"plain{n}")


def test_folder_tokens_change_only_for_the_folder_that_changed():
    files = ["u1/index.html", "u1/art/a/p.html", "u1/search/d/0.json", "index.html"]
    anchors = {"u1/index.html": frozenset({"main"}), "u1/art/a/p.html": frozenset({"q-1", "main"}),
               "index.html": frozenset()}
    before = links.dir_tokens(files, anchors)
    assert set(before) == {"u1", "u1/art/a", "u1/search/d", ""}
    after = links.dir_tokens([*files, "u1/search/d/1.json"], anchors)
    assert {d for d in before if before[d] != after[d]} == {"u1/search/d"}
    after = links.dir_tokens(files, {**anchors, "u1/art/a/p.html": frozenset({"main"})})
    assert {d for d in before if before[d] != after[d]} == {"u1/art/a"}
    # A link to a folder means its index.html: both folders decide it.
    assert links.link_folders("u1/art/a") == ("u1/art", "u1/art/a")
    assert links.link_folders("u1") == ("", "u1")


def test_check_json_written_in_pieces_is_the_joined_text(tmp_path):
    # Issue 15: check.json is streamed from the units' pieces (16 MB at 1,300 units), never
    # held whole; the bytes are to_json's.
    import datetime as dt

    from gongkai.check.engine import load_rules
    from gongkai.check.report import Report, UnitReport, unit_fragment
    rules = load_rules(ROOT / "catalogs" / "rules.yaml")
    units = [UnitReport(f"u{n}", f"单位{n}", "county", None, [], 0, {"https://例子.cn/": ["a.html"]} if n else {})
             for n in range(3)]
    report = Report(dt.date(2026, 11, 22), rules, units, {"county": "县级"})
    report.write_json(tmp_path / "a.json", [unit_fragment(u.as_dict()) for u in units])
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == report.to_json()
    empty = Report(dt.date(2026, 11, 22), rules, [], {})
    empty.write_json(tmp_path / "b.json", [])
    assert (tmp_path / "b.json").read_text(encoding="utf-8") == empty.to_json()


def test_the_rules_that_read_no_page_are_evaluated_ahead_with_the_same_findings(make_tree, tmp_path, monkeypatch):
    """check.Ahead evaluates, while the units render, every rule not declared ``pages``; the
    check stage then evaluates only the page rules, and the report is the one a check
    stage evaluating everything gives."""
    content = make_tree(full(**{"gfxwj/p.md": None, "tjxx/tj.md": None}))   # a few findings
    out = built_tree(tmp_path / "out")
    site = scan(content, ROOT / "catalogs")
    facts = Facts.of(site, DAY)
    whole = check.run(site, facts, RULES, out)
    assert whole.findings() and not {f.rule for f in whole.findings()} <= {"links.internal"}
    ahead = check.Ahead(site, facts, RULES)
    assert ahead.ids == sorted(i for i, r in ahead.rules.items() if not r.pages) and "links.internal" not in ahead.ids
    for uid in sorted(site.units):
        ahead.add(uid)
    ahead.step(len(site.units))
    later: list[str] = []
    real = check.evaluate_rules
    monkeypatch.setattr(check, "evaluate_rules", lambda rules, uf, ids: later.extend(ids) or real(rules, uf, ids))
    split = check.run(site, facts, RULES, out, ahead=ahead)
    assert split.as_dict() == whole.as_dict()
    assert later and set(later) == {i for i, r in ahead.rules.items() if r.pages} == {"links.internal"}


def test_a_rule_that_reads_the_pages_undeclared_fails_when_evaluated_ahead(make_tree, monkeypatch):
    """Before the units are written a rule sees no pages; one that reads them without
    ``pages=True`` in its ``@rule`` stops (naming itself) rather than find nothing."""
    content = make_tree(full())
    site = scan(content, ROOT / "catalogs")
    facts = Facts.of(site, DAY)
    spec = engine.SPECS["structure.empty-column"]
    assert not spec.pages

    def reads_the_pages(unit, t):
        if unit.pages is None or unit.files is None:
            return
        yield from spec.fn(unit, t) if len(unit.pages) >= 0 else ()

    monkeypatch.setitem(engine.SPECS, spec.id, dataclasses.replace(spec, fn=reads_the_pages))
    ahead = check.Ahead(site, facts, RULES)
    ahead.add("demo")
    with pytest.raises(engine.UndeclaredPagesRead, match="structure.empty-column"):
        ahead.step()
    monkeypatch.setitem(engine.SPECS, spec.id, dataclasses.replace(spec, fn=reads_the_pages, pages=True))
    ahead = check.Ahead(site, facts, RULES)
    assert spec.id not in ahead.ids
    ahead.add("demo")
    ahead.step()
    assert spec.id not in ahead.take("demo")
