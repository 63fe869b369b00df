"""Beyond one machine: the frontier and duplicate filter in Redis (scrapy-redis), the capture
index in PostgreSQL. Runs against the real servers of the machine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from replica import expected
from tests.conftest import FAST, CrawlResult, run_govcrawl, start_replica

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:10]
    names = {
        "schema": f"govcrawl_t{tag}",
        "queue": f"govcrawl:{tag}:requests",
        "seen": f"govcrawl:{tag}:seen",
    }
    yield names
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{names["schema"]}" CASCADE')
    redis.Redis.from_url(REDIS).delete(names["queue"], names["seen"])


def test_crawl_with_redis_frontier_and_postgresql_index(
    tmp_path: Path, names: dict[str, str]
) -> None:
    replica = start_replica(tmp_path)
    archive = tmp_path / "archive"
    distributed = [
        "--set", "SCHEDULER=scrapy_redis.scheduler.Scheduler",
        "--set", "DUPEFILTER_CLASS=scrapy_redis.dupefilter.RFPDupeFilter",
        "--set", f"REDIS_URL={REDIS}",
        "--set", "SCHEDULER_PERSIST=True",
        "--set", f"SCHEDULER_QUEUE_KEY={names['queue']}",
        "--set", f"SCHEDULER_DUPEFILTER_KEY={names['seen']}",
        "--set", f"GOVCRAWL_CAPTURE_INDEX={PG}",
        "--set", f"GOVCRAWL_CAPTURE_SCHEMA={names['schema']}",
    ]  # fmt: skip
    try:
        proc = run_govcrawl(["crawl", "--archive", str(archive), *FAST, *distributed], replica.url)
    finally:
        replica.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = CrawlResult(archive, replica, proc).reports()
    assert set(reports) == {r["url"] for r in expected.expected_reports(1)}
    # The frontier lived in Redis: every request fingerprint went through its duplicate filter.
    seen = redis.Redis.from_url(REDIS).scard(names["seen"])
    summary = json.loads(sorted((archive / "runs").glob("*.json"))[-1].read_text())
    assert seen >= summary["pages"] * 0.5
    assert not (archive / "captures.sqlite3").exists()
    with psycopg.connect(PG) as conn:
        table = f'"{names["schema"]}".captures'
        sql = f"SELECT count(*), count(*) FILTER (WHERE clicks IS NOT NULL) FROM {table}"
        rows = conn.execute(sql).fetchone()
    assert rows[0] >= summary["pages"] and rows[1] > 20
