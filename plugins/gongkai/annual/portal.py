"""The portal's 年报 page (``output/annual/index.html``): for each year, every unit's
report with its deadline status, and table 三 summed over the units that report as data."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2

from . import series
from .spec import Spec

SAVE_AS = "annual/index.html"


def rollups(units: dict[str, dict], data: dict, spec: Spec, today: dt.date) -> list[dict]:
    """One roll-up per year that has a report, newest first, over every unit in tree order."""
    roots = [uid for uid, u in units.items() if not u.get("parent") or u["parent"] not in units]
    order = [uid for root in roots for uid in [root, *series.descendants(units, root)]]
    return [series.rollup(units, order, year, data, spec, today) for year in data.get("years", [])]


def render(out: Path, settings: dict, units: dict[str, dict], data: dict, spec: Spec | None, as_of: str) -> None:
    if spec is None:
        return
    theme = Path(settings["THEME"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme / "templates")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("annual_portal.html").render(
        rollups=rollups(units, data, spec, dt.date.fromisoformat(as_of)), spec=spec, GK_AS_OF=as_of,
        PORTAL_NAME=settings.get("GK_PORTAL_NAME", "政府信息公开平台"),
        THEME_STATIC_DIR=settings.get("THEME_STATIC_DIR", "theme"))
    path = out / SAVE_AS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
