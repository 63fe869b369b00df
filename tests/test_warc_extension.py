"""WarcArchiveExtension in-process, fed with real Scrapy Request/Response objects (the crawler
around it is a stand-in: real Settings, SignalManager and stats, no engine or reactor)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.settings import Settings
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import MemoryStatsCollector
from warcio.archiveiterator import ArchiveIterator

from crawler.extensions.warc import WarcArchiveExtension
from crawler.items import Capture
from crawler.signals import warc_sealed
from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveError, ArchiveLayout
from govcrawl.archive.lock import ArchiveLock
from govcrawl.archive.warc import payload_digest, read_record_at

URL = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/index.html?page=2"


class StandInCrawler:
    def __init__(self, settings: dict) -> None:
        self.settings = Settings(
            {"USER_AGENT": "govcrawl-test", "BOT_NAME": "govcrawl", **settings}
        )
        self.signals = SignalManager(self)
        self.stats = MemoryStatsCollector(self)
        self.engine = None
        self.spider = None


@pytest.fixture
def ext(tmp_path):
    crawler = StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(tmp_path / "archive")})
    extension = WarcArchiveExtension.from_crawler(crawler)
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=None)
    yield extension
    crawler.signals.send_catch_log(signal=signals.spider_closed, spider=None, reason="finished")
    crawler.signals.send_catch_log(signal=signals.engine_stopped)


def exchange(ext, response: Response, request: Request) -> tuple[Capture, object, object]:
    ext.crawler.signals.send_catch_log(
        signal=signals.response_downloaded, response=response, request=request, spider=None
    )
    capture = request.meta["capture"]
    path = ext.writer.current_path
    with open(path, "rb") as fh:
        fh.seek(capture.offset)
        it = iter(ArchiveIterator(fh))
        record = next(it)
        record.raw_stream.read()
        req_record = next(it)
    return capture, record, req_record


def test_not_configured_without_archive_dir():
    with pytest.raises(NotConfigured):
        WarcArchiveExtension.from_crawler(StandInCrawler({}))


def test_unusable_archive_dir(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(ArchiveError, match="not writable"):
        WarcArchiveExtension.from_crawler(StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(afile)}))


def test_headers_protocol_truncation_and_proxy(ext):
    body = "<html>分块</html>".encode()
    request = Request(
        URL,
        method="POST",
        body=b"a=1&b=%E5%B9%B4",
        headers={"Proxy-Authorization": "Basic c2VjcmV0", "Accept": "text/html"},
        meta={"proxy": "http://proxy.local:3128"},
    )
    response = Response(
        URL,
        status=200,
        headers=Headers([(b"Content-Type", b"text/html"), (b"Transfer-Encoding", b"chunked")]),
        body=body,
        protocol="h2",
        flags=["partial"],
        ip_address=IPv4Address("10.1.2.3"),
    )
    capture, record, req = exchange(ext, response, request)
    assert capture.digest == payload_digest(body) and capture.status == "new"
    assert record.rec_headers["WARC-Truncated"] == "unspecified"
    assert record.rec_headers["WARC-IP-Address"] == "10.1.2.3"
    # HTTP/2 has no byte form in WARC: stored as an HTTP/1.1 message.
    assert record.http_headers.protocol == "HTTP/1.1"
    assert record.http_headers["Transfer-Encoding"] is None
    assert record.http_headers["X-Archive-Orig-Transfer-Encoding"] == "chunked"
    # What the origin saw: origin-form, no proxy credentials, the body and its length.
    assert req.http_headers.protocol == "POST"
    assert req.http_headers.statusline == "/xam/zwgk73/zfxxgk31/index.html?page=2 HTTP/1.1"
    assert req.http_headers["Proxy-Authorization"] is None
    assert req.http_headers["Host"] == "www.xam.gov.cn"
    assert req.http_headers["Content-Length"] == str(len(request.body))
    assert req.raw_stream.read() == request.body
    assert req.rec_headers["WARC-Concurrent-To"] == record.rec_headers["WARC-Record-ID"]


def test_non_http_is_ignored(ext):
    request = Request("data:text/plain,hello")
    ext.crawler.signals.send_catch_log(
        signal=signals.response_downloaded,
        response=Response("data:text/plain,hello", body=b"hello"),
        request=request,
        spider=None,
    )
    assert "capture" not in request.meta and ext.writer.current_path is None


def test_decisions_stats_and_index(ext):
    html = b"<html>report</html>"

    def fetch(body: bytes, status: int = 200, headers=None) -> Capture:
        request = Request(URL)
        response = Response(
            URL, status=status, body=body, headers=headers or {"Content-Type": "text/html"}
        )
        return exchange(ext, response, request)[0]

    first = fetch(html, headers={"Content-Type": "text/html", "ETag": '"e1"'})
    same = fetch(html)
    changed = fetch(b"<html>report v2</html>")
    not_modified = fetch(b"", status=304)
    assert [c.status for c in (first, same, changed, not_modified)] == [
        "new",
        "unchanged",
        "changed",
        "unchanged",
    ]
    assert [c.record_type for c in (first, same, changed, not_modified)] == [
        "response",
        "revisit",
        "response",
        "revisit",
    ]
    assert not_modified.digest == changed.digest
    stats = ext.crawler.stats
    assert stats.get_value("govcrawl/warc/records") == 8
    assert stats.get_value("govcrawl/warc/revisits") == 2
    assert stats.get_value("govcrawl/captures/unchanged") == 2
    # Bytes are the compressed lengths of everything after the warcinfo record.
    assert (
        stats.get_value("govcrawl/warc/bytes")
        == ext.writer.current_path.stat().st_size - first.offset
    )
    rows = ext.index.history(URL)
    assert [r.id for r in rows] == [c.capture_id for c in (first, same, changed, not_modified)]
    assert rows[1].refers_to_id == rows[0].id and rows[3].refers_to_id == rows[2].id
    assert all(r.run_id == ext.run_id for r in rows)
    # The run names its archive, so recovery can close it if this crawl gets killed.
    [run] = ext.index.unfinished_runs()
    assert (run["id"], run["archive"]) == (ext.run_id, str(ext.layout.root))
    assert rows[0].etag == '"e1"' and rows[2].etag is None


def test_304_without_original_is_kept_as_response(ext):
    request = Request(URL)
    capture, record, _ = exchange(ext, Response(URL, status=304, headers={"ETag": '"x"'}), request)
    assert (capture.record_type, capture.status, record.rec_type) == ("response", "new", "response")
    assert "original_payload" not in request.meta


def test_metadata_and_conversion_records(ext):
    request = Request(URL)
    capture, record, _ = exchange(ext, Response(URL, body=b"<html>x</html>"), request)
    meta = ext.write_capture_metadata(
        capture, {"clicks": 7, "published": "2022-01-21T18:27:17+08:00"}
    )
    conv = ext.write_text_conversion(capture, "正文")
    path = ext.writer.current_path
    for loc, rec_type in ((meta, "metadata"), (conv, "conversion")):
        got, raw = read_record_at(path, loc.offset)
        assert got.rec_type == rec_type
        assert got.rec_headers["WARC-Refers-To"] == record.rec_headers["WARC-Record-ID"]
        assert got.rec_headers["WARC-Target-URI"] == URL
    assert read_record_at(path, conv.offset)[1].decode() == "正文"
    with pytest.raises(ValueError):
        ext.write_text_conversion(Capture(**{**capture.__dict__, "capture_id": 10_000}), "x")


def test_close_seals_signals_finishes_run_and_releases_lock(tmp_path):
    archive = tmp_path / "archive"
    crawler = StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(archive)})
    sealed: list[Path] = []

    def on_sealed(path: Path) -> None:
        sealed.append(path)

    crawler.signals.connect(on_sealed, signal=warc_sealed)
    # A leftover from a killed crawl is recovered when the extension takes the archive.
    layout = ArchiveLayout.open(archive)
    (layout.warc_dir / "govcrawl-20200101000000000000-00000-x.warc.gz.open").write_bytes(
        b"\x1f\x8b\x08"
    )
    ext = WarcArchiveExtension.from_crawler(crawler)
    assert layout.open_warcs() == []
    assert ArchiveLock.held_by_this_process(layout.lock_path)
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=None)
    request = Request(URL)
    exchange(ext, Response(URL, body=b"x"), request)
    crawler.signals.send_catch_log(signal=signals.spider_closed, spider=None, reason="finished")
    assert sealed == layout.sealed_warcs() and len(sealed) == 1
    assert not ArchiveLock.held_by_this_process(layout.lock_path)
    assert crawler.stats.get_value("govcrawl/warc/files") == 1
    summary = ext.index.get_run(ext.run_id)["summary"]
    assert summary["warcs"] == [sealed[0].name] and summary["records"] == 2
    crawler.signals.send_catch_log(signal=signals.engine_stopped)
    with CaptureIndex.open(archive) as index:
        assert index.last_capture(URL).warc == sealed[0].name


def test_lock_held_by_this_process_is_not_taken_again(tmp_path):
    archive = tmp_path / "archive"
    layout = ArchiveLayout.open(archive)
    with ArchiveLock(layout.lock_path):  # what `govcrawl crawl` does before starting Scrapy
        crawler = StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(archive)})
        ext = WarcArchiveExtension.from_crawler(crawler)
        assert ext.lock is None
        crawler.signals.send_catch_log(signal=signals.spider_closed, spider=None, reason="finished")
        assert ArchiveLock.held_by_this_process(layout.lock_path)
        crawler.signals.send_catch_log(signal=signals.engine_stopped)


def test_conditional_middleware(ext):
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    mw = ConditionalRequestMiddleware.from_crawler(ext.crawler)
    assert mw.index is ext.index  # one shared index per crawler
    assert mw.process_request(Request(URL)) is None
    plain = Request(URL)
    mw.process_request(plain)
    assert b"If-None-Match" not in plain.headers  # nothing archived yet

    headers = {"ETag": '"e1"', "Last-Modified": "Fri, 21 Jan 2022 10:27:17 GMT"}
    exchange(ext, Response(URL, body=b"<html>x</html>", headers=headers), Request(URL))
    asked = Request(URL)
    mw.process_request(asked)
    assert asked.headers[b"If-None-Match"] == b'"e1"'
    assert asked.headers[b"If-Modified-Since"] == b"Fri, 21 Jan 2022 10:27:17 GMT"
    for request in (
        Request(URL, meta={"conditional": False}),
        Request(URL, method="POST"),
        Request(URL, headers={"If-None-Match": '"mine"'}),
    ):
        mw.process_request(request)
        assert request.headers.get(b"If-Modified-Since") is None
    # A failed last capture gives no validators worth asking with.
    exchange(ext, Response(URL, status=500, body=b"oops", headers=headers), Request(URL))
    again = Request(URL)
    mw.process_request(again)
    assert b"If-None-Match" not in again.headers
    assert ext.crawler.stats.get_value("govcrawl/conditional/requests") == 1


def test_conditional_middleware_settings(tmp_path):
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    with pytest.raises(NotConfigured):
        ConditionalRequestMiddleware.from_crawler(StandInCrawler({}))
    with pytest.raises(NotConfigured):
        ConditionalRequestMiddleware.from_crawler(
            StandInCrawler(
                {"GOVCRAWL_ARCHIVE_DIR": str(tmp_path), "GOVCRAWL_CONDITIONAL_REQUESTS": False}
            )
        )


def test_no_conditional_request_on_top_of_a_bodiless_304(ext):
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    mw = ConditionalRequestMiddleware.from_crawler(ext.crawler)
    # A 304 nobody asked for, with no original in the archive: kept as a bodiless response.
    exchange(ext, Response(URL, status=304, headers={"ETag": '"x"'}), Request(URL))
    request = Request(URL)
    mw.process_request(request)
    assert b"If-None-Match" not in request.headers
