"""Conditional requests for URLs already in the archive.

For a URL whose last capture carries validators, add ``If-None-Match`` (its ETag) and
``If-Modified-Since`` (its Last-Modified). A server that honours them answers ``304 Not
Modified`` with no body; the WARC stage archives that as a ``server-not-modified`` revisit
referring to the last full capture, and hands the spider the original payload.

What a spider must do with a 304 (see pipelines/warc.py, WarcArchiveExtension):
- let it through: ``handle_httpstatus_list = [304]`` on the spider (or HTTPERROR_ALLOWED_CODES
  containing 304), otherwise HttpErrorMiddleware drops it after it was archived;
- read the page from ``response.meta["original_payload"]`` (bytes, Content-Encoding undone),
  not from ``response.body`` (empty); its type is ``response.meta["original_content_type"]``
  because a 304 usually carries no Content-Type. ``response.meta["original_capture"]`` says
  where the original lives; ``pipelines.warc.read_payload(layout, capture)`` re-reads it;
- keep ``response.meta["capture"]`` (the revisit, status ``unchanged``) on the item, like any other.

Switch off per request with ``meta={"conditional": False}`` (e.g. click counters, whose body
changes while the server may still claim it did not), or for the crawl with
GOVCRAWL_CONDITIONAL_REQUESTS = False.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from govcrawl.archive.captures import CaptureIndex, shared_index

logger = logging.getLogger(__name__)

_VALIDATOR_HEADERS = (b"If-None-Match", b"If-Modified-Since", b"If-Match", b"If-Range")


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler, index: CaptureIndex) -> None:
        self.crawler = crawler
        self.index = index

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        settings = crawler.settings
        if not settings.getbool("GOVCRAWL_CONDITIONAL_REQUESTS", True):
            raise NotConfigured("GOVCRAWL_CONDITIONAL_REQUESTS is off")
        if not (settings.get("GOVCRAWL_ARCHIVE_DIR") or settings.get("GOVCRAWL_CAPTURE_INDEX")):
            raise NotConfigured("no archive: GOVCRAWL_ARCHIVE_DIR is not set")
        return cls(crawler, shared_index(crawler))

    def process_request(self, request: Request) -> Any:
        if request.meta.get("conditional") is False or request.method not in ("GET", "HEAD"):
            return None
        if any(name in request.headers for name in _VALIDATOR_HEADERS):
            return None  # the spider asked for its own conditions
        last = self.index.last_capture(request.url)
        if (
            last is None
            or not (last.etag or last.last_modified)
            or last.http_status not in (200, 304)
        ):
            return None
        # Only ask "changed?" when a 304 could be answered from the archive: the full response
        # the last capture rests on is still indexed and was a success (a 304 "confirming" an
        # error page or an earlier bodiless 304 would leave the spider with nothing to read).
        original = (
            last
            if last.record_type == "response"
            else self.index.original_for(request.url, last.digest)
        )
        if original is None or original.http_status != 200:
            return None
        if last.etag:
            request.headers[b"If-None-Match"] = last.etag
        if last.last_modified:
            request.headers[b"If-Modified-Since"] = last.last_modified
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("govcrawl/conditional/requests")
        return None
