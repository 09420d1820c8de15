"""Read an existing document (.docx, .pdf, .html, .txt) into blocks of text.

Every reader returns a ``Doc``: blocks in reading order, each with its plain text
(what the 公文 extraction reads) and its Markdown (what the body keeps; tables stay
tables), plus, for a page saved from a government site, the fields of its 信息属性
table. Input is hostile: sizes, pages and archive members are bounded, and every
failure is a ``ReadError`` with a sentence for the editor, never a traceback.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE = 50 * 1024 * 1024          # any source file
MAX_TEXT = 5 * 1024 * 1024           # .txt and .html
MAX_PDF_PAGES = 300
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL = 200 * 1024 * 1024    # uncompressed .docx (zip bombs)
MAX_ZIP_RATIO = 200                  # uncompressed / compressed of one member
MIN_TEXT_CHARS = 20                  # fewer in a whole PDF: a scan without a text layer

SUFFIXES = (".docx", ".pdf", ".html", ".htm", ".txt")


class ReadError(Exception):
    """A document that cannot be read; the message says why and what to do."""


@dataclass
class Block:
    text: str          # plain text, one paragraph
    markdown: str      # the same as Markdown ('' for an empty paragraph)


@dataclass
class Doc:
    blocks: list[Block] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)   # 信息属性: index_no, doc_number, published, topic …
    links: list[str] = field(default_factory=list)       # local files the page links to (attachments)
    notes: list[str] = field(default_factory=list)
    reflow: bool = False   # lines are visual lines (PDF): join them into paragraphs for the body

    @property
    def lines(self) -> list[str]:
        return [b.text for b in self.blocks]


def read(path: Path) -> Doc:
    suffix = path.suffix.lower()
    if path.is_symlink() or not path.is_file():
        raise ReadError("不是普通文件（符号链接或目录），未读取 (not a regular file)")
    if path.stat().st_size > MAX_FILE:
        raise ReadError(f"文件超过 {MAX_FILE // 1024 // 1024} MB，未读取 (file too large)")
    if suffix == ".docx":
        return read_docx(path)
    if suffix == ".pdf":
        return read_pdf(path)
    if suffix in (".html", ".htm"):
        return read_html(path.read_bytes()[:MAX_TEXT + 1])
    if suffix == ".txt":
        return read_txt(path.read_bytes()[:MAX_TEXT + 1])
    if suffix in (".doc", ".wps"):
        raise ReadError("旧版 Word/WPS 文件：请先用 Word 或 WPS 另存为 .docx 再导入 (.doc is not supported, save as .docx)")
    raise ReadError(f"不支持的文件类型 {suffix or '（无扩展名）'}：可导入 .docx .pdf .html .txt (unsupported type)")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(text: str) -> str:
    """Text as Markdown that renders as the same text: no markup, no raw HTML
    (``<`` becomes an entity: Markdown does not unescape ``\\<``)."""
    out = _MD_SPECIAL.sub(r"\\\1", text.strip()).replace("<", "&lt;")
    return re.sub(r"^(#+|>|[-+=]{3,})", r"\\\1", out)


def md_table(rows: list[list[str]]) -> str:
    rows = [[re.sub(r"\s+", " ", c).strip() for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    cell = lambda c: md_escape(c) or " "  # noqa: E731 - one expression
    out = ["| " + " | ".join(cell(c) for c in rows[0]) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def _paragraphs(text: str) -> list[Block]:
    return [Block(ln.strip(), md_escape(ln)) for ln in text.split("\n")]


def decode(data: bytes) -> str:
    """Text files from Windows editors: UTF-8 (with or without BOM), UTF-16 with BOM, GBK, Big5."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace")
    for name in ("utf-8", "gb18030", "big5"):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def read_txt(data: bytes) -> Doc:
    if len(data) > MAX_TEXT:
        raise ReadError(f"文本超过 {MAX_TEXT // 1024 // 1024} MB，未读取 (file too large)")
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return Doc(_paragraphs(text))


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(f"不是有效的 .docx 文件（{exc}）(not a valid .docx)") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ReadError(f".docx 内含 {len(infos)} 个部件，超过上限 {MAX_ZIP_MEMBERS}，未读取 (too many parts)")
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_TOTAL or any(i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1024) for i in infos):
        raise ReadError(".docx 解压后过大（可能是压缩炸弹），未读取 (uncompressed size out of bounds)")


def read_docx(path: Path) -> Doc:
    _check_zip(path)
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
        document = docx.Document(str(path))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on broken files
        raise ReadError(f"无法读取 .docx（{type(exc).__name__}）：请用 Word 或 WPS 打开后另存为 .docx 再导入 "
                        "(cannot read .docx)") from None
    out = Doc()
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = para.text.replace("\u3000", " ").strip()
            style = (para.style.name if para.style is not None else "") or ""
            md = md_escape(text)
            if text and style.lower().startswith("heading"):
                level = re.sub(r"\D", "", style) or "2"
                md = "#" * min(6, max(2, int(level) + 1)) + " " + md
            out.blocks.append(Block(text, md))
        elif tag == "tbl":
            table = Table(child, document)
            rows = [[cell.text for cell in row.cells] for row in table.rows]
            out.blocks.append(Block("［表格］", md_table(rows)))
    return out


def read_pdf(path: Path) -> Doc:
    import logging
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)   # its warnings are not for editors
    try:
        from pypdf import PdfReader
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError("PDF 已加密，无法读取文字：请提供未加密的文件 (encrypted PDF)")
        pages = reader.pages
        count = len(pages)
        if count > MAX_PDF_PAGES:
            raise ReadError(f"PDF 有 {count} 页，超过上限 {MAX_PDF_PAGES} 页，未读取 (too many pages)")
        texts = [(pages[i].extract_text() or "") for i in range(count)]
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on broken files
        raise ReadError(f"无法读取 PDF（{type(exc).__name__}），文件可能已损坏：请用原件重新导出 PDF "
                        "(cannot read PDF)") from None
    text = "\n".join(texts)
    if len(re.sub(r"\s", "", text)) < MIN_TEXT_CHARS:
        raise ReadError("PDF 没有文字层（扫描件）：不做文字识别，请提供 Word 原件或带文字的 PDF "
                        "(scanned PDF without a text layer, not OCRed)")
    return Doc(_paragraphs(text), notes=["PDF 只读取文字，表格按文字行导入，请核对 (PDF text only: tables become lines)"],
               reflow=True)


_PARAGRAPH_END = re.compile(r"[。：:；;！!？?”’」』）)]$")
REFLOW_MIN = 15   # a shorter line ends its paragraph (headings, signatures, dates)


def reflow(blocks: list[Block]) -> list[Block]:
    """Join a PDF's visual lines into paragraphs: a long line that does not end a
    sentence continues on the next line."""
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if prev is not None and prev.text and block.text and prev.text != "［表格］" and \
                len(prev.text) >= REFLOW_MIN and not _PARAGRAPH_END.search(prev.text):
            out[-1] = Block(prev.text + block.text, prev.markdown + block.markdown)
        else:
            out.append(block)
    return out


# 信息属性 labels on government sites -> item fields.
META_LABELS = {"索引号": "index_no", "文号": "doc_number", "发文字号": "doc_number", "發文字號": "doc_number",
               "发布日期": "published", "發布日期": "published", "公开日期": "published", "成文日期": "written",
               "主题分类": "topic", "主題分類": "topic", "发布机构": "issuer", "发文机关": "issuer",
               "發文機關": "issuer", "标题": "title", "標題": "title", "名称": "title"}
_LABEL = re.compile(r"^\s*(" + "|".join(sorted(META_LABELS, key=len, reverse=True)) + r")\s*[：:]\s*(.*)$", re.S)
_DROP = ("script", "style", "noscript", "iframe", "object", "embed", "form", "nav", "header", "footer", "template",
         "svg", "button", "select", "input", "textarea")
_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "tr", "section", "article", "center", "pre")
_CONTENT_HINT = re.compile(r"(TRS_Editor|zoom|content|article|detail|main|zw|text|body)", re.I)


def read_html(data: bytes) -> Doc:
    if len(data) > MAX_TEXT:
        raise ReadError(f"网页超过 {MAX_TEXT // 1024 // 1024} MB，未读取 (file too large)")
    try:
        import lxml.html
        tree = lxml.html.document_fromstring(data or b"<html></html>")
    except Exception as exc:  # noqa: BLE001 - lxml raises several kinds on broken markup
        raise ReadError(f"无法读取网页（{type(exc).__name__}）(cannot parse HTML)") from None
    for bad in tree.xpath("//" + " | //".join(_DROP)):
        bad.drop_tree()
    out = Doc()
    _read_meta(tree, out)
    out.links = [href for href in tree.xpath("//a/@href") if _local_link(href)]
    root = _content_root(tree)
    for block in _html_blocks(root):
        out.blocks.append(block)
    if not any(b.text for b in out.blocks):
        title = " ".join(tree.xpath("//title//text()")).strip()
        if title:
            out.blocks.insert(0, Block(title, md_escape(title)))
    return out


def _local_link(href: str) -> bool:
    href = href.strip()
    return bool(href) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//|^#", href) and \
        Path(href.split("?")[0].split("#")[0]).suffix.lower().lstrip(".") in ATTACHMENT_TYPES


ATTACHMENT_TYPES = ("pdf", "ofd", "doc", "docx", "wps", "xls", "xlsx", "et", "csv", "zip", "jpg", "jpeg", "png", "gif")


def _text(el) -> str:
    return re.sub(r"[\s\u3000\xa0]+", " ", el.text_content()).strip()


def _read_meta(tree, out: Doc) -> None:
    """The 信息属性 table: label cells followed by value cells, or 'label：value' in one cell."""
    cells = tree.xpath("//table//td | //table//th | //li | //dt | //dd")
    texts = [_text(c) for c in cells]
    used = []
    for i, text in enumerate(texts):
        m = _LABEL.match(text) if len(text) <= 200 else None
        if not m:
            continue
        key, value = META_LABELS[m[1]], m[2].strip()
        if not value and i + 1 < len(texts) and not _LABEL.match(texts[i + 1]):
            value = texts[i + 1]
        if value and key not in out.meta:
            out.meta[key] = value
            used.append(cells[i])
    # The table is metadata, not body: drop the smallest tables holding the labels.
    for cell in used:
        table = next((a for a in cell.iterancestors() if a.tag in ("table", "ul", "dl")), None)
        if table is not None and table.getparent() is not None:
            table.drop_tree()


def _content_root(tree):
    best, best_len = None, 0
    for el in tree.iter("div", "article", "td", "section"):
        hint = f"{el.get('id', '')} {el.get('class', '')}"
        if _CONTENT_HINT.search(hint):
            n = len(_text(el))
            if n > best_len:
                best, best_len = el, n
    body = tree.find("body")
    return best if best is not None else (body if body is not None else tree)


def _html_blocks(root) -> list[Block]:
    blocks: list[Block] = []
    buf: list[str] = []

    def flush():
        text = re.sub(r"[ \t\u3000\xa0]+", " ", "".join(buf)).strip()
        buf.clear()
        if text:
            blocks.append(Block(text, md_escape(text)))

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table":
            flush()
            rows = [[_text(c) for c in tr.xpath("./td | ./th")] for tr in el.xpath(".//tr")]
            md = md_table(rows)
            if md:
                blocks.append(Block("［表格］", md))
        else:
            if tag in _BLOCKS:
                flush()
            if el.text and tag:
                buf.append(el.text)
            for child in el:
                walk(child)
            if tag in _BLOCKS:
                flush()
        if el.tail:
            buf.append(el.tail)

    walk(root)
    flush()
    return blocks
