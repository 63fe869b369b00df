"""The WARC extension in real Scrapy crawls (subprocesses: the reactor cannot restart) against a
local HTTP server, reading the archive back record by record."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from crawler.items import Capture
from govcrawl.archive.captures import CaptureIndex
from govcrawl.archive.layout import ArchiveLayout
from govcrawl.archive.reader import read_payload
from govcrawl.archive.warc import payload_digest

REPORT_HTML = (
    "<html><head><meta charset='utf-8'>"
    "<title>兴安盟公安局2021政府信息公开工作年度报告</title></head>"
    "<body><p>来源:盟公安局 发布日期:2022-01-21 18:27:17 点击量:</p>"
    "<p>根据2019年5月15日开始实施的《中华人民共和国政府信息公开条例》(国务院令第711号)...</p>"
    "</body></html>"
).encode()
GZIPPED = gzip.compress(REPORT_HTML, mtime=0)
LIST_HTML = "<html><body><a href='/report.html'>年度报告</a> 第2页</body></html>".encode()
ETAG = '"v1-4862348"'
LAST_MODIFIED = "Fri, 21 Jan 2022 10:27:17 GMT"
ETAG_HTML = "<html><body>政府信息公开年报 栏目</body></html>".encode()
CHUNKS = [b"<html><body>", "分块传输的页面".encode(), b"</body></html>"]
LIST_PATH = "/list.jsp?page=2&col=%E5%B9%B4%E6%8A%A5"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: dict[str, int] = {}

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status, headers, body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/":
            links = ["/report.html", LIST_PATH, "/column.html", "/chunked.html", "/counter.jsp"]
            body = "".join(f"<a href='{u}'>{u}</a>" for u in links).encode()
            self._send(
                200, [("Content-Type", "text/html")], b"<html><body>" + body + b"</body></html>"
            )
        elif self.path == "/robots.txt":
            self._send(200, [("Content-Type", "text/plain")], b"User-agent: *\nDisallow:\n")
        elif self.path == "/report.html":
            self._send(
                200,
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Encoding", "gzip"),
                    ("Set-Cookie", "JSESSIONID=abc; Path=/"),
                    ("Set-Cookie", "lang=zh; Path=/"),
                ],
                GZIPPED,
            )
        elif self.path == LIST_PATH:
            self._send(200, [("Content-Type", "text/html; charset=utf-8")], LIST_HTML)
        elif self.path == "/column.html":
            if self.headers.get("If-None-Match") == ETAG:
                self._send(304, [("ETag", ETAG)])
            else:
                self._send(
                    200,
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("ETag", ETAG),
                        ("Last-Modified", LAST_MODIFIED),
                    ],
                    ETAG_HTML,
                )
        elif self.path == "/chunked.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in CHUNKS:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/counter.jsp":
            self._send(200, [("Content-Type", "text/plain")], str(Handler.hits[self.path]).encode())
        else:
            self._send(404, [("Content-Type", "text/plain")], b"not found")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


SPIDER = textwrap.dedent(
    """
    import dataclasses, json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings
    from crawler.signals import warc_sealed

    base, archive, out, conditional = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"

    class Probe(scrapy.Spider):
        name = "probe"
        handle_httpstatus_list = [304]
        start_urls = [base + "/"]

        @classmethod
        def from_crawler(cls, crawler, *args, **kwargs):
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.sealed, signal=warc_sealed)
            return spider

        def sealed(self, path):
            self.write({"sealed": path.name})

        def write(self, record):
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\\n")

        def parse(self, response):
            capture = response.meta.get("capture")
            record = {
                "url": response.url,
                "status": response.status,
                "flags": response.flags,
                "content_type": response.headers.get("Content-Type", b"").decode(),
                "body": response.body.decode("utf-8", "replace"),
                "capture": dataclasses.asdict(capture) if capture else None,
            }
            self.write(record)
            if response.url == base + "/":
                yield from response.follow_all(css="a")

    # The project's defaults, with only the crawl run, the WARC stage and (when asked) the
    # conditional middleware switched on.
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.update({
        "EXTENSIONS": {
            "crawler.run.CrawlRunExtension": 0,
            "crawler.extensions.warc.WarcArchiveExtension": 100,
        },
        "DOWNLOADER_MIDDLEWARES": {},
        "ITEM_PIPELINES": {},
        "GOVCRAWL_ARCHIVE_DIR": archive,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": False,
        "RETRY_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": out + ".log",
        "USER_AGENT": "govcrawl-test (+https://example.invalid)",
        "DOWNLOAD_DELAY": 0,
        # Scrapy's CookiesMiddleware makes tldextract fetch the public suffix list from the
        # network; tests stay offline (Set-Cookie headers are archived either way).
        "COOKIES_ENABLED": False,
    })
    if conditional:
        settings["DOWNLOADER_MIDDLEWARES"] = {
            "crawler.middlewares.conditional.ConditionalRequestMiddleware": 950,
        }
    process = CrawlerProcess(settings=settings)
    process.crawl(Probe)
    process.start()
    """
)


def crawl(base: str, archive: Path, out: Path, *, conditional: bool) -> tuple[dict, list[dict]]:
    """Run one crawl; return (pages seen by the spider by URL, everything it wrote)."""
    result = subprocess.run(
        [sys.executable, "-c", SPIDER, base, str(archive), str(out), "1" if conditional else "0"],
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = Path(str(out) + ".log").read_text(encoding="utf-8")
    assert result.returncode == 0, result.stderr + log
    assert " ERROR: " not in log and "Traceback" not in log, log
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return {x["url"]: x for x in lines if "url" in x}, lines


def warc_records(layout: ArchiveLayout) -> list[dict]:
    out = []
    for path in layout.sealed_warcs():
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                raw = record.raw_stream.read()
                out.append(
                    {
                        "file": path.name,
                        "offset": it.get_record_offset(),
                        "type": record.rec_type,
                        "h": record.rec_headers,
                        "http": record.http_headers,
                        "raw": raw,
                    }
                )
    return out


def warcio_check(*paths: Path) -> int:
    with pytest.raises(SystemExit) as exit_info:
        warcio_main(["check", *map(str, paths)])
    return int(exit_info.value.code or 0)


def of_type(records: list[dict], rec_type: str, url: str) -> list[dict]:
    return [r for r in records if r["type"] == rec_type and r["h"]["WARC-Target-URI"] == url]


def test_three_crawls_into_one_archive(server, tmp_path):
    archive = tmp_path / "archive"
    layout = ArchiveLayout(archive)
    report_url, list_url = server + "/report.html", server + LIST_PATH
    column_url, chunked_url, counter_url = (
        server + "/column.html",
        server + "/chunked.html",
        server + "/counter.jsp",
    )

    # -- crawl 1: everything new ---------------------------------------------------------
    pages, lines = crawl(server, archive, tmp_path / "c1.jsonl", conditional=True)
    assert layout.open_warcs() == [] and len(layout.sealed_warcs()) == 1
    assert [x["sealed"] for x in lines if "sealed" in x] == [p.name for p in layout.sealed_warcs()]
    assert warcio_check(*layout.sealed_warcs()) == 0
    records = warc_records(layout)
    assert records[0]["type"] == "warcinfo"
    assert "http-header-user-agent: govcrawl-test" in records[0]["raw"].decode()

    # The gzip page: stored compressed, with its Content-Encoding, digest of the bytes received.
    [resp] = of_type(records, "response", report_url)
    assert resp["raw"] == GZIPPED
    assert resp["http"]["Content-Encoding"] == "gzip"
    assert resp["h"]["WARC-Payload-Digest"] == payload_digest(GZIPPED)
    assert [v for k, v in resp["http"].headers if k.lower() == "set-cookie"] == [
        "JSESSIONID=abc; Path=/",
        "lang=zh; Path=/",
    ]
    assert resp["http"].statusline == "200 OK" and resp["http"].protocol == "HTTP/1.1"
    assert resp["h"]["WARC-IP-Address"] == "127.0.0.1"
    # ...while the spider got it decompressed, and knows where it lives.
    assert pages[report_url]["body"] == REPORT_HTML.decode()
    cap = pages[report_url]["capture"]
    assert (cap["warc"], cap["offset"]) == (resp["file"], resp["offset"])
    assert (cap["status"], cap["record_type"], cap["digest"]) == (
        "new",
        "response",
        payload_digest(GZIPPED),
    )
    assert read_payload(layout, Capture(**cap)) == REPORT_HTML

    # Every response is followed at once by its request, linked by WARC-Concurrent-To.
    for i, r in enumerate(records):
        if r["type"] == "response":
            req = records[i + 1]
            assert req["type"] == "request"
            assert req["h"]["WARC-Concurrent-To"] == r["h"]["WARC-Record-ID"]
            assert req["h"]["WARC-Target-URI"] == r["h"]["WARC-Target-URI"]
    # Request lines are origin-form with the query string; Host and Scrapy's headers follow.
    [req] = of_type(records, "request", list_url)
    assert req["http"].protocol == "GET"
    assert req["http"].statusline == LIST_PATH + " HTTP/1.1"
    assert req["http"].headers[0] == ("Host", server.removeprefix("http://"))
    assert req["http"]["User-Agent"].startswith("govcrawl-test")
    assert "gzip" in req["http"]["Accept-Encoding"]
    [req] = of_type(records, "request", report_url)
    assert req["http"]["Referer"] == server + "/"

    # Chunked: the stored body is de-chunked and no header claims otherwise (Twisted drops
    # Transfer-Encoding; other handlers' headers are renamed, see test_warc_extension.py).
    [resp] = of_type(records, "response", chunked_url)
    assert resp["raw"] == b"".join(CHUNKS)
    assert resp["http"]["Transfer-Encoding"] is None
    # robots.txt is archived like any other response.
    assert of_type(records, "response", server + "/robots.txt")

    index = CaptureIndex.open(archive)
    try:
        first = {u: index.last_capture(u) for u in (report_url, list_url, column_url, counter_url)}
        assert all(r.status == "new" and r.record_type == "response" for r in first.values())
        assert first[column_url].etag == ETAG and first[column_url].last_modified == LAST_MODIFIED
        run1 = index.get_run(first[report_url].run_id)
        assert run1["summary"]["finish_reason"] == "finished"
        assert run1["summary"]["records"] == len(records) - 1  # all but warcinfo
    finally:
        index.close()

    # A torn file left by a killed crawl is recovered when the next crawl takes the archive.
    torn_name = "govcrawl-20200101000000000000-00000-elsewhere.warc.gz"
    torn_bytes = layout.sealed_warcs()[0].read_bytes()
    cut = records[3]["offset"] + 10  # inside the fourth record
    (layout.warc_dir / (torn_name + ".open")).write_bytes(torn_bytes[:cut])

    # -- crawl 2: no conditional requests: identical pages become revisits ------------------
    pages2, _ = crawl(server, archive, tmp_path / "c2.jsonl", conditional=False)
    assert layout.open_warcs() == []
    assert (layout.warc_dir / torn_name).stat().st_size == records[3]["offset"]
    assert warcio_check(*layout.sealed_warcs()) == 0
    records2 = [r for r in warc_records(layout) if r["file"] not in {records[0]["file"], torn_name}]
    [revisit] = of_type(records2, "revisit", report_url)
    [original] = of_type(records, "response", report_url)
    h = revisit["h"]
    assert h["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert h["WARC-Refers-To-Target-URI"] == report_url
    assert h["WARC-Refers-To-Date"] == original["h"]["WARC-Date"]
    assert h["WARC-Refers-To"] == original["h"]["WARC-Record-ID"]
    assert h["WARC-Payload-Digest"] == original["h"]["WARC-Payload-Digest"]
    assert revisit["raw"] == b"" and revisit["http"]["Content-Encoding"] == "gzip"
    assert of_type(records2, "revisit", list_url) and of_type(records2, "revisit", column_url)
    assert not of_type(records2, "response", report_url)
    # The counter changed: a full response again.
    [changed] = of_type(records2, "response", counter_url)
    assert changed["raw"] == b"2"
    assert pages2[report_url]["capture"]["status"] == "unchanged"
    assert pages2[report_url]["capture"]["record_type"] == "revisit"
    assert pages2[counter_url]["capture"]["status"] == "changed"
    [req] = of_type(records2, "request", column_url)
    assert req["http"]["If-None-Match"] is None  # middleware off

    # -- crawl 3: conditional requests: the server answers 304 ------------------------------
    pages3, _ = crawl(server, archive, tmp_path / "c3.jsonl", conditional=True)
    assert warcio_check(*layout.sealed_warcs()) == 0
    seen = {records[0]["file"], torn_name} | {r["file"] for r in records2}
    records3 = [r for r in warc_records(layout) if r["file"] not in seen]
    [req] = of_type(records3, "request", column_url)
    assert req["http"]["If-None-Match"] == ETAG
    assert req["http"]["If-Modified-Since"] == LAST_MODIFIED
    [nm] = of_type(records3, "revisit", column_url)
    [column_original] = of_type(records, "response", column_url)
    # The block is the original's status and headers (updated by the 304's), so stock replay
    # tools serve the original page, not an empty 304.
    assert nm["http"].get_statuscode() == "200"
    assert nm["http"]["Content-Type"] == "text/html; charset=utf-8"
    assert nm["h"]["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    assert nm["h"]["WARC-Refers-To-Target-URI"] == column_url
    assert nm["h"]["WARC-Refers-To-Date"] == column_original["h"]["WARC-Date"]
    assert nm["h"]["WARC-Refers-To"] == column_original["h"]["WARC-Record-ID"]
    assert nm["h"]["WARC-Payload-Digest"] == payload_digest(ETAG_HTML)
    # The spider got the archived original as the response, with nothing special to do.
    page = pages3[column_url]
    assert page["status"] == 200 and page["body"] == ETAG_HTML.decode()
    assert page["content_type"] == "text/html; charset=utf-8"
    assert "not_modified" in page["flags"]
    assert page["capture"]["status"] == "unchanged" and page["capture"]["record_type"] == "revisit"

    index = CaptureIndex.open(archive)
    try:
        history = index.history(column_url)
        assert [(r.http_status, r.record_type, r.status) for r in history] == [
            (200, "response", "new"),
            (200, "revisit", "unchanged"),
            (304, "revisit", "unchanged"),
        ]
        assert history[2].refers_to_id == history[0].id
        assert history[2].digest == history[0].digest == payload_digest(ETAG_HTML)
        assert history[2].etag == ETAG and history[2].last_modified == LAST_MODIFIED
        # Every index row points at a record of its URL in a sealed file.
        for row in index.iter_captures():
            with open(layout.warc_path(row.warc), "rb") as fh:
                fh.seek(row.offset)
                record = next(iter(ArchiveIterator(fh)))
                assert record.rec_headers["WARC-Record-ID"] == row.record_id
                assert record.rec_headers["WARC-Target-URI"] == row.url
                assert record.rec_type == row.record_type
    finally:
        index.close()


def test_crawl_refuses_a_locked_archive(server, tmp_path):
    from govcrawl.archive.lock import ArchiveLock

    archive = tmp_path / "archive"
    layout = ArchiveLayout.open(archive)
    with ArchiveLock(layout.lock_path):
        out = tmp_path / "locked.jsonl"
        result = subprocess.run(
            [sys.executable, "-c", SPIDER, server, str(archive), str(out), "0"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    log = (
        Path(str(out) + ".log").read_text(encoding="utf-8")
        if Path(str(out) + ".log").exists()
        else ""
    )
    assert "archive is locked by a running crawl" in result.stderr + log
    assert layout.sealed_warcs() == [] and not out.exists()
    shutil.rmtree(archive)
