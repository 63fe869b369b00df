"""A one-line progress display on a terminal (enabled by the CLI only when stderr is a tty)."""

from __future__ import annotations

import sys

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task


class ProgressBar:
    def __init__(self, crawler: Crawler, interval: float = 1.0) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressBar:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval)

    def show(self) -> None:
        assert self.crawler.stats is not None
        get = self.crawler.stats.get_value
        line = (
            f"\rpages {get('response_received_count', 0)}  "
            f"queued {get('scheduler/enqueued', 0)}  "
            f"reports {get('govcrawl/reports/seen', 0)}  "
            f"errors {get('log_count/ERROR', 0)}"
        )
        sys.stderr.write(line)
        sys.stderr.flush()

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
            self.show()
            sys.stderr.write("\n")
