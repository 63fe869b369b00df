"""Recording stage: per-capture report fields in the capture index, WARC metadata and conversion
records, and ARCHIVE/reports.jsonl (one record per report URL, latest capture).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.dedupe import assign_group, text_fingerprint
from govcrawl.archive.reports import (
    SCHEMA_VERSION,
    content_digest,
    read_journal,
    read_reports,
    unify_groups,
    write_reports,
)
from govcrawl.fleet import Fleet, connect
from govcrawl.run import REPORT, CrawlRun, gone_evidence, run_of
from pipelines.items import Capture, ReportItem

logger = logging.getLogger(__name__)


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
        "landing_url": item.extra.get("landing_url"),
        # Why text and tables are missing when extraction failed (pipelines/extract.py).
        "extract_error": item.extra.get("extract_error"),
        "published_earlier": [],
        "content_digest": None,
        "gone": None,
    }


class ReportRecordPipeline:
    def __init__(self, crawler: Crawler, run: CrawlRun) -> None:
        self.crawler = crawler
        self.run = run
        self.layout = run.layout
        self.index: CaptureIndex | None = None
        self.previous: dict[str, dict[str, Any]] = {}
        self.current: dict[str, dict[str, Any]] = {}
        self.journal_path = self.layout.root / "reports.journal.jsonl"
        self.journal: Any = None
        self.interrupted: dict[str, dict[str, Any]] = {}
        self.redirected_from: set[str] = set()
        # A fleet worker (crawler/fleet.py): records go to the shared capture index, judged
        # against its records; `govcrawl publish` writes reports.jsonl.
        settings = crawler.settings
        self.fleet_round: int | None = None
        self.fleet: Fleet | None = None
        if settings.get("GOVCRAWL_FLEET"):
            self.fleet_round = settings.getint("GOVCRAWL_FLEET_ROUND")
            self.fleet = Fleet(connect(settings["REDIS_URL"]), settings["GOVCRAWL_FLEET"])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReportRecordPipeline:
        run = run_of(crawler)
        if run is None:
            raise NotConfigured("no crawl run: crawler.run.CrawlRunExtension is not enabled")
        pipe = cls(crawler, run)
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        return pipe

    def open_spider(self) -> None:
        self.index = self.run.index
        if self.fleet_round is not None:
            return
        self.previous = read_reports(self.layout.reports_jsonl)
        # A crawl killed before its end left its records in the journal: they count as earlier.
        self.interrupted = read_journal(self.journal_path)
        self.previous.update(self.interrupted)
        self.journal = self.journal_path.open("a", encoding="utf-8")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        assert self.index is not None
        cap: Capture | None = item.capture
        group = None
        if cap is not None and cap.capture_id is not None:
            # Computed by the extraction worker (or kept from a reused extraction).
            fingerprint = item.extra.get("fingerprint") or text_fingerprint(item.text or "")
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
            warc = self.run.recorder
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
        previous = self._previous(item.url)
        if item.url in self.run.truncated_urls and previous and previous.get("status") != "gone":
            # A body cut short is archived as it came, but never replaces the record of a
            # complete capture: the report stays as it was (unchanged).
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("govcrawl/reports/kept_over_truncated")
            return item
        record = report_record(item, None if group is None else str(group))
        record["content_digest"] = content_digest(record)
        record["status"] = self._status(item, record, previous, cap)
        self.redirected_from.update(item.extra.get("redirected_from") or ())
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
        if self.fleet is not None and self.fleet_round is not None:
            self.fleet.note_redirects(self.fleet_round, item.extra.get("redirected_from") or ())
            self.index.put_report(record, round=self.fleet_round, run_id=self.run.run_id)
        else:
            self.journal.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.journal.flush()
        # Only now may later crawls skip the page as a recently checked report.
        self.run.mark_pages([item.url, item.extra.get("landing_url") or item.url], REPORT)
        return item

    def _previous(self, url: str) -> dict[str, Any]:
        if self.fleet_round is not None:
            assert self.index is not None
            return self.index.report_before(url, self.fleet_round) or {}
        return self.previous.get(url, {})

    def _status(
        self,
        item: ReportItem,
        record: dict[str, Any],
        previous: dict[str, Any],
        cap: Capture | None,
    ) -> str | None:
        """new / changed / unchanged, judged on the report's content (``content_digest``), not
        on its bytes: a printed visit count or a date header changes the page, not the report."""
        if cap is None:
            return None
        if not previous:
            # First recorded now: new, whatever errors came before.
            return "new"
        if item.url in self.interrupted:
            # Resuming a killed crawl: what it found then is what this crawl found.
            return str(self.interrupted[item.url]["status"])
        if previous.get("status") == "gone":
            return "changed"  # back after it was gone
        if previous.get("content_digest"):
            same = previous["content_digest"] == record["content_digest"]
            return "unchanged" if same else "changed"
        # A record from before content digests: its capture's payload decides.
        return "unchanged" if cap.status == "unchanged" else "changed"

    def _gone(self, url: str, old: dict[str, Any]) -> dict[str, Any] | None:
        assert self.index is not None
        page = old.get("landing_url") or url
        return gone_evidence(
            self.index,
            page,
            # Only this run's complete capture counts: a body cut short proves nothing.
            lambda last: last.run_id == self.run.run_id and page not in self.run.truncated_urls,
            self.redirected_from,
        )

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.index is None:
            return
        if self.fleet_round is not None:
            self._count(self.current)  # what this worker recorded; publish sees the round
            self.index = None
            return
        merged = dict(self.previous)
        for url, old in self.previous.items():
            if url in self.current:
                continue
            gone = self._gone(url, old)
            if gone is not None:
                merged[url] = dict(old, status="gone", gone=gone)
            elif old.get("status") != "gone":
                merged[url] = dict(old, status="unchanged")
        merged.update(self.current)
        unify_groups(merged)
        write_reports(self.layout.reports_jsonl, merged)
        self.journal.close()
        self.journal_path.unlink(missing_ok=True)
        # The run's counts are the statuses reports.jsonl now holds.
        self._count(merged)
        self.index = None  # the crawl run closes it when the engine stops

    def _count(self, records: dict[str, dict[str, Any]]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        for status in ("new", "changed", "unchanged", "gone"):
            count = sum(1 for r in records.values() if r["status"] == status)
            stats.set_value(f"govcrawl/reports/{status}", count)
