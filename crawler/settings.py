"""Scrapy settings for govcrawl. Polite defaults for live portals; every value can be overridden
with ``-s NAME=VALUE`` (scrapy) or ``--set NAME=VALUE`` (govcrawl crawl).

Project settings (all prefixed GOVCRAWL_) are documented in README.md, "Settings".
"""

from __future__ import annotations

from crawler import CONTACT_URL, __version__

BOT_NAME = "govcrawl"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Identify ourselves and obey robots.txt (Scrapy's Protego parser).
USER_AGENT = f"govcrawl/{__version__} (+{CONTACT_URL})"
ROBOTSTXT_OBEY = True

# Politeness for live government portals: 1-2 connections per host, adaptive delays.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# Huge or endless bodies are cut off rather than filling memory.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
# A body shorter than its Content-Length (the server closed early) is kept, flagged "dataloss",
# archived with WARC-Truncated and counted in the run summary (``truncated``), not dropped.
DOWNLOAD_FAIL_ON_DATALOSS = False
# Offer only the encodings the WARC toolchain decodes: warcio (pywb, `warcio check`) reads gzip
# and deflate; zstd not at all, and brotli not with brotli >= 1.2 (which Scrapy needs). Bodies
# are archived as received, so what is offered here decides what replay tools can read.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}
REDIRECT_MAX_TIMES = 5
# Menus and links count as hops; the pages of one column do not (crawler/middlewares/hops.py),
# and a column is bounded by its profile's column_page_budget instead.
DEPTH_LIMIT = 12
DEPTH_PRIORITY = 0
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "crawler.middlewares.hops.HopDepthMiddleware": 900,
}

# Retries with exponential backoff (crawler/middlewares/retry.py).
RETRY_TIMES = 3
GOVCRAWL_RETRY_BACKOFF = 2.0
GOVCRAWL_RETRY_BACKOFF_MAX = 60.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # Scrapy's own, with the bundled public-suffix snapshot (no download at first run).
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "crawler.middlewares.cookies.OfflineCookiesMiddleware": 700,
    # Scrapy's own, counting what they drop (run summary: outcomes.skipped).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.outcomes.CountingHttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.outcomes.CountingRedirectMiddleware": 600,
    "crawler.middlewares.traps.TrapGuardMiddleware": 120,
    "crawler.middlewares.revisit.RevisitPolicyMiddleware": 130,
    # Discovery's per-host page budget, counted on what is due to be fetched.
    "crawler.middlewares.budget.HostBudgetMiddleware": 135,
    # Each host's download slot gets its site profile's delay and concurrency.
    "crawler.middlewares.politeness.ProfilePolitenessMiddleware": 140,
    "crawler.middlewares.retry.BackoffRetryMiddleware": 550,
    # Anti-bot challenge pages are dropped (counted, hosts blocked) once decompressed (590).
    "crawler.middlewares.challenge.ChallengeMiddleware": 580,
    # Closest to the downloader (like HttpCacheMiddleware): a 304 becomes the archived response
    # before decompression, robots.txt, the spider or the pipelines see it.
    "crawler.middlewares.conditional.ConditionalRequestMiddleware": 950,
    # Before everything else sees it: a response the WARC could not hold (disk full) is dropped.
    "crawler.middlewares.outcomes.UnarchivedResponseMiddleware": 990,
}

EXTENSIONS = {
    # The crawl run (lock, recovery, capture index, run summary) comes first: the others use it.
    "crawler.run.CrawlRunExtension": 0,
    "crawler.extensions.warc.WarcArchiveExtension": 100,
    "crawler.extensions.storage.StorageExtension": 200,
}

# Item pipelines, in stage order: extraction, then recording (capture index, reports.jsonl).
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.record.ReportRecordPipeline": 500,
}

# Where the archive lives; `govcrawl crawl --archive DIR` sets it.
GOVCRAWL_ARCHIVE_DIR = "archive"
# Capture index: None = ARCHIVE/captures.sqlite3; or a postgresql:// DSN and its schema.
GOVCRAWL_CAPTURE_INDEX = None
GOVCRAWL_CAPTURE_SCHEMA = None
GOVCRAWL_WARC_PREFIX = "govcrawl"
GOVCRAWL_WARC_MAX_SIZE = 1_000_000_000
GOVCRAWL_WARC_OPERATOR = None
# Ask "changed?" (If-None-Match / If-Modified-Since) for pages already archived.
GOVCRAWL_CONDITIONAL_REQUESTS = True
# Scheduled crawls (crawler/middlewares/revisit.py): ordinary articles are refetched after a
# week; reports (and their counters) and lists every run; "due" with 6 hours of slack.
GOVCRAWL_REVISIT_INTERVAL = 7 * 24 * 3600
GOVCRAWL_REPORT_RECHECK = 0
GOVCRAWL_SCHEDULE_SLACK = 6 * 3600
# Seconds added to the crawl's clock (tests move time with it; see govcrawl/clock.py).
GOVCRAWL_CLOCK_OFFSET = None
# Whole-site mode: follow every in-scope link, not only the way to the report columns.
GOVCRAWL_FOLLOW_ALL = False
# Bytes of a page's (decoded) body past which it is archived but not parsed (0: no limit): the
# parsed tree of a 50 MB table page alone takes gigabytes.
GOVCRAWL_PARSE_MAXSIZE = 8 * 1024 * 1024
# Extraction worker processes (0: extract in the crawl process, without limits), and the limits
# of one document: seconds, and bytes of address space of its worker (pipelines/extract.py).
GOVCRAWL_EXTRACT_WORKERS = 1
GOVCRAWL_EXTRACT_TIMEOUT = 120.0
GOVCRAWL_EXTRACT_MEMORY = 1024 * 1024 * 1024
# Store (crawler/extensions/storage.py): None or a local path = the archive folder only.
GOVCRAWL_STORE = None
GOVCRAWL_STORE_ENDPOINT_URL = None
GOVCRAWL_STORE_MULTIPART_THRESHOLD = 8 * 1024 * 1024
GOVCRAWL_STORE_PART_SIZE = 8 * 1024 * 1024
GOVCRAWL_STORE_CONNECT_TIMEOUT = 5.0
GOVCRAWL_STORE_MAX_ATTEMPTS = 3
# A fleet worker (crawler/fleet.py; `govcrawl worker --crawl NAME` sets the first three):
# the named crawl, its round, the worker's id, and how long a lease on a request lasts.
GOVCRAWL_FLEET = None
GOVCRAWL_FLEET_ROUND = 0
GOVCRAWL_FLEET_WORKER = None
GOVCRAWL_FLEET_LEASE = 30.0

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
