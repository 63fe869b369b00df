"""Revisit policy for scheduled crawls: list pages every run, articles only now and then.

The spider records what each page turned out to be (``list``, ``leaf`` article or ``report``) in
ARCHIVE/pages.sqlite3; the middleware skips an article or report fetched more recently than its
interval. Lists, menus, sitemaps and robots.txt are always fetched, so new reports are found;
a skipped report keeps its last record in reports.jsonl (status ``unchanged``).

Settings: GOVCRAWL_REVISIT_INTERVAL (seconds, default 7 days) for ordinary articles,
GOVCRAWL_REPORT_RECHECK (seconds, default 1 day) for reports (edits and click counts).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

logger = logging.getLogger(__name__)

LIST, LEAF, REPORT = "list", "leaf", "report"
DEFAULT_REVISIT_INTERVAL = 7 * 24 * 3600
DEFAULT_REPORT_RECHECK = 24 * 3600


class PageStates:
    """url -> (kind, last time seen) on disk, so memory stays flat however large the portal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "seen REAL NOT NULL)"
        )

    @classmethod
    def for_archive(cls, archive_dir: str | Path) -> PageStates:
        root = Path(archive_dir)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root / "pages.sqlite3")

    def mark(self, url: str, kind: str, when: float | None = None) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO pages (url, kind, seen) VALUES (?, ?, ?)",
                (url, kind, time.time() if when is None else when),
            )

    def get(self, url: str) -> tuple[str, float] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT kind, seen FROM pages WHERE url = ?", (url,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class RevisitPolicyMiddleware:
    """Downloader middleware: skip articles and reports seen recently (see module docstring)."""

    def __init__(
        self, crawler: Crawler, states: PageStates, leaf_interval: float, report_interval: float
    ):
        self.crawler = crawler
        self.states = states
        self.intervals = {LEAF: leaf_interval, REPORT: report_interval}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RevisitPolicyMiddleware:
        archive = crawler.settings.get("GOVCRAWL_ARCHIVE_DIR")
        if not archive:
            raise NotConfigured("GOVCRAWL_ARCHIVE_DIR is not set")
        return cls(
            crawler,
            PageStates.for_archive(archive),
            crawler.settings.getfloat("GOVCRAWL_REVISIT_INTERVAL", DEFAULT_REVISIT_INTERVAL),
            crawler.settings.getfloat("GOVCRAWL_REPORT_RECHECK", DEFAULT_REPORT_RECHECK),
        )

    def process_request(self, request: Request) -> Any:
        if request.dont_filter:
            return None
        state = self.states.get(request.url)
        if state is None:
            return None
        kind, seen = state
        interval = self.intervals.get(kind)
        if interval is None or time.time() - seen >= interval:
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"govcrawl/revisit/skipped_{kind}")
        raise IgnoreRequest(f"{kind} seen {time.time() - seen:.0f}s ago")
