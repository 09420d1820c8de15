"""Accessible inline SVG bar charts, rendered at build time (no script, no CDN).

Each chart has role="img" with a <title> and a <desc> that states every value, and
the page always shows the same figures in a table beside it.

Layout for phones as for desktops: each bar has its label on its own line above it,
bar lengths are percentages of the chart's width and there is no viewBox, so the
SVG is never scaled down: its text keeps the stylesheet's size (≥ 16 px) at 320 px.
"""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from html import escape

LABEL_H, BAR_H, GAP, PAD = 28, 20, 12, 4   # px: label line, bar, space between rows, top/bottom
SPAN = 72.0                                 # % of the width the longest bar takes (room for its value)


def safe_id(raw: str) -> str:
    """An HTML id token from any text (file names reach here): ASCII letters, digits, '-'
    and '_' only, so it can neither close the attribute nor split ``aria-labelledby``.
    A name that needed changing gets a hash of the original, so two names never share an id."""
    kept = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")[:60]
    if kept == raw and kept[:1].isalpha():
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"c-{kept}-{digest}" if kept else f"c-{digest}"


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, Decimal]], unit: str) -> str:
    """Horizontal bars, one per (label, value); negative values are drawn as zero-length."""
    chart_id = escape(safe_id(chart_id))
    desc = "；".join(f"{label} {value:.2f}{unit}" for label, value in bars) or "无数据"
    top = max([v for _, v in bars if v > 0] or [Decimal(0)])
    row_h = LABEL_H + BAR_H + GAP
    height = PAD * 2 + row_h * max(1, len(bars)) - GAP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" height="{height}" '
             f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(desc)}</desc>']
    for i, (label, value) in enumerate(bars):
        y = PAD + i * row_h
        pct = 0.0 if top == 0 or value <= 0 else max(0.5, float(value / top) * SPAN)
        bar_y = y + LABEL_H
        parts.append(f'<text x="0" y="{y + LABEL_H - 8}" class="chart-label">{escape(label)}</text>')
        parts.append(f'<rect x="0" y="{bar_y}" width="{pct:.2f}%" height="{BAR_H}" class="chart-bar"></rect>')
        parts.append(f'<text x="{pct:.2f}%" dx="8" y="{bar_y + BAR_H - 4}" class="chart-value">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
