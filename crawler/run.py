"""One crawl into one archive, in one place: lock, recovery, the capture index, the Scrapy
process, the run summary.

``CrawlRun`` is the run itself (no Scrapy): ``start()`` opens the archive folder, takes its lock,
opens the capture index, repairs what a killed crawl left (``govcrawl.archive.recovery``) and
records the run; ``finish()`` brings the CDXJ index up to date, writes ``ARCHIVE/runs/<ts>.json``,
closes the run row, ships what is left to the store and lets the lock go.

``CrawlRunExtension`` gives every crawl (``govcrawl crawl`` and plain ``scrapy crawl portal``)
its run: it starts the run when the crawler is built and finishes it when the engine has stopped
(after every pipeline and extension closed). Components find the run's archive layout, capture
index and record reader with ``crawl_run(crawler)``.

``run_crawl()`` is what ``govcrawl crawl`` calls: the Scrapy process and the exit code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveError, ArchiveLayout
from govcrawl.archive.lock import ArchiveLock, ArchiveLocked
from govcrawl.archive.reader import RecordReader
from govcrawl.archive.recovery import RecoveryReport, recover_archive
from govcrawl.clock import clock, set_offset

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_CRAWL_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_ARCHIVE, EXIT_NOTHING_FETCHED = range(6)
# Finish reasons of a run that ended normally (--max-pages is asked for).
NORMAL_FINISH = ("finished", "closespider_pagecount")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CrawlRun:
    """An archive opened for one crawl. Use ``CrawlRun.start(...)``."""

    def __init__(
        self,
        layout: ArchiveLayout,
        lock: ArchiveLock,
        index: CaptureIndex,
        recovery: RecoveryReport,
        store_uri: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.layout = layout
        self.lock = lock
        self.index = index
        self.recovery = recovery
        self.store_uri = store_uri
        self.endpoint_url = endpoint_url
        self.reader = RecordReader(self._open_warc)
        self.started_at = clock.now()
        self.run_id = index.start_run(archive=layout.root)
        # The last crawl died: what it fetched last (a report's stylesheet, say) may be missing,
        # so this run rechecks everything once instead of trusting the schedule.
        self.recheck_all = recovery.changed or (layout.root / "reports.journal.jsonl").exists()
        self.sealed_warcs: list[str] = []
        self.summary: dict[str, Any] | None = None

    @classmethod
    def start(
        cls,
        archive_dir: str | os.PathLike[str],
        *,
        index_target: str | None = None,
        schema: str | None = None,
        store_uri: str | None = None,
        endpoint_url: str | None = None,
    ) -> CrawlRun:
        """Open ``archive_dir`` for a crawl.

        Raises ArchiveError (folder unusable), ArchiveLocked (another crawl holds it) and the
        capture index's connection errors; on any error nothing stays locked.
        """
        layout = ArchiveLayout.open(archive_dir)
        lock = ArchiveLock(layout.lock_path).acquire()
        try:
            if store_uri:
                _restore_from_store(layout, store_uri, endpoint_url, sqlite=not index_target)
            index = CaptureIndex.open(index_target or layout.captures_db, schema=schema)
            try:
                recovery = recover_archive(layout, index)
                return cls(layout, lock, index, recovery, store_uri, endpoint_url)
            except BaseException:
                index.close()
                raise
        except BaseException:
            lock.release()
            raise

    def _open_warc(self, name: str, offset: int, length: int | None) -> Any:
        from govcrawl.store import open_warc

        return open_warc(self.layout, name, offset, length)

    def finish(self, stats: dict[str, Any], seeds: list[str]) -> dict[str, Any]:
        """End the run: CDXJ, run summary, store; returns the summary. Releases the lock."""
        try:
            self._refresh_cdxj()
            summary = build_summary(stats, self, seeds)
            self.summary = summary
            _write_run_summary(self.layout, summary)
            self.index.finish_run(self.run_id, summary)
            if self.store_uri and not self.layout.sealed_warcs():
                # Every WARC reached the store: ship the run summary and final indexes too.
                # WARCs still local mean the store failed (said once already); the next crawl
                # or `govcrawl sync` sends everything.
                self._ship()
            if summary["finish_reason"] == "finished" and self.layout.jobdir.exists():
                shutil.rmtree(self.layout.jobdir, ignore_errors=True)
            return summary
        finally:
            self.close()

    def close(self) -> None:
        """Let the archive go without a summary (a crawl that never started)."""
        try:
            self.index.close()
        finally:
            self.lock.release()

    def _refresh_cdxj(self) -> None:
        """Keep ARCHIVE/indexes/index.cdxj in step with the sealed WARCs (incremental)."""
        from govcrawl.publish.cdxj import index_archive

        try:
            index_archive(self.layout)
        except Exception:  # the captures are safe; `govcrawl index` rebuilds the index
            logger.exception("could not update the CDXJ index")

    def _ship(self) -> None:
        from govcrawl.store import open_store, sync_archive

        try:
            assert self.store_uri is not None
            sync_archive(self.layout, open_store(self.store_uri, endpoint_url=self.endpoint_url))
        except Exception as exc:
            logger.warning("could not ship the run summary to %s: %s", self.store_uri, exc)


def _restore_from_store(
    layout: ArchiveLayout, store_uri: str, endpoint_url: str | None, *, sqlite: bool
) -> None:
    """A fresh archive folder with a store: the store is the archive; take it over."""
    from govcrawl.store import open_store
    from govcrawl.store.sync import needs_restore, restore_archive

    if not needs_restore(layout):
        return
    try:
        restore_archive(
            layout, open_store(store_uri, endpoint_url=endpoint_url), capture_index=sqlite
        )
    except Exception as exc:
        # Crawling on without the store's history would start a second, diverging archive there.
        raise ArchiveError(
            f"cannot restore the archive from {store_uri}: {type(exc).__name__}: {exc}"
        ) from None


def build_summary(stats: dict[str, Any], run: CrawlRun, seeds: list[str]) -> dict[str, Any]:
    """The run summary (ARCHIVE/runs/*.json, README "Run summary") from the crawl's stats."""

    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    finished = clock.now()
    return {
        "started": _iso(run.started_at),
        "finished": _iso(finished),
        "duration_seconds": round((finished - run.started_at).total_seconds(), 3),
        "seeds": seeds,
        "finish_reason": stats.get("finish_reason", "unknown"),
        "pages": n("response_received_count"),
        "requests": n("downloader/request_count"),
        "reports": {
            "seen": n("govcrawl/reports/seen"),
            "new": n("govcrawl/reports/new"),
            "changed": n("govcrawl/reports/changed"),
            "unchanged": n("govcrawl/reports/unchanged"),
            "gone": n("govcrawl/reports/gone"),
            "redated": n("govcrawl/reports/redated"),
        },
        "records": n("govcrawl/warc/records"),
        "revisits": n("govcrawl/warc/revisits"),
        "bytes": n("govcrawl/warc/bytes"),
        "errors": n("log_count/ERROR"),
        "http_errors": {
            k.rsplit("/", 1)[-1]: v
            for k, v in stats.items()
            if k.startswith("downloader/response_status_count/4")
            or k.startswith("downloader/response_status_count/5")
        },
        "traps_dropped": n("govcrawl/traps/dropped"),
        "robots_forbidden": n("robotstxt/forbidden"),
        "recovered": dataclasses.asdict(run.recovery),
        "warcs": run.sealed_warcs,
        "run_id": run.run_id,
    }


def _write_run_summary(layout: ArchiveLayout, summary: dict[str, Any]) -> Path:
    layout.runs_dir.mkdir(parents=True, exist_ok=True)
    name = clock.now().strftime("%Y%m%dT%H%M%S%fZ") + ".json"
    path = layout.runs_dir / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def summary_line(summary: dict[str, Any]) -> str:
    r = summary["reports"]
    return (
        f"govcrawl: {summary['pages']} pages, reports {r['new']} new / {r['changed']} changed / "
        f"{r['unchanged']} unchanged / {r['gone']} gone, {summary['bytes']} bytes archived, "
        f"{summary['errors']} errors, {summary['duration_seconds']:.1f}s "
        f"({summary['finish_reason']})"
    )


# -- Scrapy -------------------------------------------------------------------------------------


class CrawlRunExtension:
    """Starts the crawl run when the crawler is built, finishes it when the engine stopped.

    Settings: GOVCRAWL_ARCHIVE_DIR (the archive folder), GOVCRAWL_CAPTURE_INDEX (a SQLite path or
    a ``postgresql://`` DSN; default ARCHIVE/captures.sqlite3), GOVCRAWL_CAPTURE_SCHEMA
    (PostgreSQL schema), GOVCRAWL_STORE / GOVCRAWL_STORE_ENDPOINT_URL (where the finished run is
    shipped), GOVCRAWL_CLOCK_OFFSET (seconds added to the clock; tests).
    """

    def __init__(self, crawler: Crawler, run: CrawlRun) -> None:
        self.crawler = crawler
        self.run = run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunExtension:
        from scrapy import signals

        settings = crawler.settings
        if settings.get("GOVCRAWL_CLOCK_OFFSET") not in (None, ""):
            set_offset(settings.getfloat("GOVCRAWL_CLOCK_OFFSET"))
        store = settings.get("GOVCRAWL_STORE") or os.environ.get("GOVCRAWL_STORE")
        run = CrawlRun.start(
            settings.get("GOVCRAWL_ARCHIVE_DIR"),
            index_target=settings.get("GOVCRAWL_CAPTURE_INDEX") or None,
            schema=settings.get("GOVCRAWL_CAPTURE_SCHEMA") or None,
            store_uri=store if store and "://" in store and not store.startswith("file:") else None,
            endpoint_url=settings.get("GOVCRAWL_STORE_ENDPOINT_URL") or None,
        )
        ext = cls(crawler, run)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        spider = self.crawler.spider
        self.run.finish(stats, list(getattr(spider, "seeds", [])))


def crawl_run(crawler: Crawler) -> CrawlRun:
    """The crawl run of ``crawler`` (its archive layout, capture index and record reader)."""
    from scrapy.exceptions import NotConfigured

    ext = crawler.get_extension(CrawlRunExtension)
    if ext is None:
        raise NotConfigured("crawler.run.CrawlRunExtension is not enabled")
    return ext.run


def run_crawl(
    archive: Path,
    seeds: list[str],
    *,
    max_pages: int | None = None,
    store: str | None = None,
    endpoint_url: str | None = None,
    overrides: dict[str, Any] | None = None,
    verbose: bool = False,
    progress: bool | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run one crawl into ``archive``; returns (exit code, run summary or {"error": line})."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings
    from twisted.python.failure import Failure

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("GOVCRAWL_ARCHIVE_DIR", str(archive), priority="cmdline")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    if max_pages:
        settings.set("CLOSESPIDER_PAGECOUNT", max_pages, priority="cmdline")
    if store:
        settings.set("GOVCRAWL_STORE", store, priority="cmdline")
    if endpoint_url:
        settings.set("GOVCRAWL_STORE_ENDPOINT_URL", endpoint_url, priority="cmdline")
    if progress is None:
        progress = sys.stderr.isatty() and not verbose
    if progress:
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["crawler.extensions.progress.ProgressBar"] = 900
        settings.set("EXTENSIONS", extensions, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")

    process = CrawlerProcess(settings)
    crawler = process.create_crawler("portal")
    failures: list[Failure] = []
    process.crawl(crawler, seeds=seeds).addErrback(failures.append)
    process.start()
    if failures:
        exc = failures[0].value
        if isinstance(exc, ArchiveLocked):
            return EXIT_LOCKED, {"error": str(exc)}
        if isinstance(exc, ArchiveError):
            return EXIT_ARCHIVE, {"error": str(exc)}
        if isinstance(exc, ValueError):  # spider arguments (seeds)
            return EXIT_USAGE, {"error": str(exc)}
        return EXIT_CRAWL_FAILED, {"error": f"{type(exc).__name__}: {exc}"}
    ext = crawler.get_extension(CrawlRunExtension)
    summary = ext.run.summary if ext is not None else None
    if summary is None:
        return EXIT_CRAWL_FAILED, {"error": "the crawl ended without a run summary"}
    if summary["pages"] == 0:
        return EXIT_NOTHING_FETCHED, summary
    if summary["finish_reason"] not in NORMAL_FINISH:
        return EXIT_CRAWL_FAILED, summary
    return EXIT_OK, summary
