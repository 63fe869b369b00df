"""The second night (and the third): scheduled crawls at t, t+23 h and t+25 h into one archive,
on local disk and on an S3-backed archive (moto's server over HTTP), against tests/nightportal.py.

The clock is moved with GOVCRAWL_CLOCK_OFFSET, so each crawl behaves like the next night's cron
run (capture times, WARC dates and scheduling all follow it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from govcrawl.publish.replay import pywb_executable
from tests import nightportal as portal
from tests.conftest import GOVCRAWL, REPO, crawl_env
from tests.s3server import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    REGION,
    MotoServer,
    free_port,
    s3_server,  # noqa: F401 (fixture)
)

NIGHTS = ((1, 0), (2, 23 * 3600), (3, 25 * 3600))
SEEDS = [f"http://{portal.HOST}/", f"http://{portal.HOST}/print/2023.html"]
FAST = [
    "--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=False",
    "--set", "GOVCRAWL_RETRY_BACKOFF=0",
]  # fmt: skip
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Nights:
    """What three nights of crawling left: the archive, the portal's request log per night,
    each crawl's run summary and reports.jsonl as it stood after each night."""

    archive: Path
    logs: dict[int, list[dict]] = field(default_factory=dict)
    summaries: dict[int, dict] = field(default_factory=dict)
    reports: dict[int, dict[str, dict]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def fetched(self, night: int) -> set[str]:
        return {r["path"] for r in self.logs[night]}

    def history(self, url: str) -> list[dict]:
        proc = subprocess.run(
            [*GOVCRAWL, "history", url, "--archive", str(self.archive)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]


@contextlib.contextmanager
def night_portal(tmp: Path, night: int) -> Iterator[tuple[str, Path]]:
    log = tmp / f"portal-night{night}.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.nightportal", "--round", str(night), "--log", str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY "), line
        yield line.split(" ", 1)[1], log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def run_nights(tmp: Path, *, store_args: list[str], env_extra: dict[str, str],
               fresh_folder_on: int | None = None) -> Nights:  # fmt: skip
    """Crawl the three nights; with ``fresh_folder_on``, that night starts from an empty archive
    folder that has only the store."""
    nights = Nights(tmp / "archive")
    for night, offset in NIGHTS:
        if night == fresh_folder_on:
            nights.archive = tmp / "fresh-archive"
        with night_portal(tmp, night) as (proxy, log):
            env = crawl_env(proxy) | env_extra | {"GOVCRAWL_CLOCK_OFFSET": str(offset)}
            proc = subprocess.run(
                [*GOVCRAWL, "crawl", *SEEDS, "--archive", str(nights.archive), *FAST, *store_args],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert proc.returncode == 0, f"night {night}: {proc.stdout}\n{proc.stderr[-4000:]}"
        assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
        nights.env = crawl_env(None) | env_extra
        nights.logs[night] = [json.loads(x) for x in log.read_text().splitlines()]
        runs = sorted((nights.archive / "runs").glob("*.json"))
        nights.summaries[night] = json.loads(runs[-1].read_text())
        with (nights.archive / "reports.jsonl").open(encoding="utf-8") as fh:
            nights.reports[night] = {r["url"]: r for r in map(json.loads, fh)}
    return nights


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Nights:
    return run_nights(tmp_path_factory.mktemp("nights-local"), store_args=[], env_extra={})


def s3_env_extra(tmp: Path) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "no_proxy": "127.0.0.1,localhost",
    }


@dataclass
class S3Nights:
    nights: Nights
    server: MotoServer
    bucket: str
    store: str
    first_archive: Path


@pytest.fixture(scope="module")
def on_s3(tmp_path_factory: pytest.TempPathFactory, s3_server: MotoServer) -> S3Nights:  # noqa: F811
    tmp = tmp_path_factory.mktemp("nights-s3")
    bucket = s3_server.create_bucket()
    store = f"s3://{bucket}/night"
    store_args = ["--store", store, "--endpoint-url", s3_server.url]
    nights = run_nights(tmp, store_args=store_args, env_extra=s3_env_extra(tmp), fresh_folder_on=3)
    return S3Nights(nights, s3_server, bucket, store, tmp / "archive")


def report_paths(nights: Nights, night: int) -> set[str]:
    """Pages of the reports known before ``night`` and not yet gone."""
    before = nights.reports[night - 1]
    return {"/nb/" + url.rsplit("/", 1)[1] for url, r in before.items() if r["status"] != "gone"}


# -- on local disk ------------------------------------------------------------------------------


@pytest.mark.parametrize("night", [2, 3])
def test_every_report_is_rechecked_every_night(local: Nights, night: int) -> None:
    wanted = report_paths(local, night)
    assert wanted and wanted <= local.fetched(night)
    # ... with their counters (2024 prints its count instead of loading one).
    counters = {f"/count.jsp?id={p[4:8]}" for p in wanted if p != f"/nb/{portal.PRINTED}.html"}
    live = {c for c in counters if int(c[-4:]) not in (portal.WITHDRAWN, portal.SOFT_404)}
    assert live <= local.fetched(night)


def test_each_nights_click_count_is_in_history(local: Nights) -> None:
    history = local.history(portal.report_url(2023))
    assert [h["clicks"] for h in history] == [portal.clicks(n, 2023) for n, _ in NIGHTS]
    # Night 2 and 3 were answered 304: revisits, the original's payload.
    assert [h["record_type"] for h in history] == ["response", "revisit", "revisit"]
    assert [h["http_status"] for h in history] == [200, 304, 304]
    days = [h["fetched"][:10] for h in history]
    assert days[0] < days[1] == days[2]  # t, t+23 h, t+25 h


def test_unchanged_report_pages_are_not_parsed_again(local: Nights) -> None:
    """Night 2: 2023 comes as a 304; night 3: 2023 and the edited 2022 again. What parsing
    gave on the night of their payload stands; their counters are still asked every night."""
    summaries = {n: local.summaries[n]["extraction"]["pages_not_reparsed"] for n in (1, 2, 3)}
    assert summaries == {1: 0, 2: 1, 3: 2}
    for report_id, since in ((2023, 1), (portal.EDITED, 2)):
        url = portal.report_url(report_id)
        first = local.reports[since][url]
        for night in range(since + 1, 4):
            record = local.reports[night][url]
            assert record["page"] == first["page"] is not None
            for name in ("title", "agency", "agency_from", "source", "year", "published",
                         "counter_url"):  # fmt: skip
                assert record[name] == first[name], name
            assert record["clicks"] == portal.clicks(night, report_id)


def test_printed_counter_alone_keeps_the_report_unchanged(local: Nights) -> None:
    url = portal.report_url(portal.PRINTED)
    history = local.history(url)
    # The bytes differ every night (visit count, today's date): full responses...
    assert [h["record_type"] for h in history] == ["response"] * 3
    assert len({h["digest"] for h in history}) == 3
    # ...the report does not, and the printed count is read as that night's clicks.
    assert [local.reports[n][url]["status"] for n in (1, 2, 3)] == ["new", "unchanged", "unchanged"]
    clicks = [h["clicks"] for h in history]
    assert all(
        500 + 100 * n < c <= 500 + 100 * n + 20 for n, c in zip((1, 2, 3), clicks, strict=True)
    )


def test_an_edit_is_captured_as_a_full_response(local: Nights) -> None:
    url = portal.report_url(portal.EDITED)
    history = local.history(url)
    assert history[1]["record_type"] == "response" and history[1]["digest"] != history[0]["digest"]
    assert [local.reports[n][url]["status"] for n in (1, 2, 3)] == ["new", "changed", "unchanged"]
    assert "特此补充说明" in local.reports[3][url]["text"]


@pytest.mark.parametrize(
    ("report_id", "http_status"), [(portal.WITHDRAWN, 302), (portal.SOFT_404, 200)]
)
def test_withdrawn_reports_are_gone_with_proof(
    local: Nights, report_id: int, http_status: int
) -> None:
    url = portal.report_url(report_id)
    assert local.reports[1][url]["status"] == "new"
    for night in (2, 3):
        record = local.reports[night][url]
        assert record["status"] == "gone", record
    gone = local.reports[2][url]["gone"]
    assert gone["http_status"] == http_status
    assert ("soft 404" in gone["reason"]) == (report_id == portal.SOFT_404)
    # The proof is a capture in the archive: the answer that night.
    [capture] = [h for h in local.history(url) if h["offset"] == gone["offset"]]
    assert capture["warc"] == gone["warc"] and capture["fetched"] == gone["fetched"]
    # Gone reports are not fetched again on later nights.
    assert f"/nb/{report_id}.html" not in local.fetched(3)


def test_report_added_to_a_two_item_column_is_found(local: Nights) -> None:
    url = portal.report_url(portal.NEW_IN_ROUND_3)
    assert url not in local.reports[2]
    assert local.reports[3][url]["status"] == "new"
    assert local.reports[3][url]["clicks"] == portal.clicks(3, portal.NEW_IN_ROUND_3)


def test_robots_forbidden_url_is_never_fetched(local: Nights) -> None:
    # Later nights ask for robots.txt conditionally and get a 304: Scrapy's robots.txt
    # middleware must still see the full file (the conditional middleware answers with it).
    assert [r["status"] for r in local.logs[2] if r["path"] == "/robots.txt"] == [304]
    for night, _ in NIGHTS:
        assert not any(p.startswith("/print/") for p in local.fetched(night)), night
        assert local.summaries[night]["robots_forbidden"] >= 1
        # robots.txt itself once per host and night.
        assert sum(p == "/robots.txt" for p in (r["path"] for r in local.logs[night])) == 1


@pytest.mark.parametrize("night", [1, 2, 3])
def test_summary_agrees_with_reports_jsonl(local: Nights, night: int) -> None:
    statuses = [r["status"] for r in local.reports[night].values()]
    summary = local.summaries[night]["reports"]
    for status in ("new", "changed", "unchanged", "gone"):
        assert summary[status] == statuses.count(status), status


# -- a stock pywb, knowing nothing of govcrawl ------------------------------------------------


@contextlib.contextmanager
def stock_pywb(warcs: list[Path], tmp: Path) -> Iterator[str]:
    """``wb-manager init``/``add`` and ``wayback``, nothing else; yields the collection URL."""
    bindir = pywb_executable().parent
    work = tmp / "pywb"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for args in (["init", "night"], ["add", "night", *map(str, warcs)]):
        proc = subprocess.run(
            [str(bindir / "wb-manager"), *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(bindir / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/night"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                OPENER.open(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)


def get(url: str) -> tuple[int, bytes]:
    try:
        with OPENER.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_every_capture_of_every_report_replays_in_a_stock_pywb(local: Nights, tmp_path: Path):
    warcs = sorted((local.archive / "warc").glob("*.warc.gz"))
    reports = local.reports[3]
    with stock_pywb(warcs, tmp_path) as base:
        checked = 0
        for url, record in reports.items():
            gone_at = (record.get("gone") or {}).get("fetched")
            for capture in local.history(url):
                if capture["http_status"] not in (200, 304):
                    continue
                if gone_at and capture["fetched"] >= gone_at:
                    continue  # the not-found page that proved it gone
                ts = capture["fetched"].replace("-", "").replace(":", "").replace("T", "")[:14]
                status, body = get(f"{base}/{ts}id_/{url}")
                assert status == 200, (url, capture)
                assert record["title"] in body.decode("utf-8"), (url, capture)
                checked += 1
    # 6 reports; the 304 revisits of nights 2 and 3 among them.
    assert checked >= 12


# -- on S3, and from a fresh folder with only the bucket ---------------------------------------


def comparable(records: dict[str, dict]) -> dict[str, tuple]:
    return {
        url: (r["status"], r["clicks"], r["title"], r["published"], r["content_digest"],
              (r.get("gone") or {}).get("http_status"))
        for url, r in records.items()
    }  # fmt: skip


def test_s3_nights_give_the_same_records_as_local_disk(local: Nights, on_s3: S3Nights) -> None:
    for night in (1, 2, 3):
        assert comparable(on_s3.nights.reports[night]) == comparable(local.reports[night]), night
        assert on_s3.nights.summaries[night]["reports"] == local.summaries[night]["reports"]


def test_a_fresh_folder_with_only_the_bucket_carries_on(on_s3: S3Nights) -> None:
    fresh = on_s3.nights.archive
    assert fresh != on_s3.first_archive
    # The third night's 304s were answered from originals that live only in the bucket.
    history = on_s3.nights.history(portal.report_url(2023))
    assert [h["http_status"] for h in history] == [200, 304, 304]
    assert not (fresh / "warc" / history[0]["warc"]).exists()
    assert on_s3.nights.summaries[3]["reports"]["unchanged"] >= 3


def test_sync_verify_catches_an_object_missing_from_the_bucket(on_s3: S3Nights) -> None:
    nights, server = on_s3.nights, on_s3.server

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GOVCRAWL, "sync", "--verify", "--archive", str(nights.archive),
             "--store", on_s3.store, "--endpoint-url", server.url],
            cwd=REPO, env=nights.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    proc = verify()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 missing, 0 mismatching" in proc.stdout
    warc_keys = [k for k in server.keys(on_s3.bucket) if k.startswith("night/warc/")]
    victim = warc_keys[0]
    server.client().delete_object(Bucket=on_s3.bucket, Key=victim)
    proc = verify()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"missing {on_s3.store}/{victim.removeprefix('night/')}" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_night_portal_serves_what_the_tests_assume(tmp_path: Path) -> None:
    """The server's own behaviour, checked directly (no crawler): night 2 redirects the
    withdrawn report and answers the soft 404 with 200."""
    with night_portal(tmp_path, 2) as (proxy, _):
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": proxy}),
            type("NoRedirect", (urllib.request.HTTPRedirectHandler,), {
                "redirect_request": lambda *a, **k: None})(),
        )  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(portal.report_url(portal.WITHDRAWN))
        assert redirect.value.code == 302
        redirect.value.close()
        with opener.open(portal.report_url(portal.SOFT_404)) as response:
            assert response.status == 200 and "不存在" in response.read().decode()
    shutil.rmtree(tmp_path, ignore_errors=True)
