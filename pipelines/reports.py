"""Recording stage: per-capture report fields in the capture index, WARC metadata and conversion
records, and ARCHIVE/reports.jsonl (one record per report URL, latest capture).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.archive.captures import CaptureIndex, shared_index
from crawler.archive.layout import ArchiveLayout
from crawler.items import Capture, ReportItem
from crawler.revisit import REPORT, PageStates
from pipelines.dedupe import assign_group, text_fingerprint

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"
GONE_STATUSES = {404, 410}


def report_record(item: ReportItem, group: str | None) -> dict[str, Any]:
    """The stable export record of DESIGN.md's command-line contract."""
    cap = item.capture
    return {
        "schema_version": SCHEMA_VERSION,
        "url": item.url,
        "title": item.title,
        "agency": item.agency,
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


def read_reports(path: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rec = json.loads(line)
                    records[rec["url"]] = rec
    return records


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """Records a killed crawl appended before it could write reports.jsonl (a torn last line is
    skipped: its capture is re-recorded by the next crawl)."""
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "url" in rec:
                    records[rec["url"]] = rec
    return records


def write_reports(path: Path, records: dict[str, dict[str, Any]]) -> None:
    """Write sorted by URL to a temporary name and rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for url in sorted(records):
            fh.write(json.dumps(records[url], ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


_VARIANT_WORDS = re.compile(r"[（(]?(图片版|图文版|超链版|文字版|PDF版|pdf版|全文)[）)]?|\s+")


def unify_groups(records: dict[str, dict[str, Any]]) -> None:
    """Copies of one report share a group: same text (MinHash groups from the dedupe stage) or,
    for copies with no text to compare (图片版 scans), the same agency, year and title once
    variant words are dropped."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for url, rec in records.items():
        keys = [f"url:{url}"]
        if rec.get("group") is not None:
            keys.append(f"fp:{rec['group']}")
        title = _VARIANT_WORDS.sub("", rec.get("title") or "")
        if title and rec.get("year") and rec.get("agency"):
            keys.append(f"title:{rec['agency']}|{rec['year']}|{title}")
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    labels: dict[str, list[int]] = {}
    for url, rec in records.items():
        if rec.get("group") is not None:
            labels.setdefault(find(f"url:{url}"), []).append(int(rec["group"]))
    for url, rec in records.items():
        ids = labels.get(find(f"url:{url}"))
        rec["group"] = str(min(ids)) if ids else None


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

    def _warc(self) -> Any:
        from pipelines.warc import get_warc_extension

        return get_warc_extension(self.crawler)

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
