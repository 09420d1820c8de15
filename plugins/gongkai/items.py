"""The declared type of one disclosure item, as validated from its file."""
from __future__ import annotations

import datetime as dt
import operator
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import regex

from .fields import QA, Attachment
from .images import BodyImage


# A run of 11 digits: the least a 身份证号 (18) or a mobile number (11) needs (check/privacy.py).
# Written \d\d{10}, which means \d{11}: re searches it ~40 % faster (every body of the
# province is searched in the pre-pass, spool.slim); and with the regex module, whose \d
# (Unicode Nd, of a Unicode version at least Python's: Nd never loses a character) finds
# every run re's does, ~40 % faster again (~8 µs a body: 0.16 s of the 20k pre-pass).
DIGIT_RUN = regex.compile(r"\d\d{10}")


def as_list(value) -> list:
    """A field that holds one 索引号, a list of them, or nothing, as a list."""
    return value if isinstance(value, list) else [value] if value else []


# Slots: a province holds one Item per file in the parent, and each instance dict cost
# ~1.6 KiB more than the slots (issue 15, bounded memory).
@dataclass(slots=True)
class Item:
    unit: str
    source: str                 # path as shown in messages
    path: Path
    slug: str                   # path inside the unit folder, without extension
    type: str
    title: str
    column: str
    published: dt.datetime
    issuer: str
    index_no: str | None = None
    doc_number: str | None = None
    written: dt.date | None = None
    formed: dt.date | None = None
    topic: str | None = None
    genre: str | None = None
    keywords: list[str] = field(default_factory=list)
    summary: str = ""
    validity: str = "有效"
    valid_until: dt.date | None = None
    repealed_by: str | None = None
    replaced_by: str | None = None
    publicity_until: dt.date | None = None
    disclosure: str = "主动公开"
    draft: bool = False
    catalog_item: str | None = None
    approved: dt.date | None = None
    interprets: list[str] = field(default_factory=list)
    form: str | None = None
    qa: list[QA] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    images: list[BodyImage] = field(default_factory=list)  # local images of the body
    data: dict[str, Any] = field(default_factory=dict)   # structured-type fields, raw
    facts: Any = None                                     # the typed data (fiscal.Sangong / fiscal.Fiscal)
    body: str = ""
    body_line: int = 1
    lines: dict = field(default_factory=dict, repr=False)
    # Set on slim items (spool.slim): whether the body or a 问答 has a run of 11 digits, the
    # least a 身份证号 or mobile number needs; the privacy rule loads the bodies of those
    # items only. None on a full item: it has its text at hand.
    digit_runs: bool | None = None

    @property
    def save_as(self) -> str:
        return f"art/{self.slug}.html"

    @property
    def url(self) -> str:
        # Editors may name files in Chinese; the file keeps its name, the link is encoded.
        return quote(self.save_as)

    @property
    def published_date(self) -> dt.date:
        return self.published.date()

    def line(self, key: str) -> int | None:
        return self.lines.get((key,))


# Pickling: a build moves every item through pickle several times (the pre-pass workers'
# results, the spool, the validation cache). pathlib rebuilds a pickled Path by parsing its
# text again, which was ~70 % of the time to load a slim item; so an item's own path travels
# as its parsed parts (Python 3.11's own fields) and is rebuilt without parsing. Elsewhere,
# or for any other kind of path, it travels as pathlib pickles it.
_FIELDS = Item.__slots__
# Every field's value in ``_FIELDS`` order, in one call (a getattr per field was ~40 a pickled item).
values_of = operator.attrgetter(*_FIELDS)
_PATH_AT = _FIELDS.index("path")
_PATH_TYPE = type(Path())
_FAST_PATH = sys.version_info[:2] == (3, 11) and hasattr(_PATH_TYPE, "_from_parsed_parts")


def copy(item: Item) -> Item:
    """``dataclasses.replace(item)``: a new Item holding the same field values. replace
    looks every field up by name and passes them as keywords (~25 µs an item, once per
    item the unit workers read); the fields in order, positionally, make the same Item."""
    return Item(*values_of(item))


def _restore(values: tuple) -> Item:
    item = Item(*values)   # the fields in order; the generated __init__ only assigns them
    path = values[_PATH_AT]
    if type(path) is tuple:
        item.path = _PATH_TYPE._from_parsed_parts(path[0], path[1], list(path[2]))
    return item


def _reduce(item: Item) -> tuple:
    values = values_of(item)
    path = values[_PATH_AT]
    if _FAST_PATH and type(path) is _PATH_TYPE:
        values = (*values[:_PATH_AT], (path._drv, path._root, tuple(path._parts)), *values[_PATH_AT + 1:])
    return _restore, (values,)


Item.__reduce__ = _reduce
