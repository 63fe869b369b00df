"""Small but realistic WARCs for the archivist-tool tests, written with warcio directly.

They follow DESIGN.md's conventions (independently of pipelines/warc.py): WARC/1.1, one gzip
member per record, warcinfo first, each response followed by its request with
WARC-Concurrent-To, bodies as received (gzip Content-Encoding where a server would use it),
sha1 base32 digests, revisits with WARC-Refers-To-Target-URI/-Date and the
identical-payload-digest profile.

Crawl 1 captures an annual-report page of www.xam.gov.cn (old numeric-column CMS, counter style
A of notes/counters.md) with its stylesheet, script, banner image and the read-only click-counter
JSON. Crawl 2, a week later, finds page, stylesheet, script and image unchanged (revisits) and the
counter grown.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

HOST = "www.xam.gov.cn"
PAGE_URL = f"http://{HOST}/xam/zwgk73/zfxxgk31/zfxxgknb46/4800984/4862348/index.html"
CSS_URL = f"http://{HOST}/xam/static/css/article.css"
JS_URL = f"http://{HOST}/xam/static/js/article.js"
IMG_URL = f"http://{HOST}/xam/static/images/banner.png"
COUNTER_URL = f"http://{HOST}/xam/clicks.jsp?contentId=4862348"
REQUISITES = (CSS_URL, JS_URL, IMG_URL)

CRAWL1_START = datetime(2026, 11, 28, 4, 30, 0, 123456, tzinfo=UTC)
CRAWL2_START = datetime(2026, 12, 5, 4, 30, 0, 654321, tzinfo=UTC)
CLICKS_CRAWL1 = 1234
CLICKS_CRAWL2 = 1240

TITLE = "兴安盟公安局2021政府信息公开工作年度报告"
# Opening of the real report (shared/real-pages/00_seed_xam_gaj_2021_full.txt).
BODY_PARAGRAPHS = (
    "根据2019年5月15日开始实施的《中华人民共和国政府信息公开条例》(国务院令第711号,以下简称"
    "《条例》)和《自治区人民政府办公厅关于印发2020年政务公开和政务服务工作要点的通知》要求,"
    "现将兴安盟公安局2021年政府信息公开工作年度报告予以公布。",
    "按照党中央、国务院及盟委、行署的部署安排,兴安盟公安局政务公开工作紧紧围绕着力健全工作机制、"
    "加强信息管理、完善平台建设、强化政策解读等方面,取得了积极成效。",
    "(二)依申请公开情况。2021年度兴安盟公安局未收到依申请公开。",
)
BODY_MARKER = "2021年度兴安盟公安局未收到依申请公开"

HEADER_RGB = (200, 16, 46)  # the stylesheet's header band colour (#c8102e)

PAGE_HTML = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{TITLE}</title>
<link rel="stylesheet" type="text/css" href="/xam/static/css/article.css">
<script type="text/javascript" src="/xam/static/js/article.js"></script>
</head>
<body>
<div class="header" id="header"><img id="banner" src="/xam/static/images/banner.png"
 alt="兴安盟行政公署" width="64" height="16"><span class="site">兴安盟行政公署</span></div>
<div class="crumbs">首页 &gt; 政务公开 &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="article">
<h1 class="title">兴安盟公安局</h1>
<div class="info">来源:盟公安局 发布日期:2022-01-21 18:27:17 点击量:<span id="hits"></span></div>
<div class="content" id="zoom">
<p style="text-align:center"><strong>兴安盟公安局2021政府信息公开工作</strong></p>
<p style="text-align:center"><strong>年度报告</strong></p>
{"".join(f"<p>{p}</p>" for p in BODY_PARAGRAPHS)}
</div>
</div>
<script type="text/javascript">
$.ajax({{url: "/xam/clicks.jsp", data: {{contentId: "4862348"}}, dataType: "json",
        success: function (d) {{ $("#hits").text(d.clicks); }}}});
</script>
</body>
</html>
"""

CSS = """body { margin: 0; font-family: "Microsoft YaHei", sans-serif; background: #ffffff; }
.header { height: 120px; background-color: #c8102e; color: #ffffff; }
.header .site { font-size: 28px; line-height: 120px; margin-left: 16px; }
.article { width: 1000px; margin: 20px auto; }
.article h1.title { color: #1a3d7c; text-align: center; }
#hits { font-weight: bold; }
"""

# The portal loads jQuery; this fixture ships the few calls the page uses (so the test needs no
# vendored jQuery) and records, for the browser test, what the replayed page really applied.
JS = """(function () {
  function Q(sel) { this.el = document.querySelector(sel); }
  Q.prototype.text = function (v) {
    if (this.el) { this.el.textContent = String(v); }
    return this;
  };
  window.$ = function (sel) { return new Q(sel); };
  window.$.ajax = function (opts) {
    var query = [];
    for (var k in (opts.data || {})) {
      query.push(encodeURIComponent(k) + "=" + encodeURIComponent(opts.data[k]));
    }
    var xhr = new XMLHttpRequest();
    xhr.open("GET", opts.url + (query.length ? "?" + query.join("&") : ""));
    xhr.onload = function () {
      var data = opts.dataType === "json" ? JSON.parse(xhr.responseText) : xhr.responseText;
      if (xhr.status === 200 && opts.success) { opts.success(data); }
      document.documentElement.setAttribute("data-counter-status", String(xhr.status));
    };
    xhr.send();
  };
  window.addEventListener("load", function () {
    var root = document.documentElement;
    var header = document.getElementById("header");
    root.setAttribute("data-header-bg", getComputedStyle(header).backgroundColor);
    var img = document.getElementById("banner");
    root.setAttribute("data-banner-width", String(img.naturalWidth));
  });
})();
"""


BANNER_RGB = (250, 210, 0)  # the solid colour of the banner image


def png_bytes(width: int = 64, height: int = 16, rgb: tuple[int, int, int] = BANNER_RGB) -> bytes:
    """A valid solid-colour PNG, built by hand so the fixture needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class Captured:
    url: str
    rec_type: str  # response | revisit
    date: str  # WARC-Date
    digest: str  # WARC-Payload-Digest
    offset: int
    length: int
    record_id: str


@dataclass
class CrawlWarc:
    path: Path
    records: dict[str, Captured] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def warc_name(start: datetime, serial: int = 0, host: str = "crawler1") -> str:
    return f"govcrawl-{start.strftime('%Y%m%d%H%M%S%f')}-{serial:05d}-{host}.warc.gz"


def _warc_date(dt: datetime) -> str:
    return datetime_to_iso_date(dt.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def _http_date(dt: datetime) -> str:
    return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")


class WarcBuilder:
    """Writes one WARC the way the project does and remembers where each capture went."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self.fh = open(path, "wb")
        self.writer = WARCWriter(self.fh, gzip=True, warc_version="1.1")
        self.result = CrawlWarc(path)
        info = self.writer.create_warcinfo_record(
            path.name,
            {
                "software": "govcrawl/0.1.0 (warcio fixture)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "isPartOf": "govcrawl",
            },
        )
        info.rec_headers.replace_header("WARC-Date", _warc_date(start))
        self.writer.write_record(info)

    def _request(self, url: str, when: str, referer: str | None):
        path = url.split(HOST, 1)[1]
        headers = [
            ("Host", HOST),
            ("User-Agent", "govcrawl/0.1 (+archival crawler)"),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip, deflate"),
        ]
        if referer:
            headers.append(("Referer", referer))
        http = StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)
        return self.writer.create_warc_record(
            url, "request", http_headers=http, warc_headers_dict={"WARC-Date": when}
        )

    def _remember(self, url: str, record, offset: int) -> None:
        length = self.fh.tell() - offset
        h = record.rec_headers
        self.result.records[url] = Captured(
            url=url,
            rec_type=record.rec_type,
            date=h.get_header("WARC-Date"),
            digest=h.get_header("WARC-Payload-Digest"),
            offset=offset,
            length=length,
            record_id=h.get_header("WARC-Record-ID"),
        )

    def response(
        self,
        url: str,
        when: datetime,
        body: bytes,
        content_type: str,
        *,
        gzipped: bool = False,
        referer: str | None = None,
    ) -> None:
        date = _warc_date(when)
        payload = gzip.compress(body, mtime=0) if gzipped else body
        headers = [
            ("Server", "nginx"),
            ("Date", _http_date(when)),
            ("Content-Type", content_type),
            ("Content-Length", str(len(payload))),
            ("Connection", "keep-alive"),
        ]
        if gzipped:
            headers.insert(3, ("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        resp = self.writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(payload),
            length=len(payload),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        offset = self.fh.tell()
        self.writer.write_record(resp)
        self._remember(url, resp, offset)
        req = self._request(url, date, referer)
        req.rec_headers.add_header(
            "WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID")
        )
        self.writer.write_record(req)

    def revisit(
        self,
        original: Captured,
        when: datetime,
        http_headers: list[tuple[str, str]],
        *,
        referer: str | None = None,
    ) -> None:
        date = _warc_date(when)
        http = StatusAndHeaders("200 OK", http_headers, protocol="HTTP/1.1")
        rev = self.writer.create_revisit_record(
            original.url,
            original.digest,
            original.url,
            original.date,
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        offset = self.fh.tell()
        self.writer.write_record(rev)
        self._remember(original.url, rev, offset)
        req = self._request(original.url, date, referer)
        req.rec_headers.add_header(
            "WARC-Concurrent-To", rev.rec_headers.get_header("WARC-Record-ID")
        )
        self.writer.write_record(req)

    def close(self) -> CrawlWarc:
        self.fh.close()
        return self.result


def counter_body(clicks: int) -> bytes:
    return json.dumps({"contentId": "4862348", "clicks": clicks}).encode()


def write_first_crawl(warc_dir: Path, start: datetime = CRAWL1_START, serial: int = 0) -> CrawlWarc:
    """Crawl 1: page (gzip), css (gzip), js (gzip), png, counter JSON; one second apart."""
    warc_dir.mkdir(parents=True, exist_ok=True)
    w = WarcBuilder(warc_dir / warc_name(start, serial), start)
    s = timedelta(seconds=1)
    w.response(PAGE_URL, start, PAGE_HTML.encode("utf-8"), "text/html; charset=UTF-8", gzipped=True)
    w.response(CSS_URL, start + s, CSS.encode(), "text/css", gzipped=True, referer=PAGE_URL)
    w.response(
        JS_URL, start + s, JS.encode(), "application/javascript", gzipped=True, referer=PAGE_URL
    )
    w.response(IMG_URL, start + 2 * s, png_bytes(), "image/png", referer=PAGE_URL)
    w.response(
        COUNTER_URL,
        start + 3 * s,
        counter_body(CLICKS_CRAWL1),
        "application/json;charset=UTF-8",
        referer=PAGE_URL,
    )
    return w.close()


def write_second_crawl(
    warc_dir: Path, first: CrawlWarc, start: datetime = CRAWL2_START, serial: int = 0
) -> CrawlWarc:
    """Crawl 2: revisits of page, css, js and image (identical payloads), a new counter value."""
    warc_dir.mkdir(parents=True, exist_ok=True)
    w = WarcBuilder(warc_dir / warc_name(start, serial), start)
    s = timedelta(seconds=1)
    types = {
        PAGE_URL: "text/html; charset=UTF-8",
        CSS_URL: "text/css",
        JS_URL: "application/javascript",
        IMG_URL: "image/png",
    }
    for i, url in enumerate((PAGE_URL, CSS_URL, JS_URL, IMG_URL)):
        when = start + i * s
        headers = [("Server", "nginx"), ("Date", _http_date(when)), ("Content-Type", types[url])]
        if url != IMG_URL:
            headers.append(("Content-Encoding", "gzip"))
        w.revisit(first.records[url], when, headers, referer=None if url == PAGE_URL else PAGE_URL)
    w.response(
        COUNTER_URL,
        start + 4 * s,
        counter_body(CLICKS_CRAWL2),
        "application/json;charset=UTF-8",
        referer=PAGE_URL,
    )
    return w.close()


CRAWL3_START = datetime(2026, 12, 12, 4, 30, 0, 111111, tzinfo=UTC)
CLICKS_CRAWL3 = 1251


def write_not_modified_crawl(
    warc_dir: Path, first: CrawlWarc, start: datetime = CRAWL3_START, serial: int = 0
) -> CrawlWarc:
    """Crawl 3, conditional: the page answers 304 (server-not-modified revisit carrying the
    304's headers, as pipelines/warc.py writes it); the counter has grown again."""
    warc_dir.mkdir(parents=True, exist_ok=True)
    w = WarcBuilder(warc_dir / warc_name(start, serial), start)
    original = first.records[PAGE_URL]
    http = StatusAndHeaders(
        "304 Not Modified",
        [("Server", "nginx"), ("Date", _http_date(start)), ("ETag", '"61ea8a55-2f1a"')],
        protocol="HTTP/1.1",
    )
    date = _warc_date(start)
    rev = w.writer.create_revisit_record(
        PAGE_URL,
        original.digest,
        original.url,
        original.date,
        http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )
    rev.rec_headers.replace_header(
        "WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    )
    offset = w.fh.tell()
    w.writer.write_record(rev)
    w._remember(PAGE_URL, rev, offset)
    req = w._request(PAGE_URL, date, None)
    req.rec_headers.add_header("WARC-Concurrent-To", rev.rec_headers.get_header("WARC-Record-ID"))
    w.writer.write_record(req)
    w.response(
        COUNTER_URL,
        start + timedelta(seconds=1),
        counter_body(CLICKS_CRAWL3),
        "application/json;charset=UTF-8",
        referer=PAGE_URL,
    )
    return w.close()


@dataclass
class ArchiveFixture:
    root: Path
    first: CrawlWarc
    second: CrawlWarc | None

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    def report_pages(self) -> list[dict[str, str]]:
        """What the lead passes to build_wacz: report records as in reports.jsonl."""
        latest = self.second or self.first
        cap = latest.records[PAGE_URL]
        return [
            {
                "url": PAGE_URL,
                "fetched": iso_seconds(cap.date),
                "title": TITLE,
                "text": "\n".join(BODY_PARAGRAPHS),
                "warc": latest.name,
                "offset": cap.offset,
            }
        ]


def iso_seconds(warc_date: str) -> str:
    """2026-11-28T04:30:00.123456Z -> 2026-11-28T04:30:00Z (reports.jsonl style)."""
    return warc_date.split(".")[0].rstrip("Z") + "Z"


def ts14(warc_date: str) -> str:
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def make_archive(root: Path, *, second: bool = True) -> ArchiveFixture:
    """ARCHIVE with warc/ holding crawl 1 and (by default) crawl 2."""
    warc_dir = root / "warc"
    first = write_first_crawl(warc_dir)
    sec = write_second_crawl(warc_dir, first) if second else None
    (root / "indexes").mkdir(parents=True, exist_ok=True)
    return ArchiveFixture(root, first, sec)
