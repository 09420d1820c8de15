"""简繁 character maps for the browser, generated at build time from OpenCC.

``theme/js/zhmap.json`` under every site root is ``{"s2t": {...}, "t2s": {...}}``:
one character to one character, only where OpenCC changes it. The page tools'
简繁 switch (theme/static/js/tools.js) renders traditional text with ``s2t``;
search folds traditional to simplified with ``t2s``. Same OpenCC version, same bytes.
"""
from __future__ import annotations

import json
from pathlib import Path

# CJK Unified Ideographs, Extension A, Compatibility Ideographs.
RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
REL_PATH = Path("js") / "zhmap.json"


def _char_map(config: str) -> dict[str, str]:
    import opencc

    chars = [chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)]
    # One call for every character; newlines keep OpenCC's phrase matching to one character.
    converted = opencc.OpenCC(config).convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - would mean OpenCC joined lines
        raise RuntimeError(f"OpenCC {config}: {len(converted)} results for {len(chars)} characters")
    return {a: b for a, b in zip(chars, converted) if a != b and len(b) == 1}


def build_map() -> dict[str, dict[str, str]]:
    return {"s2t": _char_map("s2t"), "t2s": _char_map("t2s")}


def to_bytes(data: dict[str, dict[str, str]]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write(static_roots: list[Path]) -> None:
    """Write zhmap.json into each site's theme folder (computed once for all of them)."""
    data = to_bytes(build_map())
    for root in static_roots:
        target = root / REL_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
