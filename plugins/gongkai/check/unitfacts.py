"""One unit's facts as the rules see them: a read-only view over the build's
``Facts`` (states, interpretation gaps, fiscal deadlines), the catalogs, the text of
the unit's public attachments and the links of its built pages.

Built once per unit by ``check.run``; every rule function reads it and nothing else.
The as-of date is ``day``: a rule reads it only if declared ``as_of`` (engine.py), and
then through ``engine.AsOf``, which records what the rule's answers depend on. The text
of attachments is read on the first rule that asks (``texts``, ``unread``): a unit whose
findings are kept does not read them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..catalogs import Catalogs, Column
from ..interpretation import Gap
from ..items import Item
from ..lifecycle import State
from ..units import Unit
from .engine import NoDate

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from .extract import Text
    from .links import PageLinks, SiteFiles


@dataclass
class UnitFacts:
    unit: Unit
    as_of: dt.date                                     # the as-of date (rules read ``day``)
    catalogs: Catalogs
    items: list[Item]                                  # every item of the unit, public or not
    states: dict[str, State]                           # item.source -> state on ``day`` (Facts.states)
    gaps: list[Gap] = field(default_factory=list)      # this unit's policies without a timely 解读
    deadlines: dict[str, dict] = field(default_factory=dict)   # item.source -> fiscal deadline fact
    pages: list[PageLinks] | None = None               # links of the built pages (None: not built)
    files: SiteFiles | None = None                     # every built file and its anchors
    not_ids: frozenset[str] = frozenset()              # digit runs of every org code and 索引号: not personal IDs
    # An item with its body and 问答 answers: ``items`` are the scan's slim ones (Site.full_item).
    full: Callable[[Item], Item] = field(default=lambda item: item, repr=False, compare=False)
    # () -> (text of public items' attachments, [(attachment path, why not read)]), called once.
    attachments: Callable[[], tuple[list[Text], list[tuple[str, str]]]] = \
        field(default=lambda: ([], []), repr=False, compare=False)
    reading: Any = field(default=None, repr=False, compare=False)   # engine.AsOf / NoDate while a rule runs

    @property
    def day(self) -> dt.date:
        """The as-of date, for the rule running now: declared ``as_of``, an ``engine.AsOf``;
        not declared, ``engine.UndeclaredDateRead`` (outside a rule: the date)."""
        reading = self.reading
        if reading is None:
            return self.as_of
        return reading.read() if isinstance(reading, NoDate) else reading

    @cached_property
    def _attachments(self) -> tuple[list[Text], list[tuple[str, str]]]:
        return self.attachments()

    @property
    def texts(self) -> list[Text]:
        """Text of the public items' attachments (read once, on first use)."""
        return self._attachments[0]

    @property
    def unread(self) -> list[tuple[str, str]]:
        """(attachment path, why it was not read)."""
        return self._attachments[1]

    @property
    def id(self) -> str:
        return self.unit.id

    @property
    def level(self) -> str:
        return self.unit.level

    @property
    def folder(self) -> str:
        """The unit's content folder as shown to editors (content/<unit>)."""
        return self.unit.source.rsplit("/", 1)[0]

    def state(self, item: Item) -> State:
        return self.states[item.source]

    @cached_property
    def public(self) -> list[Item]:
        """Public on ``day``, in a stable order."""
        return sorted((i for i in self.items if self.states[i.source].public), key=lambda i: (i.source,))

    @cached_property
    def shown(self) -> list[Item]:
        """What the site shows with its content: public, not a withdrawn 公示."""
        return [i for i in self.public if not self.states[i.source].withdrawn]

    @cached_property
    def current(self) -> list[Item]:
        """What the current listings show: public and not retired (失效/废止/修订)."""
        return [i for i in self.public if not self.states[i.source].retired]

    @cached_property
    def annual_findings(self) -> list:
        """(report item, annual.rules.Finding) of the unit's public 年报 (``annual.checker``):
        both 年报 rules read them, so they are worked out once a unit. No date is read."""
        from ..annual import checker   # noqa: PLC0415 - the 年报 package is the checker's only here

        spec = self.catalogs.annual
        return [] if spec is None else checker.unit_findings(self.items, self.states, spec)

    @cached_property
    def tree(self) -> Column:
        return self.catalogs.tree_for(self.level)

    @cached_property
    def columns(self) -> dict[str, Column]:
        return {c.id: c for c in self.tree.walk()}

    @cached_property
    def listings(self) -> dict[str, list[Item]]:
        """Column id -> current items filed there (as the column page lists them)."""
        out: dict[str, list[Item]] = {}
        for item in self.current:
            out.setdefault(item.column, []).append(item)
        return out
