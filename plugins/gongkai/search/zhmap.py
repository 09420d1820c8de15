"""The 简繁 character map, generated from OpenCC's data at build time.

``theme/js/zhmap.json`` (``<THEME_STATIC_DIR>/js/``) in the portal's theme, which every
unit's pages read, holds ``{"s2t": {…}, "t2s": {…}}``:
one character to one character, the first candidate of OpenCC's character
dictionaries. The search tokenizer folds with ``t2s`` on both sides (Python at
index time, search.js at query time); the public pages use ``s2t`` for a 简繁
switch. Nothing here is hand-written, so the two sides cannot drift.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .tokenize import CJK_RANGES

def path_in(static_dir: str = "theme") -> str:
    """Where the map is in a site: in its theme folder (THEME_STATIC_DIR), beside tools.js,
    which fetches it from its own folder."""
    return f"{static_dir}/js/zhmap.json"


PATH = path_in()   # with the default theme folder


def maps() -> dict[str, dict[str, str]]:
    """The maps: computed once per process, or taken from the build cache (``prime``)."""
    if not _MAPS:
        _MAPS.append(_compute())
    return _MAPS[0]


# A pure function of the pinned OpenCC data and this code, so one per process at most; kept
# in a list that ``prime`` may fill before the unit workers fork, so they inherit it.
_MAPS: list[dict[str, dict[str, str]]] = []
CACHED = "zhmap.json"


def prime(store, compute: Callable[[], dict] | None = None) -> None:
    """Take the maps from the build cache (``incremental.Cache``) when it holds them for this
    code and these libraries, else compute and keep them there: computing them costs ~0.3 s,
    once in the parent and once in every unit worker of every build. ``compute``: what
    computes them instead of this process (also without a cache): the build's asks a child
    process, so that OpenCC's dictionaries (~34 MiB, kept after use) stay out of it (issue 15)."""
    if _MAPS or not (store.enabled or compute is not None):
        return
    begin(store, lambda: compute or maps)()


def begin(store, start: Callable[[], Callable[[], dict]]) -> Callable[[], None]:
    """``prime`` in two steps, so that the maps are computed while the build does something
    else: taken from the build cache now, or ``start()`` begins computing them (the build's
    starts a child process before the pre-pass, which then runs on the other core: they
    were ~0.3 s on one core between the pre-pass and the units of every build without a
    cache, issue 15) and returns what gives them. The callable returned takes them and keeps
    them in the cache; call it before ``maps()``."""
    if _MAPS:
        return _nothing
    key = None
    if store.enabled:
        from ..incremental.validate import code_key
        key = code_key(store)
        kept = store.load_json(CACHED)
        if isinstance(kept, dict) and kept.get("key") == key and _well_formed(kept.get("maps")):
            _MAPS.append(kept["maps"])
            return _nothing
    installed = load_installed()
    if installed is not None:
        _MAPS.append(installed)
        result = None
    else:
        result = start()

    def finish() -> None:
        if result is not None:
            seed(result())
            save_installed(maps())
        if store.enabled:
            store.save_json(CACHED, {"key": key, "maps": maps()})

    return finish


def _nothing() -> None:
    pass


# The maps kept with the installation, beside the pinned OpenCC they come from: in the
# virtual environment ``make`` creates (share/gongkai/), under the key of this code and of
# OpenCC's version. A build without its cache (a cold build, a new output folder) then takes
# them instead of computing them (~0.35 s of CPU in a child process beside the pre-pass).
# A Python that is not a virtual environment keeps nothing there (a system folder).
INSTALLED = ("share", "gongkai", "zhmap.json")


def installed_path() -> Path | None:
    if sys.prefix == sys.base_prefix:
        return None
    return Path(sys.prefix, *INSTALLED)


def installed_key() -> str | None:
    """What the maps are a function of: this module's code, the ranges it converts, OpenCC's
    version (its installed distribution's name, found beside the package without importing
    it: importlib.metadata alone costs ~60 ms at the start of every build). None when this
    module's file cannot be read: then nothing is kept."""
    import importlib.util
    try:
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()   # source or bytecode, as installed
        spec = importlib.util.find_spec("opencc")
        site = Path(spec.origin).parent.parent if spec is not None and spec.origin else None
        opencc = sorted(p.name for p in site.glob("[Oo]pen[Cc][Cc]-*.dist-info")) if site is not None else []
    except (OSError, ValueError, ImportError):
        return None
    return hashlib.sha256(json.dumps([code, CJK_RANGES, opencc, sys.version_info[:2]]).encode("utf-8")).hexdigest()


def load_installed() -> dict[str, dict[str, str]] | None:
    """The maps kept with the installation for this code and OpenCC, or None."""
    path = installed_path()
    key = installed_key() if path is not None else None
    if key is None:
        return None
    try:
        from ..paths import read_regular
        kept = json.loads(read_regular(str(path), 16 * 1024 * 1024, owner=os.geteuid()).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(kept, dict) and kept.get("key") == key and _well_formed(kept.get("maps")):
        return kept["maps"]
    return None


def save_installed(value: dict[str, dict[str, str]]) -> bool:
    """Keep the maps with the installation (best effort: a read-only environment keeps none)."""
    path = installed_path()
    key = installed_key() if path is not None else None
    if key is None or not _well_formed(value):
        return False
    from ..incremental.store import _write_atomic   # a temporary file renamed over it: whole or absent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, json.dumps({"key": key, "maps": value}, ensure_ascii=False, sort_keys=True).encode())
    except OSError:
        return False
    return True


def keep_installed() -> int:
    """``make``'s step after installing the requirements: the maps kept with the installation."""
    return 0 if load_installed() is not None or save_installed(_compute()) else 1


def seed(value: dict[str, dict[str, str]]) -> None:
    """Take the maps another process of this build made (a unit worker, from its parent)."""
    if not _MAPS and _well_formed(value):
        _MAPS.append(value)


def _well_formed(value) -> bool:
    return isinstance(value, dict) and sorted(value) == ["s2t", "t2s"] and all(
        isinstance(table, dict) and all(isinstance(k, str) and isinstance(v, str) and len(k) == len(v) == 1
                                        for k, v in table.items()) for table in value.values())


_BLOCK = 4096


def _compute() -> dict[str, dict[str, str]]:
    import opencc

    out: dict[str, dict[str, str]] = {}
    for name in ("t2s", "s2t"):
        conv = opencc.OpenCC(name)
        codes = (code for lo, hi in CJK_RANGES for code in range(lo, hi + 1))
        table = {}
        # One call per block, one character a line: no phrase of OpenCC's dictionaries spans a
        # line break, so each line converts as the character alone would. Blocks, not all
        # ~100k characters at once: that held ~30 MiB of one-character strings in the
        # parent of a cold build (issue 15).
        while chars := [chr(code) for code in itertools.islice(codes, _BLOCK)]:
            converted = conv.convert("\n".join(chars)).split("\n")
            assert len(converted) == len(chars)
            for ch, to in zip(chars, converted):
                if len(to) == 1 and to != ch:
                    table[ch] = to
        # Follow chains (a -> b -> c) to their end, so folding twice equals folding once.
        for ch in list(table):
            seen, to = {ch}, table[ch]
            while to in table and to not in seen:
                seen.add(to)
                to = table[to]
            table[ch] = to
        out[name] = {k: v for k, v in sorted(table.items()) if k != v}
    return out


def t2s() -> dict[str, str]:
    return maps()["t2s"]


@functools.lru_cache(maxsize=1)  # encoded once per process
def data() -> bytes:
    return json.dumps(maps(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write(site_root: Path) -> Path:
    path = site_root / PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data())
    return path
