"""A worker of a named crawl (``govcrawl worker --crawl NAME``): the Scrapy side of the fleet.

Built on scrapy-redis: ``FleetScheduler`` is its ``Scheduler`` with the crawl's shared queue
(``govcrawl.fleet``: a priority queue whose pops are leases) and the round's duplicate filter
(scrapy-redis ``RFPDupeFilter`` under ``govcrawl:{NAME}:r{N}:seen``). A lease is acknowledged
once Scrapy is done with its request: downloaded, through the spider, its items through the
pipelines and its follow-up requests queued (the engine then drops the request from its
in-progress set). Leases of a dead worker expire and any worker puts them back into the queue.

A worker stays up while the crawl has work queued or in flight anywhere in the fleet
(``spider_idle`` raises ``DontCloseSpider``) and stops when both are empty. On a signal it puts
back what it holds before leaving.

``FleetHostSlotMiddleware`` makes politeness hold across the fleet: before a request is
downloaded the worker takes one of the host's slots in Redis (as many as the host's concurrency
allows, starts spaced by its delay); ``FleetRobotsTxtMiddleware`` fetches each host's robots.txt
once per round for the whole fleet. A slot or a robots.txt fetch held by a worker whose
heartbeat stopped is taken over at once.

Settings: GOVCRAWL_FLEET (the crawl name), GOVCRAWL_FLEET_ROUND, REDIS_URL,
GOVCRAWL_FLEET_LEASE (seconds a lease lasts without a heartbeat, default 30),
GOVCRAWL_FLEET_WORKER (the worker's id; default host:pid:tag).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import build_from_crawler
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from govcrawl.fleet import Fleet, connect, worker_id

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 0.5
# request.meta key: the (page, follow-up) fingerprint pair of a follow-up outside the duplicate
# filter (FleetFollowUpMiddleware); taken off by the scheduler before the request is queued.
FOLLOW_UP = "fleet_follow_up"


def encode_request(request: Request, spider: Any) -> bytes:
    """A request as scrapy-redis queues it (its dict, pickled; callbacks by name)."""
    return bytes(picklecompat.dumps(request.to_dict(spider=spider)))


def decode_request(data: bytes, spider: Any) -> Request:
    from scrapy.utils.request import request_from_dict

    return request_from_dict(picklecompat.loads(data), spider=spider)


def fleet_of(settings: Any) -> tuple[Fleet, int]:
    """The crawl and round a worker's settings name."""
    name = settings.get("GOVCRAWL_FLEET")
    if not name:
        raise NotConfigured("not a fleet worker (GOVCRAWL_FLEET is not set)")
    return Fleet(connect(settings.get("REDIS_URL")), name), settings.getint("GOVCRAWL_FLEET_ROUND")


def seed_round(fleet: Fleet, rnd: int, spider: Any, requests: list[Request]) -> tuple[int, int]:
    """Queue a round's start requests through its duplicate filter: (queued, duplicates)."""
    dupefilter = RFPDupeFilter(fleet.client, key=fleet.keys.seen(rnd))
    queued = 0
    for request in requests:
        data = encode_request(request, spider)
        if request.dont_filter:
            fleet.push(data, request.priority)
        elif not fleet.push_once(
            dupefilter.key, dupefilter.request_fingerprint(request), data, request.priority
        ):
            continue
        queued += 1
    return queued, len(requests) - queued


class FleetScheduler(Scheduler):
    """scrapy-redis's scheduler on the crawl's leased queue; see the module docstring."""

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetScheduler:
        fleet, rnd = fleet_of(crawler.settings)
        instance = cls(
            server=fleet.client,
            persist=True,
            queue_key=fleet.keys.queue,
            dupefilter=RFPDupeFilter(fleet.client, key=fleet.keys.seen(rnd)),
            dupefilter_key=fleet.keys.seen(rnd),
        )
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.fleet = fleet
        instance.round = rnd
        instance.started = fleet.round_started(rnd)
        instance.worker = crawler.settings.get("GOVCRAWL_FLEET_WORKER") or worker_id()
        instance.lease_seconds = crawler.settings.getfloat("GOVCRAWL_FLEET_LEASE")
        instance.leased = {}
        # Taken from the queue, not yet out of the downloader: a worker takes no more than a
        # quarter of its CONCURRENT_REQUESTS ahead, so it never hoards what others could fetch.
        instance.ahead = set()
        instance.max_ahead = max(2, crawler.settings.getint("CONCURRENT_REQUESTS") // 4)
        instance.state = "crawling"
        instance._last_beat = 0.0
        instance._loop = None
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(instance.response_received, signal=signals.response_received)
        crawler.signals.connect(instance.left_downloader, signal=signals.request_left_downloader)
        return instance

    fleet: Fleet
    round: int
    started: str
    worker: str
    lease_seconds: float
    leased: dict[str, Request]
    ahead: set[Request]
    max_ahead: int
    state: str
    _last_beat: float
    _loop: Any

    # -- scrapy-redis Scheduler ----------------------------------------------------------

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.queue = _LeasedQueue(self)
        self._beat(force=True)
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(SWEEP_SECONDS, now=False)

    def close(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._sweep()
        if self.leased:
            # Stopped before these were done (a signal, --max-pages): the fleet gets them back.
            n = self.fleet.requeue(self.leased)
            logger.info("gave %d unfinished requests back to crawl %s", n, self.fleet.keys.name)
            self.leased.clear()
        self.state = "finished" if reason == "finished" else f"stopped ({reason})"
        self.fleet.leave(self.worker, self._info())

    def next_request(self) -> Request | None:
        if len(self.ahead) >= self.max_ahead:
            return None  # enough taken and not yet downloaded: leave the rest to other workers
        got = self.fleet.pop(self.lease_seconds, self.worker)
        if got is None:
            return None
        lease, data, again = got
        request = decode_request(data, self.spider)
        if again:
            self._reuse_capture(request)
        self.leased[lease] = request
        self.ahead.add(request)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def enqueue_request(self, request: Request) -> bool:
        # Marked (seen, or a follow-up pair asked for) and queued in one atomic step: a worker
        # killed in between would leave a request every later delivery skips but none holds.
        pair = request.meta.pop(FOLLOW_UP, None)
        if pair is not None:
            queued = self.queue.push_once(request, self.fleet.keys.follow_ups(self.round), pair)
        elif not request.dont_filter:
            queued = self.queue.push_once(
                request, self.df.key, self.df.request_fingerprint(request)
            )
            if not queued:
                self.df.log(request, self.spider)
        else:
            self.queue.push(request)
            queued = True
        if queued and self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return queued

    def _reuse_capture(self, request: Request) -> None:
        """A request whose worker died (or stopped) before it was done comes again. When that
        attempt was captured this round, the capture stands: the response is fetched again for
        the spider, but not recorded twice (follow-ups already queued carry the capture)."""
        from govcrawl.archive.captures import Capture
        from govcrawl.run import run_of

        run = run_of(self.crawler)
        row = run.index.capture_since(request.url, self.started) if run else None
        if row is None:
            return
        request.meta["fleet_capture"] = Capture(
            url=row.url,
            fetched=row.fetched,
            http_status=row.http_status,
            digest=row.digest,
            warc=row.warc,
            offset=row.offset,
            length=row.length,
            record_type=row.record_type,
            status=row.status,
            capture_id=row.id,
        )
        # Due now, whatever the revisit schedule says since that attempt marked the page seen;
        # asked unconditionally, since that attempt's record may sit on a dead worker's disk.
        request.dont_filter = True
        request.meta["conditional"] = False
        logger.info("re-delivered %s: keeping its capture of this round", request.url)

    def has_pending_requests(self) -> bool:
        return len(self.queue) > 0

    # -- leases --------------------------------------------------------------------------

    def _in_progress(self) -> set[Request] | None:
        # The engine keeps a request in its slot until its download, callback, items and
        # follow-ups are all done; Scrapy has no signal for that moment.
        slot = getattr(self.crawler.engine, "_slot", None)
        return getattr(slot, "inprogress", None)

    def _sweep(self) -> None:
        """Acknowledge the leases whose requests Scrapy is done with."""
        busy = self._in_progress()
        if busy is None:
            return
        done = [lease for lease, req in self.leased.items() if req not in busy]
        if done:
            self.fleet.ack(done)
            for lease in done:
                self.ahead.discard(self.leased.pop(lease))

    def _tick(self) -> None:
        try:
            self._sweep()
            self._beat()
            engine = self.crawler.engine
            slot = getattr(engine, "_slot", None)
            if slot is not None and len(self.queue):
                slot.nextcall.schedule()  # wake an idle worker without waiting for Scrapy's 5 s
        except Exception:  # Redis gone for a moment: the next tick tries again
            logger.exception("fleet heartbeat failed")

    def _beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < self.lease_seconds / 3:
            return
        self._last_beat = now
        self.fleet.renew(self.leased, self.lease_seconds)
        self.fleet.beat(self.worker, self._info(), self.lease_seconds)
        self._reap()

    def _reap(self) -> None:
        reaped = self.fleet.reap()
        if reaped:
            logger.warning("re-queued %d requests of expired leases", reaped)

    def _info(self) -> dict[str, Any]:
        import os
        import socket

        stats = self.stats.get_stats() if self.stats else {}
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "round": self.round,
            "state": self.state,
            "pages": int(stats.get("response_received_count", 0)),
            "reports": int(stats.get("govcrawl/reports/seen", 0)),
        }

    # -- signals -------------------------------------------------------------------------

    def left_downloader(self, request: Any, spider: Any) -> None:
        self.ahead.discard(request)

    def response_received(self, response: Any, request: Any, spider: Any) -> None:
        self.fleet.count_page(self.round)

    def spider_idle(self, spider: Any) -> None:
        self._sweep()
        self._reap()
        if not self.fleet.busy():
            return  # nothing queued, nothing in flight anywhere: the round is over
        self.state = "idle"
        raise DontCloseSpider


class _LeasedQueue:
    """The scheduler's queue: pushes go to the crawl's queue; pops are the scheduler's."""

    def __init__(self, scheduler: FleetScheduler) -> None:
        self.scheduler = scheduler

    def __len__(self) -> int:
        return int(self.scheduler.fleet.client.zcard(self.scheduler.fleet.keys.queue))

    def push(self, request: Request) -> None:
        self.scheduler.state = "crawling"
        data = encode_request(request, self.scheduler.spider)
        self.scheduler.fleet.push(data, request.priority)

    def push_once(self, request: Request, mark_key: str, mark: str) -> bool:
        """Queue ``request`` unless ``mark`` is in the set ``mark_key`` (Fleet.push_once)."""
        data = encode_request(request, self.scheduler.spider)
        queued = self.scheduler.fleet.push_once(mark_key, mark, data, request.priority)
        if queued:
            self.scheduler.state = "crawling"
        return queued

    def clear(self) -> None:  # Scheduler.flush(); never called (persist=True)
        raise RuntimeError("a fleet worker never clears the crawl's queue")


def _scheduler(crawler: Crawler) -> FleetScheduler | None:
    engine = crawler.engine
    slot = getattr(engine, "_slot", None)
    scheduler = getattr(slot, "scheduler", None)
    return scheduler if isinstance(scheduler, FleetScheduler) else None


class FleetFollowUpMiddleware:
    """Spider middleware: a re-delivered request's follow-ups are not asked for twice.

    Follow-ups the duplicate filter lets through (``dont_filter``: a report's click counter)
    would come again from a second delivery of their page; each (page, follow-up) pair is
    remembered for the round and queued once. The pair goes in ``meta[FOLLOW_UP]``; the
    scheduler remembers it and queues the request in one step (FleetScheduler.enqueue_request).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetFollowUpMiddleware:
        if not crawler.settings.get("GOVCRAWL_FLEET"):
            raise NotConfigured("not a fleet worker (GOVCRAWL_FLEET is not set)")
        return cls(crawler)

    async def process_spider_output(
        self, response: Any, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        fingerprinter = self.crawler.request_fingerprinter
        parent = fingerprinter.fingerprint(response.request).hex()
        async for out in result:
            if isinstance(out, Request) and out.dont_filter:
                out.meta[FOLLOW_UP] = parent + fingerprinter.fingerprint(out).hex()
            yield out


class FleetHostSlotMiddleware:
    """Per-host concurrency and delay across the fleet: a Redis slot for every download.

    The limit and delay are the worker's own for the host (CONCURRENT_REQUESTS_PER_DOMAIN and
    DOWNLOAD_DELAY from the command line, else the host's site profile), so N workers together
    never exceed what one worker may do. A slot expires after DOWNLOAD_TIMEOUT plus a margin
    when its worker dies holding it.
    """

    def __init__(self, crawler: Crawler, fleet: Fleet) -> None:
        self.crawler = crawler
        self.fleet = fleet
        settings = crawler.settings
        cmdline = SETTINGS_PRIORITIES["cmdline"]
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.fixed_delay = (settings.getpriority("DOWNLOAD_DELAY") or 0) >= cmdline
        self.fixed_concurrency = (
            settings.getpriority("CONCURRENT_REQUESTS_PER_DOMAIN") or 0
        ) >= cmdline
        self.slot_seconds = settings.getfloat("DOWNLOAD_TIMEOUT") + 30
        self._holders: dict[int, tuple[str, str]] = {}
        self._seq = 0
        self.worker = settings.get("GOVCRAWL_FLEET_WORKER") or worker_id()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetHostSlotMiddleware:
        fleet, _ = fleet_of(crawler.settings)
        mw = cls(crawler, fleet)
        crawler.signals.connect(mw.request_left, signal=signals.request_left_downloader)
        return mw

    def _limits(self, host: str) -> tuple[int, float]:
        profiles = getattr(self.crawler.spider, "profiles", None)
        limit, delay = self.concurrency, self.delay
        if profiles is not None:
            profile = profiles.for_host(host)
            if not self.fixed_concurrency:
                limit = profile.concurrency_per_host
            if not self.fixed_delay:
                delay = profile.download_delay
        return limit, delay

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc
        limit, delay = self._limits(urlsplit(request.url).hostname or "")
        self._seq += 1
        holder = f"{self.worker}|{self._seq}"
        wait = self.fleet.acquire_host(host, holder, limit, delay, self.slot_seconds)
        while wait > 0:
            await asyncio.sleep(min(wait, 1.0))
            wait = self.fleet.acquire_host(host, holder, limit, delay, self.slot_seconds)
        self._holders[id(request)] = (host, holder)
        request.meta["fleet_host_slot"] = holder
        return None

    def request_left(self, request: Request, spider: Any) -> None:
        held = self._holders.pop(id(request), None)
        if held is not None:
            self.fleet.release_host(*held)


class FleetRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with each host's robots.txt fetched once per round for the
    whole fleet: the first worker to need it fetches it (a Redis lock), the others read the
    body it stored."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.fleet, self.round = fleet_of(crawler.settings)
        self.worker = crawler.settings.get("GOVCRAWL_FLEET_WORKER") or worker_id()
        self._bodies: dict[str, bytes] = {}

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlsplit(request.url).netloc
        if netloc in self._parsers:
            return await super().robot_parser(request)
        key = self.fleet.keys.robots(self.round, netloc)
        client = self.fleet.client
        while True:
            stored = client.hget(key, "body")
            if stored is not None:
                cached = build_from_crawler(self._parserimpl, self.crawler, stored)
                self._parsers[netloc] = cached
                return cached
            if client.hsetnx(key, "fetcher", self.worker):
                client.expire(key, 7 * 24 * 3600)
                break
            fetcher = client.hget(key, "fetcher")
            if fetcher is not None and not self.fleet.alive(fetcher.decode()):
                # Its fetcher died before storing it: the next asker fetches it.
                client.hdel(key, "fetcher")
                continue
            await asyncio.sleep(0.2)
        parser = await super().robot_parser(request)
        # A robots.txt that failed or was not 200 allows everything: an empty body says so.
        client.hset(key, "body", self._bodies.pop(netloc, b""))
        return parser

    async def _parse_robots(self, response: Any, netloc: str, request: Request) -> None:
        if response.status == 200:
            self._bodies[netloc] = response.body
        await super()._parse_robots(response, netloc, request)
