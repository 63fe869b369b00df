"""WarcArchiveExtension, the crawl run and the conditional middleware in-process, fed with real
Scrapy Request/Response objects (the crawler around them is a stand-in: the project's real
settings, SignalManager and stats, the crawler as the registry of components; no engine or
reactor)."""

from __future__ import annotations

import gzip
import json
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
from crawler.run import CrawlRunExtension, crawl_run
from crawler.signals import warc_sealed
from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveError, ArchiveLayout
from govcrawl.archive.lock import ArchiveLock, ArchiveLocked
from govcrawl.archive.warc import payload_digest, read_record_at
from govcrawl.run import CrawlRun

URL = "http://www.xam.gov.cn/xam/zwgk73/zfxxgk31/index.html?page=2"


class StandInCrawler:
    def __init__(self, settings: dict) -> None:
        self.settings = Settings()
        self.settings.setmodule("crawler.settings")
        self.settings.update({"USER_AGENT": "govcrawl-test", **settings})
        self.signals = SignalManager(self)
        self.stats = MemoryStatsCollector(self)
        self.engine = None
        self.spider = None
        self.components: list[object] = []

    def get_extension(self, cls):
        return next((c for c in self.components if isinstance(c, cls)), None)

    def get_downloader_middleware(self, cls):
        return self.get_extension(cls)


def open_crawl(archive: Path) -> tuple[StandInCrawler, WarcArchiveExtension]:
    """A stand-in crawler with the crawl run and the WARC extension, spider opened."""
    crawler = StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(archive)})
    crawler.components.append(CrawlRunExtension.from_crawler(crawler))
    extension = WarcArchiveExtension.from_crawler(crawler)
    crawler.components.append(extension)
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=None)
    return crawler, extension


def close_crawl(crawler: StandInCrawler) -> None:
    crawler.signals.send_catch_log(signal=signals.spider_closed, spider=None, reason="finished")
    crawler.stats.set_value("finish_reason", "finished")
    crawler.signals.send_catch_log(signal=signals.engine_stopped)


@pytest.fixture
def ext(tmp_path):
    crawler, extension = open_crawl(tmp_path / "archive")
    yield extension
    close_crawl(crawler)


def exchange(ext, response: Response, request: Request) -> tuple[Capture, object, object]:
    ext.crawler.signals.send_catch_log(
        signal=signals.response_downloaded, response=response, request=request, spider=None
    )
    capture = request.meta["capture"]
    path = ext.run.writer.current_path
    with open(path, "rb") as fh:
        fh.seek(capture.offset)
        it = iter(ArchiveIterator(fh))
        record = next(it)
        record.raw_stream.read()
        req_record = next(it)
    return capture, record, req_record


def test_components_need_the_crawl_run(tmp_path):
    crawler = StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(tmp_path)})
    with pytest.raises(NotConfigured, match="CrawlRunExtension"):
        crawl_run(crawler)


def test_unusable_archive_dir(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(ArchiveError, match="not writable"):
        CrawlRunExtension.from_crawler(StandInCrawler({"GOVCRAWL_ARCHIVE_DIR": str(afile)}))


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
        flags=["dataloss"],
        ip_address=IPv4Address("10.1.2.3"),
    )
    capture, record, req = exchange(ext, response, request)
    assert capture.digest == payload_digest(body) and capture.status == "new"
    # Scrapy flags a body cut short by the connection ("dataloss"): kept, marked truncated.
    assert record.rec_headers["WARC-Truncated"] == "disconnect"
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
    assert "capture" not in request.meta and ext.run.writer.current_path is None


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
        == ext.run.writer.current_path.stat().st_size - first.offset
    )
    run = ext.run
    rows = run.index.history(URL)
    assert [r.id for r in rows] == [c.capture_id for c in (first, same, changed, not_modified)]
    assert rows[1].refers_to_id == rows[0].id and rows[3].refers_to_id == rows[2].id
    assert all(r.run_id == run.run_id for r in rows)
    # The run names its archive, so recovery can close it if this crawl gets killed.
    [row] = run.index.unfinished_runs()
    assert (row["id"], row["archive"]) == (run.run_id, str(run.layout.root))
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
    path = ext.run.writer.current_path
    for loc, rec_type in ((meta, "metadata"), (conv, "conversion")):
        got, raw = read_record_at(path, loc.offset)
        assert got.rec_type == rec_type
        assert got.rec_headers["WARC-Refers-To"] == record.rec_headers["WARC-Record-ID"]
        assert got.rec_headers["WARC-Target-URI"] == URL
    assert read_record_at(path, conv.offset)[1].decode() == "正文"
    with pytest.raises(ValueError):
        ext.write_text_conversion(Capture(**{**capture.__dict__, "capture_id": 10_000}), "x")


def test_run_recovers_seals_summarises_and_releases_lock(tmp_path):
    archive = tmp_path / "archive"
    sealed: list[Path] = []

    def on_sealed(path: Path) -> None:
        sealed.append(path)

    # A leftover from a killed crawl is recovered when the run takes the archive.
    layout = ArchiveLayout.open(archive)
    (layout.warc_dir / "govcrawl-20200101000000000000-00000-x.warc.gz.open").write_bytes(
        b"\x1f\x8b\x08"
    )
    crawler, ext = open_crawl(archive)
    crawler.signals.connect(on_sealed, signal=warc_sealed)
    assert layout.open_warcs() == []
    assert ArchiveLock.held_by_this_process(layout.lock_path)
    run = ext.run
    assert run.recovery.removed and run.recheck_all
    # One crawl per archive: a second run cannot start while this one holds the lock.
    with pytest.raises(ArchiveLocked):
        CrawlRun.start(archive)
    exchange(ext, Response(URL, body=b"x"), Request(URL))
    close_crawl(crawler)
    assert sealed == layout.sealed_warcs() and len(sealed) == 1
    assert not ArchiveLock.held_by_this_process(layout.lock_path)
    assert crawler.stats.get_value("govcrawl/warc/files") == 1
    assert run.summary is not None
    assert run.summary["warcs"] == [sealed[0].name] and run.summary["records"] == 2
    [summary_file] = layout.runs_dir.glob("*.json")
    assert json.loads(summary_file.read_text())["run_id"] == run.run_id
    with CaptureIndex.open(archive) as index:
        assert index.last_capture(URL).warc == sealed[0].name
        assert index.get_run(run.run_id)["summary"]["finish_reason"] == "finished"


def test_conditional_middleware(ext):
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    mw = ConditionalRequestMiddleware.from_crawler(ext.crawler)
    assert mw.run is ext.run  # one crawl run per crawler
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
        ConditionalRequestMiddleware.from_crawler(StandInCrawler({}))  # no crawl run
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


def test_304_becomes_the_archived_response(ext):
    """A 304 answers the request with the archived original, as received: status, every
    header, the body still gzip-encoded for HttpCompressionMiddleware to undo."""
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    mw = ConditionalRequestMiddleware.from_crawler(ext.crawler)
    html = "<html><title>年报</title></html>".encode()
    body = gzip.compress(html, mtime=0)
    original_headers = [
        (b"Content-Type", b"text/html; charset=utf-8"),
        (b"Content-Encoding", b"gzip"),
        (b"ETag", b'"e1"'),
        (b"Date", b"Fri, 21 Jan 2022 10:27:17 GMT"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    exchange(ext, Response(URL, body=body, headers=Headers(original_headers)), Request(URL))
    request = Request(URL)
    mw.process_request(request)
    assert request.headers[b"If-None-Match"] == b'"e1"'
    not_modified = Response(
        URL,
        status=304,
        headers={"ETag": '"e1"', "Date": "Mon, 30 Nov 2026 02:15:00 GMT"},
        request=request,
    )
    capture, record, _ = exchange(ext, not_modified, request)
    got = mw.process_response(request, not_modified)
    assert got.status == 200 and "not_modified" in got.flags
    assert got.body == body
    assert got.headers.getlist(b"Set-Cookie") == [b"a=1", b"b=2"]
    assert got.headers[b"Content-Encoding"] == b"gzip"
    assert got.meta["capture"] is capture and capture.record_type == "revisit"
    # The revisit's block is the original's status and headers, updated by the 304's
    # (RFC 9111 3.2), so stock replay tools serve the original with status 200.
    assert record.rec_headers["WARC-Profile"].endswith("/server-not-modified")
    assert record.http_headers.get_statuscode() == "200"
    assert record.http_headers["Date"] == "Mon, 30 Nov 2026 02:15:00 GMT"
    assert record.http_headers["Content-Encoding"] == "gzip"
    assert ext.run.index.get(capture.capture_id).http_status == 304
    # Responses that are not an answer to our validators pass untouched.
    other = Response(URL, status=304)
    assert mw.process_response(Request(URL), other) is other


def test_304_original_is_read_once(ext):
    """The WARC stage (the revisit's headers) and the conditional middleware (the response)
    share one read of the archived original per 304."""
    from crawler.middlewares.conditional import ConditionalRequestMiddleware

    mw = ConditionalRequestMiddleware.from_crawler(ext.crawler)
    headers = {"ETag": '"e1"', "Content-Type": "text/html", "X-Original": "kept"}
    exchange(ext, Response(URL, body=b"<html>one</html>", headers=headers), Request(URL))
    reads: list[tuple[str, int]] = []
    opener = ext.run.reader.opener

    def counting_opener(name, offset, length):
        reads.append((name, offset))
        return opener(name, offset, length)

    ext.run.reader.opener = counting_opener
    request = Request(URL)
    mw.process_request(request)
    not_modified = Response(URL, status=304, headers={"ETag": '"e1"'}, request=request)
    capture, record, _ = exchange(ext, not_modified, request)
    got = mw.process_response(request, not_modified)
    assert len(reads) == 1
    assert got.body == b"<html>one</html>" and "not_modified" in got.flags
    assert record.http_headers["X-Original"] == "kept"
    assert record.http_headers.get_statuscode() == "200"
    assert not any(k.startswith("_conditional_original_read") for k in request.meta)


def test_recorder_reads_the_original_itself_when_the_hint_is_another(ext):
    """A known original that is not the one the revisit refers to is not used."""
    from dataclasses import replace

    from crawler.extensions.warc import _exchange
    from govcrawl.archive.reader import ArchivedRecord

    exchange(ext, Response(URL, body=b"<html>a</html>", headers={"X-Which": "a"}), Request(URL))
    row = ext.run.index.last_capture(URL)
    stale = ArchivedRecord("response", {}, 200, "OK", "HTTP/1.1", [("X-Which", "b")], b"", False)
    hint = (replace(row, offset=row.offset + 1), stale)
    not_modified = Response(URL, status=304, headers={"ETag": '"e1"'})
    capture = ext.recorder.record(_exchange(not_modified, Request(URL)), known_original=hint)
    rec = ext.run.reader.read(capture.warc, capture.offset, capture.length, payload=False)
    assert rec.header("X-Which") == "a"
