"""Scrapy extension: ship each sealed WARC to the store off the reactor thread.

Settings (all optional; the extension is off without a store):

====================================  =========  ==========================================
GOVCRAWL_STORE                        str        store URI, ``s3://bucket/prefix`` (env
                                                 ``GOVCRAWL_STORE`` when the setting is unset);
                                                 unset or a local path: extension off
GOVCRAWL_STORE_ENDPOINT_URL           str        S3-compatible endpoint; default: boto3's
                                                 ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``
GOVCRAWL_STORE_MULTIPART_THRESHOLD    int        bytes; multipart upload from this size (8 MiB)
GOVCRAWL_STORE_PART_SIZE              int        bytes per part, at least 5 MiB (8 MiB)
GOVCRAWL_STORE_CONNECT_TIMEOUT        float      seconds to wait for a connection (5)
GOVCRAWL_STORE_MAX_ATTEMPTS           int        attempts per request, retries included (3)
====================================  =========  ==========================================

Stats: ``govcrawl/store/uploaded``, ``govcrawl/store/failed``, ``govcrawl/store/bytes``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler.signals import warc_sealed
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.store.spool import Spool, SyncReport
from govcrawl.store.stores import (
    DEFAULT_MULTIPART_THRESHOLD,
    DEFAULT_PART_SIZE,
    MIN_PART_SIZE,
    LocalStore,
    S3Store,
    open_store,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreConfig:
    uri: str | None = None
    endpoint_url: str | None = None
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    part_size: int = DEFAULT_PART_SIZE
    connect_timeout: float = 5.0
    max_attempts: int = 3

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> StoreConfig:
        config = cls(
            uri=settings.get("GOVCRAWL_STORE") or os.environ.get("GOVCRAWL_STORE") or None,
            endpoint_url=settings.get("GOVCRAWL_STORE_ENDPOINT_URL") or None,
            multipart_threshold=settings.getint("GOVCRAWL_STORE_MULTIPART_THRESHOLD"),
            part_size=settings.getint("GOVCRAWL_STORE_PART_SIZE"),
            connect_timeout=settings.getfloat("GOVCRAWL_STORE_CONNECT_TIMEOUT"),
            max_attempts=settings.getint("GOVCRAWL_STORE_MAX_ATTEMPTS"),
        )
        if config.part_size < MIN_PART_SIZE:
            raise ValueError(
                f"GOVCRAWL_STORE_PART_SIZE must be at least {MIN_PART_SIZE} (S3's minimum)"
            )
        if config.multipart_threshold < 0 or config.max_attempts < 1 or config.connect_timeout <= 0:
            raise ValueError("GOVCRAWL_STORE_* settings must be positive")
        return config

    def open(self) -> LocalStore | S3Store:
        return open_store(
            self.uri,
            endpoint_url=self.endpoint_url,
            multipart_threshold=self.multipart_threshold,
            part_size=self.part_size,
            connect_timeout=self.connect_timeout,
            max_attempts=self.max_attempts,
        )


class StorageExtension:
    """Uploads run one at a time in a worker thread (chained Deferreds), so a slow store never
    blocks the reactor and never takes more than one thread from its pool."""

    def __init__(self, crawler: Crawler, spool: Spool) -> None:
        self.crawler = crawler
        self.spool = spool
        self._tail: Deferred[None] = succeed(None)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorageExtension:
        config = StoreConfig.from_settings(crawler.settings)
        if config.uri is None:
            # The default, not a warning: without arguments Scrapy disables it silently.
            raise NotConfigured()
        store = config.open()
        if isinstance(store, LocalStore):
            raise NotConfigured("GOVCRAWL_STORE is a local folder: nothing to upload")
        layout = ArchiveLayout.open(Path(crawler.settings.get("GOVCRAWL_ARCHIVE_DIR")))
        ext = cls(crawler, Spool(layout, store))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.warc_sealed, signal=warc_sealed)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any = None) -> None:
        assert self.crawler.stats is not None
        for name in ("uploaded", "failed", "bytes"):
            self.crawler.stats.set_value(f"govcrawl/store/{name}", 0)
        # Files a previous run could not ship go first.
        self._enqueue(self.spool.ship_pending)

    def warc_sealed(self, path: Path, **kwargs: Any) -> None:
        # Never return the Deferred: the sender must not wait for the upload.
        self._enqueue(lambda: self.spool.ship_one(Path(path)))

    async def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        """Ship whatever is still local, then the capture index; the engine waits for it."""
        done: Deferred[None] = Deferred()

        def last_ship() -> None:
            # One reactor turn later, so spider_closed handlers that write files run first.
            self._enqueue(lambda: self.spool.ship_pending(final=True))
            self._tail.addBoth(lambda _: done.callback(None))

        from twisted.internet import reactor  # here: importing it early would pick the reactor

        cast(Any, reactor).callLater(0, last_ship)
        await maybe_deferred_to_future(done)

    def _enqueue(self, work: Callable[[], SyncReport]) -> None:
        def run(_: Any) -> Deferred[None]:
            d: Deferred[Any] = deferToThread(work)
            d.addCallbacks(self._count, self._crashed)
            return d

        self._tail.addCallback(run)

    def _count(self, report: SyncReport) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("govcrawl/store/uploaded", report.uploaded)
        stats.inc_value("govcrawl/store/failed", report.failed)
        stats.inc_value("govcrawl/store/bytes", report.bytes)

    def _crashed(self, failure: Failure) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("govcrawl/store/failed")
        logger.error(
            "store upload crashed: %s",
            failure.getErrorMessage(),
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
