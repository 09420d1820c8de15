"""Validate one item file against the field schema of DESIGN §4.

``read_item`` is the whole "read → validate" stage for one file: it decodes the
bytes, splits front matter, runs one validator per field, then the cross-field
rules, and returns an Item or the full list of problems.
"""
from __future__ import annotations

import os

import re
from collections.abc import Callable
from pathlib import Path

from . import fiscal, images, paths, yamlsrc
from .annual import model as annual_model
from .catalogs import Catalogs
from .errors import FieldError, Problem
from .fields import (
    Attachments,
    Bool,
    Choice,
    ColumnId,
    Ctx,
    Date,
    DocNumber,
    DomainItemId,
    IndexNo,
    IndexRef,
    Kind,
    ListOf,
    QAList,
    Text,
    _near,
    blank,
    q,
)
from .items import Item
from .source import SourceError, read_text, read_walked, split_front_matter
from .units import Unit

# Field kinds; required/conditional rules live in _cross_checks.
FIELDS: dict[str, Kind] = {
    "title": Text(max_len=200, one_line=True),
    "column": ColumnId(),
    "type": Choice("types"),
    "index_no": IndexNo(),
    "doc_number": DocNumber(),
    "issuer": Text(max_len=100, one_line=True),
    "written": Date(),
    "published": Date(allow_time=True),
    "formed": Date(),
    "topic": Choice("topics"),
    "genre": Choice("genres"),
    "keywords": ListOf(Text(max_len=40, one_line=True), split=True),
    "summary": Text(max_len=1000),
    "validity": Choice("validity"),
    "valid_until": Date(),
    "repealed_by": IndexRef(),
    "replaced_by": IndexRef(),
    "publicity_until": Date(),
    "disclosure": Choice("disclosure"),
    "draft": Bool(),
    "catalog_item": DomainItemId(),
    "approved": Date(),
    "interprets": ListOf(IndexRef()),
    "form": Choice("forms"),
    "qa": QAList(),
    "attachments": Attachments(),
}
# Fields of the structured types, kept raw here and checked by their own plugin.
DATA_FIELDS = ("department", "year", "stage", "unit", "amounts", "total", "explanation", "counts",
               "scope", "tables", "sections") + annual_model.FIELDS[1:]
DATA_TYPES = ("sangong", "fiscal", "annual-report")
REQUIRED = ("title", "column", "published")
REQUIRED_BY_TYPE = {"document": ("index_no",), "interpretation": ("interprets",)}
PELICAN_LINK = re.compile(r"\{(static|attach|filename|index|tag|category|author)\}")
ONLY_FOR_TYPE = {"interprets": "interpretation", "form": "interpretation", "publicity_until": "notice"}


def read_item(path: Path, unit: Unit, catalogs: Catalogs, *, walked: bool = False,
              on_read: Callable[[os.stat_result, bytes], None] | None = None) -> tuple[Item | None, list[Problem]]:
    """``walked``: the caller found ``path`` with ``paths.walk_kinds`` from the unit folder,
    listed as a regular file or a link (``site.item_files``): its folders were entered as
    real folders, so the file is opened without following a link and checked open
    (``source.read_walked``), and vetted part by part only when that fails. ``on_read(st,
    data)``: called with the bytes read that way and the open file's ``fstat`` (not when the
    file was vetted and read otherwise)."""
    # The absolute path, made once for the shown path, the name rule and vet (each made its
    # own: four per item, ~10 % of the pre-pass's path work).
    full = os.path.abspath(path)
    shown = paths.shown_full(full)
    labels = catalogs.item_labels
    problems: list[Problem] = []
    root = unit.folder.parent  # the content folder: nothing outside it is read

    def problem(line, key, message, rule):
        problems.append(Problem(shown, line, key, message, labels.get(key) if key else None, rule=rule))

    try:
        paths.check_names(path, unit.folder, full=full)
        taken: list = []
        data = read_walked(full, str(root), paths.MAX_TEXT_BYTES, taken) if walked else None
        if data is not None and on_read is not None:
            on_read(taken[0], data)
        if data is None:
            path = paths.vet(path, root, max_bytes=paths.MAX_TEXT_BYTES, full=full)
        elif not (isinstance(path, Path) and str(path) == full):
            path = Path(full)   # what vet gives for a path without a link
    except paths.PathError as exc:
        problems.append(Problem(exc.shown, None, None, exc.message, rule="item.path"))
        return None, problems
    try:
        text = read_text(path, data)
        markdown = path.suffix == ".md"
        if markdown:
            split = split_front_matter(text)
            doc = yamlsrc.load(split.front, first_line=split.front_line)
            body, body_line = split.body, split.body_line
        else:
            doc = yamlsrc.load(text)
            body, body_line = "", 1
    except (SourceError, yamlsrc.YamlError) as exc:
        problem(exc.line, None, exc.message, "item.syntax")
        return None, problems
    if not isinstance(doc.data, dict):
        problem(doc.line() or 1, None, "expected a mapping of fields (title, column, published …)", "item.syntax")
        return None, problems

    raw = dict(doc.data)
    if not markdown and path.suffix == ".yaml" and "body" in raw:
        body, body_line = raw.pop("body") or "", (doc.line("body") or 1) + (("body",) in doc.block_scalars)
        if not isinstance(body, str):
            problem(doc.line("body"), "body", "expected Markdown text", "item.field")
            body = ""
    folder_of = path.parent
    ctx = Ctx(catalogs, unit, folder_of, root)
    values: dict = {}
    item_type = "document" if blank(raw.get("type")) else raw["type"]
    for key, value in raw.items():
        kind = FIELDS.get(key)
        if kind is None:
            if key in DATA_FIELDS and item_type in DATA_TYPES:
                if not blank(value):
                    values[key] = value
                continue
            if key in DATA_FIELDS:
                problem(doc.line(key), key, f"applies only to types {', '.join(DATA_TYPES)}, "
                        f"this item is type {q(item_type)}", "item.unknown")
                continue
            near = _near(key, list(FIELDS) + list(DATA_FIELDS))
            problem(doc.line(key), key, "unknown field" + (f"; did you mean {q(near)}?" if near else
                    "; see docs/content.md for the fields"), "item.unknown")
            continue
        # blank(value), its two common answers first (a call per field added up: ~10 a file).
        if value is None or (not value.strip() if type(value) is str else blank(value)):
            continue
        try:
            values[key] = kind(value, ctx)
        except FieldError as exc:
            problem(doc.line(key, *exc.subpath), key, exc.message, "item.field")
    failed = {p.field for p in problems}
    _cross_checks(values, raw, doc, unit, catalogs, failed, problem)
    facts = None
    if item_type in DATA_TYPES:
        facts = fiscal.validate(item_type, {k: raw.get(k) for k in DATA_FIELDS if k in raw}, doc, catalogs.fiscal,
                                problem)
    if item_type == "annual-report" and catalogs.annual is not None:
        facts = annual_model.validate(raw, doc, catalogs.annual, problem, getattr(values.get("published"), "date",
                                      lambda: None)(), values.get("draft", False))
    # One search over the body first: nearly every body has no such link, and a search per
    # line cost ~20 lines' worth of calls per item.
    for offset, text in enumerate(body.split("\n") if PELICAN_LINK.search(body) else ()):
        m = PELICAN_LINK.search(text)
        if m:
            problem(body_line + offset, "body", f"{m.group(0)} links are not supported: list files in `attachments`, "
                    "and refer to other items by 索引号 (interprets, repealed_by, replaced_by)", "item.link")
    body_images = []
    refs = [("body", r) for r in images.find(body, body_line)]
    for n, pair in enumerate(raw["qa"] if isinstance(raw.get("qa"), list) else []):
        if isinstance(pair, dict) and isinstance(pair.get("a"), str):
            refs += [("qa", r) for r in images.find(pair["a"], doc.line("qa", n, "a") or 1)]
    for key, ref in refs:
        why = images.problem(ref, folder_of, root)
        if why:
            problem(ref.line, key, why, "item.image")
        else:
            body_images.append(images.BodyImage.open(ref, folder_of))
    if values.get("form") == "图解" and not body_images and not any(p.rule == "item.image" for p in problems):
        problem(doc.line("form"), "form", "图解 needs at least one image in the body: ![说明](file.png) beside the item",
                "item.image")
    if problems:
        return None, problems

    folder = unit.folder
    slug = _slug(path, folder)
    data = {k: values.pop(k) for k in DATA_FIELDS if k in values}
    item = Item(unit=unit.id, source=shown, path=path, slug=slug, type=values.pop("type", "document"),
                title=values.pop("title"), column=values.pop("column"), published=values.pop("published"),
                issuer=values.pop("issuer", None) or unit.issuer_for(path), data=data, body=body, body_line=body_line, images=body_images, facts=facts,
                lines=dict(doc.lines), **values)
    return item, problems


def _slug(path: Path, folder: Path) -> str:
    """``path.relative_to(folder).with_suffix("").as_posix()``, by string when ``path`` is
    written below ``folder`` (every scanned item is): two Path parses less per item."""
    full, base = str(path), str(folder)
    if os.sep != "/" or not full.startswith(base + "/") or "/." in full[len(base):]:
        return path.relative_to(folder).with_suffix("").as_posix()
    rel = full[len(base) + 1:]
    name = rel[rel.rfind("/") + 1:]
    dot = name.rfind(".")
    return rel[:len(rel) - len(name) + dot] if 0 < dot < len(name) - 1 else rel


def _cross_checks(values, raw, doc, unit, catalogs, failed, problem):
    for key in REQUIRED:
        if blank(raw.get(key)) and key not in failed:
            problem(doc.line() or 1, key, f"required field is missing (expected {FIELDS[key].expected})", "item.required")
    item_type = values.get("type", "document")
    for key in REQUIRED_BY_TYPE.get(item_type, ()):
        if blank(raw.get(key)) and key not in failed:
            problem(doc.line() or 1, key, f"required for type {q(item_type)} (expected {FIELDS[key].expected})",
                    "item.required")
    for key, only in ONLY_FOR_TYPE.items():
        if key in values and item_type != only:
            problem(doc.line(key), key, f"applies only to type {q(only)}, this item is type {q(item_type)}",
                    "item.type")
    column = catalogs.by_id.get(values.get("column", ""))
    if column is not None:
        for key in column.requires:
            if blank(raw.get(key)) and key not in failed:
                problem(doc.line("column"), key, f"required in column {column.id} ({column.name}) "
                        f"(expected {FIELDS[key].expected})", "item.required")
    published = values.get("published")
    if published is not None:
        day = published.date()
        for key in ("written", "formed"):
            if key in values and values[key] > day:
                problem(doc.line(key), key, f"{values[key].isoformat()} is after published "
                        f"{day.isoformat()} (expected a date on or before the publication date)", "item.dates")
    if published is not None:
        for key in ("valid_until", "publicity_until"):
            if key in values and values[key] < published.date():
                problem(doc.line(key), key, f"{values[key].isoformat()} is before published "
                        f"{published.date().isoformat()} (the item would be retired on its first day)", "item.dates")
    for key in ("repealed_by", "replaced_by"):
        if key in values and values[key] == values.get("index_no"):
            problem(doc.line(key), key, "points to the item itself", "item.reference")
