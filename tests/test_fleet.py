"""A fleet of workers on one named crawl (Redis 127.0.0.1:6379, PostgreSQL 127.0.0.1:5432, S3 by
moto) against the replica, compared with a single-worker crawl of the same replica.

Every test uses its own crawl name (its own Redis keys), its own PostgreSQL schema and its own
bucket prefix, and removes the keys and the schema afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.fleet import FleetFollowUpMiddleware, FleetScheduler, decode_request
from govcrawl.extract.decode import decode_body
from govcrawl.fleet import Fleet
from replica import expected
from replica.process import ReplicaProcess
from tests.conftest import (
    FAST,
    GOVCRAWL,
    RECHECK_ALL,
    REPO,
    CrawlResult,
    run_govcrawl,
)
from tests.s3server import MotoServer, free_port, s3_server  # noqa: F401 (fixture)
from tests.test_s3_archive import http_get, s3_env, stop_process

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
# Per-host limit of the fleet runs: low, so three workers would exceed it without fleet slots.
PER_HOST = 2
# Seconds a lease lasts: the default (30) where no worker dies, so a worker slowed down by a busy
# machine never loses its leases; short where one is killed, so its requests come back quickly.
LEASE = 30
KILL_LEASE = 3


@dataclass
class FleetRun:
    """One named crawl on fresh keys, schema and store prefix."""

    tmp: Path
    store: str
    endpoint: str
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    pids: dict[int, str] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    replica: ReplicaProcess | None = None

    @property
    def schema(self) -> str:
        return f"govcrawl_{self.name}"

    @property
    def env(self) -> dict[str, str]:
        return s3_env(self.tmp, self.replica.url if self.replica else None)

    def index_args(self) -> list[str]:
        return ["--index", PG, "--index-schema", self.schema]

    def govcrawl(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GOVCRAWL, *args], cwd=REPO, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def start_replica(self, round: int, latency: float = 0.02) -> None:
        self.replica = ReplicaProcess(
            round=round, log_path=self.tmp / f"replica-{round}.log", latency=latency
        )
        self.replica.start()

    def stop_replica(self) -> list[dict]:
        assert self.replica is not None
        log = self.replica.log_path
        self.replica.stop()
        self.replica = None
        assert log is not None
        return [json.loads(line) for line in log.read_text().splitlines()]

    def seed(self, *extra: str) -> subprocess.CompletedProcess[str]:
        proc = self.govcrawl(["seed", "--crawl", self.name, "--redis", REDIS, *extra])
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    def worker(self, label: str, *extra: str, lease: int = LEASE) -> subprocess.Popen[str]:
        args = [
            "worker", "--crawl", self.name, "--redis", REDIS,
            "--archive", str(self.tmp / label), *self.index_args(),
            "--store", self.store, "--endpoint-url", self.endpoint,
            *FAST, "--set", f"CONCURRENT_REQUESTS_PER_DOMAIN={PER_HOST}",
            "--set", f"GOVCRAWL_FLEET_LEASE={lease}", *extra,
        ]  # fmt: skip
        with (
            (self.tmp / f"{label}.out").open("w") as out,
            (self.tmp / f"{label}.err").open("w") as err,
        ):
            proc = subprocess.Popen(
                [*GOVCRAWL, *args], cwd=REPO, env=self.env, stdout=out, stderr=err, text=True
            )
        self.procs[label] = proc
        self.pids[proc.pid] = label
        return proc

    def status(self) -> dict:
        proc = self.govcrawl(["status", "--crawl", self.name, "--redis", REDIS, "--json"])
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        self.statuses.append(status)
        return status

    def wait_until(self, ok, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if ok(status):
                return status
            time.sleep(0.3)
        raise AssertionError(f"timed out; last status {self.statuses[-1:]}")

    def wait_workers(self, timeout: float = 300) -> dict[str, int]:
        """Wait for every worker, watching `status` meanwhile; their exit codes."""
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in self.procs.values()):
            assert time.monotonic() < deadline, "workers did not finish"
            self.status()
            time.sleep(0.3)
        codes = {label: p.wait() for label, p in self.procs.items()}
        self.procs.clear()
        return codes

    def output(self, label: str) -> str:
        return (self.tmp / f"{label}.out").read_text() + (self.tmp / f"{label}.err").read_text()

    def pages(self, label: str) -> int:
        """Pages a worker fetched, from its summary line."""
        line = next(ln for ln in self.output(label).splitlines() if " pages, reports " in ln)
        return int(line.split("govcrawl: ", 1)[1].split(" pages", 1)[0])

    def publish(self, archive: Path) -> subprocess.CompletedProcess[str]:
        args = ["publish", "--crawl", self.name, "--redis", REDIS, "--archive", str(archive)]
        args += [*self.index_args(), "--store", self.store, "--endpoint-url", self.endpoint]
        proc = self.govcrawl(args)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    def captures(self) -> list[tuple[str, int, str]]:
        """(url, http status, record type) of every row of the shared capture index."""
        with psycopg.connect(PG) as conn:
            sql = f'SELECT url, http_status, record_type FROM "{self.schema}".captures'
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    def warcs(self) -> set[str]:
        """WARC files the shared capture index points into."""
        with psycopg.connect(PG) as conn:
            sql = f'SELECT DISTINCT warc FROM "{self.schema}".captures'
            return {r[0] for r in conn.execute(sql).fetchall()}

    def cleanup(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        if self.replica is not None:
            self.replica.stop()
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"govcrawl:{self.name}:*"))
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def new_fleet(tmp: Path, server: MotoServer) -> FleetRun:
    bucket = server.create_bucket()
    return FleetRun(tmp, f"s3://{bucket}/fleet", server.url)


def single_captures(result: CrawlResult) -> list[tuple[str, int, str]]:
    import sqlite3

    with sqlite3.connect(result.archive / "captures.sqlite3") as conn:
        return [
            tuple(r) for r in conn.execute("SELECT url, http_status, record_type FROM captures")
        ]


def requests_of(log: list[dict]) -> Counter[tuple[str, str, int]]:
    return Counter((r["host"], r["path"], r["status"]) for r in log)


def read_jsonl(path: Path) -> dict[str, dict]:
    return {r["url"]: r for r in map(json.loads, path.read_text().splitlines())}


def groups(records: dict[str, dict]) -> set[frozenset[str]]:
    """The duplicate groups as sets of URLs (group ids differ between archives)."""
    by_id: dict[str, set[str]] = {}
    for url, rec in records.items():
        if rec["group"] is not None:
            by_id.setdefault(rec["group"], set()).add(url)
    return {frozenset(urls) for urls in by_id.values()}


COMPARED = ("title", "agency", "source", "year", "published", "clicks", "text", "digest", "status")


def same_records(
    fleet: dict[str, dict], single: dict[str, dict], compared: tuple[str, ...] = COMPARED
) -> None:
    assert set(fleet) == set(single)
    for url in single:
        got = {k: fleet[url][k] for k in compared}
        want = {k: single[url][k] for k in compared}
        assert got == want, url
    assert groups(fleet) == groups(single)


# -- round 1: three workers, one early, one late ------------------------------------------------


@dataclass
class Round1:
    fleet: FleetRun
    codes: dict[str, int]
    log: list[dict]
    published: Path


@pytest.fixture(scope="module")
def round1(
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: MotoServer,  # noqa: F811
) -> Iterator[Round1]:
    tmp = tmp_path_factory.mktemp("fleet1")
    fleet = new_fleet(tmp, s3_server)
    try:
        # Answers slow enough that the late worker starts while much is left to do.
        fleet.start_replica(1, latency=0.08)
        fleet.worker("early")  # waits for work before the round is seeded
        time.sleep(1.0)
        fleet.seed()
        fleet.worker("second")
        # The late worker comes when the crawl is well under way and work is still queued.
        fleet.wait_until(lambda s: s["round_pages"] >= 5 and s["queued"] > 0)
        # On a loaded machine the late worker may boot after the others fetched everything: hold
        # them (SIGSTOP, well within their 30 s heartbeat) until it has started fetching.
        running = [fleet.procs["early"], fleet.procs["second"]]
        for proc in running:
            os.kill(proc.pid, signal.SIGSTOP)
        try:
            late = fleet.worker("late").pid
            with contextlib.suppress(AssertionError):  # judged by the test, not here
                fleet.wait_until(
                    lambda s: any(w["pid"] == late and w["pages"] > 0 for w in s["workers"]),
                    timeout=20,
                )
        finally:
            for proc in running:
                os.kill(proc.pid, signal.SIGCONT)
        codes = fleet.wait_workers()
        log = fleet.stop_replica()
        fleet.status()
        published = tmp / "published"
        fleet.publish(published)
        yield Round1(fleet, codes, log, published)
    finally:
        fleet.cleanup()


def test_three_workers_all_take_part_and_none_exits_5(round1: Round1) -> None:
    assert round1.codes == {"early": 0, "second": 0, "late": 0}, {
        k: round1.fleet.output(k)[-2000:] for k in round1.codes
    }
    for label in round1.codes:
        timeline = [
            (
                s["queued"],
                s["in_flight"],
                [(w["pid"], w["state"], w["pages"]) for w in s["workers"]],
            )
            for s in round1.fleet.statuses
        ]
        assert round1.fleet.pages(label) > 0, (label, round1.fleet.pids, timeline)


def test_status_shows_the_queue_while_running_and_empty_after(round1: Round1) -> None:
    running = [s for s in round1.fleet.statuses if s["queued"] + s["in_flight"] > 0]
    assert running, "status never saw queued or in-flight requests"
    assert all(s["round"] == 1 for s in running)
    assert max(sum(w["alive"] for w in s["workers"]) for s in running) >= 2
    assert any(w["pages"] > 0 for s in running for w in s["workers"])
    last = round1.fleet.statuses[-1]
    assert (last["queued"], last["in_flight"]) == (0, 0)
    assert not any(w["alive"] for w in last["workers"])
    assert {w["state"] for w in last["workers"]} == {"finished"}
    assert sum(w["pages"] for w in last["workers"]) == last["round_pages"]


def test_no_url_fetched_twice_and_the_same_fetches_as_one_worker(
    round1: Round1, crawl_round1: CrawlResult
) -> None:
    fetched = requests_of(round1.log)
    single_log = crawl_round1.replica.log_path
    assert single_log is not None
    single = requests_of([json.loads(ln) for ln in single_log.read_text().splitlines()])
    # Each (host, path, answer) as often as one worker asked: once, or once per retry of a 5xx.
    assert fetched == single
    assert fetched[("www.xam.gov.cn", "/robots.txt", 200)] == 1


def test_captures_and_report_records_are_the_single_workers(
    round1: Round1, crawl_round1: CrawlResult
) -> None:
    assert Counter(round1.fleet.captures()) == Counter(single_captures(crawl_round1))
    published = read_jsonl(round1.published / "reports.jsonl")
    same_records(published, crawl_round1.reports())
    assert set(published) == {r["url"] for r in expected.expected_reports(1)}
    assert {r["status"] for r in published.values()} == {"new"}


def test_no_host_served_more_concurrent_requests_than_its_limit(round1: Round1) -> None:
    most = Counter()
    for entry in round1.log:
        most[entry["host"]] = max(most[entry["host"]], entry["active"])
    assert max(most.values()) == PER_HOST, most  # the limit was reached, never passed


def test_archivists_tools_over_the_fleets_archive(
    round1: Round1, crawl_round1: CrawlResult
) -> None:
    fleet = round1.fleet
    exported = fleet.govcrawl(["export", "--archive", str(round1.published)])
    assert exported.returncode == 0, exported.stderr
    single = run_govcrawl(["export", "--archive", str(crawl_round1.archive)], None)
    got = {r["url"]: r for r in map(json.loads, exported.stdout.splitlines())}
    want = {r["url"]: r for r in map(json.loads, single.stdout.splitlines())}
    same_records(got, want)
    url = sorted(got)[0]
    history = fleet.govcrawl(
        ["history", url, "--archive", str(round1.published), *fleet.index_args()]
    )
    assert history.returncode == 0, history.stderr
    rows = [json.loads(ln) for ln in history.stdout.splitlines()]
    assert [(r["digest"], r["status"]) for r in rows] == [(got[url]["digest"], "new")]
    wacz = fleet.govcrawl(
        ["wacz", "--archive", str(round1.published), "-o", str(fleet.tmp / "fleet.wacz")]
    )
    assert wacz.returncode == 0, wacz.stderr
    one = run_govcrawl(
        ["wacz", "--archive", str(crawl_round1.archive), "-o", str(fleet.tmp / "one.wacz")], None
    )
    assert one.returncode == 0, one.stderr
    assert wacz_pages(fleet.tmp / "fleet.wacz") == wacz_pages(fleet.tmp / "one.wacz")
    coverage = [
        run_govcrawl(["coverage", "--archive", str(archive), "-o", str(fleet.tmp / f"{n}.html"),
                      "--csv", str(fleet.tmp / f"{n}.csv")], None)
        for n, archive in (("fleet", round1.published), ("one", crawl_round1.archive))
    ]  # fmt: skip
    assert [c.returncode for c in coverage] == [0, 0], coverage[0].stderr
    # The same agency x year cells and states (links carry each archive's own capture times).
    cells = [
        sorted(
            tuple(row.split(",")[:3]) for row in (fleet.tmp / f"{n}.csv").read_text().splitlines()
        )
        for n in ("fleet", "one")
    ]
    assert cells[0] == cells[1]
    replay_reports(fleet, round1.published, got)


def replay_reports(fleet: FleetRun, published: Path, records: dict[str, dict]) -> None:
    """A stock pywb behind `govcrawl replay` serves the fleet's report pages as archived: their
    key sentence and their click counter, read from the shared store (WARCs of any worker)."""
    port = free_port()
    proc = subprocess.Popen(
        [*GOVCRAWL, "replay", "--archive", str(published), "--port", str(port)],
        cwd=REPO, env=fleet.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("replaying "), first
        base = f"http://127.0.0.1:{port}/govcrawl/"
        want = {r["url"]: r for r in expected.expected_reports(1)}
        warcs: set[str] = set()
        for url, rec in sorted(records.items()):
            exp = want.get(url)
            if not exp or not exp["key_sentences"] or exp["counter"] != "A":
                continue
            ts = re.sub(r"[^0-9]", "", rec["fetched"])[:14]
            status, ctype, body = http_get(f"{base}{ts}/{url}")
            assert status == 200, (url, status, body[:300])
            text = "".join(decode_body(body, ctype)[0].split())
            assert "".join(exp["key_sentences"][0].split()) in text, url
            status, _, body = http_get(f"{base}{ts}id_/{exp['counter_url']}")
            assert status == 200 and json.loads(body)["clicks"] == rec["clicks"], url
            warcs.add(rec["warc"])
            if len(warcs) >= 2:
                break
        assert len(warcs) >= 2, "the checked reports come from more than one WARC"
    finally:
        stop_process(proc)


def wacz_pages(path: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        lines = zf.read("pages/pages.jsonl").decode().splitlines()[1:]
    return {json.loads(line)["url"] for line in lines}


# -- a worker killed mid-crawl ------------------------------------------------------------------


def test_a_worker_killed_mid_crawl_loses_nothing(
    tmp_path: Path,
    s3_server: MotoServer,  # noqa: F811
    crawl_round1: CrawlResult,
) -> None:
    fleet = new_fleet(tmp_path, s3_server)
    try:
        fleet.start_replica(1)
        fleet.seed()
        victim = fleet.worker("victim", lease=KILL_LEASE)
        fleet.worker("survivor", lease=KILL_LEASE)
        fleet.wait_until(
            lambda s: (
                s["round_pages"] >= 60
                and any(
                    w["in_flight"] for w in s["workers"] if w["id"].split(":")[1] == str(victim.pid)
                )
            )
        )
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        del fleet.procs["victim"]
        codes = fleet.wait_workers()
        assert codes == {"survivor": 0}, fleet.output("survivor")[-3000:]
        assert "re-queued" in fleet.output("survivor")
        log = fleet.stop_replica()
        # Restarted (as systemd would), the killed worker seals and ships what it wrote.
        assert list((tmp_path / "victim" / "warc").glob("*.open"))
        again = fleet.worker("victim", "--wait", "0", lease=KILL_LEASE)
        assert again.wait(timeout=120) == 0, fleet.output("victim")[-2000:]
        assert not list((tmp_path / "victim" / "warc").glob("*.open"))
        bucket = fleet.store.split("/")[2]
        stored = {key.rsplit("/", 1)[-1] for key in s3_server.keys(bucket)}
        assert {warc for warc in fleet.warcs()} <= stored
        fleet.publish(tmp_path / "published")
        reports = read_jsonl(tmp_path / "published" / "reports.jsonl")
        # A click counter the killed worker had asked may be asked again: clicks may be one up.
        same_records(reports, crawl_round1.reports(), tuple(k for k in COMPARED if k != "clicks"))
        # Every URL the single worker captured is captured with the same final answers, each
        # answer once in the index (how many 5xx a retried URL met depends on who asked when).
        captured = Counter(fleet.captures())
        single = single_captures(crawl_round1)
        assert {url for url, _s, _t in captured} == {url for url, _s, _t in single}
        assert {(u, s) for u, s, _t in captured if s < 500} == {
            (u, s) for u, s, _t in single if s < 500
        }
        assert max(n for (_u, status, _t), n in captured.items() if status == 200) == 1
        assert {(r["host"], r["path"]) for r in log} == {
            (r["host"], r["path"]) for r in fleet_single_log(crawl_round1)
        }
    finally:
        fleet.cleanup()


class _Pages(Spider):
    name = "pages"

    def parse(self, response: Any) -> None:  # a queued request names its callback
        return None


async def _through(mw: FleetFollowUpMiddleware, response: HtmlResponse, out: Request) -> list:
    async def result() -> AsyncIterator[Any]:
        yield out

    return [o async for o in mw.process_spider_output(response, result())]


def test_a_click_counter_asked_for_by_a_worker_killed_before_queueing_it_is_queued_later() -> None:
    # Issue 12 under load: a worker asked for a report's click counter (the report comes out of
    # the counter's callback) and was killed before its scheduler queued it. The report page came
    # again to another worker; that delivery's counter must be queued, else the report is lost.
    name = f"t{uuid.uuid4().hex[:10]}"
    settings = {
        "GOVCRAWL_FLEET": name,
        "GOVCRAWL_FLEET_ROUND": 1,
        "REDIS_URL": REDIS,
        "GOVCRAWL_FLEET_LEASE": 30,
    }
    fleet = Fleet(redis.Redis.from_url(REDIS), name)
    spider = _Pages()
    crawler = get_crawler(_Pages, settings)
    mw = FleetFollowUpMiddleware.from_crawler(crawler)
    scheduler = FleetScheduler.from_crawler(crawler)
    try:
        scheduler.open(spider)
        page = Request("http://www.kyqq.gov.cn/art/2026/1/30/art_1229_2792610.html")
        response = HtmlResponse(page.url, request=page, body=b"<html></html>")

        def counter() -> Request:
            url = "http://www.kyqq.gov.cn/vc/vc/interface/artcount/artcount.jsp?artid=2792610"
            return Request(url, callback=spider.parse, dont_filter=True, priority=60)

        # The killed delivery: through the spider middlewares, never reaching the scheduler.
        asyncio.run(_through(mw, response, counter()))
        # The page delivered again (its lease expired), then once more after that.
        for _delivery in range(2):
            for out in asyncio.run(_through(mw, response, counter())):
                scheduler.enqueue_request(out)
        queued = [decode_request(d, spider) for d in fleet.client.zrange(fleet.keys.queue, 0, -1)]
        assert [r.url for r in queued] == [counter().url]
        assert queued[0].dont_filter and queued[0].priority == 60
    finally:
        if scheduler._loop is not None and scheduler._loop.running:
            scheduler._loop.stop()  # close() needs a running engine; the heartbeat is all it has
        fleet.drop()


def fleet_single_log(result: CrawlResult) -> list[dict]:
    path = result.replica.log_path
    assert path is not None
    return [json.loads(ln) for ln in path.read_text().splitlines()]


# -- round 2 ------------------------------------------------------------------------------------


def test_second_round_gives_the_single_workers_statuses_and_revisits(
    round1: Round1, crawl_round2: CrawlResult
) -> None:
    fleet = round1.fleet
    fleet.start_replica(2)
    proc = fleet.seed(*fleet.index_args())
    assert "round 2" in proc.stdout
    for label in ("r2a", "r2b", "r2c"):
        fleet.worker(label, *RECHECK_ALL)
    codes = fleet.wait_workers()
    assert set(codes.values()) == {0}, {k: fleet.output(k)[-2000:] for k in codes}
    fleet.stop_replica()
    published = fleet.tmp / "published"
    fleet.publish(published)
    same_records(read_jsonl(published / "reports.jsonl"), crawl_round2.reports())
    # Both rounds' captures (responses and revisits) are the single worker's two nights'.
    captured = Counter(fleet.captures())
    assert captured == Counter(single_captures(crawl_round2))
    assert any(rtype == "revisit" for _u, _s, rtype in captured)


# -- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_one_line_with_its_exit_code(tmp_path: Path) -> None:
    def govcrawl(*args: str) -> subprocess.CompletedProcess[str]:
        return run_govcrawl(list(args), None, timeout=60)

    name = f"t{uuid.uuid4().hex[:10]}"
    cases = [
        (("status", "--crawl", "bad name"), 2, "crawl name"),
        (("seed", "--crawl", name, "not-a-url"), 2, "not an http(s) URL"),
        (("publish", "--crawl", name), 2, "--index"),
        (("status", "--crawl", name, "--redis", "redis://127.0.0.1:1/0"), 6, "cannot reach Redis"),
    ]
    try:
        for args, code, words in cases:
            proc = govcrawl(*args)
            assert (proc.returncode, proc.stderr.count("\n")) == (code, 1), proc.stderr
            assert words in proc.stderr
        # A round still running refuses a new one.
        assert (
            govcrawl("seed", "--crawl", name, "--redis", REDIS, "http://a.example/").returncode == 0
        )
        busy = govcrawl("seed", "--crawl", name, "--redis", REDIS, "http://a.example/")
        assert busy.returncode == 6 and "still has work" in busy.stderr
        status = json.loads(govcrawl("status", "--crawl", name, "--json").stdout)
        assert (status["round"], status["queued"], status["in_flight"]) == (1, 1, 0)
    finally:
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"govcrawl:{name}:*"))
        if keys:
            client.delete(*keys)
