"""Units (one site each): read ``_unit.yaml`` and check the unit tree."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import regex

from . import paths, yamlsrc
from .catalogs import LEVELS, Catalogs
from .errors import FieldError, Problem
from .fields import Ctx, Kind, Pattern, Text, blank, q
from .source import SourceError, read_text, shown_path

UNIT_ID = re.compile(r"^[a-z0-9-]+$")
REGEX_SECONDS = 0.2


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> regex.Pattern:
    # The `regex` module: `re` syntax, plus a timeout on each match. Memoized here: every
    # item's 索引号 is matched against its unit's pattern, and `regex`'s own cache is emptied
    # by the other patterns a scan compiles — a compile per item was ~15 % of the pre-pass.
    return regex.compile(pattern)


def _default_pattern(org_code: str) -> str:
    """The 索引号 form of a unit without index_pattern: <org_code>/<YYYY>-<serial>."""
    return rf"^{re.escape(org_code)}/\d{{4}}-\d{{1,8}}$"


@functools.lru_cache(maxsize=4096)
def _default_index_re(org_code: str) -> re.Pattern:
    # Compiled by `re`: for this pattern `re` and `regex` mean the same (\d and $ alike).
    return re.compile(_default_pattern(org_code))


# 统一社会信用代码 (GB 32100, 18 chars) or 组织机构代码 (GB 11714, 9 chars).
ORG_CODE = r"^(?:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9A-Z]{8}[0-9X])$"
GUIDE_KEYS = ("office", "address", "hours", "phone", "email", "postcode", "fax", "website")
GUIDE_REQUIRED = ("office", "address", "hours", "phone")
# Optional footer facts of the unit's site (all configured, never invented): key -> kind.
URL = r"^(?:https?://|mailto:|tel:)[^\s\"'<>\\]{1,500}$"
FOOTER_KEYS = {
    "icp": ("text", "ICP备案号, e.g. 苏ICP备05000000号-1"),
    "icp_url": ("url", "the link of the ICP备案号 (default https://beian.miit.gov.cn/)"),
    "police": ("text", "公安机关备案号, e.g. 苏公网安备 32028202000001号"),
    "police_url": ("url", "the link of the 公安备案号"),
    "dzjg_url": ("url", "the link of the 党政机关网站标识"),
    "jiucuo_url": ("url", "the link of 政府网站找错 (国办 jiucuo, with this site's 标识码)"),
    "contact_url": ("url", "the link of 联系我们 (a page, mailto: or tel:)"),
}
# A folder under the unit (issuers: {folder: 发布机构}); no "..", no leading "/".
FOLDER = r"^(?!.*(?:^|/)\.\.?(?:/|$))[^/\\\x00-\x1f][^\\\x00-\x1f]{0,199}$"


@dataclass
class Unit:
    id: str
    name: str
    level: str
    org_code: str
    folder: Path
    source: str
    short_name: str = ""
    parent: str | None = None
    site_code: str = ""
    index_pattern: str = ""
    guide: dict[str, str] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    parent_line: int | None = None
    issuer: str = ""                                        # default 发布机构 (else the name)
    issuers: dict[str, str] = field(default_factory=dict)   # folder -> default 发布机构 there
    footer: dict[str, str] = field(default_factory=dict)    # FOOTER_KEYS, only those configured

    def issuer_for(self, path: Path) -> str:
        """The default 发布机构 of an item file: the nearest configured folder, else the unit's."""
        if not self.issuers:
            return self.issuer or self.name   # nothing configured per folder: no path to read
        try:
            # The scan's paths are built under the (resolved) unit folder without entering a link:
            # their parts are the real ones, without resolving each (~40 µs a call).
            parts = path.relative_to(self.folder).parent.parts
            if ".." in parts:
                raise ValueError(path)
        except ValueError:
            try:
                parts = path.resolve().relative_to(self.folder.resolve()).parent.parts
            except ValueError:
                parts = ()
        for n in range(len(parts), 0, -1):
            found = self.issuers.get("/".join(parts[:n]))
            if found:
                return found
        return self.issuer or self.name

    @property
    def index_re(self) -> regex.Pattern:
        if self.index_pattern:
            return _compile(self.index_pattern.replace("{org_code}", re.escape(self.org_code)))
        return _compile(_default_pattern(self.org_code))

    def index_matches(self, value: str) -> bool:
        """Whether ``value`` has this unit's 索引号 form. An editor's index_pattern is
        a regular expression an attacker may write: a catastrophic one ``(a+)+$`` is
        stopped after REGEX_SECONDS and named, instead of spinning for minutes."""
        if not self.index_pattern:
            # Our own pattern has no nested repetition: no timeout needed. The timeout costs
            # two clock_gettime(CLOCK_PROCESS_CPUTIME_ID) system calls a match (no vDSO), and
            # every item of the province is matched.
            return _default_index_re(self.org_code).match(value) is not None
        try:
            return self.index_re.match(value, timeout=REGEX_SECONDS) is not None
        except TimeoutError:
            raise FieldError(f"_unit.yaml 的 index_pattern 匹配超时（{REGEX_SECONDS} 秒），请简化该正则表达式 "
                             f"(index_pattern {q(self.index_pattern)} takes too long on {q(value)}: "
                             "catastrophic backtracking)") from None

    @property
    def index_expected(self) -> str:
        if self.index_pattern:
            return f"an index number matching {self.index_pattern} (_unit.yaml index_pattern)"
        return f"an index number {self.org_code}/<YYYY>-<serial> (this unit's org_code)"

    def as_settings(self) -> dict:
        """Plain data handed to Pelican settings and templates."""
        return {"id": self.id, "name": self.name, "short_name": self.short_name or self.name,
                "level": self.level, "parent": self.parent, "org_code": self.org_code,
                "site_code": self.site_code, "guide": dict(self.guide), "children": list(self.children),
                "folder": str(self.folder), "source": self.source, "index_pattern": self.index_pattern,
                "issuer": self.issuer or self.name, "issuers": dict(self.issuers), "footer": dict(self.footer)}

    @classmethod
    def from_settings(cls, data: dict) -> Unit:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "folder": Path(data["folder"])})




class _Level(Kind):
    expected = f"one of {', '.join(LEVELS)}"

    def __call__(self, raw, ctx):
        value = Text()(raw, ctx)
        if value not in LEVELS:
            raise FieldError(f"expected {self.expected}, got {q(value)}")
        return value


class _Regex(Kind):
    expected = "a regular expression"

    def __call__(self, raw, ctx):
        value = Text(max_len=200, one_line=True)(raw, ctx)
        try:
            _compile(value.replace("{org_code}", "X"))
        except regex.error as exc:
            raise FieldError(f"expected a regular expression, got {q(value)} ({exc})") from None
        return value


# _unit.yaml fields: key -> (validator, required). The guide mapping is checked apart.
UNIT_FIELDS: dict[str, tuple[Kind, bool]] = {
    "name": (Text(max_len=100, one_line=True), True),
    "short_name": (Text(max_len=40, one_line=True), False),
    "level": (_Level(), True),
    "parent": (Pattern(r"^[a-z0-9-]+$", "a unit id [a-z0-9-]+"), False),
    "org_code": (Pattern(ORG_CODE, "a 统一社会信用代码 of 18 characters or a 组织机构代码 of 9"), True),
    "site_code": (Pattern(r"^[0-9A-Za-z]{10}$", "a 网站标识码 of 10 letters or digits"), False),
    "index_pattern": (_Regex(), False),
    "issuer": (Text(max_len=100, one_line=True), False),
}
MAPPINGS = ("guide", "issuers", "footer")


def load_units(content: Path, catalogs: Catalogs) -> tuple[dict[str, Unit], list[Problem]]:
    """Read every ``content/<unit-id>/_unit.yaml``, then check parents and cycles."""
    problems: list[Problem] = []
    units: dict[str, Unit] = {}
    if not content.is_dir():
        return {}, [Problem(str(content), None, None, "content folder not found", rule="unit.missing")]
    root = content.resolve()
    folders: set[str] = set()
    for folder in sorted(p for p in root.iterdir() if not p.name.startswith((".", "_"))):
        if not folder.is_symlink() and not folder.is_dir():
            continue  # files beside the unit folders are not read
        folders.add(folder.name)
        path = folder / "_unit.yaml"
        rel = shown_path(path)
        try:
            paths.vet(folder, root, folder=True)
        except paths.PathError as exc:
            problems.append(Problem(exc.shown, None, None, exc.message, rule="unit.path"))
            continue
        if not path.exists() and not path.is_symlink():
            problems.append(Problem(rel, None, None, "missing _unit.yaml: every unit folder needs one "
                                    "(name, level, org_code)", rule="unit.missing"))
            continue
        if not UNIT_ID.match(folder.name):
            problems.append(Problem(shown_path(folder), None, None,
                                    f"unit folder name {q(folder.name)} is not a unit id (expected [a-z0-9-]+)",
                                    rule="unit.id"))
            continue
        try:
            paths.vet(path, root, max_bytes=paths.MAX_TEXT_BYTES)
        except paths.PathError as exc:
            problems.append(Problem(exc.shown, None, None, exc.message, rule="unit.path"))
            continue
        unit = _read_unit(path, rel, folder.resolve(), catalogs, problems)
        if unit:
            units[unit.id] = unit
    # Folders whose _unit.yaml (or the folder itself) was reported above: a unit naming one
    # as its parent is not told again that the parent is unknown (one mistake, one message).
    _check_tree(units, problems, folders - set(units))
    return units, problems


def _read_unit(path: Path, rel: str, folder: Path, catalogs: Catalogs, problems: list[Problem]) -> Unit | None:
    labels = catalogs.unit_labels
    try:
        doc = yamlsrc.load(read_text(path))
    except (SourceError, yamlsrc.YamlError) as exc:
        problems.append(Problem(rel, exc.line, None, exc.message, rule="unit.syntax"))
        return None
    if not isinstance(doc.data, dict):
        problems.append(Problem(rel, 1, None, "expected a mapping of fields (name, level, org_code …)", rule="unit.syntax"))
        return None
    ctx = Ctx(catalogs)
    values: dict = {}
    ok = True
    kinds = UNIT_FIELDS
    for key in doc.data:
        if key not in kinds and key not in MAPPINGS:
            problems.append(Problem(rel, doc.line(key), key, f"unknown field; expected one of "
                                    f"{', '.join(list(kinds) + list(MAPPINGS))}", rule="unit.unknown"))
            ok = False
    for key, (kind, required) in kinds.items():
        raw = doc.data.get(key)
        if blank(raw):
            if required:
                problems.append(Problem(rel, doc.line(key) or 1, key, f"required field is missing (expected {kind.expected})",
                                        labels.get(key), rule="unit.required"))
                ok = False
            continue
        try:
            values[key] = kind(raw, ctx)
        except FieldError as exc:
            problems.append(Problem(rel, doc.line(key), key, exc.message, labels.get(key), rule="unit.field"))
            ok = False
    guide = {}
    raw_guide = doc.data.get("guide")
    if blank(raw_guide):
        problems.append(Problem(rel, 1, "guide", "required field is missing (expected office, address, hours, phone, email)",
                                labels.get("guide"), rule="unit.required"))
        ok = False
    elif not isinstance(raw_guide, dict):
        problems.append(Problem(rel, doc.line("guide"), "guide", "expected a mapping (office, address, hours, phone, email)",
                                labels.get("guide"), rule="unit.field"))
        ok = False
    else:
        for key, raw in raw_guide.items():
            name = f"guide.{key}"
            if key not in GUIDE_KEYS:
                problems.append(Problem(rel, doc.line("guide", key), name, f"unknown field; expected one of {', '.join(GUIDE_KEYS)}",
                                        rule="unit.unknown"))
                ok = False
                continue
            if blank(raw):
                continue
            try:
                guide[key] = Text()(raw, ctx)
            except FieldError as exc:
                problems.append(Problem(rel, doc.line("guide", key), name, exc.message, labels.get(name), rule="unit.field"))
                ok = False
        for key in GUIDE_REQUIRED:
            if blank(raw_guide.get(key)):
                problems.append(Problem(rel, doc.line("guide"), f"guide.{key}", "required field is missing",
                                        labels.get(f"guide.{key}"), rule="unit.required"))
                ok = False
    issuers = _read_mapping(doc, rel, "issuers", ctx, problems, labels,
                            key_kind=Pattern(FOLDER, "a folder of this unit, e.g. gfxwj"),
                            value_kind=lambda k: Text(max_len=100, one_line=True))
    footer = _read_mapping(doc, rel, "footer", ctx, problems, labels, keys=FOOTER_KEYS,
                           value_kind=lambda k: (Pattern(URL, "a link http(s)://, mailto: or tel:")
                                                 if FOOTER_KEYS[k][0] == "url" else Text(max_len=100, one_line=True)))
    if issuers is None or footer is None:
        ok = False
    if not ok:
        return None
    return Unit(id=folder.name, name=values["name"], level=values["level"], org_code=values["org_code"],
                folder=folder, source=rel, short_name=values.get("short_name", ""), parent=values.get("parent"),
                site_code=values.get("site_code", ""), index_pattern=values.get("index_pattern", ""), guide=guide,
                parent_line=doc.line("parent") if "parent" in doc.data else None,
                issuer=values.get("issuer", ""), issuers=issuers, footer=footer)


def _read_mapping(doc, rel: str, name: str, ctx: Ctx, problems: list[Problem], labels: dict, *,
                  keys: dict | None = None, key_kind: Kind | None = None, value_kind) -> dict[str, str] | None:
    """An optional mapping of _unit.yaml (issuers, footer); None when any entry is wrong."""
    raw = doc.data.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(rel, doc.line(name), name, "expected a mapping of key: value lines",
                                labels.get(name), rule="unit.field"))
        return None
    out, ok = {}, True
    for key, value in raw.items():
        field_name = f"{name}.{key}"
        key = str(key)
        try:
            if keys is not None and key not in keys:
                raise FieldError(f"unknown field; expected one of {', '.join(keys)}")
            if key_kind is not None:
                key = key_kind(key, ctx).strip("/")
            out[key] = value_kind(key)(value, ctx)
        except FieldError as exc:
            problems.append(Problem(rel, doc.line(name, key), field_name, exc.message, labels.get(field_name),
                                    rule="unit.field"))
            ok = False
    return dict(sorted(out.items())) if ok else None


def _check_tree(units: dict[str, Unit], problems: list[Problem], reported: set[str] = frozenset()) -> None:
    for unit in units.values():
        if unit.parent and unit.parent not in units and unit.parent not in reported:
            problems.append(Problem(unit.source, unit.parent_line, "parent", f"unknown unit {q(unit.parent)}; expected one of "
                                    f"{', '.join(sorted(units))}", "上级单位", rule="unit.parent"))
    reported: set[str] = set()
    for start in sorted(units):
        seen: list[str] = []
        uid: str | None = start
        while uid in units and uid not in seen:
            seen.append(uid)
            uid = units[uid].parent
        if uid in seen and uid not in reported:
            cycle = seen[seen.index(uid):]
            reported.update(cycle)
            problems.append(Problem(units[uid].source, units[uid].parent_line, "parent", "the unit tree has a cycle: "
                                    + " -> ".join(cycle + [uid]), "上级单位", rule="unit.cycle"))
    for uid in sorted(units):
        parent = units[uid].parent
        if parent in units and uid not in reported:
            units[parent].children.append(uid)
