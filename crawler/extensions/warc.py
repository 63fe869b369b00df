"""The Scrapy extension that archives every downloaded response as WARC records.

See govcrawl.archive.warc for the file conventions; this module only turns Scrapy's responses
and requests into records and capture-index rows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.signals import warc_sealed
from govcrawl.archive.captures import Capture, CaptureIndex, CaptureRow, shared_index
from govcrawl.archive.dedupe import IDENTICAL, NOT_MODIFIED, Decision, decide
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.lock import ArchiveLock
from govcrawl.archive.recovery import recover_archive
from govcrawl.archive.warc import (
    RecordLocation,
    WarcFileWriter,
    payload_digest,
    read_payload,
    warc_date,
)

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


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
