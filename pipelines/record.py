"""Recording stage: per-capture report fields in the capture index, WARC metadata and conversion
records, and ARCHIVE/reports.jsonl (one record per report URL, latest capture).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.extensions.warc import WarcArchiveExtension
from crawler.items import Capture, ReportItem
from crawler.middlewares.revisit import REPORT, PageStates
from govcrawl.archive.captures import CaptureIndex, shared_index
from govcrawl.archive.dedupe import assign_group, text_fingerprint
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.reports import (
    SCHEMA_VERSION,
    read_journal,
    read_reports,
    unify_groups,
    write_reports,
)

logger = logging.getLogger(__name__)

GONE_STATUSES = {404, 410}


def report_record(item: ReportItem, group: str | None) -> dict[str, Any]:
    """The stable export record of DESIGN.md's command-line contract."""
    cap = item.capture
    return {
        "schema_version": SCHEMA_VERSION,
        "url": item.url,
        "title": item.title,
        "agency": item.agency,
        "agency_from": item.extra.get("agency_from"),
        "agency_evidence": item.extra.get("agency_evidence"),
        "source": item.source,
        "year": item.year,
        "published": item.published,
        "clicks": item.clicks,
        "text": item.text,
        "fetched": cap.fetched if cap else None,
        "digest": cap.digest if cap else None,
        "warc": cap.warc if cap else None,
        "offset": cap.offset if cap else None,
        "status": cap.status if cap else None,
        "group": group,
        "counter_url": item.counter_url,
        "attachments": [
            {k: v for k, v in a.items() if k != "capture"}
            | {
                "warc": a["capture"].warc if a.get("capture") else None,
                "offset": a["capture"].offset if a.get("capture") else None,
            }
            for a in item.attachments
        ],
        "tables": item.tables,
        "tables_from": item.extra.get("tables_from"),
        "published_earlier": [],
    }


class ReportRecordPipeline:
    def __init__(self, crawler: Crawler, layout: ArchiveLayout) -> None:
        self.crawler = crawler
        self.layout = layout
        self.index: CaptureIndex | None = None
        self.previous: dict[str, dict[str, Any]] = {}
        self.current: dict[str, dict[str, Any]] = {}
        self.journal_path = layout.root / "reports.journal.jsonl"
        self.journal: Any = None
        self.interrupted: dict[str, dict[str, Any]] = {}
        self.page_states = PageStates.for_archive(layout.root)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReportRecordPipeline:
        layout = ArchiveLayout.open(Path(crawler.settings.get("GOVCRAWL_ARCHIVE_DIR", "archive")))
        pipe = cls(crawler, layout)
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        return pipe

    def open_spider(self) -> None:
        # The WARC stage's index (SQLite file or PostgreSQL schema), shared per crawler.
        self.index = shared_index(self.crawler)
        self.previous = read_reports(self.layout.reports_jsonl)
        # A crawl killed before its end left its records in the journal: they count as earlier.
        self.interrupted = read_journal(self.journal_path)
        self.previous.update(self.interrupted)
        self.journal = self.journal_path.open("a", encoding="utf-8")

    def _warc(self) -> WarcArchiveExtension | None:
        return self.crawler.get_extension(WarcArchiveExtension)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        assert self.index is not None
        cap: Capture | None = item.capture
        group = None
        if cap is not None and cap.capture_id is not None:
            fingerprint = text_fingerprint(item.text or "")
            self.index.update_report(
                cap.capture_id,
                published=item.published,
                clicks=item.clicks,
                title=item.title,
                agency=item.agency,
                year=item.year,
                source=item.source,
                fingerprint=fingerprint,
            )
            group = assign_group(self.index, cap.capture_id, fingerprint)
            warc = self._warc()
            if warc is not None:
                warc.write_capture_metadata(
                    cap,
                    {
                        "published": item.published,
                        "clicks": item.clicks,
                        "counter-url": item.counter_url,
                        "title": item.title,
                        "agency": item.agency,
                        "year": item.year,
                        "outlink": item.extra.get("outlinks", []),
                    },
                )
                if item.text and cap.record_type == "response":
                    # A revisit's text is its original's, already stored next to that original.
                    warc.write_text_conversion(cap, item.text)
        record = report_record(item, None if group is None else str(group))
        if item.url not in self.previous and record["status"] is not None:
            # Status speaks of the report: first recorded now is new, whatever errors came before.
            record["status"] = "new"
        elif record["status"] == "unchanged" and item.url in self.interrupted:
            # Resuming a killed crawl: what it found then is what this crawl found.
            record["status"] = self.interrupted[item.url]["status"]
        previous = self.previous.get(item.url, {})
        earlier = list(previous.get("published_earlier") or [])
        if previous.get("published") and previous["published"] != record["published"]:
            # The portal changed the report's date: flag it and keep what it said before.
            earlier.append(previous["published"])
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("govcrawl/reports/redated")
            logger.warning(
                "publication date of %s changed: %s -> %s",
                item.url,
                previous["published"],
                record["published"],
            )
        record["published_earlier"] = earlier
        self.current[item.url] = record
        self.journal.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.journal.flush()
        # Only now may later crawls skip the page as a recently checked report.
        for url in {item.url, item.extra.get("landing_url") or item.url}:
            self.page_states.mark(url, REPORT)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"govcrawl/reports/{record['status'] or 'unknown'}")
        return item

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.index is None:
            return
        merged = dict(self.previous)
        for url, old in self.previous.items():
            if url in self.current:
                continue
            last = self.index.last_capture(url)
            gone = last is not None and last.http_status in GONE_STATUSES
            merged[url] = dict(old, status="gone" if gone else "unchanged")
        merged.update(self.current)
        unify_groups(merged)
        write_reports(self.layout.reports_jsonl, merged)
        self.journal.close()
        self.journal_path.unlink(missing_ok=True)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(
            "govcrawl/reports/gone", sum(1 for r in merged.values() if r["status"] == "gone")
        )
        self.index = None  # closed by shared_index when the engine stops
