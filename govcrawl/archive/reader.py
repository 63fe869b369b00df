"""The one record reader: every archived record is read back through here.

A record is addressed by (WARC file name, offset[, compressed length]) as the capture index
stores it. Where the bytes come from is the ``opener``'s business: the archive's own folder by
default (``local_opener``), or ``govcrawl.store.open_warc`` (the local file, else a ranged GET on
the store) for archives whose WARCs were uploaded and let go. Nothing here assumes the WARC is on
this machine's disk.

Reads are bounded: a payload is read up to ``max_bytes`` and marked ``truncated`` beyond it, so a
compressed bomb in the archive costs at most ``max_bytes`` of memory.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from warcio.archiveiterator import ArchiveIterator

from govcrawl.archive.layout import OPEN_SUFFIX, ArchiveLayout

# (WARC name, offset, length or None) -> a readable stream starting at offset.
Opener = Callable[[str, int, "int | None"], BinaryIO]


class RecordNotFound(LookupError):
    """No readable WARC record at the given place (file gone, bad offset)."""


@dataclass(frozen=True)
class ArchivedRecord:
    """One WARC record as read back.

    ``http_headers``: (name, value) pairs as stored (latin-1 text of the received bytes), empty
    for records without HTTP headers. ``payload``: the HTTP entity body as received (chunking
    removed, Content-Encoding kept), or the record block for non-HTTP records; at most
    ``max_bytes`` of it, ``truncated`` when there was more.
    """

    rec_type: str
    warc_headers: dict[str, str]
    status: int | None
    reason: str
    protocol: str
    http_headers: list[tuple[str, str]]
    payload: bytes
    truncated: bool

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.http_headers if k.lower() == lower), None)

    def decoded_payload(self, max_bytes: int) -> bytes:
        """The payload with its Content-Encoding (gzip, deflate, br) undone, at most
        ``max_bytes`` of it (decompression stops there: a bomb costs no more)."""
        return decode_content(self.payload, self.header("Content-Encoding"), max_bytes)

    def http_header_bytes(self) -> list[tuple[bytes, bytes]]:
        """The HTTP headers as byte pairs, as they were received."""
        return [(_header_bytes(k), _header_bytes(v)) for k, v in self.http_headers]


def _header_bytes(text: str) -> bytes:
    # warcio decodes header lines as UTF-8, else latin-1; undo whichever applied.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def decode_content(data: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """``data`` decoded from its HTTP Content-Encoding, bounded by ``max_bytes`` of output.

    Unknown or broken encodings give the bytes as stored (what a browser would show is then
    unknowable anyway). Raises nothing.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):  # applied in order, so undone last-first
        try:
            if coding in ("gzip", "x-gzip", "deflate"):
                data = _inflate(data, coding, max_bytes)
            elif coding == "br":
                data = _unbrotli(data, max_bytes)
            elif coding != "identity":
                return data
        except (zlib.error, ValueError, OSError):
            return data
    return data[:max_bytes]


def _inflate(data: bytes, coding: str, max_bytes: int) -> bytes:
    if coding == "deflate" and data[:1] != b"\x78":
        wbits = -zlib.MAX_WBITS  # raw deflate, as some servers send it
    else:
        wbits = zlib.MAX_WBITS | (32 if coding != "deflate" else 0)
    return zlib.decompressobj(wbits).decompress(data, max_bytes)


def _unbrotli(data: bytes, max_bytes: int) -> bytes:
    import brotli

    decompressor = brotli.Decompressor()
    out = bytearray()
    for start in range(0, len(data), 4096):
        out += decompressor.process(data[start : start + 4096])
        if len(out) >= max_bytes:
            break
    return bytes(out[:max_bytes])


def local_opener(layout: ArchiveLayout) -> Opener:
    """Reads WARCs from ``layout.warc_dir`` (sealed, or still ``.open``)."""

    def open_local(name: str, offset: int, length: int | None) -> BinaryIO:
        for path in (layout.warc_path(name), layout.warc_path(name + OPEN_SUFFIX)):
            try:
                fh = open(path, "rb")  # noqa: SIM115 (returned to the caller)
            except FileNotFoundError:
                continue
            fh.seek(offset)
            return fh
        raise FileNotFoundError(f"WARC {name} is not in {layout.warc_dir}")

    return open_local


class RecordReader:
    def __init__(self, opener: Opener) -> None:
        self.opener = opener

    def read(
        self,
        warc: str,
        offset: int,
        length: int | None = None,
        *,
        max_bytes: int | None = None,
        payload: bool = True,
    ) -> ArchivedRecord:
        """The record at ``warc``:``offset``. ``payload=False`` reads headers only.

        Raises RecordNotFound when the file cannot be opened or holds no record there.
        """
        try:
            stream = self.opener(warc, offset, length)
        except (OSError, ValueError) as exc:
            raise RecordNotFound(f"{warc}:{offset}: {exc}") from None
        with contextlib.closing(stream):
            try:
                for record in ArchiveIterator(stream):
                    return _read(record, max_bytes if payload else 0)
            except Exception as exc:  # warcio raises several types on damaged input
                raise RecordNotFound(f"{warc}:{offset}: unreadable record ({exc})") from None
        raise RecordNotFound(f"no WARC record at {warc}:{offset}")


def _read(record: object, max_bytes: int | None) -> ArchivedRecord:
    rec = record  # warcio ArcWarcRecord
    http = getattr(rec, "http_headers", None)
    status: int | None = None
    reason, protocol, pairs = "", "", []
    if http is not None:
        protocol = http.protocol or ""
        line = http.statusline or ""
        code, _, reason = line.partition(" ")
        status = int(code) if code.isdigit() else None
        pairs = [(str(k), str(v)) for k, v in http.headers]
    stream = rec.raw_stream  # type: ignore[attr-defined]
    if max_bytes is None:
        data, truncated = stream.read(), False
    else:
        data = stream.read(max_bytes + 1)
        truncated = len(data) > max_bytes
        data = data[:max_bytes]
    warc_headers = {k: v for k, v in rec.rec_headers.headers}  # type: ignore[attr-defined]
    return ArchivedRecord(
        rec_type=rec.rec_type,  # type: ignore[attr-defined]
        warc_headers=warc_headers,
        status=status,
        reason=reason,
        protocol=protocol,
        http_headers=pairs,
        payload=bytes(data),
        truncated=truncated,
    )


class Located(Protocol):
    """Anything that says where a record is: a CaptureRow, a Capture."""

    @property
    def warc(self) -> str: ...

    @property
    def offset(self) -> int: ...


def read_payload(
    layout: ArchiveLayout, capture: Located, max_bytes: int = 64 * 1024 * 1024
) -> bytes:
    """The decoded payload of the response record a capture (row) points at, from the archive's
    own folder. Revisits hold no payload: pass their original."""
    rec = RecordReader(local_opener(layout)).read(capture.warc, capture.offset, max_bytes=max_bytes)
    if rec.rec_type != "response":
        raise ValueError(f"{capture.warc}:{capture.offset} is a {rec.rec_type} record")
    return rec.decoded_payload(max_bytes)
