"""Per-host politeness from site profiles: each host's download slot gets the delay and
concurrency of its profile (``download_delay``, ``concurrency_per_host``).

Scrapy configures slots from DOWNLOAD_SLOTS when it creates them; hosts of a profile are patterns
(``*.xam.gov.cn``), so this middleware fills the downloader's ``per_slot_settings`` for a host
the first time a request for it passes, before the downloader creates the slot. Explicit
DOWNLOAD_SLOTS entries win. DOWNLOAD_DELAY or CONCURRENT_REQUESTS_PER_DOMAIN given on the
command line (``--set``, ``-s``) win over profiles: operators and tests decide then.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.settings import SETTINGS_PRIORITIES


class ProfilePolitenessMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        self.use_delay = (settings.getpriority("DOWNLOAD_DELAY") or 0) < cmdline
        self.use_concurrency = (
            settings.getpriority("CONCURRENT_REQUESTS_PER_DOMAIN") or 0
        ) < cmdline
        self._done: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProfilePolitenessMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        engine = self.crawler.engine
        spider = self.crawler.spider
        profiles = getattr(spider, "profiles", None)
        if engine is None or profiles is None:
            return None
        downloader = engine.downloader
        key = downloader.get_slot_key(request)
        if key in self._done:
            return None
        self._done.add(key)
        if key in downloader.per_slot_settings or key in downloader.slots:
            return None
        profile = profiles.for_host(urlsplit(request.url).hostname or "")
        slot: dict[str, Any] = {}
        if self.use_delay:
            slot["delay"] = profile.download_delay
        if self.use_concurrency:
            slot["concurrency"] = profile.concurrency_per_host
        if slot:
            downloader.per_slot_settings[key] = slot
        return None
