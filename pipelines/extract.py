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
from crawler.parsing.attachments import (
    AttachmentError,
    UnsupportedAttachment,
    extract_attachment_text,
)
from crawler.parsing.tables import parse_tables
from crawler.parsing.text import extract_text

logger = logging.getLogger(__name__)

# A page with less clean text than this that links one document is a landing page for it.
LANDING_PAGE_CHARS = 300
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps")


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
    report_attachment = None
    documents = [
        (summary, att_text)
        for summary, att_text in zip(
            [x for x in summaries if "text_chars" in x], attachment_texts, strict=True
        )
        if urlsplit(summary["url"]).path.lower().endswith(DOCUMENT_EXTENSIONS)
    ]
    if len(text) < LANDING_PAGE_CHARS and len(documents) == 1:
        # A landing page that only wraps one document: the document is the report.
        report_attachment, text = documents[0][0]["url"], documents[0][1]
    return {
        "text": text,
        "tables": tables,
        "tables_from": tables_from,
        "attachments": summaries,
        "report_attachment": report_attachment,
    }


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
