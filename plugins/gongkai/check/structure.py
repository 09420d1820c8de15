"""Structure rules (国办公开办函〔2019〕61号, 国办秘函〔2019〕19号): the standard
sub-columns, items filed in columns of another level, empty required columns."""
from __future__ import annotations

from collections.abc import Iterator

from .engine import Hit, rule
from .unitfacts import UnitFacts


@rule("structure.standard-columns", thresholds={"columns": "list"})
def standard_columns(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for cid in t["columns"]:
        if cid not in unit.columns:
            yield Hit(f"专栏缺少标准子栏目 {cid}", f"{unit.level} 级专栏设有 {cid}（catalogs/columns.yaml）",
                      path="catalogs/columns.yaml", column=cid)


@rule("structure.column-level")
def column_level(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for item in unit.public:
        col = unit.columns.get(item.column)
        if col is None or not col.is_leaf:
            name = unit.catalogs.by_id[item.column].name if item.column in unit.catalogs.by_id else item.column
            yield Hit(f"信息发布在栏目 {item.column}（{name}），该栏目不适用于{unit.level}级单位",
                      f"本层级的栏目之一：{', '.join(c for c in unit.columns if unit.columns[c].is_leaf)}",
                      path=item.source, line=item.line("column"), column=item.column,
                      item=item.index_no or item.title)


def empty_required(unit: UnitFacts) -> list[str]:
    """Required leaf columns of the level that list no current item (generated ones never are)."""
    return [c.id for c in unit.tree.walk()
            if c.is_leaf and not c.generated and unit.level in c.required and not unit.listings.get(c.id)]


@rule("structure.empty-column")
def empty_column(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    for cid in empty_required(unit):
        col = unit.columns[cid]
        yield Hit(f"必设栏目 {cid}（{col.name}）没有现行有效的信息",
                  f"至少一条信息（{col.basis or '必设栏目'}）", path=f"{unit.folder}/{cid}/", column=cid,
                  fix=f"在 {unit.folder}/{cid}/ 发布该栏目的信息（column: {cid}）")


@rule("structure.empty-columns-veto", thresholds={"count": "int"})
def empty_columns_veto(unit: UnitFacts, t: dict) -> Iterator[Hit]:
    empty = empty_required(unit)
    if len(empty) >= t["count"]:
        yield Hit(f"空白栏目 {len(empty)} 个：{', '.join(empty)}", f"少于 {t['count']} 个")
