"""A small portal for the second night: what changes between scheduled crawls, one handler per
behaviour, served as an HTTP proxy so the archive keeps real-looking URLs
(``http://www.night.gov.cn/...``).

Rounds are nights (``--round N``; restart the server between nights):

- ``/nb/index.html``: the portal's 年报 column, listing 2020-2022 (the withdrawn ones leave the
  list from round 2);
- ``/bm/index.html``: a department's 年报 column of two items (2023, 2024; 2025 joins in round 3);
- ``/nb/2023.html``: a report whose counter (``/count.jsp?id=2023``) answers a new count each
  night (``clicks(round, id)``), served with an ETag, so later nights get 304s;
- ``/nb/2024.html``: the same report text every night, but the page prints its own visit count
  (``浏览次数``, one more on every request) and today's date in its header;
- ``/nb/2022.html``: edited in round 2 (a sentence added);
- ``/nb/2021.html``: from round 2 it redirects to the home page (withdrawn);
- ``/nb/2020.html``: from round 2 it answers 200 with a "page does not exist" page (soft 404);
- ``/nb/2025.html``: new in round 3, listed only in the column;
- ``/print/2023.html``: forbidden by robots.txt (``Disallow: /print/``).

Requests are logged as JSON lines (host, path, status, headers sent) to ``--log``.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "www.night.gov.cn"
AGENCY = "兴安盟夜间统计局"
REPORT_IDS = (2020, 2021, 2022, 2023, 2024)
NEW_IN_ROUND_3 = 2025
WITHDRAWN = 2021  # redirects home from round 2
SOFT_404 = 2020  # "page does not exist" from round 2
EDITED = 2022  # a sentence added in round 2
PRINTED = 2024  # prints its own visit count and today's date


def clicks(round_: int, report_id: int) -> int:
    """What the counter endpoint answers for ``report_id`` on night ``round_``."""
    return 1000 * round_ + report_id % 100


def report_url(report_id: int) -> str:
    return f"http://{HOST}/nb/{report_id}.html"


def listed(round_: int, column: str) -> list[int]:
    """Reports a column lists on a night: ``nb`` the portal's, ``bm`` the department's."""
    if column == "nb":
        return [2020, 2021, 2022] if round_ == 1 else [2022]
    return [2023, 2024] + ([NEW_IN_ROUND_3] if round_ >= 3 else [])


def report_text(report_id: int, round_: int) -> list[str]:
    year = report_id - 1
    paragraphs = [
        f"本报告由{AGENCY}根据《中华人民共和国政府信息公开条例》要求编制。全文包括总体情况、"
        "主动公开政府信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议和行政诉讼"
        f"情况、存在的主要问题及改进情况、其他需要报告的事项。本报告所列数据的统计期限自{year}年"
        f"1月1日起至{year}年12月31日止。",
        "一、总体情况",
        f"{year}年，我局认真贯彻落实政府信息公开工作各项要求，持续加强主动公开，规范依申请公开办理。",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
        "本年度无其他需要报告的事项。",
    ]
    if report_id == EDITED and round_ >= 2:
        paragraphs.insert(3, "（更正）经核查，本年度新增公开目录一项，特此补充说明。")
    return paragraphs


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title>{head}</head><body>{body}</body></html>"
    ).encode()


class NightPortal(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    round = 1
    log_path: str | None = None
    _lock = threading.Lock()
    _printed_visits = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        if status != 304:
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
            headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(body)
        self._log(status)

    def _log(self, status: int) -> None:
        if not self.log_path:
            return
        parts = urlsplit(self.path)
        line = {
            "host": parts.hostname or self.headers.get("Host", ""),
            "path": parts.path + (f"?{parts.query}" if parts.query else ""),
            "status": status,
            "if_none_match": self.headers.get("If-None-Match"),
            "time": time.time(),
        }
        with self._lock, open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def _conditional(self, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        """Answer with ETag/Last-Modified; 304 when the client's validator still matches."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, headers={"ETag": etag})
        else:
            headers = {
                "Content-Type": content_type,
                "ETag": etag,
                "Last-Modified": "Mon, 05 Jan 2026 02:00:00 GMT",
            }
            self._send(200, body, headers)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        route = ROUTES.get(path)
        if route is None and path.startswith("/nb/") and path.endswith(".html"):
            route = NightPortal.report
        if route is None and path.startswith("/print/"):
            route = NightPortal.printable
        if route is None:
            self._send(404, _page("404", "<p>404 Not Found</p>"))
            return
        route(self)

    # -- one handler per behaviour ------------------------------------------------------------

    def robots(self) -> None:
        # With an ETag: later nights get a 304, and robots.txt must still be obeyed.
        self._conditional(b"User-agent: *\nDisallow: /print/\n", "text/plain")

    def home(self) -> None:
        body = f"<h1>{AGENCY}</h1><ul><li><a href='/zwgk/index.html'>政务公开</a></li></ul>"
        self._conditional(_page(AGENCY, body))

    def disclosure(self) -> None:
        body = (
            "<ul><li><a href='/nb/index.html'>政府信息公开年报</a></li>"
            "<li><a href='/bm/index.html'>部门信息公开年报</a></li></ul>"
        )
        self._conditional(_page("政务公开", body))

    def column(self) -> None:
        name = urlsplit(self.path).path.split("/")[1]
        items = "".join(
            f"<li><a href='/nb/{i}.html'>{AGENCY}{i - 1}年政府信息公开工作年度报告</a>"
            f"<span>{i}-01-20</span></li>"
            for i in listed(self.round, name)
        )
        self._conditional(_page("政府信息公开年报", f"<h2>政府信息公开年报</h2><ul>{items}</ul>"))

    def report(self) -> None:
        path = urlsplit(self.path).path
        try:
            report_id = int(path.rsplit("/", 1)[1].split(".")[0])
        except ValueError:
            report_id = 0
        known = set(REPORT_IDS) | ({NEW_IN_ROUND_3} if self.round >= 3 else set())
        if report_id not in known:
            self._send(404, _page("404", "<p>404 Not Found</p>"))
            return
        if report_id == WITHDRAWN and self.round >= 2:
            self._send(302, b"", {"Location": f"http://{HOST}/"})
            return
        if report_id == SOFT_404 and self.round >= 2:
            notice = "<div class='err'>对不起，您访问的页面不存在！</div>"
            self._send(200, _page("提示信息", notice))
            return
        title = f"{AGENCY}{report_id - 1}年政府信息公开工作年度报告"
        paragraphs = "".join(f"<p>{p}</p>" for p in report_text(report_id, self.round))
        meta = f"来源：{AGENCY}　发布日期：{report_id}-01-20 09:30"
        header = ""
        if report_id == PRINTED:
            with self._lock:
                NightPortal._printed_visits += 1
                visits = 500 + 100 * self.round + NightPortal._printed_visits
            meta += f"　浏览次数：{visits}"
            today = email.utils.formatdate(time.time(), usegmt=True)
            header = f"<div class='top'>今天是 {today}</div>"
            counter = ""
        else:
            meta += "　点击量：<span id='hits'></span>"
            counter = f"<script src='/count.jsp?id={report_id}'></script>"
        body = (
            f"{header}<div class='article'><h1>{title}</h1><div class='info'>{meta}</div>"
            f"<div class='content'>{paragraphs}</div>{counter}</div>"
        )
        page = _page(title, body)
        if report_id == PRINTED:
            self._send(200, page)  # the bytes change on every request: no validator helps
        else:
            self._conditional(page)

    def counter(self) -> None:
        query = urlsplit(self.path).query
        report_id = int(query.split("id=", 1)[1]) if "id=" in query else 0
        value = clicks(self.round, report_id)
        self._send(
            200,
            f'document.write("{value}");'.encode(),
            {"Content-Type": "application/javascript"},
        )

    def printable(self) -> None:
        self._send(200, _page("打印", "<p>打印版</p>"))


ROUTES = {
    "/robots.txt": NightPortal.robots,
    "/": NightPortal.home,
    "/index.html": NightPortal.home,
    "/zwgk/index.html": NightPortal.disclosure,
    "/nb/index.html": NightPortal.column,
    "/bm/index.html": NightPortal.column,
    "/count.jsp": NightPortal.counter,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--round", type=int, default=1)
    parser.add_argument("--log")
    args = parser.parse_args(argv)
    NightPortal.round = args.round
    NightPortal.log_path = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), NightPortal)
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
