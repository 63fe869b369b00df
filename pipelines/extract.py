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
from urllib.parse import urlsplit

from scrapy.crawler import Crawler

from crawler.items import ReportItem
from crawler.parsing.attachments import AttachmentError, UnsupportedAttachment, extract_attachment_text
from crawler.parsing.tables import parse_tables
from crawler.parsing.text import extract_text

logger = logging.getLogger(__name__)


def extract_report(url: str, html: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: text, tables and attachment summaries of one report (runs in a worker process)."""
    text = extract_text(html, url) if html else ""
    tables = parse_tables(html) if html else None
    tables_from = url if tables else None
    summaries = []
    attachment_texts = []
    for att in attachments:
        name = urlsplit(att["url"]).path.rsplit("/", 1)[-1]
        summary: dict[str, Any] = {"url": att["url"], "content_type": att.get("content_type")}
        try:
            att_text = extract_attachment_text(att["body"], name, att.get("content_type"))
        except (UnsupportedAttachment, AttachmentError) as exc:
            summary["error"] = str(exc)
            summaries.append(summary)
            continue
        summary["text_chars"] = len(att_text)
        attachment_texts.append(att_text)
        if tables is None:
            tables = parse_tables(att_text)
            if tables is not None:
                tables_from = att["url"]
        summaries.append(summary)
    if len(text) < 200 and attachment_texts:
        # A page that only wraps its attachment: the attachment is the report's text.
        text = "\n\n".join(t for t in [text, *attachment_texts] if t)
    return {"text": text, "tables": tables, "tables_from": tables_from, "attachments": summaries}


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
            result = {"text": "", "tables": None, "tables_from": None, "attachments": []}
        item.text = result["text"]
        item.tables = result["tables"]
        item.extra["tables_from"] = result["tables_from"]
        captures = {a["url"]: a.get("capture") for a in item.attachments}
        item.attachments = [dict(s, capture=captures.get(s["url"])) for s in result["attachments"]]
        return item
