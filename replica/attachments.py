"""Binary files of the replica and the tests: .docx, .xlsx, text PDFs with Chinese, PNG images.

The one Office/PDF builder of the project: the replica's attachments and the table tests'
documents (``replica.tables.build_docx``/``build_xlsx``/``build_pdf``) are written here, tables
with their merged cells. All output is byte-for-byte deterministic: office files are zip
archives whose member times are pinned, and the PDF is written by hand (no timestamps, no
reportlab needed at run time).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_DT = datetime(2020, 1, 1, 0, 0, 0)


def _pin_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed member times and order, so builds are reproducible."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            data_ = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps dcterms:modified with the current time on save.
                data_ = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2020-01-01T00:00:00Z\g<2>",
                    data_,
                )
            dst.writestr(zi, data_)
    return out.getvalue()


def _cell_text(cell: Any) -> str:
    """A table cell's text: a ``replica.tables.Cell`` or a plain string."""
    return cell if isinstance(cell, str) else cell.text


def _span(cell: Any) -> tuple[int, int]:
    return (1, 1) if isinstance(cell, str) else (cell.rowspan, cell.colspan)


def _placed(rows: list[list[Any]]) -> tuple[int, list[tuple[int, int, Any]]]:
    """(grid width, [(row, column, cell)]) of each cell's top-left position."""
    taken: set[tuple[int, int]] = set()
    out = []
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            rs, cs = _span(cell)
            for dr in range(rs):
                for dc in range(cs):
                    taken.add((r + dr, c + dc))
            out.append((r, c, cell))
            c += cs
            width = max(width, c)
    return width, out


def make_docx(title: str, blocks: list[Any], grids: list[list[list[Any]]] | None = None) -> bytes:
    """A Word document: the title, then paragraphs (str) and tables (rows of cells: strings or
    ``replica.tables.Cell`` with spans, merged in Word). A paragraph ``"\x00<n>"`` places
    ``grids[n]``."""
    import docx  # python-docx

    doc = docx.Document()
    props = doc.core_properties
    props.author = "兴安盟行政公署"
    props.title = title
    props.created = _FIXED_DT
    props.modified = _FIXED_DT
    props.last_modified_by = "兴安盟行政公署"
    props.revision = 1
    doc.add_heading(title, level=1)
    for block in blocks:
        if isinstance(block, str) and block.startswith("\x00") and grids is not None:
            block = grids[int(block[1:])]
        if isinstance(block, str):
            doc.add_paragraph(block)
            continue
        rows = [row for row in block if row]
        width, placed = _placed(rows)
        table = doc.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for r, c, cell in placed:
            rs, cs = _span(cell)
            target = table.cell(r, c)
            if rs > 1 or cs > 1:
                target = target.merge(table.cell(r + rs - 1, c + cs - 1))
            target.text = _cell_text(cell)
    buf = io.BytesIO()
    doc.save(buf)
    return _pin_zip(buf.getvalue())


def make_xlsx(title: str, sheets: list[tuple[str, list[list[Any]]]]) -> bytes:
    """A workbook with one sheet per (name, rows); cells are strings or ``replica.tables.Cell``
    with spans (merged ranges); numeric strings become numbers; an empty row stays empty."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.properties.creator = "兴安盟统计局"
    wb.properties.title = title
    wb.properties.created = _FIXED_DT
    wb.properties.modified = _FIXED_DT
    first = True
    for name, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = name
        _, placed = _placed(rows)
        for r, c, cell in placed:
            ws.cell(r + 1, c + 1, _num(_cell_text(cell)))
            rs, cs = _span(cell)
            if rs > 1 or cs > 1:
                ws.merge_cells(
                    start_row=r + 1, start_column=c + 1, end_row=r + rs, end_column=c + cs
                )
    buf = io.BytesIO()
    wb.save(buf)
    return _pin_zip(buf.getvalue())


def _num(v: str) -> object:
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v if v != "" else None


# --- PDF --------------------------------------------------------------------------------------

_PAGE_W, _PAGE_H = 595, 842
_MARGIN = 50
_TEXT_SIZE, _TEXT_LEADING = 10, 15
_CELL_SIZE, _CELL_LEADING, _CELL_PAD = 7, 9, 3
# Numbers are set larger than labels and, in unruled tables, a little above the middle of the
# row, as in real PDFs: their box still overlaps the vertically centred label's, but its top is
# higher, so a reading in text order puts a row's numbers on the line before its label.
_VALUE_SIZE, _VALUE_LIFT = 9, 2.5


def _char_width(ch: str, size: float) -> float:
    return size / 2 if ord(ch) < 0x7F else size  # /W [1 95 500]; everything else 1 em


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    for part in text.split("\n"):
        line, used = "", 0.0
        for ch in part:
            w = _char_width(ch, size)
            if line and used + w > width:
                lines.append(line)
                line, used = "", 0.0
            line += ch
            used += w
        lines.append(line)
    return lines


def _hex(text: str) -> bytes:
    return b"<" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _column_widths(width: int, total: float) -> list[float]:
    label = {4: [150.0], 10: [28.0, 56.0, 140.0]}.get(width, [])
    rest = (total - sum(label)) / (width - len(label))
    return label + [rest] * (width - len(label))


class _PdfPages:
    """Content streams of the pages being laid out (top-down coordinates)."""

    def __init__(self, page_numbers: bool) -> None:
        self.pages: list[list[bytes]] = []
        self.page_numbers = page_numbers
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.pages.append([])
        self.y = _MARGIN

    def room(self, height: float) -> None:
        if self.y + height > _PAGE_H - _MARGIN:
            self.new_page()

    def text(self, x: float, top: float, size: float, text: str) -> None:
        base = _PAGE_H - top - size  # PDF y of the baseline, approximately
        self.pages[-1].append(
            b"BT /F1 %g Tf %.2f %.2f Td " % (size, x, base) + _hex(text) + b" Tj ET"
        )

    def rect(self, x: float, top: float, w: float, h: float) -> None:
        self.pages[-1].append(b"%.2f %.2f %.2f %.2f re S" % (x, _PAGE_H - top - h, w, h))

    def streams(self) -> list[bytes]:
        out = []
        for n, ops in enumerate(self.pages, 1):
            if self.page_numbers:
                label = f"- {n} -"
                x = (_PAGE_W - len(label) * _TEXT_SIZE / 2) / 2
                ops = [
                    *ops,
                    b"BT /F1 %d Tf %.2f 30 Td " % (_TEXT_SIZE, x) + _hex(label) + b" Tj ET",
                ]
            out.append(b"0.5 w\n" + b"\n".join(ops))
        return out


def _lay_out_table(pages: _PdfPages, rows: list[list[Any]], ruled: bool) -> None:
    rows = [row for row in rows if row]
    width, placed = _placed(rows)
    widths = _column_widths(width, _PAGE_W - 2 * _MARGIN)
    xs = [_MARGIN + sum(widths[:c]) for c in range(width + 1)]
    wrapped = {}
    for r, c, cell in placed:
        rs, cs = _span(cell)
        wrapped[(r, c)] = _wrap(_cell_text(cell), xs[c + cs] - xs[c] - 2 * _CELL_PAD, _CELL_SIZE)
    heights = [_CELL_LEADING + 2 * _CELL_PAD] * len(rows)
    for (r, c), lines in sorted(wrapped.items(), key=lambda kv: _span(_cell_at(placed, kv[0]))[0]):
        rs, _ = _span(_cell_at(placed, (r, c)))
        need = len(lines) * _CELL_LEADING + 2 * _CELL_PAD
        have = sum(heights[r : r + rs])
        if need > have:
            heights[r + rs - 1] += need - have
    pages.room(sum(heights))
    tops = [pages.y + sum(heights[:r]) for r in range(len(rows) + 1)]
    for r, c, cell in placed:
        rs, cs = _span(cell)
        x, top = xs[c], tops[r]
        w, h = xs[c + cs] - x, tops[r + rs] - top
        if ruled:
            pages.rect(x, top, w, h)
        lines = wrapped[(r, c)]
        is_value = getattr(cell, "value", False)
        size = _VALUE_SIZE if is_value else _CELL_SIZE
        block = len(lines) * _CELL_LEADING
        y = top + (h - block) / 2 - (_VALUE_LIFT if is_value and not ruled else 0)
        for line in lines:
            lw = sum(_char_width(ch, size) for ch in line)
            lx = x + (w - lw) / 2 if is_value else x + _CELL_PAD
            if line:
                pages.text(lx, y + (_CELL_LEADING - size) / 2, size, line)
            y += _CELL_LEADING
    pages.y = tops[-1] + _TEXT_LEADING


def _cell_at(placed: list[tuple[int, int, Any]], at: tuple[int, int]) -> Any:
    return next(cell for r, c, cell in placed if (r, c) == at)


def make_pdf(
    blocks: list[Any], title: str = "", ruled: bool = True, page_numbers: bool | None = None
) -> bytes:
    """A text PDF in Chinese: STSong-Light (Adobe-GB1) with the UniGB-UCS2-H encoding.

    ``blocks`` are lines of text (str) and tables (rows of cells: strings or
    ``replica.tables.Cell`` with spans). Lines alone are set 38 characters wide, 45 to a page
    (the replica's report PDFs); with tables, paragraphs wrap to the page and every table is
    set with its merged cells, ruled or (``ruled=False``) by position only, and each page ends
    with its number (``- 2 -``), as published reports do.

    The font is not embedded (as Acrobat's Asian font packs and pdf.js expect for the standard
    CJK fonts); text extraction maps codes back through the CMap, so pdfplumber reads the same
    characters. No timestamps: the bytes depend on the content only.
    """
    if all(isinstance(b, str) for b in blocks):
        streams = _line_streams(blocks)
        if page_numbers:
            streams = [
                s + b"\nBT /F1 12 Tf 280 30 Td " + _hex(f"- {n} -") + b" Tj ET"
                for n, s in enumerate(streams, 1)
            ]
        return _pdf_file(streams, title)
    pages = _PdfPages(page_numbers is not False)
    for block in blocks:
        if isinstance(block, str):
            for line in _wrap(block, _PAGE_W - 2 * _MARGIN, _TEXT_SIZE):
                pages.room(_TEXT_LEADING)
                pages.text(_MARGIN, pages.y, _TEXT_SIZE, line)
                pages.y += _TEXT_LEADING
        else:
            _lay_out_table(pages, block, ruled)
    return _pdf_file(pages.streams(), title)


def _line_streams(lines: list[str]) -> list[bytes]:
    wrapped: list[str] = []
    for line in lines:
        while len(line) > 38:
            wrapped.append(line[:38])
            line = line[38:]
        wrapped.append(line)
    pages = [wrapped[i : i + 45] for i in range(0, len(wrapped), 45)] or [[]]
    streams = []
    for plines in pages:
        ops = [b"BT", b"/F1 12 Tf", b"15 TL", b"50 800 Td"]
        for ln in plines:
            ops.append(_hex(ln) + b" Tj T*")
        ops.append(b"ET")
        streams.append(b"\n".join(ops))
    return streams


def _pdf_file(streams: list[bytes], title: str) -> bytes:
    objs: list[bytes] = []  # object n is objs[n-1]

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    catalog = add(b"")  # placeholders filled below
    pages_obj = add(b"")
    font = add(b"")
    cidfont = add(b"")
    desc = add(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
    )
    objs[font - 1] = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H"
        b" /Encoding /UniGB-UCS2-H /DescendantFonts [%d 0 R] >>" % cidfont
    )
    objs[cidfont - 1] = (
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >>"
        b" /FontDescriptor %d 0 R /DW 1000 /W [1 95 500] >>" % desc
    )
    kids = []
    for stream in streams:
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page = add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d]"
            b" /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages_obj, _PAGE_W, _PAGE_H, font, content)
        )
        kids.append(page)
    objs[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info = add(b"<< /Title <FEFF" + title.encode("utf-16-be").hex().upper().encode() + b"> >>")
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objs) + 1, catalog, info, xref)
    )
    return out.getvalue()


def make_png(width: int, height: int, rgb: tuple[int, int, int], stripes: int = 0) -> bytes:
    """A plain PNG (optionally with grey text-like stripes, for 图片版 page scans)."""
    rows = []
    for y in range(height):
        stripe = stripes and (y // 6) % 3 == 1 and 20 < y < height - 20
        px = bytes((90, 90, 90)) if stripe else bytes(rgb)
        line = bytearray(b"\x00")
        for x in range(width):
            line += px if not stripe or 30 < x < width - 30 else bytes(rgb)
        rows.append(bytes(line))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
