"""The rule engine: the registry of rules, the rule catalog (catalogs/rules.yaml),
and findings.

A rule is declared once in its family's module with ``@rule(id, thresholds=…)``
over a pure function ``fn(unit: UnitFacts, t: dict) -> Iterable[Hit]``. Its Chinese
name, severity, points, source, fix and threshold values come from
catalogs/rules.yaml; the engine joins the two into ``Finding``s. A rule declared in
code but absent from the catalog (or the reverse) is a catalog error.

What a rule reads besides its unit is declared with it: ``cross_unit=True`` (facts of
other units), ``as_of=True`` (the as-of date, ``unit.day``) and ``pages=True`` (the
built pages: such a rule waits for every unit's output; the others are evaluated while
the units render, check/__init__.py ``Ahead``). A rule that reads
``unit.day`` without ``as_of=True`` stops the evaluation (``UndeclaredDateRead``), so
findings kept across dates (incremental/checks.py) cannot silently go stale. A declared
rule reads the date through ``AsOf``, which records the dates that give the same
answers (the rule's window): comparisons narrow it to a half-line, ``.year`` to the
year, anything else (arithmetic, printing) to the day itself.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import yamlsrc
from ..errors import ContentError, Problem
from ..source import SourceError, read_text

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from .unitfacts import UnitFacts

SEVERITIES = ("veto", "deduction", "notice")
SEVERITY_LABELS = {"veto": "否决", "deduction": "扣分", "notice": "提示"}
RULES_VERSION = "1"


@dataclass(frozen=True)
class Hit:
    """What a rule function returns: one problem it found in one unit."""

    found: str                       # what was found, in Chinese first
    expected: str                    # what the rule expects
    path: str | None = None          # file shown to the editor (content/… or output/…)
    line: int | None = None          # line (or PDF page, see ``where``) in ``path``
    column: str | None = None        # column id
    item: str | None = None          # 索引号 or title of the item
    fix: str | None = None           # a specific fix (e.g. the standard 文号); default: the rule's


@dataclass(frozen=True)
class Spec:
    """A rule as declared in code."""

    id: str
    fn: Callable[..., Iterable[Hit]]
    thresholds: dict[str, str]       # key -> kind: int | bool | str | list | map
    family: str
    # Reads facts of other units (their pages, their items): evaluated every build, also
    # for a unit whose own findings are reused (incremental/checks.py).
    cross_unit: bool = False
    # Reads the as-of date (``unit.day``): its findings are kept for the dates of its window.
    as_of: bool = False
    # Reads the built pages (``unit.pages``, ``unit.files``): evaluated once every unit is written.
    pages: bool = False


@dataclass(frozen=True)
class Rule:
    """A rule as configured: the declaration joined with its catalog entry."""

    id: str
    name: str
    severity: str
    points: int
    max_points: int | None
    source: str
    fix: str
    thresholds: dict[str, Any]
    fn: Callable[..., Iterable[Hit]] = field(repr=False, compare=False)
    family: str = ""
    cross_unit: bool = False
    as_of: bool = False
    pages: bool = False

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "severity": self.severity, "points": self.points,
                "max_points": self.max_points, "source": self.source, "fix": self.fix,
                "thresholds": self.thresholds, "family": self.family}


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    severity: str
    points: int
    unit: str
    found: str
    expected: str
    source: str
    fix: str
    path: str | None = None
    line: int | None = None
    column: str | None = None
    item: str | None = None

    @property
    def where(self) -> str:
        if self.path:
            return f"{self.path}:{self.line}" if self.line else self.path
        return f"{self.unit}" + (f" 栏目 {self.column}" if self.column else "")

    @classmethod
    def of(cls, r: Rule, unit: str, hit: Hit) -> Finding:
        return cls(r.id, r.name, r.severity, r.points if r.severity == "deduction" else 0, unit, hit.found,
                   hit.expected, r.source, hit.fix or r.fix, hit.path, hit.line, hit.column, hit.item)

    def sort_key(self) -> tuple:
        return (SEVERITIES.index(self.severity), self.rule, self.path or "", self.line or 0, self.column or "",
                self.item or "", self.found)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "name": self.name, "severity": self.severity, "points": self.points,
                "unit": self.unit, "column": self.column, "item": self.item, "path": self.path, "line": self.line,
                "found": self.found, "expected": self.expected, "source": self.source, "fix": self.fix}

    def __str__(self) -> str:
        pts = f" -{self.points}" if self.severity == "deduction" else ""
        return (f"{self.where}: {SEVERITY_LABELS[self.severity]}{pts} [{self.rule}] {self.name}: "
                f"{self.found} (expected: {self.expected})")


# The declarations, filled when the family modules are imported (like ruff's rule
# table, this is code, not run state: it never changes during or between runs).
SPECS: dict[str, Spec] = {}


def rule(rule_id: str, thresholds: dict[str, str] | None = None, cross_unit: bool = False,
         as_of: bool = False, pages: bool = False):
    """Declare a rule function under ``rule_id`` (``family.name``). ``cross_unit``: the rule
    reads facts of other units than the one it judges (a rule that reads only its unit's
    items, files, states and the catalogs leaves it False). ``as_of``: the rule reads the
    as-of date (``unit.day``) itself; the lifecycle states (``unit.public`` …) are the
    unit's, not a read of the date. ``pages``: the rule reads the built pages (``unit.pages``,
    ``unit.files``); a rule without it must not."""
    def register(fn):
        if rule_id in SPECS:
            raise ValueError(f"rule {rule_id} declared twice")
        SPECS[rule_id] = Spec(rule_id, fn, dict(thresholds or {}), rule_id.split(".")[0], cross_unit, as_of, pages)
        return fn
    return register


def load_rules(path: Path) -> dict[str, Rule]:
    """catalogs/rules.yaml joined with the declarations; ContentError naming file and line."""
    problems: list[Problem] = []
    shown = str(path)

    def err(line, key, message):
        problems.append(Problem(shown, line, key, message, rule="catalog.rules"))

    try:
        doc = yamlsrc.load(read_text(path))
    except FileNotFoundError:
        raise ContentError([Problem(shown, None, None, "missing catalog file (the checker's rules)",
                                    rule="catalog.rules")]) from None
    except (SourceError, yamlsrc.YamlError) as exc:
        raise ContentError([Problem(shown, exc.line, None, exc.message, rule="catalog.rules")]) from None
    data = doc.data if isinstance(doc.data, dict) else {}
    if str(data.get("version", "")) != RULES_VERSION:
        err(doc.line("version"), "version", f"expected version {RULES_VERSION}, got {data.get('version')!r}")
    entries = data.get("rules") if isinstance(data.get("rules"), dict) else {}
    out: dict[str, Rule] = {}
    for rule_id in sorted(set(SPECS) | set(entries)):
        at = ("rules", rule_id)
        spec, raw = SPECS.get(rule_id), entries.get(rule_id)
        if spec is None:
            err(doc.line(*at), rule_id, "no such rule in the checker (plugins/gongkai/check/); remove it or fix the id")
            continue
        if not isinstance(raw, dict):
            err(doc.line("rules"), rule_id, "rule missing from the catalog: give name, severity, source, fix, thresholds")
            continue
        if raw.get("enabled", "true") == "false":
            continue
        severity = raw.get("severity")
        if severity not in SEVERITIES:
            err(doc.line(*at, "severity"), "severity", f"expected one of {', '.join(SEVERITIES)}, got {severity!r}")
            continue
        for key in ("name", "source", "fix"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                err(doc.line(*at), key, "required text is missing")
        points = _int(raw.get("points", "0"), lambda m: err(doc.line(*at, "points"), "points", m))
        if severity == "deduction" and not points:
            err(doc.line(*at), "points", "a deduction needs points: N (N > 0)")
        max_points = _int(raw["max_points"], lambda m: err(doc.line(*at, "max_points"), "max_points", m)) \
            if raw.get("max_points") is not None else None
        t_raw = raw.get("thresholds") or {}
        if not isinstance(t_raw, dict):
            err(doc.line(*at, "thresholds"), "thresholds", "expected a mapping")
            t_raw = {}
        thresholds = {}
        for key, kind in spec.thresholds.items():
            if key not in t_raw:
                err(doc.line(*at, "thresholds") or doc.line(*at), f"thresholds.{key}", f"required ({kind})")
                continue
            try:
                thresholds[key] = _convert(t_raw[key], kind)
            except ValueError as exc:
                err(doc.line(*at, "thresholds", key), f"thresholds.{key}", str(exc))
        for key in sorted(set(t_raw) - set(spec.thresholds)):
            err(doc.line(*at, "thresholds", key), f"thresholds.{key}",
                f"not read by this rule (expected: {', '.join(spec.thresholds) or 'none'})")
        out[rule_id] = Rule(rule_id, str(raw.get("name") or ""), severity, points or 0, max_points,
                            str(raw.get("source") or ""), str(raw.get("fix") or ""), thresholds, spec.fn, spec.family,
                            spec.cross_unit, spec.as_of, spec.pages)
    if problems:
        raise ContentError(problems)
    return out


def _int(raw, err) -> int | None:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    err(f"expected a whole number, got {raw!r}")
    return None


def _convert(raw, kind: str):
    if kind == "int":
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw)
        raise ValueError(f"expected a whole number, got {raw!r}")
    if kind == "bool":
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind == "str":
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
        raise ValueError(f"expected text, got {raw!r}")
    if kind == "list":
        if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            return list(raw)
        raise ValueError(f"expected a list of text, got {raw!r}")
    if kind == "map":
        if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
            return dict(raw)
        raise ValueError(f"expected a mapping of text, got {raw!r}")
    raise ValueError(f"unknown threshold kind {kind}")  # pragma: no cover - declaration bug


class UndeclaredDateRead(RuntimeError):
    """A rule read ``unit.day`` without ``as_of=True`` in its ``@rule``: a bug in the rule."""


class UndeclaredPagesRead(RuntimeError):
    """A rule read ``unit.pages`` or ``unit.files`` without ``pages=True`` in its ``@rule``: a bug in the rule."""


class NotWritten:
    """``unit.pages`` and ``unit.files`` while the units are still being written (the rules
    not declared ``pages`` are evaluated then, check.Ahead): any use raises, so a rule that
    reads the pages undeclared fails rather than find nothing."""

    __slots__ = ()

    def _read(self, *args):
        raise UndeclaredPagesRead("reads the built pages (unit.pages, unit.files) but is not declared with "
                                  "pages=True in its @rule (check/engine.py)")

    __getattr__ = __iter__ = __len__ = __bool__ = __getitem__ = __contains__ = _read


NOT_WRITTEN = NotWritten()


class NoDate:
    """What ``unit.day`` is while a rule that did not declare ``as_of`` runs."""

    def __init__(self, rule_id: str):
        self.rule_id = rule_id

    def read(self):
        raise UndeclaredDateRead(f"rule {self.rule_id} reads the as-of date (unit.day) but is not declared "
                                 f"with as_of=True in its @rule (check/engine.py)")


class AsOf:
    """The as-of date as a rule declared ``as_of`` reads it. Every read narrows the window
    ``[lo, hi]`` (None: unbounded) of as-of dates on which the rule gives the same answers,
    given the unit's own inputs: a comparison with a date to the half-line on its side,
    ``.year`` to that year, anything else (arithmetic, ``isoformat``, ``==``) to the day."""

    __slots__ = ("_day", "hi", "lo")

    def __init__(self, day: dt.date):
        self._day, self.lo, self.hi = day, None, None

    def _after(self, d: dt.date) -> None:    # the answers hold on d and later
        self.lo = d if self.lo is None else max(self.lo, d)

    def _before(self, d: dt.date) -> None:   # … on d and earlier
        self.hi = d if self.hi is None else min(self.hi, d)

    def exact(self) -> dt.date:
        """The day itself: the answers hold on this day only."""
        self._after(self._day)
        self._before(self._day)
        return self._day

    def _cmp(self, other, op: str) -> bool:
        day = self._day
        if type(other) is not dt.date:
            return getattr(self.exact(), op)(other)
        try:
            if op == "__lt__":      # day < other
                (self._before(other - dt.timedelta(days=1)) if day < other else self._after(other))
                return day < other
            if op == "__le__":
                (self._before(other) if day <= other else self._after(other + dt.timedelta(days=1)))
                return day <= other
            if op == "__gt__":
                (self._after(other + dt.timedelta(days=1)) if day > other else self._before(other))
                return day > other
            (self._after(other) if day >= other else self._before(other - dt.timedelta(days=1)))
            return day >= other
        except OverflowError:       # date.min / date.max: no neighbour day
            return getattr(self.exact(), op)(other)

    def __lt__(self, other) -> bool:
        return self._cmp(other, "__lt__")

    def __le__(self, other) -> bool:
        return self._cmp(other, "__le__")

    def __gt__(self, other) -> bool:
        return self._cmp(other, "__gt__")

    def __ge__(self, other) -> bool:
        return self._cmp(other, "__ge__")

    def __eq__(self, other) -> bool:
        return self.exact() == other

    def __ne__(self, other) -> bool:
        return self.exact() != other

    def __hash__(self) -> int:
        return hash(self.exact())

    def __bool__(self) -> bool:
        return True

    @property
    def year(self) -> int:
        y = self._day.year
        self._after(dt.date(y, 1, 1))
        self._before(dt.date(y, 12, 31))
        return y

    def __sub__(self, other):
        return self.exact() - other

    def __rsub__(self, other):
        return other - self.exact()

    def __add__(self, other):
        return self.exact() + other

    __radd__ = __add__

    def __str__(self) -> str:
        return str(self.exact())

    def __repr__(self) -> str:
        return repr(self.exact())

    def __format__(self, spec: str) -> str:
        return format(self.exact(), spec)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.exact(), name)


def later_than(d: dt.date, delta) -> dt.date:
    """The first as-of date x with ``x - delta > d`` (``delta``: a timedelta or relativedelta;
    ``x - delta`` never decreases as x grows). A rule asks ``d < as_of - delta`` as
    ``as_of >= later_than(d, delta)``: a comparison, so its answer holds until that day."""
    x = d + delta
    while not x - delta > d:     # month/year ends: x - delta may fall short of d; a few days at most
        x += dt.timedelta(days=1)
    return x


def in_window(day: dt.date, lo: dt.date | None, hi: dt.date | None) -> bool:
    return (lo is None or lo <= day) and (hi is None or day <= hi)


def evaluate_hits(rules: dict[str, Rule], unit: UnitFacts, ids) -> dict[str, tuple]:
    """Rule id -> (lo, hi, hits) for each of ``ids``: what the rule found in the unit, and
    the window of as-of dates it holds for (None, None for a rule that does not read the
    date; the unit's own inputs, states included, being the same)."""
    out = {}
    for rule_id in sorted(ids):
        r = rules[rule_id]
        probe = AsOf(unit.as_of) if r.as_of else NoDate(rule_id)
        unit.reading = probe
        try:
            hits = list(r.fn(unit, r.thresholds))
        except UndeclaredPagesRead as exc:
            raise UndeclaredPagesRead(f"rule {rule_id} {exc}") from None
        finally:
            unit.reading = None
        out[rule_id] = (probe.lo, probe.hi, hits) if r.as_of else (None, None, hits)
    return out


def as_findings(rules: dict[str, Rule], uid: str, got: dict[str, tuple]) -> dict[str, tuple]:
    """``evaluate_hits``'s answer with each hit a ``Finding`` of its rule."""
    return {rule_id: (lo, hi, [Finding.of(rules[rule_id], uid, hit) for hit in hits])
            for rule_id, (lo, hi, hits) in got.items()}


def evaluate_rules(rules: dict[str, Rule], unit: UnitFacts, ids) -> dict[str, tuple]:
    """Rule id -> (lo, hi, findings) for each of ``ids`` (``evaluate_hits``)."""
    return as_findings(rules, unit.id, evaluate_hits(rules, unit, ids))


def evaluate(rules: dict[str, Rule], unit: UnitFacts, cross_unit_only: bool = False) -> list[Finding]:
    """Every finding of every rule for one unit, in a stable order (``cross_unit_only``:
    of the rules declared ``cross_unit`` only)."""
    got = evaluate_rules(rules, unit, [i for i in rules if rules[i].cross_unit or not cross_unit_only])
    return sorted((f for i in sorted(got) for f in got[i][2]), key=Finding.sort_key)
