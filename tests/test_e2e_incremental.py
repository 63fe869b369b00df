"""Scheduled crawls: a second round into the same archive, a concurrent run, kill -9 and resume."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from govcrawl.archive.captures import CaptureIndex
from replica import expected
from tests.conftest import FAST, GOVCRAWL, REPO, CrawlResult, crawl_env, run_govcrawl, start_replica


def _captures(archive: Path, warc_names: set[str] | None = None) -> list[tuple[str, str, str]]:
    """(uri, record type, warc name) of every response/revisit record."""
    out = []
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        if warc_names is not None and path.name not in warc_names:
            continue
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "revisit"):
                    out.append(
                        (
                            record.rec_headers.get_header("WARC-Target-URI"),
                            record.rec_type,
                            path.name,
                        )
                    )
    return out


@pytest.fixture(scope="module")
def round2(crawl_round2: CrawlResult) -> CrawlResult:
    return crawl_round2


def _changes() -> tuple[set[str], set[str], set[str]]:
    """(new, edited, removed) report URLs; a redated report counts as edited (its page changed)."""
    changes = expected.round_changes()
    return (
        set(changes["new_reports"]),
        {e["url"] for e in changes["edited_reports"] + changes["redated_reports"]},
        set(changes["removed_reports"]),
    )


def test_changed_publication_date_is_flagged(round2: CrawlResult) -> None:
    redated = expected.round_changes()["redated_reports"]
    assert redated
    got = round2.reports()
    for change in redated:
        assert got[change["url"]]["published"] == change["new"]
        assert got[change["url"]]["published_earlier"] == [change["old"]]
    others = [r for u, r in got.items() if u not in {c["url"] for c in redated}]
    assert all(r["published_earlier"] == [] for r in others)
    history = run_govcrawl(["history", redated[0]["url"], "--archive", str(round2.archive)], None)
    dates = [json.loads(line)["published"] for line in history.stdout.splitlines()]
    assert [d for d in dates if d] == [redated[0]["old"], redated[0]["new"]]


def test_round2_statuses(round2: CrawlResult) -> None:
    new, edited, removed = _changes()
    got = round2.reports()
    assert {u: got[u]["status"] for u in new} == dict.fromkeys(new, "new")
    assert {u: got[u]["status"] for u in edited} == dict.fromkeys(edited, "changed")
    assert {u: got[u]["status"] for u in removed} == dict.fromkeys(removed, "gone")
    others = {r["url"] for r in expected.expected_reports(1)} - edited - removed
    assert {u: got[u]["status"] for u in others if got[u]["status"] != "unchanged"} == {}


def test_round2_revisits_and_full_records(round2: CrawlResult) -> None:
    new_warcs = {p.name for p in (round2.archive / "warc").glob("*.warc.gz")} - round2.round1_warcs
    kinds = defaultdict(set)
    for uri, rtype, _ in _captures(round2.archive, new_warcs):
        kinds[uri].add(rtype)
    new, edited, removed = _changes()
    assert {u: kinds[u] for u in new | edited} == dict.fromkeys(new | edited, {"response"})
    unchanged = {r["url"] for r in expected.expected_reports(1)} - edited - removed
    assert {u: kinds[u] for u in unchanged if kinds[u] != {"revisit"}} == {}


def test_history_shows_both_rounds_with_their_clicks(round2: CrawlResult) -> None:
    r1 = {r["url"]: r for r in expected.expected_reports(1)}
    r2 = {r["url"]: r for r in expected.expected_reports(2)}
    with_counter = [u for u in r1 if u in r2 and r1[u]["clicks"] is not None]
    assert with_counter
    for url in with_counter:
        proc = run_govcrawl(["history", url, "--archive", str(round2.archive)], None)
        assert proc.returncode == 0, proc.stderr
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
        report_rows = [row for row in rows if row["clicks"] is not None]
        assert [row["clicks"] for row in report_rows] == [r1[url]["clicks"], r2[url]["clicks"]], url
        assert rows == sorted(rows, key=lambda r: r["fetched"])


def test_duplicate_copies_grouped_distinct_reports_not(round2: CrawlResult) -> None:
    got = round2.reports()
    by_expected: dict[str, set] = defaultdict(set)
    for rep in expected.expected_reports(2):
        if rep["duplicate_group"]:
            by_expected[rep["duplicate_group"]].add(got[rep["url"]]["group"])
    assert by_expected, "the replica has duplicate copies"
    assert all(len(groups) == 1 and None not in groups for groups in by_expected.values())
    singles = [
        got[r["url"]]["group"] for r in expected.expected_reports(2) if not r["duplicate_group"]
    ]
    shared = {g for g in singles if singles.count(g) > 1 and g is not None}
    assert shared == set()


def test_round2_bytes_share(round2: CrawlResult) -> None:
    runs = sorted((round2.archive / "runs").glob("*.json"))
    first, second = (json.loads(p.read_text()) for p in runs[-2:])
    share = second["bytes"] / first["bytes"]
    print(f"round 2 stored {second['bytes']} bytes = {share:.1%} of round 1 ({first['bytes']})")
    assert share < 0.5


def test_concurrent_run_refused(tmp_path: Path, replica_round1) -> None:
    archive = tmp_path / "a"
    slow = [*FAST, "--set", "DOWNLOAD_DELAY=0.2", "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    first = subprocess.Popen(
        [*GOVCRAWL, "crawl", "--archive", str(archive), *slow],
        cwd=REPO,
        env=crawl_env(replica_round1.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while not list((archive / "warc").glob("*.open")) and time.time() < deadline:
            time.sleep(0.1)
        second = run_govcrawl(
            ["crawl", "--archive", str(archive), *FAST], replica_round1.url, timeout=60
        )
        assert second.returncode == 3
        assert "locked" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)


def _kill_after(archive: Path, replica, n_requests: int) -> None:
    """Start a crawl and SIGKILL it once the portal has answered ``n_requests`` requests."""
    proc = subprocess.Popen(
        [*GOVCRAWL, "crawl", "--archive", str(archive), *FAST],
        cwd=REPO,
        env=crawl_env(replica.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if replica.log_path.exists():
            with replica.log_path.open() as fh:
                if sum(1 for _ in fh) >= n_requests:
                    break
        time.sleep(0.02)
    assert proc.poll() is None, "the crawl ended before the kill point"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def _check_warcs(archive: Path) -> None:
    warcs = sorted((archive / "warc").glob("*.warc.gz"))
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, warcs)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout[-2000:]


# Kill points: at the first request, among the list pages, deep among reports and requisites
# (a whole crawl of the replica makes about 210 requests).
@pytest.mark.parametrize("kill_at", [1, 60, 140])
def test_kill_9_then_resume_gives_the_same_captures(
    crawl_round1: CrawlResult, tmp_path: Path, kill_at: int
) -> None:
    _kill_and_resume(crawl_round1, tmp_path, kill_at)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [3, 15, 30, 45, 90, 110, 125, 150, 170])
def test_kill_9_at_many_points(crawl_round1: CrawlResult, tmp_path: Path, kill_at: int) -> None:
    _kill_and_resume(crawl_round1, tmp_path, kill_at)


def _kill_and_resume(crawl_round1: CrawlResult, tmp_path: Path, kill_at: int) -> None:
    archive = tmp_path / "archive"
    replica = start_replica(tmp_path)
    try:
        _kill_after(archive, replica, kill_at)
        # Killed at the first request, the crawl may not have opened a WARC yet.
        left_open = sorted(p.name for p in (archive / "warc").glob("*.open"))
        proc = run_govcrawl(["crawl", "--archive", str(archive), *FAST], replica.url)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        replica.stop()
    _check_warcs(archive)
    assert not list((archive / "warc").glob("*.open"))
    # The resumed run says what it repaired: the killed run was closed as interrupted and
    # each WARC it left open was cut and sealed (or removed when it held no whole record).
    summary = json.loads(sorted((archive / "runs").glob("*.json"))[-1].read_text())
    recovered = summary["recovered"]
    assert recovered["interrupted_runs"]
    repaired = [n + ".open" for n in recovered["sealed"]] + recovered["removed"]
    assert sorted(repaired) == left_open
    # Trap pages are bounded, not enumerated: which variants fall under the bound depends on
    # the order pages arrive in, so they are left out of the comparison.
    traps = tuple(t["prefix"] for t in expected.trap_info())
    want = {u for u, _, _ in _captures(crawl_round1.archive) if not u.startswith(traps)}
    got = {u for u, _, _ in _captures(archive) if not u.startswith(traps)}
    assert got == want
    # No index row points at bytes that are not there.
    with CaptureIndex.open(archive / "captures.sqlite3") as index:
        rows = list(index.iter_captures())
    for row in rows:
        with (archive / "warc" / row.warc).open("rb") as fh:
            fh.seek(row.offset)
            record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type in ("response", "revisit")
        assert record.rec_headers.get_header("WARC-Target-URI") == row.url
    assert set(crawl_round1.reports()) == set(CrawlResult(archive, replica, proc).reports())


def test_unchanged_stylesheet_still_brings_its_images(
    crawl_round1: CrawlResult, tmp_path: Path
) -> None:
    """A stylesheet answered 304 is read from its archived original, so an image it loads that
    the archive lacks (a run killed between the two) is fetched."""
    archive = tmp_path / "archive"
    shutil.copytree(crawl_round1.archive, archive)
    banner = "http://www.xam.gov.cn/xam/images/banner.png"
    with sqlite3.connect(archive / "captures.sqlite3") as db:
        assert db.execute("DELETE FROM captures WHERE url = ?", (banner,)).rowcount == 1
    replica = start_replica(tmp_path)
    try:
        proc = run_govcrawl(
            [
                "crawl",
                "--archive",
                str(archive),
                *FAST,
                "--set",
                "GOVCRAWL_REVISIT_INTERVAL=0",
                "--set",
                "GOVCRAWL_REPORT_RECHECK=0",
            ],
            replica.url,
        )
    finally:
        replica.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    answered = {(f"http://{r['host']}{r['path']}", r["status"]) for r in replica.requests()}
    assert any(
        u.startswith("http://www.xam.gov.cn/") and u.endswith(".css")
        for u, st in answered
        if st == 304
    )
    assert (banner, 200) in answered
    assert banner in {u for u, _, _ in _captures(archive)}


def test_scheduled_rerun_skips_recent_articles_but_rereads_lists(
    crawl_round1: CrawlResult, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(crawl_round1.archive, archive)
    replica = start_replica(tmp_path)
    try:
        proc = run_govcrawl(["crawl", "--archive", str(archive), *FAST], replica.url)
    finally:
        replica.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    fetched = {f"http://{r['host']}{r['path']}" for r in replica.requests()}
    report_pages = {r["landing_url"] or r["url"] for r in expected.expected_reports(1)}
    # Reports (and their counters) are checked every run, cheaply (conditional requests)...
    assert report_pages <= fetched, "every report must be rechecked on every run"
    # ...ordinary articles fetched a moment ago are not due yet...
    decoys = set(expected.decoy_urls())
    assert decoys and decoys & fetched == set(), "articles fetched a moment ago were fetched again"
    # ...and lists are read every run to find new reports.
    lists = {"http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/index.html"}
    assert lists <= fetched, "list pages must be read every run to find new reports"
    got = CrawlResult(archive, replica, proc).reports()
    assert set(got) == set(crawl_round1.reports())
    assert {r["status"] for r in got.values()} == {"unchanged"}
    runs = sorted((archive / "runs").glob("*.json"))
    first, summary = (json.loads(p.read_text()) for p in (runs[0], runs[-1]))
    # Fewer pages (articles not due) and far fewer bytes (revisits) than the first crawl.
    assert summary["pages"] < first["pages"]
    assert summary["bytes"] < first["bytes"] * 0.5
