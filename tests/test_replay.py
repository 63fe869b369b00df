"""Replay through a real pywb subprocess over HTTP (pywb lives in .venv-pywb)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from govcrawl.publish import replay
from tests import warcfixtures as fx

REPO = Path(__file__).resolve().parent.parent
TS1 = fx.ts14(fx.CRAWL1_START.strftime("%Y-%m-%dT%H:%M:%SZ"))
TS2 = fx.ts14(fx.CRAWL2_START.strftime("%Y-%m-%dT%H:%M:%SZ"))
TS3 = fx.ts14(fx.CRAWL3_START.strftime("%Y-%m-%dT%H:%M:%SZ"))
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with OPENER.open(url, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def raw_url(server: replay.ReplayServer, url: str, ts: str, mod: str = "id_") -> str:
    """pywb's modifier URL: id_ serves the archived payload without rewriting."""
    return f"{server.url}{ts}{mod}/{url}"


@pytest.fixture(scope="session")
def pywb_bin() -> Path:
    try:
        return replay.pywb_executable()
    except replay.PywbNotFound:
        res = subprocess.run(
            ["bash", str(REPO / "scripts" / "setup-pywb")],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        return replay.pywb_executable()


@pytest.fixture(scope="module")
def served(pywb_bin, tmp_path_factory) -> Iterator[tuple[replay.ReplayServer, fx.ArchiveFixture]]:
    archive = fx.make_archive(tmp_path_factory.mktemp("replay") / "archive")
    fx.write_not_modified_crawl(archive.warc_dir, archive.first)
    server = replay.start_replay(archive.root, port=free_port())
    try:
        yield server, archive
    finally:
        server.stop()


def test_report_page_replays_with_archived_text(served):
    server, _ = served
    status, headers, body = fetch(server.replay_url(fx.PAGE_URL, TS1))
    assert status == 200
    text = body.decode("utf-8")
    assert fx.BODY_MARKER in text and fx.TITLE in text
    assert headers["Memento-Datetime"] == "Sat, 28 Nov 2026 04:30:00 GMT"
    # Non-framed replay: the page itself, with wombat and rewritten requisite links.
    assert "wbinfo.is_framed = false" in text and "wombat.js" in text
    assert f"/govcrawl/{TS1}cs_/{fx.CSS_URL}" in text
    assert f"/govcrawl/{TS1}js_/{fx.JS_URL}" in text
    assert f"/govcrawl/{TS1}im_/{fx.IMG_URL}" in text


def test_requisites_replay(served):
    server, _ = served
    for url, mod, check in (
        (fx.CSS_URL, "cs_", lambda b: b"#c8102e" in b),
        (fx.JS_URL, "js_", lambda b: b"XMLHttpRequest" in b),
        (fx.IMG_URL, "im_", lambda b: b == fx.png_bytes()),
    ):
        status, _, body = fetch(f"{server.url}{TS1}{mod}/{url}")
        assert status == 200, url
        assert check(body), url


def test_counter_replays_archived_number(served):
    server, _ = served
    for ts, clicks in ((TS1, fx.CLICKS_CRAWL1), (TS2, fx.CLICKS_CRAWL2)):
        status, headers, body = fetch(raw_url(server, fx.COUNTER_URL, ts))
        assert status == 200
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body) == {"contentId": "4862348", "clicks": clicks}


def test_revisit_resolves_to_original_payload(served):
    server, archive = served
    status, headers, body = fetch(raw_url(server, fx.PAGE_URL, TS2))
    assert status == 200
    # The capture served is the revisit of crawl 2 ...
    assert headers["Memento-Datetime"] == "Sat, 05 Dec 2026 04:30:00 GMT"
    # ... with the payload of crawl 1's response (pywb decodes the stored gzip for id_).
    assert body == fx.PAGE_HTML.encode("utf-8")
    status, _, body = fetch(raw_url(server, fx.IMG_URL, TS2))
    assert status == 200 and body == fx.png_bytes()
    status, _, page = fetch(server.replay_url(fx.PAGE_URL, TS2))
    assert status == 200 and fx.BODY_MARKER in page.decode("utf-8")


def test_page_answered_304_replays_its_content_not_an_empty_304(served):
    server, _ = served
    status, headers, body = fetch(raw_url(server, fx.PAGE_URL, TS3))
    assert status == 200
    assert body == fx.PAGE_HTML.encode("utf-8")
    # The 304 of crawl 3 is indexed as the full response it confirmed: crawl 1's record.
    assert headers["Memento-Datetime"] == "Sat, 28 Nov 2026 04:30:00 GMT"
    status, _, body = fetch(raw_url(server, fx.COUNTER_URL, TS3))
    assert json.loads(body)["clicks"] == fx.CLICKS_CRAWL3


def test_unknown_url_is_not_found(served):
    server, _ = served
    status, _, _ = fetch(server.replay_url("http://www.xam.gov.cn/xam/never-crawled.html", TS1))
    assert status == 404


def test_warc_sealed_after_start_is_replayed(pywb_bin, tmp_path):
    archive = fx.make_archive(tmp_path / "archive", second=False)
    server = replay.start_replay(archive.root, port=free_port(), index_interval=0.3)
    try:
        url = raw_url(server, fx.COUNTER_URL, TS2)
        assert json.loads(fetch(url)[2])["clicks"] == fx.CLICKS_CRAWL1  # closest is crawl 1

        # A crawl writes under .open and renames when sealed; the old mtime is deliberate.
        second = fx.write_second_crawl(tmp_path / "staging", archive.first)
        open_path = archive.warc_dir / (second.name + ".open")
        shutil.copyfile(second.path, open_path)
        time.sleep(1.0)
        assert json.loads(fetch(url)[2])["clicks"] == fx.CLICKS_CRAWL1  # .open is not served
        os.replace(open_path, archive.warc_dir / second.name)
        os.utime(archive.warc_dir / second.name, (0, 0))

        deadline = time.monotonic() + 15
        clicks = None
        while time.monotonic() < deadline:
            clicks = json.loads(fetch(url)[2])["clicks"]
            if clicks == fx.CLICKS_CRAWL2:
                break
            time.sleep(0.2)
        assert clicks == fx.CLICKS_CRAWL2
        status, headers, body = fetch(raw_url(server, fx.PAGE_URL, TS2))
        assert status == 200 and body == fx.PAGE_HTML.encode("utf-8")
        assert headers["Memento-Datetime"] == "Sat, 05 Dec 2026 04:30:00 GMT"
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_replay_url_forms(served):
    server, _ = served
    base = server.url
    assert base == f"http://127.0.0.1:{server.port}/govcrawl/"
    assert server.replay_url(fx.PAGE_URL, "2026-11-28T04:30:00Z") == f"{base}{TS1}/{fx.PAGE_URL}"
    assert server.replay_url(fx.PAGE_URL, "20261128043000") == f"{base}{TS1}/{fx.PAGE_URL}"
    when = dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert server.replay_url(fx.PAGE_URL, when) == f"{base}{TS1}/{fx.PAGE_URL}"
    assert server.replay_url(fx.PAGE_URL) == f"{base}{fx.PAGE_URL}"
    # Without a timestamp pywb serves the latest capture.
    status, headers, _ = fetch(server.replay_url(fx.COUNTER_URL))
    assert status == 200


def test_config_points_at_the_archive(served):
    server, archive = served
    config = json.loads(
        "".join(
            line
            for line in (archive.root / "replay" / "config.yaml").read_text().splitlines(True)
            if not line.startswith("#")
        )
    )
    coll = config["collections"]["govcrawl"]
    assert coll["index_paths"] == str(archive.root / "indexes" / "index.cdxj")
    assert coll["archive_paths"] == [str(archive.root / "warc") + "/", server.warc_server.url]
    assert config["framed_replay"] is False


def test_port_in_use_is_a_clear_error(served):
    server, archive = served
    with pytest.raises(RuntimeError, match=f"cannot serve on 127.0.0.1:{server.port}"):
        replay.start_replay(archive.root, port=server.port, index_interval=0)


def test_missing_pywb_names_setup_script(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVCRAWL_PYWB_BIN", str(tmp_path / "nope" / "wayback"))
    with pytest.raises(replay.PywbNotFound, match="scripts/setup-pywb"):
        replay.pywb_executable()
    monkeypatch.delenv("GOVCRAWL_PYWB_BIN")
    monkeypatch.setattr(replay, "REPO", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(replay.PywbNotFound, match="scripts/setup-pywb"):
        replay.pywb_executable()


def test_env_override_is_used(monkeypatch, pywb_bin):
    monkeypatch.setenv("GOVCRAWL_PYWB_BIN", str(pywb_bin))
    assert replay.pywb_executable() == pywb_bin


def test_serve_forever_prints_reports_and_stops_on_sigterm(pywb_bin, tmp_path):
    archive = fx.make_archive(tmp_path / "archive")
    port = free_port()
    reports = archive.report_pages()
    code = (
        "import json, sys\n"
        "from govcrawl.publish.replay import serve_forever\n"
        "serve_forever(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]))\n"
    )
    err_path = tmp_path / "serve.err"
    with (
        open(err_path, "wb") as err,
        subprocess.Popen(
            [sys.executable, "-c", code, str(archive.root), str(port), json.dumps(reports)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.strip() == f"replaying {archive.root} at http://127.0.0.1:{port}/govcrawl/"
            second = proc.stdout.readline().rstrip("\n")
            url, title = second.split("\t")
            assert url == f"http://127.0.0.1:{port}/govcrawl/{TS2}/{fx.PAGE_URL}"
            assert title == fx.TITLE
            status, _, body = fetch(url)
            assert status == 200 and fx.BODY_MARKER in body.decode("utf-8")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, err_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # pywb went down with it.
    with pytest.raises(OSError):
        OPENER.open(f"http://127.0.0.1:{port}/", timeout=2)
