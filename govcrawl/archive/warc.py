"""WARC output: a rotating WARC/1.1 file writer and the Scrapy extension that archives every
downloaded response.

File conventions (binding, see DESIGN.md): one gzip member per record; warcinfo first in every
file; names ``<prefix>-<YYYYmmddHHMMSSffffff UTC>-<serial 5 digits>-<host>.warc.gz``, written as
``<name>.open`` and renamed when sealed; rotation when the next record would pass ``max_size``.

warcio builds and serialises every record (headers, Content-Length, block and payload digests,
``sha1:`` + base32); this module only decides what goes in and compresses each serialised record
as its own gzip member, so it knows a record's exact length before the bytes reach the file.
Each record group (a response and its request) is flushed before its index row is written: an
index row never points at bytes that are not on disk.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from uuid import uuid4

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from govcrawl.archive.dedupe import IDENTICAL, NOT_MODIFIED
from govcrawl.archive.layout import OPEN_SUFFIX, WARC_SUFFIX
from govcrawl.clock import clock

logger = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
PROFILE_URIS = {
    IDENTICAL: "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    NOT_MODIFIED: "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

HeaderPairs = Iterable[tuple[str | bytes, str | bytes]]


class RecordLocation(NamedTuple):
    """Where a record landed: (file name, offset, compressed length, WARC-Record-ID)."""

    warc: str
    offset: int
    length: int
    record_id: str


def payload_digest(data: bytes) -> str:
    """``sha1:`` + base32 of ``data``, computed by warcio's own digester."""
    digester = Digester("sha1")
    digester.update(data)
    return str(digester)


def warc_date(dt: datetime) -> str:
    """WARC-Date / capture time: UTC, whole seconds, "2026-11-28T04:30:00Z"."""
    if dt.tzinfo is None:
        raise ValueError("WARC dates must be timezone-aware")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RawHeaders(StatusAndHeaders):
    """HTTP headers serialised byte for byte.

    warcio percent-encodes non-ASCII header values; servers send raw GBK/UTF-8 bytes in headers
    such as Content-Disposition, and the archive must keep them as received. Header values
    arrive as bytes and are carried as latin-1 text, which maps each byte to one character.
    """

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        text = self.to_str(header_filter)
        try:
            self.headers_buff = text.encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:  # str values outside latin-1 came from our own code
            self.headers_buff = text.encode("utf-8") + b"\r\n"


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "localhost"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class WarcFileWriter:
    """Writes WARC/1.1 records into rotating, sealed-on-close ``.warc.gz`` files.

    Thread-safe: one lock around every record group. Tests freeze ids and dates by overriding
    ``_new_record_id`` and ``_now``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        prefix: str = "govcrawl",
        max_size: int = 1_000_000_000,
        warcinfo: Mapping[str, Any] | None = None,
        *,
        on_sealed: Iterable[Callable[[Path], None]] = (),
        compresslevel: int = 6,
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = dict(warcinfo or {})
        self.on_sealed: list[Callable[[Path], None]] = list(on_sealed)
        self.compresslevel = compresslevel
        self.host = _host_tag()
        self.serial = 0
        self.sealed: list[Path] = []
        self._builder = RecordBuilder(warc_version=WARC_VERSION)
        self._lock = threading.RLock()
        self._fh: io.BufferedWriter | None = None
        self._name: str | None = None
        self._size = 0
        self._records_in_file = 0
        self._group_depth = 0
        self._group_started = False

    # -- hooks for tests ------------------------------------------------------------------

    def _new_record_id(self) -> str:
        return f"<urn:uuid:{uuid4()}>"

    def _now(self) -> datetime:
        return clock.now()

    def _new_file_name(self) -> str:
        stamp = self._now().astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
        return f"{self.prefix}-{stamp}-{self.serial:05d}-{self.host}{WARC_SUFFIX}"

    # -- files -----------------------------------------------------------------------------

    @property
    def current_name(self) -> str | None:
        """Final (sealed) name of the file being written, or None between files."""
        return self._name

    @property
    def current_path(self) -> Path | None:
        return self.directory / (self._name + OPEN_SUFFIX) if self._name else None

    def _open_new(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self._new_file_name()
        while (self.directory / name).exists() or (self.directory / (name + OPEN_SUFFIX)).exists():
            self.serial += 1
            name = self._new_file_name()
        self._fh = open(self.directory / (name + OPEN_SUFFIX), "xb")  # noqa: SIM115
        self._name, self._size, self._records_in_file = name, 0, 0
        self.serial += 1
        info = {
            "software": "govcrawl",
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "hostname": socket.gethostname(),
        }
        info.update(self.warcinfo)
        self._append(self._warcinfo_bytes(name, info))
        self._fh.flush()

    def seal(self) -> Path | None:
        """Close the current file and give it its final name; returns that path."""
        with self._lock:
            if self._fh is None or self._name is None:
                return None
            fh, name = self._fh, self._name
            self._fh, self._name = None, None
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            final = self.directory / name
            os.replace(self.directory / (name + OPEN_SUFFIX), final)
            _fsync_dir(self.directory)
            self.sealed.append(final)
            logger.info("sealed %s (%d records, %d bytes)", name, self._records_in_file, self._size)
        for callback in self.on_sealed:
            callback(final)
        return final

    def close(self) -> None:
        self.seal()

    def __enter__(self) -> WarcFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def group(self) -> Iterator[None]:
        """Records written inside stay in one file and reach the disk together."""
        with self._lock:
            self._group_depth += 1
            try:
                yield
            finally:
                self._group_depth -= 1
                if self._group_depth == 0:
                    self._group_started = False
                    if self._fh is not None:
                        self._fh.flush()

    def _write(self, data: bytes) -> tuple[str, int, int]:
        with self._lock:
            starts_group = self._group_depth == 0 or not self._group_started
            if starts_group:
                self._group_started = self._group_depth > 0
                if (
                    self._fh is not None
                    and self._records_in_file > 1
                    and self._size + len(data) > self.max_size
                ):
                    self.seal()
            if self._fh is None:
                self._open_new()
            assert self._name is not None and self._fh is not None
            good, records = self._size, self._records_in_file
            try:
                offset = self._append(data)
                if self._group_depth == 0:
                    self._fh.flush()
            except OSError:
                self._records_in_file = records
                self._cut_back(good)
                raise
            return self._name, offset, len(data)

    def _cut_back(self, size: int) -> None:
        """After a failed write (disk full): the open file ends at its last whole record again,
        so what it holds stays readable and can be sealed."""
        assert self._fh is not None and self._name is not None
        path = self.directory / (self._name + OPEN_SUFFIX)
        with contextlib.suppress(OSError):
            self._fh.close()  # its buffer cannot be written: closing drops it
        try:
            os.truncate(path, size)
            self._fh = open(path, "ab")  # noqa: SIM115
            self._size = size
        except OSError:
            self._fh, self._name = None, None  # left .open; recovery cuts and seals it

    def _append(self, data: bytes) -> int:
        assert self._fh is not None
        offset = self._size
        self._fh.write(data)
        self._size += len(data)
        self._records_in_file += 1
        return offset

    # -- serialisation ---------------------------------------------------------------------

    def _serialise(self, record: Any) -> bytes:
        buf = io.BytesIO()
        WARCWriter(buf, gzip=False, warc_version=WARC_VERSION).write_record(record)
        packer = zlib.compressobj(self.compresslevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return packer.compress(buf.getvalue()) + packer.flush()

    def _warc_headers(
        self,
        record_type: str,
        url: str,
        date: datetime | None,
        extra: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        # Listed first so that they lead the record header (warcio keeps this order).
        headers = {"WARC-Type": record_type, "WARC-Record-ID": self._new_record_id()}
        headers["WARC-Date"] = warc_date(date or self._now())
        if url:
            headers["WARC-Target-URI"] = url
        for name, value in (extra or {}).items():
            if value is not None:
                headers[name] = value
        return headers

    def _warcinfo_bytes(self, name: str, info: Mapping[str, Any]) -> bytes:
        body = "".join(f"{k}: {v}\r\n" for k, v in info.items() if v not in (None, "")).encode()
        headers = self._warc_headers("warcinfo", "", None, {"WARC-Filename": name})
        record = self._builder.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict=headers,
        )
        return self._serialise(record)

    @staticmethod
    def _status_line(status: int, reason: str | None) -> str:
        if reason is None:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        return f"{status} {reason}".rstrip()

    def _record(
        self,
        url: str,
        record_type: str,
        *,
        http_headers: StatusAndHeaders | None,
        payload: bytes,
        date: datetime | None,
        extra: Mapping[str, str | None],
        content_type: str = "",
    ) -> RecordLocation:
        warc_headers = self._warc_headers(record_type, url, date, extra)
        record = self._builder.create_warc_record(
            url,
            record_type,
            payload=io.BytesIO(payload) if payload else None,
            length=len(payload),
            warc_content_type=content_type,
            warc_headers_dict=warc_headers,
            http_headers=http_headers,
        )
        warc, offset, length = self._write(self._serialise(record))
        return RecordLocation(warc, offset, length, warc_headers["WARC-Record-ID"])

    # -- record kinds ----------------------------------------------------------------------

    def write_response(
        self,
        url: str,
        *,
        status: int,
        headers: HeaderPairs,
        payload: bytes,
        reason: str | None = None,
        protocol: str = "HTTP/1.1",
        date: datetime | None = None,
        digest: str | None = None,
        ip_address: str | None = None,
        truncated: str | None = None,
        warc_headers: Mapping[str, str] | None = None,
    ) -> RecordLocation:
        """A ``response`` record; ``payload`` is the entity body exactly as received."""
        extra: dict[str, str | None] = {"WARC-IP-Address": ip_address, "WARC-Truncated": truncated}
        if digest:
            extra["WARC-Payload-Digest"] = digest
        extra.update(warc_headers or {})
        http = RawHeaders(self._status_line(status, reason), list(headers), protocol=protocol)
        return self._record(
            url,
            "response",
            http_headers=http,
            payload=payload,
            date=date,
            extra=extra,
        )

    def write_request(
        self,
        url: str,
        *,
        headers: HeaderPairs,
        method: str = "GET",
        body: bytes = b"",
        concurrent_to: str | None = None,
        date: datetime | None = None,
        target: str | None = None,
    ) -> RecordLocation:
        """A ``request`` record in origin-form (``GET /path?query HTTP/1.1``).

        Write it right after its response, inside the same ``group()``, with ``concurrent_to``
        set to the response's record id.
        """
        if target is None:
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        http = RawHeaders(f"{method} {target} HTTP/1.1", list(headers), is_http_request=True)
        extra = {"WARC-Concurrent-To": concurrent_to}
        return self._record(
            url,
            "request",
            http_headers=http,
            payload=body,
            date=date,
            extra=extra,
        )

    def write_revisit(
        self,
        url: str,
        *,
        status: int,
        headers: HeaderPairs,
        refers_to_uri: str,
        refers_to_date: str,
        digest: str,
        refers_to: str | None = None,
        profile: str = IDENTICAL,
        reason: str | None = None,
        protocol: str = "HTTP/1.1",
        date: datetime | None = None,
        ip_address: str | None = None,
    ) -> RecordLocation:
        """A ``revisit`` record holding only this response's HTTP headers.

        ``profile`` is ``identical-payload-digest`` (same payload as the original) or
        ``server-not-modified`` (a 304 answer); both carry WARC-Refers-To-Target-URI,
        WARC-Refers-To-Date and the original's WARC-Payload-Digest (and WARC-Refers-To,
        the original's record id, when known).
        """
        if profile not in PROFILE_URIS:
            raise ValueError(f"unknown revisit profile {profile!r}")
        extra = {
            "WARC-Profile": PROFILE_URIS[profile],
            "WARC-Refers-To": refers_to,
            "WARC-Refers-To-Target-URI": refers_to_uri,
            "WARC-Refers-To-Date": refers_to_date,
            "WARC-Payload-Digest": digest,
            "WARC-IP-Address": ip_address,
        }
        http = RawHeaders(self._status_line(status, reason), list(headers), protocol=protocol)
        return self._record(
            url,
            "revisit",
            http_headers=http,
            payload=b"",
            date=date,
            extra=extra,
        )

    def write_metadata(
        self,
        url: str,
        fields: Mapping[str, Any] | Iterable[tuple[str, Any]],
        *,
        refers_to: str | None = None,
        date: datetime | None = None,
    ) -> RecordLocation:
        """A ``metadata`` record of ``application/warc-fields``: one ``name: value`` line per
        value; lists give one line per item, mappings and other structures become JSON."""
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        lines = []
        for name, value in pairs:
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if item is None:
                    continue
                text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
                if "\n" in text or "\r" in text:
                    text = json.dumps(text, ensure_ascii=False)  # keep one field per line
                lines.append(f"{name}: {text}\r\n")
        body = "".join(lines).encode("utf-8")
        extra = {"WARC-Refers-To": refers_to}
        return self._record(
            url,
            "metadata",
            http_headers=None,
            payload=body,
            date=date,
            extra=extra,
            content_type="application/warc-fields",
        )

    def write_conversion(
        self,
        url: str,
        text: str,
        *,
        refers_to: str,
        date: datetime | None = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> RecordLocation:
        """A ``conversion`` record (e.g. extracted text) referring to the response it came from."""
        extra = {"WARC-Refers-To": refers_to}
        return self._record(
            url,
            "conversion",
            http_headers=None,
            payload=text.encode("utf-8"),
            date=date,
            extra=extra,
            content_type=content_type,
        )


# -- reading back -----------------------------------------------------------------------------


def read_record_at(path: str | os.PathLike[str], offset: int) -> tuple[Any, bytes]:
    """(record, raw block after the HTTP headers) of the record starting at ``offset``."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return record, record.raw_stream.read()
    raise ValueError(f"no WARC record at {path}:{offset}")



