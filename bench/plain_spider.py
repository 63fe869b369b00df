"""The benchmark's reference crawler: a minimal plain Scrapy spider with a warcio WARC middleware.

    python bench/plain_spider.py SEED_URL --warc FILE.warc.gz --stats FILE.json

Follows every same-host link (no depth limit, robots.txt obeyed, 16 concurrent requests, no
delay) and writes each response with its request into one gzipped WARC, as received (the
middleware sits next to the downloader, before decompression). Writes Scrapy's stats as JSON.
What any archiving Scrapy project minimally does: govcrawl's cost is measured against it.
"""

from __future__ import annotations

import argparse
import json
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


class WarcMiddleware:
    """Downloader middleware: every response and its request into one WARC file."""

    def __init__(self, path: str) -> None:
        self.fh = open(path, "wb")  # noqa: SIM115 (closed on spider_closed)
        self.writer = WARCWriter(self.fh, gzip=True)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcMiddleware:
        mw = cls(crawler.settings["PLAIN_WARC"])
        crawler.signals.connect(mw.close, signal=scrapy.signals.spider_closed)
        return mw

    def close(self) -> None:
        self.fh.close()

    def process_response(self, request: Any, response: Any) -> Any:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, vs in response.headers.items()
            for v in vs
        ]
        status = f"{response.status} OK"
        http_headers = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            http_headers=http_headers,
        )
        self.writer.write_record(record)
        req_headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, vs in request.headers.items()
            for v in vs
        ]
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        req = self.writer.create_warc_record(
            request.url,
            "request",
            payload=BytesIO(b""),
            http_headers=StatusAndHeaders(
                f"GET {path} HTTP/1.1", req_headers, is_http_request=True
            ),
        )
        self.writer.write_record(req)
        return response


class PlainSpider(scrapy.Spider):
    name = "plain"

    def __init__(self, seed: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [seed]
        self.allowed_domains = [urlsplit(seed).hostname or ""]

    def parse(self, response: Any) -> Any:
        if not isinstance(response, scrapy.http.TextResponse):
            return
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seed")
    parser.add_argument("--warc", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    process = CrawlerProcess(
        {
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "DOWNLOAD_DELAY": 0,
            "DEPTH_LIMIT": 0,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "PLAIN_WARC": args.warc,
            # 950: next to the downloader, like govcrawl's WARC stage (bodies as received).
            "DOWNLOADER_MIDDLEWARES": {"bench.plain_spider.WarcMiddleware": 950},
        }
    )
    crawler = process.create_crawler(PlainSpider)
    process.crawl(crawler, seed=args.seed)
    process.start()
    stats = {k: v for k, v in (crawler.stats.get_stats() if crawler.stats else {}).items()}
    with open(args.stats, "w", encoding="utf-8") as fh:
        json.dump(stats, fh, default=str)


if __name__ == "__main__":
    main()
