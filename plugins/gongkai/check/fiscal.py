"""财政 rules (预算法第十四条, 财预〔2016〕143号): 预决算 published within 20 days of
approval (the deadline facts the build computes with ``fiscal.publication_due``), and
each year's 部门决算 publishes the standard tables of catalogs/fiscal.yaml."""
from __future__ import annotations

from collections.abc import Iterator

from .engine import Hit, rule
from .unitfacts import UnitFacts


@rule("fiscal.late")
def late(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.public:
        fact = unit.deadlines.get(item.source)
        if fact and fact["days_late"] > 0:
            yield Hit(f"批准（批复）于 {fact['approved'].isoformat()}，应于 {fact['due'].isoformat()} 前公开，"
                      f"实际 {fact['published'].isoformat()} 公开，晚 {fact['days_late']} 天",
                      f"批准后 {(fact['due'] - fact['approved']).days} 日内公开", path=item.source,
                      line=item.line("published"), column=item.column, item=item.index_no or item.title)


@rule("fiscal.final-account-tables", thresholds={"columns": "list", "title_marker": "str", "tables_key": "str"})
def final_account_tables(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    standard = (unit.catalogs.fiscal.get("standard_tables") or {}).get(t["tables_key"]) or []
    by_year: dict[int, list] = {}
    for item in unit.shown:
        f = item.facts if item.type == "fiscal" else None
        if f is not None and f.scope == "部门" and f.stage == "决算":
            by_year.setdefault(item.published_date.year, []).append(item)
        elif item.column in t["columns"] and t["title_marker"] in item.title and item.type == "document":
            by_year.setdefault(item.published_date.year, []).append(item)
    texts = {x.path: " ".join(chunk for _, chunk in x.chunks) for x in unit.texts}
    for year, items in sorted(by_year.items()):
        seen = ""
        for item in items:
            if item.type == "fiscal" and item.facts is not None:
                seen += " ".join(tb.name for tb in item.facts.tables)
            seen += unit.full(item).body + " ".join(a.name for a in item.attachments)
            seen += " ".join(texts.get(_shown(item, a.name), "") for a in item.attachments)
        missing = [name for name in standard if name not in seen]
        if missing:
            first = min(items, key=lambda i: (i.published, i.source))
            yield Hit(f"{year}年发布的部门决算缺少 {len(missing)} 张标准报表：{'、'.join(missing)}",
                      f"{len(standard)} 张标准报表全部公开（catalogs/fiscal.yaml standard_tables.{t['tables_key']}）",
                      path=first.source, column=first.column, item=first.index_no or first.title)


def _shown(item, name: str) -> str:
    return f"{item.source.rsplit('/', 1)[0]}/{name}"
