"""A synthetic government portal for the performance benchmark (bench/perf.py).

    python -m bench.synthportal --pages 5000 [--log FILE]

prints ``READY http://127.0.0.1:<port>`` and serves, as an HTTP forward proxy (absolute-form
request lines routed by host, like replica/server.py), two portals of ``--pages`` pages each:

- ``all.perf.gov.cn``: every article is an annual report (whole-site benchmark);
- ``www.perf.gov.cn``: a realistic portal, 4 % of its articles are reports, spread over a 年报
  column (60 %), 通知公告 (20 %) and 工作动态 (20 %); seven more columns hold only news.

Each portal: a home page, a 政务公开 menu, 150 list pages over ten columns (下一页 pagination) and
~20 KB article pages (text and one statistics table) under ``/zwgk/<column>/<id>/index.html``.
Static-publishing CMS behaviour: every page carries an ETag and a Last-Modified and answers a
matching conditional request with 304. Pages are built on request from their number (nothing
is held per page), so a 50k-page portal costs the server no memory.

``--log FILE`` appends one line per request: ``<host> <path> <status>``.
Standard library and replica/process.py only.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from replica.process import CHECKOUT, ReplicaProcess

LIST_PAGES = 150
ALL_HOST, REAL_HOST = "all.perf.gov.cn", "www.perf.gov.cn"
LAST_MODIFIED = "Mon, 06 Jan 2025 02:00:00 GMT"
# (folder, menu label): the first is the report column, the next two lists read for reports.
COLUMNS = [
    ("zfxxgknb", "政府信息公开年报"),
    ("tzgg", "通知公告"),
    ("gzdt", "工作动态"),
    ("zcwj", "政策文件"),
    ("rsxx", "人事信息"),
    ("czxx", "财政信息"),
    ("ghjh", "规划计划"),
    ("tjxx", "统计信息"),
    ("yjgl", "应急管理"),
    ("xzzf", "行政执法"),
]
DEPARTMENTS = (
    "公安局 民政局 财政局 教育局 卫生健康委员会 生态环境局 交通运输局 农牧局 水利局 林业和草原局 "
    "审计局 统计局 司法局 商务局"
).split()
SENTENCES = [
    "根据《中华人民共和国政府信息公开条例》要求，现将{dept}{year}年政府信息公开工作年度报告予以公布。",
    "本报告中所列数据的统计期限为{year}年1月1日起至{year}年12月31日止。",
    "{dept}坚持以公开为常态、不公开为例外，全年主动公开政府信息{n1}条，其中规范性文件{n2}件。",
    "通过门户网站发布工作动态{n3}条，政策解读{n2}篇，回应社会关切{n1}次。",
    "全年共收到政府信息公开申请{n2}件，均在法定期限内予以答复，未发生因公开引发的行政复议和行政诉讼。",
    "进一步完善政府信息公开工作机制，明确专人负责，规范审查程序，确保公开信息准确、及时、完整。",
    "加强政府信息公开平台建设，优化栏目设置，便于公众查阅和获取政府信息。",
    "存在的主要问题是公开内容不够全面，政策解读形式较为单一，下一步将加强培训，提升公开质量。",
    "组织开展政务公开业务培训{n3}次，参训人员{n1}人次，工作人员业务能力进一步提升。",
    "按照上级部署，认真梳理本部门主动公开事项清单，动态更新政府信息公开指南和目录。",
]
NEWS = [
    "{dept}召开{year}年工作部署会议，总结上年工作，安排部署本年度重点任务。",
    "会议要求各科室围绕中心工作，细化任务分工，压实工作责任，确保各项工作落到实处。",
    "{dept}组织开展专项检查{n3}次，排查问题{n2}个，已全部整改到位。",
    "活动期间共发放宣传资料{n1}份，接受群众咨询{n2}人次，取得良好社会效果。",
    "下一步，{dept}将持续加强作风建设，不断提升服务群众的能力和水平。",
]
SECTIONS = [
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
]


def e(s: str) -> str:
    return html.escape(s, quote=True)


@dataclass(frozen=True)
class Layout:
    """Where every page of one portal is: columns' item ranges, list pages, report items."""

    pages: int
    all_reports: bool

    @property
    def list_pages(self) -> int:
        """150, fewer for a tiny portal (a test's)."""
        return min(LIST_PAGES, max(len(COLUMNS), self.pages // 30))

    @property
    def items(self) -> int:
        return self.pages - self.list_pages - 2

    @property
    def reports(self) -> int:
        return self.items if self.all_reports else max(3, self.pages * 4 // 100)

    def column_sizes(self) -> list[int]:
        """Items per column: the 年报 column holds 60 % of the reports (of a realistic portal),
        the others share the rest evenly."""
        if self.all_reports:
            base, extra = divmod(self.items, len(COLUMNS))
            return [base + (1 if i < extra else 0) for i in range(len(COLUMNS))]
        first = max(1, self.reports * 60 // 100)
        base, extra = divmod(self.items - first, len(COLUMNS) - 1)
        return [first] + [base + (1 if i < extra else 0) for i in range(len(COLUMNS) - 1)]

    def column_pages(self) -> list[int]:
        """List pages per column (``list_pages`` in all), in proportion to their items, at
        least one each."""
        sizes = self.column_sizes()
        total = self.list_pages
        pages = [max(1, total * s // self.items) for s in sizes]
        i = 0
        while sum(pages) < total:
            pages[1 + i % (len(COLUMNS) - 1)] += 1
            i += 1
        while sum(pages) > total:
            j = max(range(len(pages)), key=lambda k: pages[k])
            pages[j] -= 1
        return pages

    def column_of(self, item: int) -> tuple[int, int]:
        """(column, position in it) of item number ``item``."""
        for col, size in enumerate(self.column_sizes()):
            if item < size:
                return col, item
            item -= size
        raise KeyError(item)

    def first_item(self, col: int) -> int:
        return sum(self.column_sizes()[:col])

    def is_report(self, item: int) -> bool:
        if self.all_reports:
            return True
        col, pos = self.column_of(item)
        if col == 0:
            return True
        if col in (1, 2):
            rest = self.reports - self.column_sizes()[0]
            share = rest - rest // 2 if col == 1 else rest // 2
            size = self.column_sizes()[col]
            step = max(1, size // max(share, 1))
            return pos % step == step // 2 and pos // step < share
        return False

    def report_paths(self) -> list[str]:
        return [item_path(self, i) for i in range(self.items) if self.is_report(i)]


def item_path(layout: Layout, item: int) -> str:
    col, _ = layout.column_of(item)
    return f"/zwgk/{COLUMNS[col][0]}/{100000 + item}/index.html"


def list_path(col: int, page: int) -> str:
    return (
        f"/zwgk/{COLUMNS[col][0]}/index.html"
        if page == 1
        else (f"/zwgk/{COLUMNS[col][0]}/index_{page}.html")
    )


def item_title(layout: Layout, item: int) -> str:
    rnd = random.Random(item)
    dept, year = DEPARTMENTS[item % len(DEPARTMENTS)], 2015 + item % 10
    if layout.is_report(item):
        return f"兴安盟{dept}{year}年政府信息公开工作年度报告"
    kind = rnd.choice(
        ["召开工作会议", "开展专项检查", "举办业务培训", "部署重点工作", "开展宣传活动"]
    )
    return f"兴安盟{dept}{kind}（{item}）"


def item_date(item: int) -> str:
    return f"{2015 + item % 10}-{1 + item % 12:02d}-{1 + item % 28:02d}"


def chrome(title: str, body: str) -> str:
    menu = "".join(
        f'<li><a href="{list_path(i, 1)}">{label}</a></li>' for i, (_, label) in enumerate(COLUMNS)
    )
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n</head>\n<body>\n"
        '<div class="top"><a href="/index.html">兴安盟人民政府</a></div>\n'
        f'<div class="nav"><ul><li><a href="/index.html">首页</a></li>'
        f'<li><a href="/zwgk/index.html">政务公开</a></li></ul></div>\n'
        f'<div class="side"><ul>{menu}</ul></div>\n'
        f"{body}"
        '<div class="footer"><p>主办单位：兴安盟行政公署办公室</p><p>蒙ICP备05000000号</p></div>\n'
        "</body>\n</html>\n"
    )


def article_page(layout: Layout, item: int) -> str:
    rnd = random.Random(item * 7919)
    title = item_title(layout, item)
    dept, year = DEPARTMENTS[item % len(DEPARTMENTS)], 2015 + item % 10
    report = layout.is_report(item)
    pool = SENTENCES if report else NEWS
    info = f"来源：{dept} 发布日期：{item_date(item)} 浏览次数：{rnd.randint(10, 999)}"
    parts = [
        f'<div class="article"><h1>{e(title)}</h1>\n<div class="info">{info}</div>\n'
        '<div class="content">\n'
    ]
    size = 0
    section = 0
    while size < 19_000:
        if report and section < len(SECTIONS) and size >= section * 2_800:
            parts.append(f"<p><strong>{SECTIONS[section]}</strong></p>\n")
            if section == 1:
                parts.append(stats_table(rnd))
            section += 1
        sentences = [
            rnd.choice(pool).format(
                dept=dept, year=year, n1=rnd.randint(100, 9999), n2=rnd.randint(1, 99),
                n3=rnd.randint(10, 999),
            )
            for _ in range(4)
        ]  # fmt: skip
        paragraph = f"<p>{''.join(sentences)}</p>\n"
        parts.append(paragraph)
        size += len(paragraph.encode())
    parts.append(f"<p>兴安盟{dept}</p><p>{item_date(item)}</p>\n</div></div>\n")
    return chrome(title, "".join(parts))


def stats_table(rnd: random.Random) -> str:
    rows = ["规章", "规范性文件", "行政许可", "行政处罚", "行政强制", "行政事业性收费"]
    head = (
        "<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>"
    )
    body = "".join(
        f"<tr><td>{r}</td><td>{rnd.randint(0, 50)}</td><td>{rnd.randint(0, 9)}</td>"
        f"<td>{rnd.randint(0, 300)}</td></tr>"
        for r in rows
    )
    return f'<table border="1">{head}{body}</table>\n'


def list_page(layout: Layout, col: int, page: int) -> str | None:
    pages = layout.column_pages()[col]
    if page > pages:
        return None
    size = layout.column_sizes()[col]
    per_page = -(-size // pages)
    start = layout.first_item(col) + (page - 1) * per_page
    stop = layout.first_item(col) + min(size, page * per_page)
    items = "".join(
        f'<li><a href="{item_path(layout, i)}" target="_blank" title="{e(item_title(layout, i))}">'
        f"{e(item_title(layout, i))}</a><span>{item_date(i)}</span></li>\n"
        for i in range(start, stop)
    )
    nav = []
    if page > 1:
        nav.append(f'<a href="{list_path(col, page - 1)}">上一页</a>')
    if page < pages:
        nav.append(f'<a href="{list_path(col, page + 1)}">下一页</a>')
    label = COLUMNS[col][1]
    return chrome(
        f"{label}_兴安盟人民政府",
        f'<div class="position">当前位置：<a href="/index.html">首页</a> &gt; '
        f'<a href="/zwgk/index.html">政务公开</a> &gt; {label}</div>\n'
        f'<ul class="list">\n{items}</ul>\n<div class="pages">{" ".join(nav)}</div>\n',
    )


def home_page() -> str:
    return chrome(
        "兴安盟人民政府", '<div class="banner"><p>欢迎访问兴安盟人民政府门户网站</p></div>\n'
    )


def section_page() -> str:
    links = "".join(
        f'<li><a href="{list_path(i, 1)}">{label}</a></li>\n'
        for i, (_, label) in enumerate(COLUMNS)
    )
    return chrome("政务公开_兴安盟人民政府", f'<ul class="columns">\n{links}</ul>\n')


def render(layout: Layout, path: str) -> str | None:
    """The page at ``path`` of the portal, or None (404)."""
    if path in ("/", "/index.html"):
        return home_page()
    if path == "/zwgk/index.html":
        return section_page()
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "zwgk":
        return None
    folders = [c for c, _ in COLUMNS]
    if parts[1] not in folders:
        return None
    col = folders.index(parts[1])
    if len(parts) == 3:
        name = parts[2]
        if name == "index.html":
            return list_page(layout, col, 1)
        if name.startswith("index_") and name.endswith(".html") and name[6:-5].isdigit():
            return list_page(layout, col, int(name[6:-5]))
        return None
    if len(parts) == 4 and parts[3] == "index.html" and parts[2].isdigit():
        item = int(parts[2]) - 100000
        if 0 <= item < layout.items and layout.column_of(item)[0] == col:
            return article_page(layout, item)
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 60
    # Headers and body leave in two writes: without this, Nagle and delayed ACKs add 40 ms to
    # every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve(True)

    def do_HEAD(self) -> None:
        self._serve(False)

    def _serve(self, send_body: bool) -> None:
        target = self.path
        if target.startswith("http://"):
            parts = urlsplit(target)
            host, path = parts.hostname or "", parts.path or "/"
        else:
            host, path = (self.headers.get("Host") or "").split(":")[0], target.split("?")[0]
        layout = self.server.layouts.get(host)
        status, headers, body = 404, [("Content-Type", "text/html; charset=utf-8")], b"not found"
        if layout is not None and path == "/robots.txt":
            status, body = 200, b"User-agent: *\nDisallow:\n"
            headers = [("Content-Type", "text/plain")]
        elif layout is not None:
            page = render(layout, path)
            if page is not None:
                status, body = 200, page.encode("utf-8")
        if status == 200:
            etag = '"' + hashlib.md5(body).hexdigest()[:16] + '"'
            headers += [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
            if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-None-Match") is None
                and self.headers.get("If-Modified-Since") == LAST_MODIFIED
            ):
                status, body = 304, b""
        self.server.record(f"{host} {path} {status}\n")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, pages: int, log: IO[str] | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.layouts = {ALL_HOST: Layout(pages, True), REAL_HOST: Layout(pages, False)}
        self.log = log
        self._lock = threading.Lock()

    def record(self, line: str) -> None:
        if self.log is not None:
            with self._lock:
                self.log.write(line)
                self.log.flush()


class PortalProcess(ReplicaProcess):
    """This portal in a child process, with its request log (what bench/perf.py and the tests
    start); stopped like the replica (replica/process.py).

        with PortalProcess(pages=200, log=tmp / "requests.log") as portal:
            env["http_proxy"] = portal.url
    """

    def __init__(self, pages: int, log: Path) -> None:
        super().__init__(log_path=log)
        self.pages = pages
        self.log = log

    def start(self) -> str:
        """Start the server and wait for it; returns its URL. Raises RuntimeError when it does
        not come up."""
        self.log.touch()
        self.process = subprocess.Popen(
            [self.python, "-m", "bench.synthportal", "--pages", str(self.pages),
             "--log", str(self.log)],
            cwd=CHECKOUT,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the synthetic portal did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        return self.url

    def mark(self) -> int:
        """A position in the request log (see ``since``)."""
        return self.log.stat().st_size

    def since(self, mark: int = 0) -> list[tuple[str, str, int]]:
        """(host, path, status) of the requests answered after ``mark``, in order."""
        with self.log.open("rb") as fh:
            fh.seek(mark)
            out = []
            for raw in fh.read().decode("utf-8").splitlines():
                host, path, status = raw.split(" ")
                out.append((host, path, int(status)))
            return out

    def __enter__(self) -> PortalProcess:
        self.start()
        return self


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="synthetic portal for bench/perf.py")
    parser.add_argument("--pages", type=int, default=5000, help="pages per portal (5000)")
    parser.add_argument("--log", help="append one line per request to this file")
    args = parser.parse_args(argv)
    if args.pages < 100:
        parser.error("--pages must be at least 100")
    log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    server = _Server(args.pages, log)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if log is not None:
            log.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
