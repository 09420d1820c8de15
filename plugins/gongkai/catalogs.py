"""Load the standard catalogs: column tree, vocabularies, domain catalogs, labels.

Everything the site shows about structure and every controlled vocabulary comes
from ``catalogs/``; code and templates only ask this module.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import yamlsrc
from .errors import ContentError, Problem
from .fields import q
from .source import SourceError, read_text

LEVELS = ("province", "city", "county", "township", "department")
_ID = re.compile(r"^[a-z0-9]+$")
_DEADLINE_UNITS = ("days", "workdays")
_DEADLINE_FROM = ("formed", "approved", "year_end")
_FREQUENCIES = ("once", "annual", "on-change")


@dataclass(frozen=True)
class Column:
    id: str
    name: str
    levels: frozenset[str]
    required: frozenset[str]
    basis: str = ""
    freshness_months: int | None = None
    generated: str | None = None
    column_type: str = ""
    description: str = ""
    requires: tuple[str, ...] = ()
    interpretation_workdays: int | None = None
    interpretation_basis: str = ""
    summary: str = ""
    parent: str | None = None
    children: tuple[Column, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def applies(self, level: str) -> bool:
        return level in self.levels

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Vocab:
    label: str
    source: str
    values: tuple[str, ...]                       # every accepted value
    names: dict[str, str] = field(default_factory=dict)  # id -> display name

    def __contains__(self, value: str) -> bool:
        return value in self.values

    def name(self, value: str) -> str:
        return self.names.get(value, value)


@dataclass(frozen=True)
class DomainItem:
    id: str
    catalog: str
    level1: str
    level2: str
    content: str
    basis: str
    deadline: dict
    deadline_text: str
    subject: str
    channels: tuple[str, ...]
    audience: str
    mode: str
    levels: frozenset[str]
    column: str
    frequency: str


@dataclass(frozen=True)
class Catalogs:
    root: Column
    level_names: dict[str, str]
    by_id: dict[str, Column]
    vocab: dict[str, Vocab]
    domains: dict[str, dict[str, Any]]
    domain_items: dict[str, DomainItem]
    item_labels: dict[str, str]
    unit_labels: dict[str, str]
    fiscal: dict[str, Any] = field(default_factory=dict)
    annual: Any = None   # annual.spec.Spec: the 年报 format (catalogs/annual.yaml)

    _pruned: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)
    _leaves: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def tree_for(self, level: str) -> Column:
        """The column tree pruned to the columns that apply to ``level``."""
        # Asked once per item by validation: prune once per level (columns are frozen).
        tree = self._pruned.get(level)
        if tree is None:
            tree = self._pruned[level] = _prune(self.root, level)
        return tree

    def leaf_ids(self, level: str) -> tuple[str, ...]:
        # Asked once per item too: a tuple per level, so no caller can change the one kept.
        leaves = self._leaves.get(level)
        if leaves is None:
            leaves = self._leaves[level] = tuple(c.id for c in self.tree_for(level).walk() if c.is_leaf)
        return leaves

    def path_to(self, column_id: str) -> list[Column]:
        """Columns from the root down to ``column_id`` (for breadcrumbs)."""
        out = []
        col = self.by_id.get(column_id)
        while col is not None:
            out.append(col)
            col = self.by_id.get(col.parent) if col.parent else None
        return list(reversed(out))

    def label(self, key: str) -> str:
        return self.item_labels.get(key, key)


def _prune(col: Column, level: str) -> Column:
    kids = tuple(_prune(c, level) for c in col.children if c.applies(level))
    return Column(**{**col.__dict__, "children": kids})


@lru_cache(maxsize=8)
def load(directory: str) -> Catalogs:
    """Load and check every catalog under ``directory``; raise ContentError on problems."""
    root_dir = Path(directory)
    problems: list[Problem] = []
    loader = _Loader(root_dir, problems)

    fields_doc = loader.doc("fields.yaml")
    item_labels = dict((fields_doc.data or {}).get("item") or {}) if fields_doc else {}
    unit_labels = dict((fields_doc.data or {}).get("unit") or {}) if fields_doc else {}

    vocab = {}
    for path in sorted((root_dir / "vocab").glob("*.yaml")):
        v = loader.vocab(path)
        if v:
            vocab[path.stem] = v
    for needed in ("topics", "genres", "validity", "disclosure", "types", "forms", "channels", "attachments"):
        if needed not in vocab:
            problems.append(Problem(f"{root_dir}/vocab/{needed}.yaml", None, None,
                                    "missing vocabulary file", rule="catalog.missing"))

    root, level_names, by_id = loader.columns()

    domains, domain_items = {}, {}
    for path in sorted((root_dir / "domains").glob("*.yaml")):
        loader.domain(path, by_id, vocab.get("channels"), domains, domain_items)

    fiscal_doc = loader.doc("fiscal.yaml")
    fiscal = fiscal_doc.data if fiscal_doc and isinstance(fiscal_doc.data, dict) else {}
    for key in ("tolerance", "money_units", "stages", "scopes", "deadline", "sangong", "standard_tables"):
        if fiscal_doc and key not in fiscal:
            problems.append(Problem(str(root_dir / "fiscal.yaml"), None, key, "missing", rule="catalog"))

    annual = None
    annual_doc = loader.doc("annual.yaml")
    if annual_doc is not None:
        from .annual import spec as annual_spec
        try:
            annual = annual_spec.from_catalog(annual_doc.data)
        except annual_spec.SpecError as exc:
            problems.append(Problem(str(root_dir / "annual.yaml"), None, None, str(exc), rule="catalog"))

    if problems:
        raise ContentError(problems)
    return Catalogs(root, level_names, by_id, vocab, domains, domain_items, item_labels, unit_labels, fiscal, annual)


class _Loader:
    def __init__(self, root: Path, problems: list[Problem]):
        self.root = root
        self.problems = problems

    def err(self, path: Path, line: int | None, message: str, field: str | None = None):
        self.problems.append(Problem(str(path), line, field, message, rule="catalog"))

    def doc(self, name: str | Path) -> yamlsrc.Doc | None:
        path = self.root / name if isinstance(name, str) else name
        try:
            return yamlsrc.load(read_text(path))
        except FileNotFoundError:
            self.err(path, None, "missing catalog file")
        except (SourceError, yamlsrc.YamlError) as exc:
            self.err(path, exc.line, exc.message)
        return None

    def vocab(self, path: Path) -> Vocab | None:
        doc = self.doc(path)
        if doc is None:
            return None
        data = doc.data if isinstance(doc.data, dict) else {}
        raw = data.get("values")
        if not isinstance(raw, list) or not raw:
            self.err(path, doc.line("values"), "expected a non-empty list", "values")
            return None
        values, names = [], {}
        for i, v in enumerate(raw):
            if isinstance(v, str):
                values.append(v)
            elif isinstance(v, dict) and "id" in v:
                values.append(v["id"])
                names[v["id"]] = v.get("name") or v["id"]
            elif isinstance(v, dict) and "name" in v:
                # A two-level tree (主题分类): the class alone, or 大类\小类.
                values.append(v["name"])
                for child in v.get("children") or []:
                    values.append(f"{v['name']}\\{child}")
            else:
                self.err(path, doc.line("values", i), "expected a string, {id, name} or {name, children}")
        dupes = {v for v in values if values.count(v) > 1}
        if dupes:
            self.err(path, doc.line("values"), f"duplicate values: {', '.join(sorted(dupes))}")
        return Vocab(str(data.get("label") or path.stem), str(data.get("source") or ""), tuple(values), names)

    def columns(self):
        path = self.root / "columns.yaml"
        doc = self.doc(path)
        empty = Column("zfxxgk", "政府信息公开", frozenset(LEVELS), frozenset())
        if doc is None or not isinstance(doc.data, dict):
            return empty, dict.fromkeys(LEVELS, ""), {}
        level_names = doc.data.get("levels") or {}
        if set(level_names) != set(LEVELS):
            self.err(path, doc.line("levels"), f"expected exactly the levels {', '.join(LEVELS)}", "levels")
        by_id: dict[str, Column] = {}
        root = self._column(path, doc, doc.data.get("tree") or {}, ("tree",), None, by_id)
        return root or empty, level_names, by_id

    def _column(self, path, doc, raw, at, parent, by_id) -> Column | None:
        line = doc.line(*at)
        if not isinstance(raw, dict):
            self.err(path, line, "expected a mapping with id and name")
            return None
        cid = raw.get("id") or ""
        if not _ID.match(cid):
            self.err(path, line, f"expected an ASCII id [a-z0-9]+, got {q(cid)}", "id")
        if cid in by_id:
            self.err(path, line, f"duplicate column id {q(cid)}", "id")
        levels = self._levels(path, doc, raw.get("levels", "all"), at + ("levels",))
        req = raw.get("required", "false")
        if req in ("true", "false"):
            required = levels if req == "true" else frozenset()
        else:
            required = self._levels(path, doc, req, at + ("required",))
            if not required <= levels:
                self.err(path, doc.line(*at, "required"), "required levels must be among the column's levels", "required")
        fresh = raw.get("freshness")
        months = None
        if fresh is not None:
            try:
                months = int(fresh["months"])
            except (TypeError, KeyError, ValueError):
                self.err(path, doc.line(*at, "freshness"), f"expected {{months: N}}, got {q(fresh)}", "freshness")
        generated = raw.get("generated")
        if generated not in (None, "guide", "retired", "qa"):
            self.err(path, doc.line(*at, "generated"), f"expected guide, retired or qa, got {q(generated)}", "generated")
        interp = raw.get("interpretation")
        within, interp_basis = None, ""
        if interp is not None:
            interp_basis = interp.get("basis", "") if isinstance(interp, dict) else ""
            try:
                within = int(interp["within_workdays"])
            except (TypeError, KeyError, ValueError):
                self.err(path, doc.line(*at, "interpretation"), f"expected {{within_workdays: N}}, got {q(interp)}",
                         "interpretation")
        requires = raw.get("requires") or []
        col = Column(cid, raw.get("name") or cid, levels, required, raw.get("basis") or "", months, generated,
                     raw.get("column_type") or "", raw.get("description") or "",
                     tuple(requires if isinstance(requires, list) else [requires]), within, interp_basis,
                     raw.get("summary") or "", parent)
        by_id[cid] = col
        kids = []
        for i, child in enumerate(raw.get("children") or []):
            c = self._column(path, doc, child, at + ("children", i), cid, by_id)
            if c:
                kids.append(c)
        col = Column(**{**col.__dict__, "children": tuple(kids)})
        by_id[cid] = col
        return col

    def _levels(self, path, doc, raw, at) -> frozenset[str]:
        if raw == "all" or raw is None:
            return frozenset(LEVELS)
        values = raw if isinstance(raw, list) else [raw]
        bad = [v for v in values if v not in LEVELS]
        if bad:
            self.err(path, doc.line(*at), f"expected 'all' or levels from {', '.join(LEVELS)}, got {bad}", at[-1])
        return frozenset(v for v in values if v in LEVELS)

    def domain(self, path, by_id, channels, domains, domain_items):
        doc = self.doc(path)
        if doc is None or not isinstance(doc.data, dict):
            return
        data = doc.data
        cid = data.get("id") or path.stem
        domains[cid] = {"id": cid, "name": data.get("name") or cid, "source": data.get("source") or "",
                        "items": []}
        keys = ("id", "level1", "level2", "content", "basis", "deadline", "subject", "channels",
                "audience", "mode", "levels", "column", "frequency")
        for i, raw in enumerate(data.get("items") or []):
            at = ("items", i)
            if not isinstance(raw, dict):
                self.err(path, doc.line(*at), "expected a mapping")
                continue
            missing = [k for k in keys if raw.get(k) in (None, "", [])]
            if missing:
                self.err(path, doc.line(*at), f"missing keys: {', '.join(missing)}")
                continue
            deadline = self._deadline(path, doc.line(*at, "deadline"), raw["deadline"])
            levels = self._levels(path, doc, raw["levels"], at + ("levels",))
            col = by_id.get(raw["column"])
            if col is None or not col.is_leaf:
                self.err(path, doc.line(*at, "column"), f"unknown leaf column {q(raw['column'])}", "column")
            elif not levels <= col.levels:
                self.err(path, doc.line(*at, "column"),
                         f"column {col.id} does not apply to levels {sorted(levels - col.levels)}", "column")
            chans = tuple(raw["channels"] if isinstance(raw["channels"], list) else [raw["channels"]])
            if channels is not None:
                for ch in chans:
                    if ch not in channels:
                        self.err(path, doc.line(*at, "channels"), f"unknown channel {q(ch)} (see vocab/channels.yaml)", "channels")
            if raw["frequency"] not in _FREQUENCIES:
                self.err(path, doc.line(*at, "frequency"), f"expected one of {', '.join(_FREQUENCIES)}", "frequency")
            if raw["id"] in domain_items:
                self.err(path, doc.line(*at, "id"), f"duplicate 事项 id {q(raw['id'])}", "id")
            item = DomainItem(raw["id"], cid, raw["level1"], raw["level2"], raw["content"], raw["basis"],
                              deadline or {}, raw.get("deadline_text") or "", raw["subject"], chans,
                              raw["audience"], raw["mode"], levels, raw["column"], raw["frequency"])
            domain_items[item.id] = item
            domains[cid]["items"].append(item)

    def _deadline(self, path, line, raw) -> dict | None:
        shape = "{within: N, unit: days|workdays, from: formed|approved|year_end} or {by: 'MM-DD', from: year_end}"
        if not isinstance(raw, dict):
            self.err(path, line, f"expected {shape}", "deadline")
            return None
        if "by" in raw:
            if not re.match(r"^\d\d-\d\d$", raw.get("by") or "") or raw.get("from", "year_end") != "year_end":
                self.err(path, line, f"expected {shape}, got {q(raw)}", "deadline")
                return None
            return {"by": raw["by"], "from": "year_end"}
        try:
            within = int(raw["within"])
        except (KeyError, TypeError, ValueError):
            self.err(path, line, f"expected {shape}, got {q(raw)}", "deadline")
            return None
        if raw.get("unit") not in _DEADLINE_UNITS or raw.get("from") not in _DEADLINE_FROM:
            self.err(path, line, f"expected {shape}, got {q(raw)}", "deadline")
            return None
        return {"within": within, "unit": raw["unit"], "from": raw["from"]}
