"""Bounds crawler traps that URL rules cannot name in advance.

Calendars, endless query-string variants and self-repeating paths produce unlimited distinct URLs.
This middleware counts distinct query strings per path and drops requests past the profile's bound,
and drops paths whose segments repeat. Requests the spider builds itself (counters, list endpoints,
robots.txt, sitemaps) carry ``meta["trap_exempt"]``.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)

_REPEATED_SEGMENTS = re.compile(r"(/[^/]+)(/[^/]+)?\1\2?\1")


class TrapGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._variants: dict[tuple[str, str], set[int]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        if request.meta.get("trap_exempt"):
            return None
        parts = urlsplit(request.url)
        reason = None
        if _REPEATED_SEGMENTS.search(parts.path):
            reason = "repeated path segments"
        elif parts.query:
            profiles = getattr(self.crawler.spider, "profiles", None)
            limit = (
                profiles.for_host(parts.hostname or "").max_query_variants_per_path
                if profiles
                else 20
            )
            seen = self._variants.setdefault((parts.netloc, parts.path), set())
            key = hash(parts.query)
            if key not in seen:
                if len(seen) >= limit:
                    reason = f"more than {limit} query variants of one path"
                else:
                    seen.add(key)
        if reason is None:
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("govcrawl/traps/dropped")
        logger.info("trap bound: dropped %s (%s)", request.url, reason)
        raise IgnoreRequest(reason)
