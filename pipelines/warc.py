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
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit
from uuid import uuid4

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from crawler.archive.captures import CaptureIndex, CaptureRow, shared_index
from crawler.archive.layout import OPEN_SUFFIX, WARC_SUFFIX, ArchiveLayout
from crawler.archive.lock import ArchiveLock
from crawler.archive.recovery import recover_archive
from crawler.items import Capture
from crawler.signals import warc_sealed
from pipelines.dedupe import IDENTICAL, NOT_MODIFIED, Decision, decide

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

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
        return datetime.now(UTC)

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
            offset = self._append(data)
            if self._group_depth == 0:
                self._fh.flush()
            return self._name, offset, len(data)

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


class _Located(Protocol):
    @property
    def warc(self) -> str: ...

    @property
    def offset(self) -> int: ...


def read_record_at(path: str | os.PathLike[str], offset: int) -> tuple[Any, bytes]:
    """(record, raw block after the HTTP headers) of the record starting at ``offset``."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return record, record.raw_stream.read()
    raise ValueError(f"no WARC record at {path}:{offset}")


def read_payload(layout: ArchiveLayout, capture: _Located) -> bytes:
    """The decoded payload (Content-Encoding and chunking undone) of the response record a
    capture row (or a ``Capture``) points at. Revisits hold no payload: pass their original
    (``CaptureIndex.get(row.refers_to_id)``)."""
    path = layout.warc_path(capture.warc)
    if not path.exists():
        path = path.with_name(path.name + OPEN_SUFFIX)
    with open(path, "rb") as fh:
        fh.seek(capture.offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                raise ValueError(
                    f"{capture.warc}:{capture.offset} is a {record.rec_type} record, not a response"
                )
            return bytes(record.content_stream().read())
    raise ValueError(f"no WARC record at {capture.warc}:{capture.offset}")


# -- the Scrapy extension ---------------------------------------------------------------------


@dataclass(frozen=True)
class WarcConfig:
    archive_dir: Path
    prefix: str = "govcrawl"
    max_size: int = 1_000_000_000
    take_lock: bool = True
    operator: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> WarcConfig:
        from scrapy.exceptions import NotConfigured

        archive_dir = settings.get("GOVCRAWL_ARCHIVE_DIR")
        if not archive_dir:
            raise NotConfigured("GOVCRAWL_ARCHIVE_DIR is not set")
        max_size = settings.getint("GOVCRAWL_WARC_MAX_SIZE", 1_000_000_000)
        if max_size <= 0:
            raise ValueError("GOVCRAWL_WARC_MAX_SIZE must be positive")
        prefix = settings.get("GOVCRAWL_WARC_PREFIX") or "govcrawl"
        if not re.fullmatch(r"[A-Za-z0-9._]+", prefix):
            raise ValueError(f"GOVCRAWL_WARC_PREFIX may hold letters, digits, . and _: {prefix!r}")
        return cls(
            archive_dir=Path(archive_dir),
            prefix=prefix,
            max_size=max_size,
            take_lock=settings.getbool("GOVCRAWL_ARCHIVE_LOCK", True),
            operator=settings.get("GOVCRAWL_WARC_OPERATOR"),
        )


def _header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    """Every header value (getlist keeps repeated Set-Cookie etc.), in Scrapy's order.
    Scrapy normalises header-name case; the values are the bytes received."""
    return [(bytes(name), bytes(value)) for name in headers for value in headers.getlist(name)]


def _response_headers(response: Response) -> list[tuple[bytes, bytes]]:
    pairs = []
    for name, value in _header_pairs(response.headers):
        if name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            # The downloader already removed the chunk framing: the payload we store is the
            # de-chunked body, so a "Transfer-Encoding: chunked" header would make readers try
            # to de-chunk it again. Kept under another name for the record.
            name = b"X-Archive-Orig-Transfer-Encoding"
        pairs.append((name, value))
    return pairs


def _host_header(url: str) -> bytes:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port and parts.port != default:
        host = f"{host}:{parts.port}"
    return host.encode("idna") if not host.isascii() else host.encode("ascii")


def _request_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """Host first, then what Scrapy's middlewares put on the request.

    Behind a proxy the wire request is absolute-form (``GET http://host/path``) and carries
    Proxy-Authorization; the archived request is what the origin server answered: origin-form,
    no proxy credentials.
    """
    pairs = [(b"Host", _host_header(request.url))]
    for name, value in _header_pairs(request.headers):
        if name.lower() in (b"host", b"proxy-authorization", b"proxy-connection"):
            continue
        pairs.append((name, value))
    if request.body and not request.headers.get(b"Content-Length"):
        pairs.append((b"Content-Length", str(len(request.body)).encode()))
    return pairs


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class WarcArchiveExtension:
    """Archives every downloaded http(s) response with its request, from
    ``signals.response_downloaded`` (before any downloader middleware decompresses or
    otherwise changes the response).

    Settings: GOVCRAWL_ARCHIVE_DIR (required; NotConfigured without it), GOVCRAWL_WARC_PREFIX
    ("govcrawl"), GOVCRAWL_WARC_MAX_SIZE (1e9 bytes), GOVCRAWL_WARC_OPERATOR (warcinfo),
    GOVCRAWL_CAPTURE_INDEX (DSN or SQLite path; default ARCHIVE/captures.sqlite3),
    GOVCRAWL_CAPTURE_SCHEMA (PostgreSQL schema, "public"), GOVCRAWL_ARCHIVE_LOCK (True: take the
    archive lock and recover leftovers unless this process already holds the lock).

    Sets ``request.meta["capture"]`` (crawler.items.Capture). For a 304 also
    ``request.meta["original_capture"]`` (Capture of the full response it revisits),
    ``request.meta["original_payload"]`` (its decoded body, bytes) and
    ``request.meta["original_content_type"]``.
    """

    def __init__(
        self,
        crawler: Crawler,
        config: WarcConfig,
        layout: ArchiveLayout,
        index: CaptureIndex,
        lock: ArchiveLock | None = None,
    ) -> None:
        self.crawler = crawler
        self.config = config
        self.layout = layout
        self.index = index
        self.lock = lock
        self.stats = crawler.stats
        self.run_id: int | None = None
        self._closed = False
        settings = crawler.settings
        warcinfo = {
            "software": _software(),
            "operator": config.operator,
            "http-header-user-agent": settings.get("USER_AGENT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "isPartOf": settings.get("BOT_NAME"),
        }
        self.writer = WarcFileWriter(
            layout.warc_dir,
            prefix=config.prefix,
            max_size=config.max_size,
            warcinfo=warcinfo,
            on_sealed=[self._sealed],
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveExtension:
        from scrapy import signals

        config = WarcConfig.from_settings(crawler.settings)
        layout = ArchiveLayout.open(config.archive_dir)
        lock = None
        if config.take_lock and not ArchiveLock.held_by_this_process(layout.lock_path):
            # Run by plain `scrapy crawl`: nobody has locked or recovered the archive yet.
            lock = ArchiveLock(layout.lock_path).acquire()
        try:
            index = shared_index(crawler)
            if lock is not None:
                recover_archive(layout, index)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        ext = cls(crawler, config, layout, index, lock)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    # -- signals ---------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        self.run_id = self.index.start_run(archive=self.layout.root)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.writer.close()
            if self.run_id is not None:
                self.index.finish_run(self.run_id, self.summary(reason))
        finally:
            if self.lock is not None:
                self.lock.release()

    def summary(self, reason: str | None = None) -> dict[str, Any]:
        get = self.stats.get_value if self.stats is not None else (lambda k, d=None: d)
        return {
            "run_id": self.run_id,
            "finish_reason": reason,
            "records": get("govcrawl/warc/records", 0),
            "revisits": get("govcrawl/warc/revisits", 0),
            "bytes": get("govcrawl/warc/bytes", 0),
            "new": get("govcrawl/captures/new", 0),
            "changed": get("govcrawl/captures/changed", 0),
            "unchanged": get("govcrawl/captures/unchanged", 0),
            "warcs": [p.name for p in self.writer.sealed],
        }

    def _sealed(self, path: Path) -> None:
        if self.stats is not None:
            self.stats.inc_value("govcrawl/warc/files")
        self.crawler.signals.send_catch_log(signal=warc_sealed, path=path)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if urlsplit(response.url).scheme not in ("http", "https"):
            return
        try:
            self.archive(response, request)
        except OSError:
            # Disk full, archive gone: crawling on would fetch pages nobody keeps.
            logger.exception("cannot write the WARC archive; closing the spider")
            self._close_spider("warc_write_error")
            raise

    def _close_spider(self, reason: str) -> None:
        from scrapy.utils.defer import deferred_from_coro

        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    # -- the work --------------------------------------------------------------------------

    def archive(self, response: Response, request: Request) -> Capture:
        """Write one downloaded response (and its request), index it and return its Capture."""
        url = response.url
        fetched_at = datetime.now(UTC).replace(microsecond=0)
        fetched = warc_date(fetched_at)
        body = response.body
        digest = payload_digest(body)
        # Compare like with like: a 200 with the last 200 (not with the 503 a flaky server sent
        # in between), a 304 with the full 200 whose validators were sent.
        last = self.index.last_capture(url, 200 if response.status == 304 else response.status)
        decision = decide(last, digest, response.status)
        original: CaptureRow | None = None
        if decision.is_revisit:
            assert decision.refers_to_digest is not None
            original = self.index.original_for(url, decision.refers_to_digest)
            if original is None:
                logger.warning("no original response in the index for %s; writing in full", url)
                decision = Decision("response", decision.status)

        headers = _response_headers(response)
        protocol = response.protocol or "HTTP/1.1"
        if not protocol.startswith("HTTP/1."):
            # WARC stores HTTP/1.x messages; HTTP/2 framing has no byte form to keep.
            protocol = "HTTP/1.1"
        ip = str(response.ip_address) if response.ip_address else None
        truncated = "unspecified" if "partial" in response.flags else None

        with self.writer.group():
            if original is not None:
                loc = self.writer.write_revisit(
                    url,
                    status=response.status,
                    headers=headers,
                    refers_to_uri=original.url,
                    refers_to_date=original.fetched,
                    refers_to=original.record_id,
                    digest=original.digest,
                    profile=decision.profile or IDENTICAL,
                    protocol=protocol,
                    date=fetched_at,
                    ip_address=ip,
                )
            else:
                loc = self.writer.write_response(
                    url,
                    status=response.status,
                    headers=headers,
                    payload=body,
                    protocol=protocol,
                    date=fetched_at,
                    digest=digest,
                    ip_address=ip,
                    truncated=truncated,
                )
            req_loc = self.writer.write_request(
                url,
                method=request.method,
                headers=_request_headers(request),
                body=request.body,
                concurrent_to=loc.record_id,
                date=fetched_at,
            )

        not_modified = original is not None and decision.profile == NOT_MODIFIED
        etag = _header(response, b"ETag")
        last_modified = _header(response, b"Last-Modified")
        content_type = _header(response, b"Content-Type")
        if not_modified and original is not None:
            # A 304 may omit validators and type; they are still the original's.
            etag = etag or original.etag
            last_modified = last_modified or original.last_modified
            content_type = content_type or original.content_type
        capture_digest = original.digest if not_modified and original else digest
        size = original.size if not_modified and original else len(body)
        record_type = "revisit" if original is not None else "response"
        capture_id = self.index.add_capture(
            url=url,
            fetched=fetched,
            http_status=response.status,
            digest=capture_digest,
            size=size,
            warc=loc.warc,
            offset=loc.offset,
            length=loc.length,
            record_type=record_type,
            status=decision.status,
            refers_to_id=original.id if original is not None else None,
            run_id=self.run_id,
            etag=etag,
            last_modified=last_modified,
            record_id=loc.record_id,
            content_type=content_type,
        )
        capture = Capture(
            url=url,
            fetched=fetched,
            http_status=response.status,
            digest=capture_digest,
            warc=loc.warc,
            offset=loc.offset,
            length=loc.length,
            record_type=record_type,
            status=decision.status,
            capture_id=capture_id,
        )
        request.meta["capture"] = capture
        if not_modified and original is not None:
            request.meta["original_capture"] = _capture_of(original)
            request.meta["original_content_type"] = original.content_type
            try:
                request.meta["original_payload"] = read_payload(self.layout, original)
            except (OSError, ValueError) as exc:
                logger.warning(
                    "cannot read the original of 304 %s from %s: %s", url, original.warc, exc
                )

        if self.stats is not None:
            self.stats.inc_value("govcrawl/warc/records", 2)
            self.stats.inc_value("govcrawl/warc/bytes", loc.length + req_loc.length)
            self.stats.inc_value(f"govcrawl/captures/{decision.status}")
            if record_type == "revisit":
                self.stats.inc_value("govcrawl/warc/revisits")
        return capture

    # -- records added later by pipelines --------------------------------------------------

    def _refers_to(self, capture: Capture) -> str:
        row = self.index.get(capture.capture_id) if capture.capture_id is not None else None
        if row is None or not row.record_id:
            raise ValueError(f"capture {capture.capture_id} of {capture.url} is not in the index")
        return row.record_id

    def write_capture_metadata(self, capture: Capture, fields: Mapping[str, Any]) -> RecordLocation:
        """A metadata record (e.g. clicks, published, outlinks) referring to ``capture``."""
        loc = self.writer.write_metadata(capture.url, fields, refers_to=self._refers_to(capture))
        self._count_extra(loc)
        return loc

    def write_text_conversion(self, capture: Capture, text: str) -> RecordLocation:
        """A conversion record with the extracted text of ``capture``'s payload."""
        loc = self.writer.write_conversion(capture.url, text, refers_to=self._refers_to(capture))
        self._count_extra(loc)
        return loc

    def _count_extra(self, loc: RecordLocation) -> None:
        if self.stats is not None:
            self.stats.inc_value("govcrawl/warc/records")
            self.stats.inc_value("govcrawl/warc/bytes", loc.length)


def _capture_of(row: CaptureRow) -> Capture:
    return Capture(
        url=row.url,
        fetched=row.fetched,
        http_status=row.http_status,
        digest=row.digest,
        warc=row.warc,
        offset=row.offset,
        length=row.length,
        record_type=row.record_type,
        status=row.status,
        capture_id=row.id,
    )


def _software() -> str:
    from importlib.metadata import version

    from crawler import __version__

    return f"govcrawl/{__version__} (Scrapy/{version('scrapy')}; warcio/{version('warcio')})"


def get_warc_extension(crawler: Crawler) -> WarcArchiveExtension | None:
    """The crawler's WarcArchiveExtension, for pipelines that add metadata/conversion records."""
    for ext in getattr(crawler.extensions, "middlewares", ()):
        if isinstance(ext, WarcArchiveExtension):
            return ext
    return None
