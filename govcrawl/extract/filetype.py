"""What a response is, from the response: its file signature, ``Content-Disposition`` and
``Content-Type``; the URL only when the response says nothing.

- ``disposition_filename(value)``: the file name a ``Content-Disposition`` header gives
  (RFC 6266 section 4.3: ``filename*`` (RFC 8187 ext-value) wins over ``filename``, whatever their
  order), or None. A small strict parser (RFC 6266 section 4.1 grammar: token or quoted-string
  values, ``;``-separated, repeated parameters refused): the stdlib's e-mail parser keeps the first
  of ``filename``/``filename*``, and the PyPI parsers either pin pyparsing 3.0.x (pyrfc6266)
  or have no track record yet. Two deviations, both what browsers do for Chinese portals: an
  ext-value in a charset other than UTF-8/ISO-8859-1 (``GBK''...``) is decoded when Python knows
  the charset, and a plain ``filename`` that is all percent-escapes of UTF-8 (Java servers'
  ``URLEncoder.encode(name, "UTF-8")``) or raw UTF-8/GBK bytes is decoded as such (Chromium's
  ``HttpContentDisposition`` does both).
- ``sniff(body)``: the kind a file's leading bytes prove (PDF, OOXML .docx/.xlsx, OLE2 for
  .doc/.xls/.wps, HTML, images, archives), or None.
- ``response_type(url, content_type, content_disposition, body)``: the ``ResponseType`` of a
  response. Precedence: an unambiguous signature; then the Content-Disposition file name's
  extension; then the Content-Type; then the URL path's extension. The signature wins because
  portals serve .docx files as ``application/octet-stream`` or ``text/html`` and name Word-HTML
  files ``.doc``.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, unquote_to_bytes, urlsplit

__all__ = [
    "DOCUMENT_KINDS",
    "ResponseType",
    "disposition_filename",
    "parse_disposition",
    "response_type",
    "sniff",
]

# Kinds that carry a report's text as a document (an annual report may be published as one).
DOCUMENT_KINDS = frozenset({"pdf", "doc", "docx", "wps", "xls", "xlsx"})

_EXT_KIND = {
    ".pdf": "pdf",
    ".doc": "doc",
    ".docx": "docx",
    ".wps": "wps",
    ".xls": "xls",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".shtml": "html",
    ".xhtml": "html",
    ".txt": "text",
    ".xml": "xml",
    ".json": "json",
    ".zip": "zip",
    ".rar": "rar",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
}
_TYPE_KIND = {
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
    "text/xml": "xml",
    "application/xml": "xml",
    "application/json": "json",
    "application/zip": "zip",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"Rar!\x1a\x07", "rar"),
)


# --------------------------------------------------------------------------- Content-Disposition


class DispositionError(ValueError):
    """A Content-Disposition value outside RFC 6266's grammar."""


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_EXT_VALUE = re.compile(
    r"^([!#$%&+^_`{}~0-9A-Za-z-]*)'([A-Za-z0-9-]*)'((?:%[0-9A-Fa-f]{2}|[!#$&+.^_`|~0-9A-Za-z-])*)$"
)


def parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    """``(type, params)`` of a Content-Disposition value (RFC 6266 section 4.1), type and
    parameter names lower-cased, values unquoted (ext-values are left encoded).

    Raises DispositionError for values outside the grammar and for repeated parameters.
    """
    pos, n = 0, len(value)

    def skip_ws() -> None:
        nonlocal pos
        while pos < n and value[pos] in " \t":
            pos += 1

    skip_ws()
    match = _TOKEN.match(value, pos)
    if not match:
        raise DispositionError(f"no disposition type in {value!r}")
    kind, pos = match.group().lower(), match.end()
    params: dict[str, str] = {}
    while True:
        skip_ws()
        if pos >= n:
            break
        if value[pos] != ";":
            raise DispositionError(f"expected ';' at {pos} in {value!r}")
        pos += 1
        skip_ws()
        if pos >= n:  # a trailing ';' is common and harmless
            break
        match = _TOKEN.match(value, pos)
        if not match:
            raise DispositionError(f"no parameter name at {pos} in {value!r}")
        name, pos = match.group().lower(), match.end()
        skip_ws()
        if pos >= n or value[pos] != "=":
            raise DispositionError(f"parameter {name!r} has no value in {value!r}")
        pos += 1
        skip_ws()
        if pos < n and value[pos] == '"':
            match = _QUOTED.match(value, pos)
            if not match:
                raise DispositionError(f"unterminated quoted string in {value!r}")
            text = re.sub(r"\\(.)", r"\1", match.group(1))
        else:
            # token; obs-text (bytes >= 0x80, read as ISO-8859-1) is let through, as browsers do
            match = re.compile(r"[^\s;\"]+").match(value, pos)
            if not match:
                raise DispositionError(f"parameter {name!r} has an empty value in {value!r}")
            text = match.group()
        pos = match.end()
        if name in params:
            raise DispositionError(f"parameter {name!r} repeated in {value!r}")
        params[name] = text
    return kind, params


def _ext_value(value: str) -> str | None:
    """Decode an RFC 8187 ext-value (``charset'lang'pct-encoded``); None when it does not
    decode."""
    match = _EXT_VALUE.match(value)
    if not match or not match.group(1):
        return None
    try:
        return unquote_to_bytes(match.group(3)).decode(match.group(1))
    except (LookupError, UnicodeDecodeError):
        return None


def _plain_value(value: str) -> str:
    """A plain ``filename`` value as browsers read it from Chinese portals."""
    raw = value.encode("latin-1", "replace")
    if not raw.isascii():  # raw bytes in the header: UTF-8 if they are, else GB18030
        for charset in ("utf-8", "gb18030"):
            try:
                return raw.decode(charset)
            except UnicodeDecodeError:
                continue
        return value
    if re.search(r"%[0-9A-Fa-f]{2}", value):
        decoded = unquote_to_bytes(value)
        if not decoded.isascii():
            try:
                return decoded.decode("utf-8")
            except UnicodeDecodeError:
                return value
    return value


def disposition_filename(value: str | None) -> str | None:
    """The file name of a Content-Disposition value, or None (no value, no name, or a value
    outside the grammar). ``filename*`` wins over ``filename`` (RFC 6266 section 4.3); a name
    is reduced to its last path segment (RFC 6266 section 4.3: recipients must not use
    directory information)."""
    if not value:
        return None
    try:
        _kind, params = parse_disposition(value)
    except DispositionError:
        return None
    name = None
    if "filename*" in params:
        name = _ext_value(params["filename*"])
    if name is None and "filename" in params:
        name = _plain_value(params["filename"])
    if not name:
        return None
    name = re.split(r"[/\\]", name)[-1].strip()
    return name or None


# --------------------------------------------------------------------------- signatures


def sniff(body: bytes | None) -> str | None:
    """The kind the leading bytes prove: ``pdf``, ``docx``, ``xlsx``, ``ole`` (.doc, .xls and .wps
    share the OLE2 container), ``zip``, ``html``, ``xml``, ``image``, ``rar``; None otherwise."""
    if not body:
        return None
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "zip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return "zip"
    if body.startswith(_OLE):
        return "ole"
    for magic, kind in _SIGNATURES:
        if body.startswith(magic):
            return kind
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    if stripped.startswith(b"<?xml"):
        return "html" if b"<html" in stripped[:400] else "xml"
    return None


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class ResponseType:
    """What a response is: ``kind`` (``html``, ``pdf``, ``docx``, ``xlsx``, ``doc``, ``xls``,
    ``wps``, ``text``, ``xml``, ``json``, ``image``, ``zip``, ``rar`` or None when nothing says),
    ``filename`` (from Content-Disposition, else the URL path's last segment, or None) and
    ``by`` (``signature``, ``content-disposition``, ``content-type``, ``url`` or None)."""

    kind: str | None
    filename: str | None
    by: str | None

    @property
    def is_document(self) -> bool:
        return self.kind in DOCUMENT_KINDS

    @property
    def is_page(self) -> bool:
        return self.kind in ("html", "xml", "text") or self.kind is None


def _ext_kind(name: str | None) -> str | None:
    if not name:
        return None
    return _EXT_KIND.get(PurePosixPath(name).suffix.lower())


def response_type(
    url: str,
    content_type: str | None = None,
    content_disposition: str | None = None,
    body: bytes | None = None,
) -> ResponseType:
    """The ``ResponseType`` of a response (precedence in the module docstring)."""
    cd_name = disposition_filename(content_disposition)
    path = urlsplit(url).path
    url_name = unquote(path.rsplit("/", 1)[-1]) or None
    filename = cd_name or url_name
    by_cd, by_url = _ext_kind(cd_name), _ext_kind(url_name)
    by_type = _TYPE_KIND.get((content_type or "").split(";", 1)[0].strip().lower())
    magic = sniff(body)
    if magic == "ole":  # Word 97, Excel 97 and WPS share the container: the name says which
        for kind, by in (
            (by_cd, "content-disposition"),
            (by_type, "content-type"),
            (by_url, "url"),
        ):
            if kind in ("doc", "xls", "wps"):
                return ResponseType(kind, filename, by)
        return ResponseType("doc", filename, "signature")
    if magic is not None and magic != "zip":
        return ResponseType(magic, filename, "signature")
    for kind, by in ((by_cd, "content-disposition"), (by_type, "content-type"), (by_url, "url")):
        if kind is not None:
            return ResponseType(kind, filename, by)
    if magic == "zip":
        return ResponseType("zip", filename, "signature")
    return ResponseType(None, filename, None)
