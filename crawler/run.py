"""One crawl into one archive, the Scrapy side: the crawl run's extension and the Scrapy process.

``CrawlRunExtension`` gives every crawl (``govcrawl crawl`` and plain ``scrapy crawl portal``)
its run (``govcrawl.run.CrawlRun``: lock, recovery, capture index, WARC recorder, run summary):
it starts the run when the crawler is built and finishes it when the engine has stopped (after
every pipeline and extension closed). Components find the run with ``crawl_run(crawler)``
(pipelines with ``govcrawl.run.run_of(crawler)``).

``run_crawl()`` is what ``govcrawl crawl`` calls: the Scrapy process and the exit code.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcrawl.archive.layout import ArchiveError
from govcrawl.archive.lock import ArchiveLocked
from govcrawl.clock import set_offset
from govcrawl.run import (
    EXIT_ARCHIVE,
    EXIT_CRAWL_FAILED,
    EXIT_LOCKED,
    EXIT_USAGE,
    CrawlRun,
    attach,
    run_of,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
        run.shared = bool(settings.get("GOVCRAWL_FLEET"))
        attach(crawler, run)
        ext = cls(crawler, run)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        spider = self.crawler.spider
        self.run.finish(stats, list(getattr(spider, "seeds", [])))


def crawl_run(crawler: Crawler) -> CrawlRun:
    """The crawl run of ``crawler`` (its archive layout, capture index, recorder, reader).

    Raises NotConfigured when no CrawlRunExtension started one (components without a run are
    off, the Scrapy way).
    """
    from scrapy.exceptions import NotConfigured

    run = run_of(crawler)
    if run is None:
        raise NotConfigured("no crawl run: crawler.run.CrawlRunExtension is not enabled")
    return run


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
    if not verbose:  # the crawler has installed its log handler by now
        for handler in logging.root.handlers:
            handler.addFilter(_one_line)
    # Scrapy leaves the root logger at NOTSET (its own at DEBUG) and filters in its handler:
    # every debug call (an item scraped, a page crawled, the parsers' notes) would build a
    # record nobody shows.
    for name in ("", "scrapy"):
        logging.getLogger(name).setLevel(settings.get("LOG_LEVEL"))
    process.start()
    if failures:
        exc = failures[0].value
        if isinstance(exc, ArchiveLocked):
            return EXIT_LOCKED, {"error": str(exc)}
        if isinstance(exc, ArchiveError):
            return EXIT_ARCHIVE, {"error": str(exc)}
        if isinstance(exc, ValueError):  # spider arguments (seeds)
            return EXIT_USAGE, {"error": str(exc)}
        # One line: a driver's message (psycopg's "connection failed" and its hint) may run on.
        error = f"{type(exc).__name__}: {first_line(exc)}" if str(exc) else type(exc).__name__
        return EXIT_CRAWL_FAILED, {"error": error}
    run = run_of(crawler)
    summary = run.summary if run is not None else None
    if summary is None:
        return EXIT_CRAWL_FAILED, {"error": "the crawl ended without a run summary"}
    return int(summary["exit_code"]), summary


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none (drivers such
    as psycopg add hints on further lines)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _one_line(record: logging.LogRecord) -> bool:
    """Quiet runs: a download error is one line (the exception's last line), not a traceback;
    `-v` keeps tracebacks. The run summary counts every error either way."""
    if record.exc_info and record.exc_info[1] is not None and record.name.startswith("scrapy."):
        exc = record.exc_info[1]
        record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}".replace("%", "%%")
        record.args = None
        record.exc_info = None
        record.exc_text = None
    return True
