"""What ``make new`` and ``make import`` share: the next free 索引号 of a unit, and
writing an item file whose empty fields are visible and explained.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..site import ITEM_SUFFIXES, declared_index_nos
from ..units import Unit

TODO = "待填"   # marks, in a comment, a field the editor must fill


def taken_index_nos(content: Path) -> set[str]:
    """Every 索引号 declared in any item file of any unit, read by its line alone, so a
    file with errors still holds its number."""
    out: set[str] = set()
    for path in sorted(content.rglob("*")):
        rel = path.relative_to(content).parts
        if path.suffix in ITEM_SUFFIXES and path.name != "_unit.yaml" and not any(p.startswith(".") for p in rel) \
                and path.is_file() and not path.is_symlink():
            out |= declared_index_nos(path)
    return out


_SERIAL = re.compile(r"(\d+)$")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")   # a year, not digits inside an org_code


def next_index_no(unit: Unit, year: int, taken: set[str]) -> str | None:
    """The next free 索引号 of ``unit`` for ``year``, in the unit's own form.

    The form is taken from the unit's existing numbers (index_pattern and serial
    width); with none, the default <org_code>/<YYYY>-<5-digit serial>. None when no
    number of the unit's form can be made: the editor fills it in."""
    pattern = unit.index_re
    mine = sorted(n for n in taken if pattern.match(n))
    same_year = [n for n in mine if str(year) in _YEAR.findall(n[:_SERIAL.search(n).start()] if _SERIAL.search(n)
                                                              else "")]
    if same_year:
        last = max(same_year, key=lambda n: (int(_SERIAL.search(n)[1]), n))
        width = len(_SERIAL.search(last)[1])
        stem, serial = last[:_SERIAL.search(last).start()], int(_SERIAL.search(last)[1])
    else:
        model = next((n for n in reversed(mine) if _SERIAL.search(n) and _YEAR.search(n[:_SERIAL.search(n).start()])),
                     None)
        if model:
            width = len(_SERIAL.search(model)[1])
            stem = _YEAR.sub(str(year), model[:_SERIAL.search(model).start()], count=1)
        else:
            width, stem = 5, f"{unit.org_code}/{year}-"
        serial = 0
    for n in range(serial + 1, serial + 100000):
        candidate = f"{stem}{n:0{width}d}"
        if not pattern.match(candidate):
            return None
        if candidate not in taken:
            return candidate
    return None


def scalar(value: str) -> str:
    """One YAML scalar as an editor would type it; quoted only where YAML needs it."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    dumped = yaml.safe_dump(value, allow_unicode=True, default_style=None, width=10000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def render(fields: list[tuple[str, str | list[str] | None, str]], body: str) -> str:
    """Front matter from (key, value or None, comment) and the body. A None value is
    written empty, with its comment saying what to fill: never a placeholder value."""
    lines = ["---"]
    for key, value, comment in fields:
        note = f"  # {comment}" if comment else ""
        if value is None or value == "" or value == []:
            lines.append(f"{key}:{note}")
        elif isinstance(value, list):
            lines.append(f"{key}:{note}")
            lines += [f"  - {scalar(v)}" for v in value]
        else:
            lines.append(f"{key}: {scalar(value)}{note}")
    lines.append("---")
    return "\n".join(lines) + "\n\n" + (body.strip() + "\n" if body.strip() else "")


def free_path(folder: Path, stem: str, suffix: str = ".md") -> Path:
    """``folder/stem.md``, or ``stem-2.md`` … when taken: never overwrite a file."""
    path = folder / f"{stem}{suffix}"
    n = 2
    while path.exists() or path.is_symlink():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path
