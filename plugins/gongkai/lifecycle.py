"""Lifecycle: what each item is on the build's as-of date (DESIGN §6).

``state`` is a pure function of an item, the as-of date, and when other items
(the repealing or replacing ones) become public. Everything else reads its
result: the Pelican hooks below skip what is not public and strip withdrawn
notices; listings, banners, the search index and the report read ``State``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import render
from .items import Item, as_list

logger = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
ONE_DAY = dt.timedelta(days=1)

LABELS = {
    "current": "现行有效",
    "open": "公示中",
    "closed": "公示期满",
    "expired": "失效",
    "repealed": "已废止",
    "revised": "已修订",
    "hidden": "未公开",
}
RETIRED = frozenset({"expired", "repealed", "revised"})


class BuildDateError(ValueError):
    pass


def as_of(value: str | None = None, now: dt.datetime | None = None) -> dt.date:
    """The as-of date: ``value`` (BUILD_DATE, YYYY-MM-DD) or today in Asia/Shanghai."""
    value = (value if value is not None else os.environ.get("BUILD_DATE", "")).strip()
    if value:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise BuildDateError(f"BUILD_DATE: expected a date YYYY-MM-DD, got '{value}'")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise BuildDateError(f"BUILD_DATE: expected a date YYYY-MM-DD, got '{value}'") from None
    return (now or dt.datetime.now(TZ)).astimezone(TZ).date()


@dataclass(frozen=True)
class State:
    code: str
    since: dt.date | None = None   # first day of this state, when known
    by: str | None = None          # 索引号 of the repealing / replacing item
    reason: str = ""               # why, in Chinese, for banners and the report

    @property
    def label(self) -> str:
        return LABELS[self.code]

    @property
    def public(self) -> bool:
        return self.code != "hidden"

    @property
    def retired(self) -> bool:
        """Leaves current listings; listed under 废止和失效文件."""
        return self.code in RETIRED

    @property
    def withdrawn(self) -> bool:
        """Only title, dates and 索引号 stay; the body leaves the output."""
        return self.code == "closed"

    def as_dict(self) -> dict:
        return {"state": self.code, "label": self.label, "since": self.since.isoformat() if self.since else None,
                "by": self.by, "reason": self.reason}


def public_on(item: Item) -> dt.date | None:
    """The first day the item may be public, or None if it never may."""
    if item.draft or item.disclosure != "主动公开":
        return None
    return item.published_date


def not_public_reason(item: Item, day: dt.date) -> str | None:
    """Why the item must not appear anywhere in the output on ``day``, or None."""
    if item.draft:
        return "draft"
    if item.disclosure != "主动公开":
        return f"disclosure {item.disclosure}"
    if item.published_date > day:
        return f"embargoed until {item.published_date.isoformat()}"
    return None


def is_public(item: Item, day: dt.date) -> bool:
    return not_public_reason(item, day) is None


def state(item: Item, day: dt.date, public_on_of: Callable[[str], dt.date | None]) -> State:
    """The item's state on ``day``. ``public_on_of(索引号)`` gives when another item is public."""
    def in_effect(index_no: str | None) -> dt.date | None:
        """The day the referenced item took effect, if it has by ``day``."""
        when = public_on_of(index_no) if index_no else None
        return when if when is not None and when <= day else None

    reason = not_public_reason(item, day)
    if reason:
        return State("hidden", reason=reason)
    if item.type == "notice" and item.publicity_until and item.publicity_until < day:
        return State("closed", item.publicity_until + ONE_DAY, reason=f"公示期至{item.publicity_until.isoformat()}")
    if since := in_effect(item.repealed_by):
        return State("repealed", since, item.repealed_by, "已被另行发布的文件废止")
    if item.validity == "废止":
        return State("repealed", by=item.repealed_by, reason="文件已废止")
    if item.validity == "失效":
        since = item.valid_until + ONE_DAY if item.valid_until and item.valid_until < day else None
        return State("expired", since, reason="文件已失效")
    if item.valid_until and item.valid_until < day:
        return State("expired", item.valid_until + ONE_DAY, reason=f"有效期至{item.valid_until.isoformat()}届满")
    if since := in_effect(item.replaced_by):
        return State("revised", since, item.replaced_by, "已被修订后的文件替代")
    if item.validity == "修订":
        return State("revised", by=item.replaced_by, reason="文件已修订")
    if item.type == "notice" and item.publicity_until:
        return State("open", reason=f"公示期至{item.publicity_until.isoformat()}")
    return State("current")


def change_days(item: Item, public_on_of: Callable[[str], dt.date | None]) -> list[dt.date]:
    """The days ``d`` on which ``state(item, d)`` may differ from ``state(item, d - 1)``:
    every comparison ``state`` makes with the day flips on one of them, so the state is the
    same on every day between two of them (``window``)."""
    if item.draft or item.disclosure != "主动公开":
        return []    # hidden on every day
    out = [item.published_date]
    if item.type == "notice" and item.publicity_until:
        out.append(item.publicity_until + ONE_DAY)
    if item.valid_until:
        out.append(item.valid_until + ONE_DAY)
    for ref in (item.repealed_by, item.replaced_by):
        when = public_on_of(ref) if ref else None
        if when is not None:
            out.append(when)
    return out


def window(items: list[Item], day: dt.date, public_on_of) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day around ``day`` on which every item's state is its state on ``day``
    (None: unbounded): the days from the last change day at or before ``day`` to the day
    before the next one after it (``change_days``). A new day inside it changes no state."""
    lo = hi = None
    for item in items:
        for when in change_days(item, public_on_of):
            if when <= day:
                if lo is None or when > lo:
                    lo = when
            elif hi is None or when <= hi:
                hi = when - ONE_DAY
    return lo, hi


def changes(items: list[Item], day: dt.date, public_on_of, known: dict[str, State] | None = None) -> list[dict]:
    """Items whose state on ``day`` differs from the day before (public ones only).
    ``known``: states on ``day`` already computed, by item.source."""
    out = []
    for item in items:
        now = known[item.source] if known is not None else state(item, day, public_on_of)
        before = state(item, day - ONE_DAY, public_on_of)
        if now.code != before.code and now.public:
            out.append({"url": item.url, "index_no": item.index_no, "title": item.title,
                        "from": before.label, "to": now.label, "reason": now.reason})
    return sorted(out, key=lambda c: (c["to"], c["url"]))


def withdraw(item: Item) -> Item:
    """What a 公示 keeps after its period: title, dates, 索引号 — nothing else, not its
    文号, 发布机构, 主题分类 or links (README, 自动下线, promises exactly this)."""
    return replace(item, body="", summary="", keywords=[], attachments=[], images=[], qa=[], data={}, facts=None,
                   doc_number=None, issuer="", topic=None, genre=None, catalog_item=None, form=None,
                   interprets=[], repealed_by=None, replaced_by=None)


def lookup(dates: dict[str, str | None]) -> Callable[[str], dt.date | None]:
    """``public_on_of`` over a map 索引号 -> first public day (ISO) or None."""
    def public_on_of(index_no: str) -> dt.date | None:
        when = dates.get(index_no)
        return dt.date.fromisoformat(when) if when else None
    return public_on_of


# --- Pelican hooks -------------------------------------------------------------

def _day(settings) -> dt.date:
    return dt.date.fromisoformat(settings["GK_AS_OF"])


def _apply_state(generator, metadata):
    item = metadata.get("gk")
    if item is None:
        return
    registry = generator.settings.get("GK_REGISTRY", {})
    st = state(item, _day(generator.settings), lookup(generator.settings.get("GK_PUBLIC_ON", {})))
    # Every item of the unit, public or not, for the state-change report; its state is
    # computed here once and read again by _unlink_hidden and _write_report.
    if not hasattr(generator, "gk_all_items"):
        generator.gk_all_items = []
        generator.gk_states = {}
    generator.gk_all_items.append(item)
    generator.gk_states[item.source] = st
    if not st.public:
        # Pelican drops 'skip' content before any generator, feed or template sees it.
        metadata["status"] = "skip"
        logger.debug("not built (%s): %s", st.reason, item.source)
        return
    metadata["lifecycle"] = st
    if st.withdrawn:
        metadata["gk"] = withdraw(item)
        metadata["summary"] = ""
    for key in ("interprets", "repealed_by", "replaced_by"):
        for ref in as_list(getattr(item, key)):
            if ref not in registry:
                logger.warning("%s: %s: %s is not public on %s; shown as plain text",
                               item.source, key, ref, _day(generator.settings))


def _strip_withdrawn(instance):
    st = getattr(instance, "lifecycle", None)
    if isinstance(st, State) and st.withdrawn:
        instance._content = ""


def hidden_targets(items: list[Item]) -> set[str]:
    """Paths a body link may use for these (not public) items: each page
    (<unit>/art/<slug>.html) and source file (<unit>/<slug>.md), from the site root."""
    return {path for item in items
            for path in (f"{item.unit}/{item.save_as}", f"{item.unit}/{item.slug}{item.path.suffix}")}


def link_target(url: str, page: str, source: str, site_root: str) -> set[str]:
    """Where a body link of the item at ``page`` (<unit>/art/….html, from its source
    ``source``) points, from the site root: both readings of a relative path (beside the
    page, beside the source file), or the path of an absolute link into the site."""
    try:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            root = site_root.rstrip("/") + "/"
            inside = url.startswith(root) if site_root else False
            return {posixpath.normpath(urlsplit(url[len(root):]).path)} if inside else set()
    except ValueError:
        return set()   # not a URL a browser can follow (`//[zz/`): no page of ours; the checker reports it
    if not parts.path or parts.path.startswith("/"):
        return set()
    return {posixpath.normpath(posixpath.join(posixpath.dirname(base), parts.path)) for base in (page, source)}


def _unlink_hidden(generator):
    """A body link to a hidden item of any unit (or an encoded {filename} link) becomes
    plain text, with a warning naming the file: never a live link to a missing page."""
    settings = generator.settings
    uid = settings["GK_UNIT"]["id"]
    states = getattr(generator, "gk_states", {})
    hidden = set(settings.get("GK_HIDDEN", ())) | hidden_targets(
        [i for i in getattr(generator, "gk_all_items", []) if not states[i.source].public])
    site_root = settings.get("GK_SITE_ROOT", "")
    targets = generator.gk_link_targets = set()
    for article in generator.articles:
        item = article.gk
        page, source = f"{uid}/{item.save_as}", f"{uid}/{item.slug}"

        def is_hidden(url: str, page=page, source=source) -> bool:
            found = link_target(url, page, source, site_root)
            targets.update(found)
            return bool(found & hidden)

        article._content, dropped = render.unlink(article._content or "", is_hidden)
        pairs = []
        for pair in item.qa:
            answer, more = render.unlink(pair.a_html or "", is_hidden)
            pairs.append(replace(pair, a_html=answer))
            dropped += more
        item.qa = pairs
        for text, why in dropped:
            if why == "pelican":
                logger.warning("%s: 正文链接“%s”是编码后的 {filename} 类链接，不受支持，已改为纯文本 "
                               "(encoded {filename}-style link: not supported, shown as plain text)", item.source, text)
            else:
                logger.warning("%s: 正文链接“%s”指向未公开的信息，已改为纯文本 "
                               "(link to an item that is not public, shown as plain text)", item.source, text)


def _write_report(generator, writer=None):
    items = getattr(generator, "gk_all_items", [])
    day = _day(generator.settings)
    public_on_of = lookup(generator.settings.get("GK_PUBLIC_ON", {}))
    path = Path(generator.output_path) / "lifecycle.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_text(generator.settings["GK_UNIT"]["id"], items, day, public_on_of,
                                getattr(generator, "gk_states", None)), encoding="utf-8")
    if generator.settings.get("GK_LINK_TARGETS_FILE"):
        # incremental/: which hidden pages could this unit's links hit (the unit's cache key)
        Path(generator.settings["GK_LINK_TARGETS_FILE"]).write_text(
            json.dumps(sorted(getattr(generator, "gk_link_targets", ())), ensure_ascii=False), encoding="utf-8")


def report_text(uid: str, items: list[Item], day: dt.date, public_on_of,
                known: dict[str, State] | None = None) -> str:
    """lifecycle.json of one unit (the build also writes it for a unit whose pages it reused).
    ``known``: states on ``day`` already computed by the worker, by item.source."""
    if known is None:
        known = {item.source: state(item, day, public_on_of) for item in items}
    states = {}
    for item in items:
        st = known[item.source]
        if st.public:
            states[item.url] = st.code
    report = {
        "unit": uid,
        "as_of": day.isoformat(),
        "changes_since": (day - ONE_DAY).isoformat(),
        "changes": changes(items, day, public_on_of, known),
        "states": dict(sorted(states.items())),
    }
    return json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def register():
    from pelican import signals  # here: the build's process imports this module, not Pelican (pool.py)

    signals.article_generator_context.connect(_apply_state)
    signals.content_object_init.connect(_strip_withdrawn)
    signals.article_generator_finalized.connect(_unlink_hidden)
    signals.article_writer_finalized.connect(_write_report)
