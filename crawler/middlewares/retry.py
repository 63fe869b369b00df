"""Retries with exponential backoff (Scrapy's RetryMiddleware retries at once)."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response


class BackoffRetryMiddleware(RetryMiddleware):
    """``GOVCRAWL_RETRY_BACKOFF`` seconds before the first retry, doubling up to ``..._MAX``."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("GOVCRAWL_RETRY_BACKOFF", 2.0)
        self.backoff_max = settings.getfloat("GOVCRAWL_RETRY_BACKOFF_MAX", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        mw = cls(crawler.settings)
        mw.crawler = crawler
        return mw

    async def _wait(self, result: Request | Response) -> Request | Response:
        if isinstance(result, Request) and self.backoff > 0:
            attempt = result.meta.get("retry_times", 1)
            await asyncio.sleep(min(self.backoff * 2 ** (attempt - 1), self.backoff_max))
        return result

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        return await self._wait(super().process_response(request, response))

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        return None if result is None else await self._wait(result)
