"""Conditional requests for URLs already in the archive; a 304 becomes the archived response.

Request: for a URL whose last capture carries validators (and whose full response is still
indexed and was a 200), add ``If-None-Match`` (its ETag) and ``If-Modified-Since`` (its
Last-Modified).

Response: the WARC stage has already archived a ``304 Not Modified`` as a server-not-modified
revisit (``response_downloaded`` comes before any middleware). This middleware then answers the
request with the archived original, exactly as it was received (status, headers, body still in
its Content-Encoding), the way Scrapy's ``HttpCacheMiddleware`` answers a 304 from its cache. It
sits closest to the downloader, so every later component (decompression, robots.txt, the spider,
the pipelines) sees a full response and never needs to know. The response carries the flag
``not_modified`` and keeps ``meta["capture"]`` (the revisit). The original is read through the
crawl run's record reader, so it may live in a local WARC or only in the store; its payload is
read up to DOWNLOAD_MAXSIZE.

Switch off per request with ``meta={"conditional": False}`` (click counters, whose body changes
while the server may still claim it did not), or for the crawl with
GOVCRAWL_CONDITIONAL_REQUESTS = False.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from crawler.run import CrawlRun, crawl_run
from govcrawl.archive.captures import CaptureRow
from govcrawl.archive.reader import ArchivedRecord, RecordNotFound, RecordReader

logger = logging.getLogger(__name__)

_VALIDATOR_HEADERS = (b"If-None-Match", b"If-Modified-Since", b"If-Match", b"If-Range")
_ORIGINAL = "_conditional_original"  # request.meta key: the CaptureRow the validators came from
_ORIGINAL_READ = "_conditional_original_read"  # request.meta key: that row's record, once read


def archived_original(
    request: Request, reader: RecordReader, max_bytes: int
) -> tuple[CaptureRow, ArchivedRecord] | None:
    """The capture row whose validators ``request`` sent and its record (payload at most
    ``max_bytes``), or None when the request was not made conditional by this middleware.

    Read once per request: the WARC stage (the revisit's headers) and this middleware (the
    response) both need it for a 304. Raises RecordNotFound when it cannot be read."""
    original: CaptureRow | None = request.meta.get(_ORIGINAL)
    if original is None:
        return None
    done = request.meta.get(_ORIGINAL_READ)
    if done is not None and done[0] is original:
        return original, done[1]
    rec = reader.read(original.warc, original.offset, original.length, max_bytes=max_bytes)
    request.meta[_ORIGINAL_READ] = (original, rec)
    return original, rec


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler, run: CrawlRun, max_bytes: int) -> None:
        self.crawler = crawler
        self.run = run
        self.max_bytes = max_bytes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        settings = crawler.settings
        if not settings.getbool("GOVCRAWL_CONDITIONAL_REQUESTS"):
            raise NotConfigured("GOVCRAWL_CONDITIONAL_REQUESTS is off")
        return cls(crawler, crawl_run(crawler), settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request: Request) -> Any:
        if request.meta.get("conditional") is False or request.method not in ("GET", "HEAD"):
            return None
        if any(name in request.headers for name in _VALIDATOR_HEADERS):
            return None  # the spider asked for its own conditions
        index = self.run.index
        last = index.last_capture(request.url)
        if (
            last is None
            or not (last.etag or last.last_modified)
            or last.http_status not in (200, 304)
        ):
            return None
        # Only ask "changed?" when a 304 can be answered from the archive: the full response
        # the last capture rests on is still indexed and was a success.
        original = (
            last if last.record_type == "response" else index.original_for(request.url, last.digest)
        )
        if original is None or original.http_status != 200:
            return None
        if last.etag:
            request.headers[b"If-None-Match"] = last.etag
        if last.last_modified:
            request.headers[b"If-Modified-Since"] = last.last_modified
        request.meta[_ORIGINAL] = original
        self._inc("govcrawl/conditional/requests")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        original: CaptureRow | None = request.meta.get(_ORIGINAL)
        if response.status != 304 or original is None:
            return response
        try:
            found = archived_original(request, self.run.reader, self.max_bytes)
            assert found is not None
            rec = found[1]
            request.meta.pop(_ORIGINAL_READ, None)  # the response carries it on
        except RecordNotFound as exc:
            logger.warning("304 for %s but its original is unreadable: %s", request.url, exc)
            self._inc("govcrawl/conditional/original_unreadable")
            return response
        if rec.rec_type != "response" or rec.status is None:
            logger.warning("304 for %s: %s:%s is not a response", request.url, original.warc,
                           original.offset)  # fmt: skip
            return response
        if rec.truncated:
            logger.warning("archived original of %s is larger than DOWNLOAD_MAXSIZE", request.url)
        headers = Headers()
        for name, value in rec.http_header_bytes():
            if name.lower() != b"x-archive-orig-transfer-encoding":  # the body is de-chunked
                headers.appendlist(name, value)
        flags = ["not_modified"] + (["dataloss"] if rec.truncated else [])
        cls = responsetypes.from_args(headers=headers, url=request.url, body=rec.payload)
        self._inc("govcrawl/conditional/not_modified")
        return cls(
            url=request.url,
            status=rec.status,
            headers=headers,
            body=rec.payload,
            flags=flags,
            request=request,
            protocol=response.protocol,
            ip_address=response.ip_address,
        )

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)
