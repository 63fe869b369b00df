"""Shared fixtures: the replica portal in a subprocess and whole crawls run as subprocesses
(the Twisted reactor cannot restart inside one process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from replica.process import ReplicaProcess

REPO = Path(__file__).resolve().parent.parent
# Subprocesses (crawls, helper scripts) import this checkout, whatever the venv was installed from.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
GOVCRAWL = [sys.executable, "-m", "crawler.cli"]

# The replica answers at once; politeness delays would only slow the tests.
FAST = [
    "--set",
    "DOWNLOAD_DELAY=0",
    "--set",
    "AUTOTHROTTLE_ENABLED=False",
    "--set",
    "CONCURRENT_REQUESTS=16",
    "--set",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "--set",
    # A second apart at least: WARC dates have one-second resolution and replay picks the
    # capture closest in time, so a retry's success must not share the failed attempt's second.
    "GOVCRAWL_RETRY_BACKOFF=1.0",
]


# The replica portal in a child process (replica/process.py); tests type it as `Replica`.
Replica = ReplicaProcess


def start_replica(tmp: Path, round: int = 1, scale: int = 1) -> Replica:
    """A started replica whose request log is `tmp/replica-round<round>.log`."""
    replica = Replica(round=round, scale=scale, log_path=tmp / f"replica-round{round}.log")
    replica.start()
    return replica


def crawl_env(proxy_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")
    }
    if proxy_url:
        env["http_proxy"] = proxy_url
    env["PYTHONPATH"] = str(REPO)
    return env


def run_govcrawl(
    args: list[str], proxy_url: str | None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOVCRAWL, *args],
        cwd=REPO,
        env=crawl_env(proxy_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class CrawlResult:
    archive: Path
    replica: Replica
    proc: subprocess.CompletedProcess[str]

    round1_warcs: frozenset[str] = frozenset()

    def reports(self) -> dict[str, dict]:
        path = self.archive / "reports.jsonl"
        with path.open(encoding="utf-8") as fh:
            return {r["url"]: r for r in map(json.loads, fh)}


@pytest.fixture(scope="session")
def replica_round1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    replica = start_replica(tmp_path_factory.mktemp("replica1"))
    yield replica
    replica.stop()


@pytest.fixture(scope="session")
def crawl_round1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawlResult]:
    """One full default crawl of the replica (round 1) into a fresh archive."""
    tmp = tmp_path_factory.mktemp("crawl1")
    replica = start_replica(tmp)
    archive = tmp / "archive"
    proc = run_govcrawl(["crawl", "--archive", str(archive), *FAST], replica.url)
    replica.stop()
    assert proc.returncode == 0, (
        f"crawl failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-5000:]}"
    )
    yield CrawlResult(archive, replica, proc)


# Later crawls recheck everything at once (the defaults wait days before refetching articles).
RECHECK_ALL = ["--set", "GOVCRAWL_REVISIT_INTERVAL=0", "--set", "GOVCRAWL_REPORT_RECHECK=0"]


@pytest.fixture(scope="session")
def crawl_round2(
    crawl_round1: CrawlResult, tmp_path_factory: pytest.TempPathFactory
) -> CrawlResult:
    """A copy of round 1's archive crawled again after the portal changed (replica round 2)."""
    import shutil

    tmp = tmp_path_factory.mktemp("crawl2")
    archive = tmp / "archive"
    shutil.copytree(crawl_round1.archive, archive)
    before = frozenset(p.name for p in (archive / "warc").glob("*.warc.gz"))
    replica = start_replica(tmp, round=2)
    proc = run_govcrawl(["crawl", "--archive", str(archive), *FAST, *RECHECK_ALL], replica.url)
    replica.stop()
    assert proc.returncode == 0, proc.stderr[-4000:]
    return CrawlResult(archive, replica, proc, before)
