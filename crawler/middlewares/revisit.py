"""Revisit policy for scheduled crawls: lists and reports every run, articles now and then.

The spider records what each page turned out to be (``list``, ``leaf`` article or ``report``) in
the capture index's page table (shared by every worker of a fleet). This middleware skips an
ordinary article fetched more recently than GOVCRAWL_REVISIT_INTERVAL. Lists, menus, sitemaps,
robots.txt, reports and their click counters are fetched on every run by default
(GOVCRAWL_REPORT_RECHECK = 0): they are few, and conditional requests keep them cheap.

"Due" is decided with slack (GOVCRAWL_SCHEDULE_SLACK seconds, default 6 h): a page is due when
``now - seen + slack >= interval``, so a nightly job that reaches a page a few minutes earlier
than the night before still fetches it, instead of alternating between fetching and skipping.
Time comes from the crawl's clock (``govcrawl.clock``). After a killed crawl everything is due
once (``CrawlRun.recheck_all``).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawler.run import crawl_run
from govcrawl.clock import clock
from govcrawl.run import LEAF, REPORT, CrawlRun

logger = logging.getLogger(__name__)


class RevisitPolicyMiddleware:
    """Downloader middleware: skip pages seen recently (see module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        run: CrawlRun,
        leaf_interval: float,
        report_interval: float,
        slack: float,
    ) -> None:
        self.crawler = crawler
        self.run = run
        self.intervals = {LEAF: leaf_interval, REPORT: report_interval}
        self.slack = slack

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RevisitPolicyMiddleware:
        settings = crawler.settings
        return cls(
            crawler,
            crawl_run(crawler),
            settings.getfloat("GOVCRAWL_REVISIT_INTERVAL"),
            settings.getfloat("GOVCRAWL_REPORT_RECHECK"),
            settings.getfloat("GOVCRAWL_SCHEDULE_SLACK"),
        )

    def due(self, kind: str, seen: float, now: float) -> bool:
        interval = self.intervals.get(kind)
        return interval is None or interval <= 0 or now - seen + self.slack >= interval

    def process_request(self, request: Request) -> Any:
        if request.dont_filter or self.run.recheck_all:
            return None
        state = self.run.index.page_state(request.url)
        if state is None:
            return None
        kind, seen = state
        now = clock.time()
        if self.due(kind, seen, now):
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"govcrawl/revisit/skipped_{kind}")
        raise IgnoreRequest(f"{kind} seen {now - seen:.0f}s ago")
