"""Per-host page budget of discovery: what a portal may cost, and what the budget cut.

Requests the spider marks ``meta["budget"]`` (menus, lists, items, sitemap entries, list
endpoints) count against their host's ``[discovery] host_page_budget`` (site profile,
crawler/sites/). The scheduler hands out the highest priority first (best-first discovery), so
what a full budget turns away is the least promising rest: each one is dropped with
IgnoreRequest and counted (``govcrawl/budget/cut``, per host and per page role), and the run
summary says so. robots.txt, requisites, click counters, attachments and reports recorded by
earlier crawls are never counted. Whole-site mode (GOVCRAWL_FOLLOW_ALL) has no budget.

State is one counter per host (the hosts of one crawl are few), never per URL.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

logger = logging.getLogger(__name__)


class HostBudgetMiddleware:
    """Downloader middleware: drop discovery requests past their host's page budget."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.spent: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostBudgetMiddleware:
        if crawler.settings.getbool("GOVCRAWL_FOLLOW_ALL"):
            raise NotConfigured("whole-site mode: no discovery budget")
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        if not request.meta.get("budget") or request.meta.get("budget_counted"):
            return None
        profiles = getattr(self.crawler.spider, "profiles", None)
        host = urlsplit(request.url).hostname or ""
        if profiles is None:
            return None
        limit = profiles.for_host(host).discovery.host_page_budget
        spent = self.spent.get(host, 0)
        if limit and spent >= limit:
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value("govcrawl/budget/cut")
            stats.inc_value(f"govcrawl/budget/cut_host/{host}")
            stats.inc_value(f"govcrawl/budget/cut_role/{request.meta.get('role', 'other')}")
            if spent == limit:
                logger.warning("page budget of %s spent (%d pages); the rest is cut", host, limit)
                self.spent[host] = spent + 1  # warn once
            raise IgnoreRequest(f"page budget of {host} spent ({limit} pages)")
        self.spent[host] = spent + 1
        # Retries and redirects come back through here: they are the same page.
        request.meta["budget_counted"] = True
        return None
