"""The cache folder of one output folder, and the content hashes of files.

The cache lives beside the output, never inside it: ``<parent>/.<output name>.cache/``.
It is ours only when it is a real folder owned by this user holding our marker file;
anything else (a symlink, someone else's folder, a damaged file) is ignored with one
warning and the build is a full one: the cache may make a build faster, never wrong
and never fail.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import stat
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..source import read_sized

SCHEMA = 1              # bump when what is stored, or how a key is made, changes
MARKER = "gongkai-cache.json"
MAX_PICKLE = 512 * 1024 * 1024
MAX_MARKER = 4096   # the cache folder's marker: a few dozen bytes
# Every file hash the last build saw: a pickle (as JSON, 20k entries cost 0.06 s to load and
# 0.03 s to write, every build).
HASHES = "hashes.pickle"


def sha256_file(path: Path | str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        # Small files (every item) in one read of the size fstat gives: four system calls
        # a file where a buffered file object makes nine; large ones (attachments) streamed.
        size = os.fstat(fd).st_size
        if size <= 1 << 20:
            return hashlib.sha256(read_sized(fd, size)).hexdigest()
        h = hashlib.sha256()
        while block := os.read(fd, 1 << 20):
            h.update(block)
        return h.hexdigest()
    finally:
        os.close(fd)


def plain_digest(value) -> str:
    """A stable hash of plain data (str, int, float, bool, None, date, lists, tuples, and
    dicts whose keys code puts in a fixed order): ``digest``'s job at about a quarter of
    its cost, for the parts of the unit keys that hold every item (issue 15: a one-item
    edit digests the whole province's states and registry). Pickled without its memo, so
    equal values give equal bytes whichever objects they share."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return hashlib.sha256(buf.getbuffer()).hexdigest()


def digest(value) -> str:
    """A stable hash of a JSON-able value (dict keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                     default=str).encode("utf-8")).hexdigest()


class Hashes:
    """Content hashes of files, re-hashed only when (size, mtime, ctime, inode, device) changed.

    Each file's record is one bytes object, those five numbers packed and the raw
    sha-256 after them: the parent holds a record per file of the content for the whole
    build, and a list of five ints and a hex string cost ~450 B more (~40 MiB at 100k
    items, issue 15)."""

    PROBE = struct.Struct("<QqqQQ")   # size, mtime_ns, ctime_ns, inode, device
    SIZE = PROBE.size + 32

    def __init__(self, memo: dict | None = None):
        self.memo: dict[str, bytes] = memo if isinstance(memo, dict) else {}
        self.seen: dict[str, bytes] = {}

    def signature(self, path: Path | str) -> list:
        """[mode kind, content hash or link target]: what a file is, for a key. A symlink
        is its target text plus what it points at; a missing file is ["-"]."""
        p = str(path)
        try:
            st = os.lstat(p)
        except OSError:
            return ["-"]
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(p)
            except OSError:
                target = "?"
            return ["l", target, *self.signature(os.path.realpath(p))[1:]] if os.path.exists(p) else ["l", target]
        if stat.S_ISDIR(st.st_mode):
            return ["d"]
        if not stat.S_ISREG(st.st_mode):
            return ["o", stat.S_IFMT(st.st_mode)]
        return ["f", self.of(p, st)]

    def took(self, path: str, st: os.stat_result, data: bytes) -> list:
        """The signature of the regular file at ``path`` as read: its ``data``, read from an
        open file whose ``fstat`` (before the read) was ``st``. Recorded as the file's hash for
        that stat, so that its next signature (``signature``, ``of``) is this one while the
        file stays as it was, without reading it again; a file changed since has another stat
        and is hashed again."""
        value = hashlib.sha256(data).digest()
        probe = self._probe(st)
        if probe is not None and len(data) == st.st_size:   # else written while read: ``of`` hashes it again
            self.seen[path] = probe + value
        return ["f", value.hex()]

    @classmethod
    def _probe(cls, st: os.stat_result) -> bytes | None:
        """What says a file is as it was, packed; None for a number out of range on some
        file system (such a file is hashed every time)."""
        try:
            return cls.PROBE.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        except struct.error:
            return None

    def of(self, path: str, st: os.stat_result) -> str:
        probe = self._probe(st)
        if probe is None:
            return sha256_file(path)
        known = self.seen.get(path) or self.memo.get(path)   # hashed earlier in this build, or in the last
        if type(known) is bytes and len(known) == self.SIZE and known.startswith(probe):
            self.seen[path] = known
            return known[self.PROBE.size:].hex()
        value = sha256_file(path)
        self.seen[path] = probe + bytes.fromhex(value)
        return value


JINJA = "jinja"    # the compiled templates, one folder per render key (incremental/units.py, render.py)


def folder_of(output: Path) -> Path:
    """The cache folder of an output folder: ``.<output>.cache`` beside it."""
    return output.parent / f".{output.name}.cache"


class Cache:
    """One build's view of the cache folder; ``None``-safe: a disabled cache reads nothing."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.warned = False
        memo = self.load_pickle(HASHES) if folder is not None else None
        self.hashes = Hashes(memo)
        self.code: str | None = None    # validate.code_key, computed once per build

    @classmethod
    def open(cls, output: Path, enabled: bool = True) -> Cache:
        if not enabled:
            return cls(None)
        folder = folder_of(output)
        try:
            if folder.is_symlink():
                raise OSError(f"{folder}: 是符号链接 (is a symlink)")
            if not folder.exists():
                folder.mkdir(mode=0o700)
                _write_atomic(folder / MARKER, json.dumps({"schema": SCHEMA, "what": "gongkai build cache"}).encode())
            st = folder.stat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                raise OSError(f"{folder}: 不是本用户的目录 (not a folder of this user)")
            try:
                marker = json.loads(paths.read_regular(folder / MARKER, MAX_MARKER).decode("utf-8"))
            except ValueError as exc:   # not a regular file, too large, not JSON: named here
                raise ValueError(f"{folder / MARKER}: {exc}") from None
            if not isinstance(marker, dict) or marker.get("what") != "gongkai build cache":
                raise OSError(f"{folder}: 不是 gongkai 的缓存目录 (not a gongkai cache folder)")
            if marker.get("schema") != SCHEMA:
                # An older layout: start afresh inside our own folder.
                for child in folder.iterdir():
                    if child.name != MARKER and child.is_file() and not child.is_symlink():
                        child.unlink()
                _write_atomic(folder / MARKER, json.dumps({"schema": SCHEMA, "what": "gongkai build cache"}).encode())
        except (OSError, ValueError) as exc:
            print(f"warning: 构建缓存不可用，本次完整构建 (build cache not used, full build): {exc}", file=sys.stderr)
            return cls(None)
        return cls(folder)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def warn(self, what: str, exc: BaseException) -> None:
        if not self.warned:
            print(f"warning: 构建缓存文件损坏或无法读取，已忽略 (build cache ignored): {what}: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            self.warned = True

    def _path(self, name: str) -> Path | None:
        if self.folder is None:
            return None
        path = self.folder / name
        if path.is_symlink():
            return None
        return path

    def load_json(self, name: str):
        """The value in ``name``; None when it is missing or a link (silently), or damaged,
        too large or not a regular file (with one warning), as ``load_pickle``."""
        data = self._load(name)
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            self.warn(name, exc)
            return None

    def _load(self, name: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            return paths.read_regular(os.path.join(self.folder, name), MAX_PICKLE)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:     # a link: not ours to follow
                return None
            self.warn(name, exc)
            return None
        except ValueError as exc:            # a FIFO, a folder, too large
            self.warn(name, exc)
            return None

    def save_json(self, name: str, value) -> None:
        path = self._path(name)
        if path is not None:
            self._save(path, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())

    def load_pickle(self, name: str):
        """The value pickled in ``name``; None when it is missing or a link (silently), or
        damaged, too large or not a regular file (with one warning). One open and one fstat:
        several files a unit are loaded every build (issue 15: ~6,500 at 1,300 units, each
        asked three times whether it was a link, existed, and its size)."""
        data = self._load(name)
        if data is None:
            return None
        try:
            return pickle.loads(data)  # noqa: S301 - our own folder, owned by this user (checked in open)
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is ignored, never an error
            self.warn(name, exc)
            return None

    def save_pickle(self, name: str, value) -> None:
        path = self._path(name)
        if path is not None:
            self._save(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def remove(self, name: str) -> None:
        path = self._path(name)
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                self.warn(name, exc)

    def _save(self, path: Path, data: bytes | Callable) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
        except OSError as exc:
            self.warn(str(path.name), exc)

    def save_hashes(self, prune: bool = True) -> None:
        """Keep the hashes of the files this run looked at; ``prune``: forget the others
        (a full build looks at every file; ``validate`` only at the items)."""
        path = self._path(HASHES)
        if path is not None:
            value = self.hashes.seen if prune else {**self.hashes.memo, **self.hashes.seen}

            def dump(f) -> None:
                # Streamed, and with no memo (every key and record is its own object): at 100k
                # files the bytes and the memo of pickle.dumps raised the parent's peak by ~10 MiB.
                pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.fast = True
                pickler.dump(value)
            self._save(path, dump)


def _write_atomic(path: Path, data: bytes | Callable) -> None:
    """``data``: the bytes, or a function that writes them to the file it is given."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
