"""The one gate every content path passes before it is read or copied.

Content comes from editors' git repositories and is treated as hostile: a file
name reaches URLs and attributes, a symbolic link can point at any file of the
machine that builds, and a FIFO blocks whoever opens it. So every item, folder,
unit folder, ``_unit.yaml``, attachment and body image is vetted here:

- its name follows NAME_RULE (letters of any script, digits, a few safe marks);
- it is a real file or folder, never a FIFO, socket or device;
- a symbolic link is refused where a link cannot work fully (items, folders,
  ``_unit.yaml``) and, for attachments and images, must resolve to a regular file
  inside the content folder; outside or dangling, it is refused naming the link;
- a text file is bounded in size before it is read.
"""
from __future__ import annotations

import functools
import os
import re
import stat
import unicodedata
from pathlib import Path

# Items and _unit.yaml are read whole into memory and parsed.
MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_NAME_CHARS = 160

# ASCII marks allowed in names besides letters and digits: none of them means
# anything in HTML, in a URL path or to a shell.
_ASCII_OK = frozenset("-_.()[]+,~ ")

NAME_RULE = ("文件名和文件夹名只能含汉字、字母、数字、空格和 - _ . ( ) [ ] + , ~ 以及中文标点"
             "（《》（）【】、，：等），不能以 - 或空格开头 "
             "(names: letters, digits, spaces, - _ . ( ) [ ] + , ~ and full-width punctuation; "
             "no quotes, < > & : / \\ # % { } or control characters; not starting with - or a space)")


class PathError(Exception):
    """A path that may not be read: ``shown`` is the path as the editor wrote it (the link, not its target)."""

    def __init__(self, path: Path, message: str):
        super().__init__(message)
        self.path = path
        self.shown = shown(path)
        self.message = message


def shown(path: Path) -> str:
    """A path as an editor sees it, relative to the working folder when inside it.

    The last part is never resolved: a link is named as the link, not as its target."""
    return shown_full(os.path.abspath(path))


def shown_full(full: str) -> str:
    """``shown`` of a path already made absolute and normal (``os.path.abspath``): the
    pre-pass makes it once per item for every check that needs it."""
    parent, name = os.path.split(full)
    return os.path.join(_shown_dir(parent, os.getcwd()), name)


@functools.lru_cache(maxsize=4096)
def _shown_dir(parent: str, cwd: str) -> str:
    # A pure memo (the answer depends only on the arguments and the disk, which a
    # build does not change): items of one folder share it.
    real = Path(parent).resolve()
    try:
        rel = real.relative_to(Path(cwd).resolve())
    except ValueError:
        return str(real)
    return "" if str(rel) == "." else str(rel)


# Names of ASCII letters, digits and the allowed marks, not starting with - or a space nor
# ending with a space, at most MAX_NAME_CHARS: what name_problem passes without looking at
# each character (nearly every item and folder name of a province; the loop is ~10x slower).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.()\[\]+,~](?:[A-Za-z0-9_.()\[\]+,~ -]{0,%d}[A-Za-z0-9_.()\[\]+,~-])?"
                         % (MAX_NAME_CHARS - 2))


def name_problem(name: str) -> str | None:
    """Why ``name`` (one part of a path) may not be a content file or folder name, or None."""
    if _PLAIN_NAME.fullmatch(name):
        return None
    if not name:
        return "文件名为空 (empty name)"
    if len(name) > MAX_NAME_CHARS:
        return f"文件名过长：{len(name)} 个字符，最多 {MAX_NAME_CHARS} (name too long)"
    if name[0] in "- " or name[-1] == " ":
        return f"文件名不能以 {name[0] if name[0] in '- ' else '空格'} 开头或以空格结尾 (name starts with '-' or a space)"
    for ch in name:
        if ch.isascii():
            if ch.isalnum() or ch in _ASCII_OK:
                continue
        else:
            cat = unicodedata.category(ch)
            # Letters, marks, digits, punctuation and symbols of other scripts are text;
            # format and control characters (e.g. U+202E, which reverses the name) are not.
            if cat[0] in "LMNPS" or ch == "\u3000":
                continue
        return f"文件名含有不允许的字符 {_char(ch)} (character not allowed in a name)"
    return None


def _char(ch: str) -> str:
    return repr(ch) if ch.isprintable() and ch != " " else f"U+{ord(ch):04X}"


def parts_below(path: str, base: str) -> list[str] | None:
    """The parts of absolute ``path`` below absolute ``base``, or None if it is not below."""
    base = base.rstrip(os.sep) + os.sep
    if not path.startswith(base):
        return None
    return [p for p in path[len(base):].split(os.sep) if p]


def check_names(path: Path, base: Path, *, full: str | None = None) -> None:
    """Every part of ``path`` below ``base`` follows the name rule (``full``: the caller's
    ``os.path.abspath(path)``, when it has it)."""
    for part in parts_below(full or os.path.abspath(path), os.path.abspath(base)) or ():
        why = name_problem(part)
        if why:
            raise PathError(path, f"{why}; {NAME_RULE}")


def vet(path: Path, root: Path, *, links: bool = False, folder: bool = False,
        max_bytes: int | None = None, full: str | None = None) -> Path:
    """The real path of ``path``, a file (or ``folder``) under the content folder ``root``
    (an absolute ``root`` must be resolved already: the units' folders are). ``full``: the
    caller's ``os.path.abspath(path)``, when it has it.

    Every part from ``root`` down is checked without following it; a symbolic link is
    refused unless ``links``, and then it must resolve inside ``root``. Raises PathError."""
    # Text, not pathlib, on the way (every item of a province comes here): an absolute root
    # is taken as written, and a Path is made only for a message or a link.
    if isinstance(root, str) or not root.is_absolute():
        root = Path(root)
        if not root.is_absolute():
            root = root.resolve()
    if full is None:
        full = os.path.abspath(path)
    parts = parts_below(full, str(root))
    if not parts:
        raise PathError(Path(full), "不在内容文件夹内 (outside the content folder)")
    linked = False
    current = str(root).rstrip(os.sep)   # os.path.join's answers, by concatenation (no part holds a separator)
    last_at = len(parts) - 1
    for i, part in enumerate(parts):
        current = current + os.sep + part
        last = i == last_at
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            raise PathError(Path(current), "文件不存在 (not found)") from None
        except OSError as exc:
            raise PathError(Path(current), f"无法读取 (cannot be read: {exc.strerror})") from None
        if stat.S_ISLNK(st.st_mode):
            _vet_link(Path(current), Path(root), allowed=links and last)
            st = os.stat(current)
            linked = True
        if not last or folder:
            if not stat.S_ISDIR(st.st_mode):
                raise PathError(Path(current), "不是文件夹 (not a folder)")
        elif not stat.S_ISREG(st.st_mode):
            raise PathError(Path(current), f"不是普通文件，是{_kind(st.st_mode)} (not a regular file)")
    if max_bytes is not None and not folder and st.st_size > max_bytes:
        raise PathError(Path(full), f"文件过大：{st.st_size / 1024 / 1024:.1f} MB，最多 {max_bytes / 1024 / 1024:.0f} MB "
                                    "(file too large)")
    # Every part was checked with lstat: without a link, the path is already the real one
    # (the caller's own Path when it was written that way: no second parse).
    if linked:
        return Path(full).resolve()
    return path if isinstance(path, Path) and str(path) == full else Path(full)


def _vet_link(link: Path, root: Path, allowed: bool) -> None:
    try:
        target = link.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise PathError(link, f"符号链接指向不存在的文件 {os.readlink(link)!r} (dangling symbolic link)") from None
    if target != root and root not in target.parents:
        raise PathError(link, "符号链接指向内容文件夹之外，不会读取或发布 (symbolic link out of the content folder)")
    if not allowed:
        raise PathError(link, "是符号链接：条目、文件夹和 _unit.yaml 必须是真实文件，请复制文件而不是链接 "
                              "(symbolic links are allowed only for attachments and images)")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "管道 FIFO"
    if stat.S_ISSOCK(mode):
        return "套接字 socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件 device"
    if stat.S_ISDIR(mode):
        return "文件夹 folder"
    return "特殊文件 special file"


class NotRegular(ValueError):
    """``read_regular``: the path is not a regular file (a FIFO, a folder, a device...)."""


class TooLarge(ValueError):
    """``read_regular``: the file holds more than the caller's limit."""


def read_regular(path: str | os.PathLike, limit: int, *, truncate: bool = False,
                 same_path: str | None = None, owner: int | None = None, stat_out: list | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them: the one safe
    read of a file that may have been swapped for something else (content, the build
    cache, the pages a build wrote). The last component is opened without following a
    link (``OSError`` ELOOP) and without blocking, so a FIFO put there is refused, never
    waited on. Then the open file is checked: a regular file (``NotRegular``) holding at
    most ``limit`` bytes (``TooLarge``; with ``truncate`` its first ``limit`` bytes are
    read instead); ``same_path``: its real path, the kernel's (``/proc/self/fd``), is that
    one, so no folder on the way was a link (``NotRegular`` when it is not, or without
    ``/proc``); ``owner``: it belongs to that user id (``NotRegular`` otherwise). Bounded
    also when the file grows while it is read. ``stat_out``: with the bytes returned, the open file's
    ``fstat``, taken before the read, is appended to it (what the bytes were read under: the build cache's
    content hashes, incremental/store.py ``Hashes.took``)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular("not a regular file")
        if owner is not None and st.st_uid != owner:
            raise NotRegular("not a regular file of this user")
        if same_path is not None and os.readlink(f"/proc/self/fd/{fd}") != same_path:
            raise NotRegular("not the file at this path")
        if st.st_size > limit and not truncate:
            raise TooLarge("too large")
        want = min(st.st_size, limit)
        data = os.read(fd, want + 1)   # one read when fstat told the truth, and one to see the end
        if not (len(data) == want and want == st.st_size):
            parts, got = [data], len(data)
            while got <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - got))):
                parts.append(chunk)
                got += len(chunk)
            data = b"".join(parts)
            if len(data) > limit:
                if not truncate:
                    raise TooLarge("too large")
                data = data[:limit]
        if stat_out is not None:
            stat_out.append(st)
        return data
    finally:
        os.close(fd)


def is_regular(path: Path) -> bool:
    """A regular file that is not a link (checked without opening it: opening a FIFO blocks)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def walk(folder: Path) -> list[Path]:
    """Every entry below ``folder``, sorted, hidden ones (``.name``) left out.

    Links are listed, never followed; only real folders are entered."""
    return [path for path, _ in walk_kinds(folder)]


def walk_kinds(folder: Path) -> list[tuple[Path, str]]:
    """``walk``'s entries, each with what it is, as the folder listing says without
    following it: "link", "dir", "file" (regular) or "other" (FIFO, socket, device).

    The kinds come from the directory entries (d_type; a stat only where the file system
    does not give it): a province's scan makes no lstat per file to learn them."""
    out: list[tuple[Path, str]] = []
    stack = [Path(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = current / entry.name   # a child of a parsed path: ~3x cheaper than Path(entry.path)
            try:
                kind = ("link" if entry.is_symlink() else "dir" if entry.is_dir(follow_symlinks=False)
                        else "file" if entry.is_file(follow_symlinks=False) else "other")
            except OSError:   # gone since the listing: what a later open will say
                kind = "other"
            out.append((path, kind))
            if kind == "dir":
                stack.append(path)
    # The order of sorted(paths) (PurePath compares its parts), with the parts compared in C.
    return sorted(out, key=lambda entry: entry[0].parts)
