"""Archivists' path end to end: crawl twice, then `index`, `wacz` and pywb replay over HTTP and in
a real browser, on the replica's real pages (not fixtures)."""

from __future__ import annotations

import io
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from govcrawl.extract.decode import decode_body
from govcrawl.publish import replay
from govcrawl.publish.wacz import check_wacz
from replica import expected
from tests.chromium import chromium, needs_chromium
from tests.conftest import CrawlResult, run_govcrawl

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with OPENER.open(url, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def _text(ctype: str, body: bytes) -> str:
    return "".join(decode_body(body, ctype)[0].split())


@pytest.fixture(scope="module")
def indexed(crawl_round2: CrawlResult) -> CrawlResult:
    proc = run_govcrawl(["index", "--archive", str(crawl_round2.archive)], None)
    assert proc.returncode == 0, proc.stderr
    return crawl_round2


@pytest.fixture(scope="module")
def server(indexed: CrawlResult) -> Iterator[replay.ReplayServer]:
    srv = replay.start_replay(indexed.archive, port=_free_port(), index_interval=0)
    try:
        yield srv
    finally:
        srv.stop()


def _text_reports() -> list[dict]:
    return [
        r for r in expected.expected_reports(1) if r["key_sentences"] and r["url"].endswith(".html")
    ]


def test_cdxj_sorted_and_every_offset_decompresses_to_its_record(indexed: CrawlResult) -> None:
    lines = (indexed.archive / "indexes" / "index.cdxj").read_bytes().splitlines()
    assert lines == sorted(lines)
    assert len(lines) > 200
    for line in lines:
        urlkey, ts, blob = line.decode().split(" ", 2)
        entry = json.loads(blob)
        with (indexed.archive / "warc" / entry["filename"]).open("rb") as fh:
            fh.seek(int(entry["offset"]))
            raw = fh.read(int(entry["length"]))
        record = next(iter(ArchiveIterator(io.BytesIO(raw))))
        assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
        record_ts = re.sub(r"\D", "", record.rec_headers.get_header("WARC-Date"))[:14]
        # A 304's line points at the earlier full response it confirmed, at the 304's time.
        assert record_ts == ts[:14] or (record.rec_type == "response" and record_ts < ts[:14])


def test_every_report_page_replays_from_round_one(indexed: CrawlResult, server) -> None:
    failures = []
    for rep in _text_reports():
        proc = run_govcrawl(["history", rep["url"], "--archive", str(indexed.archive)], None)
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
        first_ts = next(row["fetched"] for row in rows if row["http_status"] == 200)
        status, ctype, body = _get(server.replay_url(rep["url"], first_ts))
        if status != 200 or "".join(rep["key_sentences"][0].split()) not in _text(ctype, body):
            failures.append((rep["url"], status))
    assert failures == []


def test_revisits_of_round_two_resolve(indexed: CrawlResult, server) -> None:
    got = indexed.reports()
    unchanged = [r for r in _text_reports() if got[r["url"]]["status"] == "unchanged"]
    assert len(unchanged) > 20
    for rep in unchanged:
        status, ctype, body = _get(server.replay_url(rep["url"], got[rep["url"]]["fetched"]))
        assert status == 200, rep["url"]
        assert "".join(rep["key_sentences"][0].split()) in _text(ctype, body), rep["url"]


def _raw(server: replay.ReplayServer, url: str) -> tuple[int, str, bytes]:
    """The archived bytes of the latest capture of ``url`` (pywb's id_ mode: no rewriting)."""
    return _get(server.replay_url(url).replace("/govcrawl/", "/govcrawl/id_/", 1))


def test_every_report_pages_requisites_replay(indexed: CrawlResult, server) -> None:
    requisites: set[str] = set()
    for rep in expected.expected_reports(2):  # the latest capture of each still-published page
        if not rep["url"].endswith(".html"):
            continue
        status, ctype, body = _raw(server, rep["url"])
        assert status == 200, rep["url"]
        srcs = re.findall(
            r'(?:href|src)="([^"]+\.(?:css|js|png|gif|jpg))"', decode_body(body, ctype)[0]
        )
        assert srcs, f"{rep['url']} links no stylesheet, script or image"
        requisites.update(urllib.parse.urljoin(rep["url"], src) for src in srcs)
    missing = []
    for url in sorted(requisites):
        status, _, body = _raw(server, url)
        if status != 200:
            missing.append(url)
        elif url.endswith(".css"):
            # What the stylesheet loads (background images, fonts) was archived too.
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", body.decode("utf-8", "replace")):
                if _get(server.replay_url(urllib.parse.urljoin(url, ref)))[0] != 200:
                    missing.append(urllib.parse.urljoin(url, ref))
    assert len(requisites) > 10 and missing == []


def test_counter_replays_each_rounds_number(indexed: CrawlResult, server) -> None:
    r1 = {r["url"]: r for r in expected.expected_reports(1)}
    r2 = {r["url"]: r for r in expected.expected_reports(2)}
    checked = 0
    for url, rep in r1.items():
        if rep["counter"] != "A" or url not in r2:
            continue
        rows = [
            json.loads(line)
            for line in run_govcrawl(
                ["history", rep["counter_url"], "--archive", str(indexed.archive)], None
            ).stdout.splitlines()
        ]
        assert len(rows) == 2, rep["counter_url"]
        for row, want in zip(rows, (rep["clicks"], r2[url]["clicks"]), strict=True):
            status, _, body = _get(server.replay_url(rep["counter_url"], row["fetched"]))
            assert status == 200
            assert json.loads(body)["clicks"] == want
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_wacz_hashes_and_pages(indexed: CrawlResult, tmp_path: Path) -> None:
    out = tmp_path / "archive.wacz"
    proc = run_govcrawl(["wacz", "--archive", str(indexed.archive), "-o", str(out)], None)
    assert proc.returncode == 0, proc.stderr
    assert check_wacz(out) == []
    with zipfile.ZipFile(out) as zf:
        lines = zf.read("pages/pages.jsonl").decode().splitlines()
        for info in zf.infolist():
            if info.filename.startswith("archive/"):
                assert info.compress_type == zipfile.ZIP_STORED
    pages = [json.loads(line) for line in lines[1:]]
    assert {p["url"] for p in pages} == set(indexed.reports())
    assert all(p.get("title") and p.get("ts") for p in pages)


@needs_chromium[0]
@needs_chromium[1]
def test_browser_renders_replayed_report_with_styles_and_click_count(
    indexed: CrawlResult, server, tmp_path: Path
) -> None:
    seed = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"
    want = {r["url"]: r for r in expected.expected_reports(1)}[seed]["clicks"]
    history = run_govcrawl(["history", seed, "--archive", str(indexed.archive)], None).stdout
    url = server.replay_url(seed, json.loads(history.splitlines()[0])["fetched"])
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", url)
    assert re.search(rf'id="hits"[^>]*>\s*{want}\s*<', dom.stdout), "click count not filled in"
    assert "年度报告" in dom.stdout
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", url)
    from PIL import Image

    with Image.open(shot) as img:
        pixels = img.convert("RGB")
        colours = dict((rgb, n) for n, rgb in pixels.getcolors(maxcolors=1_000_000) or [])
    # The archived stylesheet was applied: its red header bar and menu fill whole areas.
    assert colours.get((0xB4, 0x00, 0x00), 0) > 10_000, "header colour of main.css missing"
    assert colours.get((0xC8, 0x1E, 0x1E), 0) > 5_000, "menu colour of main.css missing"
