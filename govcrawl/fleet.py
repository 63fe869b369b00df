"""A named crawl shared by a fleet of workers: its state in Redis, without Scrapy.

Every key of crawl NAME lives under ``govcrawl:{NAME}:`` so two crawls on one Redis database
never meet (README "Beyond one machine"):

``round``               the current round (an integer; ``govcrawl seed`` starts the next one)
``r{N}:seeds``          the round's seed URLs (a list; workers build their scope from it)
``r{N}:seen``           the round's duplicate filter (scrapy-redis request fingerprints)
``r{N}:pages``          responses the whole fleet received in the round (a counter)
``r{N}:started``        when the round was seeded (ISO 8601 UTC, the crawl clock)
``r{N}:redirected``     report pages that moved to another report page (a set; for "gone")
``r{N}:follow-ups``      (page, follow-up) fingerprint pairs asked for outside the duplicate
                        filter (click counters), so a re-delivered page asks once
``r{N}:robots:{host}``  the host's robots.txt as the first worker fetched it (a hash)
``queue``               the frontier: serialised requests in a sorted set, score -priority
                        (scrapy-redis ``PriorityQueue``)
``leases``              requests a worker took: lease id -> expiry (Redis server time, ms)
``inflight``            lease id -> the serialised request; ``inflight:score`` its queue score;
                        ``inflight:owner`` the worker holding it
``workers``             worker id -> JSON (host, pid, started, pages, reports, round, state);
                        ``alive`` worker id -> expiry of its heartbeat
``host:{host}``         per-host slots: holder -> expiry; ``host:{host}:next`` earliest start
                        of the host's next request (ms), for the fleet-wide delay

At-least-once delivery: popping a request moves it atomically from ``queue`` to ``leases`` and
``inflight``; the worker's heartbeat extends its leases and acknowledges a lease once the
request is done (downloaded, parsed, its items recorded, its follow-ups queued). A lease that
expires (its worker died) is put back into ``queue`` by whichever worker reaps first.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.reports import unify_groups
from govcrawl.clock import clock
from govcrawl.run import gone_evidence

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Move the best request from the queue into the leases, atomically.
# KEYS: queue, leases, inflight, inflight:score, inflight:owner, lease seq, redelivered
# ARGV: lease ms, worker id. Returns lease id, request, 1 when it is a re-delivery.
_POP = """
local got = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #got == 0 then return nil end
redis.call('ZREM', KEYS[1], got[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = tostring(redis.call('INCR', KEYS[6]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
redis.call('HSET', KEYS[3], id, got[1])
redis.call('HSET', KEYS[4], id, got[2])
redis.call('HSET', KEYS[5], id, ARGV[2])
local again = redis.call('SREM', KEYS[7], redis.sha1hex(got[1]))
return {id, got[1], again}
"""

# Queue a request unless its mark is already in a set, atomically: a worker killed between
# marking and queueing would leave a request marked (every later delivery skips it) but never
# queued. KEYS: mark set, queue; ARGV: mark, request, score. Returns 1 when queued.
_PUSH_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[2])
return 1
"""

# Extend the given leases (only those still held). KEYS: leases; ARGV: lease ms, ids...
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
return n
"""

# Put leases back into the queue: the expired ones (ARGV[1] == 'expired') or the given ids.
# KEYS: queue, leases, inflight, inflight:score, inflight:owner, redelivered
_REQUEUE = """
local ids
if ARGV[1] == 'expired' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
else
  ids = {}
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[2], id) == 1 then
    local data = redis.call('HGET', KEYS[3], id)
    local score = redis.call('HGET', KEYS[4], id)
    if data then
      redis.call('ZADD', KEYS[1], tonumber(score or '0'), data)
      redis.call('SADD', KEYS[6], redis.sha1hex(data))
      n = n + 1
    end
  end
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
return n
"""

# A slot of a host for one request: at most ARGV[2] holders, starts ARGV[3] ms apart. Holders
# are "<worker>|<n>"; slots of a worker whose heartbeat stopped are freed at once.
# KEYS: host:{host}, host:{host}:next, alive; ARGV: holder, limit, delay ms, slot ms
# Returns 0 when taken, else the ms to wait before asking again.
_HOST_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, holder in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local worker = string.match(holder, '^(.*)|[^|]*$')
  local alive = worker and redis.call('ZSCORE', KEYS[3], worker)
  if not alive or tonumber(alive) < now then redis.call('ZREM', KEYS[1], holder) end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 50 end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('SET', KEYS[2], now + tonumber(ARGV[3]), 'PX', tonumber(ARGV[3]) + 60000)
return 0
"""


class FleetError(Exception):
    """A crawl name or round that cannot be used (bad name, round still running)."""


def check_name(name: str) -> str:
    """``name`` if it is a usable crawl name (letters, digits, ``.``, ``_``, ``-``; 64 at most),
    else FleetError."""
    if not _NAME.match(name or ""):
        raise FleetError(
            f"crawl name must be letters, digits, '.', '_' or '-' (64 at most), not {name!r}"
        )
    return name


def connect(url: str) -> Any:
    """A Redis client for ``url`` (``redis://host:port/db``); raises FleetError when the server
    does not answer."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise FleetError(f"cannot reach Redis at {url}: {exc}") from None
    return client


def worker_id() -> str:
    """A worker's id: host, pid and a random tag (unique across machines and restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Keys:
    """The Redis keys of crawl ``name`` (see the module docstring)."""

    name: str
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.prefix = f"govcrawl:{check_name(self.name)}:"

    @property
    def round(self) -> str:
        return self.prefix + "round"

    def seeds(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:seeds"

    def seen(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:seen"

    def pages(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:pages"

    def started(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:started"

    def redirected(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:redirected"

    def follow_ups(self, rnd: int) -> str:
        return f"{self.prefix}r{rnd}:follow-ups"

    def robots(self, rnd: int, host: str) -> str:
        return f"{self.prefix}r{rnd}:robots:{host}"

    @property
    def queue(self) -> str:
        return self.prefix + "queue"

    @property
    def leases(self) -> str:
        return self.prefix + "leases"

    @property
    def inflight(self) -> str:
        return self.prefix + "inflight"

    @property
    def workers(self) -> str:
        return self.prefix + "workers"

    @property
    def alive(self) -> str:
        return self.prefix + "alive"

    def host(self, host: str) -> str:
        return f"{self.prefix}host:{host}"

    def lease_keys(self) -> list[str]:
        p = self.prefix
        return [
            self.queue,
            self.leases,
            self.inflight,
            p + "inflight:score",
            p + "inflight:owner",
            p + "redelivered",
        ]

    def all_keys(self, client: Any) -> list[bytes]:
        return list(client.scan_iter(match=self.prefix + "*", count=1000))


class Fleet:
    """Crawl ``name`` on the Redis database of ``client``: rounds, leases, workers, status."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.keys = Keys(name)
        self._pop = client.register_script(_POP)
        self._push_once = client.register_script(_PUSH_ONCE)
        self._renew = client.register_script(_RENEW)
        self._requeue = client.register_script(_REQUEUE)
        self._host_acquire = client.register_script(_HOST_ACQUIRE)

    # -- rounds ---------------------------------------------------------------------------

    def current_round(self) -> int:
        """The current round, 0 before the first ``seed``."""
        value = self.client.get(self.keys.round)
        return int(value) if value else 0

    def round_seeds(self, rnd: int) -> list[str]:
        return [s.decode() for s in self.client.lrange(self.keys.seeds(rnd), 0, -1)]

    def busy(self) -> bool:
        """Work queued or in flight (a round in progress)."""
        return bool(self.client.zcard(self.keys.queue) or self.client.zcard(self.keys.leases))

    def new_round(self, seeds: Sequence[str], *, force: bool = False) -> int:
        """Start the next round with ``seeds``; returns its number. FleetError while the current
        round still has work, unless ``force`` (which drops that work)."""
        if self.busy():
            if not force:
                raise FleetError(
                    f"round {self.current_round()} of crawl {self.keys.name!r} still has work "
                    "queued or in flight (wait for it, or seed with --force to drop it)"
                )
            self.requeue_all()
            self.client.delete(self.keys.queue)
        rnd = int(self.client.incr(self.keys.round))
        pipe = self.client.pipeline()
        pipe.delete(self.keys.seeds(rnd))
        pipe.set(self.keys.started(rnd), clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        if seeds:
            pipe.rpush(self.keys.seeds(rnd), *seeds)
        pipe.execute()
        return rnd

    def round_started(self, rnd: int) -> str:
        """When round ``rnd`` was seeded (ISO 8601 UTC, like a capture's ``fetched``)."""
        value = self.client.get(self.keys.started(rnd))
        return value.decode() if value else ""

    def note_redirects(self, rnd: int, urls: Iterable[str]) -> None:
        urls = list(urls)
        if urls:
            self.client.sadd(self.keys.redirected(rnd), *urls)

    def redirected(self, rnd: int) -> set[str]:
        return {u.decode() for u in self.client.smembers(self.keys.redirected(rnd))}

    def count_page(self, rnd: int, n: int = 1) -> None:
        self.client.incrby(self.keys.pages(rnd), n)

    def round_pages(self, rnd: int) -> int:
        value = self.client.get(self.keys.pages(rnd))
        return int(value) if value else 0

    # -- queue and leases -----------------------------------------------------------------

    def push(self, data: bytes, priority: int) -> None:
        """Queue one serialised request (the scrapy-redis PriorityQueue's encoding)."""
        self.client.zadd(self.keys.queue, {data: -priority})

    def push_once(self, mark_key: str, mark: str, data: bytes, priority: int) -> bool:
        """Queue one serialised request unless ``mark`` is already in the set ``mark_key`` (a
        duplicate filter's fingerprint, a follow-up pair), marking and queueing in one atomic
        step. True when queued."""
        return bool(self._push_once(keys=[mark_key, self.keys.queue], args=[mark, data, -priority]))

    def pop(self, lease_seconds: float, worker: str) -> tuple[str, bytes, bool] | None:
        """Take the best queued request under a lease: (lease id, serialised request, whether
        an earlier lease of it ended without it being done)."""
        *lease, redelivered = self.keys.lease_keys()
        keys = [*lease, self.keys.prefix + "lease-seq", redelivered]
        got = self._pop(keys=keys, args=[int(lease_seconds * 1000), worker])
        if not got:
            return None
        return got[0].decode(), got[1], bool(got[2])

    def renew(self, lease_ids: Iterable[str], lease_seconds: float) -> int:
        """Extend leases still held; returns how many were."""
        ids = list(lease_ids)
        if not ids:
            return 0
        return int(self._renew(keys=[self.keys.leases], args=[int(lease_seconds * 1000), *ids]))

    def ack(self, lease_ids: Iterable[str]) -> None:
        """The requests under these leases are done: forget them."""
        ids = list(lease_ids)
        if not ids:
            return
        queue, leases, inflight, score, owner, _again = self.keys.lease_keys()
        pipe = self.client.pipeline()
        pipe.zrem(leases, *ids)
        for key in (inflight, score, owner):
            pipe.hdel(key, *ids)
        pipe.execute()

    def requeue(self, lease_ids: Iterable[str]) -> int:
        """Give these leases' requests back to the queue (a worker stopping early)."""
        ids = list(lease_ids)
        if not ids:
            return 0
        return int(self._requeue(keys=self.keys.lease_keys(), args=["ids", *ids]))

    def reap(self) -> int:
        """Put the requests of expired leases (dead workers) back into the queue."""
        return int(self._requeue(keys=self.keys.lease_keys(), args=["expired"]))

    def requeue_all(self) -> int:
        ids = [i.decode() for i in self.client.zrange(self.keys.leases, 0, -1)]
        return self.requeue(ids)

    # -- hosts ----------------------------------------------------------------------------

    def acquire_host(
        self, host: str, holder: str, limit: int, delay: float, slot_seconds: float
    ) -> float:
        """Take one of ``host``'s ``limit`` slots for ``holder`` (``<worker id>|<n>``; the slot
        expires after ``slot_seconds`` or when the worker's heartbeat stops), at least ``delay``
        seconds after the fleet's previous start there. Returns 0 when taken, else the seconds
        to wait before asking again."""
        key = self.keys.host(host)
        wait = self._host_acquire(
            keys=[key, key + ":next", self.keys.alive],
            args=[holder, max(1, limit), int(delay * 1000), int(slot_seconds * 1000)],
        )
        return int(wait) / 1000

    def release_host(self, host: str, holder: str) -> None:
        self.client.zrem(self.keys.host(host), holder)

    # -- workers --------------------------------------------------------------------------

    def beat(self, worker: str, info: dict[str, Any], ttl: float) -> None:
        """A worker's heartbeat: its state, and that it lives for ``ttl`` seconds more."""
        pipe = self.client.pipeline()
        pipe.hset(self.keys.workers, worker, json.dumps(info, ensure_ascii=False))
        pipe.zadd(self.keys.alive, {worker: _redis_ms(self.client) + int(ttl * 1000)})
        pipe.execute()

    def alive(self, worker: str) -> bool:
        """Whether ``worker``'s heartbeat is current."""
        expiry = self.client.zscore(self.keys.alive, worker)
        return expiry is not None and expiry > _redis_ms(self.client)

    def leave(self, worker: str, info: dict[str, Any]) -> None:
        """A worker that stopped: its last state stays, it is no longer alive."""
        pipe = self.client.pipeline()
        pipe.hset(self.keys.workers, worker, json.dumps(info, ensure_ascii=False))
        pipe.zrem(self.keys.alive, worker)
        pipe.execute()

    def status(self) -> dict[str, Any]:
        """The crawl at a glance: round, queue length, requests in flight, workers.

        ``workers``: one dict per worker that ever reported (``id``, ``alive``, ``in_flight``
        and what it last said: ``host``, ``pid``, ``round``, ``state``, ``pages``, ``reports``).
        """
        now = _redis_ms(self.client)
        alive = {
            w.decode(): score
            for w, score in self.client.zrange(self.keys.alive, 0, -1, withscores=True)
        }
        owners = self.client.hgetall(self.keys.prefix + "inflight:owner")
        held: dict[str, int] = {}
        for owner in owners.values():
            held[owner.decode()] = held.get(owner.decode(), 0) + 1
        workers = []
        for wid, raw in sorted(self.client.hgetall(self.keys.workers).items()):
            name = wid.decode()
            info = json.loads(raw)
            workers.append(
                {
                    "id": name,
                    "alive": alive.get(name, 0) > now,
                    "in_flight": held.get(name, 0),
                    **info,
                }
            )
        rnd = self.current_round()
        expired = self.client.zcount(self.keys.leases, "-inf", now)
        return {
            "crawl": self.keys.name,
            "round": rnd,
            "queued": int(self.client.zcard(self.keys.queue)),
            "in_flight": int(self.client.zcard(self.keys.leases)),
            "expired_leases": int(expired),
            "round_pages": self.round_pages(rnd) if rnd else 0,
            "workers": workers,
        }

    def drop(self) -> int:
        """Delete every key of the crawl (tests, or a crawl given up); returns how many."""
        keys = self.keys.all_keys(self.client)
        return int(self.client.delete(*keys)) if keys else 0


def _redis_ms(client: Any) -> int:
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def status_lines(status: dict[str, Any]) -> list[str]:
    """``govcrawl status`` as text: one summary line, then one line per worker."""
    lines = [
        f"crawl {status['crawl']}  round {status['round']}  queued {status['queued']}  "
        f"in flight {status['in_flight']} ({status['expired_leases']} expired)  "
        f"pages this round {status['round_pages']}  "
        f"workers alive {sum(1 for w in status['workers'] if w['alive'])}"
    ]
    for w in status["workers"]:
        lines.append(
            f"  {w['id']}  {'alive' if w['alive'] else 'gone '}  round {w.get('round')}  "
            f"{w.get('state', '?')}  pages {w.get('pages', 0)}  reports {w.get('reports', 0)}  "
            f"in flight {w['in_flight']}"
        )
    return lines


def round_reports(
    index: CaptureIndex, rnd: int, started: str, redirected: set[str]
) -> dict[str, dict[str, Any]]:
    """The report records of the whole archive after round ``rnd`` (seeded at ``started``), from
    the shared capture index: the round's records as the workers judged them; a report the round
    did not record is ``gone`` when the round's capture of its page says so, else
    ``unchanged``. Those verdicts are kept in the index (the next round judges against them);
    duplicate groups are unified over the whole archive. Keyed by URL."""
    merged: dict[str, dict[str, Any]] = {}
    judged_since = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    for record, recorded_in in index.report_records():
        url = record["url"]
        if recorded_in < rnd:
            gone = gone_evidence(
                index,
                record.get("landing_url") or url,
                lambda last: last.fetched >= started,
                redirected,
                judged_since,
            )
            if gone is not None:
                record = dict(record, status="gone", gone=gone)
            elif record.get("status") != "gone":
                record = dict(record, status="unchanged")
            index.put_report(record, round=rnd, run_id=None)
        merged[url] = record
    unify_groups(merged)
    return merged
