"""Binary files of the replica: .docx, .xlsx, a text PDF with Chinese, PNG images.

All output is byte-for-byte deterministic: office files are zip archives whose member times are
pinned, and the PDF is written by hand (no timestamps).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib
from datetime import datetime

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


def make_docx(title: str, paragraphs: list[str], grids: list[list[list[str]]]) -> bytes:
    """A Word document: title and paragraphs; a paragraph "\x00<n>" places grids[n] as a table."""
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
    for para in paragraphs:
        if para.startswith("\x00"):
            grid = grids[int(para[1:])]
            width = max(len(r) for r in grid)
            table = doc.add_table(rows=len(grid), cols=width)
            table.style = "Table Grid"
            for r, row in enumerate(grid):
                for c, val in enumerate(row):
                    table.cell(r, c).text = val
            continue
        doc.add_paragraph(para)
    buf = io.BytesIO()
    doc.save(buf)
    return _pin_zip(buf.getvalue())


def make_xlsx(title: str, sheets: list[tuple[str, list[list[str]]]]) -> bytes:
    """A workbook with one sheet per (name, grid); numeric strings become numbers."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.properties.creator = "兴安盟统计局"
    wb.properties.title = title
    wb.properties.created = _FIXED_DT
    wb.properties.modified = _FIXED_DT
    first = True
    for name, grid in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = name
        for row in grid:
            ws.append([_num(v) for v in row])
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


def make_pdf(lines: list[str], title: str = "") -> bytes:
    """A text PDF in Chinese: STSong-Light (Adobe-GB1) with the UniGB-UCS2-H encoding.

    The font is not embedded (as Acrobat's Asian font packs and pdf.js expect for the standard
    CJK fonts); text extraction maps codes back through the CMap, so pdfplumber reads the same
    characters. Lines are wrapped at 38 characters, 45 lines per page.
    """
    wrapped: list[str] = []
    for line in lines:
        while len(line) > 38:
            wrapped.append(line[:38])
            line = line[38:]
        wrapped.append(line)
    pages = [wrapped[i : i + 45] for i in range(0, len(wrapped), 45)] or [[]]

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
    for plines in pages:
        ops = [b"BT", b"/F1 12 Tf", b"15 TL", b"50 800 Td"]
        for ln in plines:
            ops.append(b"<" + ln.encode("utf-16-be").hex().upper().encode() + b"> Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page = add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842]"
            b" /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages_obj, font, content)
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
