"""Anti-bot challenge pages are never content: they are counted, and their host may be blocked.

Gateways in front of many provincial portals answer a client that runs no JavaScript with a
small page (HTTP 412, 202, 521 ...) whose script computes a cookie and reloads. The WARC stage
has archived that answer as received (``response_downloaded`` comes first); this middleware
then recognises it by its site profile's ``[[challenges]]`` signatures (status, size, script
markers; crawler/sites/generic.toml) and drops it before the spider could take it for a page,
so it is never classified, never replaces a report's good capture in reports.jsonl and never
makes a report look gone.

Stats: ``govcrawl/blocked`` (challenge pages), ``govcrawl/blocked/<signature>``,
``govcrawl/blocked_host/<host>`` and ``govcrawl/answered_host/<host>`` (responses that were not
challenges). The run summary's ``blocked.hosts`` lists hosts that answered only challenges;
a crawl whose every seed host is blocked exits 5 (crawler/run.py).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

logger = logging.getLogger(__name__)


class ChallengePage(IgnoreRequest):
    """The response was an anti-bot challenge (the signature's name is the message)."""


class ChallengeMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChallengeMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        profiles = getattr(self.crawler.spider, "profiles", None)
        host = (urlsplit(response.url).hostname or "").lower()
        stats = self.crawler.stats
        name = None
        if profiles is not None:
            # After HttpCompressionMiddleware: the body is decoded (and bounded) here.
            name = profiles.for_host(host).challenge_for(response.status, response.body)
        if name is None:
            if stats is not None:
                stats.inc_value(f"govcrawl/answered_host/{host}")
            return response
        if stats is not None:
            stats.inc_value("govcrawl/blocked")
            stats.inc_value(f"govcrawl/blocked/{name}")
            stats.inc_value(f"govcrawl/blocked_host/{host}")
        logger.info("anti-bot challenge (%s, HTTP %d) for %s", name, response.status, request.url)
        raise ChallengePage(name)
