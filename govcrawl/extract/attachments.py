"""Attachments of report pages: finding their links and extracting their text.

- ``find_attachment_links(html, base_url)``: absolute URLs of .pdf .doc .docx .wps .xls .xlsx files
  linked from a page in any of the ways portals use (``<a href>``, ``<iframe>``/``<embed>``/
  ``<object>``, pdf.js ``viewer.html?file=``, ``onclick``/``javascript:`` wrappers such as
  ``window.open('...')``, Hanweb-style ``downfile.jsp?filename=x.pdf``).
- ``extract_attachment_text(body, filename, content_type)``: the text of one attachment, with
  tables as rows of tab-separated cells (an empty cell is an empty field), which is what
  ``tables.parse_tables`` reads as a delimited table.
- ``parse_file(path)``: what ``govcrawl parse FILE`` prints.

Errors: ``UnsupportedAttachment`` for types without an extractor here (including .doc/.wps
when neither of Debian's ``catdoc``/``antiword`` is installed); ``AttachmentError`` (its base class)
for files that cannot be read as what they claim to be. Library exceptions never leak.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

from w3lib.url import safe_url_string

from govcrawl.extract import patterns
from govcrawl.extract.tables import html_to_text, parse_tables, sanitize_text

log = logging.getLogger(__name__)

__all__ = [
    "ATTACHMENT_EXTENSIONS",
    "AttachmentError",
    "UnsupportedAttachment",
    "attachment_kind",
    "decode_html",
    "extract_attachment_text",
    "find_attachment_links",
    "parse_file",
]

ATTACHMENT_EXTENSIONS: tuple[str, ...] = (".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx")
_EXT_RE = re.compile(r"\.(?:pdf|docx?|wps|xlsx?)$", re.IGNORECASE)
_TOOL_TIMEOUT = 120  # seconds for catdoc/antiword on one file
# What the members of a .docx/.xlsx may inflate to, together (bytes): a zip bomb is refused
# from its headers before anything is inflated (zipfile reads no more than a member's stated
# size, so the headers cannot understate it).
ZIP_MAX_INFLATED = 256 * 1024 * 1024


class AttachmentError(Exception):
    """The file cannot be read as the type it claims to be (corrupt, truncated, encrypted)."""


class UnsupportedAttachment(AttachmentError):
    """No text extractor for this type here (the message says what would be needed)."""


# --------------------------------------------------------------------------------------------
# Finding links
# --------------------------------------------------------------------------------------------

_QUOTED_RE = re.compile(r"""(['"])(.*?)\1""", re.DOTALL)
_PARAM_NAMES = {"src", "movie", "url", "file", "filename", "data"}
_DATA_ATTRS = ("data-src", "data-href", "data-url", "data-file")


def _has_attachment_ext(path: str) -> bool:
    return bool(_EXT_RE.search(path.strip()))


def _is_pdfjs_viewer(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith("viewer.html") or "/pdfjs/" in path or "/pdf.js/" in path


def _attachment_url(
    candidate: str, base: str, anchor_text: str = "", encoding: str = "utf-8"
) -> str | None:
    """The attachment URL a link value points at, or None (query in the page's ``encoding``)."""
    candidate = candidate.strip()
    if not candidate or candidate.startswith(("#", "mailto:", "tel:", "data:")):
        return None
    try:
        url = urljoin(base, candidate)
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host in a hand-written link
        return None
    if parts.scheme not in ("http", "https", "ftp"):
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if _is_pdfjs_viewer(url):
        target = next((v for k, v in query if k.lower() == "file" and v.strip()), None)
        if target:  # pdf.js resolves ?file= against the viewer's own URL
            return _attachment_url(target, url, encoding=encoding) or _clean(
                urljoin(url, target.strip()), encoding
            )
    if _has_attachment_ext(parts.path):
        return _clean(url, encoding)
    # download scripts: /module/download/downfile.jsp?classid=0&filename=xxx.pdf
    if any(_has_attachment_ext(urlsplit(v).path) for _, v in query if v):
        return _clean(url, encoding)
    if anchor_text and _has_attachment_ext(anchor_text):  # <a href="/att/123">年报.pdf</a>
        return _clean(url, encoding)
    return None


def _clean(url: str, encoding: str = "utf-8") -> str:
    # Browsers encode a link's query in the page's encoding (WHATWG URL Standard).
    try:
        return safe_url_string(urldefrag(url)[0], encoding=encoding)
    except (UnicodeEncodeError, LookupError):
        return safe_url_string(urldefrag(url)[0])


def _script_candidates(code: str) -> Iterator[str]:
    """Quoted strings in ``onclick``/``javascript:`` code: window.open('...'), location='...'."""
    for m in _QUOTED_RE.finditer(code):
        yield m.group(2)


def find_attachment_links(html: str, base_url: str, encoding: str = "utf-8") -> list[str]:
    """Absolute, de-duplicated attachment URLs linked from ``html``, in page order; queries
    are percent-encoded in the page's ``encoding``, as browsers do."""
    import lxml.html
    from lxml import etree

    if not html or not html.strip():
        return []
    try:
        root = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", sanitize_text(html)))
    except (etree.LxmlError, ValueError):
        return []
    base = base_url
    for href in root.xpath("//base/@href"):
        if href.strip():
            base = urljoin(base_url, href.strip())
            break

    found: list[str] = []
    seen: set[str] = set()

    def add(url: str | None) -> None:
        if url and url not in seen:
            seen.add(url)
            found.append(url)

    def consider(value: str | None, anchor_text: str = "") -> None:
        if not value:
            return
        value = value.strip()
        if value.lower().startswith("javascript:"):
            for cand in _script_candidates(value):
                if _looks_linkish(cand):
                    add(_attachment_url(cand, base, encoding=encoding))
        else:
            add(_attachment_url(value, base, anchor_text, encoding))

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in ("a", "area"):
            text = el.text_content().strip() if tag == "a" else ""
            consider(el.get("href"), text)
        elif tag in ("iframe", "frame", "embed"):
            consider(el.get("src"))
        elif tag == "object":
            consider(el.get("data"))
        elif tag == "param" and (el.get("name") or "").lower() in _PARAM_NAMES:
            consider(el.get("value"))
        for attr in _DATA_ATTRS:
            if el.get(attr):
                consider(el.get(attr))
        onclick = el.get("onclick")
        if onclick:
            for cand in _script_candidates(onclick):
                add(
                    _attachment_url(cand, base, encoding=encoding) if _looks_linkish(cand) else None
                )
    return found


def _looks_linkish(s: str) -> bool:
    s = s.strip()
    return (
        bool(s)
        and " " not in s
        and (_has_attachment_ext(urlsplit(s).path) or "file=" in s or "filename=" in s)
    )


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

_EXT_KIND = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".doc": "doc",
    ".wps": "wps",
    ".xls": "xls",
    ".html": "html",
    ".htm": "html",
    ".shtml": "html",
    ".txt": "text",
}
_CT_KIND = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xls",
    "application/kswps": "wps",
    "application/wps-office.wps": "wps",
    "application/vnd.ms-works": "wps",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _kind_from_name(filename: str) -> str | None:
    path = urlsplit(filename).path if "://" in filename else filename.split("?", 1)[0]
    suffix = Path(path).suffix.lower()
    return _EXT_KIND.get(suffix)


def _kind_from_bytes(body: bytes) -> str | None:
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return None
    if body.startswith(_OLE_MAGIC):
        return "ole"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def attachment_kind(
    filename: str, content_type: str | None = None, body: bytes | None = None
) -> str | None:
    """pdf, docx, xlsx, doc, wps, xls, html or text; None when unknown.

    The bytes win over the name where they are unambiguous, because portals serve .docx files
    named .doc, and Word-HTML named .doc, often enough.
    """
    by_name = _kind_from_name(filename or "")
    by_type = _CT_KIND.get((content_type or "").split(";", 1)[0].strip().lower())
    magic = _kind_from_bytes(body) if body else None
    if magic in ("pdf", "docx", "xlsx"):
        return magic
    if magic == "ole":  # Word 97, WPS and Excel 97 share the OLE container
        for kind in (by_name, by_type):
            if kind in ("doc", "wps", "xls"):
                return kind
        return "doc"
    if magic == "html" and (by_name in (None, "doc", "xls", "html") or by_type == "html"):
        return "html"
    return by_name or by_type


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------

_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_CJK_BREAK_RE = re.compile(rf"(?<=[{_CJK}])\s*\n\s*(?=[{_CJK}])")


def _cell_text(text: str | None) -> str:
    """One table cell as one field: wrapped Chinese joins without a space, tabs become spaces."""
    if not text:
        return ""
    text = _CJK_BREAK_RE.sub("", text)
    return " ".join(text.split())


def _row_line(cells: list[str], trim: bool = False) -> str:
    """Tab-separated cells; ``trim`` drops trailing empty cells (a sheet wider than its table)."""
    if trim:
        while cells and not cells[-1]:
            cells = cells[:-1]
    if not any(cells):
        return ""
    return "\t".join(cells) if len(cells) > 1 else cells[0]


def _pdf_text(body: bytes, ruled_tables: bool = True) -> str:
    """Text of a PDF: ruled tables through pdfplumber's table finder (one tab-separated line
    per row), everything else from word positions (``_pdf_lines``). ``ruled_tables=False``
    reads the tables from word positions too (tests use it on PDFs that have rules)."""
    import pdfplumber

    pages: list[str] = []
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        for page in pdf.pages:
            pages.append(_pdf_page_text(page, ruled_tables))
    return "\n".join(p for p in pages if p)


def _pdf_page_text(page: Any, ruled_tables: bool = True) -> str:
    tables = page.find_tables() if ruled_tables else []
    boxes = [t.bbox for t in tables]

    def outside(obj: dict[str, Any]) -> bool:
        if "x0" not in obj or "top" not in obj:
            return True
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    rest = page.filter(outside) if boxes else page
    items = _pdf_lines(rest)
    for table in tables:
        # None marks a position covered by a merged cell (written once, at its top left);
        # "" is a real empty cell and stays an empty field.
        rows = [_row_line([_cell_text(c) for c in row if c is not None]) for row in table.extract()]
        items.append((table.bbox[1], "\n".join(r for r in rows if r)))
    items.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in items)


_PAGE_NUMBER = re.compile(patterns.PAGE_NUMBER)
# A cell of numbers: a count or amount, or an empty-cell marker (/, -, —, 无).
_NUMBER_CELL = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(?:万元|元|件)?|[/\\\-—–―−_~]+|无|空")
# A row of numbers belongs to the label line it overlaps most, when the overlap is at least
# this share of the shorter of the two lines' heights.
_ROW_OVERLAP = 0.5


def _pdf_lines(page: Any) -> list[tuple[float, str]]:
    """(top, text) of the page's text lines, read by position rather than text order.

    Labels of table rows are often vertically centred in their cell, so the row's numbers sit
    a little higher and a text-order reading puts them on the line before the label (and gives
    them to the row above). Here a line holding only numbers joins the label line whose box it
    overlaps most, and page numbers (``- 2 -``) are dropped wherever they are.
    """
    lines = [
        ln
        for ln in page.extract_text_lines(return_chars=False)
        if ln["text"].strip() and not _PAGE_NUMBER.fullmatch(ln["text"].strip())
    ]
    numbers = [ln for ln in lines if _numbers_only(ln["text"])]
    labels = [ln for ln in lines if not _numbers_only(ln["text"])]
    best: dict[int, tuple[float, int]] = {}  # label index -> (overlap share, number index)
    for n, num in enumerate(numbers):
        pick: tuple[float, int] | None = None
        for i, lab in enumerate(labels):
            if _has_numbers(lab["text"]):
                continue  # a label line that has its own numbers
            overlap = min(num["bottom"], lab["bottom"]) - max(num["top"], lab["top"])
            height = min(num["bottom"] - num["top"], lab["bottom"] - lab["top"]) or 1.0
            share = overlap / height
            if share >= _ROW_OVERLAP and (pick is None or share > pick[0]):
                pick = (share, i)
        if pick is not None and (pick[1] not in best or pick[0] > best[pick[1]][0]):
            best[pick[1]] = (pick[0], n)
    joined = {n: i for i, (_, n) in best.items()}
    out: list[tuple[float, str]] = []
    for i, lab in enumerate(labels):
        text = lab["text"]
        if i in best:
            text += " " + numbers[best[i][1]]["text"]
        out.append((lab["top"], text))
    out += [(num["top"], num["text"]) for n, num in enumerate(numbers) if n not in joined]
    out.sort(key=lambda item: item[0])
    return out


def _numbers_only(text: str) -> bool:
    cells = unicodedata.normalize("NFKC", text).split()
    return bool(cells) and all(_NUMBER_CELL.fullmatch(c) for c in cells)


def _has_numbers(text: str) -> bool:
    """A label line that ends in numbers of its own (a row printed on one line)."""
    cells = unicodedata.normalize("NFKC", text).split()
    return len(cells) > 1 and _NUMBER_CELL.fullmatch(cells[-1]) is not None


def _check_zip_sizes(body: bytes) -> None:
    """Raise ``AttachmentError`` when the zip's members would inflate past ZIP_MAX_INFLATED."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a readable zip: the reader says why
    if total > ZIP_MAX_INFLATED:
        raise AttachmentError(
            f"inflates to {total} bytes, over the {ZIP_MAX_INFLATED}-byte limit (a zip bomb)"
        )


def _docx_text(body: bytes) -> str:
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip_sizes(body)
    doc = Document(io.BytesIO(body))
    lines: list[str] = []
    for block in doc.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            lines.extend(_docx_table_lines(block))
    return "\n".join(lines)


def _docx_table_lines(table: Any) -> list[str]:
    """Rows of a Word table; a merged cell is written once and the positions it covers are
    left out, as in the PDF and XLSX output.

    python-docx's ``row.cells`` repeats a merged cell in every grid position it covers, which
    would copy one number into several cells, so the row's ``w:tc`` elements are read instead.
    """
    from docx.table import _Cell

    lines: list[str] = []
    for tr in table._tbl.tr_lst:
        cells: list[str] = []
        nested: list[str] = []
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":  # covered by the cell above
                continue
            cell = _Cell(tc, table)
            cells.append(_cell_text("\n".join(p.text for p in cell.paragraphs)))
            for inner in cell.tables:
                nested.extend(_docx_table_lines(inner))
        line = _row_line(cells)
        if line:
            lines.append(line)
        lines.extend(nested)
    return lines


def _xlsx_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return _cell_text(str(v))


def _xlsx_text(body: bytes) -> str:
    from openpyxl import load_workbook

    _check_zip_sizes(body)
    # Not read_only: merged ranges are only known in the full model.
    wb = load_workbook(io.BytesIO(body), data_only=True)
    try:
        lines: list[str] = []
        many = len(wb.worksheets) > 1
        for ws in wb.worksheets:
            if many:
                lines.append(ws.title)
            lines.extend(_sheet_lines(ws))
        return "\n".join(lines)
    finally:
        wb.close()


def _sheet_lines(ws: Any) -> list[str]:
    """Rows of one openpyxl sheet (see ``_grid_lines``)."""
    merges = [(r.min_row, r.max_row, r.min_col, r.max_col) for r in ws.merged_cells.ranges]
    rows = {row[0].row: [_xlsx_value(c.value) for c in row] for row in ws.iter_rows()}
    return _grid_lines(rows, merges)


def _grid_lines(rows: dict[int, list[str]], merges: list[tuple[int, int, int, int]]) -> list[str]:
    """Lines of one sheet given its cell texts by 1-based row and its merged ranges as
    1-based inclusive ``(min_row, max_row, min_col, max_col)``. Each block of consecutive
    non-empty rows is one table: its rows are cut to the block's width (so a trailing empty cell
    inside the table stays an empty field, while the sheet's unused columns go), and positions
    covered by a merge are left out."""
    covered: set[tuple[int, int]] = set()
    extent: dict[int, int] = {}  # row -> rightmost column in use (merges included)
    for min_row, max_row, min_col, max_col in merges:
        for row in range(min_row, max_row + 1):
            extent[row] = max(extent.get(row, 0), max_col)
            for col in range(min_col, max_col + 1):
                if (row, col) != (min_row, min_col):
                    covered.add((row, col))
    for r, fields in rows.items():
        used = [i + 1 for i, f in enumerate(fields) if f]
        if used:
            extent[r] = max(extent.get(r, 0), used[-1])
    lines: list[str] = []
    block: list[int] = []

    def flush() -> None:
        width = max((extent[r] for r in block), default=0)
        for r in block:
            fields = (rows.get(r, []) + [""] * width)[:width]
            cells = [f for col, f in enumerate(fields, 1) if (r, col) not in covered]
            line = _row_line(cells)
            if line:
                lines.append(line)
        block.clear()

    for r in range(1, max([*rows, *extent], default=0) + 1):
        if extent.get(r):
            block.append(r)
        else:
            flush()
    flush()
    return lines


def _xls_text(body: bytes) -> str:
    """Legacy Excel (BIFF) workbooks through xlrd, laid out like .xlsx sheets."""
    import xlrd

    # formatting_info: merged ranges are only read with it.
    book = xlrd.open_workbook(file_contents=body, formatting_info=True, on_demand=True)
    try:
        lines: list[str] = []
        many = book.nsheets > 1
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            if many:
                lines.append(sheet.name)
            rows = {
                r + 1: [_xls_value(book, sheet.cell(r, c)) for c in range(sheet.row_len(r))]
                for r in range(sheet.nrows)
            }
            merges = [(rlo + 1, rhi, clo + 1, chi) for rlo, rhi, clo, chi in sheet.merged_cells]
            lines.extend(_grid_lines(rows, merges))
            book.unload_sheet(index)
        return "\n".join(lines)
    finally:
        book.release_resources()


def _xls_value(book: Any, cell: Any) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        return _xlsx_value(xlrd.xldate_as_datetime(cell.value, book.datemode))
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return _xlsx_value(bool(cell.value))
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return _xlsx_value(cell.value)


def _run_tool(cmd: list[str], body: bytes, suffix: str) -> tuple[int, bytes, bytes]:
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(body)
        tmp.flush()
        proc = subprocess.run(
            [*cmd, tmp.name], capture_output=True, timeout=_TOOL_TIMEOUT, check=False
        )
    return proc.returncode, proc.stdout, proc.stderr


def _legacy_word_text(body: bytes, kind: str, filename: str) -> str:
    tools = [
        # catdoc keeps each table row on one line of tab-separated cells; antiword draws
        # tables as text art that loses nested rows, so it is only the fallback.
        ("catdoc", ["catdoc", "-d", "utf-8", "-w"]),
        ("antiword", ["antiword", "-m", "UTF-8.txt", "-w", "0"]),
    ]
    available = [(name, cmd) for name, cmd in tools if shutil.which(name)]
    if not available:
        raise UnsupportedAttachment(
            f"{filename}: .{kind} text needs Debian's antiword or catdoc "
            "(apt-get install catdoc antiword); neither is on PATH"
        )
    errors: list[str] = []
    for name, cmd in available:
        try:
            rc, out, err = _run_tool(cmd, body, "." + kind)
        except subprocess.TimeoutExpired:
            errors.append(f"{name}: timed out")
            continue
        if rc == 0 and out.strip():
            return out.decode("utf-8", "replace")
        errors.append(f"{name}: exit {rc}: {err.decode('utf-8', 'replace').strip()[:200]}")
    raise AttachmentError(f"cannot read {filename} as .{kind}: " + "; ".join(errors))


def decode_html(body: bytes) -> str:
    """Page bytes as text: UTF-8 when they are valid UTF-8, else GB18030 (GB2312/GBK sites)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


_EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "pdf": _pdf_text,
    "docx": _docx_text,
    "xlsx": _xlsx_text,
    "xls": _xls_text,
}


def _out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or a library's error raised from one (pdfminer wraps it)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, MemoryError):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def extract_attachment_text(body: bytes, filename: str, content_type: str | None = None) -> str:
    """The text of one attachment; tables come out as rows of tab-separated cells.

    Raises ``UnsupportedAttachment`` for types without an extractor here and ``AttachmentError``
    for files that cannot be read as their type.
    """
    kind = attachment_kind(filename, content_type, body)
    if kind in _EXTRACTORS:
        with warnings.catch_warnings(record=True) as caught:
            # Real-world files make the libraries warn (missing styles, odd fonts): noise, not
            # errors; keep them in the debug log instead of the caller's warning filters.
            warnings.simplefilter("always")
            try:
                text = _EXTRACTORS[kind](body)
            except AttachmentError as exc:
                raise AttachmentError(f"cannot read {filename} as .{kind}: {exc}") from exc
            except Exception as exc:  # any library failure means the file is unreadable
                if _out_of_memory(exc):  # the worker's address-space limit (pipelines/extract)
                    raise AttachmentError(
                        f"cannot read {filename} as .{kind}: memory limit ({type(exc).__name__}:"
                        f" {exc})"
                    ) from exc
                raise AttachmentError(
                    f"cannot read {filename} as .{kind}: {type(exc).__name__}: {exc}"
                ) from exc
        for w in caught:
            log.debug("%s: %s", filename, w.message)
        return text
    if kind in ("doc", "wps"):
        return _legacy_word_text(body, kind, filename)
    if kind == "html":
        return html_to_text(decode_html(body))
    if kind == "text":
        return decode_html(body)
    raise UnsupportedAttachment(
        f"{filename}: no text extractor for {content_type or 'this file type'} "
        f"(supported: {', '.join(ATTACHMENT_EXTENSIONS)})"
    )


def parse_file(path: str | Path) -> dict[str, Any]:
    """What ``govcrawl parse FILE`` prints: ``{"file", "kind", "text_chars", "tables"}``."""
    p = Path(path)
    body = p.read_bytes()
    kind = attachment_kind(p.name, None, body)
    if kind == "html":
        html = decode_html(body)
        text = html_to_text(html)
        tables = parse_tables(html)
    else:
        text = extract_attachment_text(body, p.name)
        tables = parse_tables(text)
    return {"file": str(p), "kind": kind, "text_chars": len(text), "tables": tables}
