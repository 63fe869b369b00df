"""Scrapy's cookie middleware without network access for the public-suffix list.

Scrapy's ``CookiesMiddleware`` asks a module-level ``TLDExtract()`` whether a cookie's domain is
a public suffix; that extractor downloads the Public Suffix List on first use (no timeout, and
tracebacks when the machine has no direct internet). A crawl talks to the portals and the store
only, so this subclass points it at tldextract's bundled snapshot, as crawler/sites/scope.py does.
"""

from __future__ import annotations

from typing import Any

import scrapy.downloadermiddlewares.cookies as scrapy_cookies
import tldextract
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

# Private domains too, as Scrapy's own extractor (cookies for *.github.io stay per site).
OFFLINE_SPLIT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


class OfflineCookiesMiddleware(CookiesMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        if not hasattr(scrapy_cookies, "_split_domain"):
            # Scrapy moved it: fail loudly rather than fetch the list behind our back.
            raise RuntimeError("scrapy.downloadermiddlewares.cookies._split_domain is gone")
        scrapy_cookies._split_domain = OFFLINE_SPLIT
        return super().from_crawler(crawler)
