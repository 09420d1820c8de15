"""Scoring and the checker's outputs: check.json (schema: docs/check.schema.json),
the per-unit and summary HTML reports, and the console listing of ``make check``.

Score as the national indicator does: any veto → 不合格; otherwise 100 minus the
deductions (each rule's ``max_points`` caps what it takes), never below 0.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..spool import Spill
from .engine import SEVERITIES, SEVERITY_LABELS, Finding, Rule
from .unitfacts import UnitFacts

SCHEMA_VERSION = 1
FAIL_ON = ("veto", "deduction", "notice")
_UNITS = "\0units\0"     # where check.json's list of units goes (a JSON string cannot hold it raw)
# Where a kept unit page has the as-of date: markup, so no escaped text can spell it.
AS_OF = Markup("<\0gk-as-of\0>")


def unit_fragment(data: dict) -> str:
    """One unit of check.json's ``units`` list, as ``json.dumps(indent=1)`` writes it two
    levels deep (JSON strings hold no raw newline: every line moves by two spaces)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1).replace("\n", "\n  ")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _templates(theme: Path) -> str:
    """The report templates and everything they may import: the theme's templates folder."""
    h = hashlib.sha256(jinja2.__version__.encode())
    for path in sorted((theme / "templates").rglob("*")):
        if path.is_file():
            h.update(path.relative_to(theme).as_posix().encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


class _Verdict:
    """Score and verdict from the counts of findings (a unit's report, whole or spilled)."""

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def passed(self) -> bool:
        return self.count("veto") == 0

    @property
    def score(self) -> int | None:
        return max(0, 100 - self.deducted) if self.passed else None

    @property
    def verdict(self) -> str:
        return "合格" if self.passed else "不合格"


@dataclass
class UnitReport(_Verdict):
    id: str
    name: str
    level: str
    parent: str | None
    findings: list[Finding]
    deducted: int
    external_links: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, uf: UnitFacts, findings: list[Finding], rules: dict[str, Rule],
           external: dict[str, list[str]]) -> UnitReport:
        return cls(uf.id, uf.unit.name, uf.level, uf.unit.parent, findings, deductions(findings, rules), external)

    @classmethod
    def from_dict(cls, data: dict, rules: dict[str, Rule], more: list[Finding] = ()) -> UnitReport:
        """A unit's report as a subset build saved it (``as_dict``), with ``more`` findings
        (its links into other parts' units, resolved by merge)."""
        keys = Finding.__dataclass_fields__
        findings = sorted([*(Finding(**{k: f[k] for k in keys}) for f in data["findings"]), *more],
                          key=Finding.sort_key)
        return cls(data["id"], data["name"], data["level"], data["parent"], findings, deductions(findings, rules),
                   {e["url"]: list(e["pages"]) for e in data["external_links"]})

    def full(self) -> UnitReport:
        return self

    def by_rule(self) -> list[tuple[str, list[Finding]]]:
        groups: dict[str, list[Finding]] = {}
        for f in self.findings:
            groups.setdefault(f.rule, []).append(f)
        return sorted(groups.items(), key=lambda kv: (SEVERITIES.index(kv[1][0].severity), kv[0]))

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "level": self.level, "parent": self.parent,
                "verdict": self.verdict, "passed": self.passed, "score": self.score, "deducted": self.deducted,
                "counts": {s: self.count(s) for s in SEVERITIES},
                "findings": [f.as_dict() for f in self.findings],
                "external_links": [{"url": url, "pages": pages} for url, pages in self.external_links.items()]}


HEAD = 3   # findings a spilled unit keeps at hand: what the summary page lists of each unit


class Spilled(Sequence):
    """A unit's findings kept in the report's spool file (``FindingsSpool``): the first
    ``HEAD`` and the count at hand, the rest read from the file when asked (not kept)."""

    def __init__(self, head: list[Finding], total: int, load):
        self._head, self._total, self._load = head, total, load

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._total)
            if step == 1 and stop <= len(self._head):
                return self._head[start:stop]
        elif 0 <= index < len(self._head):
            return self._head[index]
        return self._load()[0][index]

    def __iter__(self) -> Iterator[Finding]:
        if self._total <= len(self._head):
            return iter(self._head)
        return iter(self._load()[0])


@dataclass
class UnitSummary(_Verdict):
    """What the report holds of a unit once it is finished: the summary page's and
    check.json's cross-unit part (name, counts, points, the first findings); its
    findings and external links are in the report's spool file and read back when asked
    (``full``, ``findings``), one unit at a time (issue 15: the parent's memory flat in
    the number of units). Reads like a ``UnitReport``."""

    id: str
    name: str
    level: str
    parent: str | None
    deducted: int
    counts: dict[str, int]
    findings: Spilled
    _spool: FindingsSpool = field(repr=False, compare=False)
    _at: tuple[int, int] = field(repr=False, compare=False)

    def count(self, severity: str) -> int:
        return self.counts.get(severity, 0)

    @property
    def external_links(self) -> dict[str, list[str]]:
        return self._spool.load(self._at)[1]

    def full(self) -> UnitReport:
        findings, external = self._spool.load(self._at)
        return UnitReport(self.id, self.name, self.level, self.parent, findings, self.deducted, external)

    def by_rule(self) -> list[tuple[str, list[Finding]]]:
        return self.full().by_rule()

    def as_dict(self) -> dict:
        return self.full().as_dict()


class FindingsSpool:
    """Each finished unit's findings and external links, kept in a ``spool.Spill`` (the
    build's: ``Site.spill``); the report keeps a ``UnitSummary`` per unit. The file goes
    with the last summary."""

    def __init__(self, spill: Spill | None = None):
        self._spill = spill if spill is not None else Spill()

    def keep(self, u: UnitReport) -> UnitSummary:
        at = self._spill.put((list(u.findings), u.external_links))
        return UnitSummary(u.id, u.name, u.level, u.parent, u.deducted, {s: u.count(s) for s in SEVERITIES},
                           Spilled(list(u.findings[:HEAD]), len(u.findings), functools.partial(self.load, at)),
                           self, at)

    def load(self, at: tuple[int, int]) -> tuple[list[Finding], dict[str, list[str]]]:
        return self._spill.get(at)


def deductions(findings: list[Finding], rules: dict[str, Rule]) -> int:
    """Points deducted: each rule's findings summed, capped by its ``max_points``."""
    per_rule: dict[str, int] = {}
    for f in findings:
        per_rule[f.rule] = per_rule.get(f.rule, 0) + f.points
    return sum(min(points, rules[r].max_points) if rules[r].max_points is not None else points
               for r, points in per_rule.items())


@dataclass
class Report:
    as_of: dt.date
    rules: dict[str, Rule]
    units: list[UnitReport | UnitSummary]   # finished units are kept spilled (FindingsSpool)
    level_names: dict[str, str]
    links_checked: bool = True
    seconds: float = 0.0            # how long the checker ran (console only; not in check.json)
    # A subset build's links into units built elsewhere, per unit: (page, line, href) for
    # merge to resolve against the merged tree (links.deferred); not in check.json.
    deferred: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)

    def findings(self) -> list[Finding]:
        return [f for u in self.units for f in u.findings]

    def failing(self, fail_on: str) -> list[Finding]:
        """Findings at or above ``fail_on`` (veto > deduction > notice)."""
        limit = SEVERITIES.index(fail_on)
        return [f for f in self.findings() if SEVERITIES.index(f.severity) <= limit]

    def as_dict(self, units: object = None) -> dict:
        """``units``: what stands for the list of units (default: every unit's ``as_dict``)."""
        return {"format": "gongkai-check", "version": SCHEMA_VERSION, "as_of": self.as_of.isoformat(),
                "links_checked": self.links_checked,
                "summary": {"units": len(self.units), "passed": sum(u.passed for u in self.units),
                            "failed": sum(not u.passed for u in self.units),
                            "findings": {s: sum(u.count(s) for u in self.units) for s in SEVERITIES}},
                "rules": [self.rules[r].as_dict() for r in sorted(self.rules)],
                "units": [u.as_dict() for u in self.units] if units is None else units}

    def to_json(self, fragments: Iterable[str] | None = None) -> str:
        """check.json. ``fragments``: each unit's ``unit_fragment``, made (or kept) beforehand:
        the same text, without encoding every unit again (json's indented encoder is slow)."""
        if fragments is None:
            return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        return "".join(self._json_parts(fragments))

    def write_json(self, path: Path, fragments: Iterable[str]) -> None:
        """``to_json(fragments)`` written piece by piece, each fragment as it comes: at 1,300
        units check.json is ~16 MB, and joined, replaced and encoded whole it cost the check
        stage ~60 MiB at its peak; held as a list of fragments, ~15 MiB (issue 15)."""
        with open(path, "w", encoding="utf-8") as f:
            for part in self._json_parts(fragments):
                f.write(part)

    def _json_parts(self, fragments: Iterable[str]) -> Iterator[str]:
        head, found, tail = json.dumps(self.as_dict(_UNITS), ensure_ascii=False, sort_keys=True,
                                       indent=1).partition(json.dumps(_UNITS))
        if not found:
            raise ValueError("check.json: the placeholder of the units is not in the text")
        yield head
        n = 0
        for n, fragment in enumerate(fragments, 1):
            yield ("[\n  " if n == 1 else ",\n  ") + fragment
        yield "\n ]" if n else "[]"
        yield tail + "\n"

    def console(self) -> str:
        """Findings grouped per unit, for ``make check``."""
        lines = []
        for u in self.units:
            score = "不合格" if not u.passed else f"{u.score} 分"
            counts = "，".join(f"{SEVERITY_LABELS[s]} {u.count(s)}" for s in SEVERITIES if u.count(s))
            lines.append(f"{u.id} ({u.name}, {self.level_names.get(u.level, u.level)}): {score}"
                         + (f"（{counts}）" if counts else "，无问题"))
            lines += [f"  {f}" for f in u.findings]
        s = self.as_dict()["summary"]
        lines.append(f"check: {s['units']} units, {s['passed']} 合格, {s['failed']} 不合格; "
                     f"{s['findings']['veto']} veto, {s['findings']['deduction']} deduction, "
                     f"{s['findings']['notice']} notice (as of {self.as_of.isoformat()}; checked in "
                     f"{self.seconds:.1f}s)")
        return "\n".join(lines)


def _env(theme: Path, compiled: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    # auto_reload off: the theme does not change during a build, and with it on every unit
    # page's render asked the file system whether check_base.html had (a stat per unit).
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme / "templates")), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                              auto_reload=False, bytecode_cache=compiled)


def write_reports(report: Report, out: Path, settings: dict, memo=None, compiled=None) -> None:
    """output/check/check.json, output/check/index.html and output/<unit>/check/index.html.
    ``memo`` (incremental/checks.py ``Pieces``): each unit's piece of check.json and its page
    as the last build made them, reused when the digest of what they are made of is equal;
    ``compiled``: the templates' bytecode cache (jinja2.BytecodeCache), or None."""
    env = _env(Path(settings["THEME"]), compiled)
    static = settings.get("THEME_STATIC_DIR", "theme")
    common = dict(as_of=report.as_of.isoformat(), level_names=report.level_names, labels=SEVERITY_LABELS,
                  rules=report.rules, links_checked=report.links_checked,
                  portal_name=settings.get("GK_PORTAL_NAME", "政府信息公开平台"))
    folder = out / "check"
    folder.mkdir(parents=True, exist_ok=True)
    # Unit by unit: its findings read back from the report's spool, its page written and its
    # piece of check.json written as it is made, so that the stage holds one unit's findings,
    # page and piece at a time (issue 15: the parent's memory flat in the number of units).
    report.write_json(folder / "check.json", _unit_pieces(report, out, env, common, static, memo, settings))
    summary = env.get_template("check_index.html").render(units=report.units, css=f"../{static}/css/main.css",
                                                           js=f"../{static}/js/check-sort.js", **common)
    (folder / "index.html").write_text(summary, encoding="utf-8")


def _unit_pieces(report: Report, out: Path, env: jinja2.Environment, common: dict, static: str, memo,
                 settings: dict) -> Iterator[str]:
    """Each unit's piece of check.json, in report order; on the way, the unit's page is
    written. ``memo``: see ``write_reports``."""
    css = f"../../{static}/css/main.css"   # output/<unit>/check/: the portal's theme, as every unit page reads it
    unit_tpl = env.get_template("check_unit.html")
    if memo is None:
        for u in report.units:
            u = u.full()
            _write_unit_page(out, u.id, unit_tpl.render(u=u, css=css, **common))
            yield unit_fragment(u.as_dict())
        return
    # A unit page prints the as-of date (检查基准日) and nothing else of it: it is kept
    # rendered with AS_OF in its place and the date is written in, so a unit whose
    # findings did not change keeps its page across dates.
    undated = {**common, "as_of": AS_OF}
    context = _digest(json.dumps({**common, "as_of": None,
                                  "rules": {k: r.as_dict() for k, r in report.rules.items()},
                                  "css": css}, ensure_ascii=False, sort_keys=True),
                      _templates(Path(settings["THEME"])))
    for u in report.units:
        u = u.full()
        data = u.as_dict()
        made = _digest(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        kept = memo.load(u.id)
        fresh = {"json_key": made, "html_key": _digest(made, context)}
        fresh["json"] = kept["json"] if kept.get("json_key") == made and isinstance(kept.get("json"), str) \
            else unit_fragment(data)
        if kept.get("html_key") == fresh["html_key"] and isinstance(kept.get("html"), str):
            fresh["html"] = kept["html"]
        else:
            fresh["html"] = unit_tpl.render(u=u, css=css, **undated)
        if fresh != kept:
            memo.save(u.id, fresh)
        page = fresh["html"].replace(AS_OF, common["as_of"])
        # A reused unit's page made on this date with this very text stands in its previous
        # folder (incremental/checks.py Pieces.standing): not written again.
        if not (kept.get("html_key") == fresh["html_key"] and hasattr(memo, "standing") and memo.standing(u.id, page)):
            _write_unit_page(out, u.id, page)
        yield fresh["json"]


def _write_unit_page(out: Path, uid: str, text: str) -> None:
    page = out / uid / "check" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
