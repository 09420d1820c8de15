"""Accessible inline SVG bar charts, rendered at build time (no script, no CDN).

Each chart has role="img" with a <title> and a <desc> that states every value, and
the page always shows the same figures in a table beside it.
"""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from html import escape

WIDTH, LABEL_W, VALUE_W, ROW_H, BAR_H, PAD = 720, 220, 110, 36, 22, 12


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
    span = WIDTH - LABEL_W - VALUE_W
    height = PAD * 2 + ROW_H * max(1, len(bars))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(desc)}</desc>']
    for i, (label, value) in enumerate(bars):
        y = PAD + i * ROW_H
        w = 0 if top == 0 or value <= 0 else max(1, round(float(value / top) * span))
        mid = y + BAR_H / 2 + 6
        parts.append(f'<text x="{LABEL_W - 8}" y="{mid:g}" text-anchor="end" class="chart-label">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR_H}" class="chart-bar"></rect>')
        parts.append(f'<text x="{LABEL_W + w + 6}" y="{mid:g}" class="chart-value">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
