"""Images of items: found in the Markdown body, checked, and re-encoded with Pillow.

Originals are never copied to the output: every image is re-encoded, which drops
EXIF (camera GPS positions!) and other metadata, after applying the EXIF rotation.
Body images get a few widths for ``srcset``; image attachments keep their size.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from urllib.parse import quote, unquote, urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from . import paths

IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
WIDTHS = (480, 960, 1600)
DEFAULT_WIDTH = 960
SIZES = "(max-width: 760px) 100vw, 860px"
# A 12000×9000 photo is 108 megapixels; more is a decompression bomb, not a picture
# (Pillow's own check stops only at twice its 89 megapixel warning, after a warning).
MAX_PIXELS = 120_000_000


class ImageError(ValueError):
    """A file named as an image that cannot be used as one; the message names the file."""


def probe(path: Path, name: str | None = None) -> tuple[int, int, str | None, int]:
    """(width, height, format, EXIF orientation) of an image file, checked without decoding
    more than its header; ImageError if it is not an image or too large to decode safely."""
    name = name or path.name
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"图片 {name!r} 过大：{w}×{h} 像素，最多 {MAX_PIXELS // 1_000_000} 百万像素 "
                                 f"(image too large: {w}x{h} pixels)")
            fmt = im.format
            im.verify()
        with Image.open(path) as im:  # verify() leaves the image unusable: open it again
            orientation = im.getexif().get(0x0112) or 1
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{pixels.group(1)} 像素" if pixels else "像素过多"
        raise ImageError(f"图片 {name!r} 过大：{size}，最多 {MAX_PIXELS // 1_000_000} 百万像素 "
                         "(image too large: decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct_error) as exc:
        raise ImageError(f"文件 {name!r} 不是有效的图片 (not a valid image: {type(exc).__name__})") from None
    return w, h, fmt, orientation

# No part may run over the character that starts another reference ('[' in alt text,
# '(' and '<' in targets): then the scan from each start ends at the next one, and a
# hostile body of "![![![…" costs linear time, not minutes of backtracking.
_MD_IMAGE = re.compile(r"!\[([^\[\]]*)\]\(\s*<?([^()\s<>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_MD_REF_IMAGE = re.compile(r"!\[([^\[\]]*)\]\[([^\[\]]*)\]")
_MD_REF_DEF = re.compile(r"^ {0,3}\[([^\[\]\n]+)\]:[ \t]*<?(\S+?)>?(?:[ \t]+[\"'(].*)?$", re.M)
_HTML_IMG = re.compile(r"<img\b[^<>]*>", re.I | re.S)
_ATTR = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")


@dataclass(frozen=True)
class Ref:
    src: str
    alt: str
    line: int


def find(body: str, first_line: int) -> list[Ref]:
    """Image references in a Markdown body — inline, reference-style and raw <img>,
    also spread over several lines — each with the file line where it starts."""
    # Every form below starts with "![" or "<": most bodies have neither (one scan each, in C).
    if "![" not in body and "<" not in body:
        return []

    def line(pos: int) -> int:
        return first_line + body.count("\n", 0, pos)

    found: list[tuple[int, Ref]] = []
    for m in _MD_IMAGE.finditer(body):
        found.append((m.start(), Ref(m.group(2), m.group(1).strip(), line(m.start()))))
    definitions = {m.group(1).strip().lower(): m.group(2) for m in _MD_REF_DEF.finditer(body)}
    for m in _MD_REF_IMAGE.finditer(body):
        label = (m.group(2) or m.group(1)).strip().lower()
        if label in definitions:
            found.append((m.start(), Ref(definitions[label], m.group(1).strip(), line(m.start()))))
    for m in _HTML_IMG.finditer(body):
        attrs = _attrs(m.group(0))
        if "src" in attrs:
            found.append((m.start(), Ref(html.unescape(attrs["src"]), html.unescape(attrs.get("alt", "")).strip(),
                                         line(m.start()))))
    return [ref for _, ref in sorted(found, key=lambda pair: pair[0])]


def _attrs(tag: str) -> dict[str, str]:
    # findall gives '' for the quoting styles that did not match; take the one that did.
    return {name.lower(): "".join(values) for name, *values in _ATTR.findall(tag)}


def problem(ref: Ref, folder: Path, root: Path | None = None) -> str | None:
    """Why a referenced image cannot be used, or None. ``root`` is the content folder:
    the file, or the link it is, must resolve inside it."""
    parts = urlsplit(ref.src)
    if parts.scheme or ref.src.startswith("//"):
        return f"image {ref.src!r} is not on this site: put the file beside the item and write ![说明](file.png)"
    rel = unquote(parts.path)
    if rel.startswith("/") or ".." in Path(rel).parts:
        return f"image {ref.src!r}: expected a file name beside the item"
    ext = Path(rel).suffix.lower().lstrip(".")
    if ext not in IMAGE_EXTS:
        return f"image {ref.src!r}: expected one of {', '.join(sorted(IMAGE_EXTS))}"
    try:
        paths.check_names(folder / rel, folder)
        if root is not None:
            real = paths.vet(folder / rel, root, links=True)
        elif (folder / rel).is_file():
            real = folder / rel
        else:
            raise paths.PathError(folder / rel, "文件不存在 (not found)")
    except paths.PathError as exc:
        if exc.message.startswith("文件不存在"):
            return f"image {ref.src!r} not found beside the item"
        return f"image {ref.src!r}: {exc.shown}: {exc.message}"
    try:
        probe(real, rel)
    except ImageError as exc:
        return str(exc)
    if not ref.alt:
        return f"image {ref.src!r} has no alt text: describe it, e.g. ![2026年预算收支结构图解]({ref.src})"
    return None


@dataclass(frozen=True)
class BodyImage:
    src: str        # as written in the body, relative to the item
    path: Path
    alt: str
    width: int      # after EXIF rotation
    height: int
    ext: str        # output extension: jpg for JPEG sources, png for the rest

    @classmethod
    def open(cls, ref: Ref, folder: Path) -> BodyImage:
        """The image of ``ref``, once ``problem`` found none (the path is read through its link)."""
        rel = unquote(urlsplit(ref.src).path)
        path = (folder / rel).resolve()
        w, h, fmt, orientation = probe(path, rel)
        if orientation in (5, 6, 7, 8):  # rotated 90°: width and height swap
            w, h = h, w
        return cls(rel, path, ref.alt, w, h, "jpg" if fmt == "JPEG" else "png")

    def widths(self) -> list[int]:
        return [w for w in WIDTHS if w < self.width] + [min(self.width, WIDTHS[-1])]

    def name(self, width: int) -> str:
        stem = str(Path(self.src).with_suffix(""))
        return f"{stem}-{width}.{self.ext}"

    def tag(self) -> str:
        widths = self.widths()
        default = max([w for w in widths if w <= DEFAULT_WIDTH] or widths[:1])
        height = round(self.height * default / self.width)
        srcset = ", ".join(f"{quote(self.name(w))} {w}w" for w in widths)
        return (f'<img src="{quote(self.name(default))}" srcset="{srcset}" sizes="{SIZES}" width="{default}" '
                f'height="{height}" alt="{html.escape(self.alt)}" loading="lazy" decoding="async">')

    def write(self, folder: Path) -> list[Path]:
        """Write every width into ``folder`` (the item's output folder)."""
        written = []
        with Image.open(self.path) as im:
            im = _flatten(ImageOps.exif_transpose(im), self.ext)
            for width in self.widths():
                out = folder / self.name(width)
                out.parent.mkdir(parents=True, exist_ok=True)
                size = (width, max(1, round(im.height * width / im.width)))
                _save(im if size == im.size else im.resize(size, Image.Resampling.LANCZOS), out, self.ext)
                written.append(out)
        return written


class UncheckedImage(ValueError):
    """An <img> reached the rendered HTML without having been checked (a bug to report)."""


def rewrite(fragment: str, images: list[BodyImage]) -> str:
    """Replace each sanitized <img> of a checked local image with its responsive markup.
    Any other <img> (one the source scan did not see) is refused, never published."""
    by_key = {(img.src, img.alt): img for img in images}

    def swap(m: re.Match) -> str:
        attrs = _attrs(m.group(0))
        src = unquote(html.unescape(attrs.get("src", "")))
        img = by_key.get((src, html.unescape(attrs.get("alt", "")).strip()))
        if img is None:
            raise UncheckedImage(f"image {src!r} was not checked; write it as ![说明](file.png) beside the item")
        return img.tag()

    return _HTML_IMG.sub(swap, fragment)


def strip_copy(source: Path, dest: Path) -> None:
    """Copy an image attachment re-encoded at full size, without EXIF or other metadata."""
    ext = source.suffix.lower().lstrip(".")
    with Image.open(source) as im:
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}[ext]
        im = ImageOps.exif_transpose(im)
        if fmt == "JPEG" and im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        dest.parent.mkdir(parents=True, exist_ok=True)
        _save(im, dest, {"JPEG": "jpg", "PNG": "png"}.get(fmt, ext), fmt)


def _flatten(im: Image.Image, ext: str) -> Image.Image:
    if ext == "jpg":
        return im.convert("RGB") if im.mode not in ("RGB", "L") else im
    return im.convert("RGBA") if im.mode not in ("RGB", "RGBA", "L", "LA") else im


def _save(im: Image.Image, out: Path, ext: str, fmt: str | None = None) -> None:
    # No exif=, icc_profile= or pnginfo= arguments: Pillow then writes none of them.
    if ext == "jpg":
        im.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif ext == "png":
        im.save(out, "PNG", optimize=True)
    else:
        im.save(out, fmt)
