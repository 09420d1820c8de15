"""Download files written beside an item's page (CSV and JSON of 年报 and 预决算 tables).

The 年报 plugin and the fiscal plugin attach a view to each article that has tables;
after Pelican writes the pages, each writes that view's files through ``write``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path


def write(generator, attr: str, files: Callable[[object, dict], Iterable[tuple[str, bytes]]]) -> None:
    """For every article with a view in ``attr``: ``files(article, view)`` gives (name, bytes)
    pairs, written into the folder of the article's page."""
    out = Path(generator.output_path)
    for article in generator.articles:
        view = getattr(article, attr, None)
        if not view:
            continue
        folder = out / Path(article.gk.save_as).parent
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files(article, view):
            (folder / name).write_bytes(data)
