"""The Scrapy extension that archives every downloaded response as WARC records.

See govcrawl.archive.warc for the file conventions; this module only turns Scrapy's responses
and requests into records and capture-index rows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.middlewares.conditional import archived_original
from crawler.run import CrawlRun, crawl_run
from crawler.signals import warc_sealed
from govcrawl.archive.captures import Capture, CaptureRow
from govcrawl.archive.reader import ArchivedRecord, RecordNotFound, decode_content
from govcrawl.archive.recorder import Exchange, Recorder
from govcrawl.archive.warc import RecordLocation

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

# request.meta key: the response could not be archived (crawler.middlewares.outcomes drops it).
UNARCHIVED = "govcrawl_unarchived"


@dataclass(frozen=True)
class WarcConfig:
    archive_dir: Path
    prefix: str = "govcrawl"
    max_size: int = 1_000_000_000
    operator: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> WarcConfig:
        from scrapy.exceptions import NotConfigured

        archive_dir = settings.get("GOVCRAWL_ARCHIVE_DIR")
        if not archive_dir:
            raise NotConfigured("GOVCRAWL_ARCHIVE_DIR is not set")
        max_size = settings.getint("GOVCRAWL_WARC_MAX_SIZE")
        if max_size <= 0:
            raise ValueError("GOVCRAWL_WARC_MAX_SIZE must be positive")
        prefix = settings.get("GOVCRAWL_WARC_PREFIX") or ""
        if not re.fullmatch(r"[A-Za-z0-9._]+", prefix):
            raise ValueError(f"GOVCRAWL_WARC_PREFIX may hold letters, digits, . and _: {prefix!r}")
        return cls(
            archive_dir=Path(archive_dir),
            prefix=prefix,
            max_size=max_size,
            operator=settings.get("GOVCRAWL_WARC_OPERATOR"),
        )


def _header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    """Every header value (getlist keeps repeated Set-Cookie etc.), in Scrapy's order.
    Scrapy normalises header-name case; the values are the bytes received."""
    return [(bytes(name), bytes(value)) for name in headers for value in headers.getlist(name)]


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


class WarcArchiveExtension:
    """Archives every downloaded http(s) response with its request, from
    ``signals.response_downloaded`` (before any downloader middleware decompresses or
    otherwise changes the response), through the crawl run's ``Recorder``.

    Settings: GOVCRAWL_WARC_PREFIX ("govcrawl"), GOVCRAWL_WARC_MAX_SIZE (1e9 bytes),
    GOVCRAWL_WARC_OPERATOR (warcinfo). The archive folder and capture index are the crawl run's
    (crawler.run.CrawlRunExtension). Sets ``request.meta["capture"]`` (crawler.items.Capture).
    """

    def __init__(self, crawler: Crawler, config: WarcConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.run: CrawlRun | None = None
        self.recorder: Recorder | None = None
        self.write_error: str | None = None
        self.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveExtension:
        from scrapy import signals

        ext = cls(crawler, WarcConfig.from_settings(crawler.settings))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    # -- signals ---------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        # The run exists once every extension is built (CrawlRunExtension comes first).
        self.run = crawl_run(self.crawler)
        settings = self.crawler.settings
        self.recorder = self.run.open_recorder(
            prefix=self.config.prefix,
            max_size=self.config.max_size,
            warcinfo={
                "software": _software(),
                "operator": self.config.operator,
                "http-header-user-agent": settings.get("USER_AGENT"),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "isPartOf": settings.get("BOT_NAME"),
            },
            on_sealed=[self._sealed],
        )

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run is None:
            return
        try:
            self.run.close_recorder()
        except OSError as exc:  # a full disk: the next crawl's recovery seals the .open file
            logger.error("cannot seal the WARC file: %s", exc.strerror or exc)

    def _sealed(self, path: Path) -> None:
        if self.stats is not None:
            self.stats.inc_value("govcrawl/warc/files")
        self.crawler.signals.send_catch_log(signal=warc_sealed, path=path)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if urlsplit(response.url).scheme not in ("http", "https"):
            return
        assert self.recorder is not None, "response before spider_opened"
        if self.write_error is not None:
            request.meta[UNARCHIVED] = True  # dropped by the guard middleware, never parsed
            return
        earlier = request.meta.pop("fleet_capture", None)
        if earlier is not None and (earlier.url, earlier.http_status) == (
            response.url,
            response.status,
        ):
            # A fleet's re-delivered request captured by its first attempt (crawler/fleet.py);
            # a different answer (the 200 after a 503) is a capture of its own.
            request.meta["capture"] = earlier
            return
        exchange = _exchange(response, request, self._challenge(response))
        try:
            request.meta["capture"] = self.recorder.record(
                exchange, known_original=self._known_original(request, response)
            )
        except Exception as exc:  # OSError; SQLite's "database or disk is full"
            # Disk full, archive gone: crawling on would fetch pages nobody keeps. What is
            # written stays (the open WARC is cut back to its last whole record and sealed).
            reason = getattr(exc, "strerror", None) or str(exc)
            self.write_error = f"cannot write the archive: {reason}"
            logger.error("%s; closing the spider", self.write_error)
            if self.stats is not None:
                self.stats.set_value("govcrawl/warc/write_error", self.write_error)
            request.meta[UNARCHIVED] = True
            self._close_spider("warc_write_error")
            return
        if exchange.truncated and self.run is not None:
            self.run.truncated_urls.add(exchange.url)
        if exchange.truncated and self.stats is not None:
            # Archived as far as it arrived (WARC-Truncated), parsed, and counted.
            self.stats.inc_value("govcrawl/truncated")
            self.stats.inc_value(f"govcrawl/truncated/{exchange.truncated}")
        self._copy_stats()

    def _known_original(
        self, request: Request, response: Response
    ) -> tuple[CaptureRow, ArchivedRecord] | None:
        """For a 304 to a conditional request: the original it stands for, read once for the
        revisit's headers here and the archived response the conditional middleware returns."""
        if response.status != 304 or self.run is None:
            return None
        try:
            return archived_original(request, self.run.reader, self.max_bytes)
        except RecordNotFound:
            return None  # the recorder and the middleware each say so

    def _challenge(self, response: Response) -> str | None:
        """The anti-bot signature the response matches (its body decoded, bounded), or None."""
        profiles = getattr(self.crawler.spider, "profiles", None)
        if profiles is None:
            return None
        profile = profiles.for_host(urlsplit(response.url).hostname or "")
        limit = max((c.max_bytes for c in profile.challenges), default=0)
        if not any(response.status in c.statuses for c in profile.challenges):
            return None
        encoding = response.headers.get(b"Content-Encoding")
        body = decode_content(response.body, encoding.decode("latin-1") if encoding else None,
                              limit + 1)  # fmt: skip
        return profile.challenge_for(response.status, body)

    def _close_spider(self, reason: str) -> None:
        from scrapy.utils.defer import deferred_from_coro

        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    def _copy_stats(self) -> None:
        if self.stats is None or self.recorder is None:
            return
        rs = self.recorder.stats
        self.stats.set_value("govcrawl/warc/records", rs.records)
        self.stats.set_value("govcrawl/warc/revisits", rs.revisits)
        self.stats.set_value("govcrawl/warc/bytes", rs.bytes)
        for status, n in rs.by_status.items():
            self.stats.set_value(f"govcrawl/captures/{status}", n)

    # -- records added later by pipelines --------------------------------------------------

    def write_capture_metadata(self, capture: Capture, fields: Mapping[str, Any]) -> RecordLocation:
        """A metadata record (e.g. clicks, published, outlinks) referring to ``capture``."""
        assert self.recorder is not None
        loc = self.recorder.write_capture_metadata(capture, fields)
        self._copy_stats()
        return loc

    def write_text_conversion(self, capture: Capture, text: str) -> RecordLocation:
        """A conversion record with the extracted text of ``capture``'s payload."""
        assert self.recorder is not None
        loc = self.recorder.write_text_conversion(capture, text)
        self._copy_stats()
        return loc


def _exchange(response: Response, request: Request, challenge: str | None = None) -> Exchange:
    # Scrapy marks a body cut short by the connection closing early as "dataloss".
    truncated = "disconnect" if {"dataloss", "partial"} & set(response.flags) else None
    return Exchange(
        url=response.url,
        status=response.status,
        headers=_header_pairs(response.headers),
        body=response.body,
        method=request.method,
        request_headers=_request_headers(request),
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=truncated,
        challenge=challenge,
    )


def _software() -> str:
    from importlib.metadata import version

    from crawler import __version__

    return f"govcrawl/{__version__} (Scrapy/{version('scrapy')}; warcio/{version('warcio')})"
