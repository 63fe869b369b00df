"""Small request handlers, one per server behaviour (the shape of Scrapy's tests/mockserver).

A handler is a callable `Request -> Response`. Quirks that change how a page is served wrap the
handler of that page (`Flaky(Conditional(Static(resource)))`); dynamic endpoints (click
counters, the Hanweb list endpoint, crawler traps) are handlers of their own. `replica.portal`
decides which handler answers which URL; `replica.site` builds the pages they serve.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from urllib.parse import parse_qsl, urlencode

from replica.templates import json_body, list_items


@dataclass(frozen=True)
class Request:
    method: str
    host: str  # lower case, without port
    path: str  # without the ;jsessionid= parameter
    query: str
    headers: dict[str, str]  # names in lower case
    session: str | None = None  # the ;jsessionid= value the path carried

    @property
    def full(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def args(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # Transport quirks, carried out by the server: wait before answering; send only the first
    # `cut` bytes of the body (Content-Length still says all) and close; close without answering.
    delay: float = 0.0
    cut: int | None = None
    drop: bool = False


Handler = Callable[[Request], Response]


@dataclass
class Resource:
    """A static page or file as stored: `etag` is derived from the body."""

    body: bytes
    ctype: str
    status: int = 200
    last_modified: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str = ""

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


def html_response(text: str, status: int = 200, charset: str = "utf-8") -> Response:
    ctype = f"text/html; charset={charset}"
    return Response(status, [("Content-Type", ctype)], text.encode(charset))


# --- plain answers ------------------------------------------------------------------------------


@dataclass
class Static:
    """A stored resource, as stored."""

    res: Resource

    def __call__(self, req: Request) -> Response:
        r = self.res
        return Response(r.status, [("Content-Type", r.ctype), *r.headers], r.body)


@dataclass
class Status:
    """A fixed status with a small HTML page (404 pages, 502 for hosts the proxy cannot reach)."""

    status: int
    html: str
    charset: str = "utf-8"

    def __call__(self, req: Request) -> Response:
        return html_response(self.html, self.status, self.charset)


@dataclass
class Redirect:
    """301/302 to `location`; a relative location stays on the request's host."""

    status: int
    location: str

    def __call__(self, req: Request) -> Response:
        loc = self.location
        if not loc.startswith("http"):
            loc = f"http://{req.host}{loc}"
        body = f'<html><body><a href="{escape(loc)}">moved</a></body></html>'.encode()
        return Response(self.status, [("Location", loc), ("Content-Type", "text/html")], body)


# --- quirks that wrap a page's handler ----------------------------------------------------------


@dataclass
class Flaky:
    """503 (Retry-After: 1) for the first `failures` requests of a server's lifetime."""

    inner: Handler
    failures: int = 2
    _seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: Request) -> Response:
        with self._lock:
            self._seen += 1
            failing = self._seen <= self.failures
        if failing:
            page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
            resp = html_response(page, 503)
            resp.headers.append(("Retry-After", "1"))
            return resp
        return self.inner(req)


@dataclass
class Conditional:
    """ETag and Last-Modified on a stored page; 304 when the request's validators match
    (If-None-Match first; If-Modified-Since only without it, RFC 9110 13.2.2)."""

    inner: Handler
    res: Resource

    def __call__(self, req: Request) -> Response:
        if req.session is not None or self.res.last_modified is None:
            return self.inner(req)
        etag = self.res.etag
        lm = format_datetime(self.res.last_modified.astimezone(UTC), usegmt=True)
        if self._not_modified(req.headers, etag, self.res.last_modified):
            return Response(304, [("ETag", etag), ("Last-Modified", lm)], b"")
        resp = self.inner(req)
        resp.headers += [("ETag", etag), ("Last-Modified", lm)]
        return resp

    @staticmethod
    def _not_modified(headers: dict[str, str], etag: str, lm: datetime) -> bool:
        inm = headers.get("if-none-match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            return etag in tags or "*" in tags or f"W/{etag}" in tags
        try:
            since = parsedate_to_datetime(headers.get("if-modified-since", ""))
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return lm.replace(microsecond=0) <= since


COMPRESSIBLE = ("text/", "application/javascript", "application/xml")


@dataclass
class Compress:
    """gzip (mtime 0, so bytes repeat) when the request accepts it; `Vary` either way."""

    inner: Handler
    _cache: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: Request) -> Response:
        resp = self.inner(req)
        ctype = dict(resp.headers).get("Content-Type", "")
        if resp.status != 200 or not ctype.startswith(COMPRESSIBLE):
            return resp
        resp.headers.append(("Vary", "Accept-Encoding"))
        if "gzip" in req.headers.get("accept-encoding", "").lower():
            with self._lock:
                gz = self._cache.get(req.full)
            if gz is None:
                gz = gzip.compress(resp.body, compresslevel=6, mtime=0)
                with self._lock:
                    self._cache[req.full] = gz
            resp.body = gz
            resp.headers.append(("Content-Encoding", "gzip"))
        return resp


_SITE_LINK = re.compile(r'href="(/xamagri/[^";]+)"')


@dataclass
class SessionIds:
    """The endless session-id trap: every site link of the page gets a new ;jsessionid=.

    Applies to requests that carried a session id, and to every page under `entrance`.
    """

    inner: Handler
    entrance: str
    charset: str = "gbk"

    def __call__(self, req: Request) -> Response:
        resp = self.inner(req)
        ctype = dict(resp.headers).get("Content-Type", "")
        if not ctype.startswith("text/html"):
            return resp
        if req.session is None and not req.path.startswith(self.entrance):
            return resp
        sid = req.session or ""

        def fresh(m: re.Match[str]) -> str:
            href = m.group(1)
            new = hashlib.sha1(f"{sid}|{req.path}|{href}".encode()).hexdigest()[:32].upper()
            base, _, q = href.partition("?")
            return f'href="{base};jsessionid={new}' + (f"?{q}" if q else "") + '"'

        text = _SITE_LINK.sub(fresh, resp.body.decode(self.charset))
        resp.body = text.encode(self.charset)
        return resp


@dataclass
class Delay:
    """Answers after `?n=<seconds>` (default 1, at most 10): slow servers, download timeouts."""

    inner: Handler

    def __call__(self, req: Request) -> Response:
        resp = self.inner(req)
        try:
            resp.delay = min(max(float(req.args.get("n", "1")), 0.0), 10.0)
        except ValueError:
            resp.delay = 1.0
        return resp


@dataclass
class Partial:
    """Sends half the body under a Content-Length for all of it, then closes the connection."""

    inner: Handler

    def __call__(self, req: Request) -> Response:
        resp = self.inner(req)
        resp.cut = len(resp.body) // 2
        return resp


@dataclass
class Drop:
    """Closes the connection without answering."""

    def __call__(self, req: Request) -> Response:
        return Response(0, [], b"", drop=True)


# --- click counters (notes/counters.md styles A, B, C) ------------------------------------------


class Hits:
    """Hits added during one server's lifetime, per (host, article id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._added: dict[tuple[str, str], int] = {}

    def add(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._added[key] = self._added.get(key, 0) + 1

    def get(self, key: tuple[str, str]) -> int:
        with self._lock:
            return self._added.get(key, 0)


Counters = dict[tuple[str, str], tuple[str, int]]  # (host, id) -> (style, base count)

NO_CACHE = ("Cache-Control", "no-cache")


@dataclass
class ClickCounter:
    """Style A: `clicks.jsp?contentId=<id>` -> JSON; read-only (an unknown id reads 0)."""

    counters: Counters

    def __call__(self, req: Request) -> Response:
        cid = req.args.get("contentId", "")
        clicks = self.counters.get((req.host, cid), ("A", 0))[1]
        body = json_body({"contentId": cid, "clicks": clicks})
        return Response(200, [("Content-Type", "application/json;charset=UTF-8"), NO_CACHE], body)


@dataclass
class HitCounter:
    """Style B: `count.jsp?aid=<id>[&add=1]` -> `document.write('N');`; `add=1` adds a hit."""

    counters: Counters
    hits: Hits

    def __call__(self, req: Request) -> Response:
        key = (req.host, req.args.get("aid", ""))
        if req.args.get("add") == "1" and key in self.counters:
            self.hits.add(key)
        n = self.counters.get(key, ("B", 0))[1] + self.hits.get(key)
        ctype = ("Content-Type", "application/javascript;charset=GBK")
        return Response(200, [ctype, NO_CACHE], f"document.write('{n}');".encode())


@dataclass
class VisitCounter:
    """Style C, the hidden iframe: `visit.jsp?...&i_articleid=<id>` adds a hit."""

    counters: Counters
    hits: Hits

    def __call__(self, req: Request) -> Response:
        key = (req.host, req.args.get("i_articleid", ""))
        if key in self.counters:
            self.hits.add(key)
        ctype = ("Content-Type", "text/html;charset=UTF-8")
        return Response(200, [ctype], b"<html><body></body></html>")


@dataclass
class ArtCount:
    """Style C, the read: `artcount.jsp?...&artid=<id>` -> text/plain `\\r\\nN\\r\\n`."""

    counters: Counters
    hits: Hits

    def __call__(self, req: Request) -> Response:
        key = (req.host, req.args.get("artid", ""))
        n = self.counters.get(key, ("C", 0))[1] + self.hits.get(key)
        ctype = ("Content-Type", "text/plain;charset=UTF-8")
        return Response(200, [ctype, NO_CACHE], f"\r\n{n}\r\n".encode())


# --- list endpoints and traps -------------------------------------------------------------------

EMPTY_DATASTORE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<datastore><recordset>'
    b"</recordset><totalrecord>0</totalrecord></datastore>\n"
)


@dataclass
class DataProxy:
    """Hanweb's jpage list endpoint: `dataproxy.jsp?page=<n>&columnid=<id>` -> XML (1-based;
    pages past the end give an empty recordset)."""

    pages: dict[tuple[str, int], bytes]  # (column id, page) -> XML

    def __call__(self, req: Request) -> Response:
        try:
            page = int(req.args.get("page", "1") or 1)
        except ValueError:
            page = 1
        xml = self.pages.get((req.args.get("columnid", ""), page), EMPTY_DATASTORE)
        return Response(200, [("Content-Type", "text/xml;charset=UTF-8")], xml)


@dataclass
class Calendar:
    """Trap: `?month=YYYY-MM` links the previous and the next month, without end."""

    render: Callable[[str], str]  # content -> the whole page
    path: str

    def __call__(self, req: Request) -> Response:
        m = re.fullmatch(r"(\d{4,})-(\d{2})", req.args.get("month", ""))
        ok = m is not None and 1 <= int(m.group(2)) <= 12
        y, mo = (int(m.group(1)), int(m.group(2))) if m and ok else (2026, 1)
        prev_y, prev_m = (y, mo - 1) if mo > 1 else (y - 1, 12)
        next_y, next_m = (y, mo + 1) if mo < 12 else (y + 1, 1)
        content = (
            f'<div class="main"><h1>活动日历 {y}年{mo}月</h1>'
            f'<p><a href="{self.path}?month={prev_y:04d}-{prev_m:02d}">上个月</a> '
            f'<a href="{self.path}?month={next_y:04d}-{next_m:02d}">下个月</a></p>'
            "<p>本月暂无活动安排。</p></div>\n"
        )
        return html_response(self.render(content))


@dataclass
class GrowingQuery:
    """Trap: a paged list whose 下一页 and 按标题排序 links append another `sort=` parameter."""

    render: Callable[[str], str]  # content -> the whole page
    path: str
    items: list[tuple[str, str, str]]  # (title, href, day), newest first
    page_size: int = 15

    def __call__(self, req: Request) -> Response:
        try:
            page = max(1, int(req.args.get("page", "1")))
        except ValueError:
            page = 1
        chunk = self.items[(page - 1) * self.page_size : page * self.page_size]
        pairs = [(k, v) for k, v in parse_qsl(req.query, keep_blank_values=True) if k != "page"]
        nxt = urlencode(
            [("page", str(page + 1)), *pairs, ("sort", "time" if page % 2 else "title")]
        )
        by_title = urlencode([("page", "1"), *pairs, ("sort", "title")])
        content = (
            '<div class="main"><div class="lm-name">通知公告</div>'
            f"{list_items(chunk)}"
            f'<p><a href="{self.path}?{escape(by_title)}">按标题排序</a> '
            f'<a href="{self.path}?{escape(nxt)}">下一页</a></p></div>\n'
        )
        return html_response(self.render(content))
