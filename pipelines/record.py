"""Recording stage: per-capture report fields in the capture index, WARC metadata and conversion
records, and ARCHIVE/reports.jsonl (one record per report URL, latest capture).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.dedupe import assign_group, text_fingerprint
from govcrawl.archive.reports import (
    SCHEMA_VERSION,
    GroupUnifier,
    RecordFile,
    content_digest,
    write_report_lines,
)
from govcrawl.fleet import Fleet, connect
from govcrawl.run import REPORT, CrawlRun, gone_evidence, run_of
from pipelines.extract import previous_records
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
        # What parsing the page gave (crawler/spiders/portal.py), used again while its payload
        # is the same; not part of the export.
        "page": item.extra.get("page_facts"),
    }


class ReportRecordPipeline:
    """Records stay on disk for the whole run, so memory does not grow with the crawl: earlier
    records are read back by offset from reports.jsonl (``previous``) and from the journal a
    killed crawl left (``interrupted``); this run's go to the journal as they come, and only
    each URL's status and journal offset are kept. At the end reports.jsonl is rewritten by
    streaming them, one record in memory at a time."""

    def __init__(self, crawler: Crawler, run: CrawlRun) -> None:
        self.crawler = crawler
        self.run = run
        self.layout = run.layout
        self.index: CaptureIndex | None = None
        self.previous: RecordFile | None = None
        # This run's records: URL -> status (and, outside a fleet, journal offset).
        self.current: dict[str, str | None] = {}
        self.current_at: dict[str, int] = {}
        self.journal_path = self.layout.root / "reports.journal.jsonl"
        self.journal: Any = None
        self.interrupted: RecordFile | None = None
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
        self.previous = previous_records(self.run)
        # A crawl killed before its end left its records in the journal: they count as earlier.
        self.interrupted = RecordFile(self.journal_path)
        self.journal = self.journal_path.open("ab")
        if self.journal.tell() and not _ends_with_newline(self.journal_path):
            self.journal.write(b"\n")  # after a torn last line, so the next record is whole

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
        self.current[item.url] = record["status"]
        if self.fleet is not None and self.fleet_round is not None:
            self.fleet.note_redirects(self.fleet_round, item.extra.get("redirected_from") or ())
            self.index.put_report(record, round=self.fleet_round, run_id=self.run.run_id)
        else:
            self.current_at[item.url] = self.journal.tell()
            self.journal.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            self.journal.flush()
        # Only now may later crawls skip the page as a recently checked report.
        self.run.mark_pages([item.url, item.extra.get("landing_url") or item.url], REPORT)
        return item

    def _previous(self, url: str) -> dict[str, Any]:
        if self.fleet_round is not None:
            assert self.index is not None
            return self.index.report_before(url, self.fleet_round) or {}
        assert self.previous is not None and self.interrupted is not None
        if url in self.interrupted:
            return self.interrupted.get(url) or {}
        return self.previous.get(url) or {}

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
        if self.interrupted is not None and item.url in self.interrupted:
            # Resuming a killed crawl: what it found then is what this crawl found (``previous``
            # is that record).
            return str(previous["status"])
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
            self.run.started_at.timestamp(),
        )

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.index is None:
            return
        if self.fleet_round is not None:
            self._count(_tally(self.current.values()))  # what this worker recorded
            self.index = None
            return
        assert self.previous is not None and self.interrupted is not None
        self.journal.close()
        earlier = set(self.previous) | set(self.interrupted)
        urls = sorted(earlier | set(self.current))
        # Pass 1: verdicts on the reports this run did not record, and their groups.
        gone: dict[str, dict[str, Any]] = {}
        for url in earlier:
            if url not in self.current:
                evidence = self._gone(url, self._earlier(url))
                if evidence is not None:
                    gone[url] = evidence
        groups = GroupUnifier()
        for url, record in self._final(urls, gone):
            groups.add(url, record)
        # Pass 2: reports.jsonl, sorted by URL as write_reports writes it.
        counts = dict.fromkeys(("new", "changed", "unchanged", "gone"), 0)
        write_report_lines(self.layout.reports_jsonl, self._grouped(urls, gone, groups, counts))
        self.previous.close()
        self.interrupted.close()
        self.journal_path.unlink(missing_ok=True)
        # The run's counts are the statuses reports.jsonl now holds.
        self._count(counts)
        self.index = None  # the crawl run closes it when the engine stops

    def _earlier(self, url: str) -> dict[str, Any]:
        assert self.previous is not None and self.interrupted is not None
        record = self.interrupted.get(url) if url in self.interrupted else self.previous.get(url)
        assert record is not None
        return record

    def _final(
        self, urls: Iterable[str], gone: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each URL's record as reports.jsonl will hold it, groups not yet unified: this run's
        from the journal, an earlier one judged gone or unchanged now."""
        assert self.interrupted is not None
        for url in urls:
            if url in self.current_at:
                yield url, self.interrupted.read_at(self.current_at[url])
                continue
            old = self._earlier(url)
            if url in gone:
                yield url, dict(old, status="gone", gone=gone[url])
            elif old.get("status") != "gone":
                yield url, dict(old, status="unchanged")
            else:
                yield url, old

    def _grouped(
        self,
        urls: Iterable[str],
        gone: dict[str, dict[str, Any]],
        groups: GroupUnifier,
        counts: dict[str, int],
    ) -> Iterator[dict[str, Any]]:
        for url, record in self._final(urls, gone):
            record["group"] = groups.group(url)
            if record["status"] in counts:
                counts[record["status"]] += 1
            yield record

    def _count(self, counts: dict[str, int]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        for status in ("new", "changed", "unchanged", "gone"):
            stats.set_value(f"govcrawl/reports/{status}", counts.get(status, 0))


def _tally(statuses: Iterable[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        if status is not None:
            counts[status] = counts.get(status, 0) + 1
    return counts


def _ends_with_newline(path: Any) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return bool(fh.read(1) == b"\n")
