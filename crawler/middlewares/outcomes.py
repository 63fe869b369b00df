"""Scrapy's decompression and redirect middlewares, counting what they drop.

Both raise ``IgnoreRequest`` for a response they refuse (a body that inflates past
DOWNLOAD_MAXSIZE; a redirect chain longer than REDIRECT_MAX_TIMES), and nothing else hears of it:
these subclasses add ``govcrawl/skipped/<reason>`` stats, which the run summary reports under
``outcomes.skipped`` (the response itself is already archived, compressed, as received). And a
response the WARC stage could not write is dropped before anything parses it.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response


def _skipped(stats: Any, reason: str) -> None:
    if stats is not None:
        stats.inc_value(f"govcrawl/skipped/{reason}")


class CountingHttpCompressionMiddleware(HttpCompressionMiddleware):
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            _skipped(self.stats, "inflates_too_large")
            raise


class CountingRedirectMiddleware(RedirectMiddleware):
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            reason = "redirect_limit" if "max redirections" in str(exc) else "redirect_refused"
            _skipped(self.crawler.stats, reason)
            raise


class UnarchivedResponseMiddleware:
    """Drops a response the WARC stage could not write (disk full): nothing is parsed or
    recorded that the archive does not hold. Closest to the downloader."""

    def process_response(self, request: Request, response: Response) -> Response:
        from crawler.extensions.warc import UNARCHIVED

        if request.meta.get(UNARCHIVED):
            raise IgnoreRequest("not archived: the WARC could not be written")
        return response
