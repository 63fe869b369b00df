"""Extraction stage: clean text, statistical tables and attachment text for report items.

trafilatura costs ~12 ms a page, so extraction runs in a worker process, off the Twisted reactor:
the crawl never waits on it. Only report candidates get here.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from scrapy.crawler import Crawler

from govcrawl.extract.report import extract_report
from pipelines.items import ReportItem

logger = logging.getLogger(__name__)

class ExtractPipeline:
    def __init__(self, crawler: Crawler, workers: int) -> None:
        self.crawler = crawler
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler, crawler.settings.getint("GOVCRAWL_EXTRACT_WORKERS", 1))

    def open_spider(self) -> None:
        if self.workers > 0:
            # forkserver: forking the reactor's process would copy its threads and sockets.
            ctx = multiprocessing.get_context("forkserver")
            self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)

    def close_spider(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        args = (item.url, item.html, item.attachments)
        try:
            if self.executor is None:
                result = extract_report(*args)
            else:
                result = await asyncio.wrap_future(self.executor.submit(extract_report, *args))
        except Exception:
            logger.exception("extraction failed for %s", item.url)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("govcrawl/extract/failed")
            result = {
                "text": "",
                "tables": None,
                "tables_from": None,
                "attachments": [],
                "report_attachment": None,
            }
        item.text = result["text"]
        item.tables = result["tables"]
        item.extra["tables_from"] = result["tables_from"]
        captures = {a["url"]: a.get("capture") for a in item.attachments}
        item.attachments = [dict(s, capture=captures.get(s["url"])) for s in result["attachments"]]
        if result.get("report_attachment"):
            doc = result["report_attachment"]
            item.extra["landing_url"] = item.url
            item.url, item.capture = doc, captures.get(doc)
            item.attachments = [a for a in item.attachments if a["url"] != doc]
        return item
