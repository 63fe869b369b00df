"""A mock portal of hostile server behaviours, one small handler per behaviour (the shape of
Scrapy's tests/mockserver: ``Status``, ``Partial``, ``Compress``, ``Drop`` ...).

Run as a child process (``python -m tests.mockserver --round N``); it prints ``READY <url>`` and
answers absolute-URI proxy requests, so a crawl with ``http_proxy=<url>`` fetches real-looking
``http://<behaviour>.example.gov.cn/`` URLs. Every host is the same small portal
(``/`` > ``/xxgk/`` 政府信息公开 > ``/xxgk/ndbg/`` 年报 column) whose column links a good report
(``GOOD``) and the hostile one (``HOSTILE``); the host's first label picks the behaviour of the
hostile URL, or of the whole host for portal-wide behaviours (``gateway``, ``cookie``).

Provenance: ``dataloss`` is shared case 06 (Content-Length larger than the body, scrapy#2586),
``zstd`` case 07 (pywb#947), ``plain`` case 14 (replay with a relative archive path), ``gateway``
case 15 (412 JavaScript gateway from round 2 on; requests#5311), ``cookie`` case 16 (JSESSIONID on
every page, tldextract#332), ``counter`` issue 15's counters with cache-busters. The rest are the
hostile section of issue 15.

Standard library only (plus zstandard and brotli for their encodings), like replica/.
"""

from __future__ import annotations

import argparse
import gzip
import socket
import socketserver
import struct
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

GOOD = "/xxgk/ndbg/202201/t20220128_1.html"
HOSTILE = "/xxgk/ndbg/202201/t20220128_2.html"
# The hostile report's attachment (docxbomb, pdfbomb): /xxgk/ndbg/202201/P020220128_2.docx
ATTACHMENT = "/xxgk/ndbg/202201/P020220128_2"
MIB = 1024 * 1024


def page(title: str, body: str) -> bytes:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"
    ).encode()


def report_html(agency: str, day: int, sentence: str) -> bytes:
    title = f"示例市{agency}2021年政府信息公开工作年度报告"
    return page(
        title,
        f"<h1>{title}</h1><div class='info'>来源：市{agency} 发布日期：2022-01-{day:02d} 10:00"
        f"</div><div class='content'><p>本报告依据《中华人民共和国政府信息公开条例》编制。</p>"
        f"<p>一、总体情况。{sentence}</p></div>",
    )


GOOD_REPORT = report_html("审计局", 27, "2021年，市审计局主动公开审计结果公告十二份。")
HOSTILE_TITLE = "示例市林业和草原局2021年政府信息公开工作年度报告"
HOSTILE_REPORT = report_html("林业和草原局", 28, "2021年，市林草局主动公开森林防火信息五十余条。")

CHALLENGE = (
    b"<!DOCTYPE html><html><head><meta http-equiv='Content-Type' content='text/html; "
    b"charset=utf-8'><meta id='9DhefwqGPrzGxEp9hPaoag' content='kJ3xP0w8'><script>"
    b"(function(){var c='FSSBBIl1UgzbN7N80T='+Math.random().toString(36).slice(2);"
    b"document.cookie=c+';path=/';location.reload();})();</script></head><body></body></html>"
)
# A 202 gateway page that keeps the report's title (a WAF that copies the <title>).
CHALLENGE_TITLED = (
    f"<html><head><meta charset='utf-8'><title>{HOSTILE_TITLE}</title><script>"
    "document.cookie='wzws_cid='+(new Date()).getTime()+';path=/';"
    "window.location.href=window.location.href;</script></head><body>"
    "<p>正在验证您的浏览器...</p></body></html>"
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    round = 1
    bomb_bytes = 16 * MIB  # what a bomb inflates to (--bomb-mib)
    document_bomb_bytes = 1024 * MIB  # what the DOCX and PDF bombs inflate to (--doc-bomb-mib)
    table_bytes = 3 * MIB  # the table page's size (--table-mib; the tests' cap is 4 MiB)

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------

    def send(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]] | None = None,
        *,
        length: int | None = None,
        close: bool = False,
    ) -> None:
        """Status line, headers, Content-Length (``length`` to lie) and the body."""
        self.send_response(status)
        names = {k.lower() for k, _ in headers or ()}
        if "content-type" not in names:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers or ():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        host = (parts.hostname or self.headers.get("Host", "")).split(":")[0]
        path = parts.path + ("?" + parts.query if parts.query else "")
        kind = host.split(".", 1)[0]
        portal_wide = PORTAL_WIDE.get(kind)
        if portal_wide is not None and portal_wide(self, path):
            return
        if path == "/robots.txt":
            self.send(404, b"not found", [("Content-Type", "text/plain")])
        elif path == "/":
            self.send(200, page("示例市人民政府", '<a href="/xxgk/">政府信息公开</a>'))
        elif path == "/xxgk/":
            self.send(200, page("政府信息公开", '<a href="/xxgk/ndbg/">政府信息公开年报</a>'))
        elif path == "/xxgk/ndbg/":
            items = "".join(
                f'<li><a href="{url}">{title}</a><span>2022-01-2{n}</span></li>'
                for n, (url, title) in enumerate(
                    [
                        (GOOD, "示例市审计局2021年政府信息公开工作年度报告"),
                        (HOSTILE, HOSTILE_TITLE),
                    ],
                    start=7,
                )
            )
            self.send(200, page("政府信息公开年报", f"<ul>{items}</ul>"))
        elif path == GOOD:
            self.send(200, GOOD_REPORT)
        elif path.startswith((HOSTILE, ATTACHMENT)) and kind in BEHAVIOURS:
            BEHAVIOURS[kind](self)
        else:
            self.send(404, page("404", "页面不存在"))

    do_HEAD = do_GET


# -- one handler per behaviour (the hostile URL) --------------------------------------------


def plain(h: Handler) -> None:
    """Case 14: an ordinary report."""
    h.send(200, HOSTILE_REPORT)


def dataloss(h: Handler) -> None:
    """Case 06: Content-Length 300 bytes larger than the body, then the connection closes."""
    h.send(200, HOSTILE_REPORT, length=len(HOSTILE_REPORT) + 300, close=True)


def zstd(h: Handler) -> None:
    """Case 07: zstd whenever the client offers it, gzip otherwise."""
    offered = {e.strip().split(";")[0] for e in h.headers.get("Accept-Encoding", "").split(",")}
    headers = [("Vary", "Accept-Encoding")]
    if "zstd" in offered:
        from backports import zstd as codec  # what Scrapy uses on Python < 3.14

        h.send(200, codec.compress(HOSTILE_REPORT), [*headers, ("Content-Encoding", "zstd")])
    elif "gzip" in offered:
        h.send(
            200, gzip.compress(HOSTILE_REPORT, mtime=0), [*headers, ("Content-Encoding", "gzip")]
        )
    else:
        h.send(200, HOSTILE_REPORT, headers)


def _bomb(coding: str, size: int) -> bytes:
    """``size`` bytes of spaces after an HTML start, compressed with ``coding``."""
    raw = b"<html><body>" + b" " * size
    if coding == "gzip":
        return gzip.compress(raw, compresslevel=9, mtime=0)
    if coding == "deflate":
        return zlib.compress(raw, 9)
    import brotli

    return brotli.compress(raw, quality=5)


_BOMBS: dict[str, bytes] = {}


def bomb_of(coding: str) -> Callable[[Handler], None]:
    def bomb(h: Handler) -> None:
        """A small body that inflates to ``bomb_bytes`` (--bomb-mib); with an ETag, so a later
        crawl asks ``If-None-Match`` and gets a 304 (the archived bomb is then read back)."""
        if coding not in _BOMBS:
            _BOMBS[coding] = _bomb(coding, h.bomb_bytes)
        etag = f'"bomb-{coding}"'
        if h.headers.get("If-None-Match") == etag:
            h.send(304, b"", [("ETag", etag)])
        else:
            h.send(200, _BOMBS[coding], [("Content-Encoding", coding), ("ETag", etag)])

    return bomb


def endless(h: Handler) -> None:
    """An endless chunked body (a script stuck in a loop)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    line = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    try:
        while True:
            h.wfile.write(line)
    except OSError:
        pass
    h.close_connection = True


def oversize(h: Handler) -> None:
    """A body larger than DOWNLOAD_MAXSIZE, with an honest Content-Length."""
    h.send(200, b"<html><body>" + b"x" * (int(h.headers.get("X-Size", 0)) or 80 * MIB))


def slowdrip(h: Handler) -> None:
    """Headers at once, then a byte a second (never finishing within any timeout)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(100000):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    h.close_connection = True


def redirectloop(h: Handler) -> None:
    """Redirects to itself with a growing query (a loop Scrapy's REDIRECT_MAX_TIMES ends)."""
    n = int(h.path.rsplit("=", 1)[-1]) + 1 if "loop=" in h.path else 1
    h.send(302, b"", [("Location", f"{HOSTILE}?loop={n}")])


def charsetlie(h: Handler) -> None:
    """Declares GBK in the header and the meta, sends UTF-8 with one GBK include."""
    body = HOSTILE_REPORT.replace(b"<meta charset='utf-8'>", b"<meta charset='gbk'>")
    body = body.replace(b"</div></body>", "<p>（附）页脚信息</p>".encode("gbk") + b"</div></body>")
    h.send(200, body, [("Content-Type", "text/html; charset=gbk")])


def deephtml(h: Handler) -> None:
    """100,000 unclosed <div>s after the report's text."""
    h.send(200, HOSTILE_REPORT.replace(b"</body>", b"<div>" * 100_000 + b"</body>"))


def crlflocation(h: Handler) -> None:
    """A redirect whose Location carries an encoded CR/LF and a header injection attempt."""
    h.send_response(302)
    h.send_header("Location", "/xxgk/ndbg/202201/t20220128_3.html%0d%0aSet-Cookie:%20evil=1")
    h.send_header("Content-Length", "0")
    h.end_headers()


def dispositionpath(h: Handler) -> None:
    """A document whose Content-Disposition names ../ and absolute paths."""
    h.send(
        200,
        b"%PDF-1.4\n% not really a pdf\n",
        [
            ("Content-Type", "application/pdf"),
            (
                "Content-Disposition",
                'attachment; filename="../../../../tmp/evil.pdf"; '
                "filename*=UTF-8''%2Fetc%2Fpasswd.pdf",
            ),
        ],
    )


def reset(h: Handler) -> None:
    """Half the body, then a TCP reset."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(HOSTILE_REPORT)))
    h.end_headers()
    h.wfile.write(HOSTILE_REPORT[: len(HOSTILE_REPORT) // 2])
    h.wfile.flush()
    h.connection.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
    )
    h.connection.close()
    h.close_connection = True


def silent(h: Handler) -> None:
    """Accepts the request and never answers."""
    time.sleep(3600)


def challenge202(h: Handler) -> None:
    """A 202 anti-bot page that keeps the report's title, from round 2 on."""
    if h.round >= 2:
        h.send(202, CHALLENGE_TITLED)
    else:
        h.send(200, HOSTILE_REPORT)


def shrinks(h: Handler) -> None:
    """The report in round 1; from round 2 only its first bytes, then the connection closes."""
    if h.round < 2:
        h.send(200, HOSTILE_REPORT)
    else:
        h.send(200, HOSTILE_REPORT[:40], length=len(HOSTILE_REPORT), close=True)


# -- document bombs and a huge table page ------------------------------------------------------


def _deflate_blocks(size: int, chunk: int = MIB) -> tuple[bytes, int, int]:
    """(raw deflate of ``size`` zero bytes, their CRC-32, their Adler-32), built cheaply: one
    chunk is compressed once, ending in a full flush (no back-references across it), and the
    same bytes repeated ``size // chunk`` times, then an empty final block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    count = size // chunk
    crc, adler = 0, 1
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
        adler = zlib.adler32(zeros, adler)
    return block * count + c.flush(), crc, adler


def docx_bomb(size: int) -> bytes:
    """A .docx (zip) whose word/document.xml inflates to ``size`` bytes; its zip headers tell
    the true size, as a zip tool would write them."""
    parts = [
        (
            "[Content_Types].xml",
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            b'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            b'vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.'
            b'xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
            b'document.main+xml"/></Types>',
        ),
        (
            "_rels/.rels",
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            b'//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            b'Target="word/document.xml"/></Relationships>',
        ),
    ]
    out, central = bytearray(), bytearray()

    def member(name: str, data: bytes, crc: int, raw_size: int) -> None:
        fields = (20, 0, 8, 0, 0, crc, len(data), raw_size, len(name), 0)
        offset = len(out)
        out.extend(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + name.encode() + data)
        central.extend(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset)
            + name.encode()
        )

    for name, xml in parts:
        member(name, zlib.compress(xml)[2:-4], zlib.crc32(xml), len(xml))
    data, crc, _ = _deflate_blocks(size)
    member("word/document.xml", data, crc, size)
    count = len(parts) + 1
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def pdf_bomb(size: int) -> bytes:
    """A one-page PDF whose content stream (FlateDecode) inflates to ``size`` bytes."""
    data, _, adler = _deflate_blocks(size)
    stream = b"\x78\xda" + data + struct.pack(">L", adler)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out.extend(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
    xref = len(out)
    out.extend(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.extend(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.extend(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
               % (len(objects) + 1, xref))  # fmt: skip
    return bytes(out)


def table_page(size: int) -> bytes:
    """The hostile report with a statistics table that makes the page ``size`` bytes."""
    row = "".join(
        f"<td>{v}</td>" for v in ("行政许可", "1,234", "567", "89", "0", "12", "3")
    ).encode()
    row = b"<tr>" + row + b"</tr>\n"
    header = "".join(
        f"<th>{v}</th>"
        for v in ("事项", "本年收到", "予以公开", "部分公开", "不予公开", "无法提供", "其他")
    ).encode()
    head, tail = HOSTILE_REPORT.split(b"</div></body>")
    head += b"<table class='tj'><tr>" + header + b"</tr>\n"
    tail = b"</table></div></body>" + tail
    rows = max(1, (size - len(head) - len(tail)) // len(row))
    return head + row * rows + tail


_DOCUMENTS: dict[str, bytes] = {}


def _cached(name: str, build: Callable[[], bytes]) -> bytes:
    if name not in _DOCUMENTS:
        _DOCUMENTS[name] = build()
    return _DOCUMENTS[name]


def document_bomb(ext: str) -> Callable[[Handler], None]:
    content_type = {
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf": "application/pdf",
    }[ext]

    def bomb(h: Handler) -> None:
        """The hostile report links a .docx or .pdf that inflates to ``document_bomb_bytes``
        (--doc-bomb-mib) when read (a zip member, a FlateDecode stream)."""
        if h.path.split("?")[0].endswith(ATTACHMENT + "." + ext):
            size = h.document_bomb_bytes
            body = _cached(ext, lambda: (docx_bomb if ext == "docx" else pdf_bomb)(size))
            h.send(200, body, [("Content-Type", content_type)])
        else:
            link = f'<p>附件：<a href="{ATTACHMENT}.{ext}">年度报告统计表.{ext}</a></p>'
            h.send(200, HOSTILE_REPORT.replace(b"</body>", link.encode() + b"</body>"))

    return bomb


def bigtable(h: Handler) -> None:
    """The report with a table that makes the page ``table_bytes`` (--table-mib); built on the
    first request."""
    h.send(200, _cached("table", lambda: table_page(h.table_bytes)))


BEHAVIOURS: dict[str, Callable[[Handler], None]] = {
    "plain": plain,
    "dataloss": dataloss,
    "zstd": zstd,
    "gzipbomb": bomb_of("gzip"),
    "deflatebomb": bomb_of("deflate"),
    "brbomb": bomb_of("br"),
    "endless": endless,
    "oversize": oversize,
    "slowdrip": slowdrip,
    "redirectloop": redirectloop,
    "charsetlie": charsetlie,
    "deephtml": deephtml,
    "crlflocation": crlflocation,
    "dispositionpath": dispositionpath,
    "reset": reset,
    "silent": silent,
    "challenge202": challenge202,
    "shrinks": shrinks,
    "docxbomb": document_bomb("docx"),
    "pdfbomb": document_bomb("pdf"),
    "bigtable": bigtable,
}


# -- portal-wide behaviours: return True when they answered ----------------------------------


def gateway(h: Handler, path: str) -> bool:
    """Case 15: from round 2 on, a 412 JavaScript challenge for every request."""
    if h.round < 2:
        return False
    h.send(412, CHALLENGE, [("Set-Cookie", "FSSBBIl1UgzbN7N80S=abc; Path=/; HttpOnly")])
    return True


def cookie(h: Handler, path: str) -> bool:
    """Case 16: every page sets a session cookie (answered by the ordinary routes)."""
    original = h.end_headers

    def with_cookie() -> None:
        h.send_header("Set-Cookie", "JSESSIONID=9F3A1C0E7B2D4A6C8E0F1A3B5C7D9E1F; Path=/; HttpOnly")
        original()

    h.end_headers = with_cookie  # type: ignore[method-assign]
    return False


COUNTER_SCRIPT = (
    '<span id="views"></span><script>$.get("/xxgk/count.jsp?id=100&r=" + Math.random(), '
    'function (n) { $("#views").text(n); });</script>'
)


def counter(h: Handler, path: str) -> bool:
    """The good report loads its click count with a cache-buster (``&r=`` + Math.random())."""
    if path == GOOD:
        h.send(200, GOOD_REPORT.replace(b"</body>", COUNTER_SCRIPT.encode() + b"</body>"))
        return True
    if path.startswith("/xxgk/count.jsp?id=100"):
        h.send(200, b"1234", [("Content-Type", "text/plain")])
        return True
    return False


PORTAL_WIDE: dict[str, Callable[[Handler, str], bool]] = {
    "gateway": gateway,
    "cookie": cookie,
    "counter": counter,
}


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on bombs and endless bodies is the point


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--round", type=int, default=1)
    ap.add_argument("--bomb-mib", type=int, default=16, help="what bombs inflate to (MiB)")
    ap.add_argument("--doc-bomb-mib", type=int, default=1024, help="DOCX/PDF bombs inflate to")
    ap.add_argument("--table-mib", type=float, default=3, help="the table page's size (MiB)")
    args = ap.parse_args(argv)
    Handler.round = args.round
    Handler.bomb_bytes = args.bomb_mib * MIB
    Handler.document_bomb_bytes = args.doc_bomb_mib * MIB
    Handler.table_bytes = int(args.table_mib * MIB)
    for coding in ("gzip", "deflate", "br"):  # built before the first request times out
        _BOMBS[coding] = _bomb(coding, Handler.bomb_bytes)
    _DOCUMENTS["docx"] = docx_bomb(Handler.document_bomb_bytes)
    _DOCUMENTS["pdf"] = pdf_bomb(Handler.document_bomb_bytes)
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
