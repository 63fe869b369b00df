"""Extraction stage: clean text, statistical tables and attachment text for report items.

Extraction (trafilatura, the table reader, PDF and Office readers) runs in a pool of worker
processes (pebble), off the Twisted reactor: the crawl awaits each item's future, and Scrapy's
scraper slot (SCRAPER_SLOT_MAX_ACTIVE_SIZE) holds further downloads back while too many pages wait
for extraction, so the queue ahead of the pool is bounded. Only report candidates get here.

Bounded per document: each worker runs under an address-space limit (RLIMIT_AS,
GOVCRAWL_EXTRACT_MEMORY bytes) and each document under a time limit (GOVCRAWL_EXTRACT_TIMEOUT
seconds; the pool kills the worker and starts another). A document that fails (time or memory
limit, a dead worker, an error) is recorded with ``extract_error`` naming the reason and
``text`` None, never as an empty text. Workers die with the crawl: each asks the kernel for
SIGKILL when its parent (the forkserver, which exits when the crawl does) goes.

An unchanged report is not extracted again: when the page and every attachment were captured
with the same payload as last time (capture status ``unchanged``) and the previous record
(ARCHIVE/reports.jsonl) was made from those payloads, its text, tables and attachment summaries
are reused (``govcrawl/extract/reused``).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import resource
import signal
import weakref
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool
from scrapy.crawler import Crawler

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.dedupe import text_fingerprint
from govcrawl.archive.reports import RecordFile
from govcrawl.extract.report import extract_report
from govcrawl.run import CrawlRun, run_of
from pipelines.items import ReportItem

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _limit_worker(memory: int) -> None:
    """Worker initializer: an address-space limit, and death with the parent process."""
    # Libraries loaded on first use (datasketch with scipy's shared objects) are mapped before
    # the limit: under it, the first report's fingerprint would fail to import them.
    text_fingerprint("")
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's pipe closing still ends a worker
        pass


def _extract(url: str, html: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """extract_report and the text's fingerprint (govcrawl.archive.dedupe), in a worker: the
    MinHash of a long text is milliseconds the reactor thread need not spend. A MemoryError is
    returned as a failure, not raised (its traceback may itself not fit in the limit)."""
    try:
        result = extract_report(url, html, attachments)
        result["fingerprint"] = text_fingerprint(result["text"] or "")
        return result
    except MemoryError:
        return {"error": "memory limit"}
    except Exception as exc:  # some library errors (lxml's) cannot be pickled back: say it here
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}


def failed(reason: str) -> dict[str, Any]:
    """The extraction result of a document that could not be extracted."""
    return {
        "text": None,
        "tables": None,
        "tables_from": None,
        "attachments": [],
        "report_attachment": None,
        "error": reason,
    }


_PREVIOUS: weakref.WeakKeyDictionary[CrawlRun, RecordFile] = weakref.WeakKeyDictionary()


def previous_records(run: CrawlRun) -> RecordFile:
    """ARCHIVE/reports.jsonl as the run found it, held on disk (URL -> byte offset): one reader
    per run, shared by the extraction and the recording stage (pipelines/record.py)."""
    records = _PREVIOUS.get(run)
    if records is None:
        records = _PREVIOUS[run] = RecordFile(run.layout.reports_jsonl)
    return records


class StoredExtractions:
    """What earlier crawls extracted, from ARCHIVE/reports.jsonl (``records``): looked up by
    report page URL (the landing page's for a report that is a document); records are read back
    one at a time, when a page comes round unchanged."""

    def __init__(self, records: RecordFile, index: CaptureIndex | None = None) -> None:
        self.records = records
        self.index = index

    def close(self) -> None:
        self.records.close()

    def record(self, page_url: str) -> dict[str, Any] | None:
        return self.records.by_page(page_url)

    def reuse(self, item: ReportItem) -> dict[str, Any] | None:
        """The extraction result of ``item`` as the previous record holds it, or None when any
        payload changed (or the record cannot vouch for them)."""
        cap = item.capture
        if cap is None or cap.status != "unchanged":
            return None
        if any(a.get("capture") is None or a["capture"].status != "unchanged"
               for a in item.attachments):  # fmt: skip
            return None
        rec = self.record(item.url)
        if rec is None or rec.get("extract_error") or rec.get("status") == "gone":
            return None
        landing = rec.get("landing_url")
        before = {a["url"] for a in rec.get("attachments") or []} | (
            {rec["url"]} if landing else set()
        )
        if before != {a["url"] for a in item.attachments}:
            return None
        # The record's digest is its document's: the page's own, or the landing page's document.
        source = cap if not landing else next(
            a["capture"] for a in item.attachments if a["url"] == rec["url"]
        )  # fmt: skip
        if rec.get("digest") != source.digest:
            return None
        summaries = [
            {k: v for k, v in a.items() if k not in ("warc", "offset")}
            for a in rec.get("attachments") or []
        ]
        if landing:
            summaries.append({"url": rec["url"]})  # dropped again as the report's own document
        return {
            "text": rec.get("text"),
            "tables": rec.get("tables"),
            "tables_from": rec.get("tables_from"),
            "attachments": summaries,
            "report_attachment": rec["url"] if landing else None,
            "fingerprint": self.index.last_fingerprint(rec["url"]) if self.index else None,
        }


class ExtractPipeline:
    """Settings: GOVCRAWL_EXTRACT_WORKERS (processes; 0 extracts in the crawl process, without
    limits), GOVCRAWL_EXTRACT_TIMEOUT (seconds per document), GOVCRAWL_EXTRACT_MEMORY (bytes of
    address space per worker)."""

    def __init__(self, crawler: Crawler, workers: int, timeout: float, memory: int) -> None:
        self.crawler = crawler
        self.workers = workers
        self.timeout = timeout
        self.memory = memory
        self.pool: ProcessPool | None = None
        self.stored: StoredExtractions | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        s = crawler.settings
        return cls(
            crawler,
            s.getint("GOVCRAWL_EXTRACT_WORKERS"),
            s.getfloat("GOVCRAWL_EXTRACT_TIMEOUT"),
            s.getint("GOVCRAWL_EXTRACT_MEMORY"),
        )

    def open_spider(self) -> None:
        run = run_of(self.crawler)
        if run is not None:
            self.stored = StoredExtractions(previous_records(run), run.index)
        if self.workers > 0:
            # forkserver: forking the reactor's process would copy its threads and sockets.
            self.pool = ProcessPool(
                max_workers=self.workers,
                initializer=_limit_worker,
                initargs=(self.memory,),
                context=multiprocessing.get_context("forkserver"),
            )

    def close_spider(self) -> None:
        if self.stored is not None:
            self.stored.close()
        if self.pool is not None:
            # Every item has been awaited by now: the workers are idle, and go at once.
            self.pool.close()
            try:
                self.pool.join(timeout=10)
            except FutureTimeout:
                self.pool.stop()
                self.pool.join()
            self.pool = None

    def _stat(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    async def _run(self, item: ReportItem) -> dict[str, Any]:
        args = (item.url, item.html, [{k: v for k, v in a.items() if k != "capture"}
                                      for a in item.attachments])  # fmt: skip
        if self.pool is None:
            return _extract(*args)
        future = self.pool.schedule(_extract, args, timeout=self.timeout)
        try:
            result: dict[str, Any] = await asyncio.wrap_future(future)
        except FutureTimeout:
            return failed(f"time limit ({self.timeout:g} s)")
        except ProcessExpired as exc:
            # The kernel's OOM killer, or a crash inside a C library: the worker is replaced.
            return failed(f"worker died (exit code {exc.exitcode})")
        except MemoryError:
            return failed("memory limit")
        return failed(result["error"]) if "error" in result else result

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        result = self.stored.reuse(item) if self.stored is not None else None
        if result is not None:
            self._stat("govcrawl/extract/reused")
        else:
            try:
                result = await self._run(item)
            except Exception as exc:
                logger.exception("extraction failed for %s", item.url)
                result = failed(f"{type(exc).__name__}: {exc}")
            if result.get("error"):
                logger.warning("extraction failed for %s: %s", item.url, result["error"])
                self._stat("govcrawl/extract/failed")
                item.extra["extract_error"] = result["error"]
            else:
                self._stat("govcrawl/extract/extracted")
        item.text = result["text"]
        item.tables = result["tables"]
        if result.get("fingerprint"):
            item.extra["fingerprint"] = result["fingerprint"]
        item.extra["tables_from"] = result["tables_from"]
        captures = {a["url"]: a.get("capture") for a in item.attachments}
        if result.get("error"):
            # What the spider saw of each attachment; its bytes stay out of the record.
            item.attachments = [
                {k: a.get(k) for k in ("url", "content_type", "filename", "kind", "capture")}
                for a in item.attachments
            ]
        else:
            item.attachments = [
                dict(s, capture=captures.get(s["url"])) for s in result["attachments"]
            ]
        if result.get("report_attachment"):
            doc = result["report_attachment"]
            item.extra["landing_url"] = item.url
            item.url, item.capture = doc, captures.get(doc)
            item.attachments = [a for a in item.attachments if a["url"] != doc]
        return item
